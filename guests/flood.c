/* flood: hammers an unclaimed port (each access is an exit) for n thousand
 * iterations. Next to a working VM it shows one guest's exit storm does not stop
 * the others; the unclaimed accesses are counted in the VM's statistics. */
#include "guests/rt/rt.h"

RT_GUEST("flood");

#define FLOOD_PORT 0x300

void guest_main(void)
{
	uint32_t thousands = rt_arg_uint("n=", 50);
	for (uint32_t k = 0; k < thousands; k++)
		for (uint32_t i = 0; i < 1000; i++)
			outb(FLOOD_PORT, (uint8_t)i);
	rt_printf("flood done: %u thousand writes\n", (unsigned)thousands);
}
