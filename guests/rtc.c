/* rtc: the CMOS real-time clock as an OS uses it (Motorola MC146818A data sheet):
 * the time read under the update-in-progress protocol, the registers' formats
 * and ranges, setting the clock with SET and the divider reset (a year and a
 * 12-hour rollover, seen through UIP and through the update-ended flag), the
 * periodic interrupt on IRQ 8 through the 8259 pair, and the memory sizes a BIOS
 * leaves in the CMOS RAM. The output is the same on every run: the values read
 * are printed only when a check fails. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("rtc");

#define SEC 0x00
#define MIN 0x02
#define HOUR 0x04
#define WDAY 0x06
#define MDAY 0x07
#define MONTH 0x08
#define YEAR 0x09
#define CENTURY 0x32                    /* the IBM PC AT's century byte */
#define HOUR_PM 0x80
#define NMI_DISABLE 0x80                /* port 0x70 bit 7 on a PC */
#define A_DIVIDER_MASK 0x7F             /* register A without UIP */
#define A_BIOS 0x26                     /* 32.768 kHz, 1024 Hz */
#define A_64HZ 0x2A                     /* rate 10: 32768 / 2^9 */
#define A_DIVIDER_RESET 0x66            /* DV = 110: the divider held in reset */
#define PERIODIC_HZ 64
#define PERIODIC_TICKS 32               /* in the first 500 ms */
#define PERIODIC_MIN 8                  /* ticks coalesce while a busy host stalls
                                         * the emulator */
#define D_VRT 0x80
#define SPURIOUS_VECTOR 0xFF
#define LVT_EXTINT (7u << 8)            /* SDM Vol. 3A Figure 11-8 */
#define UIP_MISSES 5                    /* UIPs a busy host may make us miss */
#define UPDATE_WAIT_MS (UIP_MISSES * 1000) /* an update comes every second */
#define READ_TRIES 5
#define CMOS_BASE_MEM 0x15              /* KiB below 1 MiB */
#define CMOS_EXT_MEM 0x17               /* KiB above 1 MiB */
#define CMOS_EXT_MEM_POST 0x30
#define CMOS_MEM_16M 0x34               /* 64 KiB units above 16 MiB */
#define BASE_MEM_KIB 640
#define SEABIOS_GAP_KIB 128             /* QEMU's memory map is this much shorter */
#define KIB_PER_MIB 1024
#define KIB_16M (16 * KIB_PER_MIB)
#define KIB_PER_UNIT 64

static const uint8_t clock_regs[] = { SEC, MIN, HOUR, WDAY, MDAY, MONTH, YEAR, CENTURY };
#define NREGS sizeof clock_regs

static bool uip_is(void *set)
{
	return !!(inb(PC_CMOS_DATA) & PC_RTC_A_UIP) == *(bool *)set;
}

/* With the index left on register A, a sample of UIP is one port read (one
 * exit): several fit in its 244 us even when exits are slow. */
static bool wait_uip(bool set)
{
	outb(PC_CMOS_INDEX, PC_RTC_A);
	return pc_poll(uip_is, &set, UPDATE_WAIT_MS);
}

/* The data sheet's way: with UIP clear the update is at least 244 us away. An
 * exit can take longer than that, so the time counts only when two reads agree. */
static bool read_clock(uint8_t t[NREGS])
{
	uint8_t again[NREGS];
	for (int tries = 0; tries < READ_TRIES; tries++) {
		if (!wait_uip(false))
			return false;
		for (unsigned i = 0; i < NREGS; i++)
			t[i] = pc_cmos_read(clock_regs[i]);
		if (!wait_uip(false))
			return false;
		for (unsigned i = 0; i < NREGS; i++)
			again[i] = pc_cmos_read(clock_regs[i]);
		if (!memcmp(t, again, NREGS))
			return true;
	}
	return false;
}

static bool bcd_in(uint8_t v, unsigned lo, unsigned hi)
{
	unsigned d = (v >> 4) * 10 + (v & 0xF);
	return (v & 0xF) < 10 && (v >> 4) < 10 && d >= lo && d <= hi;
}

static void print_clock(const uint8_t t[NREGS])
{
	rt_printf("    sec %02x min %02x hour %02x wday %02x day %02x month %02x year %02x "
		  "century %02x\n", t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
}

static void registers(void)
{
	uint8_t t[NREGS];
	rt_check((pc_cmos_read(PC_RTC_A) & A_DIVIDER_MASK) == A_BIOS,
		 "register A: 32.768 kHz time base, 1024 Hz rate");
	rt_check(pc_cmos_read(PC_RTC_B) == PC_RTC_B_24H, "register B: BCD, 24-hour, no interrupts");
	rt_check(pc_cmos_read(PC_RTC_D) == D_VRT, "register D: valid RAM and time");
	outb(PC_CMOS_INDEX, NMI_DISABLE | PC_RTC_D);
	rt_check(inb(PC_CMOS_DATA) == D_VRT, "port 0x70 bit 7 (NMI) is not part of the index");
	if (!rt_check(read_clock(t), "time read with UIP clear, twice the same"))
		return;
	bool ok = bcd_in(t[0], 0, 59) && bcd_in(t[1], 0, 59) && bcd_in(t[2], 0, 23) &&
		  bcd_in(t[3], 1, 7) && bcd_in(t[4], 1, 31) && bcd_in(t[5], 1, 12) &&
		  bcd_in(t[6], 0, 99) && bcd_in(t[7], 19, 20);
	if (!rt_check(ok, "every clock register is BCD and in range"))
		print_clock(t);
}

static bool updated(void *arg)
{
	(void)arg;
	return pc_cmos_read(PC_RTC_C) & PC_RTC_C_UF;
}

/* Set the clock as the data sheet says ("Divider Control", "Register B"): hold
 * the divider in reset and the updates off (SET), write the time in format b,
 * then restart the divider, whose first update comes 500 ms later. Wait for it
 * by UIP (rising, then falling) or by register C's update-ended flag, and read
 * the time. */
static bool set_and_tick(uint8_t b, const uint8_t set[NREGS], bool by_uip, uint8_t out[NREGS])
{
	pc_cmos_write(PC_RTC_A, A_DIVIDER_RESET);
	pc_cmos_write(PC_RTC_B, PC_RTC_B_SET | b);
	for (unsigned i = 0; i < NREGS; i++)
		pc_cmos_write(clock_regs[i], set[i]);
	pc_cmos_write(PC_RTC_B, b);
	pc_cmos_read(PC_RTC_C);
	pc_cmos_write(PC_RTC_A, A_BIOS);
	bool ok = by_uip ? wait_uip(true) && wait_uip(false) : pc_poll(updated, NULL, UPDATE_WAIT_MS);
	for (unsigned i = 0; i < NREGS; i++)
		out[i] = pc_cmos_read(clock_regs[i]);
	return ok;
}

static void setting(void)
{
	/* Binary, 24-hour: Sunday 2023-12-31 23:59:59 becomes Monday 2024-01-01.
	 * UIP is up for 244 us only: if a busy host stopped the emulator then, a
	 * later one is seen. */
	static const uint8_t eve[NREGS] = { 59, 59, 23, 1, 31, 12, 23, 20 };
	static const uint8_t new_year[NREGS] = { 0, 0, 0, 2, 1, 1, 24, 20 };
	uint8_t t[NREGS];
	bool ok = set_and_tick(PC_RTC_B_BINARY | PC_RTC_B_24H, eve, true, t) &&
		  t[0] < UIP_MISSES && !memcmp(t + 1, new_year + 1, NREGS - 1);
	if (!rt_check(ok, "set 2023-12-31 23:59:59 (binary): after UIP, 2024-01-01 00:00, Monday"))
		print_clock(t);
	/* BCD, 12-hour: 11:59:59 PM is followed by 12:00:00 AM. */
	static const uint8_t late[NREGS] = { 0x59, 0x59, HOUR_PM | 0x11, 0x04, 0x28, 0x02, 0x24, 0x20 };
	static const uint8_t midnight[NREGS] = { 0x00, 0x00, 0x12, 0x05, 0x29, 0x02, 0x24, 0x20 };
	ok = set_and_tick(0, late, false, t) && !memcmp(t, midnight, NREGS);
	if (!rt_check(ok, "set 2024-02-28 11:59:59 PM (BCD, 12-hour): after UF, 2024-02-29 12:00:00 AM"))
		print_clock(t);
	pc_cmos_write(PC_RTC_B, PC_RTC_B_24H);
}

static volatile unsigned periodic, updates;

static void on_irq8(uint32_t vector)
{
	(void)vector;
	uint8_t c = pc_cmos_read(PC_RTC_C);     /* clears the flags and IRQ 8 */
	if (!updates) {
		periodic += !!(c & PC_RTC_C_PF);
		updates += !!(c & PC_RTC_C_UF);
	}
	pc_pic_eoi(PC_RTC_IRQ);
}

/* Out of divider reset, the first update comes after 500 ms, and the periodic
 * ticks, which divide the same chain, come at 64 Hz up to it: 32 of them. Both
 * interrupts are enabled; the count stops at the update. */
static void periodic_interrupt(void)
{
	rt_apic_enable(false, SPURIOUS_VECTOR);
	rt_apic_write(RT_APIC_LVT_LINT0, LVT_EXTINT);
	rt_set_irq_handler(PC_PIC_SLAVE_VECTOR + PC_RTC_IRQ - 8, on_irq8);
	pc_cmos_write(PC_RTC_A, A_DIVIDER_RESET);
	pc_cmos_write(PC_RTC_B, PC_RTC_B_24H | PC_RTC_B_PIE | PC_RTC_B_UIE);
	pc_cmos_read(PC_RTC_C);
	pc_pic_unmask(1u << PC_RTC_IRQ);
	pc_cmos_write(PC_RTC_A, A_64HZ);
	bool ok = pc_wait(&updates, 1, UPDATE_WAIT_MS);
	pc_cmos_write(PC_RTC_B, PC_RTC_B_24H);
	pc_pic_unmask(0);
	pc_cmos_write(PC_RTC_A, A_BIOS);
	/* periodic_min=N: a VM sharing the host CPU round-robin with busy VMs gets
	 * one 10 ms turn in several, and the ticks between its turns coalesce. */
	unsigned min = rt_arg_uint("periodic_min=", PERIODIC_MIN);
	if (!rt_check(ok && periodic >= min && periodic <= PERIODIC_TICKS,
		      "%u Hz periodic interrupts on IRQ 8: %u up to the first update",
		      PERIODIC_HZ, PERIODIC_TICKS))
		rt_printf("    %u interrupts, %u updates\n", periodic, updates);
}

static unsigned cmos_word(unsigned reg)
{
	return pc_cmos_read(reg) | (unsigned)pc_cmos_read(reg + 1) << 8;
}

static void memory_sizes(void)
{
	unsigned ext = cmos_word(CMOS_EXT_MEM), high = cmos_word(CMOS_MEM_16M);
	/* 0x17 is a 16-bit count: it saturates at 0xFFFF KiB, as QEMU's and
	 * SeaBIOS's does; 0x34 counts what lies above 16 MiB. */
	unsigned upper = rt_mem_upper > 0xFFFFu ? 0xFFFFu : rt_mem_upper;
	rt_check(cmos_word(CMOS_BASE_MEM) == BASE_MEM_KIB, "CMOS 0x15: 640 KiB base memory");
	rt_check(ext == upper || (ext > upper && ext - upper <= SEABIOS_GAP_KIB),
		 "CMOS 0x17: memory above 1 MiB as the multiboot mem_upper says");
	rt_check(cmos_word(CMOS_EXT_MEM_POST) == ext, "CMOS 0x30 repeats 0x17");
	rt_check(rt_mem_upper + KIB_PER_MIB <= KIB_16M ||
		 high == (rt_mem_upper + KIB_PER_MIB - KIB_16M) / KIB_PER_UNIT,
		 "CMOS 0x34: memory above 16 MiB in 64 KiB units");
}

void guest_main(void)
{
	pc_pic_init();                  /* all masked, whatever a BIOS left */
	registers();
	memory_sizes();
	setting();
	periodic_interrupt();
}
