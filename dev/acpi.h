/* The ACPI tables of a VM (ACPI 6.5, chapter 5), built into a buffer by pure code:
 * RSDP (revision 2), XSDT and RSDT, FADT (6.5) with its FACS and a DSDT that hv86
 * writes as AML bytes itself, MADT and MCFG. vmm/platform.c writes them to guest
 * RAM: the RSDP in the BIOS area where a guest searches for it, the rest at the top of
 * RAM.
 * docs/acpi.md describes every table, the AML and the port map. */
#ifndef DEV_ACPI_H
#define DEV_ACPI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The BIOS read-only area, 0xE0000-0xFFFFF: the RSDP must lie there on a 16-byte
 * boundary for a legacy (non-UEFI) system (ACPI 6.5, 5.2.5.1). hv86 puts the RSDP
 * alone there, in a slot no image segment covers (at 0xE0000 unless one does), and
 * the other tables in ACPI_TABLES_SIZE bytes at the top of RAM below 4 GiB; the
 * memory map marks both areas reserved. */
#define ACPI_RSDP_AREA   0xE0000ull
#define ACPI_RSDP_LEN    36
#define ACPI_TABLES_SIZE 0x10000ull

#define ACPI_SCI_IRQ 9             /* as QEMU's pc and q35 machines */
#define ACPI_MAX_CPUS 255          /* Processor Local APIC IDs are 8 bits, 0xFF is broadcast */

struct acpi_config {
    uint64_t gpa;                  /* guest-physical address of buf[0], 64-byte aligned as
                                      the FACS must be */
    unsigned ncpus;                /* an enabled Processor Local APIC each, IDs 0..ncpus-1 */
    uint8_t ioapic_id;             /* the IOAPIC's ID register, bits 27:24 */
    bool pci_hole;                 /* RAM ends at or below PCI_HOLE_BASE (dev/pci.h): MCFG,
                                      the ECAM reservation and the PCI memory window */
};

/* Build the tables into buf[0, size), zero-filling what they leave, and the RSDP
 * (pointing into them) into rsdp, for wherever the caller puts it. Returns the
 * bytes the tables take, or 0 if they do not fit (in buf, or below 4 GiB as the
 * RSDT needs), gpa is not aligned or ncpus is 0 or too large. */
size_t acpi_build(const struct acpi_config *c, uint8_t *buf, size_t size,
                  uint8_t rsdp[ACPI_RSDP_LEN]);
#endif
