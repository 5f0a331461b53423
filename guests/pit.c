/* pit: the 8254 PIT as an OS uses it (Intel 82C54 data sheet). Counter 2, gated
 * through port 0x61, calibrates the TSC the way Linux's pit_calibrate_tsc does;
 * counter 0 in mode 2 is the periodic tick on IRQ 0, taken through the 8259 pair
 * (ExtINT on the BSP's LINT0) and then through IOAPIC pin 2 (IRQ 0's pin, by the
 * MADT's interrupt source override). The output is the same on every run: the
 * measured values are printed only when a check fails. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("pit");

#define SPURIOUS_VECTOR   0xFF
#define TICK_VECTOR_APIC  0x41
#define PIT_IRQ           0
#define PIT_GSI           2
#define PIT_MODE0         0
#define PIT_MODE2         2
#define PIT_MODE3         3
#define LVT_EXTINT        (7u << 8)     /* SDM Vol. 3A Figure 11-8 */
#define READ_BACK_STATUS2 0xE8          /* read-back: status only, counter 2 */
#define STATUS_OUT        0x80
#define STATUS_MODE_BITS  0x3F          /* RW, mode, BCD as programmed */
#define CAL_COUNT         11932         /* 10 ms */
#define CAL_RATIO         3             /* the second calibration runs 30 ms */
#define CAL_TRIES         20
#define CAL_ERR_DIV       100           /* good enough: within 1% */
#define MIN_TSC_HZ        10000000ull   /* Bochs' TSC counts instructions */
#define MAX_TSC_HZ        20000000000ull
#define OUT2_POLLS        500000        /* give up waiting for OUT2 */
#define SPIN_POLLS        10            /* port reads to let some time pass */
#define SQUARE_COUNT      4773          /* mode 3: 4 ms period */
#define SQUARE_MS         200           /* sampled until both levels are seen */
#define TICK_HZ           100
#define TICKS             10
#define TICKS_MIN_MS      80            /* nine periods after the first tick, and more */
#define WAIT_MS           2000
#define QUIET_MS          50
#define DRAIN_MS          15

static uint64_t tsc_hz;
static volatile unsigned ticks;

/* One calibration run over count clocks, bracketed as Linux's quick_pit_calibrate
 * does: the count starts during the last OUT, somewhere between s0 and s1, and
 * OUT2 rose after the poll before the last began (e0) and before the last one
 * ended (e1). Returns the TSC cycles from the middle of one to the middle of the
 * other, and in *err how far off that can be. 0 if OUT2 never rose. */
static uint64_t tsc_run(uint16_t count, uint64_t *err)
{
	outb(PC_PORT61, (uint8_t)((inb(PC_PORT61) & ~PC_PORT61_SPEAKER) | PC_PORT61_GATE2));
	outb(PC_PIT_CTRL, PC_PIT_CW(2, PC_PIT_LSB_MSB, PIT_MODE0));
	outb(PC_PIT_COUNTER2, (uint8_t)count);
	uint64_t s0 = rt_rdtsc();
	outb(PC_PIT_COUNTER2, (uint8_t)(count >> 8));
	uint64_t s1 = rt_rdtsc(), e0 = s1, before = s1;
	for (unsigned i = 0; i < OUT2_POLLS; i++) {
		bool high = pc_pit2_out();
		uint64_t e1 = rt_rdtsc();
		if (high) {
			*err = (e1 - e0 + s1 - s0) / 2;
			return (e1 + e0) / 2 - (s0 + s1) / 2;
		}
		e0 = before;
		before = e1;
	}
	return 0;
}

/* The TSC rate over count clocks, from the run with the smallest error (*err,
 * in Hz): a busy host can stop the emulator between the device's view of time
 * and the guest's RDTSC, and such runs are dropped, as Linux's calibration
 * drops them. */
static uint64_t tsc_hz_over(uint16_t count, uint64_t *err)
{
	uint64_t best = 0, best_err = UINT64_MAX;
	for (unsigned i = 0; i < CAL_TRIES; i++) {
		uint64_t err, t = tsc_run(count, &err);
		if (t && err < best_err) {
			best = t;
			best_err = err;
		}
		if (best && best_err * CAL_ERR_DIV <= best)
			break;
	}
	*err = best_err * PC_PIT_HZ / count;
	return best * PC_PIT_HZ / count;
}

static void counter2(void)
{
	/* Sample first, print after: printing takes longer than the count. */
	pc_pit2_start(CAL_COUNT);
	bool out_low = !pc_pit2_out();
	outb(PC_PIT_CTRL, READ_BACK_STATUS2);
	uint8_t status = inb(PC_PIT_COUNTER2);
	uint16_t a = pc_pit_latch(2);
	for (int i = 0; i < SPIN_POLLS; i++)
		pc_pit2_out();
	uint16_t b = pc_pit_latch(2);
	rt_check(out_low, "mode 0: OUT2 (port 0x61 bit 5) low while counter 2 counts");
	rt_check((status & (STATUS_OUT | STATUS_MODE_BITS)) ==
		 (PC_PIT_CW(2, PC_PIT_LSB_MSB, PIT_MODE0) & STATUS_MODE_BITS),
		 "read-back status of counter 2: OUT low, LSB then MSB, mode 0, binary");
	if (!rt_check(a <= CAL_COUNT && b < a, "counter 2 counts down from %u (latched twice)",
		      CAL_COUNT))
		rt_printf("    %u, then %u\n", a, b);

	/* Calibrate over 10 and over 30 ms: the two rates must agree. */
	uint64_t err1, err3, hz1 = tsc_hz_over(CAL_COUNT, &err1);
	tsc_hz = tsc_hz_over(CAL_COUNT * CAL_RATIO, &err3);
	if (!rt_check(hz1 && tsc_hz, "OUT2 rises after the count"))
		return;
	/* Within 10%, plus what the two measurements may be off by. */
	uint64_t diff = hz1 > tsc_hz ? hz1 - tsc_hz : tsc_hz - hz1;
	bool agree = diff <= tsc_hz / 10 + err1 + err3;
	if (!rt_check(tsc_hz >= MIN_TSC_HZ && tsc_hz <= MAX_TSC_HZ && agree,
		      "TSC rate from counter 2 is plausible and the same over 10 and 30 ms"))
		rt_printf("    10 ms: %llu +- %llu Hz, 30 ms: %llu +- %llu Hz\n", hz1, err1,
			  tsc_hz, err3);

	/* Mode 3: a square wave on OUT2. */
	outb(PC_PIT_CTRL, PC_PIT_CW(2, PC_PIT_LSB_MSB, PIT_MODE3));
	outb(PC_PIT_COUNTER2, (uint8_t)SQUARE_COUNT);
	outb(PC_PIT_COUNTER2, SQUARE_COUNT >> 8);
	unsigned seen[2] = { 0, 0 };
	for (uint64_t end = rt_rdtsc() + tsc_hz * SQUARE_MS / 1000;
	     !(seen[0] && seen[1]) && rt_rdtsc() < end;)
		seen[pc_pit2_out()]++;
	rt_check(seen[0] && seen[1], "mode 3: OUT2 is a square wave (high and low)");
}

static void on_pic_tick(uint32_t vector)
{
	(void)vector;
	ticks++;
	pc_pic_eoi(PIT_IRQ);
}

static void on_apic_tick(uint32_t vector)
{
	(void)vector;
	ticks++;
	rt_apic_eoi();
}

/* Wait for TICKS ticks: a failure (with the time printed) if they did not all
 * come, or came faster than TICK_HZ. (No upper bound: a busy host delays
 * timers.) */
static void ten_ticks(const char *path)
{
	ticks = 0;
	uint64_t t0 = rt_rdtsc();
	bool all = pc_wait(&ticks, TICKS, WAIT_MS);
	uint64_t ms = tsc_hz ? (rt_rdtsc() - t0) * 1000 / tsc_hz : 0;
	bool ok = all && ms >= TICKS_MIN_MS;
	if (!rt_check(ok, "%u ticks of counter 0 (mode 2, %u Hz) %s", TICKS, TICK_HZ, path))
		rt_printf("    %u ticks in %llu ms\n", ticks, ms);
}

static void counter0(void)
{
	const uint16_t count = PC_PIT_HZ / TICK_HZ;
	pc_pic_init();
	rt_apic_enable(false, SPURIOUS_VECTOR);
	rt_apic_write(RT_APIC_LVT_LINT0, LVT_EXTINT);
	rt_set_irq_handler(PC_PIC_MASTER_VECTOR + PIT_IRQ, on_pic_tick);
	rt_set_irq_handler(TICK_VECTOR_APIC, on_apic_tick);
	outb(PC_PIT_CTRL, PC_PIT_CW(0, PC_PIT_LSB_MSB, PIT_MODE2));
	outb(PC_PIT_COUNTER0, (uint8_t)count);
	outb(PC_PIT_COUNTER0, (uint8_t)(count >> 8));

	pc_pic_unmask(1u << PIT_IRQ);
	ten_ticks("through the 8259 pair, vector 0x20");
	pc_pic_unmask(0);

	uint32_t apic_id = rt_apic_read(RT_APIC_ID) >> 24;
	pc_ioapic_set(PIT_GSI, TICK_VECTOR_APIC | (uint64_t)apic_id << PC_RTE_DEST_SHIFT);
	ten_ticks("through IOAPIC pin 2, vector 0x41");
	pc_ioapic_set(PIT_GSI, PC_RTE_MASKED | TICK_VECTOR_APIC);
	pc_wait(NULL, 0, DRAIN_MS);
	unsigned before = ticks;
	pc_wait(NULL, 0, QUIET_MS);
	rt_check(ticks == before, "IOAPIC pin 2 masked: no tick for %u ms", QUIET_MS);
	outb(PC_PIT_CTRL, PC_PIT_CW(0, PC_PIT_LSB_MSB, PIT_MODE0));   /* stop */
}

/* fast=1: counter 0 at count 2 (mode 2, 597 kHz) on IRQ 0. No VM takes
 * interrupts that fast (an exit round trip is longer than the period), so hv86
 * pulses IRQ 0 at most every 200 us, as KVM limits a periodic timer (dev/bus.h,
 * TIMER_MIN_PERIOD_NS): the guest runs on, and at most 5000 ticks come a second
 * (10% more allowed: the wait ends at the first poll of counter 2 after 50 ms). */
#define FAST_COUNT   2
#define FAST_MS      50
#define FAST_MAX_HZ  5000
static void fast_ticks(void)
{
	pc_pic_init();
	rt_apic_enable(false, SPURIOUS_VECTOR);
	rt_apic_write(RT_APIC_LVT_LINT0, LVT_EXTINT);
	rt_set_irq_handler(PC_PIC_MASTER_VECTOR + PIT_IRQ, on_pic_tick);
	outb(PC_PIT_CTRL, PC_PIT_CW(0, PC_PIT_LSB_MSB, PIT_MODE2));
	outb(PC_PIT_COUNTER0, FAST_COUNT);
	outb(PC_PIT_COUNTER0, 0);
	ticks = 0;
	pc_pic_unmask(1u << PIT_IRQ);
	pc_wait(NULL, 0, FAST_MS);
	pc_pic_unmask(0);
	unsigned n = ticks;
	outb(PC_PIT_CTRL, PC_PIT_CW(0, PC_PIT_LSB_MSB, PIT_MODE0));   /* stop */
	rt_check(n > 0, "counter 0 at count %u: the guest runs on through %u ms of ticks",
		 FAST_COUNT, FAST_MS);
	if (!rt_check(n <= FAST_MS * FAST_MAX_HZ / 1000 * 11 / 10, "counter 0 at count %u: at most %u ticks a second",
		      FAST_COUNT, FAST_MAX_HZ))
		rt_printf("    %u ticks in %u ms\n", n, FAST_MS);
}

void guest_main(void)
{
	if (rt_arg_uint("fast=", 0)) {
		fast_ticks();
		return;
	}
	counter2();
	counter0();
}
