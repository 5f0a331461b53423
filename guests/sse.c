/* sse: the SSE and x87 registers must survive exits. Loads xmm0-7, the x87 stack,
 * MXCSR and the x87 control word with known values, causes 2000 exits (CPUID, an
 * unclaimed port read, and every 100 rounds a line of serial output), then
 * compares. Built with -msse2; the code between loading and checking is kept off
 * the SSE and x87 registers by the "general-regs-only" target. seed=N varies the
 * XMM values (VMs side by side hold different ones); spin=N spins N million
 * iterations more without exits, adding xmm6 to xmm7 after each million, so the
 * host's tick preempts it (and, on several host CPUs, may move it to another CPU)
 * while its values are in the registers and changing: a stale copy of its state
 * brought back would lose some of the additions. */
#include "guests/rt/rt.h"

RT_GUEST("sse");

#define ROUNDS 1000
#define UNCLAIMED_PORT 0x300
#define MXCSR_VALUE 0x7f80              /* all masked, round toward zero */
#define FCW_VALUE 0x027f                /* all masked, 53-bit precision */

static uint32_t xmm_in[8][4], xmm_out[8][4];
static uint8_t x87_in[8][10], x87_out[8][10];
static uint32_t mxcsr_out;
static uint16_t fcw_out;
static const double minus_3_25 = -3.25;

static void enable_sse(void)
{
	/* SDM Vol. 3A 13.1.3: CR0.EM=0, CR0.MP=1, CR4.OSFXSR and OSXMMEXCPT. */
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
}

static void load_x87(void)
{
	uint16_t fcw = FCW_VALUE;
	__asm__ volatile("fninit; fldcw %0; fld1; fldpi; fldl2e; fldl2t; fldlg2;"
			 "fldln2; fldz; fldl %1" : : "m"(fcw), "m"(minus_3_25));
}

static void store_x87(uint8_t out[8][10])
{
	for (int i = 0; i < 8; i++)
		__asm__ volatile("fstpt %0" : "=m"(*(uint8_t(*)[10])out[i]));
}

static void load_xmm(void)
{
	__asm__ volatile("movdqu 0(%0), %%xmm0; movdqu 16(%0), %%xmm1;"
			 "movdqu 32(%0), %%xmm2; movdqu 48(%0), %%xmm3;"
			 "movdqu 64(%0), %%xmm4; movdqu 80(%0), %%xmm5;"
			 "movdqu 96(%0), %%xmm6; movdqu 112(%0), %%xmm7"
			 : : "r"(xmm_in), "m"(xmm_in)
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
	uint32_t m = MXCSR_VALUE;
	__asm__ volatile("ldmxcsr %0" : : "m"(m));
}

static void store_xmm(void)
{
	__asm__ volatile("movdqu %%xmm0, 0(%0); movdqu %%xmm1, 16(%0);"
			 "movdqu %%xmm2, 32(%0); movdqu %%xmm3, 48(%0);"
			 "movdqu %%xmm4, 64(%0); movdqu %%xmm5, 80(%0);"
			 "movdqu %%xmm6, 96(%0); movdqu %%xmm7, 112(%0);"
			 "stmxcsr %1"
			 : : "r"(xmm_out), "m"(mxcsr_out) : "memory");
}

__attribute__((noinline, target("general-regs-only")))
static void make_exits(void)
{
	for (unsigned i = 1; i <= ROUNDS; i++) {
		uint32_t a = 0, b, c = 0, d;
		uint8_t v;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"((uint16_t)UNCLAIMED_PORT));
		if (i % 100 == 0)
			rt_printf("round %u\n", i);
	}
}

__attribute__((noinline, target("general-regs-only")))
static void spin(uint32_t millions)
{
	for (uint32_t m = 0; m < millions; m++) {
		for (uint32_t i = 0; i < 1000000; i++)
			__asm__ volatile("" ::: "memory");
		__asm__ volatile("paddd %xmm6, %xmm7");   /* no SSE code of the compiler's here */
	}
}

void guest_main(void)
{
	uint32_t seed = rt_arg_uint("seed=", 0), millions = rt_arg_uint("spin=", 0);
	enable_sse();
	for (uint32_t i = 0; i < 8; i++)        /* distinct in every byte */
		for (uint32_t j = 0; j < 4; j++)
			xmm_in[i][j] = (0x01020304u * (4 * i + j + 1) ^ 0xa5000000u) + seed * 0x11111111u;

	load_x87();                             /* the reference x87 values */
	store_x87(x87_in);

	load_x87();
	load_xmm();
	make_exits();
	spin(millions);
	store_xmm();
	__asm__ volatile("fnstcw %0" : "=m"(fcw_out));
	store_x87(x87_out);

	for (uint32_t j = 0; j < 4; j++)        /* what spin() added */
		xmm_in[7][j] += millions * xmm_in[6][j];
	for (int i = 0; i < 8; i++)
		rt_check(memcmp(xmm_in[i], xmm_out[i], 16) == 0,
			 "xmm%d %08x%08x%08x%08x", i, xmm_out[i][3], xmm_out[i][2],
			 xmm_out[i][1], xmm_out[i][0]);
	rt_check(mxcsr_out == MXCSR_VALUE, "mxcsr %08x", mxcsr_out);
	rt_check(fcw_out == FCW_VALUE, "x87 control word %04x", fcw_out);
	for (int i = 0; i < 8; i++)
		rt_check(memcmp(x87_in[i], x87_out[i], 10) == 0, "st(%d) %02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
			 i, x87_out[i][9], x87_out[i][8], x87_out[i][7], x87_out[i][6],
			 x87_out[i][5], x87_out[i][4], x87_out[i][3], x87_out[i][2],
			 x87_out[i][1], x87_out[i][0]);
}
