/* Starting the APs. The BSP reads the CPU list from the ACPI MADT, copies the
 * trampoline below 1 MiB, and starts the APs one at a time with INIT-SIPI-SIPI
 * (SDM Vol. 3A 8.4.4.1): each AP takes its struct cpu (GDT, TSS, GS base, the
 * shared IDT), enables its local APIC, starts its tick, runs the VMM's per-CPU
 * init and reports online; only then is the next one started, so per-CPU
 * start-up never runs on two CPUs at once. */
#include "arch/units.h"
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/host_apic.h"
#include "kernel/mm.h"
#include "kernel/smp.h"
#include "kernel/string.h"
#include "kernel/timer.h"
#include "kernel/x86.h"
#include "lib/acpi_cpus.h"

#define MAP_LIMIT       (4ull << 30)              /* what the boot page tables map */
#define INIT_DELAY_NS   (10 * NS_PER_MS)          /* 8.4.4.1: INIT, 10 ms, SIPI */
#define SIPI_WAIT_NS    (10 * NS_PER_MS)          /* 200 us by the book; emulators lag */
#define ONLINE_WAIT_NS  (5000 * NS_PER_MS)        /* the AP's own init, under an emulator */
#define ACPI_MAX_IDS    256

extern char ap_boot_start[], ap_boot_end[], ap_boot_gdtr[], ap_boot_cr3[], ap_boot_stack[],
    ap_boot_cpu[], ap_boot_alive[];
extern uint64_t boot_pml4[];

static const struct smp_hooks *smp_hooks;
static volatile int ap_init_result;              /* 1: online, -1: its init failed */

/* The copy's field for a label of the trampoline. */
#define TRAMPOLINE_FIELD(type, label) \
    ((volatile type *)hva_of(AP_BOOT_PA + (uint64_t)((label) - ap_boot_start)))

static const uint8_t *map_identity(void *ctx, uint64_t pa, uint64_t len)
{
    (void)ctx;
    return pa < MAP_LIMIT && len <= MAP_LIMIT - pa ? hva_of(pa) : NULL;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* The trampoline page must not hold anything the loader gave us. */
static bool trampoline_page_free(void)
{
    if (overlaps(AP_BOOT_PA, PAGE_SIZE, boot_info.info_start,
                 boot_info.info_end - boot_info.info_start))
        return false;
    for (unsigned i = 0; i < boot_info.nmodules; i++) {
        const struct boot_module *m = &boot_info.modules[i];
        if (overlaps(AP_BOOT_PA, PAGE_SIZE, m->start, m->end - m->start) ||
            overlaps(AP_BOOT_PA, PAGE_SIZE, (uint64_t)m->name, strlen(m->name) + 1))
            return false;
    }
    return !boot_info.cmdline ||
           !overlaps(AP_BOOT_PA, PAGE_SIZE, (uint64_t)boot_info.cmdline,
                     strlen(boot_info.cmdline) + 1);
}

static void delay_ns(uint64_t ns)
{
    uint64_t t0 = time_ns();
    while (time_ns() - t0 < ns)
        __asm__ volatile("pause");
}

static bool wait_for(volatile uint32_t *flag, uint64_t ns)
{
    uint64_t t0 = time_ns();
    while (!*flag)
        if (time_ns() - t0 >= ns)
            return false;
        else
            __asm__ volatile("pause");
    return true;
}

/* The AP's C entry, on its own stack, from the trampoline. */
void ap_start(struct cpu *c);
void ap_start(struct cpu *c)
{
    cpu_setup(c);
    host_apic_init();
    timer_cpu_start();
    if (smp_hooks->init() != 0) {
        ap_init_result = -1;
        cpu_halt_forever();
    }
    c->online = true;
    ap_init_result = 1;
    smp_hooks->run();
    cpu_halt_forever();
}

/* INIT-SIPI-SIPI to one AP, and its start-up to the end of its init. */
static bool start_ap(struct cpu *c)
{
    *TRAMPOLINE_FIELD(uint64_t, ap_boot_stack) = (uint64_t)c->stack + CPU_STACK_SIZE;
    *TRAMPOLINE_FIELD(uint64_t, ap_boot_cpu) = (uint64_t)c;
    *TRAMPOLINE_FIELD(uint32_t, ap_boot_alive) = 0;
    ap_init_result = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    host_apic_send_ipi(c->apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
    delay_ns(INIT_DELAY_NS);
    volatile uint32_t *alive = TRAMPOLINE_FIELD(uint32_t, ap_boot_alive);
    for (int sipi = 0; sipi < 2 && !*alive; sipi++) {
        host_apic_send_ipi(c->apic_id, ICR_DELIVERY_STARTUP | AP_BOOT_VECTOR);
        wait_for(alive, SIPI_WAIT_NS);
    }
    if (!*alive)
        return false;
    uint64_t t0 = time_ns();
    while (!ap_init_result && time_ns() - t0 < ONLINE_WAIT_NS)
        __asm__ volatile("pause");
    return ap_init_result == 1;
}

void smp_boot(const struct smp_hooks *hooks, unsigned max_cpus)
{
    smp_hooks = hooks;
    struct cpu *bsp = this_cpu();
    bsp->apic_id = host_apic_id();
    if (max_cpus <= 1)
        return;
    static uint32_t ids[ACPI_MAX_IDS];
    const char *why = "";
    int n = acpi_find_cpus(map_identity, NULL, ids, ACPI_MAX_IDS, &why);
    if (n < 0) {
        kprintf("hv86: smp: %s: running on the boot CPU only\n", why);
        return;
    }
    if (n > ACPI_MAX_IDS)
        n = ACPI_MAX_IDS;
    if (n > 1 && !trampoline_page_free()) {
        kprintf("hv86: smp: the boot loader's data is at %#x, where the AP start-up "
                "code goes: running on the boot CPU only\n", AP_BOOT_PA);
        return;
    }
    uint64_t t0 = time_ns();
    memcpy(hva_of(AP_BOOT_PA), ap_boot_start, (uint64_t)(ap_boot_end - ap_boot_start));
    *TRAMPOLINE_FIELD(uint64_t, ap_boot_cr3) = (uint64_t)boot_pml4;
    for (int i = 0; i < n && ncpus < max_cpus && ncpus < HOST_MAX_CPUS; i++) {
        if (ids[i] == bsp->apic_id)
            continue;
        struct cpu *c = &cpus[ncpus];
        c->index = ncpus;
        c->apic_id = ids[i];
        c->stack = frames_alloc(CPU_STACK_SIZE / PAGE_SIZE, 1);
        if (!c->stack || !start_ap(c)) {
            /* Back to wait-for-SIPI, so a late start cannot take the slot the
             * next AP gets; its stack stays allocated all the same. */
            host_apic_send_ipi(c->apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
            kprintf("hv86: smp: cpu with APIC ID %u did not start\n", ids[i]);
            continue;
        }
        ncpus++;
    }
    kprintf("hv86: smp: %u of %d CPUs started in %lu us\n", ncpus, n,
            (uint64_t)((time_ns() - t0) / NS_PER_US));
}
