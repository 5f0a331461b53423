/* The machine's CPUs from its ACPI tables, as an OS finds them (ACPI 6.5, 5.2.5
 * RSDP search, 5.2.7-8 RSDT/XSDT, 5.2.12 MADT): pure logic that reads physical
 * memory only through the caller's map function, so the host's tables and test
 * buffers go through the same checks. */
#ifndef LIB_ACPI_CPUS_H
#define LIB_ACPI_CPUS_H
#include <stdint.h>

/* A pointer to physical [pa, pa+len) if the caller can read it, else NULL. */
typedef const uint8_t *(*acpi_map_fn)(void *ctx, uint64_t pa, uint64_t len);

/* Where a legacy system's RSDP may be (5.2.5.1): the first KiB of the EBDA, whose
 * segment the BIOS data area holds at 0x40E, and the BIOS ROM area. */
#define ACPI_EBDA_SEG_PTR   0x40Eull
#define ACPI_EBDA_SCAN_LEN  1024ull
#define ACPI_BIOS_AREA      0xE0000ull
#define ACPI_BIOS_AREA_LEN  0x20000ull

/* The APIC IDs of the enabled processors of the MADT (Processor Local APIC and
 * Processor Local x2APIC entries with the Enabled flag), in table order, at most
 * max of them. Returns how many the table lists (may exceed max), or -1 with
 * *why set when there is no usable RSDP, RSDT/XSDT or MADT. */
int acpi_find_cpus(acpi_map_fn map, void *ctx, uint32_t *apic_ids, unsigned max,
                   const char **why);
#endif
