/* Shadow paging rules: see shadow_pure.h. */
#include "arch/x86.h"
#include "vmm/shadow_pure.h"


/* Guest CR4 bits the CPU gets as they are; the paging ones (PSE, PAE, PGE, PCIDE)
 * are the shadow tables' business: they are PAE or 4-level, 4 KiB, never global. */
#define CR4_PASS (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_MCE | CR4_PCE | CR4_OSFXSR | \
                  CR4_OSXMMEXCPT | CR4_UMIP | CR4_FSGSBASE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP)

uint64_t shadow_mode_key(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    if (!(cr0 & CR0_PG))
        return (cr0 & CR0_PE) ? 0 : SHADOW_MODE_REAL;
    return SHADOW_MODE_PAGED | (cr0 & CR0_WP) | (cr4 & (CR4_PSE | CR4_PAE | CR4_SMEP | CR4_SMAP)) |
           (efer & (EFER_NXE | EFER_LMA));
}

/* 4.6 and 4.8:
 * - writable only once the guest's D bit is set, so the first write faults and
 *   sets D as the CPU would;
 * - CR0.WP=0: a supervisor write to a read-only page succeeds; the CPU runs with
 *   WP=1, so such a page is mapped writable but supervisor-only (a user access
 *   then faults and remaps it read-only, user), as KVM does;
 * - XD as the guest's combined XD (only with EFER.NXE, which the CPU shares). */
uint64_t shadow_leaf(const struct gpt_xlat *x, bool paging, bool wp, unsigned access,
                     uint64_t hpa)
{
    if (!paging)
        return hpa | PTE_P | PTE_W | PTE_U;
    uint64_t e = hpa | PTE_P | (x->leaf & (PTE_PWT | PTE_PCD));
    if (x->writable && (x->leaf & PTE_D))
        e |= PTE_W;
    if (x->user)
        e |= PTE_U;
    if (!x->writable && !wp && (access & GPT_WRITE) && !(access & GPT_USER))
        e = (e | PTE_W) & ~(uint64_t)PTE_U;
    if (x->nx)
        e |= PTE_NX;
    return e;
}

/* Paging and write protection always on (CR0.WP=0 is emulated in the entries),
 * PAE format, EFER.LME only once the guest's long mode is active. SMEP and SMAP
 * only while the guest pages: without paging they do nothing (SDM Vol. 3A 4.6),
 * but the identity map of a guest with paging off has user entries (shadow_leaf),
 * so the CPU would fault on the guest's every fetch (SMEP) or access (SMAP):
 * guests/attack.c, setting CR4.SMEP with paging off, was stopped for a fault that
 * "keeps coming back" (issue 18). EFER.NXE always, as KVM runs shadow paging: the
 * #PF error code then says whether a fault was an instruction fetch (I/D is
 * reported only with NXE or SMEP, 4.7), so a guest's supervisor fetch from a user
 * page under SMAP is not taken for a data read that SMAP refuses (kvm-unit-tests'
 * smap, "executing on user page"). The shadow entries carry XD only where the
 * guest's own walk gave it (shadow_leaf), and the guest reads its own EFER. */
struct shadow_hw shadow_hw_regs(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    uint64_t pass = (cr0 & CR0_PG) ? CR4_PASS : CR4_PASS & ~(uint64_t)(CR4_SMEP | CR4_SMAP);
    return (struct shadow_hw){
        .cr0 = cr0 | CR0_PG | CR0_WP,
        .cr4 = (cr4 & pass) | CR4_PAE,
        .efer = ((efer & EFER_LMA) ? efer : efer & ~(uint64_t)(EFER_LME | EFER_LMA)) | EFER_NXE,
    };
}

/* The guest entries written are [g0, g1]; the linear range they translate is
 * [gbase + g0 * span, gbase + (g1 + 1) * span); the shadow entries covering the
 * part of it this shadow table covers are the ones derived from them. A guest
 * entry spans at least a shadow entry of the same level (4 MiB or 2 MiB against
 * 2 MiB, 4 KiB against 4 KiB), so the range is aligned to shadow entries. */
bool shadow_written_entries(const struct shadow_mirror *m, uint64_t lo, uint64_t hi,
                            unsigned *first, unsigned *end)
{
    uint64_t gend = m->goff + (uint64_t)m->gents * m->esize;
    if (hi <= lo || hi <= m->goff || lo >= gend)
        return false;
    uint64_t g0 = lo < m->goff ? 0 : (lo - m->goff) / m->esize;
    uint64_t g1 = ((hi < gend ? hi : gend) - 1 - m->goff) / m->esize;
    uint64_t va0 = m->gbase + (g0 << m->gshift), va1 = m->gbase + ((g1 + 1) << m->gshift);
    unsigned sh = PT_LEVEL_SHIFT(m->level);
    uint64_t top = m->va + ((uint64_t)PT_ENTRIES << sh);
    if (va0 < m->va)
        va0 = m->va;
    if (va1 > top)
        va1 = top;
    if (va0 >= va1)
        return false;
    *first = (unsigned)((va0 - m->va) >> sh);
    *end = (unsigned)((va1 - m->va - 1) >> sh) + 1;
    return true;
}
