#ifndef VMM_SVM_VMCB_CHECK_H
#define VMM_SVM_VMCB_CHECK_H
#include <stdint.h>
#include "vmm/svm/svm_defs.h"

struct vmcb_check_result { const char *field, *rule; };

/* hv86's own copy of the VMRUN consistency checks (APM Vol. 2 15.5.1, "Canonicalization
 * and Consistency Checks"): 0 if the VMCB passes, else -1 with the first field that
 * breaks a rule. phys_bits: the CPU's physical address width (CPUID 8000_0008 EAX). */
int vmcb_check(const struct vmcb *vmcb, unsigned phys_bits, struct vmcb_check_result *out);
#endif
