/* fair: the parts of the CPU-share tests (issue 28, docs/smp.md "Scheduling").
 * Every mode measures its own share of the host CPU with its TSC: it reads the
 * TSC in a tight loop, and a step longer than GAP_US means it was not running
 * (another VM ran); the sum of the short steps is the time it ran. The TSC rate
 * comes from hv86's kvm-clock. Every
 * mode ends with one line
 *   fair: MODE wall_ms=W ran_ms=R share=S% [slowdown=X.XX]
 * and exit V=0 (status 1).
 *
 *   mode=victim work=MS   fixed work: MS ms of its own CPU time (the same amount
 *                         of computation whatever runs next to it); slowdown =
 *                         wall time / run time, which is 1.00 alone and 2.00
 *                         next to one VM with the same share
 *   mode=spin ms=MS       spins with interrupts off for MS ms of wall time;
 *     [every=E]           with a line each E ms (the watchdog's progress test)
 *   mode=cheat ms=MS      for MS ms of wall time: learns the host's tick phase
 *                         from its gaps (hv86 up to merge16 ended a turn at
 *                         its 10 ms tick), then each period spins until just
 *                         before the next boundary, halts, and has its APIC
 *                         timer wake it just after
 *   mode=smp ms=MS cpus=N as spin, and starts its N-1 APs, which spin forever
 *                         (the VM ends when the BSP is done)
 *   mode=print lines=N    prints N lines of 100 characters as fast as it can
 *                         (the console limit) */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("fair");

#define GAP_US        100               /* a longer TSC step: descheduled */
#define PERIOD_US     10000             /* hv86's tick until merge16 (docs/smp.md) */
#define MARGIN_US     300               /* cheat: halt this long before a boundary */
#define PHASE_US      3000              /* cheat: a gap this long ends a turn */
#define VEC_TIMER     0x40
#define VEC_SPURIOUS  0xFF
#define MAX_CPUS      8
#define TRAMP_ADDR    0x7000u
#define TRAMP_VECTOR  (TRAMP_ADDR >> 12)
#define ICR_INIT      (5u << 8)
#define ICR_STARTUP   (6u << 8)
#define ICR_LEVEL     (1u << 15)
#define APIC_NS_PER_COUNT 1             /* hv86's APIC timer: 1 GHz at divide 1 */

static uint64_t tsc_hz, gap, ran, last;
static volatile unsigned timer_hits;

/* The TSC rate from hv86's kvm-clock (docs/platform.md, msr.rst): time =
 * ((TSC delta) shifted by shift) * mul / 2^32 ns, so the rate is
 * 10^9 * 2^32 / mul, shifted back. (A PIT count measured while the VM shares the
 * CPU is no good: its exits stretch it.) */
static volatile struct pc_pvclock_time ti __attribute__((aligned(64)));

static void calibrate(void)
{
	wrmsr(PC_MSR_KVM_SYSTEM_TIME, (uint32_t)(uintptr_t)&ti | 1u);
	uint32_t mul = ti.mul;
	int8_t shift = ti.shift;
	if (!mul)
		rt_fail("kvm-clock gave no rate");
	tsc_hz = (1000000000ull << 32) / mul;
	tsc_hz = shift < 0 ? tsc_hz << -shift : tsc_hz >> shift;
	wrmsr(PC_MSR_KVM_SYSTEM_TIME, 0);
	gap = tsc_hz * GAP_US / 1000000;
}

static uint64_t us(uint64_t t) { return t * 1000000 / tsc_hz; }

/* One step: the TSC now, the step since the last counted as run time if short. */
static uint64_t step(void)
{
	uint64_t t = rt_rdtsc(), d = t - last;
	if (d < gap)
		ran += d;
	last = t;
	return t;
}

/* A little computation between steps (about a microsecond under TCG, a few
 * under Bochs). */
static volatile uint32_t sink;
static void work(void)
{
	uint32_t x = sink;
	for (unsigned i = 0; i < 64; i++)
		x = x * 1103515245u + 12345u;
	sink = x;
}

static void report(const char *mode, uint64_t t0, bool slowdown)
{
	uint64_t wall = us(last - t0), mine = us(ran);
	rt_printf("fair: %s tsc_khz=%llu wall_ms=%llu ran_ms=%llu share=%llu%%", mode, tsc_hz / 1000,
		  wall / 1000, mine / 1000,
		  wall ? mine * 100 / wall : 0);
	if (slowdown && mine) {
		uint64_t x100 = wall * 100 / mine;
		rt_printf(" slowdown=%llu.%02llu", x100 / 100, x100 % 100);
	}
	rt_printf("\n");
}

static void on_timer(uint32_t v)
{
	(void)v;
	timer_hits++;
	rt_apic_eoi();
}

/* The cheater: spins, halts around each boundary of the period it learned. A
 * gap of PHASE_US or more is the host's scheduler ending its turn: a boundary
 * (it re-learns the phase at each one, so host load that delays it does not
 * throw it off for long). */
static uint64_t gaps_at[24], gaps_len[24];
static unsigned ngaps;

static void cheat(uint64_t end)
{
	uint64_t period = tsc_hz * PERIOD_US / 1000000, margin = tsc_hz * MARGIN_US / 1000000;
	uint64_t phase_gap = tsc_hz * PHASE_US / 1000000;
	rt_apic_enable(false, VEC_SPURIOUS);
	rt_set_irq_handler(VEC_TIMER, on_timer);
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_ONESHOT | VEC_TIMER);
	uint64_t boundary = 0;
	unsigned halts = 0, syncs = 0;
	while (last < end) {
		uint64_t before = last, t = step();
		if (t - before >= gap && ngaps < 24) {
			gaps_at[ngaps] = before;
			gaps_len[ngaps++] = t - before;
		}
		if (t - before >= phase_gap) {
			boundary = before;
			syncs++;
		}
		if (!boundary) {
			work();
			continue;
		}
		while (boundary <= t)
			boundary += period;
		if (t < boundary - margin) {
			work();
			continue;
		}
		rt_apic_write(RT_APIC_TIMER_ICR, (uint32_t)(2 * MARGIN_US * 1000 / APIC_NS_PER_COUNT));
		rt_hlt();               /* sti; hlt: woken by its timer just after */
		rt_cli();
		last = rt_rdtsc();      /* the halt is not run time */
		halts++;
	}
	if (rt_arg("debug="))
		for (unsigned i = 0; i < ngaps; i++)
			rt_printf("fair: gap at %llu us for %llu us\n", us(gaps_at[i] - gaps_at[0]),
				  us(gaps_len[i]));
	rt_printf("fair: cheat halted %u times around %u us boundaries (phase seen %u times)\n",
		  halts, PERIOD_US, syncs);
}

/* --- mode=smp: APs that spin -------------------------------------------- */
uint8_t fair_ap_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));
static volatile uint32_t ap_started[MAX_CPUS];

__asm__(
	"	.text\n"
	"	.code16\n"
	"	.globl fair_tramp_start, fair_tramp_end\n"
	"fair_tramp_start:\n"
	"	cli\n"
	"	movw %cs, %ax\n"
	"	movw %ax, %ds\n"
	"	lgdtl (fair_tramp_gdt_desc - fair_tramp_start)\n"
	"	movl %cr0, %eax\n"
	"	orl $1, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $fair_ap_entry32\n"
	"	.balign 4\n"
	"fair_tramp_gdt_desc:\n"
	"	.word fair_gdt_end - fair_gdt - 1\n"
	"	.long fair_gdt\n"
	"fair_tramp_end:\n"
	"	.code32\n"
	"fair_ap_entry32:\n"
	"	movw $0x10, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %ss\n"
	"	movl $1, %eax\n"
	"	cpuid\n"
	"	shrl $24, %ebx\n"
	"	cmpl $8, %ebx\n"
	"	jae 2f\n"
	"	leal 1(%ebx), %eax\n"
	"	shll $12, %eax\n"
	"	leal fair_ap_stacks(%eax), %esp\n"
	"	pushl %ebx\n"
	"	call fair_ap_main\n"
	"2:	cli\n"
	"	hlt\n"
	"	jmp 2b\n"
	"	.section .rodata\n"
	"	.balign 8\n"
	"fair_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00cf9a000000ffff\n"
	"	.quad 0x00cf92000000ffff\n"
	"fair_gdt_end:\n"
	"	.text\n");
extern const char fair_tramp_start[], fair_tramp_end[];

void fair_ap_main(uint32_t id);
void fair_ap_main(uint32_t id)
{
	ap_started[id] = 1;
	for (;;)
		work();
}

static void start_aps(unsigned n)
{
	rt_apic_enable(false, VEC_SPURIOUS);
	memcpy((void *)TRAMP_ADDR, fair_tramp_start, (size_t)(fair_tramp_end - fair_tramp_start));
	for (unsigned i = 1; i < n && i < MAX_CPUS; i++) {
		rt_apic_ipi(i, RT_APIC_ICR_ASSERT | ICR_INIT | ICR_LEVEL);
		rt_apic_ipi(i, ICR_INIT | ICR_LEVEL);
		rt_apic_ipi(i, RT_APIC_ICR_ASSERT | ICR_STARTUP | TRAMP_VECTOR);
	}
}

void guest_main(void)
{
	const char *mode = rt_arg("mode=");
	bool victim = mode && !strncmp(mode, "victim", 6);
	bool cheater = mode && !strncmp(mode, "cheat", 5);
	bool smp = mode && !strncmp(mode, "smp", 3);
	if (mode && !strncmp(mode, "print", 5)) {
		/* As much output as it can: the console limit's test. */
		uint32_t lines = rt_arg_uint("lines=", 1000);
		for (uint32_t i = 0; i < lines; i++)
			rt_printf("fair: line %6u: the quick brown fox jumps over the lazy dog, "
				  "again and again and again\n", (unsigned)i);
		rt_printf("fair: printed %u lines\n", (unsigned)lines);
		return;
	}
	uint32_t ms = rt_arg_uint("ms=", 1000), work_ms = rt_arg_uint("work=", 200);
	rt_cli();
	calibrate();
	if (smp)
		start_aps(rt_arg_uint("cpus=", 8));
	uint64_t t0 = rt_rdtsc();
	last = t0;
	ran = 0;
	if (victim) {
		uint64_t need = tsc_hz * work_ms / 1000;
		while (ran < need) {
			work();
			step();
		}
	} else if (cheater) {
		cheat(t0 + tsc_hz * ms / 1000);
	} else {
		uint64_t end = t0 + tsc_hz * ms / 1000, every = tsc_hz * rt_arg_uint("every=", 0) / 1000;
		uint64_t next = every ? t0 + every : UINT64_MAX;
		for (uint64_t t; (t = step()) < end;) {
			work();
			if (t >= next) {
				rt_printf("fair: still spinning after %llu ms\n", us(t - t0) / 1000);
				next += every;
			}
		}
	}
	if (smp) {
		unsigned up = 1;
		for (unsigned i = 1; i < MAX_CPUS; i++)
			up += ap_started[i];
		rt_printf("fair: smp %u CPUs spun\n", up);
	}
	report(victim ? "victim" : cheater ? "cheat" : smp ? "smp" : "spin", t0, victim);
}
