/* kvm-clock: KVM's paravirtual clock MSRs (dev/pvclock.h has the ABI), offered so
 * that Linux reads its time from the TSC and a per-vCPU area instead of the ACPI
 * PM timer, one exit per read (docs/platform.md, "Paravirtual clock"). */
#ifndef VMM_KVMCLOCK_H
#define VMM_KVMCLOCK_H
#include <stdint.h>
#include "vmm/vm.h"

/* One VM's clock. Every vCPU's area gets the same reference: system time 0 at
 * guest TSC tsc0, one scale, so the vCPUs read one clock (PVCLOCK_TSC_STABLE_BIT).
 * The reference stays right as long as the guest's TSC is the host's TSC and the
 * host CPUs' TSCs run in step, which is how hv86 runs guests: RDTSC is not
 * intercepted, the TSC offset is 0 on both backends, IA32_TSC writes raise #GP
 * (docs/msr.md) and kernel/timer.c relies on the host CPUs' TSCs agreeing. Giving
 * a guest a TSC offset, or running it on CPUs whose TSCs differ, would need the
 * enabled areas rewritten with a new tsc_timestamp: keep time_msr for that. */
struct kvmclock {
    uint64_t tsc0;                     /* guest TSC at system time 0 */
    uint32_t mul;                      /* the TSC scale (pvclock_scale_of) */
    int8_t shift;
    uint32_t wall_sec;                 /* wall clock time at system time 0 (a whole
                                          second: the RTC's start, platform.c) */
    uint64_t wall_msr;                 /* the MSRs as last written: read back */
    uint64_t time_msr[VM_MAX_VCPUS];
};

/* System time 0 is now: the guest TSC tsc (of tsc_hz ticks per second), when the
 * VM's wall clock shows unix_sec. -1 if the TSC rate is unknown (0). */
int kvmclock_init(struct kvmclock *k, uint64_t tsc, uint64_t tsc_hz, uint64_t unix_sec);
/* Claim the two MSRs on vm's bus; -1 if the claim is refused (logged). */
int kvmclock_attach(struct vm *vm, struct kvmclock *k);
#endif
