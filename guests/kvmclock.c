/* kvmclock: the KVM-compatible paravirtual clock as Linux's kvm-clock finds and
 * uses it (docs/platform.md, "Paravirtual clock"; KVM's Documentation/virt/kvm/
 * x86/cpuid.rst and msr.rst, written down here again from the documents so that
 * the guest checks hv86 against the ABI, not against hv86's own headers):
 * - the signature, found by scanning the hypervisor leaves in steps of 0x100 as
 *   Linux's hypervisor_cpuid_base does, and the feature bits;
 * - a time area enabled through MSR_KVM_SYSTEM_TIME_NEW: even version, advanced
 *   by each enable, the stable flag, a clock that never goes back and runs at the
 *   ACPI PM timer's rate (within RATE_TOLERANCE_PCT over RATE_NS);
 * - the wall clock (MSR_KVM_WALL_CLOCK_NEW) plus the clock: the RTC's time,
 *   within WALL_TOLERANCE_S;
 * - an area outside RAM, or running past its end, is accepted by the WRMSR and
 *   ignored, as KVM does: no fault, the MSR reads back, nothing is written.
 * The output is the same on every run: measured values are printed only when a
 * check fails. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("kvmclock");

#define HV_LEAF_FIRST      0x40000000u
#define HV_LEAF_END        0x40010000u    /* Linux scans up to 0x4000FF00 */
#define HV_LEAF_STEP       0x100u
#define KVM_LEAF_EXPECTED  0x40000100u    /* hv86's own leaf keeps 0x40000000 */
#define KVM_FEATURES_LEAF  1u             /* after the signature leaf */
#define FEAT_NOP_IO_DELAY  (1u << 1)
#define FEAT_CLOCKSOURCE2  (1u << 3)
#define FEAT_STABLE_BIT    (1u << 24)
#define MSR_WALL_CLOCK     PC_MSR_KVM_WALL_CLOCK
#define MSR_SYSTEM_TIME    PC_MSR_KVM_SYSTEM_TIME
#define SYSTEM_TIME_ENABLE 1u
#define FLAG_TSC_STABLE    (1u << 0)

#define MONOTONIC_READS    20000
#define CPUID_EVERY        64             /* an exit now and then between reads */
#define PM_TIMER_PORT      0x608          /* docs/platform.md: 24 bits, 3.579545 MHz */
#define PM_TIMER_HZ        3579545ull
#define PM_TIMER_MASK      0xFFFFFFu      /* wraps every 4.7 s */
#define RATE_NS            100000000ull   /* 100 ms */
#define RATE_TOLERANCE_PCT 1
#define PAIR_MAX_NS        200000ull      /* clock, timer, clock within 200 us */
#define PAIR_TRIES         1000
#define WALL_TOLERANCE_S   2
#define RTC_READ_TRIES     5
#define NS_PER_S           1000000000ull
#define TSC_JUMP           (1ull << 40)   /* hours of TSC ahead, at any rate */
#define NS_PER_US          1000ull
#define BAD_GAP            (1u << 20)     /* 1 MiB past the end of RAM */
#define STRADDLE_IN_RAM    16             /* bytes of an area still inside RAM */
#define PATTERN            0xA5

/* pvclock_wall_clock (msr.rst): packed, 12 bytes; the time area: guests/rt/pc.h. */
struct wall_clock { uint32_t version, sec, nsec; } __attribute__((packed));

static volatile struct pc_pvclock_time ti __attribute__((aligned(64)));
static volatile struct wall_clock wc __attribute__((aligned(64)));

struct msr_write { uint32_t msr; uint64_t val; };
static void do_wrmsr(void *arg)
{
	const struct msr_write *w = arg;
	wrmsr(w->msr, w->val);
}

/* WRMSR that must not fault; false (and a BAD line) if it did. */
static bool wrmsr_ok(uint32_t msr, uint64_t val, const char *what)
{
	struct msr_write w = { msr, val };
	struct rt_fault f;
	if (rt_try(do_wrmsr, &w, &f) == 0)
		return true;
	rt_check(false, "%s: WRMSR %#x raised %s", what, (unsigned)msr, rt_vector_name(f.vector));
	return false;
}

#define COMPILER_BARRIER() __asm__ volatile("" : : : "memory")

/* msr.rst: time = system_time + ((TSC - tsc_timestamp) shifted by tsc_shift) *
 * tsc_to_system_mul / 2^32, read between two equal, even versions. */
static uint64_t clock_ns(void)
{
	for (;;) {
		uint32_t v = ti.version;
		COMPILER_BARRIER();
		uint64_t d = rt_rdtsc() - ti.tsc_timestamp, base = ti.system_time;
		uint32_t mul = ti.mul;
		int8_t shift = ti.shift;
		COMPILER_BARRIER();
		if ((v & 1) || v != ti.version)
			continue;
		d = shift < 0 ? d >> -shift : d << shift;
		uint64_t hi = (d >> 32) * mul, lo = (uint64_t)(uint32_t)d * mul;
		return base + hi + (lo >> 32);
	}
}

static uint32_t find_kvm(void)
{
	for (uint32_t leaf = HV_LEAF_FIRST; leaf < HV_LEAF_END; leaf += HV_LEAF_STEP) {
		struct cpuid r = cpuid(leaf, 0);
		uint32_t sig[3] = { r.ebx, r.ecx, r.edx };
		if (!memcmp(sig, "KVMKVMKVM\0\0\0", sizeof sig) &&
		    r.eax - leaf >= KVM_FEATURES_LEAF)
			return leaf;
	}
	return 0;
}

static bool enable(void)
{
	uint32_t gpa = (uint32_t)&ti;
	uint32_t before = ti.version;
	if (!wrmsr_ok(MSR_SYSTEM_TIME, gpa | SYSTEM_TIME_ENABLE, "enable"))
		return false;
	uint32_t after = ti.version;
	rt_check(rdmsr(MSR_SYSTEM_TIME) == (gpa | SYSTEM_TIME_ENABLE),
		 "MSR_KVM_SYSTEM_TIME_NEW reads back the address and the enable bit");
	if (!rt_check(!(after & 1) && after == ((before + 1) | 1) + 1,
		      "the area's version is even and advanced by the enable"))
		rt_printf("    version %u, then %u\n", (unsigned)before, (unsigned)after);
	return true;
}

static void monotonic(void)
{
	uint64_t prev = clock_ns();
	unsigned back = 0;
	for (unsigned i = 0; i < MONOTONIC_READS; i++) {
		if (i % CPUID_EVERY == 0)
			cpuid(0, 0);
		uint64_t now = clock_ns();
		if (now < prev)
			back++;
		prev = now;
	}
	rt_check(back == 0, "%u reads of the clock, around exits: it never went back",
		 MONOTONIC_READS);
}

/* The clock and the PM timer at one moment: the timer read between two clock
 * reads close together. A VM that lost its turn in between (another VM ran, as
 * in a crowded boot) tries again, so the pair is off by PAIR_MAX_NS / 2 at most. */
static bool pair(uint64_t *ns, uint32_t *pm)
{
	for (unsigned t = 0; t < PAIR_TRIES; t++) {
		uint64_t a = clock_ns();
		uint32_t p = inl(PM_TIMER_PORT) & PM_TIMER_MASK;
		uint64_t b = clock_ns();
		if (b - a <= PAIR_MAX_NS) {
			*ns = a + (b - a) / 2;
			*pm = p;
			return true;
		}
	}
	return false;
}

/* RATE_NS of the clock against the PM timer over the same stretch. */
static void rate(void)
{
	uint64_t n0 = 0, n1 = 0;
	uint32_t p0 = 0, p1 = 0;
	bool paired = pair(&n0, &p0);
	while (paired && clock_ns() - n0 < RATE_NS)
		;
	paired = paired && pair(&n1, &p1);
	uint64_t got = n1 - n0, want = ((p1 - p0) & PM_TIMER_MASK) * NS_PER_S / PM_TIMER_HZ;
	uint64_t off = got > want ? got - want : want - got;
	if (!rt_check(paired && off * 100 <= want * RATE_TOLERANCE_PCT,
		      "the clock runs at the ACPI PM timer's rate (100 ms within %u%%)",
		      RATE_TOLERANCE_PCT))
		rt_printf("    %llu us for %llu us of the PM timer%s\n", got / NS_PER_US,
			  want / NS_PER_US, paired ? "" : " (no pair of reads close together)");
}

static unsigned from_bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xF); }

/* Days from 1970-01-01 to y-m-d (Gregorian; y from 1970 to 2099). */
static uint32_t days_since_1970(unsigned y, unsigned m, unsigned d)
{
	static const uint16_t before_month[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	uint32_t days = (y - 1970) * 365 + (y - 1969) / 4;    /* leap days before y */
	days += before_month[m - 1] + d - 1;
	if (m > 2 && y % 4 == 0)
		days++;
	return days;
}

/* The RTC's time in Unix seconds (BCD, 24-hour: the state at entry), once two
 * reads agree; 0 if they never did. */
static uint32_t rtc_seconds(void)
{
	static const uint8_t regs[] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32 };
	uint8_t a[sizeof regs], b[sizeof regs];
	for (unsigned t = 0; t < RTC_READ_TRIES; t++) {
		for (unsigned i = 0; i < sizeof regs; i++)
			a[i] = pc_cmos_read(regs[i]);
		for (unsigned i = 0; i < sizeof regs; i++)
			b[i] = pc_cmos_read(regs[i]);
		if (memcmp(a, b, sizeof a))
			continue;
		unsigned year = from_bcd(a[6]) * 100 + from_bcd(a[5]);
		return days_since_1970(year, from_bcd(a[4]), from_bcd(a[3])) * 86400u +
		       from_bcd(a[2]) * 3600u + from_bcd(a[1]) * 60u + from_bcd(a[0]);
	}
	return 0;
}

static void wall(void)
{
	if (!wrmsr_ok(MSR_WALL_CLOCK, (uint32_t)&wc, "wall clock"))
		return;
	rt_check(!(wc.version & 1) && wc.version, "the wall clock's version is even and set");
	uint64_t now = wc.sec + (clock_ns() + wc.nsec) / NS_PER_S;
	uint32_t rtc = rtc_seconds();
	uint64_t off = now > rtc ? now - rtc : rtc - now;
	if (!rt_check(rtc && off <= WALL_TOLERANCE_S,
		      "wall clock + system time is the RTC's time (within %u s)", WALL_TOLERANCE_S))
		rt_printf("    %llu against the RTC's %u\n", now, (unsigned)rtc);
}

/* Addresses KVM ignores: the WRMSR succeeds, reads back, and writes nothing. */
static void bad_addresses(void)
{
	uint32_t ram_end = 0x100000u + rt_mem_upper * 1024u;
	uint32_t outside = ram_end + BAD_GAP, straddle = ram_end - STRADDLE_IN_RAM;
	volatile uint8_t *tail = (volatile uint8_t *)straddle;
	for (unsigned i = 0; i < STRADDLE_IN_RAM; i++)
		tail[i] = PATTERN;
	uint32_t version = ti.version;
	if (wrmsr_ok(MSR_SYSTEM_TIME, outside | SYSTEM_TIME_ENABLE, "outside RAM"))
		rt_check(rdmsr(MSR_SYSTEM_TIME) == (outside | SYSTEM_TIME_ENABLE),
			 "a time area outside RAM: accepted, reads back, ignored");
	if (wrmsr_ok(MSR_SYSTEM_TIME, straddle | SYSTEM_TIME_ENABLE, "past the end")) {
		unsigned kept = 0;
		for (unsigned i = 0; i < STRADDLE_IN_RAM; i++)
			kept += tail[i] == PATTERN;
		rt_check(kept == STRADDLE_IN_RAM,
			 "a time area running past the end of RAM: nothing of it written");
	}
	if (wrmsr_ok(MSR_WALL_CLOCK, outside, "wall clock outside RAM"))
		rt_check(rdmsr(MSR_WALL_CLOCK) == outside, "a wall clock outside RAM: ignored");
	rt_check(ti.version == version, "the good area untouched by those writes");
	if (wrmsr_ok(MSR_SYSTEM_TIME, 0, "disable"))
		rt_check(rdmsr(MSR_SYSTEM_TIME) == 0, "disabled: the MSR reads 0");
}

/* WRMSR IA32_TSC moves this vCPU's TSC (SDM Vol. 3B 18.17), not the time: hv86
 * writes the area again with the reference in the new TSC, so the clock goes on
 * from where it was, and at its rate. */
static void tsc_written(void)
{
	uint64_t version = ti.version, before = clock_ns(), want = rt_rdtsc() + TSC_JUMP;
	if (!wrmsr_ok(RT_MSR_TSC, want, "IA32_TSC"))
		return;
	uint64_t tsc = rt_rdtsc(), after = clock_ns();
	rt_check(tsc >= want && tsc - want < TSC_JUMP / 1024,
		 "IA32_TSC written: RDTSC counts on from the value written");
	rt_check(ti.version != version && !(ti.version & 1),
		 "IA32_TSC written: the area was written again (version even, moved on)");
	if (!rt_check(after >= before && after - before < NS_PER_S,
		      "IA32_TSC written: the clock went on from where it was"))
		rt_printf("    %llu ns, then %llu ns\n", before, after);
	monotonic();
	rate();
}

void guest_main(void)
{
	uint32_t base = find_kvm();
	if (!rt_check(base == KVM_LEAF_EXPECTED, "KVM signature at leaf %#x", KVM_LEAF_EXPECTED))
		return;
	uint32_t features = cpuid(base + KVM_FEATURES_LEAF, 0).eax;
	uint32_t want = FEAT_CLOCKSOURCE2 | FEAT_STABLE_BIT | FEAT_NOP_IO_DELAY;
	if (!rt_check(features == want, "features: clocksource2, stable bit, no I/O delay"))
		rt_printf("    features %#x\n", (unsigned)features);
	if (!enable())
		return;
	rt_check((ti.flags & FLAG_TSC_STABLE) && ti.mul, "the area has a scale and the stable flag");
	enable();                      /* again: the version moves on by two */
	monotonic();
	rate();
	tsc_written();
	wall();
	bad_addresses();
}
