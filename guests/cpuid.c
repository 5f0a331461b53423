/* cpuid: the vendor, the largest basic and extended leaves, and the hypervisor
 * leaves, which CPUID.1:ECX bit 31 announces (reserved for hypervisors: Intel SDM
 * Vol. 2A CPUID, AMD APM Vol. 3 E.3.2). */
#include "guests/rt/rt.h"

RT_GUEST("cpuid");

#define CPUID1_ECX_HYPERVISOR (1u << 31)

/* Twelve characters from three registers, in the given order. */
static void sig(char out[13], uint32_t a, uint32_t b, uint32_t c)
{
	memcpy(out, &a, 4);
	memcpy(out + 4, &b, 4);
	memcpy(out + 8, &c, 4);
	out[12] = 0;
	for (int i = 0; i < 12; i++)            /* keep the output printable */
		if (out[i] && (out[i] < 0x20 || out[i] > 0x7e))
			out[i] = '?';
}

void guest_main(void)
{
	char s[13];
	struct cpuid r = cpuid(0, 0);
	sig(s, r.ebx, r.edx, r.ecx);
	rt_printf("vendor: %s\n", s);
	rt_printf("max basic leaf: 0x%x\n", r.eax);
	rt_printf("max extended leaf: 0x%x\n", cpuid(0x80000000, 0).eax);

	uint32_t ecx1 = cpuid(1, 0).ecx;
	if (!rt_check(ecx1 & CPUID1_ECX_HYPERVISOR, "CPUID.1:ECX[31] hypervisor bit set"))
		return;
	r = cpuid(0x40000000, 0);
	sig(s, r.ebx, r.ecx, r.edx);
	rt_printf("hypervisor: \"%s\", max leaf 0x%x\n", s, r.eax);
}
