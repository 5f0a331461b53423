/* The PC-like platform every VM gets (docs/platform.md): the device models of
 * dev/ wired to the VM's ports, MMIO and MSRs. */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H
#include <stdint.h>
#include "loader/multiboot_guest.h"
struct vm;
struct vcpu;
struct lapic;

/* Allocate the devices of a VM with ncpus vCPUs (guest RAM must be allocated
 * first: fw_cfg reports its size) and register them; fw_cfg and the MADT report
 * ncpus processors, local APIC IDs 0 .. ncpus - 1. -1: out of memory or handler
 * slots. */
int platform_attach(struct vm *vm, unsigned ncpus);
/* Where a VM of ram_size bytes keeps its ACPI tables: the top ACPI_TABLES_SIZE
 * bytes of its RAM below 4 GiB, which the loaders keep free and reserve. */
struct mbg_range platform_acpi_range(uint64_t ram_size);
/* Write the ACPI tables (dev/acpi.h) into the VM's RAM, in platform_acpi_range and
 * the RSDP at rsdp_gpa (a 16-byte slot of the BIOS area the loader left free):
 * after the guest is loaded. -1 if they do not fit. */
int platform_acpi(struct vm *vm, uint64_t rsdp_gpa);
/* The device ranges above RAM a VM of ram_size bytes has that its memory map must
 * mark reserved (the PCI ECAM window): up to max of them into r; their count. */
unsigned platform_reserved(uint64_t ram_size, struct mbg_range *r, unsigned max);
/* When the VM has ended: print the guest's unfinished output line, free the
 * devices and drop their registrations. */
void platform_detach(struct vm *vm);
/* The VM's PCI host bridge, for the devices that add functions to bus 0; NULL for
 * a VM without the PCI hole (more than 3 GiB of RAM). */
struct pci_host *platform_pci(struct vm *vm);
/* The local APIC of a vCPU, e.g. for the backends to keep CR8 and TPR in step;
 * NULL before platform_attach. */
struct lapic *platform_lapic(struct vcpu *v);
#endif
