/* hv86 entry from boot/entry.S: bring up the host, report the CPU, run the VMs. */
#include <stdint.h>
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/trap.h"
#include "kernel/x86.h"
#include "vmm/hv.h"

void mm_init(void);
extern char boot_stack[];

void kmain(uint32_t magic, uint64_t info)
{
    console_init();
    cpus[0].stack = boot_stack;
    cpus[0].online = true;
    cpu_setup(&cpus[0]);
    idt_init();
    if (bootinfo_parse(magic, info) != 0)
        panic("not started by a multiboot loader (magic %#x)", magic);
    mm_init();
    hv_main();
    cpu_halt_forever();
}
