/* Nested page tables (APM Vol. 2 15.25): the same 4-level format as long-mode
 * paging, walked with the guest-physical address. Every nested access counts as a
 * user access (15.25.5), so every entry has U set. 2 MiB pages where aligned. */
#include "kernel/mm.h"
#include "kernel/x86.h"
#include "vmm/svm/svm.h"

#define NPT_LEVELS 4

static uint64_t *npt_table(struct svm_vm *s, uint64_t *entry)
{
    if (!(*entry & PTE_P)) {
        uint64_t *t = page_alloc();
        if (!t)
            return 0;
        s->npt_pages++;
        *entry = hpa_of(t) | PTE_P | PTE_W | PTE_U;
    }
    return hva_of(*entry & PTE_ADDR_MASK);
}

/* Map one page of 4 KiB or 2 MiB. */
static int npt_map_one(struct svm_vm *s, uint64_t gpa, uint64_t hpa, bool large, uint64_t flags)
{
    uint64_t *t = s->npt_root;
    for (int level = NPT_LEVELS; level > (large ? 2 : 1); level--) {
        unsigned idx = (gpa >> (12 + 9 * (level - 1))) & 511;
        t = npt_table(s, &t[idx]);
        if (!t)
            return -1;
    }
    unsigned idx = (gpa >> (large ? 21 : 12)) & 511;
    t[idx] = hpa | flags | (large ? PTE_PS : 0);
    return 0;
}

int npt_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot)
{
    struct svm_vm *s = vm->backend;
    uint64_t flags = PTE_P | PTE_U | ((prot & MAP_W) ? PTE_W : 0);
    for (uint64_t off = 0; off < size;) {
        bool large = !((gpa + off) & (SIZE_2M - 1)) && !((hpa + off) & (SIZE_2M - 1)) &&
                     size - off >= SIZE_2M;
        if (npt_map_one(s, gpa + off, hpa + off, large, flags) != 0)
            return -1;
        off += large ? SIZE_2M : PAGE_SIZE;
    }
    return 0;
}

static void free_level(struct svm_vm *s, uint64_t *t, int level)
{
    if (level > 1)
        for (int i = 0; i < 512; i++)
            if ((t[i] & PTE_P) && !(t[i] & PTE_PS))
                free_level(s, hva_of(t[i] & PTE_ADDR_MASK), level - 1);
    page_free(t);
}

void npt_free(struct vm *vm)
{
    struct svm_vm *s = vm->backend;
    if (s && s->npt_root)
        free_level(s, s->npt_root, NPT_LEVELS);
}
