/* cpuid: the vendor, the largest basic and extended leaves, and the hypervisor
 * leaves, which CPUID.1:ECX bit 31 announces (reserved for hypervisors: Intel SDM
 * Vol. 2A CPUID, AMD APM Vol. 3 E.3.2). The CPU model is an allow-list
 * (docs/cpuid.md): the leaves clamped, no PMU, PDCM/VMX/SVM/MONITOR hidden, and the
 * MSRs every CPU of the vendor has answer (docs/msr.md). */
#include "guests/rt/rt.h"

RT_GUEST("cpuid");

#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_ECX_HIDDEN ((1u << 3) | (1u << 5) | (1u << 15))   /* MONITOR VMX PDCM */
#define XCR0_OFFERED 0xE7u               /* x87 SSE AVX opmask ZMM_Hi256 Hi16_ZMM */
#define AMD_PERFEVTSEL0 0xC0010000u
#define AMD_PERFCTR0 0xC0010004u
#define BIOS_SIGN_ID 0x8Bu

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
	bool amd = !memcmp(s, "AuthenticAMD", 12);
	uint32_t max = r.eax, max_ext = cpuid(0x80000000, 0).eax;
	rt_printf("max basic leaf: 0x%x\n", max);
	rt_printf("max extended leaf: 0x%x\n", max_ext);
	rt_check(max >= 0xD && max <= 0x16, "max basic leaf in 0xD..0x16 (the model's)");
	rt_check(max_ext >= 0x80000001 && max_ext <= 0x80000008,
		 "max extended leaf at most 0x80000008");
	r = cpuid(0xA, 0);
	rt_check(!(r.eax | r.ebx | r.ecx | r.edx), "leaf 0xA: no PMU");
	rt_check(!(cpuid(1, 0).ecx & CPUID1_ECX_HIDDEN), "MONITOR, VMX, PDCM hidden");
	rt_check(!(cpuid(0x80000001, 0).ecx & (1u << 2)), "SVM hidden");
	r = cpuid(0xD, 0);
	rt_check(!(r.eax & ~XCR0_OFFERED) && !r.edx, "leaf 0xD: offered XCR0 components only");
	uint64_t rev = rdmsr(BIOS_SIGN_ID);
	rt_printf("microcode revision: EDX 0x%x, EAX 0x%x\n", (uint32_t)(rev >> 32), (uint32_t)rev);
	if (amd) {                       /* the legacy counters: no CPUID bit, always there */
		wrmsr(AMD_PERFEVTSEL0 + 3, 0x530076);
		wrmsr(AMD_PERFCTR0 + 3, 0x123456789ull);
		rt_check(rdmsr(AMD_PERFEVTSEL0 + 3) == 0x530076, "PERFEVTSEL3 reads back");
		rt_check(rdmsr(AMD_PERFCTR0 + 3) == 0x123456789ull, "PERFCTR3 reads back");
	}

	uint32_t ecx1 = cpuid(1, 0).ecx;
	if (!rt_check(ecx1 & CPUID1_ECX_HYPERVISOR, "CPUID.1:ECX[31] hypervisor bit set"))
		return;
	r = cpuid(0x40000000, 0);
	sig(s, r.ebx, r.ecx, r.edx);
	rt_printf("hypervisor: \"%s\", max leaf 0x%x\n", s, r.eax);
}
