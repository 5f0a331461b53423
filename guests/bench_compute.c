/* bench_compute: a compute-bound workload with no exits (integer arithmetic and
 * memory traffic over 1 MiB), timed with the TSC, to compare the same program run
 * as a guest of hv86 and directly on the emulator. */
#include "guests/rt/rt.h"

RT_GUEST("bench_compute");

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#define WORDS (256 * 1024)
static uint32_t buf[WORDS];

void guest_main(void)
{
	uint32_t rounds = rt_arg_uint("rounds=", 40);
	uint32_t x = 0x12345678, sum = 0;
	uint64_t t0 = rdtsc();
	for (uint32_t r = 0; r < rounds; r++) {
		for (uint32_t i = 0; i < WORDS; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[(i * 2654435761u) & (WORDS - 1)] += x;
		}
		for (uint32_t i = 0; i < WORDS; i++)
			sum += buf[i] * (i | 1);
	}
	uint64_t cycles = rdtsc() - t0;
	rt_printf("bench_compute: rounds=%u checksum=%08x\n", (unsigned)rounds, (unsigned)sum);
	rt_printf("bench_compute: cycles=%lu\n", (unsigned long)cycles);
}
