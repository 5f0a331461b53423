/* kvm-clock: KVM's paravirtual clock MSRs (dev/pvclock.h has the ABI), offered so
 * that Linux reads its time from the TSC and a per-vCPU area instead of the ACPI
 * PM timer, one exit per read (docs/platform.md, "Paravirtual clock"). */
#ifndef VMM_KVMCLOCK_H
#define VMM_KVMCLOCK_H
#include <stdint.h>
#include "vmm/vm.h"

/* One VM's clock. Every vCPU's area gets the same reference: system time 0 at
 * host TSC tsc0, one scale, so the vCPUs read one clock (PVCLOCK_TSC_STABLE_BIT);
 * a vCPU's area says tsc0 in its own TSC, tsc0 plus its TSC offset (0 until it
 * writes IA32_TSC). That stays right as long as the host CPUs' TSCs run in step
 * (RDTSC is not intercepted; kernel/timer.c relies on it too). A vCPU that writes
 * IA32_TSC gets its enabled area written again (vmm/msr.c, tsc_write). */
struct kvmclock {
    uint64_t tsc0;                     /* host TSC at system time 0 */
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
