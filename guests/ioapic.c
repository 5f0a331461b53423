/* ioapic: the I/O APIC as an OS programs it (Intel 82093AA data sheet): the ID,
 * version and redirection-table registers; the RTC's periodic interrupt (ISA
 * IRQ 8, pin 8) routed to a vector, edge-triggered to this CPU's APIC ID and to
 * a logical destination, masked and unmasked; then level-triggered, where Remote
 * IRR holds the pin until the EOI and a pin still asserted after the EOI
 * interrupts again. The 8259 pair stays masked throughout. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("ioapic");

#define RTC_PIN         PC_RTC_IRQ      /* ISA IRQs 1-15 are pins 1-15 */
#define SPARE_PIN       10
#define EDGE_VECTOR     0x50
#define LEVEL_VECTOR    0x51
#define SPURIOUS_VECTOR 0xFF
#define VERSION_11      0x11            /* the 82093AA's */
#define VERSION_20      0x20            /* QEMU's default */
#define MAX_REDIR       23              /* 24 pins */
#define ID_SHIFT        24
#define TEST_ID         0x0A
#define RTE_LOW_WRITABLE 0x1AFFFu       /* vector, mode, dest mode, polarity, trigger, mask */
#define RTE_LOW_DEFINED  0x1FFFFu
#define RTE_DEST        (0xFFull << PC_RTE_DEST_SHIFT)
#define RTE_LOGICAL     (1u << 11)
#define APIC_LDR        0x0D0           /* SDM Vol. 3A 11.6.2.2 */
#define APIC_DFR        0x0E0
#define DFR_FLAT        0xFFFFFFFFu
#define LDR_SHIFT       24
#define MY_LOGICAL      0x01            /* this CPU's bit in the flat model */
#define OTHER_LOGICAL   0x02
#define A_64HZ          0x2A            /* MC146818A rate 10 */
#define A_BIOS          0x26
#define IRQS            5
#define WAIT_MS         1000
#define QUIET_MS        100
#define DRAIN_MS        30

static uint32_t apic_id;
static volatile unsigned edges, levels;
static uint64_t rte_seen[2];            /* pin 8 as the level handler saw it */

static void registers(void)
{
	uint32_t ver = pc_ioapic_read(PC_IOAPIC_VER), id = pc_ioapic_read(PC_IOAPIC_ID);
	uint8_t v = (uint8_t)ver;
	rt_check((ver >> 16 & 0xFF) == MAX_REDIR && (v == VERSION_11 || v == VERSION_20),
		 "version register: 24 redirection entries, version 0x11 (QEMU: 0x20)");
	pc_ioapic_write(PC_IOAPIC_ID, (uint32_t)TEST_ID << ID_SHIFT);
	rt_check(pc_ioapic_read(PC_IOAPIC_ID) == (uint32_t)TEST_ID << ID_SHIFT,
		 "ID register: bits 27:24 written and read back");
	pc_ioapic_write(PC_IOAPIC_ID, id);

	rt_check(pc_ioapic_get(SPARE_PIN) & PC_RTE_MASKED, "redirection entries come up masked");
	pc_ioapic_set(SPARE_PIN, ~0ull);
	uint64_t rte = pc_ioapic_get(SPARE_PIN);
	rt_check((rte & RTE_LOW_DEFINED) == RTE_LOW_WRITABLE && (rte & RTE_DEST) == RTE_DEST,
		 "entry bits: delivery status and Remote IRR read-only, destination 63:56");
	pc_ioapic_set(SPARE_PIN, PC_RTE_MASKED);
}

static void on_edge(uint32_t vector)
{
	(void)vector;
	edges++;
	pc_cmos_read(PC_RTC_C);                 /* clears IRQF: IRQ 8 falls */
	rt_apic_eoi();
}

static void rtc_periodic(bool on)
{
	pc_cmos_write(PC_RTC_A, on ? A_64HZ : A_BIOS);
	pc_cmos_write(PC_RTC_B, PC_RTC_B_24H | (on ? PC_RTC_B_PIE : 0));
	pc_cmos_read(PC_RTC_C);
}

static void edge(void)
{
	/* Route first, then start the RTC: an edge while the pin is masked would be
	 * lost, and IRQ 8 would stay up with nobody reading C. */
	rt_set_irq_handler(EDGE_VECTOR, on_edge);
	pc_ioapic_set(RTC_PIN, EDGE_VECTOR | (uint64_t)apic_id << PC_RTE_DEST_SHIFT);
	rtc_periodic(true);
	rt_check(pc_wait(&edges, IRQS, WAIT_MS),
		 "RTC periodic interrupt through pin 8, edge, to APIC ID %u, vector 0x50", apic_id);
	rt_check(!(pc_ioapic_get(RTC_PIN) & PC_RTE_REMOTE_IRR), "edge entry: Remote IRR stays 0");

	/* Masked: IRQ 8 rises once more and stays up (nobody reads C). */
	pc_ioapic_set(RTC_PIN, PC_RTE_MASKED | EDGE_VECTOR);
	pc_wait(NULL, 0, DRAIN_MS);
	unsigned before = edges;
	pc_wait(NULL, 0, QUIET_MS);
	rt_check(edges == before, "pin 8 masked: no interrupt for %u ms", QUIET_MS);

	/* Logical destination, flat model: this CPU answers to bit 0 only. */
	rt_apic_write(APIC_DFR, DFR_FLAT);
	rt_apic_write(APIC_LDR, (uint32_t)MY_LOGICAL << LDR_SHIFT);
	pc_ioapic_set(RTC_PIN, RTE_LOGICAL | EDGE_VECTOR | (uint64_t)MY_LOGICAL << PC_RTE_DEST_SHIFT);
	pc_cmos_read(PC_RTC_C);                 /* IRQ 8 falls, the next tick is an edge */
	before = edges;
	rt_check(pc_wait(&edges, before + IRQS, WAIT_MS),
		 "unmasked, logical destination 0x01 (flat): interrupts again");
	pc_ioapic_set(RTC_PIN, RTE_LOGICAL | EDGE_VECTOR | (uint64_t)OTHER_LOGICAL << PC_RTE_DEST_SHIFT);
	pc_wait(NULL, 0, DRAIN_MS);
	pc_cmos_read(PC_RTC_C);
	before = edges;
	pc_wait(NULL, 0, QUIET_MS);
	rt_check(edges == before, "logical destination 0x02: no CPU, no interrupt");
	pc_ioapic_set(RTC_PIN, PC_RTE_MASKED | EDGE_VECTOR);
	rtc_periodic(false);
}

/* The first time, leave IRQ 8 asserted: after the EOI the pin interrupts again.
 * The second time, clear it and stop the periodic interrupt. */
static void on_level(uint32_t vector)
{
	(void)vector;
	if (levels < 2)
		rte_seen[levels] = pc_ioapic_get(RTC_PIN);
	if (levels++)
		rtc_periodic(false);
	rt_apic_eoi();
}

static void level(void)
{
	const uint64_t rte = PC_RTE_LEVEL | LEVEL_VECTOR | (uint64_t)apic_id << PC_RTE_DEST_SHIFT;
	rt_set_irq_handler(LEVEL_VECTOR, on_level);
	pc_ioapic_set(RTC_PIN, PC_RTE_MASKED | rte);
	rtc_periodic(true);
	/* Wait, masked, until IRQ 8 is asserted; unmasking then delivers it. */
	pc_wait(NULL, 0, DRAIN_MS);
	pc_ioapic_set(RTC_PIN, rte);
	pc_wait(&levels, 2, WAIT_MS);
	pc_wait(NULL, 0, QUIET_MS);
	rt_check(levels == 2, "level entry: unmasked while asserted, delivered; still asserted "
		 "after the EOI, delivered again; then no more");
	rt_check((rte_seen[0] & PC_RTE_REMOTE_IRR) && (rte_seen[1] & PC_RTE_REMOTE_IRR),
		 "level entry: Remote IRR set while the interrupt is in service");
	rt_check(!(pc_ioapic_get(RTC_PIN) & PC_RTE_REMOTE_IRR),
		 "level entry: Remote IRR clear after the EOI with the line low");
	pc_ioapic_set(RTC_PIN, PC_RTE_MASKED | LEVEL_VECTOR);
}

void guest_main(void)
{
	pc_pic_init();                          /* all masked */
	rt_apic_enable(false, SPURIOUS_VECTOR);
	apic_id = rt_apic_read(RT_APIC_ID) >> 24;
	registers();
	edge();
	level();
}
