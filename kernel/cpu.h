/* Per-CPU data: one struct cpu for each physical CPU hv86 runs on, reached
 * through the GS base (this_cpu()), which each CPU points at its own entry when
 * it starts (cpu_setup). Only the owning CPU writes its entry after start-up,
 * except `stopped`, which panic's NMI handler sets (docs/smp.md). */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H
#include <stdbool.h>
#include <stdint.h>

#define HOST_MAX_CPUS 16
#define CPU_STACK_SIZE 16384

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));

#define GDT_ENTRIES 5          /* null, code, data, 16-byte TSS (boot/entry.S) */

/* The host tick of one CPU (kernel/timer.c): each CPU has its own LAPIC timer. */
struct cpu_timer {
    volatile uint64_t ticks;   /* this CPU's ticks: the scheduler's turns */
    volatile uint64_t interrupts;  /* its timer interrupts, tick or wake-up */
    uint64_t next_tick;        /* time_ns() of the next tick */
    uint64_t wake_at;          /* a guest timer's expiry, if earlier */
    uint64_t armed_at;         /* when the one-shot fires */
    uint64_t armed_tsc;        /* the same in TSC counts, UINT64_MAX if none: what
                                  the VMX preemption timer counts (vmx.c) */
    bool tick_off;             /* the tick is not wanted (timer_tick_enable) */
};

struct vcpu;

struct cpu {
    struct cpu *self;          /* at %gs:0: this_cpu() reads it */
    unsigned index;            /* 0 = the BSP, then in MADT order */
    uint32_t apic_id;
    bool online;               /* finished its start-up (smp.c) */
    volatile bool stopped;     /* halted for a panic on another CPU */
    bool stopping;             /* on its way there (panic.c) */
    void *stack;               /* CPU_STACK_SIZE bytes (the BSP: boot_stack) */
    uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
    struct tss64 tss;
    struct cpu_timer timer;
    struct vcpu *current;      /* the vCPU it is running, if any */
    volatile bool idle;        /* ran no vCPU in its last scheduling pass (hv.c) */
    struct vcpu *fpu_owner;    /* whose FPU state is in the registers (vmm/fpu.c) */
    uint64_t xcr0;             /* what its XCR0 holds (vmm/fpu.c) */
    uint64_t vcpu_runs;        /* turns it gave to vCPUs, for the summary */
    bool resched;              /* another VM of this CPU has work: end a solo turn */
};

extern struct cpu cpus[HOST_MAX_CPUS];
extern unsigned ncpus;         /* CPUs online */

static inline struct cpu *this_cpu(void)
{
    struct cpu *c;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(c));
    return c;
}

/* Give this CPU entry c: its GDT with its own TSS, TR, the GS base, the shared
 * IDT. Called by each CPU for itself as it starts. */
void cpu_setup(struct cpu *c);

/* The vector of a kick: an IPI that only wakes a CPU from timer_idle (or ends
 * its guest's turn), e.g. when it was handed a VM. Above the timer's and the
 * 8259s' vectors, below the spurious one (kernel/timer.h, kernel/host_apic.h). */
#define CPU_KICK_VECTOR 0xF0
void cpu_kick(unsigned index);
#endif
