/* acpi: what an OS's ACPI code checks first. Finds the RSDP by scanning the BIOS
 * area (ACPI 6.5, 5.2.5.1), checks every checksum, walks the XSDT and the RSDT,
 * checks the MADT (one enabled local APIC with this CPU's APIC ID, the IOAPIC, the
 * IRQ 0 -> GSI 2 override), the FADT (no SMI port, SCI_EN set, the PM timer
 * advancing), finds MCFG and \_S5 in the DSDT, and powers off through PM1a_CNT
 * with \_S5's SLP_TYP. The last line is "PASS acpi", then the VM ends with status
 * 0 (hv86: "vm acpi poweroff"). With a failed check it ends FAIL (status 3)
 * instead. With the argument reset=1 it writes the FADT's reset value to its
 * reset register instead of powering off (hv86 stops the VM: it has no reset).
 * The output is the same on every run. This is hv86's platform (docs/acpi.md):
 * run directly under QEMU, the tables differ. */
#include "guests/rt/acpi.h"
#include "guests/rt/rt.h"

RT_GUEST("acpi");

#define MMAP_RESERVED 2
#define PM_TIMER_HZ 3579545u            /* ACPI 6.5, "Power Management Timer" */
#define PM_TIMER_TRIES 1000
#define PM1_SCI_EN (1u << 0)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN (1u << 13)
#define FADT_TMR_VAL_EXT (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)
#define GAS_SYSTEM_IO 1
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define AML_NAME_OP 0x08
#define AML_PACKAGE_OP 0x12
#define AML_BYTE_PREFIX 0x0A
#define AML_ONE_OP 0x01

static bool table_ok(const uint8_t *t, const char *sig)
{
	uint32_t len = rt_rd32(t + 4);
	return !memcmp(t, sig, 4) && len >= RT_ACPI_HEADER_LEN && rt_acpi_sum(t, len) == 0;
}

/* True if [a, a+len) lies in a reserved range of the multiboot memory map. */
static bool reserved(uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < rt_mmap_count; i++)
		if (rt_mmap[i].type == MMAP_RESERVED && a >= rt_mmap[i].addr &&
		    a + len <= rt_mmap[i].addr + rt_mmap[i].len)
			return true;
	return false;
}

static void root_tables(const uint8_t *rsdp)
{
	const uint8_t *x = (const uint8_t *)(uint32_t)rt_rd64(rsdp + 24);
	const uint8_t *r = (const uint8_t *)rt_rd32(rsdp + 16);
	rt_check(table_ok(x, "XSDT") && table_ok(r, "RSDT"), "XSDT and RSDT: signatures, checksums");
	unsigned n = (rt_rd32(x + 4) - RT_ACPI_HEADER_LEN) / 8;
	bool same = (rt_rd32(r + 4) - RT_ACPI_HEADER_LEN) / 4 == n;
	char names[64] = "";
	unsigned at = 0;
	for (unsigned i = 0; i < n && same; i++) {
		uint64_t a = rt_rd64(x + RT_ACPI_HEADER_LEN + 8 * i);
		same = a == rt_rd32(r + RT_ACPI_HEADER_LEN + 4 * i);
		const uint8_t *t = (const uint8_t *)(uint32_t)a;
		rt_check(table_ok(t, (const char *)t), "table %.4s: %u bytes, revision %u, checksum ok",
			 (const char *)t, rt_rd32(t + 4), t[8]);
		if (at + 6 < sizeof names) {
			if (at)
				names[at++] = ' ';
			memcpy(names + at, t, 4);
			names[at += 4] = 0;
		}
	}
	rt_check(same, "XSDT and RSDT list the same %u tables: %s", n, names);
}

static void madt(void)
{
	const uint8_t *m = rt_acpi_table("APIC");
	if (!rt_check(m != NULL, "MADT found"))
		return;
	rt_check(rt_rd32(m + 36) == 0xFEE00000u && (rt_rd32(m + 40) & 1),
		 "MADT: local APIC address %08x, PCAT_COMPAT", rt_rd32(m + 36));
	unsigned lapics = 0, enabled = 0, my_id = cpuid(1, 0).ebx >> 24;
	bool me = false, ioapic = false, pit = false;
	for (uint32_t off = 44, len = rt_rd32(m + 4); off + 2 <= len && m[off + 1]; off += m[off + 1]) {
		const uint8_t *e = m + off;
		if (e[0] == MADT_LAPIC) {
			lapics++;
			enabled += rt_rd32(e + 4) & 1;
			me |= e[3] == my_id && (rt_rd32(e + 4) & 1);
		} else if (e[0] == MADT_IOAPIC) {
			ioapic = rt_rd32(e + 4) == 0xFEC00000u && rt_rd32(e + 8) == 0;
		} else if (e[0] == MADT_ISO && e[2] == 0 && e[3] == 0) {
			pit = rt_rd32(e + 4) == 2;
		}
	}
	rt_check(lapics == 1 && enabled == 1 && me,
		 "MADT: %u local APIC, enabled, APIC ID %u (this CPU's)", lapics, my_id);
	rt_check(ioapic, "MADT: IOAPIC at fec00000, GSI base 0");
	rt_check(pit, "MADT: interrupt source override ISA IRQ 0 -> GSI 2");
}

/* The PM timer: two reads, and within PM_TIMER_TRIES more it has moved forward by
 * less than a second. */
static void pm_timer(const uint8_t *f)
{
	uint16_t port = (uint16_t)rt_rd64(f + 212);   /* X_PM_TMR_BLK.Address */
	bool ext = rt_rd32(f + 112) & FADT_TMR_VAL_EXT;
	uint32_t mask = ext ? 0xFFFFFFFFu : 0xFFFFFFu;
	uint32_t t0 = inl(port) & mask, t1 = t0;
	for (unsigned i = 0; i < PM_TIMER_TRIES && t1 == t0; i++)
		t1 = inl(port) & mask;
	uint32_t d = (t1 - t0) & mask;
	rt_check(port == rt_rd32(f + 76) && d > 0 && d < PM_TIMER_HZ,
		 "PM timer at port %#x advances (%s-bit)", port, ext ? "32" : "24");
}

/* SLP_TYP for S5: Name(\_S5, Package() { SLP_TYPa, ... }) in the DSDT. */
static int s5_slp_typ(const uint8_t *dsdt)
{
	uint32_t len = rt_rd32(dsdt + 4);
	for (uint32_t i = RT_ACPI_HEADER_LEN; i + 8 < len; i++) {
		const uint8_t *p = dsdt + i;
		if (memcmp(p, "_S5_", 4) || p[4] != AML_PACKAGE_OP)
			continue;
		if (p[-1] != AML_NAME_OP && !(p[-1] == '\\' && p[-2] == AML_NAME_OP))
			continue;
		const uint8_t *e = p + 5 + (p[5] >> 6) + 1 + 1;  /* PkgLength, NumElements */
		if (*e == AML_BYTE_PREFIX)
			return e[1];
		return *e <= AML_ONE_OP ? *e : -1;           /* ZeroOp, OneOp */
	}
	return -1;
}

void guest_main(void)
{
	const uint8_t *rsdp = rt_acpi_rsdp();
	if (!rsdp)
		rt_fail("no RSDP in 0xE0000-0xFFFFF");
	rt_check(rsdp[15] == 2 && rt_rd32(rsdp + 20) == RT_ACPI_RSDP_LEN &&
		 rt_acpi_sum(rsdp, RT_ACPI_RSDP_LEN) == 0,
		 "RSDP at %05x: revision %u, both checksums", (uint32_t)rsdp, rsdp[15]);
	rt_check(reserved((uint32_t)rsdp, RT_ACPI_RSDP_LEN), "the RSDP lies in a reserved range");
	root_tables(rsdp);

	const uint8_t *f = rt_acpi_table("FACP");
	if (!f)
		rt_fail("no FADT");
	const uint8_t *dsdt = (const uint8_t *)rt_rd32(f + 40);
	const uint8_t *facs = (const uint8_t *)rt_rd32(f + 36);
	rt_check(rt_rd64(f + 140) == (uint32_t)dsdt && table_ok(dsdt, "DSDT"),
		 "DSDT: X_DSDT = DSDT, %u bytes, checksum ok", rt_rd32(dsdt + 4));
	rt_check(!memcmp(facs, "FACS", 4) && rt_rd32(facs + 4) == 64 && (uint32_t)facs % 64 == 0,
		 "FACS: 64 bytes, 64-byte aligned");
	rt_check(reserved((uint32_t)dsdt, rt_rd32(dsdt + 4)), "the DSDT lies in a reserved range");
	uint16_t pm1a_cnt = (uint16_t)rt_rd32(f + 64);
	rt_check(rt_rd32(f + 48) == 0 && (inw(pm1a_cnt) & PM1_SCI_EN),
		 "FADT: no SMI command port, SCI_EN set in PM1a_CNT (port %#x)", pm1a_cnt);
	rt_check(rt_rd16(f + 46) == 9, "FADT: SCI interrupt %u", rt_rd16(f + 46));
	madt();
	pm_timer(f);

	const uint8_t *mcfg = rt_acpi_table("MCFG");
	if (rt_check(mcfg != NULL, "MCFG found"))
		rt_check(rt_rd32(mcfg + 4) >= 60, "MCFG: ECAM at %08x, segment %u, buses %u-%u",
			 (uint32_t)rt_rd64(mcfg + 44), rt_rd16(mcfg + 52), mcfg[54], mcfg[55]);

	if (rt_arg_uint("reset=", 0)) {
		const uint8_t *reg = f + 116;                /* RESET_REG, a GAS */
		rt_check(rt_rd32(f + 112) & FADT_RESET_REG_SUP && reg[0] == GAS_SYSTEM_IO,
			 "FADT: reset register: port %#x, value %#x", (uint32_t)rt_rd64(reg + 4), f[128]);
		if (rt_failures)
			return;
		rt_printf("resetting\n");
		rt_flush();
		outb((uint16_t)rt_rd64(reg + 4), f[128]);
		rt_fail("still running after the reset");
	}
	int typ = s5_slp_typ(dsdt);
	if (!rt_check(typ >= 0, "\\_S5 in the DSDT: SLP_TYP = %d", typ) || rt_failures)
		return;                                      /* FAIL, not a power-off */
	rt_printf("PASS %s\n", rt_guest_name);
	rt_flush();
	outw(pm1a_cnt, (uint16_t)(typ << PM1_SLP_TYP_SHIFT | PM1_SLP_EN));
	rt_printf("FAIL %s: still running after writing S5 to PM1a_CNT\n", rt_guest_name);
	rt_exit(RT_EXIT_FAIL);
}
