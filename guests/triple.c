/* triple: with an empty IDT, int3 cannot be delivered (#GP), nor can that #GP
 * (#DF), nor the #DF: a triple fault, which shuts the VM down (Intel SDM Vol. 3A
 * 6.15, interrupt 8). QEMU with -no-reboot exits then. */
#include "guests/rt/rt.h"

RT_GUEST("triple");

void guest_main(void)
{
	static const struct rt_dtr empty = { 0, 0 };

	rt_printf("triple fault now\n");
	rt_flush();
	lidt(&empty);
	__asm__ volatile("int3");
	rt_fail("survived");
}
