/* hello: the smallest guest. Prints a greeting and its arguments. */
#include "guests/rt/rt.h"

RT_GUEST("hello");

void guest_main(void)
{
	rt_printf("hello from hv86 guest\n");
	rt_printf("args: %s\n", rt_args());
}
