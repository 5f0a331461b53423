/* The scheduler (vmm/sched.c): vCPUs on host CPUs. */
#ifndef VMM_SCHED_H
#define VMM_SCHED_H
#include <stdbool.h>
#include "kernel/smp.h"
#include "vmm/vm.h"

/* What each AP runs (smp_boot): virtualization on, then its share of the VMs
 * once sched_run starts them, then virtualization off. */
extern const struct smp_hooks sched_ap_hooks;
/* Run the n VMs on every CPU until all have ended (on the BSP; the APs join).
 * timer: the host tick works (else each vCPU turn is one exit);
 * ap_panic_test: test only, hv86.test=ap-panic. */
void sched_run(struct vm **vms, unsigned n, bool timer, bool ap_panic_test);
#endif
