/* debugregs: the debug registers are the guest's own (SDM Vol. 3A ch. 18, Vol. 2B
 * "MOV—Move to/from Debug Registers"; APM Vol. 2 13.1), INVD completes, and
 * breakpoints and single steps raise #DB with the right DR6 bits.
 *
 *   (no argument)    the checks below; PASS debugregs
 *   long=1           the first MOV DR in 64-bit mode (a 64-bit DR1 through R9,
 *                    read back through R10), then the checks below
 *   role=writer      DR0-3 := a pattern (pattern=, default 0x00a0a000), then for
 *                    n= rounds (default 40) reads them back: always its own
 *   role=reader      for n= rounds reads DR0-3, which it never wrote: always 0;
 *                    then writes pattern= and reads that back for n= rounds
 *                    (both roles do the same with IA32_TSC_AUX through RDTSCP
 *                    where CPUID offers it: another register guest instructions
 *                    read straight from the hardware)
 *   loop=db          an instruction breakpoint on its own #DB handler: delivering
 *                    #DB raises #DB again before the handler's first instruction,
 *                    forever (the hypervisor must keep its CPU: CVE-2015-8104)
 *   loop=icebp       a #DB handler that is an INT1 (ICEBP): #DB forever
 *   loop=ac          alignment checking at CPL 3 on a misaligned stack, with a
 *                    CPL-3 #AC handler: delivering #AC raises #AC again, forever
 *                    (CVE-2015-5307); QEMU's TCG raises no #AC at all
 *
 * A round is about 2^20 loop iterations, so next to another VM on one host CPU
 * the rounds span several of the scheduler's turns. */
#include "guests/rt/rt.h"

RT_GUEST("debugregs");

#define CR4_DE (1u << 3)
#define DR6_BS (1u << 14)
#define DR6_B0 (1u << 0)
#define DR7_L0 (1u << 0)
#define DR7_RW0_WRITE (1u << 16)            /* R/W0 = 01: data writes */
#define DR7_LEN0_4 (3u << 18)               /* LEN0 = 11: 4 bytes */
#define EFLAGS_TF (1u << 8)

#define DEFINE_DR(n)                                                          \
	static inline uint32_t read_dr##n(void)                               \
	{ uint32_t v; __asm__ volatile("mov %%db" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_dr##n(uint32_t v)                            \
	{ __asm__ volatile("mov %0, %%db" #n :: "r"(v)); }
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
DEFINE_DR(7)

static void read_all(uint32_t d[4])
{
	d[0] = read_dr0(); d[1] = read_dr1(); d[2] = read_dr2(); d[3] = read_dr3();
}

#define CPUID_80000001_EDX_RDTSCP (1u << 27)

static bool has_rdtscp(void)
{
	return cpuid(0x80000000u, 0).eax >= 0x80000001u &&
	       (cpuid(0x80000001u, 0).edx & CPUID_80000001_EDX_RDTSCP);
}

static uint32_t rdtscp_aux(void)
{
	uint32_t lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	return aux;
}

static void write_all(uint32_t p)
{
	write_dr0(p); write_dr1(p + 1); write_dr2(p + 2); write_dr3(p + 3);
	if (has_rdtscp())
		wrmsr(RT_MSR_TSC_AUX, p);
}

/* All four equal to base + i (base 0: all zero); else report and return false. */
static bool same(const uint32_t d[4], uint32_t base)
{
	for (int i = 0; i < 4; i++)
		if (d[i] != (base ? base + (uint32_t)i : 0))
			return false;
	return true;
}

static void spin_a_bit(void)
{
	for (volatile uint32_t i = 0; i < (1u << 20); i++)
		;
}

/* Read DR0-3 for rounds rounds and check they are always base (+ i). */
static void watch(const char *what, uint32_t base, uint32_t rounds)
{
	uint32_t bad = 0, d[4] = { 0 }, seen[4] = { 0 }, aux_bad = 0, aux_seen = 0;
	bool aux = has_rdtscp();
	for (uint32_t r = 0; r < rounds; r++) {
		read_all(d);
		if (!same(d, base) && !bad++)
			for (int i = 0; i < 4; i++)
				seen[i] = d[i];
		uint32_t a = aux ? rdtscp_aux() : base;
		if (a != base && !aux_bad++)
			aux_seen = a;
		spin_a_bit();
	}
	rt_check(bad == 0, "%s: DR0-3 read %u times, %u time(s) not its own (first: %08x %08x %08x %08x)",
		 what, rounds, bad, seen[0], seen[1], seen[2], seen[3]);
	if (aux)
		rt_check(aux_bad == 0, "%s: TSC_AUX read by RDTSCP %u times, %u time(s) not its own (first: %08x)",
			 what, rounds, aux_bad, aux_seen);
}

static void do_mov_dr4(void *arg) { (void)arg; uint32_t v; __asm__ volatile("mov %%db4, %0" : "=r"(v)); }
static volatile uint32_t watched;
static void do_watched_write(void *arg) { (void)arg; watched = 0x1234; __asm__ volatile("nop"); }

static void do_single_step(void *arg)
{
	(void)arg;
	__asm__ volatile("pushfl\n\t"
			 "orl %0, (%%esp)\n\t"
			 "popfl\n\t"               /* TF takes effect after the next one */
			 "nop\n\t"                 /* single-stepped: #DB after it */
			 "nop" :: "i"(EFLAGS_TF) : "memory", "cc");
}

extern const uint32_t rt_trap_stubs[32];

/* An instruction breakpoint on the #DB handler's first instruction: every
 * delivery of #DB faults again there. The stack moves to 8 MiB, where the
 * frames (12 bytes each) land in free RAM. */
static void loop_db(void)
{
	rt_printf("arming an instruction breakpoint on the #DB handler at %08x\n", rt_trap_stubs[1]);
	rt_flush();
	write_dr0(rt_trap_stubs[1]);
	write_dr7(DR7_L0);                      /* R/W0 = 00, LEN0 = 00: execution */
	__asm__ volatile("movl $0x800000, %%esp\n\t"
			 "pushfl\n\t"
			 "orl %0, (%%esp)\n\t"
			 "popfl\n\t"
			 "nop\n\t"
			 "1: jmp 1b" :: "i"(EFLAGS_TF) : "memory", "cc");
}

/* The #DB handler is an INT1 (ICEBP, F1): it raises #DB before doing anything. */
static uint64_t idt_saved;
static void loop_icebp(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr;
	static const uint8_t icebp_handler[16] __attribute__((aligned(16))) = { 0xF1, 0xEB, 0xFD };
	__asm__ volatile("sidt %0" : "=m"(idtr));
	uint32_t *gate = (uint32_t *)(idtr.base + 8 * 1);
	uint32_t h = (uint32_t)icebp_handler;
	idt_saved = gate[0] | (uint64_t)gate[1] << 32;
	gate[0] = (gate[0] & 0xFFFF0000u) | (h & 0xFFFF);
	gate[1] = (gate[1] & 0x0000FFFFu) | (h & 0xFFFF0000u);
	rt_printf("#DB handler replaced by INT1 at %08x\n", h);
	rt_flush();
	__asm__ volatile("movl $0x800000, %%esp\n\t"
			 ".byte 0xF1\n\t"
			 "1: jmp 1b" ::: "memory");
}

/* CPL 3 with CR0.AM and EFLAGS.AC set, a misaligned stack, and an #AC handler in
 * a DPL-3 code segment: the exception stays at CPL 3, so its frame goes onto the
 * misaligned stack, which raises #AC again (SDM Vol. 3A 6.15 "Interrupt 17").
 * Should a CPU not check those pushes, the handler's first instruction is a
 * misaligned load: #AC again at its first instruction. */
#define CR0_AM (1u << 18)
#define EFLAGS_AC (1u << 18)
#define EFLAGS_IF (1u << 9)
#define SEL_USER_CODE 0x33                   /* GDT entry 6, RPL 3 */
#define SEL_USER_DATA 0x3b                   /* GDT entry 7, RPL 3 */
static uint64_t gdt_user[8] __attribute__((aligned(8)));
extern const char ac_user_code[], ac_user_handler[];
__asm__(".text\n"
	"ac_user_code:    movl %eax, 0x800005\n"   /* misaligned store: #AC */
	"                 jmp ac_user_code\n"
	"ac_user_handler: movl 0x800003, %eax\n"   /* misaligned load: #AC */
	"                 jmp ac_user_handler\n");

static void loop_ac(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	uint32_t n = (gdtr.limit + 1u) / 8;
	for (uint32_t i = 0; i < n && i < 6; i++)
		gdt_user[i] = ((uint64_t *)gdtr.base)[i];
	gdt_user[6] = 0x00CFFA000000FFFFull;       /* flat 32-bit code, DPL 3 */
	gdt_user[7] = 0x00CFF2000000FFFFull;       /* flat data, DPL 3 */
	gdtr.limit = sizeof gdt_user - 1;
	gdtr.base = (uint32_t)gdt_user;
	__asm__ volatile("lgdt %0" :: "m"(gdtr));
	uint32_t *gate = (uint32_t *)(idtr.base + 8 * 17);
	uint32_t h = (uint32_t)ac_user_handler;
	gate[0] = ((uint32_t)SEL_USER_CODE << 16) | (h & 0xFFFF);
	gate[1] = (h & 0xFFFF0000u) | 0x8E00;      /* present 32-bit interrupt gate */
	rt_printf("to CPL 3 with CR0.AM, EFLAGS.AC and a misaligned stack; #AC handler at CPL 3\n");
	rt_flush();
	write_cr0(read_cr0() | CR0_AM);
	__asm__ volatile("movw %w0, %%ds\n\t"
			 "movw %w0, %%es\n\t"
			 "pushl %0\n\t"                /* SS */
			 "pushl $0x800001\n\t"         /* ESP: misaligned */
			 "pushfl\n\t"
			 "orl %1, (%%esp)\n\t"
			 "andl %2, (%%esp)\n\t"
			 "pushl %3\n\t"                /* CS */
			 "pushl %4\n\t"                /* EIP */
			 "iret"
			 :: "r"(SEL_USER_DATA), "i"(EFLAGS_AC), "i"(~EFLAGS_IF),
			    "i"(SEL_USER_CODE), "r"(ac_user_code) : "memory");
}

/* 64-bit mode through rt_call64: the first 1 GiB identity-mapped with 2 MiB pages. */
#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)
#define LONG_DR1 0xffff800012345678ull
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
uint64_t dr_long_result[2];
extern const char dr_long_body[];
#define STR_(x) #x
#define STR(x) STR_(x)
__asm__(".text\n"
	".code64\n"
	"dr_long_body:\n"
	"	movabsq $" STR(LONG_DR1) ", %r9\n"
	"	movq %r9, %db1\n"               /* the VM's first MOV DR: REX.B, 64 bits */
	"	movq %db1, %r10\n"
	"	movq %db0, %rax\n"
	"	movl $dr_long_result, %edi\n"
	"	movq %r10, (%rdi)\n"
	"	movq %rax, 8(%rdi)\n"
	"	ret\n"
	".code32\n");

static void long_mode_first(void)
{
	pdpt[0] = (uint32_t)pd | PTE_P | PTE_RW;
	for (uint32_t j = 0; j < 512; j++)
		pd[j] = ((uint64_t)j << 21) | PTE_P | PTE_RW | PTE_PS;
	pml4[0] = (uint32_t)pdpt | PTE_P | PTE_RW;
	rt_call64((uint32_t)pml4, dr_long_body, 0);
	rt_check(dr_long_result[0] == LONG_DR1, "64-bit mode: DR1 := %016llx through r9, read back %016llx",
		 LONG_DR1, dr_long_result[0]);
	rt_check(dr_long_result[1] == 0, "64-bit mode: DR0 never written reads %016llx", dr_long_result[1]);
	uint32_t low = read_dr1();
	rt_check(low == (uint32_t)LONG_DR1, "32-bit mode: DR1 reads its low half %08x", low);
	write_dr1(0);
}

static void checks(void)
{
	struct rt_fault f;
	uint32_t d[4];

	/* (a) DR0-3 at reset, a pattern written and read back. */
	read_all(d);
	rt_check(same(d, 0), "DR0-3 at start: %08x %08x %08x %08x", d[0], d[1], d[2], d[3]);
	write_all(0x5a5a0000);
	read_all(d);
	rt_check(same(d, 0x5a5a0000), "DR0-3 read back: %08x %08x %08x %08x", d[0], d[1], d[2], d[3]);
	uint32_t dr7 = read_dr7();
	rt_check(dr7 == 0x400, "DR7 at start: %08x", dr7);
	uint32_t dr6 = read_dr6();
	rt_check((dr6 & 0xFFFF0FF0u) == 0xFFFF0FF0u && !(dr6 & 0xF), "DR6 at start: %08x", dr6);

	/* (b) DR4 aliases DR6 with CR4.DE = 0, and raises #UD with CR4.DE = 1. */
	uint32_t dr4;
	__asm__ volatile("mov %%db4, %0" : "=r"(dr4));
	rt_check(dr4 == read_dr6(), "CR4.DE=0: DR4 reads DR6 (%08x)", dr4);
	write_cr4(read_cr4() | CR4_DE);
	if (!rt_try(do_mov_dr4, 0, &f))
		rt_check(false, "CR4.DE=1: mov dr4: no fault, want #UD");
	else
		rt_check(f.vector == 6, "CR4.DE=1: mov dr4: %s", rt_vector_name(f.vector));
	write_cr4(read_cr4() & ~CR4_DE);
	/* (#GP for DR6/DR7 bits 63:32 needs a 64-bit operand, i.e. 64-bit mode,
	 * where this runtime has no IDT: not checked here.) */

	/* (c) INVD: completed (as a no-op by a hypervisor), execution goes on. */
	__asm__ volatile("invd" ::: "memory");
	rt_check(true, "invd completed");

	/* (d) A data breakpoint: DR0 on a variable, DR7 L0 write 4 bytes. */
	write_dr6(0xFFFF0FF0u);
	write_dr0((uint32_t)&watched);
	write_dr7(0x400 | DR7_L0 | DR7_RW0_WRITE | DR7_LEN0_4);
	int hit = rt_try(do_watched_write, 0, &f);
	write_dr7(0x400);
	dr6 = read_dr6();
	rt_check(hit && f.vector == 1 && (dr6 & DR6_B0) && !(dr6 & DR6_BS),
		 "data breakpoint on %08x: %s, DR6=%08x (B0)", (uint32_t)&watched,
		 hit ? rt_vector_name(f.vector) : "no exception", dr6);
	rt_check(watched == 0x1234, "the write itself happened (%x)", watched);

	/* (e) Single step: TF set, one instruction, #DB with DR6.BS. */
	write_dr6(0xFFFF0FF0u);
	hit = rt_try(do_single_step, 0, &f);
	dr6 = read_dr6();
	rt_check(hit && f.vector == 1 && (dr6 & DR6_BS) && !(dr6 & 0xF),
		 "single step: %s, DR6=%08x (BS)", hit ? rt_vector_name(f.vector) : "no exception", dr6);
	write_dr6(0xFFFF0FF0u);
}

void guest_main(void)
{
	const char *role = rt_arg("role=");
	const char *loop = rt_arg("loop=");
	uint32_t pattern = rt_arg_uint("pattern=", 0x00a0a000), rounds = rt_arg_uint("n=", 40);

	if (loop && loop[0] == 'd') {
		loop_db();
	} else if (loop && loop[0] == 'a') {
		loop_ac();
	} else if (loop && loop[0] == 'i') {
		loop_icebp();
	} else if (role && role[0] == 'w') {
		write_all(pattern);
		rt_printf("wrote DR0-3 = %08x..%08x\n", pattern, pattern + 3);
		watch("writer", pattern, rounds);
	} else if (role && role[0] == 'r') {
		watch("reader, never written", 0, rounds);
		write_all(pattern);
		watch("reader, own pattern", pattern, rounds);
	} else {
		if (rt_arg("long="))
			long_mode_first();
		checks();
	}
	(void)idt_saved;
}
