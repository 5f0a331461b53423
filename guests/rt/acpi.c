/* ACPI table lookup for the test guests (guests/rt/acpi.h). */
#include "guests/rt/acpi.h"
#include "guests/rt/rt.h"

uint8_t rt_acpi_sum(const void *p, uint32_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *b++);
	return s;
}

const uint8_t *rt_acpi_rsdp(void)
{
	for (uint32_t a = RT_ACPI_BIOS_START; a < RT_ACPI_BIOS_END; a += RT_ACPI_RSDP_ALIGN) {
		const uint8_t *p = (const uint8_t *)a;
		if (!memcmp(p, "RSD PTR ", 8) && rt_acpi_sum(p, RT_ACPI_RSDP_V1_LEN) == 0)
			return p;
	}
	return NULL;
}

const uint8_t *rt_acpi_table(const char *sig)
{
	const uint8_t *rsdp = rt_acpi_rsdp();
	if (!rsdp)
		return NULL;
	bool x = rsdp[15] >= 2;                     /* revision 2: use the XSDT */
	unsigned width = x ? 8 : 4;
	const uint8_t *root = (const uint8_t *)(x ? (uint32_t)rt_rd64(rsdp + 24) : rt_rd32(rsdp + 16));
	uint32_t len = rt_rd32(root + 4);
	if (len < RT_ACPI_HEADER_LEN || rt_acpi_sum(root, len))
		return NULL;
	for (uint32_t off = RT_ACPI_HEADER_LEN; off + width <= len; off += width) {
		uint64_t a = x ? rt_rd64(root + off) : rt_rd32(root + off);
		if (a >> 32)
			continue;
		const uint8_t *t = (const uint8_t *)(uint32_t)a;
		if (!memcmp(t, sig, 4) && rt_acpi_sum(t, rt_rd32(t + 4)) == 0)
			return t;
	}
	return NULL;
}
