/* panic(): the hypervisor itself is broken. Report, leave VMX/SVM operation, stop. */
#include <stdarg.h>
#include "kernel/console.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

void (*panic_cleanup)(void);

void panic(const char *fmt, ...)
{
    va_list ap;
    kprintf("hv86: panic: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    uint64_t rsp, rbp;
    __asm__ volatile("mov %%rsp, %0; mov %%rbp, %1" : "=r"(rsp), "=r"(rbp));
    kprintf("  rsp=%016lx rbp=%016lx cr0=%lx cr3=%lx cr4=%lx efer=%lx\n", rsp, rbp,
            read_cr0(), read_cr3(), read_cr4(), rdmsr(MSR_EFER));
    /* Backtrace through frame pointers (hv86 builds with -fno-omit-frame-pointer). */
    uint64_t *fp = (uint64_t *)rbp;
    for (int i = 0; i < 8 && fp && (uint64_t)fp > 0x100000 && (uint64_t)fp < 0x100000000ull; i++) {
        kprintf("  #%d %016lx\n", i, fp[1]);
        fp = (uint64_t *)fp[0];
    }
    if (panic_cleanup) {
        void (*cleanup)(void) = panic_cleanup;
        panic_cleanup = 0;      /* a panic inside cleanup must not recurse */
        cleanup();
    }
    kprintf("hv86: halt status=118\n");
    cpu_halt_forever();
}
