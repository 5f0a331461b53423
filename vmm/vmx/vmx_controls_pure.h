/* The VM-execution, exit and entry controls, the exception bitmap and the MSR
 * bitmap hv86 runs its vCPUs with (SDM Vol. 3C 25.6-25.8). Pure, so the unit tests
 * check the intercepts docs/security.md promises against what is programmed. */
#ifndef VMM_VMX_VMX_CONTROLS_PURE_H
#define VMM_VMX_VMX_CONTROLS_PURE_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/vmx/vmcs_check.h"
#include "vmm/vmx/vmx_defs.h"

struct vmx_controls { uint32_t pin, proc, proc2, exit, entry; };

/* Told what hv86 needs and the CPU does not offer, and in which MSR. */
typedef void vmx_missing_fn(const char *what, const char *msr);

/* The controls from the capability MSRs in force: 0, or -1 after naming each
 * missing requirement through missing(). */
int vmx_controls_init(const struct vmx_cap_msrs *caps, struct vmx_controls *out,
                      vmx_missing_fn *missing);

/* The exception bitmap of a new vCPU; shadow: its paging is hv86's shadow tables. */
uint32_t vmx_exception_bitmap(bool shadow);

#define VMX_MSR_BITMAP_SIZE 4096
/* bm (VMX_MSR_BITMAP_SIZE bytes): every MSR exits but those the guest owns. */
void vmx_msr_bitmap_init(uint8_t *bm);
/* Whether an RDMSR (write false) or WRMSR (true) of msr exits with this bitmap. */
bool vmx_msr_bitmap_exits(const uint8_t *bm, uint32_t msr, bool write);

#endif
