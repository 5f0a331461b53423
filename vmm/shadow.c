/* Shadow paging: see vmm/shadow.h, and docs/shadow.md for the coherence scheme.
 * Section numbers are Intel SDM Vol. 3A (ch. 4); AMD APM Vol. 2 ch. 5 agrees. */
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "vmm/gpt_walk.h"
#include "vmm/insn.h"
#include "vmm/mmio.h"
#include "vmm/shadow.h"
#include "vmm/shadow_pure.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

#define ENTRIES        512                      /* per table, 8-byte entries (4.4, 4.5) */
#define PAE_PDPTES     4
#define LEVEL_SHIFT(l) (12 + 9 * ((l) - 1))     /* 1: 12, 2: 21, 3: 30, 4: 39 */
#define OFFSET_4K      (PAGE_SIZE - 1)
/* A non-leaf entry allows everything: the leaf carries the guest's combined rights
 * (4.6: rights are the intersection over all levels). A PAE PDPTE has P alone:
 * its R/W and U/S bits are reserved (4.4.1, Table 4-8). */
#define TABLE_FLAGS    (PTE_P | PTE_W | PTE_U)
#define PDPTE_FLAGS    PTE_P
/* A shadow PDE whose 4 KiB pieces came from a guest large page records the page's
 * size class in bits 10:9, ignored by the CPU in a non-leaf entry (4.5, Table
 * 4-17): INVLPG of any address in a large page must drop all of it (4.10.4.1). */
#define PDE_LARGE_SHIFT 9
#define PDE_LARGE_MASK  (3ull << PDE_LARGE_SHIFT)
enum { LARGE_NONE, LARGE_2M, LARGE_4M, LARGE_1G };
#define SIZE_4M (4ull << 20)
#define WALK_MAX_TABLES 8                       /* PDPT register + 5 levels, with room */
#define FAULT_REPEAT_MAX 16                     /* same fault fixed this often: a bug */

bool shadow_owns_reg(enum vcpu_reg r)
{
    return r == REG_CR0 || r == REG_CR3 || r == REG_CR4 || r == REG_EFER;
}

/* ---- shadow memory, bounded per VM -------------------------------------------- */
static void note_pages(struct vm *vm)
{
    uint64_t bytes = (uint64_t)vm->shadow->pages * PAGE_SIZE;
    if (bytes > vm->stats.sh_peak_bytes)
        vm->stats.sh_peak_bytes = bytes;
}

static void page_put(struct vm *vm, void *p)
{
    page_free(p);
    vm->shadow->pages--;
}

static void free_tree(struct vm *vm, uint64_t *t, unsigned level)
{
    if (level > 1)
        for (unsigned i = 0; i < ENTRIES; i++)
            if (t[i] & PTE_P)
                free_tree(vm, hva_of(t[i] & PTE_ADDR_MASK), level - 1);
    page_put(vm, t);
}

/* Drop everything derived from the guest's tables, keep the root's fixed pages
 * (the top, and PAE's four page directories). Returns the pages freed. */
static unsigned clear_root(struct vm *vm, struct shadow_root *r)
{
    unsigned before = vm->shadow->pages;
    vm->shadow->generation++;          /* other vCPUs may cache what goes */
    if (r->levels == 4) {
        for (unsigned i = 0; i < ENTRIES; i++)
            if (r->top[i] & PTE_P) {
                free_tree(vm, hva_of(r->top[i] & PTE_ADDR_MASK), 3);
                r->top[i] = 0;
            }
    } else {
        for (unsigned i = 0; i < PAE_PDPTES; i++) {
            uint64_t *pd = hva_of(r->top[i] & PTE_ADDR_MASK);
            for (unsigned j = 0; j < ENTRIES; j++)
                if (pd[j] & PTE_P) {
                    free_tree(vm, hva_of(pd[j] & PTE_ADDR_MASK), 1);
                    pd[j] = 0;
                }
        }
    }
    for (unsigned i = 0; i < r->ntrack; i++)
        page_put(vm, r->track[i].copy);
    r->ntrack = 0;
    r->overflow = false;
    unsigned freed = before - vm->shadow->pages;
    r->pages -= freed;
    return freed;
}

static unsigned free_root(struct vm *vm, struct shadow_root *r)
{
    unsigned freed = clear_root(vm, r);
    if (r->levels == 3)
        for (unsigned i = 0; i < PAE_PDPTES; i++)
            page_put(vm, hva_of(r->top[i] & PTE_ADDR_MASK));
    page_put(vm, r->top);
    freed += r->levels == 3 ? PAE_PDPTES + 1 : 1;
    *r = (struct shadow_root){ 0 };
    return freed;
}

/* Free the least recently used root other than `keep`; false if there is none. */
static bool evict_one(struct vm *vm, int keep)
{
    struct shadow_vm *s = vm->shadow;
    int victim = -1;
    for (int i = 0; i < SHADOW_ROOTS; i++)
        if (s->roots[i].used && i != keep &&
            (victim < 0 || s->roots[i].last_use < s->roots[victim].last_use))
            victim = i;
    if (victim < 0)
        return false;
    vm->stats.sh_reclaimed += free_root(vm, &s->roots[victim]);
    return true;
}

/* A zeroed page within the bound, evicting other roots as needed; NULL if only
 * the root `keep` is left (the caller then clears it). */
static void *page_get(struct vm *vm, int keep)
{
    struct shadow_vm *s = vm->shadow;
    while (s->pages >= s->max_pages)
        if (!evict_one(vm, keep))
            return NULL;
    void *p = page_alloc();
    while (!p && evict_one(vm, keep))
        p = page_alloc();
    if (!p)
        return NULL;
    s->pages++;
    note_pages(vm);
    return p;
}

/* ---- the root cache, keyed by guest CR3 and paging mode ---------------------- */
static uint64_t mode_key(const struct vcpu *v)
{
    return shadow_mode_key(v->sh.cr0, v->sh.cr4, v->sh.efer);
}

static struct shadow_root *build_root(struct vcpu *v, uint64_t cr3, uint64_t mode)
{
    struct vm *vm = v->vm;
    struct shadow_vm *s = vm->shadow;
    unsigned levels = (mode & EFER_LMA) ? 4 : 3, need = levels == 4 ? 1 : 1 + PAE_PDPTES;
    int slot = -1;
    for (int i = 0; i < SHADOW_ROOTS && slot < 0; i++)
        if (!s->roots[i].used)
            slot = i;
    if (slot < 0) {                 /* the cache is full: the LRU root goes */
        evict_one(vm, -1);
        for (int i = 0; i < SHADOW_ROOTS && slot < 0; i++)
            if (!s->roots[i].used)
                slot = i;
    }
    while (s->pages + need > s->max_pages && evict_one(vm, -1))
        ;
    struct shadow_root *r = &s->roots[slot];
    *r = (struct shadow_root){ .used = true, .cr3 = cr3, .mode = mode, .levels = levels };
    r->top = page_get(vm, slot);
    for (unsigned i = 0; r->top && levels == 3 && i < PAE_PDPTES; i++) {
        void *pd = page_get(vm, slot);
        if (!pd)
            break;
        r->top[i] = hpa_of(pd) | PDPTE_FLAGS;
        r->pages++;
    }
    if (!r->top || (levels == 3 && !(r->top[PAE_PDPTES - 1] & PTE_P)))
        panic("shadow: vm %s: no host memory for a shadow root", vm->name);
    r->pages++;
    /* A PAE root is loaded as a 32-bit CR3 (4.4.1): it must lie below 4 GiB. */
    if (levels == 3 && hpa_of(r->top) >> 32)
        panic("shadow: vm %s: PAE shadow root above 4 GiB", vm->name);
    vm->stats.sh_built++;
    return r;
}

/* 8 bytes at a time: this runs for every tracked table at every CR3 load. */
static bool page_equal(const uint64_t *a, const uint64_t *b)
{
    for (unsigned i = 0; i < PAGE_SIZE / sizeof *a; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Are the guest tables this root was built from unchanged since? Every table a
 * shadow entry came from is tracked with a copy (docs/shadow.md). */
static bool root_current(struct vm *vm, const struct shadow_root *r)
{
    if (r->overflow)
        return false;
    for (unsigned i = 0; i < r->ntrack; i++) {
        const void *g = vm_gpa_to_hva(vm, r->track[i].gpa, PAGE_SIZE);
        if (!g || !page_equal(g, (const uint64_t *)r->track[i].copy))
            return false;
    }
    return true;
}

/* A CR3 load (or a paging-mode change) flushes the guest's TLB (4.10.4.1): pick
 * the root for the new state, reusing a cached one whose guest tables did not
 * change, else resynchronizing (clearing) it, else building one. */
static void select_root(struct vcpu *v)
{
    struct vm *vm = v->vm;
    struct shadow_vm *s = vm->shadow;
    uint64_t mode = mode_key(v), cr3 = mode ? v->sh.cr3 : 0;
    struct shadow_root *r = 0;
    for (int i = 0; i < SHADOW_ROOTS && !r; i++)
        if (s->roots[i].used && s->roots[i].cr3 == cr3 && s->roots[i].mode == mode)
            r = &s->roots[i];
    if (!r) {
        r = build_root(v, cr3, mode);
    } else if (root_current(vm, r)) {
        vm->stats.sh_reused++;
    } else {
        clear_root(vm, r);
        vm->stats.sh_resyncs++;
    }
    r->last_use = ++s->clock;
    v->sh.root = (int)(r - s->roots);
}

/* Load the CPU with the shadow root and the guest's other bits (shadow_hw_regs). */
static void sync(struct vcpu *v)
{
    struct vm *vm = v->vm;
    if (!(v->sh.cr0 & CR0_PE) && !vmm_caps.shadow_real_mode) {
        vm_stop(vm, "real mode under shadow paging needs unrestricted guest or "
                    "virtual-8086 emulation, which %s lacks so far", vmm->name);
        return;
    }
    select_root(v);
    const struct shadow_root *r = &vm->shadow->roots[v->sh.root];
    struct paging_regs guest = { v->sh.cr0, v->sh.cr3, v->sh.cr4, v->sh.efer };
    struct shadow_hw h = shadow_hw_regs(v->sh.cr0, v->sh.cr4, v->sh.efer);
    struct paging_regs hw = { .cr0 = h.cr0, .cr3 = hpa_of(r->top), .cr4 = h.cr4, .efer = h.efer };
    vmm->set_paging(v, &guest, &hw);
}

uint64_t shadow_get_reg(struct vcpu *v, enum vcpu_reg r)
{
    switch (r) {
    case REG_CR0: return v->sh.cr0;
    case REG_CR3: return v->sh.cr3;
    case REG_CR4: return v->sh.cr4;
    case REG_EFER: return v->sh.efer;
    default: return 0;
    }
}

void shadow_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
    switch (r) {
    case REG_CR0:
        v->sh.cr0 = val;
        /* As the CPU's own MOV CR0: PG with EFER.LME activates long mode, PG clear
         * leaves it (SDM Vol. 3A 9.8.5). */
        if ((val & CR0_PG) && (v->sh.efer & EFER_LME))
            v->sh.efer |= EFER_LMA;
        else if (!(val & CR0_PG))
            v->sh.efer &= ~(uint64_t)EFER_LMA;
        break;
    case REG_CR3: v->sh.cr3 = val; break;
    case REG_CR4: v->sh.cr4 = val; break;
    case REG_EFER: v->sh.efer = val; break;
    default: return;
    }
    sync(v);
}

/* ---- shadow page faults -------------------------------------------------------- */
/* The walk's memory access: reads name the guest tables used (to track them),
 * writes are the A/D bits the walk sets, mirrored into the root's copies so
 * hv86's own updates never look like the guest's. */
struct walk_ctx {
    struct vcpu *v;
    uint64_t tables[WALK_MAX_TABLES];
    unsigned ntables;
};

static bool walk_read(void *c, uint64_t gpa, void *buf, unsigned len)
{
    struct walk_ctx *w = c;
    if (w->ntables < WALK_MAX_TABLES)
        w->tables[w->ntables++] = gpa & ~(uint64_t)OFFSET_4K;
    return vm_read_gpa(w->v->vm, gpa, buf, len);
}

static bool walk_write(void *c, uint64_t gpa, const void *buf, unsigned len)
{
    struct walk_ctx *w = c;
    struct vm *vm = w->v->vm;
    if (!vm_write_gpa(vm, gpa, buf, len))
        return false;
    if (w->v->sh.root < 0)
        return true;
    struct shadow_root *r = &vm->shadow->roots[w->v->sh.root];
    for (unsigned i = 0; i < r->ntrack; i++)
        if (r->track[i].gpa == (gpa & ~(uint64_t)OFFSET_4K))   /* A, D: bits 5, 6 of byte 0 */
            r->track[i].copy[gpa & OFFSET_4K] |= *(const uint8_t *)buf & (PTE_A | PTE_D);
    return true;
}

static void track(struct vcpu *v, struct shadow_root *r, uint64_t gpa)
{
    for (unsigned i = 0; i < r->ntrack; i++)
        if (r->track[i].gpa == gpa)
            return;
    const void *g = vm_gpa_to_hva(v->vm, gpa, PAGE_SIZE);
    uint8_t *copy = r->ntrack < SHADOW_TRACK_MAX && g ? page_get(v->vm, v->sh.root) : 0;
    if (!copy) {
        r->overflow = true;         /* cannot be checked: resync at every CR3 load */
        return;
    }
    memcpy(copy, g, PAGE_SIZE);
    r->track[r->ntrack].gpa = gpa;
    r->track[r->ntrack++].copy = copy;
}

/* The shadow PTE slot for va, making the tables on the way; NULL at the bound. */
static uint64_t *leaf_slot(struct vcpu *v, struct shadow_root *r, uint64_t va, bool make)
{
    uint64_t *t = r->top;
    for (unsigned l = r->levels; l > 1; l--) {
        uint64_t *e = &t[(va >> LEVEL_SHIFT(l)) & (ENTRIES - 1)];
        if (!(*e & PTE_P)) {
            uint64_t *n = make ? page_get(v->vm, v->sh.root) : 0;
            if (!n)
                return NULL;
            r->pages++;
            *e = hpa_of(n) | TABLE_FLAGS;
        }
        t = hva_of(*e & PTE_ADDR_MASK);
    }
    return &t[(va >> LEVEL_SHIFT(1)) & (ENTRIES - 1)];
}

/* The shadow page directory (level 2) covering va, or NULL if there is none. */
static uint64_t *pd_of(struct shadow_root *r, uint64_t va)
{
    uint64_t *t = r->top;
    for (unsigned l = r->levels; l > 2; l--) {
        uint64_t e = t[(va >> LEVEL_SHIFT(l)) & (ENTRIES - 1)];
        if (!(e & PTE_P))
            return NULL;
        t = hva_of(e & PTE_ADDR_MASK);
    }
    return t;
}

static unsigned large_class(const uint64_t *pde) { return (*pde & PDE_LARGE_MASK) >> PDE_LARGE_SHIFT; }

static void mark_large(struct shadow_root *r, uint64_t va, uint64_t page_size)
{
    unsigned c = page_size >= (1ull << LEVEL_SHIFT(3)) ? LARGE_1G :
                 page_size >= SIZE_4M ? LARGE_4M : LARGE_2M;
    uint64_t *pde = &pd_of(r, va)[(va >> LEVEL_SHIFT(2)) & (ENTRIES - 1)];
    if (large_class(pde) < c)
        *pde = (*pde & ~PDE_LARGE_MASK) | ((uint64_t)c << PDE_LARGE_SHIFT);
}

static void drop_pde(struct vm *vm, struct shadow_root *r, uint64_t *pde)
{
    if (!(*pde & PTE_P))
        return;
    vm->shadow->generation++;
    free_tree(vm, hva_of(*pde & PTE_ADDR_MASK), 1);
    r->pages--;
    *pde = 0;
}

void shadow_page_fault(struct vcpu *v, const struct vm_exit *e, uint64_t addr, uint32_t err)
{
    struct vm *vm = v->vm;
    vm->stats.sh_faults++;
    bool long_mode = v->sh.efer & EFER_LMA, paging = v->sh.cr0 & CR0_PG;
    uint64_t va = long_mode ? addr : (uint32_t)addr;
    unsigned access = ((err & GPT_PF_W) ? GPT_WRITE : 0) | ((err & GPT_PF_U) ? GPT_USER : 0) |
                      ((err & GPT_PF_I) ? GPT_EXEC : 0) |
                      ((vcpu_get(v, REG_RFLAGS) & RFLAGS_AC) ? GPT_AC : 0);
    struct shadow_vm *s = vm->shadow;
    if (!paging && va - s->hidden_la < (uint64_t)s->hidden_pages * PAGE_SIZE) {
        uint64_t *slot = leaf_slot(v, &s->roots[v->sh.root], va, true);
        if (!slot) {
            vm_stop(vm, "shadow paging: no room for the backend's hidden pages");
            return;
        }
        *slot = (s->hidden_hpa + ((va - s->hidden_la) & ~(uint64_t)OFFSET_4K)) | PTE_P | PTE_W;
        return;
    }
    struct gpt_regs regs;
    guest_paging_regs(v, &regs);
    struct walk_ctx w = { .v = v };
    const struct gpt_mem mem = { .read = walk_read, .write = walk_write, .ctx = &w };
    struct gpt_xlat x;
    switch (gpt_walk(&regs, va, access | GPT_SET_AD, &mem, &x)) {
    case GPT_OK:
        break;
    case GPT_PAGE_FAULT:            /* the guest's own fault: its error code, CR2 */
        vcpu_set(v, REG_CR2, addr);
        vcpu_inject_exception(v, EXC_PF, x.pf_error);
        return;
    case GPT_NON_CANONICAL:         /* the CPU checks canonicality before paging */
        vcpu_inject_exception(v, EXC_GP, 0);
        return;
    case GPT_BAD_GPA:
        vm_stop(vm, "guest page table entry at gpa=%#lx outside its memory (linear %#lx, "
                "rip=%#lx)", x.fault_gpa, va, e->rip);
        return;
    }
    uint64_t page = x.gpa & ~(uint64_t)OFFSET_4K;
    void *host = vm_gpa_to_hva(vm, page, PAGE_SIZE);
    if (!host) {                    /* a device, or nothing: as a nested fault would */
        const struct mmio_handler *h = vm_find_mmio(vm, x.gpa);
        const char *kind = (access & GPT_WRITE) ? "write" : (access & GPT_EXEC) ? "execute" : "read";
        if (h && !(access & GPT_EXEC)) {
            struct vm_exit m = *e;
            m.kind = EXIT_PAGING;
            m.paging.gpa = x.gpa;
            m.paging.access = (access & GPT_WRITE) ? ACCESS_WRITE : ACCESS_READ;
            m.paging.gla_valid = true;
            m.paging.gla = va;
            mmio_emulate(v, &m, h);
        } else {
            vm_stop(vm, "%s outside its memory at gpa=%#lx rip=%#lx", kind, x.gpa, e->rip);
        }
        return;
    }
    /* The same fault again on the very next exit, over and over: the entry made
     * does not satisfy the CPU, a bug to report rather than a hang. */
    bool again = va == v->sh.fault_addr && e->rip == v->sh.fault_rip &&
                 v->exits == v->sh.fault_exit + 1;
    v->sh.repeats = again ? v->sh.repeats + 1 : 0;
    v->sh.fault_addr = va, v->sh.fault_rip = e->rip, v->sh.fault_exit = v->exits;
    if (v->sh.repeats > FAULT_REPEAT_MAX) {
        vm_stop(vm, "shadow paging: the fault at linear %#lx (error %#x) keeps coming back "
                "(rip=%#lx)", va, err, e->rip);
        return;
    }

    struct shadow_root *r = &vm->shadow->roots[v->sh.root];
    uint64_t *slot = leaf_slot(v, r, va, true);
    if (!slot) {                    /* the bound: start this root afresh */
        vm->stats.sh_reclaimed += clear_root(vm, r);
        vmm->flush_tlb(v);
        slot = leaf_slot(v, r, va, true);
        if (!slot) {
            vm_stop(vm, "shadow paging: %u pages are too few for one mapping",
                    vm->shadow->max_pages);
            return;
        }
    }
    /* After the tables (a clear above would drop the tracking): the guest tables
     * this entry comes from, so a CR3 load can tell whether they changed. */
    if (paging) {
        for (unsigned i = 0; i < w.ntables; i++)
            track(v, r, w.tables[i]);
        if (x.page_size > PAGE_SIZE)
            mark_large(r, va, x.page_size);
    }
    bool was_present = *slot & PTE_P;
    *slot = shadow_leaf(&x, paging, v->sh.cr0 & CR0_WP, access, hpa_of(host));
    if (was_present) {              /* a stale entry may be cached: drop it */
        vm->shadow->generation++;
        vmm->flush_tlb(v);
        v->sh.generation = vm->shadow->generation;
    }
}

void shadow_invlpg(struct vcpu *v, uint64_t gva, bool all)
{
    struct vm *vm = v->vm;
    vm->stats.sh_invlpg++;
    if (!(v->sh.cr0 & CR0_PG))      /* identity root: nothing came from guest tables */
        return;
    struct shadow_root *r = &vm->shadow->roots[v->sh.root];
    if (all) {
        clear_root(vm, r);
        vm->stats.sh_resyncs++;
        vmm->flush_tlb(v);
        return;
    }
    uint64_t va = (v->sh.efer & EFER_LMA) ? gva : (uint32_t)gva;
    uint64_t *pd = pd_of(r, va);
    if (!pd)
        return;                     /* nothing shadowed in this 1 GiB */
    /* A guest large page was shadowed 4 KiB at a time: drop every piece of the
     * largest one that can contain va (its class is in the shadow PDEs). */
    unsigned i = (va >> LEVEL_SHIFT(2)) & (ENTRIES - 1), pair = i & ~1u;
    bool huge = false;
    for (unsigned j = 0; j < ENTRIES && !huge; j++)
        huge = large_class(&pd[j]) == LARGE_1G;
    if (huge) {
        for (unsigned j = 0; j < ENTRIES; j++)
            drop_pde(vm, r, &pd[j]);
    } else if (large_class(&pd[pair]) == LARGE_4M || large_class(&pd[pair + 1]) == LARGE_4M) {
        drop_pde(vm, r, &pd[pair]);
        drop_pde(vm, r, &pd[pair + 1]);
    } else if (large_class(&pd[i]) == LARGE_2M) {
        drop_pde(vm, r, &pd[i]);
    } else {
        uint64_t *slot = leaf_slot(v, r, va, false);
        if (slot && (*slot & PTE_P)) {
            *slot = 0;
            vm->shadow->generation++;
        }
    }
    vmm->flush_tlb(v);
    v->sh.generation = vm->shadow->generation;
}

/* ---- several vCPUs ------------------------------------------------------------- */
/* The roots are the VM's, shared by its vCPUs; a vCPU changes them only while
 * the others are not running (one host CPU), so checking the generation before
 * each entry is enough to never run on a stale translation or a freed root. */
void shadow_prepare_entry(struct vcpu *v)
{
    struct shadow_vm *s = v->vm->shadow;
    if (!s || v->sh.generation == s->generation)
        return;
    v->sh.generation = s->generation;
    const struct shadow_root *r = v->sh.root >= 0 ? &s->roots[v->sh.root] : 0;
    uint64_t mode = mode_key(v), cr3 = mode ? v->sh.cr3 : 0;
    if (!r || !r->used || r->mode != mode || r->cr3 != cr3)
        sync(v);                    /* its root was freed (and maybe reused) */
    vmm->flush_tlb(v);
}

/* ---- lifetime ------------------------------------------------------------------ */
void shadow_map_hidden(struct vm *vm, uint64_t la, uint64_t hpa, unsigned pages)
{
    vm->shadow->hidden_la = la;
    vm->shadow->hidden_hpa = hpa;
    vm->shadow->hidden_pages = pages;
}

static unsigned bound_from_cmdline(void)
{
    char buf[16];
    unsigned n = 0;
    if (!bootinfo_arg("hv86.shadow_pages", buf, sizeof buf))
        return SHADOW_DEFAULT_PAGES;
    for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (unsigned)(*p - '0');
    return n < SHADOW_MIN_PAGES ? SHADOW_MIN_PAGES : n;
}

int shadow_vm_init(struct vm *vm)
{
    struct shadow_vm *s = kmalloc(sizeof *s);
    if (!s)
        return -1;
    s->max_pages = bound_from_cmdline();
    vm->shadow = s;
    for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
        vm->vcpus[i].sh.root = -1;
    return 0;
}

void shadow_vm_fini(struct vm *vm)
{
    struct shadow_vm *s = vm->shadow;
    if (!s)
        return;
    for (int i = 0; i < SHADOW_ROOTS; i++)
        if (s->roots[i].used)
            free_root(vm, &s->roots[i]);
}
