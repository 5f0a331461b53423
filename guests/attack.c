/* attack: a guest that attacks its hypervisor (issue 18). It executes random
 * privileged instructions with random operands from a seed it prints (seed=N on
 * the command line, else derived from the TSC), catches its own exceptions with
 * rt_try and carries on: MSR reads and writes across the index space, CR0/CR4 and
 * CR2/CR3 writes, paging switched on and off, DR writes, XSETBV, I/O to random
 * ports, memory and MMIO accesses (its own RAM through a scratch buffer, the PCI
 * ECAM window, the local APIC and IOAPIC pages), cache and TLB instructions,
 * descriptor tables, exceptions and self IPIs and NMIs. ops=N operations (default
 * 20000), in categories chosen at random; at the end one line per category
 * (`attack: category NAME ops=N`) and the total. The run counts (PASS) with at
 * least 20000 operations and 100 in every category.
 *
 * What it leaves out, because it would end the guest legitimately (the
 * hypervisor doing its job, not failing at it):
 * - the exit port 0xF4-0xF7, the reset register 0xCF9 (and 0x64, 0x92 on a PC),
 *   PM1a control 0x604 (sleep/power-off), COM1 writes (its own output);
 * - CR0 with PE clear (real mode under 32-bit code) or with PG set and random
 *   CR3/CR4 (paging runs only in the paging category, with an identity map);
 * - LIDT/LGDT with short limits while something may fault (a triple fault):
 *   random GDTR values are restored before the next instruction that could fault;
 * - guest-physical addresses outside RAM and outside every device: hv86 stops the
 *   VM (docs/platform.md). Only oob=1 does one, after the report, as its last act;
 * - MMIO that straddles a page or a device's end: hv86 stops the VM (docs/bus.md);
 * - interrupts that are not "fixed" (INIT, SMI, ExtINT) in the LAPIC's LVTs/ICR and
 *   the IOAPIC: INIT would reset the vCPU. Vectors are kept at 0x20-0xEF;
 * - paravirtual MSRs (kvm-clock 0x11, 0x12, 0x4B564D00-0F, the 0x40000000 range)
 *   that make the hypervisor write guest memory get addresses in the scratch
 *   buffer or above RAM, never over the guest's own code.
 * MSRs, CRs, XCR0, DR7, GDTR, IDTR and the APIC base are restored after each
 * operation so that the next one starts from a working guest.
 *
 * mode=checksum is the neighbour: a CRC-32 over a buffer, rounds=N times, each
 * compared with the first (`checksum: ok VALUE`). */
#include "guests/rt/rt.h"

RT_GUEST("attack");

/* --- random numbers (xorshift64*) ---------------------------------------- */
static uint64_t rng;
static uint64_t r64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}
static uint32_t r32(void) { return (uint32_t)(r64() >> 32); }
static uint32_t rn(uint32_t n) { return n ? r32() % n : 0; }   /* [0, n) */

/* --- checksum mode ---------------------------------------------------------- */
#define CK_SIZE (64u * 1024)
static uint8_t ck_buf[CK_SIZE];
static uint32_t crc_table[256];

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	while (n--)
		c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return ~c;
}

static void checksum_main(void)
{
	uint32_t rounds = rt_arg_uint("rounds=", 300);
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	rng = 0x9E3779B97F4A7C15ull;
	for (uint32_t i = 0; i < CK_SIZE; i++)
		ck_buf[i] = (uint8_t)r32();
	uint32_t want = crc32(ck_buf, CK_SIZE), bad = 0;
	rt_printf("checksum: %u rounds over %u KiB, want %08x\n", (unsigned)rounds,
		  CK_SIZE / 1024, (unsigned)want);
	for (uint32_t r = 0; r < rounds; r++) {
		uint32_t got = crc32(ck_buf, CK_SIZE);
		if (got != want && bad++ < 5)
			rt_printf("checksum: round %u got %08x\n", (unsigned)r, (unsigned)got);
	}
	/* The CRC-32 of that buffer, computed once by this guest directly under QEMU. */
	rt_check(bad == 0, "checksum: ok %08x (%u rounds, %u bad)", (unsigned)want,
		 (unsigned)rounds, (unsigned)bad);
}

/* --- the attacker's state ---------------------------------------------------- */
#define SCRATCH_SIZE (128u * 1024)
static uint8_t scratch[SCRATCH_SIZE] __attribute__((aligned(4096)));
static uint32_t pd[1024] __attribute__((aligned(4096)));   /* 4 MiB identity pages */
static uint32_t pd2[1024] __attribute__((aligned(4096)));  /* the same, one hole */
static uint64_t gdt_copy[16] __attribute__((aligned(8)));
static uint32_t tss[26];

static uint32_t ram_end;
static uint32_t cr0_orig, cr4_orig;
static uint64_t xcr0_orig, xcr0_supported;
static bool has_xsave;
static struct rt_dtr gdtr_orig, idtr_orig;
static uint32_t pd2_hole;                     /* the 4 MiB pd2 leaves unmapped */

static volatile uint32_t irqs, nmis, win_irqs, storms;
static uint32_t ipis_sent, nmis_sent, faults;
static bool trace, lme_probe;

#define APIC_ORIG_BASE 0xFEE00900ull          /* BSP, enabled, 0xFEE00000 */
#define VEC_SPURIOUS 0xFF
#define IOAPIC ((volatile uint32_t *)0xFEC00000u)
#define ECAM_BASE 0xE0000000u

static void on_irq(uint32_t v)
{
	(void)v;
	irqs++;
	/* A source that keeps firing (a level-triggered pin, a periodic timer with a
	 * count of 1, the 8259 through LINT0) would keep the window's STI from ever
	 * reaching its CLI: hold everything back with the TPR and the 8259 masks. */
	if (++win_irqs > 64) {
		rt_apic_write(RT_APIC_TPR, 0xFF);
		outb(0x21, 0xFF);
		outb(0xA1, 0xFF);
		storms++;
	}
	rt_apic_eoi();
}

static void on_nmi(uint32_t v)
{
	(void)v;
	nmis++;
}

static uint8_t lapic_vector(uint32_t v)
{
	v &= 0xFF;
	return v >= 0x20 && v < 0xF0 ? v : 0x20 + v % 0xD0;
}

/* An address the hypervisor may write for a paravirtual MSR: inside the scratch
 * buffer, or above RAM (ignored, docs/platform.md). */
static uint64_t pv_value(uint64_t v)
{
	if ((v & ~0xFFFull) < (uint64_t)ram_end + 0x1000)
		v = (uint32_t)scratch + (uint32_t)(v % (SCRATCH_SIZE - 0x1000)) ;
	return v;
}

static bool pv_msr(uint32_t i)
{
	return i == 0x11 || i == 0x12 || (i >= 0x40000000u && i <= 0x400000FFu) ||
	       (i >= 0x4B564D00u && i <= 0x4B564D0Fu);
}

/* --- MSRs -------------------------------------------------------------------- */
static const uint32_t interesting_msrs[] = {
	0x10, 0x11, 0x12, 0x1B, 0x3A, 0x3B, 0x48, 0x49, 0x8B, 0xE7, 0xE8, 0xFE,
	0x10A, 0x10B, 0x140, 0x174, 0x175, 0x176, 0x179, 0x17A, 0x1A0, 0x1D9,
	0x200, 0x201, 0x20E, 0x20F, 0x250, 0x258, 0x277, 0x2FF, 0x345, 0x38D, 0x38F,
	0x400, 0x480, 0x481, 0x482, 0x48B, 0x491, 0x6E0, 0x800, 0x802, 0x808, 0x80B,
	0x80F, 0x830, 0x838, 0x83F, 0xDA0, 0xC0000080, 0xC0000081, 0xC0000082,
	0xC0000083, 0xC0000084, 0xC0000100, 0xC0000101, 0xC0000102, 0xC0000103,
	0xC0010000, 0xC0010004, 0xC0010010, 0xC0010015, 0xC0010058, 0xC0010114,
	0xC0010115, 0xC0010117, 0xC0010140, 0xC0010141, 0xC0011029,
	0x40000000, 0x40000001, 0x40000070, 0x4B564D00, 0x4B564D01, 0x4B564D02,
	0x4B564D03, 0x4B564D04, 0x4B564D05,
};

static uint32_t random_msr(void)
{
	uint32_t p = rn(100);
	if (p < 35)
		return rn(0x2000);
	if (p < 55)
		return 0xC0000000u + rn(0x2000);
	if (p < 65)
		return 0x40000000u + rn(0x100);
	if (p < 75)
		return 0x4B564D00u + rn(0x10);
	if (p < 90)
		return interesting_msrs[rn(sizeof interesting_msrs / sizeof interesting_msrs[0])];
	return r32();
}

struct msr_op { uint32_t index; uint64_t value; };
static void do_rdmsr(void *a) { struct msr_op *m = a; m->value = rdmsr(m->index); }
static void do_wrmsr(void *a) { struct msr_op *m = a; wrmsr(m->index, m->value); }
static void do_apic_svr(void *a) { (void)a; rt_apic_write(RT_APIC_SVR, RT_APIC_SVR_ENABLE | VEC_SPURIOUS); }

static void op_msr_read(void)
{
	struct msr_op m = { random_msr(), 0 };
	struct rt_fault f;
	faults += rt_try(do_rdmsr, &m, &f);
}

static void op_msr_write(void)
{
	struct msr_op old = { random_msr(), 0 }, m;
	struct rt_fault f;
	bool readable = !rt_try(do_rdmsr, &old, &f);
	m.index = old.index;
	switch (rn(6)) {
	case 0: case 1: m.value = r64(); break;
	case 2: case 3: m.value = old.value ^ (1ull << rn(64)); break;
	case 4: m.value = 0; break;
	default: m.value = rn(0x10000); break;
	}
	if (pv_msr(m.index))
		m.value = pv_value(m.value);
	/* EFER.LME with paging off (seed=11 ops=40000 found it on svm): under QEMU
	 * TCG with nested paging it once hung the guest and stalled the host; hv86's
	 * svm backend now keeps LME out of the VMCB until long mode is active
	 * (vmm/svm/vmcb.c, svm_set_reg), and lme=1 checks exactly that step. */
	if (trace)
		rt_printf("attack: wrmsr %08x %08x%08x (was %08x%08x)\n", (unsigned)m.index,
			  (unsigned)(m.value >> 32), (unsigned)m.value,
			  (unsigned)(old.value >> 32), (unsigned)old.value);
	faults += rt_try(do_wrmsr, &m, &f);
	/* Back to where it was. The APIC base: through disabled, which leaves x2APIC
	 * mode (SDM Vol. 3A 11.12.5), then software-enabled. Disabled at the same
	 * address: hv86 refuses to move the APIC page, enabled or not (#GP). */
	if (m.index == RT_MSR_APIC_BASE) {
		struct msr_op off = { RT_MSR_APIC_BASE, APIC_ORIG_BASE & ~(uint64_t)(RT_APIC_BASE_EN | RT_APIC_BASE_EXTD) },
			      on = { RT_MSR_APIC_BASE, APIC_ORIG_BASE };
		rt_try(do_wrmsr, &off, &f);
		if (rt_try(do_wrmsr, &on, &f) || rt_try(do_apic_svr, NULL, &f))
			rt_fail("cannot restore the APIC base after wrmsr 0x1b %08x%08x",
				(unsigned)(m.value >> 32), (unsigned)m.value);
	} else if (readable) {
		if (pv_msr(old.index))
			old.value = 0;            /* disabled, whatever we found */
		rt_try(do_wrmsr, &old, &f);
	}
}

/* --- control registers -------------------------------------------------------- */
static void do_cr0(void *a)
{
	uint32_t v = *(uint32_t *)a;
	write_cr0(v);
	write_cr0(cr0_orig);
}
static void do_cr4(void *a)
{
	uint32_t v = *(uint32_t *)a;
	write_cr4(v);
	write_cr4(cr4_orig);
}

static uint32_t random_bits(uint32_t old)
{
	switch (rn(4)) {
	case 0: return r32();
	case 1: return old ^ (1u << rn(32));
	case 2: return old ^ (1u << rn(32)) ^ (1u << rn(32));
	default: return old | (r32() & r32());
	}
}

static void op_cr0(void)
{
	/* PE stays set and PG clear (see the top). Reserved and CD/NW bits are tried. */
	uint32_t v = (random_bits(cr0_orig) | CR0_PE) & ~CR0_PG;
	struct rt_fault f;
	faults += rt_try(do_cr0, &v, &f);
	write_cr0(cr0_orig);
}

static void op_cr4(void)
{
	uint32_t v = random_bits(cr4_orig);
	struct rt_fault f;
	faults += rt_try(do_cr4, &v, &f);
	write_cr4(cr4_orig);
}

static void do_cr23(void *a)
{
	uint32_t v = *(uint32_t *)a;
	if (v & 1) {
		write_cr2(v);
		(void)read_cr2();
	} else {
		write_cr3(v);
		(void)read_cr3();
		write_cr3(0);
	}
}

static void op_cr23(void)
{
	uint32_t v = r32();
	struct rt_fault f;
	faults += rt_try(do_cr23, &v, &f);
	write_cr3(0);
}

/* Paging on with an identity map of 4 MiB pages (CR4.PSE, no PAE), a few accesses,
 * INVLPG, a switch to the second directory with a hole, paging off again. */
static void do_paging(void *a)
{
	(void)a;
	uint32_t cr4 = (cr4_orig | (1u << 4)) & ~(uint32_t)CR4_PAE;   /* PSE */
	if (rn(2))
		cr4 |= 1u << 7;                                         /* PGE */
	write_cr4(cr4);
	write_cr3((uint32_t)pd | (rn(2) ? 0x18 : 0));                 /* PWT, PCD */
	write_cr0(cr0_orig | CR0_PG | (rn(2) ? (1u << 16) : 0));      /* WP */
	volatile uint32_t *s = (volatile uint32_t *)(scratch + (rn(SCRATCH_SIZE) & ~3u));
	*s = *s + 1;
	for (unsigned i = rn(4); i; i--)
		__asm__ volatile("invlpg (%0)" : : "r"(r32()) : "memory");
	if (rn(2)) {
		write_cr3((uint32_t)pd2);
		*s = *s + 1;
		if (rn(4) == 0)    /* the hole: #PF, caught */
			(void)*(volatile uint32_t *)(pd2_hole + (rn(0x400000) & ~3u));
	}
	if (rn(2))
		write_cr4(cr4 ^ (1u << 7));                             /* PGE flip: flush */
	write_cr3((uint32_t)pd);
	(void)*(volatile uint32_t *)(rn(ram_end) & ~3u);
	write_cr0(cr0_orig);
}

static void op_paging(void)
{
	struct rt_fault f;
	faults += rt_try(do_paging, NULL, &f);
	write_cr0(cr0_orig);
	write_cr4(cr4_orig);
	write_cr3(0);
}

/* --- debug registers ----------------------------------------------------------- */
static void do_dr(void *a)
{
	uint32_t v = *(uint32_t *)a;
	switch (rn(8)) {
	case 0: __asm__ volatile("mov %0, %%dr0" : : "r"(v)); break;
	case 1: __asm__ volatile("mov %0, %%dr1" : : "r"(v)); break;
	case 2: __asm__ volatile("mov %0, %%dr2" : : "r"(v)); break;
	case 3: __asm__ volatile("mov %0, %%dr3" : : "r"(v)); break;
	case 4: __asm__ volatile("mov %0, %%dr6" : : "r"(v)); break;
	case 5: __asm__ volatile("mov %0, %%dr7" : : "r"(v)); break;
	case 6: { uint32_t x; __asm__ volatile("mov %%dr7, %0; mov %%dr6, %0" : "=r"(x)); break; }
	default: __asm__ volatile(".byte 0x0f, 0x23, 0xe8" : : "a"(v)); break;  /* mov eax, dr5 */
	}
	__asm__ volatile("nop; nop" ::: "memory");
}
static void do_dr7_off(void *a) { (void)a; __asm__ volatile("mov %0, %%dr7" : : "r"(0x400u)); }

static void op_dr(void)
{
	uint32_t v = r32();
	struct rt_fault f;
	faults += rt_try(do_dr, &v, &f);
	/* Again if it faults: #DB for DR7.GD clears GD. */
	for (int i = 0; i < 4 && rt_try(do_dr7_off, NULL, &f); i++)
		;
}

/* --- XSETBV ---------------------------------------------------------------------- */
struct xcr_op { uint32_t index; uint64_t value; };
static void do_xsetbv(void *a)
{
	struct xcr_op *x = a;
	xsetbv(x->index, x->value);
	xsetbv(0, xcr0_orig);
}
static void do_xsetbv0(void *a) { (void)a; xsetbv(0, xcr0_orig); }

static void op_xsetbv(void)
{
	struct xcr_op x = { rn(10) ? 0 : (rn(2) ? rn(4) : r32()), 0 };
	struct rt_fault f;
	switch (rn(4)) {
	case 0: x.value = (r64() & xcr0_supported) | 1; break;
	case 1: x.value = r64(); break;
	case 2: x.value = xcr0_supported | (1ull << rn(64)); break;
	default: x.value = r64() & xcr0_supported; break;
	}
	faults += rt_try(do_xsetbv, &x, &f);
	if (has_xsave)
		rt_try(do_xsetbv0, NULL, &f);
}

/* --- I/O ports -------------------------------------------------------------------- */
static const uint16_t device_ports[] = {
	0x20, 0x21, 0xA0, 0xA1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71, 0x4D0, 0x4D1,
	0x600, 0x601, 0x602, 0x603, 0x606, 0x608, 0x60A, 0xCF8, 0xCFA, 0xCFC, 0xCFD,
	0xCFE, 0xCFF, 0x510, 0x511, 0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE,
	0x3FF, 0x80, 0x2F8, 0x2FD, 0x1F0, 0x1F7, 0x3C0, 0x3D4, 0xB2,
};

static uint16_t random_port(void)
{
	uint32_t p = rn(10);
	if (p < 3)
		return rn(0x100);
	if (p < 5)
		return device_ports[rn(sizeof device_ports / sizeof device_ports[0])] + rn(2);
	if (p < 7)
		return 0x100 + rn(0xF00);
	return (uint16_t)r32();
}

static bool overlaps(uint32_t p, uint32_t n, uint32_t lo, uint32_t hi)
{
	return p <= hi && p + n - 1 >= lo;
}

/* Writes that would end the guest legitimately or garble its output. */
static bool port_write_ok(uint32_t p, uint32_t n)
{
	if (overlaps(p, n, 0xF4, 0xF7) || overlaps(p, n, 0x604, 0x605) ||
	    overlaps(p, n, 0x3F8, 0x3FF) || overlaps(p, n, 0x64, 0x64) ||
	    overlaps(p, n, 0x92, 0x92) || p + n - 1 > 0xFFFF)
		return false;
	if (overlaps(p, n, 0xCF9, 0xCF9) && !(p == 0xCF8 && n == 4))
		return false;
	return true;
}

struct io_op { uint16_t port; uint8_t size, write, str; uint32_t value, count; };
static void do_io(void *a)
{
	struct io_op *o = a;
	void *buf = scratch + SCRATCH_SIZE / 2;
	if (o->str) {
		uint32_t c = o->count;
		if (o->write) {
			if (o->size == 1)
				__asm__ volatile("rep outsb" : "+S"(buf), "+c"(c) : "d"(o->port) : "memory");
			else if (o->size == 2)
				__asm__ volatile("rep outsw" : "+S"(buf), "+c"(c) : "d"(o->port) : "memory");
			else
				__asm__ volatile("rep outsl" : "+S"(buf), "+c"(c) : "d"(o->port) : "memory");
		} else {
			if (o->size == 1)
				__asm__ volatile("rep insb" : "+D"(buf), "+c"(c) : "d"(o->port) : "memory");
			else if (o->size == 2)
				__asm__ volatile("rep insw" : "+D"(buf), "+c"(c) : "d"(o->port) : "memory");
			else
				__asm__ volatile("rep insl" : "+D"(buf), "+c"(c) : "d"(o->port) : "memory");
		}
		return;
	}
	if (o->write) {
		if (o->size == 1) outb(o->port, (uint8_t)o->value);
		else if (o->size == 2) outw(o->port, (uint16_t)o->value);
		else outl(o->port, o->value);
	} else {
		if (o->size == 1) o->value = inb(o->port);
		else if (o->size == 2) o->value = inw(o->port);
		else o->value = inl(o->port);
	}
}

static void op_io(bool write)
{
	struct io_op o;
	struct rt_fault f;
	do {
		o.port = random_port();
		o.size = 1u << rn(3);
		o.str = rn(8) == 0;
		o.count = 1 + rn(16);
		o.write = write;
	} while (write && !port_write_ok(o.port, o.size));
	o.value = rn(4) ? r32() : (rn(2) ? 0 : 0xFFFFFFFFu);
	if (trace)
		rt_printf("attack: %s%s%u port %04x value %08x count %u\n", o.str ? "rep " : "",
			  write ? "out" : "in", (unsigned)o.size, (unsigned)o.port,
			  (unsigned)o.value, (unsigned)o.count);
	faults += rt_try(do_io, &o, &f);
}

/* --- memory and MMIO ----------------------------------------------------------------- */
struct mem_op { uint32_t addr; uint8_t size, write, kind; uint32_t value; };
static void do_mem(void *a)
{
	struct mem_op *m = a;
	volatile void *p = (volatile void *)m->addr;
	uint32_t v = m->value;
	switch (m->kind) {
	case 1:                                   /* locked read-modify-write */
		__asm__ volatile("lock xaddl %0, (%1)" : "+r"(v) : "r"(p) : "memory");
		return;
	case 2:
		__asm__ volatile("xchgl %0, (%1)" : "+r"(v) : "r"(p) : "memory");
		return;
	case 3: {                                 /* a string copy into the scratch buffer */
		void *d = scratch + rn(SCRATCH_SIZE / 2);
		const volatile void *s = p;
		uint32_t c = 1 + rn(16);
		__asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
		return;
	}
	default:
		break;
	}
	if (m->write) {
		if (m->size == 1) *(volatile uint8_t *)p = (uint8_t)v;
		else if (m->size == 2) *(volatile uint16_t *)p = (uint16_t)v;
		else *(volatile uint32_t *)p = v;
	} else {
		if (m->size == 1) m->value = *(volatile uint8_t *)p;
		else if (m->size == 2) m->value = *(volatile uint16_t *)p;
		else m->value = *(volatile uint32_t *)p;
	}
}

static void mem_access(uint32_t addr, bool write, uint32_t value, uint8_t kind)
{
	struct mem_op m = { addr, (uint8_t)(1u << rn(3)), write, kind, value };
	/* MMIO (ECAM, LAPIC, IOAPIC) never across a page: hv86 stops a VM for an
	 * access that straddles a device's end or a page ("straddles the device's end
	 * or a page", seeds 12, 13, 15-18 with ops=40000), which would end every long
	 * run. A string read of up to 16 dwords: aligned, inside its page. */
	if (addr >= ECAM_BASE) {
		if (kind == 3)
			m.addr = addr = (addr & ~3u) - ((addr & 0xFFF) > 0x1000 - 64 ? 64 : 0);
		else if ((addr & 0xFFF) + m.size > 0x1000)
			m.addr = addr & ~3u;
	}
	struct rt_fault f;
	faults += rt_try(do_mem, &m, &f);
}

static void op_ram(void)
{
	uint32_t w = rn(4);
	if (w == 0)          /* read anywhere in RAM */
		mem_access(rn(ram_end - 4), false, 0, 0);
	else                 /* read or write the scratch buffer, unaligned and locked too */
		mem_access((uint32_t)scratch + rn(SCRATCH_SIZE / 2 - 64), rn(2), r32(),
			   rn(6) < 3 ? rn(4) : 0);
}

static void op_ecam(void)
{
	bool write = rn(3) == 0;
	uint32_t off = rn(4) ? rn(0x100000) : rn(0x100);    /* mostly everywhere; often 00:00.0 */
	if (off > 0x100000 - 64)         /* a string read of up to 64 bytes stays inside */
		off = 0x100000 - 64;
	mem_access(ECAM_BASE + off, write, r32(), write ? 0 : (rn(8) == 0 ? 3 : 0));
}

static const uint16_t lapic_regs[] = {
	0x020, 0x030, 0x080, 0x0B0, 0x0D0, 0x0E0, 0x0F0, 0x280, 0x2F0, 0x300, 0x310,
	0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3E0, 0x3F0,
};

static void op_lapic(void)
{
	uint32_t reg;
	if (rn(4)) {                              /* reads: anywhere in the page */
		uint32_t off = rn(3) ? rn(0xFC) * 16 : rn(0x1000 - 64);
		mem_access(RT_APIC_PAGE + off, false, 0, rn(10) == 0 ? 3 : 0);
		return;
	}
	reg = rn(8) ? lapic_regs[rn(sizeof lapic_regs / sizeof lapic_regs[0])] : rn(0x100) * 16;
	uint32_t v = r32();
	if (reg == 0x300 || (reg >= 0x2F0 && reg <= 0x370 && reg != 0x310))
		v = (v & ~0x700u & ~0xFFu) | lapic_vector(v);        /* fixed delivery */
	if (reg == 0x380)
		v = rn(2) ? v : v & 0xFFFF;
	struct mem_op m = { RT_APIC_PAGE + reg, 4, true, 0, v };
	struct rt_fault f;
	faults += rt_try(do_mem, &m, &f);
}

static void op_ioapic(void)
{
	struct rt_fault f;
	uint32_t sel = rn(4) ? rn(0x40) : r32();
	struct mem_op m = { 0xFEC00000u, 4, true, 0, sel };
	if (rn(8) == 0) {                         /* anywhere in the page */
		uint32_t off = rn(0x1000 - 4);
		/* Writes that reach IOWIN unsanitized could program INIT: reads there. */
		mem_access(0xFEC00000u + off, rn(4) == 0 && (off < 0xC || off >= 0x20), r32(), 0);
		return;
	}
	faults += rt_try(do_mem, &m, &f);         /* IOREGSEL */
	m.addr = 0xFEC00010u;
	m.write = rn(4) == 0;
	m.value = r32();
	if (m.write && (sel & 0xFF) >= 0x10 && (sel & 1) == 0)
		m.value = (m.value & ~0x600u & ~0xFFu) | lapic_vector(m.value); /* fixed or lowest */
	faults += rt_try(do_mem, &m, &f);         /* IOWIN */
}

/* --- caches, TLB ---------------------------------------------------------------------- */
static void do_cache(void *a)
{
	uint32_t v = *(uint32_t *)a;
	switch (v & 7) {
	case 0: __asm__ volatile("wbinvd" ::: "memory"); break;
	case 1: __asm__ volatile("invd" ::: "memory"); break;
	case 2: case 3: __asm__ volatile("invlpg (%0)" : : "r"(r32()) : "memory"); break;
	case 4: __asm__ volatile("clflush (%0)" : : "r"(scratch + rn(SCRATCH_SIZE)) : "memory"); break;
	case 5: __asm__ volatile("mfence; lfence; sfence" ::: "memory"); break;
	case 6: { uint32_t c = r32(), lo, hi; __asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(c)); break; }
	default: { uint32_t lo, hi, c; __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(c)); break; }
	}
}

static void op_cache(void)
{
	uint32_t v = r32();
	struct rt_fault f;
	faults += rt_try(do_cache, &v, &f);
}

static void do_cpuid(void *a)
{
	uint32_t leaf = *(uint32_t *)a;
	(void)cpuid(leaf, rn(4) ? rn(4) : r32());
	if (rn(4) == 0) {
		uint32_t lo, hi, c = rn(4) ? 0 : r32();
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(c));
	}
}

static void op_cpuid(void)
{
	uint32_t p = rn(5), leaf;
	if (p == 0) leaf = rn(0x20);
	else if (p == 1) leaf = 0x40000000u + rn(0x200);
	else if (p == 2) leaf = 0x80000000u + rn(0x30);
	else if (p == 3) leaf = 0x8FFFFFF0u + rn(0x20);
	else leaf = r32();
	struct rt_fault f;
	faults += rt_try(do_cpuid, &leaf, &f);
}

/* --- descriptor tables ---------------------------------------------------------------- */
#define TSS_SEL ((uint16_t)(14 * 8))

static void set_tss_desc(void)
{
	uint32_t base = (uint32_t)tss, limit = sizeof tss - 1;
	gdt_copy[14] = (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) |
		       (0x89ull << 40) | ((uint64_t)(base >> 24) << 56);
}

static void do_desc(void *a)
{
	uint32_t v = *(uint32_t *)a;
	struct rt_dtr d;
	switch (v % 8) {
	case 0: {                /* LGDT of the copy, segments reloaded from it */
		d.base = (uint32_t)gdt_copy;
		d.limit = sizeof gdt_copy - 1;
		__asm__ volatile("lgdt %0" : : "m"(d));
		__asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss; ljmp %1, $1f; 1:"
				 : : "r"(RT_SEL_DATA32), "i"(RT_SEL_CODE32) : "memory");
		break;
	}
	case 1: {                /* LIDT of a copy in the scratch buffer, an INT3 through it */
		uint8_t *copy = scratch + SCRATCH_SIZE - 0x1000 + (rn(64) & ~7u);
		memcpy(copy, (void *)idtr_orig.base, 0x800);
		d.base = (uint32_t)copy;
		d.limit = 0x7FF;
		__asm__ volatile("lidt %0" : : "m"(d));
		if (rn(2))
			__asm__ volatile("int3");
		break;
	}
	case 2: {                /* LTR of an available TSS in the copy */
		set_tss_desc();
		d.base = (uint32_t)gdt_copy;
		d.limit = sizeof gdt_copy - 1;
		__asm__ volatile("lgdt %0" : : "m"(d));
		__asm__ volatile("ltr %0" : : "r"((uint16_t)(rn(4) ? TSS_SEL : r32())));
		break;
	}
	case 3:
		__asm__ volatile("lldt %0" : : "r"((uint16_t)(rn(2) ? 0 : r32())));
		break;
	case 4: {                /* GDTR and IDTR with random values, restored at once */
		struct rt_dtr g = { (uint16_t)r32(), r32() };
		if (rn(2))
			__asm__ volatile("lgdt %0; lgdt %1" : : "m"(g), "m"(gdtr_orig));
		else
			__asm__ volatile("lidt %0; lidt %1" : : "m"(g), "m"(idtr_orig));
		break;
	}
	case 5:                  /* FS, GS: any selector */
		__asm__ volatile("mov %0, %%fs; mov %1, %%fs" : : "r"((uint16_t)r32()), "r"((uint16_t)0));
		__asm__ volatile("mov %0, %%gs; mov %1, %%gs" : : "r"((uint16_t)(rn(0x80))), "r"((uint16_t)0));
		break;
	case 6: {
		uint16_t s;
		struct rt_dtr g;
		__asm__ volatile("sgdt %0; sidt %0; sldt %1; str %1; smsw %1" : "=m"(g), "=r"(s));
		(void)s;
		break;
	}
	default: {               /* far jump to a random selector */
		/* Not the 16-bit or 64-bit code segments: outside long mode the latter
		 * is 16-bit code too, which would run this 32-bit code as garbage. */
		uint16_t sel = (uint16_t)r32();
		if ((sel >> 3) == 3 || (sel >> 3) == 5)
			sel |= 0x4;                                /* the (empty) LDT */
		struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp =
			{ (uint32_t)&&out, sel };
		__asm__ volatile("ljmp *%0" : : "m"(fp));
	out:
		break;
	}
	}
}

static void op_desc(void)
{
	uint32_t v = r32();
	struct rt_fault f;
	faults += rt_try(do_desc, &v, &f);
	lidt(&idtr_orig);
	__asm__ volatile("lgdt %0" : : "m"(gdtr_orig));
	__asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss; mov %1, %%fs; mov %1, %%gs"
			 : : "r"(RT_SEL_DATA32), "r"(0) : "memory");
}

/* --- exceptions ------------------------------------------------------------------------- */
static void do_exc(void *a)
{
	uint32_t v = *(uint32_t *)a;
	switch (v % 12) {
	case 0: __asm__ volatile("int3"); break;
	case 1: __asm__ volatile("movl $0x7fffffff, %%eax; addl $1, %%eax; into" ::: "eax", "cc"); break;
	case 2: __asm__ volatile("ud2"); break;
	case 3: {
		uint32_t a = 1, d = 0;
		__asm__ volatile("xorl %%ecx, %%ecx; divl %%ecx" : "+a"(a), "+d"(d) : : "ecx", "cc");
		break;
	}
	case 4: {                /* INT_MIN / -1 */
		uint32_t a = 0x80000000u, d = 0xFFFFFFFFu;
		__asm__ volatile("idivl %2" : "+a"(a), "+d"(d) : "r"(-1) : "cc");
		break;
	}
	case 5: {
		static int32_t bounds[2] = { 10, 20 };
		__asm__ volatile("boundl %0, %1" : : "r"((int32_t)rn(40) - 5), "m"(bounds));
		break;
	}
	case 6:                  /* single step */
		__asm__ volatile("pushfl; orl $0x100, (%%esp); popfl; nop; nop" ::: "memory", "cc");
		break;
	case 7: __asm__ volatile(".byte 0xf1"); break;            /* ICEBP (INT1) */
	case 8: {                /* INT n for any n: through the IDT's stubs */
		static uint8_t code[3] = { 0xCD, 0, 0xC3 };       /* int n; ret */
		code[1] = (uint8_t)rn(256);
		((void (*)(void))code)();
		break;
	}
	case 9: __asm__ volatile("sysenter"); break;
	case 10: __asm__ volatile(".byte 0x0f, 0x05"); break;     /* SYSCALL */
	default: __asm__ volatile(".byte 0xf0, 0x90"); break;     /* LOCK NOP: #UD */
	}
}

static void op_exc(void)
{
	uint32_t v = r32();
	struct rt_fault f;
	faults += rt_try(do_exc, &v, &f);
}

/* --- self IPIs and NMIs ------------------------------------------------------------------- */
static void do_ipi(void *a)
{
	uint32_t n = *(uint32_t *)a;
	rt_apic_write(RT_APIC_SVR, RT_APIC_SVR_ENABLE | VEC_SPURIOUS);
	rt_apic_write(RT_APIC_TPR, 0);
	for (uint32_t i = 0; i < n; i++) {
		if (rn(4) == 0) {
			rt_apic_ipi(0, RT_APIC_ICR_SELF | RT_APIC_ICR_ASSERT | RT_APIC_ICR_NMI);
			nmis_sent++;
		} else {
			rt_apic_ipi(0, RT_APIC_ICR_SELF | RT_APIC_ICR_ASSERT | RT_APIC_ICR_FIXED |
					       (0x30 + rn(0xC0)));
			ipis_sent++;
		}
	}
	win_irqs = 0;
	/* Interrupts on only here, inside rt_try: a stray interrupt on an exception
	 * vector (an 8259 programmed with base 8 through I/O) ends up as a fault. */
	__asm__ volatile("sti; nop; nop; nop; nop; cli" ::: "memory");
}

static void op_ipi(void)
{
	uint32_t n = 1 + rn(3);
	struct rt_fault f;
	faults += rt_try(do_ipi, &n, &f);
	rt_cli();
}

/* --- the categories ------------------------------------------------------------------------ */
static void op_io_read(void) { op_io(false); }
static void op_io_write(void) { op_io(true); }

static const struct {
	const char *name;
	void (*fn)(void);
} categories[] = {
	{ "msr_read", op_msr_read }, { "msr_write", op_msr_write }, { "cr0", op_cr0 },
	{ "cr4", op_cr4 }, { "cr2_cr3", op_cr23 }, { "paging", op_paging }, { "dr", op_dr },
	{ "xsetbv", op_xsetbv }, { "io_read", op_io_read }, { "io_write", op_io_write },
	{ "ram", op_ram }, { "ecam", op_ecam }, { "lapic", op_lapic }, { "ioapic", op_ioapic },
	{ "cache", op_cache }, { "cpuid", op_cpuid }, { "desc", op_desc },
	{ "exceptions", op_exc }, { "ipi_nmi", op_ipi },
};
#define NCAT (sizeof categories / sizeof categories[0])

static void setup(void)
{
	ram_end = (rt_mem_upper + 1024) * 1024;
	cr0_orig = read_cr0();
	if (cpuid(1, 0).ecx & (1u << 26)) {
		struct cpuid d = cpuid(0xD, 0);
		has_xsave = true;
		write_cr4(read_cr4() | CR4_OSXSAVE);
		xcr0_supported = ((uint64_t)d.edx << 32) | d.eax;
		uint32_t lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0_orig = ((uint64_t)hi << 32) | lo;
	}
	cr4_orig = read_cr4();
	__asm__ volatile("sgdt %0" : "=m"(gdtr_orig));
	sidt(&idtr_orig);
	memcpy(gdt_copy, (void *)gdtr_orig.base,
	       gdtr_orig.limit + 1u < sizeof gdt_copy ? gdtr_orig.limit + 1u : sizeof gdt_copy);
	for (uint32_t i = 0; i < 1024; i++)
		pd[i] = pd2[i] = (i << 22) | 0x83;                /* 4 MiB, RW, P */
	pd2_hole = (ram_end - 0x400000) & ~0x3FFFFFu;
	if (pd2_hole < 0x800000)
		pd2_hole = 0x40000000;                             /* a hole above RAM */
	pd2[pd2_hole >> 22] = 0;
	for (uint32_t v = RT_IRQ_FIRST; v < 256; v++)
		rt_set_irq_handler((uint8_t)v, on_irq);
	rt_set_irq_handler(RT_NMI_VECTOR, on_nmi);
	rt_apic_enable(false, VEC_SPURIOUS);
	outb(0x21, 0xFF);        /* the 8259s masked: the I/O category may unmask them */
	outb(0xA1, 0xFF);
	rt_cli();
}

void guest_main(void)
{
	const char *mode = rt_arg("mode=");
	if (mode && !strncmp(mode, "checksum", 8)) {
		checksum_main();
		return;
	}
	uint32_t seed = rt_arg_uint("seed=", 0);
	lme_probe = rt_arg_uint("lme=", 0);
	if (!rt_arg("seed="))
		seed = (uint32_t)(rt_rdtsc() ^ (rt_rdtsc() >> 32) * 2654435761u);
	uint32_t ops = rt_arg_uint("ops=", 20000);
	/* trace=N: each operation from the Nth on, with its category, first (hv86
	 * limits a VM's console: trace only the last few hundred before a problem). */
	uint32_t trace_from = rt_arg_uint("trace=", 0xFFFFFFFFu);
	rt_printf("attack: seed=%u ops=%u\n", (unsigned)seed, (unsigned)ops);
	rng = ((uint64_t)seed << 32 | seed) ^ 0x9E3779B97F4A7C15ull;
	if (!rng)
		rng = 1;
	setup();
	if (lme_probe) {         /* EFER.LME with paging off, alone (vmm/svm/vmcb.c) */
		rt_printf("attack: efer %08x cr0 %08x: EFER.LME on with paging off\n",
			  (unsigned)rdmsr(MSR_EFER), (unsigned)read_cr0());
		wrmsr(MSR_EFER, EFER_LME);
		rt_printf("attack: EFER.LME set\n");
		wrmsr(MSR_EFER, 0);
		rt_printf("attack: EFER.LME clear\n");
	}

	static uint32_t count[NCAT];
	uint32_t total = 0, progress = ops / 10 ? ops / 10 : 1;
	for (uint32_t i = 0; i < ops; i++) {
		unsigned c = rn(NCAT);
		trace = i >= trace_from;
		if (trace)
			rt_printf("attack: op %u %s\n", (unsigned)i, categories[c].name);
		categories[c].fn();
		count[c]++;
		total++;
		if ((i + 1) % progress == 0)
			rt_printf("attack: %u ops\n", (unsigned)(i + 1));
	}
	rt_cli();
	rt_apic_write(RT_APIC_TPR, 0xFF);

	bool enough = total >= 20000;
	for (unsigned c = 0; c < NCAT; c++) {
		rt_printf("attack: category %s ops=%u\n", categories[c].name, (unsigned)count[c]);
		if (count[c] < 100)
			enough = false;
	}
	rt_printf("attack: total ops=%u faults=%u irqs=%u nmis=%u ipis_sent=%u nmis_sent=%u storms=%u\n",
		  (unsigned)total, (unsigned)faults, (unsigned)irqs, (unsigned)nmis,
		  (unsigned)ipis_sent, (unsigned)nmis_sent, (unsigned)storms);
	rt_check(enough, "attack: %u operations, at least 100 in each of %u categories",
		 (unsigned)total, (unsigned)NCAT);
	if (enough && !rt_failures)
		rt_printf("attack: PASS\n");
	if (rt_arg_uint("oob=", 0)) {
		/* The last act: an access outside RAM and every device. hv86 stops the VM. */
		rt_printf("attack: touching 0x%08x\n", 0xD0000000u);
		rt_flush();
		(void)*(volatile uint32_t *)0xD0000000u;
	}
}
