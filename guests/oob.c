/* oob: reads, then writes, guest-physical memory far outside RAM (but below the
 * 3 GiB where devices start). hv86 stops the VM there (status 120); an emulator
 * without such a check returns all ones and drops the write, which this guest
 * reports as a failure. */
#include "guests/rt/rt.h"

RT_GUEST("oob");

#define OOB_MIN 0x40000000u             /* 1 GiB */
#define OOB_MAX 0xc0000000u             /* 3 GiB */

void guest_main(void)
{
	/* 16 MiB past the end of RAM, and at least 1 GiB. */
	uint64_t a = 0x100000 + rt_mem_upper * 1024ull + (16u << 20);
	if (a < OOB_MIN)
		a = OOB_MIN;
	if (a >= OOB_MAX)
		rt_fail("RAM reaches 3 GiB, nowhere to touch");
	volatile uint32_t *p = (volatile uint32_t *)(uint32_t)a;

	rt_printf("touching 0x%08x\n", (uint32_t)a);
	rt_flush();
	uint32_t v = *p;
	rt_printf("read 0x%08x\n", v);
	*p = 0x12345678;
	rt_fail("survived");
}
