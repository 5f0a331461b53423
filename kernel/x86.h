/* The x86-64 instruction wrappers (inline assembly) hv86's host side uses, and
 * the host's GDT layout. The architectural constants are in arch/x86.h, which
 * pure code includes directly (it may not include this file). */
#ifndef KERNEL_X86_H
#define KERNEL_X86_H
#include "arch/x86.h"

/* Host GDT selectors (boot/entry.S, kernel/gdt.c) */
#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS       0x18

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

/* The debug registers (constants in arch/x86.h). hv86 itself sets no
 * breakpoint: DR0-3 and DR6 hold a guest's. */
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
/* The host's MAXPHYADDR (SDM Vol. 3A 4.1.4): CPUID 0x80000008, or 36 without it. */
static inline unsigned host_maxphyaddr(void)
{
    uint32_t a, b, c, d;
    cpuid(CPUID_LEAF_EXT_MAX, 0, &a, &b, &c, &d);
    if (a < CPUID_LEAF_ADDR_SIZES)
        return MAXPHYADDR_DEFAULT;
    cpuid(CPUID_LEAF_ADDR_SIZES, 0, &a, &b, &c, &d);
    return cpuid_maxphyaddr(a);
}
__attribute__((noreturn)) static inline void cpu_halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}
#endif
#endif
