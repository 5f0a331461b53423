/* spin: a guest that never exits while it spins with interrupts disabled, then
 * reports and ends. Next to another VM it shows that the host tick, not the
 * guest's good will, decides when each VM runs. n= millions of iterations. */
#include "guests/rt/rt.h"

RT_GUEST("spin");

void guest_main(void)
{
	uint32_t millions = rt_arg_uint("n=", 100);
	rt_printf("spinning with interrupts off\n");
	__asm__ volatile("cli");
	for (uint32_t m = 0; m < millions; m++)
		for (uint32_t i = 0; i < 1000000; i++)
			__asm__ volatile("" ::: "memory");
	rt_printf("spin done: %u million iterations\n", (unsigned)millions);
}
