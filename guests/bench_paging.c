/* bench_paging: two paging workloads for bench/run.py, timed with the TSC, to
 * compare nested and shadow paging (docs/shadow.md) in the same run:
 * - faults: each round maps 1024 fresh 4 KiB pages (a new page table), writes
 *   each once, and unmaps them again with a CR3 load: page-fault heavy;
 * - switches: CR3 loads round-robin over 4 address spaces that do not change,
 *   reading 16 pages in each: context-switch heavy.
 * 32-bit paging; the first 16 MiB identity-mapped. Arguments: rounds=N (fault
 * rounds, default 8), switches=N (default 2000). */
#include "guests/rt/rt.h"

RT_GUEST("bench_paging");

#define PG_P   1u
#define PG_RW  2u
#define PAGE   4096u
#define ID_PT  4                      /* 16 MiB identity */
#define WIN    0x40000000u
#define PHYS   0x01000000u
#define NAS    4
#define TOUCH  16

static uint32_t pd[NAS][1024] __attribute__((aligned(4096)));
static uint32_t id[ID_PT][1024] __attribute__((aligned(4096)));
static uint32_t win[NAS][1024] __attribute__((aligned(4096)));
static uint32_t fault_pt[1024] __attribute__((aligned(4096)));

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void guest_main(void)
{
	uint32_t rounds = rt_arg_uint("rounds=", 8), switches = rt_arg_uint("switches=", 2000);
	for (unsigned i = 0; i < ID_PT * 1024; i++)
		id[i / 1024][i % 1024] = i * PAGE | PG_P | PG_RW;
	for (unsigned as = 0; as < NAS; as++) {
		for (unsigned i = 0; i < ID_PT; i++)
			pd[as][i] = (uint32_t)id[i] | PG_P | PG_RW;
		pd[as][WIN >> 22] = (uint32_t)win[as] | PG_P | PG_RW;
		for (unsigned n = 0; n < TOUCH; n++)
			win[as][n] = (PHYS + (as * TOUCH + n) * PAGE) | PG_P | PG_RW;
	}
	write_cr3((uint32_t)pd[0]);
	write_cr0(read_cr0() | CR0_PG);

	uint64_t t0 = rdtsc();
	for (uint32_t r = 0; r < rounds; r++) {
		for (unsigned n = 0; n < 1024; n++)
			fault_pt[n] = (PHYS + n * PAGE) | PG_P | PG_RW;
		pd[0][(WIN >> 22) + 1] = (uint32_t)fault_pt | PG_P | PG_RW;
		write_cr3((uint32_t)pd[0]);
		for (unsigned n = 0; n < 1024; n++)
			*(volatile uint32_t *)(WIN + (1u << 22) + n * PAGE) = r;
		pd[0][(WIN >> 22) + 1] = 0;
		write_cr3((uint32_t)pd[0]);
	}
	uint64_t t1 = rdtsc();
	uint32_t sum = 0;
	for (uint32_t s = 0; s < switches; s++) {
		write_cr3((uint32_t)pd[s % NAS]);
		for (unsigned n = 0; n < TOUCH; n++)
			sum += *(volatile uint32_t *)(WIN + n * PAGE);
	}
	uint64_t t2 = rdtsc();
	write_cr0(read_cr0() & ~CR0_PG);
	rt_printf("bench_paging: rounds=%u switches=%u sum=%08x\n", (unsigned)rounds,
		  (unsigned)switches, (unsigned)sum);
	rt_printf("bench_paging: fault_cycles=%lu switch_cycles=%lu\n",
		  (unsigned long)(t1 - t0), (unsigned long)(t2 - t1));
}
