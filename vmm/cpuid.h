#ifndef VMM_CPUID_H
#define VMM_CPUID_H
#include <stdbool.h>
#include <stdint.h>
struct vcpu;
struct vm;
struct vm_config;
/* Build the VM's CPU model from the host's CPUID and its config (docs/cpuid.md):
 * once, at creation, after its paging mode is known and before any vCPU runs. */
void cpuid_vm_init(struct vm *vm, const struct vm_config *c);
/* What CPUID(leaf, sub) returns in this guest: out = EAX, EBX, ECX, EDX. */
void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t out[4]);
bool cpuid_guest_has(struct vcpu *v, uint32_t leaf, unsigned reg, uint32_t bit);
#endif
