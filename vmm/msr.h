#ifndef VMM_MSR_H
#define VMM_MSR_H
#include <stdbool.h>
#include <stdint.h>
struct vcpu;
/* The MSR policy (docs/msr.md). false: the access raises #GP in the guest. */
bool msr_guest_read(struct vcpu *v, uint32_t index, uint64_t *val);
bool msr_guest_write(struct vcpu *v, uint32_t index, uint64_t val);
#endif
