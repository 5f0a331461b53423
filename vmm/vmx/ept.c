/* Extended page tables (SDM Vol. 3C 29.3): guest-physical to host-physical, four
 * levels of 512 entries like long-mode paging but with R/W/X permission bits and a
 * memory type in each leaf. Guest RAM is write-back; 2 MiB pages wherever the GPA,
 * HPA and remaining size are 2 MiB aligned and the CPU offers them. A GPA with no
 * entry gives an EPT violation, which the core sees as EXIT_PAGING. */
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/x86.h"
#include "vmm/vmx/vmx.h"
#include "vmm/vmx/vmx_insn.h"

static unsigned ept_index(uint64_t gpa, int level)
{
    return (gpa >> PT_LEVEL_SHIFT(level)) & (EPT_ENTRIES - 1);
}

/* A non-leaf entry grants everything: permissions are decided at the leaf
 * (29.3.3: an access is allowed only if every level allows it). */
static uint64_t table_entry(void *table) { return hpa_of(table) | EPT_RWX; }

static bool present(uint64_t e) { return e & EPT_RWX; }
static bool is_leaf(uint64_t e, int level) { return level == 1 || (e & EPT_LARGE); }

static void free_tables(struct vmx_vm *x, uint64_t *t, int level)
{
    if (level > 1)
        for (int i = 0; i < EPT_ENTRIES; i++)
            if (present(t[i]) && !is_leaf(t[i], level))
                free_tables(x, hva_of(t[i] & EPT_ADDR_MASK), level - 1);
    page_free(t);
    x->ept_pages--;
}

/* The table one level down from *entry, made if missing. A 2 MiB leaf in the
 * way is split into 512 4 KiB leaves with the same rights and type. */
static uint64_t *next_table(struct vmx_vm *x, uint64_t *entry, int level)
{
    if (present(*entry) && !is_leaf(*entry, level))
        return hva_of(*entry & EPT_ADDR_MASK);
    uint64_t *t = page_alloc();
    if (!t)
        return 0;
    x->ept_pages++;
    if (present(*entry)) {              /* level 2 large page: split */
        uint64_t base = *entry & EPT_ADDR_MASK, flags = *entry & ~EPT_ADDR_MASK & ~EPT_LARGE;
        for (int i = 0; i < EPT_ENTRIES; i++)
            t[i] = (base + (uint64_t)i * PAGE_SIZE) | flags;
    }
    *entry = table_entry(t);
    return t;
}

static uint64_t leaf_flags(unsigned prot)
{
    uint64_t f = 0;
    if (prot & MAP_R) f |= EPT_R;
    if (prot & MAP_W) f |= EPT_R | EPT_W;   /* write without read is a misconfiguration (29.3.3.1) */
    if (prot & MAP_X) f |= EPT_X;
    /* Write-back, combined with the guest's PAT (IPAT clear), as on bare metal (29.3.7). */
    return f ? f | ((uint64_t)MEMTYPE_WB << EPT_MEMTYPE_SHIFT) : 0;
}

static int map_one(struct vmx_vm *x, uint64_t gpa, uint64_t hpa, bool large, uint64_t flags)
{
    uint64_t *t = x->ept_root;
    int leaf_level = large ? 2 : 1;
    for (int level = EPT_LEVELS; level > leaf_level; level--) {
        t = next_table(x, &t[ept_index(gpa, level)], level);
        if (!t)
            return -1;
    }
    uint64_t *e = &t[ept_index(gpa, leaf_level)];
    if (large && present(*e) && !is_leaf(*e, 2))
        free_tables(x, hva_of(*e & EPT_ADDR_MASK), 1);
    *e = flags ? hpa | flags | (large ? EPT_LARGE : 0) : 0;
    return 0;
}

int ept_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot)
{
    struct vmx_vm *x = vm->backend;
    if ((gpa | hpa | size) & (PAGE_SIZE - 1))
        return -1;
    bool can_2m = vmx_cpu.caps.ept_vpid & EPT_CAP_2M;
    uint64_t flags = leaf_flags(prot);
    int err = 0;
    for (uint64_t off = 0; off < size && !err;) {
        bool large = can_2m && !((gpa + off) & (SIZE_2M - 1)) &&
                     !((hpa + off) & (SIZE_2M - 1)) && size - off >= SIZE_2M;
        err = map_one(x, gpa + off, hpa + off, large, flags);
        off += large ? SIZE_2M : PAGE_SIZE;
    }
    /* The CPU may cache translations of this EPTP (29.4.3): drop them. */
    ept_invalidate(x);
    return err;
}

void ept_invalidate(struct vmx_vm *x)
{
    uint64_t cap = vmx_cpu.caps.ept_vpid;
    enum vmx_result r;
    if (!vmx_here()->on || !(vmx_cpu.ctls.proc2 & PROC2_EPT))
        return;                     /* no EPT on this CPU: INVEPT would be #UD */
    if (cap & EPT_CAP_INVEPT_SINGLE)
        r = invept(INVEPT_SINGLE_CONTEXT, x->eptp);
    else
        r = invept(INVEPT_ALL_CONTEXT, 0);
    if (r != VMX_OK)
        panic("vmx: INVEPT failed: %s", vmx_result_text(r));
}

int ept_vm_init(struct vm *vm)
{
    struct vmx_vm *x = kmalloc(sizeof *x);
    if (!x)
        return -1;
    x->ept_root = page_alloc();
    if (!x->ept_root) {
        kfree(x);
        return -1;
    }
    x->ept_pages = 1;
    /* EPTP (25.6.11): WB paging-structure accesses, 4-level walk, no A/D flags. */
    x->eptp = hpa_of(x->ept_root) | MEMTYPE_WB | EPTP_WALK_LEN(EPT_LEVELS);
    vm->backend = x;
    return 0;
}

void ept_vm_fini(struct vm *vm)
{
    struct vmx_vm *x = vm->backend;
    if (!x)
        return;
    /* A later VM may get the same root page, hence the same EPTP: flush first. */
    ept_invalidate(x);
    free_tables(x, x->ept_root, EPT_LEVELS);
    kfree(x);
    vm->backend = 0;
}
