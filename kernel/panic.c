/* panic(): the hypervisor itself is broken. Stop the other CPUs, report once,
 * leave VMX/SVM operation, halt. */
#include <stdarg.h>
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/host_apic.h"
#include "kernel/panic.h"
#include "kernel/timer.h"
#include "kernel/x86.h"

#define NO_CPU (-1)
#define STOP_WAIT_NS  (200 * 1000000ull)   /* for the others to halt */
#define STOP_WAIT_SPINS 100000000u          /* the same, before the timer runs */

void (*panic_cleanup)(void);
static int panic_cpu = NO_CPU;      /* the CPU that reports */
static volatile bool stop_requested;
static bool recursive;              /* a panic inside the panic path */

bool panic_stop_requested(void) { return stop_requested; }

void panic_stop_this_cpu(void)
{
    struct cpu *c = this_cpu();
    if (panic_cleanup && !c->stopping) {    /* once: cleanup may fault or panic */
        c->stopping = true;
        panic_cleanup();
    }
    this_cpu()->stopped = true;
    cpu_halt_forever();
}

static bool others_stopped(void)
{
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].online && &cpus[i] != this_cpu() && !cpus[i].stopped)
            return false;
    return true;
}

void panic_begin(void)
{
    int me = (int)this_cpu()->index, expected = NO_CPU;
    if (!__atomic_compare_exchange_n(&panic_cpu, &expected, me, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        if (expected != me)
            panic_stop_this_cpu();       /* another CPU reports */
        recursive = true;
        console_break_lock();
        return;
    }
    stop_requested = true;
    if (ncpus > 1) {
        /* NMI: it arrives whatever the other CPU's IF, also in guest mode, where
         * it exits to the host (SVM NMI intercept, VMX NMI exiting) and reaches
         * the host's handler (SDM Vol. 3A 11.6.1, APM Vol. 2 15.21). */
        host_apic_send_ipi(0, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT | ICR_ALL_BUT_SELF);
        uint64_t t0 = time_ns();
        for (unsigned spins = 0; !others_stopped(); spins++) {
            if (t0 ? time_ns() - t0 > STOP_WAIT_NS : spins > STOP_WAIT_SPINS)
                break;
            __asm__ volatile("pause");
        }
    }
    console_break_lock();               /* a stopped CPU may have held it */
}

void panic_end(void)
{
    if (panic_cleanup && !recursive) {
        void (*cleanup)(void) = panic_cleanup;
        cleanup();
    }
    kprintf("hv86: halt status=118\n");
    cpu_halt_forever();
}

void panic(const char *fmt, ...)
{
    va_list ap;
    panic_begin();
    kprintf("hv86: panic: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    uint64_t rsp, rbp;
    __asm__ volatile("mov %%rsp, %0; mov %%rbp, %1" : "=r"(rsp), "=r"(rbp));
    kprintf("  cpu=%u rsp=%016lx rbp=%016lx cr0=%lx cr3=%lx cr4=%lx efer=%lx\n",
            this_cpu()->index, rsp, rbp, read_cr0(), read_cr3(), read_cr4(), rdmsr(MSR_EFER));
    /* Backtrace through frame pointers (hv86 builds with -fno-omit-frame-pointer). */
    uint64_t *fp = (uint64_t *)rbp;
    for (int i = 0; i < 8 && fp && (uint64_t)fp > 0x100000 && (uint64_t)fp < 0x100000000ull; i++) {
        kprintf("  #%d %016lx\n", i, fp[1]);
        fp = (uint64_t *)fp[0];
    }
    panic_end();
}
