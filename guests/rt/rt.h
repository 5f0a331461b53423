/* The test guests' runtime: multiboot v1 entry, GDT/IDT, serial printf, exit port,
 * command line, a "try" for instructions that should fault, and CPU helpers.
 * The platform it relies on is docs/platform.md. */
#ifndef GUESTS_RT_RT_H
#define GUESTS_RT_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- what a guest provides ------------------------------------------------ */

/* Every guest names itself once: RT_GUEST("hello"); and defines guest_main().
 * When guest_main returns, the runtime prints "PASS name" (exit V=0) if no
 * rt_check failed, else "FAIL name: N check(s) failed" (exit V=1). */
#define RT_GUEST(name) const char rt_guest_name[] = name
extern const char rt_guest_name[];
void guest_main(void);

/* --- exit values V (status = V << 1 | 1, docs/platform.md) ---------------- */
#define RT_EXIT_PASS  0x00   /* status 1 */
#define RT_EXIT_FAIL  0x01   /* status 3 */
#define RT_EXIT_TRAP  0x30   /* status 97: unexpected exception */
#define RT_EXIT_BOOT  0x31   /* status 99: not entered by a multiboot v1 loader */

/* --- GDT selectors (guests/rt/entry.S) ------------------------------------ */
#include "guests/rt/rt_defs.h"   /* RT_SEL_CODE32 ... RT_SEL_CODE64 */

/* --- output and exit ------------------------------------------------------ */
void rt_putc(char c);
void rt_puts(const char *s);                    /* no newline added */
void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_vprintf(const char *fmt, va_list ap);
__attribute__((noreturn)) void rt_exit(uint32_t v);
/* Waits until the UART has sent everything: before the VM may end abruptly. */
void rt_flush(void);

/* Prints "ok  MSG" or "BAD MSG" and counts failures; returns ok. */
bool rt_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "FAIL name: REASON" and exits V=1. */
__attribute__((noreturn)) void rt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern unsigned rt_failures;

/* --- boot information (copied at entry, so guests may overwrite all RAM) --- */
#define MB_BOOT_MAGIC 0x2BADB002
#define MB_INFO_MEM    (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS   (1u << 3)
#define MB_INFO_MMAP   (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)
#define MB_MMAP_AVAILABLE 1

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct rt_mmap {
	uint64_t addr, len;
	uint32_t type;
};
#define RT_MMAP_MAX 32

extern uint32_t rt_mb_magic;           /* EAX at entry */
extern uint32_t rt_mb_flags;           /* multiboot info flags */
extern uint32_t rt_mem_lower, rt_mem_upper;   /* KiB */
extern struct rt_mmap rt_mmap[RT_MMAP_MAX];
extern unsigned rt_mmap_count;
extern uint32_t rt_mods_count;

/* The command line as the loader passed it. */
const char *rt_cmdline(void);
/* The arguments: the command line without the image's name in front. hv86, QEMU's
 * -kernel and GRUB legacy put it there, GRUB 2 does not: like Xen, tell them
 * apart by the boot loader's name. */
const char *rt_args(void);
/* For an argument word "KEY...": a pointer just after KEY (the value runs to the
 * next space), else NULL. E.g. rt_arg("exit=") */
const char *rt_arg(const char *key);
/* The value of KEY as decimal or 0x-hex, or def when absent or malformed. */
uint32_t rt_arg_uint(const char *key, uint32_t def);

/* The loaded image, from the linker script: [__image_start, __image_end). */
extern char __image_start[], __image_end[];

/* --- expected faults ------------------------------------------------------ */
struct rt_fault {
	uint32_t vector, error, eip;
};
/* Calls fn(arg). Returns 0 if it returned normally; 1 if it raised an exception,
 * which is then described in *f and execution resumes here (the registers and
 * stack of fn are dropped). Not nestable. */
int rt_try(void (*fn)(void *), void *arg, struct rt_fault *f);
/* "#GP" and so on, for vectors 0..31. */
const char *rt_vector_name(uint32_t vector);

/* --- interrupts ------------------------------------------------------------ */
/* Vectors 32-255 have interrupt gates to a common stub that saves every register,
 * calls the handler set here with the vector, and returns with IRET. An interrupt
 * on a vector without a handler fails the guest ("unexpected interrupt"). The
 * handler runs with interrupts disabled (an interrupt gate clears IF); for a
 * local-APIC interrupt it ends with rt_apic_eoi(). Vector 2 (NMI) may have a
 * handler too; without one an NMI is an unexpected exception. */
#define RT_IRQ_FIRST 32
#define RT_NMI_VECTOR 2
void rt_set_irq_handler(uint8_t vector, void (*fn)(uint32_t vector));

#define RT_EFLAGS_IF (1u << 9)
static inline void rt_sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void rt_cli(void) { __asm__ volatile("cli" : : : "memory"); }
/* STI then HLT: STI's interrupt shadow (SDM Vol. 3A 6.8.3, "STI") holds off an
 * interrupt until after HLT, so none slips in between. Call it with interrupts
 * disabled, after checking what you wait for; it returns, interrupts enabled,
 * after the first interrupt has been handled:
 *     rt_cli(); while (!done) { rt_hlt(); rt_cli(); } rt_sti(); */
static inline void rt_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
static inline uint32_t rt_eflags(void)
{ uint32_t f; __asm__ volatile("pushfl; popl %0" : "=r"(f)); return f; }

/* --- local APIC (Intel SDM Vol. 3A ch. 11) -------------------------------- */
#define RT_APIC_PAGE          0xFEE00000u
#define RT_MSR_APIC_BASE      0x1Bu
#define RT_APIC_BASE_EXTD     (1u << 10)    /* x2APIC mode */
#define RT_APIC_BASE_EN       (1u << 11)
#define RT_MSR_X2APIC_FIRST   0x800u        /* + xAPIC offset / 16 (Table 11-6) */
#define RT_MSR_X2APIC_ICR     0x830u        /* 64 bits: destination in 63:32 */
#define RT_MSR_TSC            0x10u
#define RT_MSR_TSC_AUX        0xC0000103u   /* what RDTSCP returns in ECX */
#define RT_MSR_TSC_DEADLINE   0x6E0u
#define RT_CPUID1_ECX_X2APIC       (1u << 21)
#define RT_CPUID1_ECX_TSC_DEADLINE (1u << 24)
/* Register offsets in the xAPIC page (Table 11-1). */
#define RT_APIC_ID         0x020
#define RT_APIC_VER        0x030
#define RT_APIC_TPR        0x080
#define RT_APIC_PPR        0x0A0
#define RT_APIC_EOI        0x0B0
#define RT_APIC_SVR        0x0F0
#define RT_APIC_ISR        0x100            /* 8 registers, 0x10 apart */
#define RT_APIC_TMR        0x180
#define RT_APIC_IRR        0x200
#define RT_APIC_ESR        0x280
#define RT_APIC_ICR_LO     0x300
#define RT_APIC_ICR_HI     0x310
#define RT_APIC_LVT_TIMER  0x320
#define RT_APIC_LVT_LINT0  0x350
#define RT_APIC_LVT_LINT1  0x360
#define RT_APIC_LVT_ERROR  0x370
#define RT_APIC_TIMER_ICR  0x380
#define RT_APIC_TIMER_CCR  0x390
#define RT_APIC_TIMER_DCR  0x3E0
#define RT_APIC_SELF_IPI   0x3F0            /* x2APIC only */
#define RT_APIC_SVR_ENABLE (1u << 8)
#define RT_APIC_LVT_MASKED (1u << 16)
#define RT_APIC_TIMER_ONESHOT  (0u << 17)   /* LVT timer mode, 11.5.1 */
#define RT_APIC_TIMER_PERIODIC (1u << 17)
#define RT_APIC_TIMER_TSC_DEADLINE (2u << 17)
#define RT_APIC_DCR_DIV1   0xB              /* divide configuration, Figure 11-10 */
#define RT_APIC_ICR_FIXED  (0u << 8)        /* ICR, Figure 11-12 */
#define RT_APIC_ICR_NMI    (4u << 8)
#define RT_APIC_ICR_PENDING (1u << 12)      /* delivery status (xAPIC) */
#define RT_APIC_ICR_ASSERT (1u << 14)
#define RT_APIC_ICR_SELF   (1u << 18)       /* destination shorthand "self" */

/* True while the runtime reaches the APIC through the x2APIC MSRs. */
extern bool rt_x2apic;
/* Enables the local APIC (IA32_APIC_BASE.EN, with EXTD for x2APIC) and software-
 * enables it with spurious vector `spurious`. False if x2APIC was asked for and
 * CPUID.1:ECX[21] does not offer it. */
bool rt_apic_enable(bool x2apic, uint8_t spurious);
/* Register reg (an xAPIC offset) through the page or the x2APIC MSR. */
uint32_t rt_apic_read(uint32_t reg);
void rt_apic_write(uint32_t reg, uint32_t val);
/* End of interrupt for the interrupt in service. */
void rt_apic_eoi(void);
/* An IPI: ICR low word icr_lo, destination APIC ID dest. */
void rt_apic_ipi(uint32_t dest, uint32_t icr_lo);

/* --- 64-bit code ------------------------------------------------------------ */
/* Enter long mode with CR3 = cr3 (which must map this code and stack 1:1), call
 * the 64-bit code at fn64 (ending in ret) with arg in RBX, leave long mode again
 * (guests/rt/call64.S). fn64 may clobber every register. */
void rt_call64(uint32_t cr3, const void *fn64, uint32_t arg);

/* --- small libc ----------------------------------------------------------- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* --- CPU helpers ----------------------------------------------------------- */
static inline uint8_t inb(uint16_t p)
{ uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p)
{ uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p)
{ uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void outb(uint16_t p, uint8_t v)
{ __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v)
{ __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v)
{ __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(p)); }

struct cpuid { uint32_t eax, ebx, ecx, edx; };
static inline struct cpuid cpuid(uint32_t leaf, uint32_t sub)
{
	struct cpuid r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(sub));
	return r;
}

static inline uint64_t rt_rdtsc(void)
{ uint64_t v; __asm__ volatile("rdtsc" : "=A"(v)); return v; }
static inline uint64_t rdmsr(uint32_t msr)
{ uint64_t v; __asm__ volatile("rdmsr" : "=A"(v) : "c"(msr)); return v; }
static inline void wrmsr(uint32_t msr, uint64_t v)
{ __asm__ volatile("wrmsr" : : "c"(msr), "A"(v) : "memory"); }
static inline void xsetbv(uint32_t xcr, uint64_t v)
{ __asm__ volatile("xsetbv" : : "c"(xcr), "A"(v) : "memory"); }

#define RT_CR_ACCESSORS(n)                                                     \
	static inline uint32_t read_cr##n(void)                                \
	{ uint32_t v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_cr##n(uint32_t v)                             \
	{ __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
RT_CR_ACCESSORS(0)
RT_CR_ACCESSORS(2)
RT_CR_ACCESSORS(3)
RT_CR_ACCESSORS(4)
#undef RT_CR_ACCESSORS

struct __attribute__((packed)) rt_dtr { uint16_t limit; uint32_t base; };
static inline void lidt(const struct rt_dtr *d) { __asm__ volatile("lidt %0" : : "m"(*d)); }
static inline void sidt(struct rt_dtr *d) { __asm__ volatile("sidt %0" : "=m"(*d)); }

/* Architectural bits used by the guests (Intel SDM Vol. 3A 2.5, 2.2.1). */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_OSXSAVE (1u << 18)
#define MSR_EFER 0xC0000080u
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)

#endif
