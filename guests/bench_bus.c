/* bench_bus: the cost of one device access through hv86's bus (docs/bus.md), per
 * kind, as bench_cpuid measures an exit: guest TSC cycles per access, minus the
 * loop's own cost. Under Bochs the TSC counts instructions: deterministic.
 *   pio       IN from a device port (COM1's scratch register, 0x3FF)
 *   unclaimed IN from a port no device claims (0x3F0)
 *   mmio      a 32-bit read of the IOAPIC's IOREGSEL (decoded and emulated)
 *   msr       RDMSR of IA32_APIC_BASE (the local APIC's, claimed on the bus)
 * Prints one line: bench_bus: iterations=N pio=A unclaimed=B mmio=C msr=D. */
#include "guests/rt/rt.h"

RT_GUEST("bench_bus");

#define COM1_SCRATCH 0x3FF
#define UNCLAIMED_PORT 0x3F0
#define IOAPIC_REGSEL ((volatile uint32_t *)0xFEC00000u)
#define MSR_APIC_BASE 0x1B

enum { PIO, UNCLAIMED, MMIO, MSR, KINDS };

static void access(unsigned kind)
{
	switch (kind) {
	case PIO: (void)inb(COM1_SCRATCH); break;
	case UNCLAIMED: (void)inb(UNCLAIMED_PORT); break;
	case MMIO: (void)*IOAPIC_REGSEL; break;
	case MSR: (void)rdmsr(MSR_APIC_BASE); break;
	}
}

void guest_main(void)
{
	uint32_t n = rt_arg_uint("n=", 1000);
	uint64_t cost[KINDS];
	uint64_t t0 = rt_rdtsc();
	for (uint32_t i = 0; i < n; i++)
		__asm__ volatile("" ::: "memory");
	uint64_t loop = rt_rdtsc() - t0;
	for (unsigned k = 0; k < KINDS; k++) {
		t0 = rt_rdtsc();
		for (uint32_t i = 0; i < n; i++)
			access(k);
		uint64_t total = rt_rdtsc() - t0;
		cost[k] = (total > loop ? total - loop : total) / n;
	}
	rt_printf("bench_bus: iterations=%u pio=%u unclaimed=%u mmio=%u msr=%u\n", (unsigned)n,
		  (unsigned)cost[PIO], (unsigned)cost[UNCLAIMED], (unsigned)cost[MMIO],
		  (unsigned)cost[MSR]);
}
