/* apictimer: the local APIC timer (Intel SDM Vol. 3A 11.5.4): one-shot, periodic
 * with a counted number of ticks, TSC-deadline (IA32_TSC_DEADLINE, when CPUID.1:
 * ECX[24] offers it), a masked LVT entry that must not interrupt, and the current
 * count going down. Argument x2apic=1 runs it all through the x2APIC MSRs. The
 * output does not depend on timing: every check waits for its event. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("apictimer");

#define VEC_ONESHOT   0x40
#define VEC_PERIODIC  0x50
#define VEC_DEADLINE  0x60
#define VEC_MASKED    0x70
#define VEC_SPURIOUS  0xFF
#define PERIODIC_TICKS 10
#define ONE_MS        1000000u      /* counts at divide-by-1: the bus runs at 1 GHz */
#define TSC_DELAY     1000000u      /* TSC ticks to a deadline */
#define POLL_LIMIT    100000000u

static volatile unsigned hits[256];
static volatile uint64_t hit_tsc;
static volatile bool late_tick;     /* a periodic tick was pending when it stopped */
static bool irr_has(unsigned v);

static void on_timer(uint32_t v)
{
	hits[v]++;
	hit_tsc = rt_rdtsc();
	/* The periodic test stops the timer from its last tick. The period goes on
	 * from the timer, not from the handler: a handler that starts a period late
	 * (a busy host, or a VM not scheduled) finds the next tick already in IRR,
	 * and it is delivered after the EOI, as on hardware. */
	if (v == VEC_PERIODIC && hits[v] == PERIODIC_TICKS) {
		rt_apic_write(RT_APIC_TIMER_ICR, 0);
		late_tick = irr_has(VEC_PERIODIC);
	}
	rt_apic_eoi();
}

/* Sleep until vector has fired n times (interrupts off on return). */
static void wait_for(unsigned vector, unsigned n)
{
	rt_cli();
	while (hits[vector] < n) {
		rt_hlt();
		rt_cli();
	}
}

static bool irr_has(unsigned v)
{
	return rt_apic_read(RT_APIC_IRR + 0x10 * (v / 32)) & (1u << (v % 32));
}

static void oneshot(void)
{
	rt_apic_write(RT_APIC_TIMER_DCR, RT_APIC_DCR_DIV1);
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_ONESHOT | VEC_ONESHOT);
	rt_apic_write(RT_APIC_TIMER_ICR, ONE_MS);
	wait_for(VEC_ONESHOT, 1);
	rt_check(hits[VEC_ONESHOT] == 1, "one-shot: fired on vector 0x%x", VEC_ONESHOT);
	rt_check(rt_apic_read(RT_APIC_TIMER_CCR) == 0, "one-shot: current count 0 after it fired");
	rt_check(rt_apic_read(RT_APIC_TIMER_ICR) == ONE_MS, "one-shot: initial count kept");
}

static void current_count(void)
{
	uint32_t initial = 0x7FFFFFFFu;              /* about 2 s: it cannot run out here */
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_ONESHOT | VEC_ONESHOT);
	rt_apic_write(RT_APIC_TIMER_ICR, initial);
	uint32_t c1 = rt_apic_read(RT_APIC_TIMER_CCR);
	uint32_t c2 = rt_apic_read(RT_APIC_TIMER_CCR);
	uint32_t c3 = rt_apic_read(RT_APIC_TIMER_CCR);
	rt_check(initial >= c1 && c1 > c2 && c2 > c3 && c3 > 0,
		 "current count decreases: initial > c1 > c2 > c3 > 0");
	rt_apic_write(RT_APIC_TIMER_ICR, 0);
	rt_check(rt_apic_read(RT_APIC_TIMER_CCR) == 0, "initial count 0 stops it: current count 0");
}

static void periodic(void)
{
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_PERIODIC | VEC_PERIODIC);
	rt_apic_write(RT_APIC_TIMER_ICR, ONE_MS);
	wait_for(VEC_PERIODIC, PERIODIC_TICKS);
	if (late_tick)
		wait_for(VEC_PERIODIC, PERIODIC_TICKS + 1);
	rt_check(hits[VEC_PERIODIC] == PERIODIC_TICKS + (unsigned)late_tick, "periodic: %u ticks counted",
		 hits[VEC_PERIODIC] - (unsigned)late_tick);
	rt_check(rt_apic_read(RT_APIC_TIMER_CCR) == 0, "periodic: stopped by its last tick");
}

/* A masked LVT entry: the timer counts down to 0, but no interrupt is raised. */
static void masked(void)
{
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_LVT_MASKED | RT_APIC_TIMER_ONESHOT | VEC_MASKED);
	rt_apic_write(RT_APIC_TIMER_ICR, ONE_MS / 10);
	uint32_t n = 0;
	while (rt_apic_read(RT_APIC_TIMER_CCR) != 0 && n < POLL_LIMIT)
		n++;
	rt_check(n < POLL_LIMIT, "masked: the count ran out");
	rt_check(!irr_has(VEC_MASKED), "masked: no request in IRR");
	rt_sti();
	__asm__ volatile("nop; nop; nop");
	rt_cli();
	rt_check(hits[VEC_MASKED] == 0, "masked: no interrupt");
}

static void tsc_deadline(void)
{
	if (!(cpuid(1, 0).ecx & RT_CPUID1_ECX_TSC_DEADLINE)) {
		rt_printf("tsc-deadline: not offered (CPUID.1:ECX[24] clear), skipped\n");
		return;
	}
	rt_check(true, "tsc-deadline: CPUID.1:ECX[24] set");
	rt_check(rdmsr(RT_MSR_TSC_DEADLINE) == 0, "tsc-deadline: MSR reads 0 in one-shot mode");
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_TSC_DEADLINE | VEC_DEADLINE);
	uint64_t deadline = rt_rdtsc() + TSC_DELAY;
	wrmsr(RT_MSR_TSC_DEADLINE, deadline);
	wait_for(VEC_DEADLINE, 1);
	rt_check(hit_tsc >= deadline, "tsc-deadline: fired on vector 0x%x, not before the deadline",
		 VEC_DEADLINE);
	rt_check(rdmsr(RT_MSR_TSC_DEADLINE) == 0, "tsc-deadline: MSR reads 0 once fired");
	/* A deadline already passed fires at once. */
	wrmsr(RT_MSR_TSC_DEADLINE, rt_rdtsc() - 1);
	rt_check(irr_has(VEC_DEADLINE), "tsc-deadline: a passed deadline is pending at once");
	wait_for(VEC_DEADLINE, 2);
	/* A far deadline reads back; 0 disarms; so does leaving TSC-deadline mode. */
	deadline = rt_rdtsc() + 1000 * TSC_DELAY;
	wrmsr(RT_MSR_TSC_DEADLINE, deadline);
	rt_check(rdmsr(RT_MSR_TSC_DEADLINE) == deadline, "tsc-deadline: MSR reads the deadline");
	wrmsr(RT_MSR_TSC_DEADLINE, 0);
	rt_check(rdmsr(RT_MSR_TSC_DEADLINE) == 0, "tsc-deadline: writing 0 disarms");
	wrmsr(RT_MSR_TSC_DEADLINE, rt_rdtsc() + 1000 * TSC_DELAY);
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_ONESHOT | VEC_DEADLINE);
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_TSC_DEADLINE | VEC_DEADLINE);
	rt_check(rdmsr(RT_MSR_TSC_DEADLINE) == 0, "tsc-deadline: a mode change disarms");
	rt_check(hits[VEC_DEADLINE] == 2, "tsc-deadline: fired twice in all");
}

/* fast=1: a periodic timer at one bus clock (1 ns). No VM takes interrupts that
 * fast: hv86 stretches a periodic period to 200 us, as KVM does (dev/bus.h,
 * TIMER_MIN_PERIOD_NS): the guest runs on, and at most 5000 ticks come a second
 * (10% more allowed: the wait ends at the first poll of counter 2 after 50 ms);
 * the current count never reads above the initial count. */
#define FAST_MS      50
#define FAST_MAX_HZ  5000
static void fast_periodic(void)
{
	rt_apic_write(RT_APIC_TIMER_DCR, RT_APIC_DCR_DIV1);
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_PERIODIC | VEC_MASKED);
	rt_apic_write(RT_APIC_TIMER_ICR, 1);
	pc_wait(NULL, 0, FAST_MS);
	unsigned n = hits[VEC_MASKED];
	uint32_t ccr = rt_apic_read(RT_APIC_TIMER_CCR);
	rt_apic_write(RT_APIC_TIMER_ICR, 0);
	rt_check(n > 0, "periodic at 1 ns: the guest runs on through %u ms of ticks", FAST_MS);
	if (!rt_check(n <= FAST_MS * FAST_MAX_HZ / 1000 * 11 / 10, "periodic at 1 ns: at most %u ticks a second",
		      FAST_MAX_HZ))
		rt_printf("    %u ticks in %u ms\n", n, FAST_MS);
	rt_check(ccr <= 1, "periodic at 1 ns: current count at most the initial count");
}

void guest_main(void)
{
	/* Firmware may leave the 8259s unmasked with the PIT running (SeaBIOS does,
	 * under QEMU alone): mask them, so only the local APIC interrupts. */
	pc_pic_unmask(0);
	bool x2 = rt_arg_uint("x2apic=", 0);
	for (unsigned v = VEC_ONESHOT; v <= VEC_MASKED; v += 0x10)
		rt_set_irq_handler((uint8_t)v, on_timer);
	if (!rt_apic_enable(x2, VEC_SPURIOUS)) {
		rt_printf("x2apic: not offered (CPUID.1:ECX[21] clear), skipped\n");
		return;
	}
	rt_printf("mode: %s\n", x2 ? "x2APIC" : "xAPIC");
	if (rt_arg_uint("fast=", 0)) {
		fast_periodic();
		return;
	}
	oneshot();
	current_count();
	periodic();
	masked();
	tsc_deadline();
	rt_check(hits[VEC_ONESHOT] == 1, "one-shot: fired once in all");
}
