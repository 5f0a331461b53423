/* What a vCPU's VMCB intercepts from its first VMRUN, and the MSR permission map
 * every VMCB shares (APM Vol. 2 Appendix B, 15.11). Pure, so the unit tests check
 * the intercepts docs/security.md promises against what is programmed. */
#ifndef VMM_SVM_VMCB_INTERCEPTS_PURE_H
#define VMM_SVM_VMCB_INTERCEPTS_PURE_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/svm/svm_defs.h"

/* The intercept words (CR, DR, exceptions, misc1, misc2) of a new vCPU's VMCB;
 * shadow: its paging runs on hv86's shadow tables instead of nested paging. */
void vmcb_set_intercepts(struct vmcb_control *c, bool shadow);

/* pm (MSRPM_SIZE bytes): every MSR intercepted but those VMLOAD/VMSAVE switch. */
void svm_msrpm_init(uint8_t *pm);

/* Whether an RDMSR (write false) or WRMSR (true) of msr exits with this map. */
bool svm_msrpm_intercepts(const uint8_t *pm, uint32_t msr, bool write);

#endif
