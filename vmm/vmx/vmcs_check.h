/* hv86's own checker of the VM-entry conditions (SDM Vol. 3C 27.2 controls and host
 * state, 27.3 guest state), so a refused entry is reported as "field X breaks rule
 * Y" instead of a bare error number. Pure logic: it sees the VMCS only through a
 * read callback, so the host unit tests feed it a table and the hypervisor feeds
 * it VMREAD. It checks the rules hv86 can break; the rest are noted in vmcs_check.c. */
#ifndef VMM_VMX_VMCS_CHECK_H
#define VMM_VMX_VMCS_CHECK_H
#include <stdbool.h>
#include <stdint.h>

/* The capability MSRs the rules depend on. The five control MSRs are the ones in
 * force: the TRUE_* variants when IA32_VMX_BASIC bit 55 is set (A.2). */
struct vmx_cap_msrs {
    uint64_t basic, pin, proc, proc2, exit, entry, misc;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t ept_vpid;
    unsigned maxphyaddr;     /* CPUID.80000008H:EAX[7:0] */
};

typedef uint64_t (*vmcs_read_fn)(void *ctx, uint32_t field);

/* The first broken rule: field = VMCS field name, rule = what it must satisfy.
 * Both NULL when every checked rule holds. */
struct vmcs_check_result {
    const char *field;
    const char *rule;
};

/* Returns true if all rules hold; else false with *out naming the first break. */
bool vmcs_check(const struct vmx_cap_msrs *caps, vmcs_read_fn rd, void *ctx,
                struct vmcs_check_result *out);

/* The name of a VMCS field encoding ("GUEST_CR0"), or "unknown field". */
const char *vmcs_field_name(uint32_t field);

/* Apply a control MSR to a wanted value (A.3): force the allowed-0 ones, drop what
 * allowed-1 forbids. Shared by vmx_controls.c and the checker's tests. */
static inline uint32_t vmx_ctl_adjust(uint64_t cap, uint32_t want)
{
    return (want | (uint32_t)cap) & (uint32_t)(cap >> 32);
}
#endif
