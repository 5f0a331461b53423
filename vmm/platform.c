/* The platform glue: the device models in dev/ are pure state machines; this file
 * gives each VM its set, registers their ports, MMIO ranges and MSRs, and turns
 * their results into console output, VM exits and stops. */
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

_Static_assert(ACPI_TABLES_GPA >= MBG_FIRMWARE_GPA &&
               ACPI_TABLES_GPA + ACPI_TABLES_SIZE <= MBG_FIRMWARE_END,
               "the ACPI tables lie in the area the memory map reserves");

struct platform {
    struct vm *vm;
    struct uart16550 uart;
    struct fw_cfg fw_cfg;
    struct pic8259_pair pic;
    struct ioapic ioapic;
    struct pit pit;
    struct rtc rtc;
    bool rtc_irq;                    /* IRQ 8 as last driven */
    bool uart_irq;                   /* IRQ 4 as last driven */
    unsigned ncpus;                  /* vCPUs: APIC IDs 0 .. ncpus - 1 */
    struct lapic lapic[VM_MAX_VCPUS];
    struct acpi_pm pm;
    struct pci_host pci;
    struct kvmclock kvmclock;
};

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* The guest's output as hv86 prints it: "[NAME] line" (docs/result-protocol.md). */
static void uart_emit(void *ctx, const char *line, unsigned len)
{
    struct vm *vm = ctx;
    console_lock();             /* the whole line, not interleaved with other CPUs' */
    kprintf("[%s] ", vm->name);
    console_write(line, len);
    console_putc('\n');
    console_unlock();
}

static bool uart_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                    uint32_t *val)
{
    struct platform *p = dev;
    (void)v; (void)size;
    if (in)
        *val = uart16550_read(&p->uart, port - COM1_BASE);
    else
        uart16550_write(&p->uart, port - COM1_BASE, (uint8_t)*val);
    bool level = uart16550_irq(&p->uart);
    if (level != p->uart_irq) {
        p->uart_irq = level;
        irq_set_isa(p->vm, UART_COM1_IRQ, level);
    }
    return true;
}

static bool exit_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                    uint32_t *val)
{
    (void)dev; (void)port;
    if (in)
        *val = debug_exit_read(size);
    else
        vm_exit_status(v->vm, debug_exit_status(*val));
    return true;
}

static bool fw_cfg_port(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                        uint32_t *val)
{
    struct platform *p = dev;
    if (fw_cfg_io(&p->fw_cfg, port - FW_CFG_PORT_SEL, size, in, val))
        return true;
    if (in) {                          /* an access QEMU refuses: as unclaimed */
        *val = all_ones(size);
        v->vm->stats.io_unclaimed_reads++;
    } else {
        v->vm->stats.io_unclaimed_writes++;
    }
    return true;
}

/* One byte of the PIC pair or its ELCR; false if port is none of theirs. */
static bool pic_byte(struct platform *p, uint16_t port, bool in, uint8_t *b)
{
    unsigned a0 = port & 1, i;
    switch (port & ~1u) {
    case PIC_MASTER_PORT: i = 0; break;
    case PIC_SLAVE_PORT: i = 1; break;
    case PIC_ELCR_PORT:
        if (in)
            *b = pic_elcr_read(&p->pic, a0);
        else
            pic_elcr_write(&p->pic, a0, *b);
        return true;
    default: return false;
    }
    if (in)
        *b = pic8259_pair_read(&p->pic, i, a0);
    else
        pic8259_pair_write(&p->pic, i, a0, *b);
    return true;
}

/* One byte of the PIT or port 0x61 (dev/pit.h). */
static bool pit_byte(struct platform *p, uint16_t port, bool in, uint8_t *b)
{
    uint64_t now = time_ns();
    if (port == PORT61) {
        if (in)
            *b = pit_port61_read(&p->pit, now);
        else
            pit_port61_write(&p->pit, *b, now);
    } else if (port >= PIT_PORT && port < PIT_PORT + PIT_PORTS) {
        if (in)
            *b = pit_read(&p->pit, port - PIT_PORT, now);
        else
            pit_write(&p->pit, port - PIT_PORT, *b, now);
    } else {
        return false;
    }
    return true;
}

/* IRQ 8 follows the RTC's IRQF: set by a tick, dropped by reading register C. */
static void rtc_sync(struct platform *p, uint64_t now)
{
    bool level = rtc_poll(&p->rtc, now);
    if (level != p->rtc_irq)
        irq_set_isa(p->vm, RTC_IRQ, level);
    p->rtc_irq = level;
}

static bool rtc_byte(struct platform *p, uint16_t port, bool in, uint8_t *b)
{
    uint64_t now = time_ns();
    if (port < RTC_PORT || port >= RTC_PORT + RTC_PORTS)
        return false;
    if (in)
        *b = rtc_read(&p->rtc, port - RTC_PORT, now);
    else
        rtc_write(&p->rtc, port - RTC_PORT, *b, now);
    rtc_sync(p, now);
    return true;
}

/* The ISA devices are byte-wide: a wider access takes the following ports in
 * turn, as the ISA bus splits it; bytes past the device are unclaimed (all
 * ones). */
static void isa_bytes(struct platform *p, bool (*byte)(struct platform *, uint16_t, bool, uint8_t *),
                      uint16_t port, unsigned size, bool in, uint32_t *val)
{
    uint32_t r = 0;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = in ? 0xFF : (uint8_t)(*val >> (8 * i));
        byte(p, (uint16_t)(port + i), in, &b);
        r |= (uint32_t)b << (8 * i);
    }
    if (in)
        *val = r;
}

static bool pic_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                   uint32_t *val)
{
    (void)v;
    isa_bytes(dev, pic_byte, port, size, in, val);
    return true;
}

/* A PIT or RTC access may move their next event: hook_timers runs again. */
static bool pit_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                   uint32_t *val)
{
    isa_bytes(dev, pit_byte, port, size, in, val);
    irq_timers_changed(v->vm);
    return true;
}

static bool rtc_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                   uint32_t *val)
{
    isa_bytes(dev, rtc_byte, port, size, in, val);
    irq_timers_changed(v->vm);
    return true;
}

static bool ioapic_mmio(struct vcpu *v, void *dev, uint64_t gpa, unsigned size, bool write,
                        uint64_t *val)
{
    struct ioapic *io = &((struct platform *)dev)->ioapic;
    uint32_t off = (uint32_t)(gpa - IOAPIC_BASE);
    (void)v;
    if (write)
        ioapic_mmio_write(io, off, size, (uint32_t)*val);
    else
        *val = ioapic_mmio_read(io, off, size);
    return true;
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
 * coalesce into one late tick. The RTC drives IRQ 8's level. */
static uint64_t hook_timers(struct vm *vm, uint64_t now)
{
    struct platform *p = plat(vm);
    if (pit_take_edges(&p->pit, PIT_IRQ_CHANNEL, now)) {
        irq_set_isa(vm, PIT_IRQ, true);
        irq_set_isa(vm, PIT_IRQ, false);
    }
    rtc_sync(p, now);
    uint64_t pit = pit_next_edge(&p->pit, PIT_IRQ_CHANNEL, now), rtc = rtc_next_event(&p->rtc);
    return pit < rtc ? pit : rtc;
}

static const struct irq_hooks platform_irq_hooks = {
    .ioapic_set_irq = hook_ioapic_set_irq, .ioapic_eoi = hook_ioapic_eoi,
    .pic_set_irq = hook_pic_set_irq, .pic_intr = hook_pic_intr,
    .pic_intack = hook_pic_intack, .timers = hook_timers,
};

/* ACPI PM1a and the PM timer (dev/acpi_pm.h); S5 powers the VM off (status 0). */
static bool acpi_pm_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                       uint32_t *val)
{
    struct platform *p = dev;
    uint64_t ticks = acpi_pm_ticks(time_ns());
    if (in)
        *val = acpi_pm_read(&p->pm, port - ACPI_PM_BASE, size, ticks);
    else if (acpi_pm_write(&p->pm, port - ACPI_PM_BASE, size, *val, ticks) == ACPI_PM_POWEROFF)
        vm_exit_status(v->vm, 0);
    return true;
}

/* 0xCF8-0xCFF: PCI configuration mechanism #1 and RST_CNT (dev/pci.h). hv86 cannot
 * reset a VM, so a reset request ends it with the reason. */
static bool pci_port(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                     uint32_t *val)
{
    struct platform *p = dev;
    switch (pci_io(&p->pci, port - PCI_CONFIG_ADDRESS_PORT, size, in, val)) {
    case PCI_IO_DONE:
        break;
    case PCI_IO_RESET:
        vm_stop(v->vm, "reset requested (port %#x): hv86 does not reset VMs", port);
        return false;
    case PCI_IO_UNCLAIMED:
        if (in) {
            *val = all_ones(size);
            v->vm->stats.io_unclaimed_reads++;
        } else {
            v->vm->stats.io_unclaimed_writes++;
        }
        break;
    }
    return true;
}

static bool ecam_mmio(struct vcpu *v, void *dev, uint64_t gpa, unsigned size, bool write,
                      uint64_t *val)
{
    struct platform *p = dev;
    (void)v;
    if (write)
        pci_ecam_write(&p->pci, gpa - PCI_ECAM_BASE, size, *val);
    else
        *val = pci_ecam_read(&p->pci, gpa - PCI_ECAM_BASE, size);
    return true;
}

/* The PCI hole (ECAM window, memory window) exists only above the VM's RAM. */
static bool has_pci_hole(uint64_t ram_size)
{
    return ram_size <= PCI_HOLE_BASE;
}

static unsigned phys_bits(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000u, 0, &a, &b, &c, &d);
    if (a < 0x80000008u)
        return MAXPHYADDR_DEFAULT;
    cpuid(0x80000008u, 0, &a, &b, &c, &d);
    return a & 0xFF;
}

int platform_attach(struct vm *vm, unsigned ncpus)
{
    struct platform *p = kmalloc(sizeof *p);
    if (!p)
        return -1;
    vm->platform = p;                /* platform_detach frees it, attached or not */
    p->vm = vm;
    p->ncpus = ncpus;
    uart16550_init(&p->uart, uart_emit, vm);
    /* FW_CFG_NB_CPUS is the vCPU count; on x86 QEMU's FW_CFG_MAX_CPUS is the
     * highest APIC ID + 1, the same here (IDs are 0 .. ncpus - 1). */
    fw_cfg_init(&p->fw_cfg, vm->ram_size, (uint16_t)ncpus, (uint16_t)ncpus);
    pic8259_pair_reset(&p->pic);
    ioapic_init(&p->ioapic, PLATFORM_IOAPIC_ID, ioapic_send, vm);
    pit_init(&p->pit);
    /* The RTC starts and the paravirtual clock's system time is 0 at the same
     * moment: its wall clock is the RTC's start time. */
    uint64_t tsc = rdtsc();
    rtc_init(&p->rtc, &rtc_epoch, vm->ram_size, time_ns());
    if (kvmclock_init(&p->kvmclock, tsc, time_tsc_hz(), rtc_unix_seconds(&rtc_epoch)) != 0 ||
        kvmclock_attach(vm, &p->kvmclock) != 0)
        return -1;
    vm->irq = platform_irq_hooks;
    unsigned bits = phys_bits();
    for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
        lapic_init(&p->lapic[i], i, i == 0, bits);
        p->lapic[i].clock = &irq_lapic_clock;
    }
    if (vm_register_io(vm, COM1_BASE, UART_PORTS, uart_io, p) != 0 ||
        vm_register_io(vm, DEBUG_EXIT_PORT, DEBUG_EXIT_WIDTH, exit_io, p) != 0 ||
        vm_register_io(vm, FW_CFG_PORT_SEL, FW_CFG_PORTS, fw_cfg_port, p) != 0 ||
        vm_register_io(vm, PIC_MASTER_PORT, 2, pic_io, p) != 0 ||
        vm_register_io(vm, PIC_SLAVE_PORT, 2, pic_io, p) != 0 ||
        vm_register_io(vm, PIC_ELCR_PORT, 2, pic_io, p) != 0 ||
        vm_register_mmio(vm, LAPIC_BASE, LAPIC_SIZE, irq_lapic_mmio, p) != 0 ||
        vm_register_msr(vm, LAPIC_MSR_BASE, 1, irq_lapic_msr, p) != 0 ||
        vm_register_msr(vm, LAPIC_MSR_TSC_DEADLINE, 1, irq_lapic_msr, p) != 0 ||
        vm_register_msr(vm, X2APIC_MSR_FIRST, X2APIC_MSR_COUNT, irq_lapic_msr, p) != 0)
        return -1;
    if (vm_register_io(vm, PIT_PORT, PIT_PORTS, pit_io, p) != 0 ||
        vm_register_io(vm, PORT61, 1, pit_io, p) != 0 ||
        vm_register_io(vm, RTC_PORT, RTC_PORTS, rtc_io, p) != 0 ||
        vm_register_mmio(vm, IOAPIC_BASE, IOAPIC_SIZE, ioapic_mmio, p) != 0)
        return -1;
    acpi_pm_init(&p->pm, acpi_pm_ticks(time_ns()));
    pci_host_init(&p->pci);
    if (vm_register_io(vm, ACPI_PM_BASE, ACPI_PM_PORTS, acpi_pm_io, p) != 0 ||
        vm_register_io(vm, PCI_CONFIG_ADDRESS_PORT, PCI_PORTS, pci_port, p) != 0 ||
        (has_pci_hole(vm->ram_size) &&
         vm_register_mmio(vm, PCI_ECAM_BASE, PCI_ECAM_SIZE, ecam_mmio, p) != 0))
        return -1;
    return 0;
}

int platform_acpi(struct vm *vm)
{
    struct platform *p = vm->platform;
    struct acpi_config c = { .gpa = ACPI_TABLES_GPA, .ncpus = p->ncpus,
                             .ioapic_id = PLATFORM_IOAPIC_ID,
                             .pci_hole = has_pci_hole(vm->ram_size) };
    uint8_t *area = vm_gpa_to_hva(vm, ACPI_TABLES_GPA, ACPI_TABLES_SIZE);
    return area && acpi_build(&c, area, ACPI_TABLES_SIZE) ? 0 : -1;
}

unsigned platform_reserved(uint64_t ram_size, struct mbg_range *r, unsigned max)
{
    if (!has_pci_hole(ram_size) || max < 1)
        return 0;
    r[0] = (struct mbg_range){ PCI_ECAM_BASE, PCI_ECAM_SIZE };
    return 1;
}

/* The VM is being destroyed: its handlers go with it, only the state is freed. */
void platform_detach(struct vm *vm)
{
    struct platform *p = vm->platform;
    if (!p)
        return;
    uart16550_flush(&p->uart);
    kfree(p);
    vm->platform = NULL;
    vm->irq = (struct irq_hooks){ 0 };
    vm->nio = vm->nmmio = vm->nmsr = 0;
}

struct lapic *platform_lapic(struct vcpu *v)
{
    struct platform *p = v->vm->platform;
    return p ? &p->lapic[v->id] : NULL;
}
