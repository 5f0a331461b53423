/* smp: a VM with several CPUs (argument cpus=N, the count the test expects). The
 * BSP finds the CPUs in fw_cfg and the MADT, starts every AP with INIT and ONE
 * SIPI (Intel SDM Vol. 3A 9.4.4, 11.6.1) to a real-mode trampoline that enters
 * protected mode and calls C; each AP reports its APIC ID. Then IPIs between
 * them (11.6): fixed ones both ways, NMI, all-excluding-self, logical flat
 * destination, lowest priority (exactly one AP takes it), and a TLB shootdown:
 * the BSP remaps a page every CPU has used, and the APs, on its IPI, INVLPG and
 * see the new mapping (4.10.5). Only the BSP prints. */
#include "guests/rt/acpi.h"
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("smp");

#define MAX_CPUS       8
#define TRAMP_ADDR     0x7000u          /* 4 KiB aligned, below 1 MiB */
#define TRAMP_VECTOR   (TRAMP_ADDR >> 12)   /* SIPI vector: CS = vector << 8 */
#define FW_CFG_SEL     0x510
#define FW_CFG_DATA    0x511
#define FW_CFG_NB_CPUS 0x0005
#define MADT_ENTRIES   44               /* header, local APIC address, flags */
#define MADT_LAPIC     0                /* Processor Local APIC structure (ACPI 5.2.12.2) */
#define MADT_LAPIC_ENABLED 1u
#define APIC_LDR       0x0D0
#define APIC_DFR       0x0E0
#define DFR_FLAT       0xFFFFFFFFu
#define ICR_LOWEST     (1u << 8)        /* delivery modes, ICR bits 10:8 */
#define ICR_INIT       (5u << 8)
#define ICR_STARTUP    (6u << 8)
#define ICR_LOGICAL    (1u << 11)
#define ICR_LEVEL      (1u << 15)
#define ICR_OTHERS     (3u << 18)       /* shorthand: all excluding self */
#define VEC_SPURIOUS   0xFF
#define VEC_PING       0x40             /* BSP to AP */
#define VEC_PONG       0x41             /* AP back to BSP */
#define VEC_BCAST      0x42
#define VEC_LOGICAL    0x43
#define VEC_LOWEST     0x44
#define VEC_PAGING     0x45
#define VEC_SHOOTDOWN  0x46
#define WAIT_SPINS     (1u << 27)
#define TEST_VA        0x40000000u      /* mapped by pt[0] alone */
#define PDE_SHIFT      22
#define PTE_P          1u
#define PTE_W          2u
#define PDE_PS         (1u << 7)
#define CR4_PSE        (1u << 4)
#define MARK_A         0xA11CEu
#define MARK_B         0xB0Bu

/* --- shared between the CPUs ---------------------------------------------- */
uint8_t smp_ap_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));
static struct rt_dtr idt_desc;
static volatile uint32_t started[MAX_CPUS], reported_id[MAX_CPUS];
static volatile uint32_t pings[MAX_CPUS], pongs, nmis[MAX_CPUS], bcasts[MAX_CPUS];
static volatile uint32_t logicals[MAX_CPUS], lowests[MAX_CPUS];
static volatile uint32_t paged[MAX_CPUS], first_read[MAX_CPUS];
static volatile uint32_t shot[MAX_CPUS], second_read[MAX_CPUS];
static uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt[1024] __attribute__((aligned(4096)));
static uint32_t page_a[1024] __attribute__((aligned(4096)));
static uint32_t page_b[1024] __attribute__((aligned(4096)));

/* The trampoline, copied to TRAMP_ADDR: the SIPI starts it in real mode at
 * CS:IP = (TRAMP_VECTOR << 8):0. It loads a flat GDT with the runtime's
 * selectors, sets CR0.PE and jumps to 32-bit code in the image, which takes a
 * stack by its initial APIC ID (CPUID.1:EBX[31:24]) and calls ap_main(id). */
__asm__(
	"	.text\n"
	"	.code16\n"
	"	.globl smp_tramp_start, smp_tramp_end\n"
	"smp_tramp_start:\n"
	"	cli\n"
	"	movw %cs, %ax\n"
	"	movw %ax, %ds\n"
	"	lgdtl (smp_tramp_gdt_desc - smp_tramp_start)\n"
	"	movl %cr0, %eax\n"
	"	orl $1, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $smp_ap_entry32\n"
	"	.balign 4\n"
	"smp_tramp_gdt_desc:\n"
	"	.word smp_gdt_end - smp_gdt - 1\n"
	"	.long smp_gdt\n"
	"smp_tramp_end:\n"
	"	.code32\n"
	"smp_ap_entry32:\n"
	"	movw $0x10, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %fs\n"
	"	movw %ax, %gs\n"
	"	movw %ax, %ss\n"
	"	movl $1, %eax\n"
	"	cpuid\n"
	"	shrl $24, %ebx\n"
	"	cmpl $8, %ebx\n"              /* MAX_CPUS */
	"	jae 2f\n"
	"	leal 1(%ebx), %eax\n"
	"	shll $12, %eax\n"
	"	leal smp_ap_stacks(%eax), %esp\n"
	"	pushl %ebx\n"
	"	call ap_main\n"
	"2:	cli\n"
	"	hlt\n"
	"	jmp 2b\n"
	"	.section .rodata\n"
	"	.balign 8\n"
	"smp_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00cf9a000000ffff\n"     /* 0x08 code32, as RT_SEL_CODE32 */
	"	.quad 0x00cf92000000ffff\n"     /* 0x10 data32 */
	"smp_gdt_end:\n"
	"	.text\n");
extern const char smp_tramp_start[], smp_tramp_end[];

static bool x2apic;                     /* argument x2apic=1: every CPU in x2APIC mode */

/* The APIC ID: bits 31:24 of the xAPIC register, all 32 bits in x2APIC mode. */
static uint32_t me(void) { return rt_apic_read(RT_APIC_ID) >> (x2apic ? 0 : 24); }

/* Logical destination of the APs: in xAPIC mode the flat model with LDR bit id
 * (set by each CPU); in x2APIC mode the LDR is derived from the ID (SDM Vol. 3A
 * 11.12.10.2): cluster id >> 4 in bits 31:16, bit id & 15 below. */
static void logical_id_init(uint32_t id)
{
	if (x2apic)
		return;
	rt_apic_write(APIC_DFR, DFR_FLAT);
	rt_apic_write(APIC_LDR, (1u << id) << 24);
}

static void ipi(uint32_t dest, uint32_t icr_lo) { rt_apic_ipi(dest, RT_APIC_ICR_ASSERT | icr_lo); }

/* --- the interrupt handlers, on every CPU ------------------------------------ */
static void on_ping(uint32_t v)
{
	(void)v;
	pings[me()]++;
	rt_apic_eoi();
	ipi(0, VEC_PONG);
}

static void on_pong(uint32_t v) { (void)v; pongs++; rt_apic_eoi(); }
static void on_nmi(uint32_t v) { (void)v; nmis[me()]++; }
static void on_bcast(uint32_t v) { (void)v; bcasts[me()]++; rt_apic_eoi(); }
static void on_logical(uint32_t v) { (void)v; logicals[me()]++; rt_apic_eoi(); }
static void on_lowest(uint32_t v) { (void)v; lowests[me()]++; rt_apic_eoi(); }

static void invlpg(uint32_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

static void paging_on(void)
{
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG);
}

static void on_paging(uint32_t v)
{
	(void)v;
	uint32_t id = me();
	paging_on();
	first_read[id] = *(volatile uint32_t *)TEST_VA;
	paged[id] = 1;
	rt_apic_eoi();
}

static void on_shootdown(uint32_t v)
{
	(void)v;
	uint32_t id = me();
	invlpg(TEST_VA);
	second_read[id] = *(volatile uint32_t *)TEST_VA;
	shot[id] = 1;
	rt_apic_eoi();
}

/* An AP in C: the BSP's IDT, its APIC on with a flat logical ID (bit id), then
 * it reports and sleeps; all else happens in its interrupt handlers. */
void ap_main(uint32_t id);
void ap_main(uint32_t id)
{
	lidt(&idt_desc);
	rt_apic_enable(x2apic, VEC_SPURIOUS);
	logical_id_init(id);
	reported_id[id] = me();
	__sync_synchronize();
	started[id]++;
	for (;;)
		rt_hlt();
}

/* --- the BSP ----------------------------------------------------------------- */
static bool wait_until(volatile uint32_t *p, uint32_t want)
{
	for (uint32_t i = 0; i < WAIT_SPINS; i++) {
		if (*p == want)
			return true;
		__asm__ volatile("pause");
	}
	return *p == want;
}

static uint32_t sum(volatile uint32_t *a, unsigned n)
{
	uint32_t s = 0;
	for (unsigned i = 0; i < n; i++)
		s += a[i];
	return s;
}

static bool wait_sum(volatile uint32_t *a, unsigned n, uint32_t want)
{
	for (uint32_t i = 0; i < WAIT_SPINS; i++) {
		if (sum(a, n) == want)
			return true;
		__asm__ volatile("pause");
	}
	return sum(a, n) == want;
}

static uint32_t fw_cfg_cpus(void)
{
	outw(FW_CFG_SEL, FW_CFG_NB_CPUS);
	uint32_t n = inb(FW_CFG_DATA);
	return n | (uint32_t)inb(FW_CFG_DATA) << 8;
}

/* The enabled local APICs of the MADT, in table order: their IDs into ids. */
static unsigned madt_cpus(uint32_t ids[MAX_CPUS])
{
	const uint8_t *madt = rt_acpi_table("APIC");
	unsigned n = 0;
	if (!madt)
		return 0;
	uint32_t len = rt_rd32(madt + 4);
	for (uint32_t off = MADT_ENTRIES; off + 2 <= len && madt[off + 1]; off += madt[off + 1])
		if (madt[off] == MADT_LAPIC && (rt_rd32(madt + off + 4) & MADT_LAPIC_ENABLED) &&
		    n < MAX_CPUS)
			ids[n++] = madt[off + 3];
	return n;
}

static void map_test_page(const uint32_t *page)
{
	pt[0] = (uint32_t)page | PTE_P | PTE_W;
}

static void shootdown(const uint32_t *ids, unsigned n)
{
	for (unsigned i = 0; i < 1024; i++)
		pd[i] = (i << PDE_SHIFT) | PDE_PS | PTE_P | PTE_W;
	pd[TEST_VA >> PDE_SHIFT] = (uint32_t)pt | PTE_P | PTE_W;
	page_a[0] = MARK_A;
	page_b[0] = MARK_B;
	map_test_page(page_a);
	paging_on();
	rt_check(*(volatile uint32_t *)TEST_VA == MARK_A, "BSP: paging on, the test page is A");
	for (unsigned i = 1; i < n; i++) {
		ipi(ids[i], VEC_PAGING);
		rt_check(wait_until(&paged[ids[i]], 1) && first_read[ids[i]] == MARK_A,
			 "AP %u: paging on, the test page is A", (unsigned)ids[i]);
	}
	map_test_page(page_b);          /* the live PTE every CPU has used */
	invlpg(TEST_VA);
	rt_check(*(volatile uint32_t *)TEST_VA == MARK_B, "BSP: after INVLPG the test page is B");
	ipi(0, ICR_OTHERS | VEC_SHOOTDOWN);
	bool all = wait_sum(shot, MAX_CPUS, n - 1);
	for (unsigned i = 1; i < n; i++)
		rt_check(all && second_read[ids[i]] == MARK_B,
			 "AP %u: after the shootdown IPI and INVLPG the test page is B",
			 (unsigned)ids[i]);
}

void guest_main(void)
{
	unsigned want = rt_arg_uint("cpus=", 1);
	x2apic = rt_arg_uint("x2apic=", 0);
	uint32_t ids[MAX_CPUS];
	rt_check(fw_cfg_cpus() == want, "fw_cfg: %u CPUs", (unsigned)fw_cfg_cpus());
	unsigned n = madt_cpus(ids);
	if (!rt_check(n == want && n >= 2, "MADT: %u enabled local APICs", n))
		return;
	sidt(&idt_desc);
	pc_pic_unmask(0);               /* only APIC interrupts (a BIOS leaves the PIT on) */
	if (!rt_check(rt_apic_enable(x2apic, VEC_SPURIOUS), "local APIC on, %s mode",
		      x2apic ? "x2APIC" : "xAPIC"))
		return;
	logical_id_init(0);
	uint32_t bsp = me();
	rt_check(bsp == ids[0], "BSP: APIC ID %u, the MADT's first", (unsigned)bsp);
	rt_set_irq_handler(VEC_PING, on_ping);
	rt_set_irq_handler(VEC_PONG, on_pong);
	rt_set_irq_handler(RT_NMI_VECTOR, on_nmi);
	rt_set_irq_handler(VEC_BCAST, on_bcast);
	rt_set_irq_handler(VEC_LOGICAL, on_logical);
	rt_set_irq_handler(VEC_LOWEST, on_lowest);
	rt_set_irq_handler(VEC_PAGING, on_paging);
	rt_set_irq_handler(VEC_SHOOTDOWN, on_shootdown);
	memcpy((void *)TRAMP_ADDR, smp_tramp_start, (size_t)(smp_tramp_end - smp_tramp_start));
	rt_sti();

	/* INIT (assert, then the level de-assert older APICs want), ONE SIPI. */
	for (unsigned i = 1; i < n; i++) {
		ipi(ids[i], ICR_INIT | ICR_LEVEL);
		rt_apic_ipi(ids[i], ICR_INIT | ICR_LEVEL);
		ipi(ids[i], ICR_STARTUP | TRAMP_VECTOR);
		bool up = wait_until(&started[ids[i]], 1);
		rt_check(up && reported_id[ids[i]] == ids[i],
			 "AP %u started by INIT + one SIPI, reports APIC ID %u",
			 (unsigned)ids[i], (unsigned)reported_id[ids[i]]);
	}
	/* A SIPI to a running AP is ignored (9.4.4.1: only wait-for-SIPI takes it). */
	for (unsigned i = 1; i < n; i++)
		ipi(ids[i], ICR_STARTUP | TRAMP_VECTOR);
	/* Fixed IPIs, physical destination: to each AP, which answers. One at a
	 * time: answers sent together on one vector may merge in the BSP's IRR
	 * (one bit per vector, 11.8.4). */
	bool ok = true;
	for (unsigned i = 1; i < n; i++) {
		ipi(ids[i], VEC_PING);
		ok &= wait_until(&pongs, i);
	}
	for (unsigned i = 1; i < n; i++)
		ok &= pings[ids[i]] == 1;
	rt_check(ok, "fixed IPIs: each AP got 1, the BSP got %u answers", (unsigned)pongs);
	for (unsigned i = 1; i < n; i++)
		ipi(ids[i], RT_APIC_ICR_NMI);
	ok = wait_sum(nmis, MAX_CPUS, n - 1);
	for (unsigned i = 1; i < n; i++)
		ok &= nmis[ids[i]] == 1;
	rt_check(ok && nmis[bsp] == 0, "NMI IPIs: each AP took 1");
	ipi(0, ICR_OTHERS | VEC_BCAST);
	ok = wait_sum(bcasts, MAX_CPUS, n - 1);
	for (unsigned i = 1; i < n; i++)
		ok &= bcasts[ids[i]] == 1;
	rt_check(ok && bcasts[bsp] == 0, "all-excluding-self: every AP once, not the BSP");
	uint32_t aps = 0;
	for (unsigned i = 1; i < n; i++)
		aps |= 1u << ids[i];
	ipi(aps, ICR_LOGICAL | VEC_LOGICAL);
	ok = wait_sum(logicals, MAX_CPUS, n - 1);
	for (unsigned i = 1; i < n; i++)
		ok &= logicals[ids[i]] == 1;
	rt_check(ok && logicals[bsp] == 0, "logical destination %#x: those APs once",
		 (unsigned)aps);
	ipi(aps, ICR_LOGICAL | ICR_LOWEST | VEC_LOWEST);
	wait_sum(lowests, MAX_CPUS, 1);
	for (volatile uint32_t i = 0; i < WAIT_SPINS / 64; i++)   /* a second taker? */
		;
	rt_check(sum(lowests, MAX_CPUS) == 1 && lowests[bsp] == 0,
		 "lowest priority to all APs: exactly one took it");
	shootdown(ids, n);
	bool once = true;
	for (unsigned i = 1; i < n; i++)
		once &= started[ids[i]] == 1;
	rt_check(once, "the second SIPIs to running APs were ignored");
	/* INIT puts a running AP back into wait-for-SIPI; a SIPI restarts it. */
	ipi(ids[1], ICR_INIT | ICR_LEVEL);
	rt_apic_ipi(ids[1], ICR_INIT | ICR_LEVEL);
	ipi(ids[1], ICR_STARTUP | TRAMP_VECTOR);
	rt_check(wait_until(&started[ids[1]], 2), "AP %u restarted by INIT + SIPI",
		 (unsigned)ids[1]);
	rt_cli();
}
