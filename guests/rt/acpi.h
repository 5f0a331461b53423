/* Finding the ACPI tables the way an OS does (ACPI 6.5, 5.2.5.1 and 5.2.8), for the
 * test guests. Guests run with paging off, so a table's physical address is its
 * pointer; tables above 4 GiB are not followed. */
#ifndef GUESTS_RT_ACPI_H
#define GUESTS_RT_ACPI_H
#include <stdint.h>

#define RT_ACPI_HEADER_LEN 36          /* the System Description Table Header (5.2.6) */
#define RT_ACPI_RSDP_V1_LEN 20
#define RT_ACPI_RSDP_LEN 36
#define RT_ACPI_BIOS_START 0xE0000u    /* where the RSDP is searched, 16-byte steps */
#define RT_ACPI_BIOS_END   0x100000u
#define RT_ACPI_RSDP_ALIGN 16

static inline uint16_t rt_rd16(const void *p)
{ const uint8_t *b = p; return (uint16_t)(b[0] | b[1] << 8); }
static inline uint32_t rt_rd32(const void *p)
{ const uint8_t *b = p; return rt_rd16(b) | (uint32_t)rt_rd16(b + 2) << 16; }
static inline uint64_t rt_rd64(const void *p)
{ const uint8_t *b = p; return rt_rd32(b) | (uint64_t)rt_rd32(b + 4) << 32; }

/* The sum of n bytes (a table is valid when its bytes sum to 0). */
uint8_t rt_acpi_sum(const void *p, uint32_t n);
/* The first "RSD PTR " in the BIOS area on a 16-byte boundary whose first 20
 * bytes sum to 0, or NULL. */
const uint8_t *rt_acpi_rsdp(void);
/* The table with signature sig (e.g. "FACP") listed in the XSDT (the RSDT for a
 * revision 0 RSDP) whose checksum holds, or NULL. */
const uint8_t *rt_acpi_table(const char *sig);
#endif
