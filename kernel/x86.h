/* Architectural x86-64 constants and instruction wrappers shared by both vendors
 * (Intel SDM Vol. 3A ch. 2-4, AMD APM Vol. 2 ch. 3). Vendor constants live in
 * vmm/vmx/vmx_defs.h and vmm/svm/svm_defs.h. */
#ifndef KERNEL_X86_H
#define KERNEL_X86_H

/* CR0 (SDM Vol. 3A 2.5) */
#define CR0_PE  (1u << 0)
#define CR0_MP  (1u << 1)
#define CR0_EM  (1u << 2)
#define CR0_TS  (1u << 3)
#define CR0_ET  (1u << 4)
#define CR0_NE  (1u << 5)
#define CR0_WP  (1u << 16)
#define CR0_AM  (1u << 18)
#define CR0_NW  (1u << 29)
#define CR0_CD  (1u << 30)
#define CR0_PG  (1u << 31)

/* CR4 (SDM Vol. 3A 2.5) */
#define CR3_PCID_NOFLUSH (1ull << 63)   /* MOV to CR3 with CR4.PCIDE: keep translations */
#define CR4_VME        (1u << 0)
#define CR4_PVI        (1u << 1)
#define CR4_TSD        (1u << 2)
#define CR4_DE         (1u << 3)
#define CR4_PSE        (1u << 4)
#define CR4_PAE        (1u << 5)
#define CR4_MCE        (1u << 6)
#define CR4_PGE        (1u << 7)
#define CR4_PCE        (1u << 8)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_UMIP       (1u << 11)
#define CR4_LA57       (1u << 12)
#define CR4_VMXE       (1u << 13)
#define CR4_SMXE       (1u << 14)
#define CR4_FSGSBASE   (1u << 16)
#define CR4_PCIDE      (1u << 17)
#define CR4_OSXSAVE    (1u << 18)
#define CR4_SMEP       (1u << 20)
#define CR4_SMAP       (1u << 21)
#define CR4_PKE        (1u << 22)

/* RFLAGS */
#define RFLAGS_CF   (1u << 0)
#define RFLAGS_FIXED (1u << 1)
#define RFLAGS_TF   (1u << 8)
#define RFLAGS_RF   (1u << 16)
#define RFLAGS_IF   (1u << 9)
#define RFLAGS_DF   (1u << 10)
#define RFLAGS_IOPL (3u << 12)
#define RFLAGS_VM   (1u << 17)
#define RFLAGS_AC   (1u << 18)   /* alignment check; SMAP override (SDM Vol. 3A 4.6) */

/* MSRs (SDM Vol. 4) */
#define MSR_TSC             0x00000010
#define MSR_APIC_BASE       0x0000001B
#define MSR_FEATURE_CONTROL 0x0000003A
#define MSR_PAT             0x00000277
#define MSR_EFER            0xC0000080
#define MSR_STAR            0xC0000081
#define MSR_LSTAR           0xC0000082
#define MSR_CSTAR           0xC0000083
#define MSR_SFMASK          0xC0000084
#define MSR_FS_BASE         0xC0000100
#define MSR_GS_BASE         0xC0000101
#define MSR_KERNEL_GS_BASE  0xC0000102
#define MSR_SYSENTER_CS     0x00000174
#define MSR_SYSENTER_ESP    0x00000175
#define MSR_SYSENTER_EIP    0x00000176

#define EFER_SCE   (1u << 0)
#define EFER_LME   (1u << 8)
#define EFER_LMA   (1u << 10)
#define EFER_NXE   (1u << 11)
#define EFER_SVME  (1u << 12)
#define EFER_LMSLE (1u << 13)
#define EFER_FFXSR (1u << 14)
#define EFER_TCE   (1u << 15)

/* XCR0 (SDM Vol. 1 13.3) */
#define XCR0_X87 (1u << 0)
#define XCR0_SSE (1u << 1)
#define XCR0_AVX (1u << 2)

/* Page-table entry bits (SDM Vol. 3A 4.5) */
#define PTE_P   (1u << 0)
#define PTE_W   (1u << 1)
#define PTE_U   (1u << 2)
#define PTE_PWT (1u << 3)
#define PTE_PCD (1u << 4)
#define PTE_A   (1u << 5)
#define PTE_D   (1u << 6)
#define PTE_PS  (1u << 7)
#define PTE_G   (1u << 8)
#define PTE_NX  (1ull << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ull

/* Exception vectors (SDM Vol. 3A 6.3.1) */
#define EXC_DE 0
#define EXC_DB 1
#define EXC_NMI 2
#define EXC_BP 3
#define EXC_OF 4
#define EXC_BR 5
#define EXC_UD 6
#define EXC_NM 7
#define EXC_DF 8
#define EXC_TS 10
#define EXC_NP 11
#define EXC_SS 12
#define EXC_GP 13
#define EXC_PF 14
#define EXC_MF 16
#define EXC_AC 17
#define EXC_MC 18
#define EXC_XM 19

/* Host GDT selectors (boot/entry.S, kernel/gdt.c) */
#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS       0x18

/* CPUID feature bits used by hv86 */
#define CPUID_1_ECX_VMX        (1u << 5)
#define CPUID_1_ECX_PCID       (1u << 17)
#define CPUID_1_ECX_XSAVE      (1u << 26)
#define CPUID_1_ECX_OSXSAVE    (1u << 27)
#define CPUID_1_ECX_X2APIC     (1u << 21)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_80000001_EDX_PAGE1GB (1u << 26)

#define PAGE_SIZE 4096ul

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
                         uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
                     : "a"(leaf), "c"(sub));
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                     : "memory");
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port));
}
#define DEFINE_CR_ACCESS(n)                                                      \
    static inline uint64_t read_cr##n(void)                                      \
    { uint64_t v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; }  \
    static inline void write_cr##n(uint64_t v)                                   \
    { __asm__ volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEFINE_CR_ACCESS(0)
DEFINE_CR_ACCESS(2)
DEFINE_CR_ACCESS(3)
DEFINE_CR_ACCESS(4)
#undef DEFINE_CR_ACCESS

/* Debug registers (SDM Vol. 3A 18.2): DR0-DR3 breakpoint addresses, DR6 status,
 * DR7 control. hv86 itself sets no breakpoint: DR0-3 and DR6 hold a guest's. */
#define DR6_B0_B3     0xFull
#define DR6_BD        (1ull << 13)
#define DR6_BS        (1ull << 14)
#define DR6_RTM       (1ull << 16)          /* active low */
#define DR6_FIXED_1   0xFFFF0FF0ull          /* reads as 1 (bits 4-11, 16-31) */
#define DR6_RESET     0xFFFF0FF0ull
#define DR7_RESET     0x400ull
#define DR7_FIXED_1   0x400ull
#define DR7_GD        (1ull << 13)
#define DEFINE_DR_ACCESS(n)                                                      \
    static inline uint64_t read_dr##n(void)                                      \
    { uint64_t v; __asm__ volatile("mov %%db" #n ", %0" : "=r"(v)); return v; }  \
    static inline void write_dr##n(uint64_t v)                                   \
    { __asm__ volatile("mov %0, %%db" #n :: "r"(v)); }
DEFINE_DR_ACCESS(0)
DEFINE_DR_ACCESS(1)
DEFINE_DR_ACCESS(2)
DEFINE_DR_ACCESS(3)
DEFINE_DR_ACCESS(6)
#undef DEFINE_DR_ACCESS
/* DR0-3 in and out of the hardware, as one array. */
static inline void read_dr0_3(uint64_t dr[4])
{
    dr[0] = read_dr0(); dr[1] = read_dr1(); dr[2] = read_dr2(); dr[3] = read_dr3();
}
static inline void write_dr0_3(const uint64_t dr[4])
{
    write_dr0(dr[0]); write_dr1(dr[1]); write_dr2(dr[2]); write_dr3(dr[3]);
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t xgetbv(uint32_t idx)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
    return ((uint64_t)hi << 32) | lo;
}
static inline void xsetbv(uint32_t idx, uint64_t v)
{
    __asm__ volatile("xsetbv" :: "c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t read_rflags(void)
{
    uint64_t v;
    __asm__ volatile("pushfq; popq %0" : "=r"(v));
    return v;
}
__attribute__((noreturn)) static inline void cpu_halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}
#endif
#endif
