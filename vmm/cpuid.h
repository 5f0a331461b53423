#ifndef VMM_CPUID_H
#define VMM_CPUID_H
#include <stdbool.h>
#include <stdint.h>
struct vcpu;
/* What CPUID(leaf, sub) returns in this guest: out = EAX, EBX, ECX, EDX. */
void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t out[4]);
bool cpuid_guest_has(struct vcpu *v, uint32_t leaf, unsigned reg, uint32_t bit);
#endif
