/* Speculative-execution barriers between VMs and hv86 (docs/security.md):
 * the host CPU's enumeration read once at boot, the decision from the pure policy
 * (vmm/policy/spec_ctrl.h), and the barriers the backends call. When the CPU needs
 * no barrier around entries and exits (or cannot do any: the emulators), the
 * backends run their plain entry path, untouched: hv.c installs the backend's
 * vcpu_run_spec variant only when spec_needs_variant(). */
#ifndef VMM_SPEC_H
#define VMM_SPEC_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/policy/spec_ctrl.h"

struct vcpu;

extern struct spec_plan spec;
/* Read by the entry stubs' spec variants (vmx_entry.S, svm_entry.S): 1 to run
 * VERW before entry, 1 to fill the RSB after the exit. */
extern uint8_t spec_verw_on_entry, spec_rsb_on_exit;

/* Read this CPU's enumeration (CPUID leaf 7, 8000_0008H, IA32_ARCH_CAPABILITIES),
 * decide, and print one line "hv86: spec: ...". On the boot CPU, once: the host
 * CPUs are taken to be alike. */
void spec_init(void);

/* The backend's vcpu_run_spec variant is wanted: a barrier around every entry or
 * exit, or an IBPB on a switch between VMs that its plain path cannot see. */
static inline bool spec_needs_variant(void)
{
    return spec.entry_exit || spec.ibpb_on_switch;
}

/* v is about to run on this CPU: IBPB if the last vCPU this CPU ran belonged to
 * another VM (and the plan says so). Counted in the VM's summary (ibpb=N). */
void spec_vcpu_arrive(struct vcpu *v);

/* Before each entry, in the spec variants only: the L1D flush. */
void spec_before_entry(void);

#endif
