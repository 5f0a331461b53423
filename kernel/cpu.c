/* The per-CPU entries and how a CPU takes its own. */
#include "kernel/cpu.h"
#include "kernel/host_apic.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

struct cpu cpus[HOST_MAX_CPUS];
unsigned ncpus = 1;

void cpu_setup(struct cpu *c)
{
    c->self = c;
    gdt_init(c);               /* reloads the segment caches but not GS base */
    wrmsr(MSR_GS_BASE, (uint64_t)c);
    idt_load();
}

void cpu_kick(unsigned index)
{
    if (index < ncpus && &cpus[index] != this_cpu())
        host_apic_send_ipi(cpus[index].apic_id, ICR_DELIVERY_FIXED | ICR_LEVEL_ASSERT |
                                                    CPU_KICK_VECTOR);
}
