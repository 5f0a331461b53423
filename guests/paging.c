/* paging: turns paging on in 32-bit, PAE and 4-level (long mode) paging, and
 * checks what the CPU promises (Intel SDM Vol. 3A ch. 4): translations, A/D bits
 * (4.8), #PF error codes and CR2 (4.7), write protection with CR0.WP (4.6), NX
 * with EFER.NXE (4.6), unmapping and remapping live entries with INVLPG and
 * switching among address spaces (4.10.4). The same results are expected under
 * nested and shadow paging.
 *
 * Layout: the first 32 MiB are identity-mapped with 4 KiB pages (code, data,
 * tables); a test window of pages at WIN is mapped to physical pages at PHYS.
 * Arguments: rounds=N (address-space switches, default 60), touch=MIB (then
 * touches MIB MiB through a fresh mapping each 4 KiB, for the shadow bound). */
#include "guests/rt/rt.h"

RT_GUEST("paging");

#define PG_P   (1ull << 0)
#define PG_RW  (1ull << 1)
#define PG_US  (1ull << 2)
#define PG_A   (1ull << 5)
#define PG_D   (1ull << 6)
#define PG_XD  (1ull << 63)
#define CR0_WP (1u << 16)
#define EFER_NXE (1u << 11)
#define PF_P   0x1u                   /* #PF error code bits (4.7) */
#define PF_W   0x2u
#define PF_U   0x4u
#define PF_I   0x10u
#define EXC_PF 14
#define OP_RET 0xC3
#define PAGE   4096u
#define ID_MIB 32                     /* identity-mapped low memory */
#define ID_PT32 (ID_MIB / 4)          /* 4 MiB per 32-bit page table */
#define ID_PT64 (ID_MIB / 2)          /* 2 MiB per PAE/4-level page table */
#define TOUCH_PT 4                    /* touch=: at most 16 MiB */
#define WIN    0x40000000u            /* 1 GiB: the test window */
#define PHYS   0x01000000u            /* 16 MiB: the window's physical pages */
#define NAS    3                      /* address spaces */
#define SIZE_2M 0x200000u
#define SIZE_4M 0x400000u
#define LARGE_PHYS 0x01400000u        /* 20 MiB: 4 MiB aligned, two large pages */
#define PG_PS  (1ull << 7)
#define CR4_PSE (1u << 4)
#define STR_(x) #x
#define STR(x) STR_(x)

/* 32-bit paging: one PD per address space, two identity PTs, one window PT each. */
static uint32_t pd32[NAS][1024] __attribute__((aligned(4096)));
static uint32_t id32[ID_PT32][1024] __attribute__((aligned(4096)));
static uint32_t win32[NAS][1024] __attribute__((aligned(4096)));
/* PAE: a PDPT and PD per address space, 4 identity PTs, one window PT each. The
 * same PDs and PTs serve 4-level paging under a PML4 and a PDPT with R/W set. */
static uint64_t pdpt[NAS][4] __attribute__((aligned(32)));
static uint64_t pd64[NAS][4][512] __attribute__((aligned(4096)));
static uint64_t id64[ID_PT64][512] __attribute__((aligned(4096)));
static uint64_t win64[NAS][512] __attribute__((aligned(4096)));
static uint64_t pml4[NAS][512] __attribute__((aligned(4096)));
static uint64_t pdpt4[NAS][512] __attribute__((aligned(4096)));

static bool pae;                      /* which set the helpers below use */

static uint32_t phys(unsigned n) { return PHYS + n * PAGE; }
static volatile uint32_t *virt(unsigned n) { return (volatile uint32_t *)(WIN + n * PAGE); }

static uint64_t pte(unsigned as, unsigned n) { return pae ? win64[as][n] : win32[as][n]; }
static void set_pte(unsigned as, unsigned n, uint64_t v)
{
	if (pae)
		win64[as][n] = v;
	else
		win32[as][n] = (uint32_t)v;
}
static void invlpg(volatile void *p) { __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory"); }

/* INVPCID (SDM Vol. 2A): type 0 drops one address of a PCID, type 2 everything.
 * PCID 0 is the only one without CR4.PCIDE. */
#define INVPCID_ADDRESS 0u
#define INVPCID_ALL 2u
#define CPUID_7_EBX_INVPCID (1u << 10)
static void invpcid(uint32_t type, volatile void *p)
{
	struct { uint64_t pcid, addr; } d = { 0, (uint32_t)p };
	__asm__ volatile("invpcid %0, %1" : : "m"(d), "r"(type) : "memory");
}
/* The directory entry after the window's page table: a large page at pa, or none. */
static void set_large(uint32_t pa)
{
	uint64_t e = pa ? pa | PG_P | PG_RW | PG_PS : 0;
	if (pae)
		pd64[0][1][1] = e;
	else
		pd32[0][(WIN >> 22) + 1] = (uint32_t)e;
}

static uint32_t cr3_of(unsigned as) { return pae ? (uint32_t)pdpt[as] : (uint32_t)pd32[as]; }

static void build_tables(void)
{
	for (unsigned i = 0; i < ID_PT32 * 1024; i++)
		id32[i / 1024][i % 1024] = i * PAGE | PG_P | PG_RW | PG_US;
	for (unsigned i = 0; i < ID_PT64 * 512; i++)
		id64[i / 512][i % 512] = (uint64_t)i * PAGE | PG_P | PG_RW | PG_US;
	for (unsigned as = 0; as < NAS; as++) {
		for (unsigned i = 0; i < ID_PT32; i++)
			pd32[as][i] = (uint32_t)id32[i] | PG_P | PG_RW | PG_US;
		pd32[as][WIN >> 22] = (uint32_t)win32[as] | PG_P | PG_RW | PG_US;
		for (unsigned i = 0; i < ID_PT64; i++)
			pd64[as][0][i] = (uint32_t)id64[i] | PG_P | PG_RW | PG_US;
		pd64[as][1][0] = (uint32_t)win64[as] | PG_P | PG_RW | PG_US;   /* WIN = PDPTE 1 */
		for (unsigned i = 0; i < 4; i++) {
			pdpt[as][i] = (uint32_t)pd64[as][i] | PG_P;
			pdpt4[as][i] = (uint32_t)pd64[as][i] | PG_P | PG_RW;
		}
		pml4[as][0] = (uint32_t)pdpt4[as] | PG_P | PG_RW;
	}
}

/* Paging on with address space `as` in the current mode. */
static void paging_on(unsigned as)
{
	write_cr3(cr3_of(as));
	write_cr4(pae ? read_cr4() | CR4_PAE : read_cr4() & ~CR4_PAE);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~CR4_PAE);
}

/* ---- ring 3 (SDM Vol. 3A 6.12.1: a fault in ring 3 switches to the TSS's SS0:ESP0).
 * The GDT is the runtime's plus user code/data and a TSS. user_read/user_write run
 * in ring 3 with the address in EAX, do the access, then UD2: #UD (vector 6) back
 * in ring 0 means the access went through, #PF that it faulted. */
#define SEL_UCODE (0x30 | 3)
#define SEL_UDATA (0x38 | 3)
#define SEL_TSS   0x40
#define EXC_UD    6
static uint64_t gdt[9] __attribute__((aligned(8))) = {
	0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull, 0x00009a000000ffffull,
	0x000092000000ffffull, 0x00af9a000000ffffull,
	0x00cffa000000ffffull,          /* 0x30 user code32, DPL 3 */
	0x00cff2000000ffffull,          /* 0x38 user data32, DPL 3 */
	0,                              /* 0x40 TSS, filled in */
};
static uint32_t tss[26] __attribute__((aligned(8)));
static uint8_t ring0_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));

static void ring3_init(void)
{
	uint32_t base = (uint32_t)tss, limit = sizeof tss - 1;
	tss[1] = (uint32_t)(ring0_stack + sizeof ring0_stack);      /* ESP0 */
	tss[2] = RT_SEL_DATA32;                                     /* SS0 */
	tss[25] = (uint32_t)sizeof tss << 16;                       /* no I/O bitmap */
	gdt[SEL_TSS / 8] = (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
			   (0x89ull << 40) | ((uint64_t)(base >> 24) << 56);
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } d = { sizeof gdt - 1, (uint32_t)gdt };
	__asm__ volatile("lgdt %0\n\tltr %w1" : : "m"(d), "r"(SEL_TSS));
}

void user_read(void);
void user_write(void);
__asm__(".text\nuser_read: movl (%eax), %ecx\n ud2\nuser_write: movl %ecx, (%eax)\n ud2\n");

struct user_op { void (*stub)(void); volatile void *addr; };

static void enter_user(void *arg)
{
	const struct user_op *op = arg;
	__asm__ volatile("movw %w0, %%ds\n\tmovw %w0, %%es\n\t"
			 "pushl %0\n\tpushl %1\n\tpushfl\n\tpushl %2\n\tpushl %3\n\tiret"
			 : : "r"((uint32_t)SEL_UDATA), "r"((uint32_t)(user_stack + sizeof user_stack)),
			   "r"((uint32_t)SEL_UCODE), "r"(op->stub), "a"(op->addr), "c"(0x75757575)
			 : "memory");
}

/* Run stub in ring 3 on addr: 0 if it got through, else the #PF error code. */
static int user_access(void (*stub)(void), volatile void *addr, const char *what)
{
	struct rt_fault f;
	struct user_op op = { stub, addr };
	write_cr2(0);
	rt_try(enter_user, &op, &f);
	__asm__ volatile("movw %w0, %%ds\n\tmovw %w0, %%es" : : "r"((uint32_t)RT_SEL_DATA32));
	if (f.vector == EXC_UD)
		return 0;
	if (f.vector != EXC_PF || read_cr2() != (uint32_t)addr) {
		rt_check(false, "%s: %s at eip %x, cr2 %x", what, rt_vector_name(f.vector), f.eip,
			 read_cr2());
		return -1;
	}
	return (int)f.error;
}

static void do_read(void *p) { (void)*(volatile uint32_t *)p; }
static void do_write(void *p) { *(volatile uint32_t *)p = 0x5a5a5a5a; }
static void do_call(void *p) { ((void (*)(void))p)(); }

/* Expect fn(p) to raise #PF with this error code and CR2 = p. */
static void expect_pf(void (*fn)(void *), volatile void *p, uint32_t error, const char *what)
{
	struct rt_fault f;
	write_cr2(0);
	int r = rt_try(fn, (void *)p, &f);
	uint32_t cr2 = read_cr2();
	rt_check(r == 1 && f.vector == EXC_PF && f.error == error && cr2 == (uint32_t)p,
		 "%s: #PF error %x cr2 %08x (got %s error %x cr2 %08x)", what, error,
		 (uint32_t)p, r ? rt_vector_name(f.vector) : "no fault", f.error, cr2);
}

static void expect_ok(void (*fn)(void *), volatile void *p, const char *what)
{
	struct rt_fault f;
	int r = rt_try(fn, (void *)p, &f);
	if (r)
		rt_check(false, "%s: %s error %x", what, rt_vector_name(f.vector), f.error);
	else
		rt_check(true, "%s: no fault", what);
}

/* The checks of one mode (32-bit or PAE), on address space 0 and the others. */
static void suite(const char *mode)
{
	rt_printf("%s paging\n", mode);
	for (unsigned as = 0; as < NAS; as++)
		for (unsigned n = 0; n < 8; n++)
			set_pte(as, n, 0);
	for (unsigned n = 0; n < 8; n++)
		*(volatile uint32_t *)phys(n) = 0x1000 + n;
	set_pte(0, 0, phys(0) | PG_P | PG_RW);
	set_pte(0, 1, phys(1) | PG_P);
	paging_on(0);

	/* SMSW reads CR0's low bits (register and memory forms). */
	uint32_t msw_reg;
	uint16_t msw_mem;
	__asm__ volatile("smsw %0" : "=r"(msw_reg));
	__asm__ volatile("smsw %0" : "=m"(msw_mem));
	rt_check((msw_reg & 0xffff) == (read_cr0() & 0xffff) && msw_mem == (uint16_t)read_cr0(),
		 "%s: SMSW gives CR0's low bits (%x, %x)", mode, msw_reg, msw_mem);

	/* A read sets A, a write sets D (4.8). */
	rt_check(*virt(0) == 0x1000, "%s: read through a new mapping", mode);
	rt_check((pte(0, 0) & (PG_A | PG_D)) == PG_A, "%s: A set, D clear after a read", mode);
	*virt(0) = 0xabcd0000;
	rt_check(*(volatile uint32_t *)phys(0) == 0xabcd0000, "%s: the write reached the page", mode);
	rt_check((pte(0, 0) & (PG_A | PG_D)) == (PG_A | PG_D), "%s: D set after a write", mode);

	/* Not present (P=0 in the error code) and write protection (4.6, 4.7). */
	expect_pf(do_read, virt(2), 0, "read of an unmapped page");
	expect_pf(do_write, virt(2), PF_W, "write to an unmapped page");
	rt_check(*virt(1) == 0x1001, "%s: read of a read-only page", mode);
	expect_pf(do_write, virt(1), PF_P | PF_W, "write to a read-only page with CR0.WP=1");
	rt_check(!(pte(0, 1) & PG_D), "%s: no D after a refused write", mode);
	write_cr0(read_cr0() & ~CR0_WP);
	expect_ok(do_write, virt(1), "supervisor write to a read-only page with CR0.WP=0");
	rt_check(*(volatile uint32_t *)phys(1) == 0x5a5a5a5a && (pte(0, 1) & PG_D),
		 "%s: the CR0.WP=0 write landed and set D", mode);
	write_cr0(read_cr0() | CR0_WP);
	expect_pf(do_write, virt(1), PF_P | PF_W, "write to a read-only page with CR0.WP=1 again");

	/* User mode (4.6.1): U/S, and R/W for user writes whatever CR0.WP says. */
	set_pte(0, 3, phys(3) | PG_P | PG_RW | PG_US);
	set_pte(0, 4, phys(4) | PG_P | PG_US);
	set_pte(0, 5, phys(5) | PG_P | PG_RW);
	rt_check(user_access(user_read, virt(3), "user read") == 0, "%s: user read of a user page", mode);
	rt_check(user_access(user_write, virt(3), "user write") == 0 && *virt(3) == 0x75757575 &&
		 (pte(0, 3) & PG_D), "%s: user write to a user page, D set", mode);
	int e = user_access(user_read, virt(5), "user read");
	rt_check(e == (int)(PF_P | PF_U), "%s: user read of a supervisor page: #PF %x", mode, e);
	e = user_access(user_read, virt(6), "user read");
	rt_check(e == (int)PF_U, "%s: user read of an unmapped page: #PF %x", mode, e);
	write_cr0(read_cr0() & ~CR0_WP);
	expect_ok(do_write, virt(4), "supervisor write to a read-only user page with CR0.WP=0");
	rt_check(user_access(user_read, virt(4), "user read") == 0 && *virt(4) == 0x5a5a5a5a,
		 "%s: then a user read of it sees the write", mode);
	e = user_access(user_write, virt(4), "user write");
	rt_check(e == (int)(PF_P | PF_W | PF_U), "%s: user write to it with CR0.WP=0: #PF %x", mode, e);
	expect_ok(do_write, virt(4), "and a supervisor write again");
	write_cr0(read_cr0() | CR0_WP);
	for (unsigned n = 3; n < 7; n++) {
		set_pte(0, n, 0);
		invlpg(virt(n));
	}
	for (unsigned n = 3; n < 7; n++)
		*(volatile uint32_t *)phys(n) = 0x1000 + n;

	/* Unmap and remap live entries, with INVLPG (4.10.4.1). */
	set_pte(0, 0, 0);
	invlpg(virt(0));
	expect_pf(do_read, virt(0), 0, "read after unmapping and INVLPG");
	set_pte(0, 0, phys(3) | PG_P | PG_RW);
	invlpg(virt(0));
	rt_check(*virt(0) == 0x1003, "%s: remapped to another page", mode);
	set_pte(0, 0, phys(4) | PG_P | PG_RW);
	invlpg(virt(0));
	rt_check(*virt(0) == 0x1004, "%s: and to a third", mode);
	/* The same with INVPCID where the CPU has it (Bochs' Skylake; QEMU's EPYC
	 * has not: INVLPG there, so the output is the same): under shadow paging on
	 * VMX it exits and hv86 carries it out. */
	bool has_invpcid = cpuid(7, 0).ebx & CPUID_7_EBX_INVPCID;
	set_pte(0, 0, phys(5) | PG_P | PG_RW);
	if (has_invpcid)
		invpcid(INVPCID_ADDRESS, virt(0));
	else
		invlpg(virt(0));
	rt_check(*virt(0) == 0x1005, "%s: remapped, then INVPCID (or INVLPG) of the address", mode);
	set_pte(0, 0, phys(4) | PG_P | PG_RW);
	if (has_invpcid)
		invpcid(INVPCID_ALL, virt(0));
	else
		invlpg(virt(0));
	rt_check(*virt(0) == 0x1004, "%s: remapped back, then INVPCID (or INVLPG) of all", mode);
	set_pte(0, 2, phys(5) | PG_P | PG_RW);      /* not present -> present: no INVLPG needed */
	rt_check(*virt(2) == 0x1005, "%s: a new mapping without INVLPG", mode);

	/* A large page (32-bit: 4 MiB with CR4.PSE; PAE: 2 MiB) remapped at once:
	 * INVLPG of any address in it drops all of it (4.10.4.1). */
	uint32_t big = pae ? SIZE_2M : SIZE_4M, lva = WIN + (pae ? SIZE_2M : SIZE_4M);
	uint32_t pa1 = LARGE_PHYS, pa2 = LARGE_PHYS + big;
	*(volatile uint32_t *)(pa1 + PAGE) = 0x6001;
	*(volatile uint32_t *)(pa2 + PAGE) = 0x6002;
	if (!pae)
		write_cr4(read_cr4() | CR4_PSE);
	set_large(pa1);
	rt_check(*(volatile uint32_t *)(lva + PAGE) == 0x6001, "%s: read through a large page", mode);
	set_large(pa2);
	invlpg((volatile void *)(lva + big - PAGE));    /* another address in the page */
	rt_check(*(volatile uint32_t *)(lva + PAGE) == 0x6002,
		 "%s: remapped large page after INVLPG of another address in it", mode);
	/* A page written through the (dirty, writable) large page becomes a page
	 * table; later writes to it through the large page must still reach the
	 * translation after a CR3 load (shadow paging: the large shadow leaf must
	 * have lost write access then, docs/shadow.md). */
	volatile uint32_t *tpte = (volatile uint32_t *)(lva + 2 * PAGE);
	uint32_t tva = WIN + 2 * big;
	*(volatile uint32_t *)phys(14) = 0x7001;
	*(volatile uint32_t *)phys(15) = 0x7002;
	tpte[0] = phys(14) | PG_P | PG_RW;
	tpte[1] = 0;
	if (pae)
		pd64[0][1][2] = (pa2 + 2 * PAGE) | PG_P | PG_RW;
	else
		pd32[0][(WIN >> 22) + 2] = (pa2 + 2 * PAGE) | PG_P | PG_RW;
	rt_check(*(volatile uint32_t *)tva == 0x7001, "%s: read through a table inside a large page",
		 mode);
	tpte[0] = phys(15) | PG_P | PG_RW;
	write_cr3(cr3_of(1));
	write_cr3(cr3_of(0));
	rt_check(*(volatile uint32_t *)tva == 0x7002,
		 "%s: that table rewritten through the large page, after a CR3 load", mode);
	if (pae)
		pd64[0][1][2] = 0;
	else
		pd32[0][(WIN >> 22) + 2] = 0;
	invlpg((volatile void *)tva);
	set_large(0);
	invlpg((volatile void *)lva);
	expect_pf(do_read, (volatile void *)(lva + PAGE), 0, "read after unmapping a large page");
	if (!pae)
		write_cr4(read_cr4() & ~CR4_PSE);

	/* NX (PAE with EFER.NXE only): a fetch from an XD page faults with I/D. */
	if (pae) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		*(volatile uint8_t *)phys(6) = OP_RET;
		set_pte(0, 6, phys(6) | PG_P | PG_RW | PG_XD);
		invlpg(virt(6));
		expect_pf(do_call, virt(6), PF_P | PF_I, "fetch from an NX page");
		set_pte(0, 6, phys(6) | PG_P | PG_RW);
		invlpg(virt(6));
		expect_ok(do_call, virt(6), "fetch once NX is clear");
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~(uint64_t)EFER_NXE);
	}

	/* Address spaces: page 7 of the window is a different page in each. */
	for (unsigned as = 0; as < NAS; as++) {
		*(volatile uint32_t *)phys(8 + as) = 0x2000 + as;
		set_pte(as, 7, phys(8 + as) | PG_P | PG_RW);
	}
	unsigned rounds = rt_arg_uint("rounds=", 60), bad = 0;
	for (unsigned i = 0; i < rounds; i++) {
		unsigned as = i % NAS;
		write_cr3(cr3_of(as));
		bad += *virt(7) != 0x2000 + as;
	}
	rt_check(!bad, "%s: %u switches among %u address spaces, each saw its own page",
		 mode, rounds, NAS);
	/* Change the tables of an address space that is not running; the CR3 load
	 * that switches to it must see the change (4.10.4.1). */
	write_cr3(cr3_of(0));
	set_pte(1, 7, phys(11) | PG_P | PG_RW);
	*(volatile uint32_t *)phys(11) = 0x3000;
	write_cr3(cr3_of(1));
	rt_check(*virt(7) == 0x3000, "%s: a table changed while not in use is seen", mode);
	write_cr3(cr3_of(0));
	rt_check(*virt(7) == 0x2000, "%s: and the first space is unchanged", mode);
	paging_off();
}

/* Long mode: 4-level paging on the same PDs and PTs. lm_run(pml4 a, pml4 b):
 * enables long mode with a, reads window page 0 into lm_out[0], writes page 5,
 * switches to b and reads page 7 into lm_out[1], comes back to a and leaves long
 * mode with paging off. No faults here: the runtime's IDT is 32-bit. */
uint32_t lm_out[2];
extern const char lm_body[];   /* 64-bit code: RBX = the second address space */
__asm__(
	"	.text\n"
	"	.code64\n"
	"lm_body:\n"
	"	movl $" STR(WIN) ", %eax\n"
	"	movl (%rax), %ecx\n"
	"	movl %ecx, lm_out(%rip)\n"
	"	movl $0x64646464, " STR(WIN) "+5*4096\n"
	"	movq %cr3, %rdx\n"
	"	movq %rbx, %cr3\n"
	"	movl " STR(WIN) "+7*4096, %ecx\n"
	"	movl %ecx, lm_out+4(%rip)\n"
	"	movq %rdx, %cr3\n"
	"	ret\n"
	"	.code32\n");

static void lm_run(uint32_t cr3a, uint32_t cr3b)
{
	rt_call64(cr3a, lm_body, cr3b);
}

static void long_mode(void)
{
	rt_printf("4-level paging\n");
	pae = true;
	for (unsigned n = 0; n < 8; n++)
		set_pte(0, n, 0);
	*(volatile uint32_t *)phys(12) = 0x4000;
	*(volatile uint32_t *)phys(13) = 0;
	*(volatile uint32_t *)phys(14) = 0x4001;
	set_pte(0, 0, phys(12) | PG_P | PG_RW);
	set_pte(0, 5, phys(13) | PG_P | PG_RW);
	set_pte(1, 7, phys(14) | PG_P | PG_RW);
	lm_run((uint32_t)pml4[0], (uint32_t)pml4[1]);
	rt_check(lm_out[0] == 0x4000, "4-level: read through the window (%x)", lm_out[0]);
	rt_check(lm_out[1] == 0x4001, "4-level: the second address space (%x)", lm_out[1]);
	rt_check(*(volatile uint32_t *)phys(13) == 0x64646464, "4-level: the write landed");
	rt_check((win64[0][0] & (PG_A | PG_D)) == PG_A && (win64[0][5] & PG_D) &&
		 (pml4[0][0] & PG_A) && (pdpt4[0][1] & PG_A),
		 "4-level: A in every level used, D only where written");
}

/* touch=MIB: map MIB MiB through the window, 4 KiB at a time, and check them,
 * under 32-bit paging: more shadow entries than a small bound holds. */
static void touch(unsigned mib)
{
	static uint32_t big[TOUCH_PT][1024] __attribute__((aligned(4096)));
	unsigned pages = mib * 256 > TOUCH_PT * 1024 ? TOUCH_PT * 1024 : mib * 256, bad = 0;
	pae = false;
	for (unsigned i = 0; i < pages; i++)
		big[i / 1024][i % 1024] = (PHYS + i * PAGE) | PG_P | PG_RW;
	for (unsigned i = 0; i < TOUCH_PT; i++)
		pd32[0][(WIN >> 22) + i] = (uint32_t)big[i] | PG_P | PG_RW;
	paging_on(0);
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < pages; i++) {
			volatile uint32_t *p = (volatile uint32_t *)(WIN + i * PAGE);
			if (!pass)
				*p = i ^ 0x55aa;
			else
				bad += *p != (i ^ 0x55aa);
		}
	paging_off();
	pd32[0][WIN >> 22] = (uint32_t)win32[0] | PG_P | PG_RW;
	for (unsigned i = 1; i < TOUCH_PT; i++)
		pd32[0][(WIN >> 22) + i] = 0;
	rt_check(!bad, "touched %u pages twice through fresh mappings", pages);
}

/* An interrupt held back by IF=0 makes the hypervisor ask the CPU for an
 * interrupt window (SDM Vol. 3C 25.2, AMD APM Vol. 2 15.21.4); what it
 * intercepts besides (under shadow paging: CR3 loads, INVLPG) must not change
 * when the window closes, or every test after this one fails. */
#define WINDOW_VECTOR 0x51
static volatile unsigned window_irqs;

static void on_window_irq(uint32_t v)
{
	(void)v;
	window_irqs++;
	rt_apic_eoi();
}

static void interrupt_window(void)
{
	rt_apic_enable(false, 0xff);
	rt_set_irq_handler(WINDOW_VECTOR, on_window_irq);
	rt_cli();
	rt_apic_ipi(0, RT_APIC_ICR_SELF | RT_APIC_ICR_ASSERT | RT_APIC_ICR_FIXED | WINDOW_VECTOR);
	unsigned before = window_irqs;
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	rt_check(before == 0 && window_irqs == 1,
		 "a self-IPI held back by IF=0 arrives after STI (%u, then %u)", before, window_irqs);
}

void guest_main(void)
{
	interrupt_window();
	build_tables();
	ring3_init();
	pae = false;
	suite("32-bit");
	pae = true;
	suite("PAE");
	long_mode();
	unsigned mib = rt_arg_uint("touch=", 0);
	if (mib)
		touch(mib);
}
