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

#define PAE_PDPTES     4
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
#define WALK_MAX_TABLES 8                       /* PDPT register + 5 levels, with room */
#define FAULT_REPEAT_MAX 16                     /* same fault fixed this often: a bug */
#define NIL            (-1)                     /* no table descriptor */
/* 32-bit paging tables: 1024 4-byte entries, a PDE maps 4 MiB (4.3). */
#define GUEST32_ENTRIES   1024
#define GUEST32_PDE_SHIFT 22
#define PAE_PDPT_OFFSET_MASK 0xfe0ull           /* PAE CR3 bits 11:5: the PDPT's offset (4.4.1) */
#define LINEAR_48_MASK ((1ull << 48) - 1)       /* what 4-level paging translates (4.5) */
/* Guest PTEs looked at around a fault, present and accessed ones made too (KVM: 8). */
#define PREFETCH_SPAN  8
/* Emulated writes in a row to one guest table, none of its entries used in
 * between, before it is unprotected as reused for data (KVM's threshold: 3). */
#define FLOOD_WRITES   3
/* A wmap record: the shadow table (descriptor + 1) and entry of the one writable
 * leaf made for a guest page, or WMAP_MANY: more than one, find them by a scan. */
#define WMAP_TABLE_SHIFT 9
#define WMAP_MANY      (~0u)

/* ---- shadow table pages and their descriptors ----------------------------------- */
static void note_pages(struct vm *vm)
{
    uint64_t bytes = (uint64_t)vm->shadow->pages * PAGE_SIZE;
    if (bytes > vm->stats.sh_peak_bytes)
        vm->stats.sh_peak_bytes = bytes;
}

static unsigned bucket(uint64_t addr) { return (unsigned)(addr / PAGE_SIZE) & (SHADOW_BUCKETS - 1); }

/* The descriptor of a shadow table page. */
static int table_of(struct vm *vm, const uint64_t *page)
{
    struct shadow_vm *s = vm->shadow;
    for (int i = s->by_hpa[bucket(hpa_of(page))]; i != NIL; i = s->tables[i].next_h)
        if (s->tables[i].page == page)
            return i;
    panic("shadow: vm %s: table %p has no descriptor", vm->name, (const void *)page);
}

static int child_of(struct vm *vm, uint64_t entry)
{
    return table_of(vm, hva_of(entry & PTE_ADDR_MASK));
}

/* Free the least recently used root other than `keep`; false if there is none. */
static bool evict_one(struct vm *vm, int keep);

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

/* A new empty table for root `root`, covering linear addresses from va, pointed to
 * by entry pidx of table `parent`; NIL at the bound. */
static int table_new(struct vm *vm, int root, unsigned level, uint64_t va, int parent,
                     unsigned pidx, bool fixed)
{
    struct shadow_vm *s = vm->shadow;
    uint64_t *page = page_get(vm, root);
    if (!page)
        return NIL;
    int i = s->free_table;
    if (i == NIL)                   /* one descriptor per page of the bound */
        panic("shadow: vm %s: out of table descriptors", vm->name);
    struct shadow_table *t = &s->tables[i];
    s->free_table = t->next_h;
    *t = (struct shadow_table){ .page = page, .gpage = SHADOW_NO_GUEST, .va = va,
                                .level = (uint8_t)level, .root = (uint8_t)root, .fixed = fixed,
                                .parent = parent, .pidx = pidx, .next_g = NIL };
    t->next_h = s->by_hpa[bucket(hpa_of(page))];
    s->by_hpa[bucket(hpa_of(page))] = i;
    s->roots[root].pages++;
    return i;
}

static void unbind(struct vm *vm, int i)
{
    struct shadow_vm *s = vm->shadow;
    struct shadow_table *t = &s->tables[i];
    if (t->gpage == SHADOW_NO_GUEST)
        return;
    int *pp = &s->by_gpage[bucket(t->gpage)];
    while (*pp != i)
        pp = &s->tables[*pp].next_g;
    *pp = t->next_g;
    t->gpage = SHADOW_NO_GUEST;
}

static void table_free(struct vm *vm, int i)
{
    struct shadow_vm *s = vm->shadow;
    struct shadow_table *t = &s->tables[i];
    unbind(vm, i);
    int *pp = &s->by_hpa[bucket(hpa_of(t->page))];
    while (*pp != i)
        pp = &s->tables[*pp].next_h;
    *pp = t->next_h;
    s->roots[t->root].pages--;
    page_free(t->page);
    s->pages--;
    t->page = NULL;
    t->next_h = s->free_table;
    s->free_table = i;
}

/* Table i and every table below it. */
static void free_tree(struct vm *vm, int i)
{
    struct shadow_table *t = &vm->shadow->tables[i];
    if (t->level > 1)
        for (unsigned j = 0; j < PT_ENTRIES; j++)
            if ((t->page[j] & (PTE_P | PTE_PS)) == PTE_P)    /* a table, not a 2 MiB leaf */
                free_tree(vm, child_of(vm, t->page[j]));
    table_free(vm, i);
}

static void zap_all(struct vm *vm, int i);

/* Drop entry idx of table i and what hangs below it; a root's fixed page directory
 * stays, emptied and no longer mirroring a guest table. */
static void zap_entry(struct vm *vm, int i, unsigned idx)
{
    struct shadow_vm *s = vm->shadow;
    struct shadow_table *t = &s->tables[i];
    uint64_t e = t->page[idx];
    if (!(e & PTE_P))
        return;
    s->tlb_gen++;
    if (t->level == 1 || (e & PTE_PS)) {     /* a leaf, 4 KiB or 2 MiB */
        t->page[idx] = 0;
        return;
    }
    int c = child_of(vm, e);
    if (s->tables[c].fixed) {
        zap_all(vm, c);
        unbind(vm, c);
        return;
    }
    t->page[idx] = 0;
    free_tree(vm, c);
}

static void zap_all(struct vm *vm, int i)
{
    for (unsigned j = 0; j < PT_ENTRIES; j++)
        zap_entry(vm, i, j);
}

/* ---- which guest frames are page tables: write protection ------------------------ */
/* Is guest page gpage mirrored by a shadow table (so write-protected)? */
static bool is_table(struct vm *vm, uint64_t gpage)
{
    struct shadow_vm *s = vm->shadow;
    for (int i = s->by_gpage[bucket(gpage)]; i != NIL; i = s->tables[i].next_g)
        if (s->tables[i].gpage == gpage)
            return true;
    return false;
}

/* The next table mirroring gpage not visited in this pass (stamp). */
static int next_unvisited(struct vm *vm, uint64_t gpage)
{
    struct shadow_vm *s = vm->shadow;
    for (int i = s->by_gpage[bucket(gpage)]; i != NIL; i = s->tables[i].next_g)
        if (s->tables[i].gpage == gpage && s->tables[i].stamp != s->stamp)
            return i;
    return NIL;
}

/* gpage's record in wmap (allocated once guest RAM exists); NULL without one. */
static uint32_t *wmap_of(struct vm *vm, uint64_t gpage)
{
    struct shadow_vm *s = vm->shadow;
    if (!s->wmap && vm->nram) {
        uint64_t end = 0;
        for (unsigned i = 0; i < vm->nram; i++)
            if (vm->ram[i].gpa + vm->ram[i].size > end)
                end = vm->ram[i].gpa + vm->ram[i].size;
        s->wmap = kmalloc(end / PAGE_SIZE * sizeof *s->wmap);
        s->frames = s->wmap ? end / PAGE_SIZE : 0;
    }
    uint64_t f = gpage / PAGE_SIZE;
    return s->wmap && f < s->frames ? &s->wmap[f] : NULL;
}

/* The leaf going into *slot for guest page gpage: read-only if it is a guest
 * table, else recorded in wmap (so that making the page a table later finds it). */
static uint64_t protect_leaf(struct vm *vm, uint64_t gpage, uint64_t leaf, const uint64_t *slot)
{
    if (!(leaf & PTE_W))
        return leaf;
    if (is_table(vm, gpage))
        return leaf & ~(uint64_t)PTE_W;
    uint32_t *w = wmap_of(vm, gpage);
    if (w) {
        const uint64_t *page = (const uint64_t *)((uintptr_t)slot & ~(uintptr_t)OFFSET_4K);
        uint32_t rec = (uint32_t)(table_of(vm, page) + 1) << WMAP_TABLE_SHIFT |
                       (uint32_t)(slot - page);
        *w = *w && *w != rec ? WMAP_MANY : rec;
    }
    return leaf;
}

/* gpage has just become a guest table: no shadow leaf may map it writable. The
 * one leaf recorded in wmap is checked (it may be stale: then it maps something
 * else, or its table is free); only a page with several costs a scan of every
 * leaf table. */
static void write_protect(struct vm *vm, uint64_t gpage)
{
    struct shadow_vm *s = vm->shadow;
    uint32_t *w = wmap_of(vm, gpage), rec = w ? *w : WMAP_MANY;
    if (w)
        *w = 0;
    const void *host = vm_gpa_to_hva(vm, gpage, PAGE_SIZE);
    if (!host)
        return;
    /* Writable 2 MiB leaves are not in wmap: split the one covering gpage (the
     * next access maps 4 KiB pieces, this one read-only). */
    for (unsigned i = 0; s->large_writable && i < s->max_pages; i++) {
        struct shadow_table *t = &s->tables[i];
        if (!t->page || t->level != 2)
            continue;
        for (unsigned j = 0; j < PT_ENTRIES; j++)
            if ((t->page[j] & (PTE_P | PTE_W | PTE_PS)) == (PTE_P | PTE_W | PTE_PS) &&
                (t->page[j] & PTE_ADDR_MASK & ~(uint64_t)(SIZE_2M - 1)) ==
                    (hpa_of(host) & ~(uint64_t)(SIZE_2M - 1)))
                zap_entry(vm, (int)i, j);
    }
    if (!rec)
        return;
    unsigned first = 0, end = s->max_pages, j0 = 0, j1 = PT_ENTRIES;
    if (rec != WMAP_MANY) {
        first = (rec >> WMAP_TABLE_SHIFT) - 1, end = first + 1;
        j0 = rec & (PT_ENTRIES - 1), j1 = j0 + 1;
    }
    for (unsigned i = first; i < end; i++) {
        struct shadow_table *t = &s->tables[i];
        if (!t->page || t->level != 1)
            continue;
        for (unsigned j = j0; j < j1; j++)
            if ((t->page[j] & (PTE_P | PTE_W)) == (PTE_P | PTE_W) &&
                (t->page[j] & PTE_ADDR_MASK) == hpa_of(host)) {
                t->page[j] &= ~(uint64_t)PTE_W;
                s->tlb_gen++;
            }
    }
}

/* The guest table a shadow table mirrors (gpage SHADOW_NO_GUEST: none). */
struct guest_table {
    uint64_t gpage, gbase;
    uint16_t goff, gents;
    uint8_t esize, gshift;
};

/* Make table i mirror guest table g; entries it had from another one go. */
static void bind(struct vm *vm, int i, const struct guest_table *g)
{
    struct shadow_vm *s = vm->shadow;
    struct shadow_table *t = &s->tables[i];
    if (t->gpage == g->gpage && t->goff == g->goff)
        return;
    if (t->gpage != SHADOW_NO_GUEST) {
        zap_all(vm, i);
        unbind(vm, i);
    }
    if (g->gpage == SHADOW_NO_GUEST)
        return;
    bool first = !is_table(vm, g->gpage);
    t->gpage = g->gpage, t->gbase = g->gbase, t->goff = g->goff, t->gents = g->gents;
    t->esize = g->esize, t->gshift = g->gshift;
    t->next_g = s->by_gpage[bucket(g->gpage)];
    s->by_gpage[bucket(g->gpage)] = i;
    if (first)
        write_protect(vm, g->gpage);
}

/* Bytes [lo, hi) of table i's guest page were written: zap the shadow entries
 * derived from the guest entries there. */
static void zap_written(struct vm *vm, int i, uint64_t lo, uint64_t hi)
{
    const struct shadow_table *t = &vm->shadow->tables[i];
    const struct shadow_mirror m = { .va = t->va, .level = t->level, .gbase = t->gbase,
                                     .goff = t->goff, .gents = t->gents, .esize = t->esize,
                                     .gshift = t->gshift };
    unsigned first, end;
    if (shadow_written_entries(&m, lo, hi, &first, &end))
        for (unsigned j = first; j < end; j++)
            zap_entry(vm, i, j);
}

void shadow_gpa_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
    struct shadow_vm *s = vm->shadow;
    uint64_t end = gpa + len;
    for (uint64_t page = gpa & ~(uint64_t)OFFSET_4K; page < end; page += PAGE_SIZE) {
        uint64_t lo = gpa > page ? gpa - page : 0;
        uint64_t hi = end - page < PAGE_SIZE ? end - page : PAGE_SIZE;
        s->stamp++;
        for (int i; (i = next_unvisited(vm, page)) != NIL;) {
            s->tables[i].stamp = s->stamp;
            zap_written(vm, i, lo, hi);
        }
    }
}

static unsigned free_root(struct vm *vm, struct shadow_root *r);

/* Stop write-protecting gpage: drop every shadow table mirroring it (KVM's
 * unprotect). A root whose top mirrors it goes as a whole (a page that was a
 * process's top-level table, freed and reused: its cached root is stale), except
 * root `keep`, the one the writing vCPU runs on: false if that one stays (gpage
 * is still a guest table). */
static bool unprotect(struct vm *vm, uint64_t gpage, int keep)
{
    struct shadow_vm *s = vm->shadow;
    s->stamp++;
    for (int i; (i = next_unvisited(vm, gpage)) != NIL;) {
        struct shadow_table *t = &s->tables[i];
        t->stamp = s->stamp;
        if (t->parent == NIL) {
            if (t->root != keep)    /* other vCPUs on it pick a root again */
                vm->stats.sh_reclaimed += free_root(vm, &s->roots[t->root]);
            continue;
        }
        if (t->fixed) {
            zap_all(vm, i);
            unbind(vm, i);
        } else {
            zap_entry(vm, t->parent, t->pidx);
        }
    }
    return !is_table(vm, gpage);
}

/* ---- roots, bounded per VM ------------------------------------------------------ */
/* Drop everything derived from the guest's tables, keep the root's fixed pages
 * (the top, and PAE's four page directories). Returns the pages freed. */
static unsigned clear_root(struct vm *vm, struct shadow_root *r)
{
    unsigned before = vm->shadow->pages;
    zap_all(vm, r->top_table);
    return before - vm->shadow->pages;
}

static unsigned free_root(struct vm *vm, struct shadow_root *r)
{
    struct shadow_vm *s = vm->shadow;
    unsigned before = s->pages;
    clear_root(vm, r);
    if (r->levels == 3)
        for (unsigned i = 0; i < PAE_PDPTES; i++)
            table_free(vm, child_of(vm, r->top[i]));
    table_free(vm, r->top_table);
    *r = (struct shadow_root){ 0 };
    s->tlb_gen++;                   /* another vCPU may run on it: see shadow_prepare_entry */
    return before - s->pages;
}

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
    r->top_table = table_new(vm, slot, levels, 0, NIL, 0, true);
    if (r->top_table == NIL)
        panic("shadow: vm %s: no host memory for a shadow root", vm->name);
    r->top = s->tables[r->top_table].page;
    for (unsigned i = 0; levels == 3 && i < PAE_PDPTES; i++) {
        int pd = table_new(vm, slot, 2, (uint64_t)i << PT_LEVEL_SHIFT(3), r->top_table, i, true);
        if (pd == NIL)
            panic("shadow: vm %s: no host memory for a shadow root", vm->name);
        r->top[i] = hpa_of(s->tables[pd].page) | PDPTE_FLAGS;
    }
    /* A PAE root is loaded as a 32-bit CR3 (4.4.1): it must lie below 4 GiB. */
    if (levels == 3 && hpa_of(r->top) >> 32)
        panic("shadow: vm %s: PAE shadow root above 4 GiB", vm->name);
    vm->stats.sh_built++;
    return r;
}

/* A CR3 load (or a paging-mode change) flushes the guest's TLB (4.10.4.1): pick
 * the root for the new state. A cached root is current as it is: every guest
 * table its entries came from is write-protected, and each write to one zapped
 * the entries derived from it (docs/shadow.md). */
static void select_root(struct vcpu *v)
{
    struct vm *vm = v->vm;
    struct shadow_vm *s = vm->shadow;
    uint64_t mode = mode_key(v), cr3 = (mode & SHADOW_MODE_PAGED) ? v->sh.cr3 : 0;
    struct shadow_root *r = 0;
    for (int i = 0; i < SHADOW_ROOTS && !r; i++)
        if (s->roots[i].used && s->roots[i].cr3 == cr3 && s->roots[i].mode == mode)
            r = &s->roots[i];
    if (r)
        vm->stats.sh_reused++;
    else
        r = build_root(v, cr3, mode);
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
    v->sh.top = r->top;
    struct paging_regs guest = { v->sh.cr0, v->sh.cr3, v->sh.cr4, v->sh.efer };
    struct shadow_hw h = shadow_hw_regs(v->sh.cr0, v->sh.cr4, v->sh.efer);
    struct paging_regs hw = { .cr0 = h.cr0, .cr3 = hpa_of(r->top), .cr4 = h.cr4, .efer = h.efer };
    vmm->set_paging(v, &guest, &hw);
}

/* ---- several vCPUs ------------------------------------------------------------- */
/* The roots are the VM's, shared by its vCPUs. Every zap and every freed root
 * bumps the VM's tlb_gen; a vCPU that last entered with an older one may cache a
 * translation that is gone, or run on a root another vCPU evicted (and maybe
 * rebuilt for another CR3): drop its TLB tag, and pick its root again if so. */
static __attribute__((noinline)) void catch_up(struct vcpu *v, struct shadow_vm *s)
{
    v->sh.tlb_gen = s->tlb_gen;
    const struct shadow_root *r = v->sh.root >= 0 ? &s->roots[v->sh.root] : 0;
    uint64_t mode = mode_key(v), cr3 = (mode & SHADOW_MODE_PAGED) ? v->sh.cr3 : 0;
    /* The slot may hold a root built again for the same CR3 by another vCPU
     * after this one's was freed: the CPU still has the old, freed top. */
    if (!r || !r->used || r->mode != mode || r->cr3 != cr3 || r->top != v->sh.top)
        sync(v);
    vmm->flush_tlb(v);
}

/* Before every entry: the check alone, the catching up out of line. */
void shadow_prepare_entry(struct vcpu *v)
{
    struct shadow_vm *s = v->vm->shadow;
    if (s && v->sh.tlb_gen != s->tlb_gen)
        catch_up(v, s);
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
/* The walk's reads name the guest table entries used, top level first. Its writes
 * (the A/D bits) need no zap: no shadow entry exists yet for an entry whose A bit
 * is clear, and a leaf made before D was set is read-only and replaced now. */
struct walk_ctx {
    struct vm *vm;
    uint64_t entries[WALK_MAX_TABLES];
    unsigned n;
};

static bool walk_read(void *c, uint64_t gpa, void *buf, unsigned len)
{
    struct walk_ctx *w = c;
    if (w->n < WALK_MAX_TABLES)
        w->entries[w->n++] = gpa;
    return vm_read_gpa(w->vm, gpa, buf, len);
}

static bool walk_write(void *c, uint64_t gpa, const void *buf, unsigned len)
{
    return vm_write_gpa(((struct walk_ctx *)c)->vm, gpa, buf, len);
}

static bool plain_read(void *c, uint64_t gpa, void *buf, unsigned len)
{
    return vm_read_gpa(c, gpa, buf, len);
}

/* The guest tables of walk w for va, per level (1..4); a level without one (above
 * the guest's top, below a large page, paging off) gets SHADOW_NO_GUEST. */
static void guest_tables(const struct vcpu *v, const struct walk_ctx *w,
                         const struct gpt_xlat *x, uint64_t va, struct guest_table g[5])
{
    bool lm = v->sh.efer & EFER_LMA, pae = v->sh.cr4 & CR4_PAE, wide = lm || pae;
    bool paging = v->sh.cr0 & CR0_PG;
    unsigned top = lm ? 4 : pae ? 3 : 2;
    for (unsigned l = 0; l < 5; l++) {
        if (!paging || l < x->level || l > top || top - l >= w->n) {
            g[l].gpage = SHADOW_NO_GUEST;
            g[l].goff = 0;
            continue;
        }
        g[l].goff = 0;
        g[l].gpage = w->entries[top - l] & ~(uint64_t)OFFSET_4K;
        g[l].esize = wide ? 8 : 4;
        g[l].gents = wide ? PT_ENTRIES : GUEST32_ENTRIES;
        g[l].gshift = (uint8_t)(wide ? PT_LEVEL_SHIFT(l) : l == 2 ? GUEST32_PDE_SHIFT : PT_LEVEL_SHIFT(1));
        if (pae && !lm && l == 3) {     /* the PDPT: 4 entries at CR3 bits 11:5 (4.4.1) */
            g[l].goff = (uint16_t)(v->sh.cr3 & PAE_PDPT_OFFSET_MASK);
            g[l].gents = PAE_PDPTES;
        }
        uint64_t span = (uint64_t)g[l].gents << g[l].gshift;
        g[l].gbase = (va & LINEAR_48_MASK) & ~(span - 1);
    }
}

/* The shadow entry for va at level `stop` (1: the PTE, 2: the PDE of a 2 MiB
 * leaf) in root `root`, making the tables on the way, each made to mirror its
 * guest table g[level]; a 2 MiB leaf in the way is dropped. NULL at the bound. */
static uint64_t *fill_path(struct vm *vm, int root, uint64_t va, const struct guest_table g[5],
                           unsigned stop)
{
    struct shadow_vm *s = vm->shadow;
    int ti = s->roots[root].top_table;
    for (unsigned l = s->roots[root].levels;; l--) {
        bind(vm, ti, &g[l]);
        if (l == stop)
            break;
        struct shadow_table *t = &s->tables[ti];
        unsigned idx = (va >> PT_LEVEL_SHIFT(l)) & (PT_ENTRIES - 1);
        if (t->page[idx] & PTE_PS)
            zap_entry(vm, ti, idx);
        if (t->page[idx] & PTE_P) {
            ti = child_of(vm, t->page[idx]);
            continue;
        }
        int n = table_new(vm, root, l - 1, t->va + ((uint64_t)idx << PT_LEVEL_SHIFT(l)), ti, idx,
                          false);
        if (n == NIL)
            return NULL;
        t->page[idx] = hpa_of(s->tables[n].page) | TABLE_FLAGS;
        ti = n;
    }
    return &s->tables[ti].page[(va >> PT_LEVEL_SHIFT(stop)) & (PT_ENTRIES - 1)];
}

/* The shadow table at `level` covering va, or NIL if there is none. */
static int table_at(struct vm *vm, const struct shadow_root *r, uint64_t va, unsigned level)
{
    int ti = r->top_table;
    for (unsigned l = r->levels; l > level; l--) {
        uint64_t e = vm->shadow->tables[ti].page[(va >> PT_LEVEL_SHIFT(l)) & (PT_ENTRIES - 1)];
        if (!(e & PTE_P) || (e & PTE_PS))
            return NIL;
        ti = child_of(vm, e);
    }
    return ti;
}

static unsigned large_class(uint64_t pde) { return (pde & PDE_LARGE_MASK) >> PDE_LARGE_SHIFT; }

static void mark_large(struct vm *vm, struct shadow_root *r, uint64_t va, uint64_t page_size)
{
    unsigned c = page_size >= (1ull << PT_LEVEL_SHIFT(3)) ? LARGE_1G :
                 page_size >= SIZE_4M ? LARGE_4M : LARGE_2M;
    uint64_t *pde = &vm->shadow->tables[table_at(vm, r, va, 2)].page[(va >> PT_LEVEL_SHIFT(2)) &
                                                                    (PT_ENTRIES - 1)];
    if (large_class(*pde) < c)
        *pde = (*pde & ~PDE_LARGE_MASK) | ((uint64_t)c << PDE_LARGE_SHIFT);
}

/* Fill the empty neighbours of the PTE just made for va (an aligned group of
 * PREFETCH_SPAN) whose guest PTEs are present and already accessed, so the guest
 * takes no fault there: an entry whose A bit is clear is left for a fault, which
 * sets A as the CPU would (4.8). Rights exactly the guest's, as for a read. */
static void prefetch(struct vm *vm, const struct gpt_regs *regs, bool wp, uint64_t *slot,
                     uint64_t va, const struct guest_table *pt)
{
    const uint8_t *gt = pt->gpage == SHADOW_NO_GUEST ? NULL : vm_gpa_to_hva(vm, pt->gpage, PAGE_SIZE);
    if (!gt)
        return;
    unsigned si = (va >> PT_LEVEL_SHIFT(1)) & (PT_ENTRIES - 1), first = si & ~(PREFETCH_SPAN - 1u);
    uint64_t *spt = slot - si;
    const struct gpt_mem mem = { .read = plain_read, .ctx = vm };
    /* The guest PTE of shadow entry j: the same 4 KiB page number, so index gi0 + j. */
    unsigned gi0 = ((unsigned)(va >> PT_LEVEL_SHIFT(1)) & (pt->gents - 1u)) - si;
    for (unsigned j = first; j < first + PREFETCH_SPAN; j++) {
        uint64_t ge = pt->esize == sizeof(uint64_t) ? ((const uint64_t *)gt)[gi0 + j] :
                                                      ((const uint32_t *)gt)[gi0 + j];
        if ((ge & (PTE_P | PTE_A)) != (PTE_P | PTE_A) || j == si || (spt[j] & PTE_P))
            continue;
        uint64_t nva = (va & ~((uint64_t)(PT_ENTRIES - 1) << PT_LEVEL_SHIFT(1)) & ~(uint64_t)OFFSET_4K) |
                       ((uint64_t)j << PT_LEVEL_SHIFT(1));
        struct gpt_xlat y;
        if (gpt_walk(regs, nva, GPT_AC, &mem, &y) != GPT_OK || y.page_size != PAGE_SIZE)
            continue;
        uint64_t gp = y.gpa & ~(uint64_t)OFFSET_4K;
        void *host = vm_gpa_to_hva(vm, gp, PAGE_SIZE);
        if (!host)
            continue;
        spt[j] = protect_leaf(vm, gp, shadow_leaf(&y, true, wp, 0, hpa_of(host)), &spt[j]);
        vm->stats.sh_prefetched++;
    }
}

/* Is a guest table among the 4 KiB pages of [chunk, chunk + 2 MiB)? */
static bool table_in_2m(struct vm *vm, uint64_t chunk)
{
    struct shadow_vm *s = vm->shadow;
    for (unsigned i = 0; i < s->max_pages; i++)
        if (s->tables[i].page && s->tables[i].gpage - chunk < SIZE_2M)
            return true;
    return false;
}

/* fill_path, and at the bound the running root cleared and filled again; NULL
 * (the VM stopped) if even that is too little. */
static uint64_t *fill_or_reclaim(struct vm *vm, int root, uint64_t va,
                                 const struct guest_table g[5], unsigned stop)
{
    uint64_t *slot = fill_path(vm, root, va, g, stop);
    if (!slot) {
        vm->stats.sh_reclaimed += clear_root(vm, &vm->shadow->roots[root]);
        slot = fill_path(vm, root, va, g, stop);
        if (!slot)
            vm_stop(vm, "shadow paging: %u pages are too few for one mapping",
                    vm->shadow->max_pages);
    }
    return slot;
}

/* A 2 MiB shadow leaf for the 2 MiB of guest large page x around the access, or
 * 0 if it needs 4 KiB pieces: host memory not one aligned 2 MiB run, or a leaf
 * that would be writable over a guest table (write protection is per 4 KiB). */
static uint64_t large_leaf(struct vm *vm, const struct gpt_xlat *x, bool wp, unsigned access)
{
    uint64_t chunk = x->gpa & ~(uint64_t)(SIZE_2M - 1);
    void *host = vm_gpa_to_hva(vm, chunk, SIZE_2M);
    if (!host || (hpa_of(host) & (SIZE_2M - 1)))
        return 0;
    uint64_t leaf = shadow_leaf(x, true, wp, access, hpa_of(host)) | PTE_PS;
    return (leaf & PTE_W) && table_in_2m(vm, chunk) ? 0 : leaf;
}

/* A guest write to a page the shadow MMU write-protects (a guest table): emulate
 * it, which zaps what came from the entries written (shadow_gpa_written). A table
 * written over and over with none of its entries used in between is being
 * reused as data (KVM's write-flood rule): unprotect it instead. true: the page
 * is no longer protected, map it as any other. */
static bool write_to_table(struct vcpu *v, const struct vm_exit *e, uint64_t va, uint64_t gpa)
{
    struct vm *vm = v->vm;
    struct shadow_vm *s = vm->shadow;
    uint64_t page = gpa & ~(uint64_t)OFFSET_4K;
    if (s->flood_gpage != page) {
        s->flood_gpage = page;
        s->flood_writes = 0;
    }
    if (++s->flood_writes > FLOOD_WRITES && unprotect(vm, page, v->sh.root)) {
        vm->stats.sh_unprotects++;
        return true;
    }
    /* A write made while the CPU delivered an event (the stack of an interrupt
     * or exception, requeued as pending by the backend) is not the instruction
     * at RIP's to emulate: let the CPU redo it on the unprotected page. */
    if (v->event_pending) {
        if (unprotect(vm, page, v->sh.root)) {
            vm->stats.sh_unprotects++;
            return true;
        }
        vm_stop(vm, "shadow paging: an event delivery writes the guest's top-level page "
                "table at gpa=%#lx (rip=%#lx)", gpa, e->rip);
        return false;
    }
    struct vm_exit m = *e;
    m.kind = EXIT_PAGING;
    m.paging.gpa = gpa;
    m.paging.access = ACCESS_WRITE;
    m.paging.gla_valid = true;
    m.paging.gla = va;
    int done = mmio_emulate_ram(v, &m);
    if (done >= 0) {
        vm->stats.sh_pt_writes += (unsigned)done;
        return false;
    }
    if (unprotect(vm, page, v->sh.root)) {    /* not emulated: the CPU does it, unprotected */
        vm->stats.sh_unprotects++;
        return true;
    }
    uint8_t b[4] = { 0 };
    guest_linear_rw(v, e->rip, b, sizeof b, false);
    vm_stop(vm, "shadow paging: a write to the guest's top-level page table at gpa=%#lx by "
            "an instruction hv86 does not emulate (rip=%#lx: %02x %02x %02x %02x)", gpa, e->rip,
            b[0], b[1], b[2], b[3]);
    return false;
}

/* For the report of a fault that keeps coming back: what the CPU should find. */
static void dump_path(struct vcpu *v, uint64_t va, const struct gpt_xlat *x)
{
    struct shadow_vm *s = v->vm->shadow;
    const struct shadow_root *r = &s->roots[v->sh.root];
    kprintf("hv86: shadow: vcpu %u root %d (cr3 %#lx mode %#lx top %s) guest cr0 %#lx cr3 %#lx "
            "cr4 %#lx efer %#lx; guest leaf %#lx gpa %#lx size %#lx\n", v->id, v->sh.root,
            r->cr3, r->mode, r->top == v->sh.top ? "current" : "STALE", v->sh.cr0, v->sh.cr3,
            v->sh.cr4, v->sh.efer, x->leaf, x->gpa, x->page_size);
    kprintf("hv86: shadow: cpu runs cr0 %#lx cr3 %#lx (root %#lx) cr4 %#lx efer %#lx\n",
            vmm->get_reg(v, REG_CR0), vmm->get_reg(v, REG_CR3), hpa_of(r->top),
            vmm->get_reg(v, REG_CR4), vmm->get_reg(v, REG_EFER));
    int ti = r->top_table;
    for (unsigned l = r->levels; l >= 1 && ti != NIL; l--) {
        uint64_t e = s->tables[ti].page[(va >> PT_LEVEL_SHIFT(l)) & (PT_ENTRIES - 1)];
        kprintf("hv86: shadow:   level %u table %d (gpage %#lx) entry %#lx\n", l, ti,
                s->tables[ti].gpage, e);
        if (!(e & PTE_P) || (e & PTE_PS) || l == 1)
            break;
        ti = child_of(v->vm, e);
    }
}

bool shadow_page_fault(struct vcpu *v, const struct vm_exit *e, uint64_t addr, uint32_t err)
{
    struct vm *vm = v->vm;
    vm->stats.sh_faults++;
    bool long_mode = v->sh.efer & EFER_LMA, paging = v->sh.cr0 & CR0_PG;
    uint64_t va = long_mode ? addr : (uint32_t)addr;
    /* RFLAGS.AC matters only under CR4.SMAP (4.6): the VMCS read only then. */
    unsigned access = ((err & GPT_PF_W) ? GPT_WRITE : 0) | ((err & GPT_PF_U) ? GPT_USER : 0) |
                      ((err & GPT_PF_I) ? GPT_EXEC : 0) |
                      ((v->sh.cr4 & CR4_SMAP) && (vcpu_get(v, REG_RFLAGS) & RFLAGS_AC) ? GPT_AC : 0);
    struct shadow_vm *s = vm->shadow;
    /* The backend's hidden pages exist in real mode only, and only in the real-mode
     * identity root (shadow_mode_key): in protected mode without paging the same
     * linear addresses are the guest's own, RAM or outside its memory. */
    if (!(v->sh.cr0 & CR0_PE) && va - s->hidden_la < (uint64_t)s->hidden_pages * PAGE_SIZE) {
        static const struct guest_table none[5] = {
            { .gpage = SHADOW_NO_GUEST }, { .gpage = SHADOW_NO_GUEST },
            { .gpage = SHADOW_NO_GUEST }, { .gpage = SHADOW_NO_GUEST },
            { .gpage = SHADOW_NO_GUEST },
        };
        uint64_t *slot = fill_path(vm, v->sh.root, va, none, 1);
        if (!slot) {
            vm_stop(vm, "shadow paging: no room for the backend's hidden pages");
            return false;
        }
        *slot = (s->hidden_hpa + ((va - s->hidden_la) & ~(uint64_t)OFFSET_4K)) | PTE_P | PTE_W;
        return true;
    }
    struct gpt_regs regs;
    guest_paging_regs(v, &regs);
    struct walk_ctx w = { .vm = vm };
    const struct gpt_mem mem = { .read = walk_read, .write = walk_write, .ctx = &w };
    struct gpt_xlat x;
    switch (gpt_walk(&regs, va, access | GPT_SET_AD, &mem, &x)) {
    case GPT_OK:
        break;
    case GPT_PAGE_FAULT:            /* the guest's own fault: its error code, CR2 */
        vcpu_set(v, REG_CR2, addr);
        vcpu_inject_exception(v, EXC_PF, x.pf_error);
        return false;
    case GPT_NON_CANONICAL:         /* the CPU checks canonicality before paging */
        vcpu_inject_exception(v, EXC_GP, 0);
        return false;
    case GPT_BAD_GPA:
        vm_stop(vm, "guest page table entry at gpa=%#lx outside its memory (linear %#lx, "
                "rip=%#lx)", x.fault_gpa, va, e->rip);
        return false;
    }
    uint64_t page = x.gpa & ~(uint64_t)OFFSET_4K;
    void *host = vm_gpa_to_hva(vm, page, PAGE_SIZE);
    if (!host) {                    /* a device, or nothing: as a nested fault would */
        struct bus_range h;
        const char *kind = (access & GPT_WRITE) ? "write" : (access & GPT_EXEC) ? "execute" : "read";
        if (!(access & GPT_EXEC) && bus_find(&vm->bus, BUS_MMIO, x.gpa, &h)) {
            struct vm_exit m = *e;
            m.kind = EXIT_PAGING;
            m.paging.gpa = x.gpa;
            m.paging.access = (access & GPT_WRITE) ? ACCESS_WRITE : ACCESS_READ;
            m.paging.gla_valid = true;
            m.paging.gla = va;
            mmio_emulate(v, &m, &h);
        } else {
            vm_stop(vm, "%s outside its memory at gpa=%#lx rip=%#lx", kind, x.gpa, e->rip);
        }
        return false;
    }
    if ((access & GPT_WRITE) && is_table(vm, page) && !write_to_table(v, e, va, x.gpa))
        return false;
    /* The same fault again on the very next exit, over and over: the entry made
     * does not satisfy the CPU, a bug to report rather than a hang. */
    bool again = va == v->sh.fault_addr && e->rip == v->sh.fault_rip &&
                 v->exits == v->sh.fault_exit + 1;
    v->sh.repeats = again ? v->sh.repeats + 1 : 0;
    v->sh.fault_addr = va, v->sh.fault_rip = e->rip, v->sh.fault_exit = v->exits;
    if (v->sh.repeats > FAULT_REPEAT_MAX) {
        dump_path(v, va, &x);
        vm_stop(vm, "shadow paging: vcpu %u: the fault at %#lx (error %#x) keeps coming "
                "back (rip=%#lx)", v->id, va, err, e->rip);
        return false;
    }

    struct guest_table g[5];
    guest_tables(v, &w, &x, va, g);
    for (unsigned i = 0; i < w.n; i++)      /* the flooded table is in use after all */
        if ((w.entries[i] & ~(uint64_t)OFFSET_4K) == s->flood_gpage)
            s->flood_writes = 0;
    struct shadow_root *r = &s->roots[v->sh.root];
    uint64_t leaf = 0;
    unsigned stop = 1;
    if (paging && x.page_size > PAGE_SIZE)
        leaf = large_leaf(vm, &x, v->sh.cr0 & CR0_WP, access);
    if (leaf)
        stop = 2;
    uint64_t *slot = fill_or_reclaim(vm, v->sh.root, va, g, stop);
    /* The walk's own tables became guest tables just now (bind): in the page? */
    if (slot && (leaf & PTE_W) && table_in_2m(vm, x.gpa & ~(uint64_t)(SIZE_2M - 1))) {
        leaf = 0;
        stop = 1;
        slot = fill_or_reclaim(vm, v->sh.root, va, g, stop);
    }
    if (!slot)
        return false;
    if (stop == 2 && (*slot & (PTE_P | PTE_PS)) == PTE_P) {    /* 4 KiB pieces: drop them */
        const uint64_t *pd = (const uint64_t *)((uintptr_t)slot & ~(uintptr_t)OFFSET_4K);
        zap_entry(vm, table_of(vm, pd), (unsigned)(slot - pd));
    }
    bool was_present = *slot & PTE_P;
    if (leaf) {
        *slot = leaf;
        vm->stats.sh_large++;
        if (leaf & PTE_W)
            s->large_writable++;
    } else {
        *slot = protect_leaf(vm, page, shadow_leaf(&x, paging, v->sh.cr0 & CR0_WP, access,
                                                   hpa_of(host)), slot);
    }
    if (paging && x.page_size > PAGE_SIZE)
        mark_large(vm, r, va, x.page_size);
    if (was_present)                /* a stale entry may be cached: drop it */
        s->tlb_gen++;
    if (paging && x.page_size == PAGE_SIZE)
        prefetch(vm, &regs, v->sh.cr0 & CR0_WP, slot, va, &g[1]);
    return true;
}

void shadow_invlpg(struct vcpu *v, uint64_t gva, bool all)
{
    struct vm *vm = v->vm;
    struct shadow_vm *s = vm->shadow;
    vm->stats.sh_invlpg++;
    if (!(v->sh.cr0 & CR0_PG))      /* identity root: nothing came from guest tables */
        return;
    struct shadow_root *r = &s->roots[v->sh.root];
    if (all) {
        clear_root(vm, r);
        vm->stats.sh_resyncs++;
        s->tlb_gen++;
        return;
    }
    uint64_t va = (v->sh.efer & EFER_LMA) ? gva : (uint32_t)gva;
    int pdt = table_at(vm, r, va, 2);
    if (pdt == NIL)
        return;                     /* nothing shadowed in this 1 GiB */
    const uint64_t *pd = s->tables[pdt].page;
    /* A guest large page was shadowed 4 KiB at a time: drop every piece of the
     * largest one that can contain va (its class is in the shadow PDEs). */
    unsigned i = (va >> PT_LEVEL_SHIFT(2)) & (PT_ENTRIES - 1), pair = i & ~1u;
    bool huge = false;
    for (unsigned j = 0; j < PT_ENTRIES && !huge; j++)
        huge = large_class(pd[j]) == LARGE_1G;
    if (huge) {
        zap_all(vm, pdt);
    } else if (large_class(pd[pair]) == LARGE_4M || large_class(pd[pair + 1]) == LARGE_4M) {
        zap_entry(vm, pdt, pair);
        zap_entry(vm, pdt, pair + 1);
    } else if (large_class(pd[i]) == LARGE_2M) {
        zap_entry(vm, pdt, i);
    } else {
        int pt = table_at(vm, r, va, 1);
        if (pt != NIL)
            zap_entry(vm, pt, (va >> PT_LEVEL_SHIFT(1)) & (PT_ENTRIES - 1));
    }
    s->tlb_gen++;
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
    unsigned n;
    if (!bootinfo_arg_uint("hv86.shadow_pages", &n))
        return SHADOW_DEFAULT_PAGES;
    return n < SHADOW_MIN_PAGES ? SHADOW_MIN_PAGES : n;
}

int shadow_vm_init(struct vm *vm)
{
    struct shadow_vm *s = kmalloc(sizeof *s);
    if (!s)
        return -1;
    s->max_pages = bound_from_cmdline();
    s->tables = kmalloc(sizeof *s->tables * s->max_pages);
    if (!s->tables) {
        kfree(s);
        return -1;
    }
    for (unsigned i = 0; i < s->max_pages; i++)
        s->tables[i].next_h = i + 1 < s->max_pages ? (int)i + 1 : NIL;
    s->free_table = 0;
    for (unsigned i = 0; i < SHADOW_BUCKETS; i++)
        s->by_gpage[i] = s->by_hpa[i] = NIL;
    s->flood_gpage = SHADOW_NO_GUEST;
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
    kfree(s->tables);
    kfree(s->wmap);
    s->tables = NULL;
    s->wmap = NULL;
}
