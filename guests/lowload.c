/* lowload: an image linked at 0x8000, as kvm-unit-tests' realmode test is, so that
 * it covers 0x9000, where hv86 keeps the boot information unless an image is there.
 * The block EBX points to must lie outside the image (.bss is cleared before the
 * runtime copies it, which would otherwise have erased it), hold the command line,
 * the loader's name and a memory map whose available RAM does not cover the image's
 * neighbour the ACPI tables; and the ACPI tables must be found as usual. */
#include "guests/rt/acpi.h"
#include "guests/rt/rt.h"

RT_GUEST("lowload");

extern uint32_t rt_mb_info_addr;       /* EBX at entry (entry.S) */

void guest_main(void)
{
	uint32_t lo = (uint32_t)__image_start, hi = (uint32_t)__image_end;
	uint32_t mbi = rt_mb_info_addr;
	rt_printf("image at %x\n", lo);
	rt_check(lo == 0x8000 && hi > 0x9000, "linked at 0x8000, over 0x9000");
	rt_check(mbi >= 0x1000 && (mbi + sizeof(struct mb_info) <= lo || mbi >= hi),
		 "boot information at %x, outside the image", mbi);
	rt_check(rt_mb_flags & MB_INFO_CMDLINE, "a command line");
	rt_printf("args: %s\n", rt_args());
	rt_check(rt_mb_flags & MB_INFO_MMAP && rt_mmap_count >= 4, "a memory map (%u entries)",
		 rt_mmap_count);
	bool high = false, reserved_top = false;
	for (unsigned i = 0; i < rt_mmap_count; i++) {
		const struct rt_mmap *m = &rt_mmap[i];
		if (m->type == MB_MMAP_AVAILABLE && m->addr == 0x100000)
			high = true;
		if (m->type != MB_MMAP_AVAILABLE && m->addr > 0x100000 && m->addr < 0x100000000ull)
			reserved_top = true;
		if (m->type == MB_MMAP_AVAILABLE)
			rt_check(m->addr + m->len <= lo || m->addr >= hi || m->addr == 0,
				 "available RAM %x+%x", (uint32_t)m->addr, (uint32_t)m->len);
	}
	rt_check(high, "available RAM from 1 MiB");
	const uint8_t *rsdp = rt_acpi_rsdp();
	rt_check(rsdp != 0, "an RSDP in 0xE0000-0xFFFFF");
	rt_check(rt_acpi_table("APIC") != 0 && rt_acpi_table("FACP") != 0,
		 "the MADT and FADT through it");
	rt_printf("ACPI tables in reserved RAM above 1 MiB: %s\n", reserved_top ? "yes" : "no");
}
