/* faults: privileged operations with invalid operands must raise #GP(0), whether
 * the CPU or the hypervisor handles them (Intel SDM Vol. 2 RDMSR, WRMSR, MOV CR,
 * XSETBV; Vol. 3A 2.5). */
#include "guests/rt/rt.h"

RT_GUEST("faults");

#define MSR_NONE 0xdeadbeefu           /* no CPU implements this MSR */
#define CR4_RESERVED (1u << 31)        /* reserved on Intel and AMD alike */
#define CPUID1_ECX_XSAVE (1u << 26)
#define XCR0_X87 (1u << 0)
#define XCR0_SSE (1u << 1)
#define XCR0_AVX (1u << 2)
#define XCR0_BNDREGS (1u << 3)
#define XCR0_BNDCSR (1u << 4)
#define XCR0_OPMASK (1u << 5)
#define XCR0_ZMM_HI256 (1u << 6)
#define XCR0_HI16_ZMM (1u << 7)
#define XCR0_XTILECFG (1u << 17)
#define XCR0_XTILEDATA (1u << 18)

static void do_rdmsr(void *msr) { (void)rdmsr((uint32_t)msr); }
static void do_wrmsr(void *msr) { wrmsr((uint32_t)msr, 0); }
static void do_efer(void *v) { wrmsr(MSR_EFER, *(uint64_t *)v); }
static void do_cr0(void *v) { write_cr0((uint32_t)v); }
static void do_cr4(void *v) { write_cr4((uint32_t)v); }
static void do_xcr0(void *v) { xsetbv(0, *(uint64_t *)v); }

static void expect_gp(const char *what, void (*fn)(void *), void *arg)
{
	struct rt_fault f;
	if (!rt_try(fn, arg, &f))
		rt_check(false, "%s: no fault, want #GP(0)", what);
	else
		rt_check(f.vector == 13 && f.error == 0, "%s: %s(%x)", what,
			 rt_vector_name(f.vector), f.error);
}

/* XCR0 values that CPUID 0xD lists component by component but that the CPU
 * refuses as a combination (SDM Vol. 1 13.3): #GP, whether the components are
 * supported or not. hv86 once stored such a value and loaded it in host ring 0:
 * the host's own #GP took every VM down (issue 18). */
static void xcr0_combinations(void)
{
	static const struct { const char *what; uint32_t val; } bad[] = {
		{ "xsetbv XCR0 AVX without SSE", XCR0_X87 | XCR0_AVX },
		{ "xsetbv XCR0 opmask alone", XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK },
		{ "xsetbv XCR0 AVX-512 without Hi16_ZMM",
		  XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK | XCR0_ZMM_HI256 },
		{ "xsetbv XCR0 AVX-512 without AVX",
		  XCR0_X87 | XCR0_SSE | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM },
		{ "xsetbv XCR0 BNDREGS without BNDCSR", XCR0_X87 | XCR0_BNDREGS },
		{ "xsetbv XCR0 BNDCSR without BNDREGS", XCR0_X87 | XCR0_BNDCSR },
		{ "xsetbv XCR0 TILECFG without TILEDATA",
		  XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_XTILECFG },
	};
	struct cpuid d = cpuid(0xD, 0);
	uint64_t supported = ((uint64_t)d.edx << 32) | d.eax;
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t val = bad[i].val;
		expect_gp(bad[i].what, do_xcr0, &val);
		if ((val & supported) == val)
			rt_printf("%s: each component offered\n", bad[i].what);
	}
}

/* The checks that would wreck an emulator that lets them through come last:
 * QEMU 7.2's TCG, run directly, hangs on the reserved CR4 bit and enables paging
 * for PG=1 PE=0, while it lets the MSR and NW/CD checks pass silently. */
void guest_main(void)
{
	uint32_t cr0 = read_cr0();
	uint64_t efer_bad = rdmsr(MSR_EFER) | (1ull << 63);

	expect_gp("rdmsr 0xdeadbeef", do_rdmsr, (void *)MSR_NONE);
	expect_gp("wrmsr 0xdeadbeef", do_wrmsr, (void *)MSR_NONE);
	expect_gp("wrmsr EFER bit 63", do_efer, &efer_bad);

	if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE) {
		/* XCR0 bit 0 (x87) must always be 1 (SDM Vol. 1 13.3). */
		uint64_t xcr0_bad = XCR0_SSE;
		write_cr4(read_cr4() | CR4_OSXSAVE);
		expect_gp("xsetbv XCR0 x87=0", do_xcr0, &xcr0_bad);
		xcr0_combinations();
	} else {
		rt_printf("xsetbv XCR0 x87=0: skipped, no XSAVE\n");
	}

	expect_gp("mov cr0 NW=1 CD=0", do_cr0, (void *)((cr0 & ~CR0_CD) | CR0_NW));
	expect_gp("mov cr0 PG=1 PE=0", do_cr0, (void *)((cr0 & ~CR0_PE) | CR0_PG));
	expect_gp("mov cr4 bit 31", do_cr4, (void *)(read_cr4() | CR4_RESERVED));
}
