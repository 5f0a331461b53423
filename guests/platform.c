/* platform: the PC devices of docs/platform.md that hv86 and QEMU's pc machine
 * share: fw_cfg (QEMU docs/specs/fw_cfg.rst), the 8259A pair and its ELCR, and the
 * local APIC (Intel SDM Vol. 3A ch. 11). Every check has the same answer on both,
 * so the output is the same, except:
 * - the x2APIC lines: QEMU 7.2's TCG offers no x2APIC, so there the guest prints
 *   one "x2apic: ... skipped" line instead of its x2APIC checks;
 * - values firmware sets differ (SeaBIOS software-enables the APIC, programs
 *   LINT0/LINT1 and the PIC, and QEMU's fw_cfg also offers DMA): none is printed.
 * The argument xapic=0 skips the xAPIC page (for an hv86 without MMIO emulation). */
#include "guests/rt/rt.h"

RT_GUEST("platform");

#define FW_CFG_SEL  0x510
#define FW_CFG_DATA 0x511
#define PIC1 0x20
#define PIC2 0xA0
#define ELCR1 0x4D0
#define ELCR2 0x4D1
#define MSR_APIC_BASE 0x1B
#define APIC_BASE_BSP  (1u << 8)
#define APIC_BASE_EXTD (1u << 10)
#define APIC_BASE_EN   (1u << 11)
#define APIC_PAGE 0xFEE00000u
#define APIC_VERSION 0x00050014u        /* version 0x14, 6 LVT entries */
#define CPUID1_ECX_X2APIC (1u << 21)
#define MMAP_HOLE (0x100000u - 0xA0000u) /* the conventional hole, 640 KiB-1 MiB */

/* --- fw_cfg ---------------------------------------------------------------- */

static uint64_t fw_cfg_le(uint16_t key, unsigned n)
{
	uint64_t v = 0;
	outw(FW_CFG_SEL, key);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)inb(FW_CFG_DATA) << (8 * i);
	return v;
}

/* The end of the highest available range in the multiboot memory map. */
static uint64_t mmap_top(void)
{
	uint64_t top = 0;
	for (unsigned i = 0; i < rt_mmap_count; i++)
		if (rt_mmap[i].type == MB_MMAP_AVAILABLE && rt_mmap[i].addr + rt_mmap[i].len > top)
			top = rt_mmap[i].addr + rt_mmap[i].len;
	return top;
}

static void fw_cfg(void)
{
	char sig[5];
	outw(FW_CFG_SEL, 0x0000);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb(FW_CFG_DATA);
	sig[4] = 0;
	if (!rt_check(memcmp(sig, "QEMU", 4) == 0, "fw_cfg signature \"%s\"", sig))
		return;
	rt_check(fw_cfg_le(0x0001, 4) & 1, "fw_cfg ID: traditional interface");
	uint32_t n = (uint32_t)fw_cfg_le(0x0005, 2), max = (uint32_t)fw_cfg_le(0x000f, 2);
	rt_check(n == 1, "fw_cfg NB_CPUS = %u", n);
	rt_check(max == 1, "fw_cfg MAX_CPUS = %u", max);
	uint64_t ram = fw_cfg_le(0x0003, 8), top = mmap_top();
	rt_check(ram >= top && ram - top <= MMAP_HOLE,
		 "fw_cfg RAM_SIZE matches the memory map's top (within the 384 KiB hole)");
	/* Unknown keys, and bytes past an item's end, read as zeros. */
	uint64_t unk = fw_cfg_le(0x3fff, 8);
	rt_check(unk == 0, "fw_cfg unknown key 0x3fff reads %llx", unk);
	rt_check((fw_cfg_le(0x0005, 8) >> 16) == 0, "fw_cfg NB_CPUS bytes 2-7 read 0");
}

/* --- the 8259A pair and ELCR ------------------------------------------------- */

/* The sequence of a PC BIOS: edge, cascade, ICW4 (8086 mode). */
static void pic_init(uint16_t port, uint8_t base, uint8_t icw3)
{
	outb(port, 0x11);
	outb(port + 1, base);
	outb(port + 1, icw3);
	outb(port + 1, 0x01);
}

static void pic(void)
{
	pic_init(PIC1, 0x20, 0x04);
	pic_init(PIC2, 0x28, 0x02);
	uint8_t m = inb(PIC1 + 1), s = inb(PIC2 + 1);
	rt_check(m == 0 && s == 0, "PIC masks after ICW1-ICW4: %02x %02x", m, s);
	outb(PIC1 + 1, 0xFB);          /* all masked but the cascade */
	outb(PIC2 + 1, 0xFF);
	m = inb(PIC1 + 1);
	s = inb(PIC2 + 1);
	rt_check(m == 0xFB && s == 0xFF, "PIC OCW1 masks read back: %02x %02x", m, s);
	outb(PIC1, 0x0B);              /* OCW3: read ISR */
	outb(PIC2, 0x0B);
	m = inb(PIC1);
	s = inb(PIC2);
	rt_check(m == 0 && s == 0, "PIC ISR (OCW3 read select): %02x %02x", m, s);
	outb(PIC1, 0x0A);              /* back to IRR; its value depends on the timer */
	outb(PIC2, 0x0A);
	uint8_t e1 = inb(ELCR1), e2 = inb(ELCR2);
	outb(ELCR1, 0xFF);
	outb(ELCR2, 0xFF);
	m = inb(ELCR1);
	s = inb(ELCR2);
	rt_check(m == 0xF8 && s == 0xDE, "ELCR: IRQ 0-2, 8 and 13 stay edge: %02x %02x", m, s);
	outb(ELCR1, e1);
	outb(ELCR2, e2);
}

/* --- the local APIC ---------------------------------------------------------- */

static volatile uint32_t *apic(uint32_t off)
{
	return (volatile uint32_t *)(APIC_PAGE + off);
}

static void do_rdmsr(void *msr) { (void)rdmsr((uint32_t)msr); }
static void do_wrmsr_base(void *v) { wrmsr(MSR_APIC_BASE, *(uint64_t *)v); }

static bool faults_gp(const char *what, void (*fn)(void *), void *arg)
{
	struct rt_fault f;
	if (!rt_try(fn, arg, &f))
		return rt_check(false, "%s: no fault, want #GP(0)", what);
	return rt_check(f.vector == 13 && f.error == 0, "%s: %s(%x)", what,
			rt_vector_name(f.vector), f.error);
}

/* The APIC at power-up on the BSP: at 0xFEE00000, enabled, xAPIC mode. */
static void apic_base(void)
{
	uint64_t b = rdmsr(MSR_APIC_BASE);
	rt_check(b == (APIC_PAGE | APIC_BASE_EN | APIC_BASE_BSP), "IA32_APIC_BASE = %llx", b);
}

/* x2APIC (SDM 11.12): entered from xAPIC through EXTD, left only to disabled. */
static void x2apic(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
		rt_printf("x2apic: not offered (CPUID.1:ECX[21] clear), skipped\n");
		return;
	}
	rt_check(true, "x2apic: CPUID.1:ECX[21] set");
	faults_gp("x2apic: rdmsr 0x802 in xAPIC mode", do_rdmsr, (void *)0x802);
	uint64_t b = rdmsr(MSR_APIC_BASE);
	wrmsr(MSR_APIC_BASE, b | APIC_BASE_EXTD);
	b = rdmsr(MSR_APIC_BASE);
	rt_check(b == (APIC_PAGE | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP),
		 "x2apic: IA32_APIC_BASE with EXTD = %llx", b);
	uint64_t id = rdmsr(0x802), ver = rdmsr(0x803), ldr = rdmsr(0x80D);
	rt_check(id == 0, "x2apic: ID (MSR 0x802) = %llx", id);
	rt_check(ver == APIC_VERSION, "x2apic: version (MSR 0x803) = %llx", ver);
	rt_check(ldr == 1, "x2apic: logical ID (MSR 0x80D) = %llx", ldr);
	wrmsr(0x808, 0x50);
	uint64_t tpr = rdmsr(0x808);
	rt_check(tpr == 0x50, "x2apic: TPR (MSR 0x808) write/read = %llx", tpr);
	wrmsr(0x808, 0);
	faults_gp("x2apic: rdmsr 0x809 (no APR in x2APIC mode)", do_rdmsr, (void *)0x809);
	faults_gp("x2apic: rdmsr 0x831 (no ICR high MSR)", do_rdmsr, (void *)0x831);
	uint64_t xapic = APIC_PAGE | APIC_BASE_EN | APIC_BASE_BSP;
	faults_gp("x2apic: back to xAPIC directly", do_wrmsr_base, &xapic);
	uint64_t extd_only = APIC_PAGE | APIC_BASE_EXTD | APIC_BASE_BSP;
	faults_gp("x2apic: EXTD without EN", do_wrmsr_base, &extd_only);
	/* The way back: disable, then enable in xAPIC mode (a reset state). */
	wrmsr(MSR_APIC_BASE, APIC_PAGE | APIC_BASE_BSP);
	b = rdmsr(MSR_APIC_BASE);
	rt_check(b == (APIC_PAGE | APIC_BASE_BSP), "x2apic: disabled: IA32_APIC_BASE = %llx", b);
	faults_gp("x2apic: rdmsr 0x803 while disabled", do_rdmsr, (void *)0x803);
	wrmsr(MSR_APIC_BASE, xapic);
	b = rdmsr(MSR_APIC_BASE);
	rt_check(b == xapic, "x2apic: xAPIC again: IA32_APIC_BASE = %llx", b);
}

/* The xAPIC page, with 32-bit accesses at 16-byte aligned offsets (SDM 11.4.1). */
static void xapic(void)
{
	if (rt_arg_uint("xapic=", 1) == 0) {
		rt_printf("xapic: skipped (xapic=0)\n");
		return;
	}
	uint32_t id = *apic(0x20), ver = *apic(0x30), svr = *apic(0xF0);
	rt_check(id == 0, "xapic: ID = %08x", id);
	rt_check(ver == APIC_VERSION, "xapic: version = %08x", ver);
	/* Bit 8 (software enable) is the firmware's choice; the vector resets to 0xFF. */
	rt_check((svr & 0xFF) == 0xFF, "xapic: SPIV vector = %02x", svr & 0xFF);
	uint32_t dfr = *apic(0xE0);
	rt_check(dfr == 0xFFFFFFFF, "xapic: DFR = %08x (flat model)", dfr);
	/* LVT entries the firmware leaves alone: masked since reset. */
	static const uint16_t lvt[] = { 0x320, 0x330, 0x340, 0x370 };
	static const char *const names[] = { "timer", "thermal", "perf", "error" };
	for (unsigned i = 0; i < 4; i++) {
		uint32_t v = *apic(lvt[i]);
		rt_check(v == 0x10000, "xapic: LVT %s = %08x (masked)", names[i], v);
	}
	*apic(0x80) = 0x5A;
	uint32_t tpr = *apic(0x80), ppr = *apic(0xA0);
	rt_check(tpr == 0x5A && ppr == 0x5A, "xapic: TPR write/read %02x, PPR %02x", tpr, ppr);
	*apic(0x80) = 0;
	*apic(0xD0) = 0x01000000;
	uint32_t ldr = *apic(0xD0);
	rt_check(ldr == 0x01000000, "xapic: LDR write/read = %08x", ldr);
	*apic(0xD0) = 0;
	/* Software-enabled, an LVT entry takes what is written to its defined bits. */
	*apic(0xF0) = 0x1FF;
	*apic(0x320) = 0x20030;        /* periodic, vector 0x30, unmasked */
	uint32_t t = *apic(0x320);
	*apic(0x320) = 0x10000;
	rt_check(t == 0x20030, "xapic: LVT timer write/read = %08x", t);
	*apic(0xF0) = svr;
}

void guest_main(void)
{
	fw_cfg();
	pic();
	apic_base();
	x2apic();
	xapic();
}
