/* bench_apictimer: how well the local APIC timer keeps time under hv86. A
 * periodic timer at hz= ticks per second (default 1000) runs for n= ticks
 * (default hz / 5), while the guest either halts between ticks (mode=idle, the
 * default) or computes with interrupts on (mode=busy, so hv86 must interrupt
 * the running guest for each tick). The guest's TSC rate comes first from a
 * 50 ms one-shot. It prints the ticks it took and the rate they came at; the
 * benchmark divides hv86's exit counts by them. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("bench_apictimer");

#define VEC_TIMER    0x40
#define VEC_SPURIOUS 0xFF
#define BUS_HZ       1000000000u    /* hv86's and QEMU's APIC bus: 1 count = 1 ns */
#define CAL_MS       50

static volatile unsigned ticks;
static volatile uint64_t first_tsc, last_tsc;
static volatile uint32_t sink;

static void on_timer(uint32_t v)
{
	(void)v;
	uint64_t t = rt_rdtsc();
	if (!ticks++)
		first_tsc = t;
	last_tsc = t;
	rt_apic_eoi();
}

static void wait_ticks(unsigned n, bool busy)
{
	if (busy) {
		rt_sti();
		for (uint32_t x = 1; ticks < n; x = x * 1103515245u + 12345u)
			sink = x;
		rt_cli();
		return;
	}
	rt_cli();
	while (ticks < n) {
		rt_hlt();
		rt_cli();
	}
}

void guest_main(void)
{
	uint32_t hz = rt_arg_uint("hz=", 1000), n = rt_arg_uint("n=", hz / 5);
	const char *m = rt_arg("mode=");
	bool busy = m && strncmp(m, "busy", 4) == 0;
	if (n < 2)
		n = 2;
	pc_pic_unmask(0);                   /* only the local APIC interrupts */
	rt_set_irq_handler(VEC_TIMER, on_timer);
	rt_apic_enable(false, VEC_SPURIOUS);
	rt_apic_write(RT_APIC_TIMER_DCR, RT_APIC_DCR_DIV1);

	/* The TSC rate: one one-shot of CAL_MS. */
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_ONESHOT | VEC_TIMER);
	uint64_t t0 = rt_rdtsc();
	rt_apic_write(RT_APIC_TIMER_ICR, BUS_HZ / 1000 * CAL_MS);
	wait_ticks(1, false);
	uint64_t tsc_per_ms = (first_tsc - t0) / CAL_MS;

	ticks = 0;
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_PERIODIC | VEC_TIMER);
	rt_apic_write(RT_APIC_TIMER_ICR, BUS_HZ / hz);
	wait_ticks(n, busy);
	rt_apic_write(RT_APIC_TIMER_ICR, 0);
	uint64_t span = last_tsc - first_tsc;
	uint32_t achieved = span && tsc_per_ms ? (uint32_t)((uint64_t)(n - 1) * tsc_per_ms * 1000 / span) : 0;
	uint32_t ms = tsc_per_ms ? (uint32_t)(span / tsc_per_ms) : 0;
	rt_printf("bench_apictimer: mode=%s hz=%u ticks=%u ms=%u achieved_hz=%u tsc_per_ms=%u\n",
		  busy ? "busy" : "idle", (unsigned)hz, (unsigned)n, (unsigned)ms,
		  (unsigned)achieved, (unsigned)tsc_per_ms);
}
