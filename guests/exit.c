/* exit: ends the VM with the exit value V given as exit=N (default 0), so the
 * status is (N << 1) | 1. */
#include "guests/rt/rt.h"

RT_GUEST("exit");

void guest_main(void)
{
	uint32_t v = rt_arg_uint("exit=", 0);
	rt_printf("exit: V=%u\n", v);
	rt_exit(v);
}
