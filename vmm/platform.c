/* The platform: each VM's set of device models (dev/, pure state machines), what
 * they ask of the VM (struct dev_host: interrupt lines, time, the VM's end), their
 * ranges claimed on the VM's bus from one table (wiring[]), its interrupt hooks
 * and its ACPI tables. */
#include <stddef.h>
#include "dev/acpi.h"
#include "dev/acpi_pm.h"
#include "dev/debug_exit.h"
#include "dev/fw_cfg.h"
#include "dev/ioapic.h"
#include "dev/lapic.h"
#include "dev/pci.h"
#include "dev/pic8259.h"
#include "dev/pit.h"
#include "dev/rtc.h"
#include "dev/uart16550.h"
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/string.h"
#include "kernel/timer.h"
#include "kernel/x86.h"
#include "loader/multiboot_guest.h"
#include "vmm/irq.h"
#include "vmm/kvmclock.h"
#include "vmm/platform.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define COM1_BASE 0x3f8
#define PLATFORM_IOAPIC_ID 0           /* QEMU's; the MADT gives this ID */
/* The RTC's time when the VM starts: fixed, so that guests run the same way
 * every time. */
static const struct rtc_time rtc_epoch = { .year = 2024, .month = 1, .day = 1, .wday = 2 };

_Static_assert(ACPI_RSDP_AREA == MBG_BIOS_GPA && ACPI_RSDP_LEN == MBG_RSDP_LEN,
               "the loader picks the RSDP's slot where a guest searches for it");

struct platform {
    struct vm *vm;
    struct uart16550 uart;
    struct fw_cfg fw_cfg;
    struct pic8259_pair pic;
    struct ioapic ioapic;
    struct pit pit;
    struct rtc rtc;
    unsigned ncpus;                  /* vCPUs: APIC IDs 0 .. ncpus - 1 */
    struct lapic lapic[VM_MAX_VCPUS];
    struct acpi_pm pm;
    struct pci_host pci;
    struct kvmclock kvmclock;
    uint64_t irq0_not_before;        /* IRQ 0's next pulse, no sooner (TIMER_MIN_PERIOD_NS) */
    struct dev_host host;            /* what the models ask of the VM */
};

/* The guest's output as hv86 prints it: "[NAME] line" (docs/result-protocol.md). */
static void uart_emit(void *ctx, const char *line, unsigned len)
{
    struct vm *vm = ctx;
    /* "[NAME] ", the line and its newline: the bytes it costs the console. */
    uint64_t cost = strlen(vm->name) + 3 + len + 1;
    if (!console_limit_take(&vm->console, cost, time_ns())) {
        if (vm->console.dropped == 1)     /* said once; the summary counts them */
            kprintf("hv86: vm %s: console output over its limit (%lu bytes/s after %lu, "
                    "%lu in all): lines dropped\n", vm->name, vm->console.rate,
                    vm->console.burst, vm->console.cap);
        return;
    }
    console_lock();             /* the whole line, not interleaved with other CPUs' */
    kprintf("[%s] ", vm->name);
    console_write(line, len);
    console_putc('\n');
    console_unlock();
}

/* --- what the device models ask of the VM (struct dev_host, dev/bus.h) ------- */

static void host_set_isa_irq(void *ctx, unsigned irq, bool level)
{
    irq_set_isa(ctx, irq, level);
}

static void host_timers_changed(void *ctx)
{
    irq_timers_changed(ctx);
}

static void host_end(void *ctx, int status)
{
    vm_exit_status(ctx, status);
}

static void host_stop(void *ctx, const char *why)
{
    vm_stop(ctx, "%s", why);
}

/* An IOAPIC message onto the VM's APIC bus (vmm/irq.h). */
static bool ioapic_send(void *ctx, const struct ioapic_msg *m)
{
    struct irq_msg msg = { .dest = m->dest, .logical = m->logical, .mode = (uint8_t)m->mode,
                           .vector = m->vector, .level = m->level };
    return irq_deliver(ctx, &msg);
}

/* --- the VM's interrupt controllers and device timers for vmm/irq.c --------- */

static struct platform *plat(struct vm *vm) { return vm->platform; }

static void hook_ioapic_set_irq(struct vm *vm, unsigned pin, bool high)
{
    ioapic_set_irq(&plat(vm)->ioapic, pin, high);
}

static void hook_ioapic_eoi(struct vm *vm, uint8_t vector)
{
    ioapic_eoi(&plat(vm)->ioapic, vector);
}

static void hook_pic_set_irq(struct vm *vm, unsigned irq, bool high)
{
    pic8259_pair_set_irq(&plat(vm)->pic, irq, high);
}

static bool hook_pic_intr(struct vm *vm) { return pic8259_pair_int(&plat(vm)->pic); }
static uint8_t hook_pic_intack(struct vm *vm) { return pic8259_pair_inta(&plat(vm)->pic); }

/* The PIT's OUT0 rises are IRQ 0 pulses; periods missed between two calls
 * coalesce into one late tick, and pulses come at most every TIMER_MIN_PERIOD_NS
 * (dev/bus.h). The RTC drives IRQ 8's level. */
static uint64_t hook_timers(struct vm *vm, uint64_t now)
{
    struct platform *p = plat(vm);
    if (now >= p->irq0_not_before && pit_take_edges(&p->pit, PIT_IRQ_CHANNEL, now)) {
        irq_set_isa(vm, PIT_IRQ, true);
        irq_set_isa(vm, PIT_IRQ, false);
        p->irq0_not_before = now + TIMER_MIN_PERIOD_NS;
    }
    rtc_update_irq(&p->rtc, now);
    uint64_t pit = pit_next_edge(&p->pit, PIT_IRQ_CHANNEL, now), rtc = rtc_next_event(&p->rtc);
    if (pit != UINT64_MAX && pit < p->irq0_not_before)
        pit = p->irq0_not_before;
    return pit < rtc ? pit : rtc;
}

static const struct irq_hooks platform_irq_hooks = {
    .ioapic_set_irq = hook_ioapic_set_irq, .ioapic_eoi = hook_ioapic_eoi,
    .pic_set_irq = hook_pic_set_irq, .pic_intr = hook_pic_intr,
    .pic_intack = hook_pic_intack, .timers = hook_timers,
};

/* The PCI hole (ECAM window, memory window) exists only above the VM's RAM. */
static bool has_pci_hole(uint64_t ram_size)
{
    return ram_size <= PCI_HOLE_BASE;
}

/* --- the wiring: every device range of a VM, claimed on its bus (dev/bus.h) --- */

struct wiring {
    const char *name;
    enum bus_space space;
    uint64_t base, size;
    bus_access_fn access;
    size_t state;                    /* the model's offset in struct platform */
    bool pci_hole;                   /* only where the VM has the PCI hole */
};
#define AT(model) .state = offsetof(struct platform, model)
static const struct wiring wiring[] = {
    { "uart", BUS_PIO, COM1_BASE, UART_PORTS, uart16550_bus_access, AT(uart) },
    { "debug-exit", BUS_PIO, DEBUG_EXIT_PORT, DEBUG_EXIT_WIDTH, debug_exit_bus_access, AT(host) },
    { "fw_cfg", BUS_PIO, FW_CFG_PORT_SEL, FW_CFG_PORTS, fw_cfg_bus_access, AT(fw_cfg) },
    { "pic-master", BUS_PIO, PIC_MASTER_PORT, PIC_PORTS, pic8259_master_bus_access, AT(pic) },
    { "pic-slave", BUS_PIO, PIC_SLAVE_PORT, PIC_PORTS, pic8259_slave_bus_access, AT(pic) },
    { "elcr", BUS_PIO, PIC_ELCR_PORT, PIC_PORTS, pic_elcr_bus_access, AT(pic) },
    { "pit", BUS_PIO, PIT_PORT, PIT_PORTS, pit_bus_access, AT(pit) },
    { "port61", BUS_PIO, PORT61, 1, pit_port61_bus_access, AT(pit) },
    { "rtc", BUS_PIO, RTC_PORT, RTC_PORTS, rtc_bus_access, AT(rtc) },
    { "acpi-pm", BUS_PIO, ACPI_PM_BASE, ACPI_PM_PORTS, acpi_pm_bus_access, AT(pm) },
    { "pci", BUS_PIO, PCI_CONFIG_ADDRESS_PORT, PCI_PORTS, pci_bus_access, AT(pci) },
    { "lapic", BUS_MMIO, LAPIC_BASE, LAPIC_SIZE, irq_lapic_mmio, AT(lapic) },
    { "ioapic", BUS_MMIO, IOAPIC_BASE, IOAPIC_SIZE, ioapic_bus_access, AT(ioapic) },
    { "pci-ecam", BUS_MMIO, PCI_ECAM_BASE, PCI_ECAM_SIZE, pci_ecam_bus_access, AT(pci),
      .pci_hole = true },
    { "apic-base", BUS_MSR, LAPIC_MSR_BASE, 1, irq_lapic_base_msr, AT(lapic) },
    { "tsc-deadline", BUS_MSR, LAPIC_MSR_TSC_DEADLINE, 1, irq_lapic_deadline_msr, AT(lapic) },
    { "x2apic", BUS_MSR, X2APIC_MSR_FIRST, X2APIC_MSR_COUNT, irq_x2apic_msr, AT(lapic) },
};

int platform_attach(struct vm *vm, unsigned ncpus)
{
    struct platform *p = kmalloc(sizeof *p);
    if (!p)
        return -1;
    vm->platform = p;                /* platform_detach frees it, attached or not */
    p->vm = vm;
    p->ncpus = ncpus;
    p->host = (struct dev_host){ .ctx = vm, .now_ns = time_ns, .set_isa_irq = host_set_isa_irq,
                                 .timers_changed = host_timers_changed, .end = host_end,
                                 .stop = host_stop };
    uart16550_init(&p->uart, uart_emit, vm);
    p->uart.host = &p->host;
    /* FW_CFG_NB_CPUS is the vCPU count; on x86 QEMU's FW_CFG_MAX_CPUS is the
     * highest APIC ID + 1, the same here (IDs are 0 .. ncpus - 1). */
    fw_cfg_init(&p->fw_cfg, vm->ram_size, (uint16_t)ncpus, (uint16_t)ncpus);
    pic8259_pair_reset(&p->pic);
    ioapic_init(&p->ioapic, PLATFORM_IOAPIC_ID, ioapic_send, vm);
    pit_init(&p->pit);
    p->pit.host = &p->host;
    /* The RTC starts and the paravirtual clock's system time is 0 at the same
     * moment: its wall clock is the RTC's start time. */
    uint64_t tsc = rdtsc();
    rtc_init(&p->rtc, &rtc_epoch, vm->ram_size, time_ns());
    p->rtc.host = &p->host;
    if (kvmclock_init(&p->kvmclock, tsc, time_tsc_hz(), rtc_unix_seconds(&rtc_epoch)) != 0 ||
        kvmclock_attach(vm, &p->kvmclock) != 0)
        return -1;
    vm->irq = platform_irq_hooks;
    unsigned bits = host_maxphyaddr();
    for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
        lapic_init(&p->lapic[i], i, i == 0, bits);
        lapic_set_clock(&p->lapic[i], &irq_lapic_clock);
        p->lapic[i].tsc_offset = &vm->vcpus[i].tsc_offset;
    }
    acpi_pm_init(&p->pm, acpi_pm_ticks(time_ns()));
    p->pm.host = &p->host;
    pci_host_init(&p->pci);
    p->pci.host = &p->host;
    bool hole = has_pci_hole(vm->ram_size);
    /* PCI INTx lines are active low: idle, they float high (PCI 3.0, 2.2.6). */
    for (unsigned i = 0; hole && i < PCI_INTX_SLOTS; i++)
        irq_set_gsi(vm, PCI_INTX_GSI_BASE + i, true);
    for (unsigned i = 0; i < sizeof wiring / sizeof wiring[0]; i++) {
        const struct wiring *w = &wiring[i];
        if ((!w->pci_hole || hole) &&
            vm_claim(vm, w->space, w->base, w->size, w->name, w->access, (char *)p + w->state) < 0)
            return -1;
    }
    return 0;
}

struct mbg_range platform_acpi_range(uint64_t ram_size)
{
    uint64_t top = ram_size < (4ull << 30) ? ram_size : (4ull << 30);
    return (struct mbg_range){ top - ACPI_TABLES_SIZE, ACPI_TABLES_SIZE };
}

int platform_acpi(struct vm *vm, uint64_t rsdp_gpa)
{
    struct platform *p = vm->platform;
    struct mbg_range r = platform_acpi_range(vm->ram_size);
    struct acpi_config c = { .gpa = r.base, .ncpus = p->ncpus,
                             .ioapic_id = PLATFORM_IOAPIC_ID,
                             .pci_hole = has_pci_hole(vm->ram_size) };
    uint8_t *area = vm_gpa_to_hva(vm, r.base, r.size);
    uint8_t *rsdp = vm_gpa_to_hva(vm, rsdp_gpa, ACPI_RSDP_LEN);
    return area && rsdp && acpi_build(&c, area, r.size, rsdp) ? 0 : -1;
}

unsigned platform_reserved(uint64_t ram_size, struct mbg_range *r, unsigned max)
{
    if (!has_pci_hole(ram_size) || max < 1)
        return 0;
    r[0] = (struct mbg_range){ PCI_ECAM_BASE, PCI_ECAM_SIZE };
    return 1;
}

/* The VM is being destroyed: its ranges leave the bus, its state is freed. */
void platform_detach(struct vm *vm)
{
    struct platform *p = vm->platform;
    if (!p)
        return;
    uart16550_flush(&p->uart);
    bus_lock(&vm->bus);              /* every range is one of the platform's */
    for (int id = 0; id < BUS_MAX_IDS; id++)
        bus_release(&vm->bus, id);
    bus_unlock(&vm->bus);
    kfree(p);
    vm->platform = NULL;
    vm->irq = (struct irq_hooks){ 0 };
}

struct pci_host *platform_pci(struct vm *vm)
{
    struct platform *p = vm->platform;
    return p && has_pci_hole(vm->ram_size) ? &p->pci : 0;
}

struct lapic *platform_lapic(struct vcpu *v)
{
    struct platform *p = v->vm->platform;
    return p ? &p->lapic[v->id] : NULL;
}
