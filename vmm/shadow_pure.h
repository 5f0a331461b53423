/* Shadow paging rules that need no VM (pure logic, unit-tested): which guest
 * paging bits select a shadow root, the leaf entry made for a guest translation,
 * and the control registers the CPU runs a shadow-paged guest with. See
 * docs/shadow.md; section numbers are Intel SDM Vol. 3A. */
#ifndef VMM_SHADOW_PURE_H
#define VMM_SHADOW_PURE_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/gpt_walk.h"

/* The bits of CR0/CR4/EFER that change how shadow entries are made: a change
 * selects another root. With paging off: 0 in protected mode, SHADOW_MODE_REAL in
 * real mode (CR0.PE clear), two identity roots; only the real-mode one may map
 * the backend's hidden pages (shadow_map_hidden: VMX's virtual-8086 TSS), so a
 * protected-mode guest without paging never reaches them. Paging on: bit 0 set. */
#define SHADOW_MODE_PAGED 1ull
#define SHADOW_MODE_REAL  2ull

uint64_t shadow_mode_key(uint64_t cr0, uint64_t cr4, uint64_t efer);

/* The 4 KiB shadow leaf mapping hpa for a successful walk x of an access
 * (GPT_* flags) with guest CR0.WP = wp; paging: the guest's CR0.PG. */
uint64_t shadow_leaf(const struct gpt_xlat *x, bool paging, bool wp, unsigned access,
                     uint64_t hpa);

/* A shadow table and the guest table it mirrors (docs/shadow.md, Coherence). */
struct shadow_mirror {
    uint64_t va;            /* first linear address the shadow table covers (bits 47:0) */
    unsigned level;         /* its level: 512 entries of 1 << (12 + 9 * (level - 1)) bytes */
    uint64_t gbase;         /* linear address of the guest table's entry 0 */
    unsigned goff;          /* the guest table's offset in its page (PAE PDPT: CR3 11:5) */
    unsigned gents, esize;  /* guest entries and their size: 512 x 8, 1024 x 4, PDPT 4 x 8 */
    unsigned gshift;        /* log2 of the linear span of one guest entry */
};

/* Bytes [lo, hi) of the guest table's page were written: the shadow entries
 * [*first, *end) derived from the guest entries there. false: none. */
bool shadow_written_entries(const struct shadow_mirror *m, uint64_t lo, uint64_t hi,
                            unsigned *first, unsigned *end);

/* What the CPU runs with for guest cr0/cr4/efer (the root goes in CR3). */
struct shadow_hw { uint64_t cr0, cr4, efer; };
struct shadow_hw shadow_hw_regs(uint64_t cr0, uint64_t cr4, uint64_t efer);
#endif
