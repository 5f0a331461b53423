/* The PC-like platform every VM gets (docs/platform.md): the device models of
 * dev/ wired to the VM's ports, MMIO and MSRs. */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H
#include <stdint.h>
struct vm;
struct vcpu;
struct lapic;
struct mbg_range;

/* Allocate the devices of a VM with ncpus vCPUs (guest RAM must be allocated
 * first: fw_cfg reports its size) and register them; fw_cfg and the MADT report
 * ncpus processors, local APIC IDs 0 .. ncpus - 1. -1: out of memory or handler
 * slots. */
int platform_attach(struct vm *vm, unsigned ncpus);
/* Write the ACPI tables (dev/acpi.h) into the VM's RAM, at ACPI_TABLES_GPA in the
 * area the memory map reserves: after the guest is loaded. -1 if they do not fit. */
int platform_acpi(struct vm *vm);
/* The device ranges above RAM a VM of ram_size bytes has that its memory map must
 * mark reserved (the PCI ECAM window): up to max of them into r; their count. */
unsigned platform_reserved(uint64_t ram_size, struct mbg_range *r, unsigned max);
/* When the VM has ended: print the guest's unfinished output line, free the
 * devices and drop their registrations. */
void platform_detach(struct vm *vm);
/* The local APIC of a vCPU, e.g. for the backends to keep CR8 and TPR in step;
 * NULL before platform_attach. */
struct lapic *platform_lapic(struct vcpu *v);
#endif
