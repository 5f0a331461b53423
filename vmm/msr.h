#ifndef VMM_MSR_H
#define VMM_MSR_H
#include <stdbool.h>
#include <stdint.h>
struct vcpu;
/* The MSR policy (docs/msr.md). false: the access raises #GP in the guest. */
bool msr_guest_read(struct vcpu *v, uint32_t index, uint64_t *val);
bool msr_guest_write(struct vcpu *v, uint32_t index, uint64_t val);
/* Before v's turn on this CPU: the MSRs guest instructions read from the
 * hardware with neither backend switching them (IA32_TSC_AUX). */
void msr_switch_to(struct vcpu *v);
#endif
