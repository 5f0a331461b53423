/* Shadow paging: memory virtualization without EPT/NPT (docs/shadow.md).
 *
 * The guest's CR0/CR3/CR4/EFER are kept here, as the guest sees them; the CPU
 * runs the guest with paging always on, on tables hv86 builds (the "shadow"
 * tables) that map guest-virtual addresses straight to host-physical ones. They
 * are filled lazily: a #PF in the guest exits, the guest's own tables are walked
 * (vmm/gpt_walk.c, setting A/D as the CPU would) and either the guest gets its
 * #PF (error code and CR2 as the CPU would give them) or one 4 KiB shadow entry
 * is made. Format: 4-level for a long-mode guest, PAE for every other mode (SDM
 * Vol. 3A 4.4, 4.5; paging off runs on identity tables). Vendor-neutral: the
 * backend only loads the registers it is handed (vmm_ops.set_paging). */
#ifndef VMM_SHADOW_H
#define VMM_SHADOW_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/exit.h"
#include "vmm/vcpu.h"

struct vm;

#define SHADOW_ROOTS        8      /* cached address spaces per VM */
#define SHADOW_TRACK_MAX    32     /* guest table pages remembered per root */
#define SHADOW_DEFAULT_PAGES 1024  /* bound per VM: 4 MiB (hv86.shadow_pages=N) */
#define SHADOW_MIN_PAGES    16     /* one full walk's tables and snapshots, twice */

struct shadow_root {
    bool used;
    uint64_t cr3, mode;            /* the key: guest CR3 and paging-mode bits */
    unsigned levels;               /* 4 (long mode) or 3 (PAE) */
    uint64_t *top;                 /* PML4 or PDPT page */
    unsigned pages;                /* table pages in this tree, top included */
    uint64_t last_use;
    bool overflow;                 /* more guest tables than tracked: always resync */
    unsigned ntrack;
    struct { uint64_t gpa; uint8_t *copy; } track[SHADOW_TRACK_MAX];
};

struct shadow_vm {
    struct shadow_root roots[SHADOW_ROOTS];
    uint64_t hidden_la, hidden_hpa;      /* shadow_map_hidden() */
    unsigned hidden_pages;
    unsigned max_pages, pages;     /* bound and use: tables + snapshots */
    uint64_t clock;
    /* Several vCPUs share the roots: bumped whenever a shadow entry is removed
     * or a root freed, which another vCPU's TLB or CR3 may still hold. */
    uint64_t generation;
};

/* Enable shadow paging for vm (before vm_init); -1: out of memory. */
int shadow_vm_init(struct vm *vm);
void shadow_vm_fini(struct vm *vm);

/* Map linear [la, la + pages * 4 KiB) to host-physical hpa while the guest's
 * paging is off, for a structure the backend needs the CPU to reach on the
 * guest's behalf (VMX's virtual-8086 TSS). la must be out of the guest's reach
 * in real mode (above 1 MiB + 64 KiB). */
void shadow_map_hidden(struct vm *vm, uint64_t la, uint64_t hpa, unsigned pages);

/* The guest-visible CR0/CR3/CR4/EFER (vcpu_get/vcpu_set divert here). */
bool shadow_owns_reg(enum vcpu_reg r);
uint64_t shadow_get_reg(struct vcpu *v, enum vcpu_reg r);
void shadow_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val);

/* A #PF the guest took (addr = the CPU's CR2, err = its error code). */
void shadow_page_fault(struct vcpu *v, const struct vm_exit *e, uint64_t addr, uint32_t err);
/* INVLPG of gva by the guest; all: the address is unknown, drop the whole root. */
void shadow_invlpg(struct vcpu *v, uint64_t gva, bool all);
/* Before each entry of v: if another vCPU of its VM changed or freed shadow
 * entries since v last ran (the VM's generation moved), drop v's TLB tag, and
 * pick its root again if that root was freed or reused. */
void shadow_prepare_entry(struct vcpu *v);
#endif
