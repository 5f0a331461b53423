/* selfipi: interrupts the local APIC sends to itself (Intel SDM Vol. 3A 11.6,
 * 11.8): fixed self IPIs at several vectors taken in priority order, ISR and PPR
 * inside a handler, nesting by priority class, the TPR holding a class back,
 * EOI, the destination shorthands and a physical destination, an illegal vector
 * in the ESR, the error interrupt, an NMI to itself, and in x2APIC mode (argument
 * x2apic=1) the SELF IPI register. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("selfipi");

#define VEC_SPURIOUS 0xFF
#define VEC_ERROR    0xEE
#define MAX_LOG      32
#define SHORTHAND_ALL    (2u << 18)     /* all including self */

static volatile uint8_t order[MAX_LOG];
static volatile unsigned norder;
static volatile uint32_t isr_seen[256], ppr_seen[256];
static volatile unsigned nmis;

static void log_vector(uint32_t v)
{
	if (norder < MAX_LOG)
		order[norder++] = (uint8_t)v;
}

static bool reg_has(uint32_t base, unsigned v)
{
	return rt_apic_read(base + 0x10 * (v / 32)) & (1u << (v % 32));
}

static void self_ipi(uint8_t vector)
{
	rt_apic_ipi(0, RT_APIC_ICR_SELF | RT_APIC_ICR_ASSERT | RT_APIC_ICR_FIXED | vector);
}

static void plain(uint32_t v)
{
	isr_seen[v] = reg_has(RT_APIC_ISR, v);
	ppr_seen[v] = rt_apic_read(RT_APIC_PPR);
	log_vector(v);
	rt_apic_eoi();
}

/* 0x62 raises 0xA0 (a higher class: nests at once, on STI) and 0x63 (its own
 * class: waits for the EOI), and logs itself before and after. */
static void nesting(uint32_t v)
{
	log_vector(v);
	self_ipi(0xA0);
	self_ipi(0x63);
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	log_vector(v);
	rt_apic_eoi();
}

static void on_nmi(uint32_t v)
{
	(void)v;
	nmis++;
}

static bool order_is(const uint8_t *want, unsigned n)
{
	if (norder != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (order[i] != want[i])
			return false;
	return true;
}

static void print_order(const char *what, const uint8_t *want, unsigned n)
{
	char buf[3 * MAX_LOG + 1], *p = buf;
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < norder; i++) {
		*p++ = hex[order[i] >> 4];
		*p++ = hex[order[i] & 15];
		*p++ = ' ';
	}
	*p = 0;
	rt_check(order_is(want, n), "%s: %s", what, buf);
	norder = 0;
}

/* Four requests with interrupts off, then taken in priority order. */
static void priority_order(void)
{
	static const uint8_t vecs[] = { 0x41, 0x93, 0x62, 0xB0 };
	static const uint8_t want[] = { 0xB0, 0x93, 0x62, 0x41 };
	for (unsigned i = 0; i < 4; i++)
		rt_set_irq_handler(vecs[i], plain);
	for (unsigned i = 0; i < 4; i++)
		self_ipi(vecs[i]);
	bool all = true;
	for (unsigned i = 0; i < 4; i++)
		all &= reg_has(RT_APIC_IRR, vecs[i]);
	rt_check(all, "4 self IPIs pending in IRR with interrupts off");
	rt_check(rt_apic_read(RT_APIC_PPR) == 0, "PPR 0 with nothing in service");
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	print_order("taken highest first", want, 4);
	rt_check(isr_seen[0xB0] && isr_seen[0x41], "ISR holds the vector in its handler");
	rt_check(ppr_seen[0xB0] == 0xB0 && ppr_seen[0x93] == 0x90 && ppr_seen[0x41] == 0x40,
		 "PPR is the class of the vector in service: %02x %02x %02x",
		 ppr_seen[0xB0], ppr_seen[0x93], ppr_seen[0x41]);
	rt_check(!reg_has(RT_APIC_ISR, 0xB0) && rt_apic_read(RT_APIC_PPR) == 0,
		 "EOI clears ISR: PPR 0 again");
}

static void nested(void)
{
	static const uint8_t want[] = { 0x62, 0xA0, 0x62, 0x63 };
	rt_set_irq_handler(0x62, nesting);
	rt_set_irq_handler(0xA0, plain);
	rt_set_irq_handler(0x63, plain);
	self_ipi(0x62);
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	print_order("a higher class nests, the same class waits for EOI", want, 4);
}

static void tpr(void)
{
	static const uint8_t first[] = { 0x91 }, then[] = { 0x71 };
	rt_set_irq_handler(0x71, plain);
	rt_set_irq_handler(0x91, plain);
	rt_apic_write(RT_APIC_TPR, 0x80);
	self_ipi(0x71);
	self_ipi(0x91);
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	print_order("TPR 0x80 lets 0x91 through", first, 1);
	rt_check(reg_has(RT_APIC_IRR, 0x71) && rt_apic_read(RT_APIC_PPR) == 0x80,
		 "TPR 0x80 holds 0x71 in IRR; PPR = TPR");
	rt_apic_write(RT_APIC_TPR, 0x71);            /* the same class: still held */
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	rt_check(norder == 0, "TPR 0x71 still holds 0x71");
	rt_apic_write(RT_APIC_TPR, 0x6F);
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	print_order("TPR 0x6F lets it through", then, 1);
	rt_apic_write(RT_APIC_TPR, 0);
}

static void destinations(void)
{
	static const uint8_t want[] = { 0x56, 0x55 };
	rt_set_irq_handler(0x55, plain);
	rt_set_irq_handler(0x56, plain);
	uint32_t id = rt_apic_read(RT_APIC_ID);
	if (!rt_x2apic)
		id >>= 24;
	rt_apic_ipi(id, RT_APIC_ICR_ASSERT | 0x55);          /* physical: its own ID */
	rt_apic_ipi(0, SHORTHAND_ALL | RT_APIC_ICR_ASSERT | 0x56);
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	print_order("its own APIC ID and all-including-self", want, 2);
	rt_apic_write(RT_APIC_EOI, 0);               /* nothing in service: no effect */
	rt_check(rt_apic_read(RT_APIC_PPR) == 0, "EOI with nothing in service changes nothing");
}

/* A fixed IPI with a vector below 16 is not sent; the ESR says so (11.5.3), and
 * an unmasked LVT error entry interrupts. */
static void illegal_vector(void)
{
	static const uint8_t want[] = { VEC_ERROR };
	rt_set_irq_handler(VEC_ERROR, plain);
	rt_apic_write(RT_APIC_ESR, 0);
	rt_apic_write(RT_APIC_LVT_ERROR, VEC_ERROR);
	self_ipi(0x05);
	rt_apic_write(RT_APIC_ESR, 0);
	uint32_t esr = rt_apic_read(RT_APIC_ESR);
	rt_check(esr == 0x20, "ESR after a self IPI with vector 5: %02x (send illegal vector)", esr);
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	print_order("the error interrupt", want, 1);
	rt_apic_write(RT_APIC_LVT_ERROR, RT_APIC_LVT_MASKED);
}

static void nmi(void)
{
	rt_set_irq_handler(RT_NMI_VECTOR, on_nmi);
	rt_apic_ipi(0, RT_APIC_ICR_SELF | RT_APIC_ICR_ASSERT | RT_APIC_ICR_NMI);
	__asm__ volatile("nop");
	rt_check(nmis == 1, "NMI to itself, taken with interrupts off");
	rt_apic_ipi(0, RT_APIC_ICR_SELF | RT_APIC_ICR_ASSERT | RT_APIC_ICR_NMI);
	__asm__ volatile("nop");
	rt_check(nmis == 2, "a second NMI after the first one's IRET");
}

static void x2apic_self(void)
{
	static const uint8_t want[] = { 0xC4, 0x44 };
	rt_set_irq_handler(0x44, plain);
	rt_set_irq_handler(0xC4, plain);
	wrmsr(RT_MSR_X2APIC_FIRST + RT_APIC_SELF_IPI / 16, 0x44);
	wrmsr(RT_MSR_X2APIC_FIRST + RT_APIC_SELF_IPI / 16, 0xC4);
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	print_order("x2APIC SELF IPI register", want, 2);
}

void guest_main(void)
{
	/* Firmware may leave the 8259s unmasked with the PIT running (SeaBIOS does,
	 * under QEMU alone): mask them, so only the local APIC interrupts. */
	pc_pic_unmask(0);
	bool x2 = rt_arg_uint("x2apic=", 0);
	if (!rt_apic_enable(x2, VEC_SPURIOUS)) {
		rt_printf("x2apic: not offered (CPUID.1:ECX[21] clear), skipped\n");
		return;
	}
	rt_printf("mode: %s\n", x2 ? "x2APIC" : "xAPIC");
	priority_order();
	nested();
	tpr();
	destinations();
	illegal_vector();
	nmi();
	if (x2)
		x2apic_self();
}
