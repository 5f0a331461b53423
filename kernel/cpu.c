/* The per-CPU entries and how a CPU takes its own. */
#include "kernel/cpu.h"
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
