/* Shadow paging: memory virtualization without EPT/NPT (docs/shadow.md).
 *
 * The guest's CR0/CR3/CR4/EFER are kept here, as the guest sees them; the CPU
 * runs the guest with paging always on, on tables hv86 builds (the "shadow"
 * tables) that map guest-virtual addresses straight to host-physical ones. They
 * are filled lazily: a #PF in the guest exits, the guest's own tables are walked
 * (vmm/gpt_walk.c, setting A/D as the CPU would) and either the guest gets its
 * #PF (error code and CR2 as the CPU would give them) or a 4 KiB shadow entry
 * (and its accessed neighbours), or a 2 MiB one for a guest large page, is made.
 * The guest's page tables are write-protected: its writes to them are emulated
 * and zap what was derived from the entries written (shadow_gpa_written), so
 * cached roots need no check at a CR3 load. Format: 4-level for a long-mode
 * guest, PAE for every other mode (SDM Vol. 3A 4.4, 4.5; paging off runs on
 * identity tables). Vendor-neutral: the backend only loads the registers it is
 * handed (vmm_ops.set_paging) and flushes when asked (shadow_prepare_entry). */
#ifndef VMM_SHADOW_H
#define VMM_SHADOW_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/exit.h"
#include "vmm/vcpu.h"

struct vm;

#define SHADOW_ROOTS        8      /* cached address spaces per VM */
#define SHADOW_DEFAULT_PAGES 1024  /* bound per VM: 4 MiB (hv86.shadow_pages=N) */
#define SHADOW_MIN_PAGES    16     /* one full walk's tables, twice */
#define SHADOW_BUCKETS      1024   /* hash chains: tables by guest page, by host page */

/* One shadow table page, and the guest table it mirrors: its entries are derived
 * from that guest table's entries, so a guest write there zaps them (the reverse
 * map of docs/shadow.md). A guest table page with at least one such shadow table
 * is write-protected in every shadow leaf that maps it. */
struct shadow_table {
    uint64_t *page;                /* NULL: a free descriptor */
    uint64_t gpage;                /* guest table page mirrored, or SHADOW_NO_GUEST */
    uint64_t va;                   /* first linear address covered (bits 47:0) */
    uint64_t gbase;                /* linear address of the guest table's entry 0 */
    uint16_t goff, gents;          /* guest table: offset in its page, entries */
    uint8_t level, esize, gshift;  /* level (1 = PT); guest entry size, span (log2) */
    uint8_t root;
    bool fixed;                    /* a root's top or a PAE root's directory */
    int parent;                    /* table holding the entry that points here */
    unsigned pidx;                 /* ... and that entry's index */
    int next_g, next_h;            /* hash chains (by_gpage, by_hpa); free list */
    uint64_t stamp;                /* visited mark for walks that zap while iterating */
};
#define SHADOW_NO_GUEST (~0ull)

struct shadow_root {
    bool used;
    uint64_t cr3, mode;            /* the key: guest CR3 and paging-mode bits */
    unsigned levels;               /* 4 (long mode) or 3 (PAE) */
    uint64_t *top;                 /* PML4 or PDPT page */
    int top_table;                 /* its struct shadow_table */
    unsigned pages;                /* table pages in this tree, top included */
    uint64_t last_use;
};

struct shadow_vm {
    struct shadow_root roots[SHADOW_ROOTS];
    struct shadow_table *tables;   /* max_pages descriptors: one per shadow page */
    int free_table;
    int by_gpage[SHADOW_BUCKETS], by_hpa[SHADOW_BUCKETS];
    uint32_t *wmap;                /* per guest frame: where a shadow leaf maps it writable */
    uint64_t frames;               /* guest RAM frames (entries in wmap) */
    uint64_t flood_gpage;          /* guest table written by the last emulated writes */
    unsigned flood_writes;         /* ... how many in a row, none of its entries used */
    uint64_t stamp;
    unsigned large_writable;       /* writable 2 MiB leaves made (write_protect looks) */
    /* Bumped whenever a present shadow entry is zapped or loses rights: a vCPU
     * whose tlb_gen differs flushes its TLB before entering (shadow_prepare_entry),
     * so a zap is seen by every vCPU of the VM. */
    uint64_t tlb_gen;
    uint64_t hidden_la, hidden_hpa;      /* shadow_map_hidden() */
    unsigned hidden_pages;
    unsigned max_pages, pages;     /* bound and use: table pages */
    uint64_t clock;
};

/* Enable shadow paging for vm (before vm_init); -1: out of memory. */
int shadow_vm_init(struct vm *vm);
void shadow_vm_fini(struct vm *vm);

/* Map linear [la, la + pages * 4 KiB) to host-physical hpa while the guest is in
 * real mode (CR0.PE clear), for a structure the backend needs the CPU to reach on
 * the guest's behalf (VMX's virtual-8086 TSS). Only the real-mode identity root
 * gets these entries; in protected mode, paging on or off, the range is the
 * guest's own. la must be out of the guest's reach in real mode (above 1 MiB +
 * 64 KiB). */
void shadow_map_hidden(struct vm *vm, uint64_t la, uint64_t hpa, unsigned pages);

/* The guest-visible CR0/CR3/CR4/EFER (vcpu_get/vcpu_set divert here). The first
 * two are inline: every register access of the core asks them. */
static inline bool shadow_owns_reg(enum vcpu_reg r)
{
    return r == REG_CR0 || r == REG_CR3 || r == REG_CR4 || r == REG_EFER;
}

static inline uint64_t shadow_get_reg(const struct vcpu *v, enum vcpu_reg r)
{
    switch (r) {
    case REG_CR0: return v->sh.cr0;
    case REG_CR3: return v->sh.cr3;
    case REG_CR4: return v->sh.cr4;
    case REG_EFER: return v->sh.efer;
    default: return 0;
    }
}

void shadow_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val);

/* A #PF the guest took (addr = the CPU's CR2, err = its error code). */
/* true if it was resolved in the shadow tables alone: no device reached, no
 * exception injected (the exit then keeps irq_prepare_entry's fast path). */
bool shadow_page_fault(struct vcpu *v, const struct vm_exit *e, uint64_t addr, uint32_t err);
/* INVLPG of gva by the guest; all: the address is unknown, drop the whole root. */
void shadow_invlpg(struct vcpu *v, uint64_t gva, bool all);
/* hv86 wrote [gpa, gpa + len) of guest RAM for the guest (the instruction
 * emulator): shadow entries derived from guest table entries there are zapped. */
void shadow_gpa_written(struct vm *vm, uint64_t gpa, uint64_t len);
/* Before entering v: flush its TLB if shadow entries were zapped since. */
void shadow_prepare_entry(struct vcpu *v);
#endif
