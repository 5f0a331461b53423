/* bench_cpuid: the cost of one exit round trip, as kvm-unit-tests' vmexit test
 * measures it: guest TSC cycles per CPUID (which always exits), minus the loop's
 * own cost. Under Bochs the TSC counts instructions, so this is deterministic. */
#include "guests/rt/rt.h"

RT_GUEST("bench_cpuid");

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void guest_main(void)
{
	uint32_t n = rt_arg_uint("n=", 2000);
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++)
		__asm__ volatile("" ::: "memory");
	uint64_t loop = rdtsc() - t0;
	t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++)
		(void)cpuid(0, 0);
	uint64_t total = rdtsc() - t0;
	/* Under TCG the TSC follows wall time, so the empty loop may measure longer
	 * than the CPUID loop: subtract it only when it is smaller. */
	if (total > loop)
		total -= loop;
	rt_printf("bench_cpuid: iterations=%u cycles_per_cpuid=%u\n", (unsigned)n,
		  (unsigned)(total / n));
}
