/* The PC-like platform every VM gets (docs/platform.md): the device models of
 * dev/ wired to the VM's ports, MMIO and MSRs. */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H
struct vm;
struct vcpu;
struct lapic;

/* Allocate the VM's devices (guest RAM must be allocated first: fw_cfg reports
 * its size) and register them. -1: out of memory or handler slots. */
int platform_attach(struct vm *vm);
/* When the VM has ended: print the guest's unfinished output line, free the
 * devices and drop their registrations. */
void platform_detach(struct vm *vm);
/* The local APIC of a vCPU, e.g. for the backends to keep CR8 and TPR in step;
 * NULL before platform_attach. */
struct lapic *platform_lapic(struct vcpu *v);
#endif
