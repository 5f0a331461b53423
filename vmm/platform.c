/* The platform glue: the device models in dev/ are pure state machines; this file
 * gives each VM its set, registers their ports, MMIO ranges and MSRs, and turns
 * their results into console output, VM exits and stops. */
#include "dev/debug_exit.h"
#include "dev/fw_cfg.h"
#include "dev/lapic.h"
#include "dev/pic8259.h"
#include "dev/uart16550.h"
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/x86.h"
#include "vmm/platform.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define COM1_BASE 0x3f8
/* One vCPU per VM for now (hv.c refuses more): what fw_cfg reports. On x86 QEMU's
 * FW_CFG_MAX_CPUS is the highest APIC ID + 1, which is 1 as well. */
#define PLATFORM_CPUS 1
#define DEFAULT_PHYS_BITS 36           /* SDM Vol. 3A 4.1.4, without leaf 0x80000008 */

struct platform {
    struct vm *vm;
    struct uart16550 uart;
    struct fw_cfg fw_cfg;
    struct pic8259_pair pic;
    struct lapic lapic[VM_MAX_VCPUS];
};

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* The guest's output as hv86 prints it: "[NAME] line" (docs/result-protocol.md). */
static void uart_emit(void *ctx, const char *line, unsigned len)
{
    struct vm *vm = ctx;
    kprintf("[%s] ", vm->name);
    console_write(line, len);
    console_putc('\n');
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
    unsigned a0 = port & 1;
    struct pic8259 *chip;
    switch (port & ~1u) {
    case PIC_MASTER_PORT: chip = &p->pic.chip[0]; break;
    case PIC_SLAVE_PORT: chip = &p->pic.chip[1]; break;
    case PIC_ELCR_PORT:
        if (in)
            *b = pic_elcr_read(&p->pic, a0);
        else
            pic_elcr_write(&p->pic, a0, *b);
        return true;
    default: return false;
    }
    if (in)
        *b = pic8259_read(chip, a0);
    else
        pic8259_write(chip, a0, *b);
    return true;
}

/* The 8259s are byte-wide: a wider access takes the following ports in turn, as
 * the ISA bus splits it; bytes past the device are unclaimed (all ones). */
static bool pic_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                   uint32_t *val)
{
    uint32_t r = 0;
    (void)v;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = in ? 0xFF : (uint8_t)(*val >> (8 * i));
        pic_byte(dev, (uint16_t)(port + i), in, &b);
        r |= (uint32_t)b << (8 * i);
    }
    if (in)
        *val = r;
    return true;
}

/* The xAPIC page. While the APIC is disabled or in x2APIC mode it is no device's
 * (SDM Vol. 3A 11.12.2: as if globally disabled), and an access to it stops the
 * VM like any other address outside RAM and devices (docs/platform.md). */
static bool lapic_mmio(struct vcpu *v, void *dev, uint64_t gpa, unsigned size, bool write,
                       uint64_t *val)
{
    struct platform *p = dev;
    struct lapic *l = &p->lapic[v->id];
    uint32_t off = (uint32_t)(gpa - LAPIC_BASE), r = 0;
    bool ok = write ? lapic_mmio_write(l, off, size, (uint32_t)*val)
                    : lapic_mmio_read(l, off, size, &r);
    if (!ok) {
        vm_stop(v->vm, "%s of the xAPIC page at gpa=%#lx rip=%#lx while the APIC is %s",
                write ? "write" : "read", gpa, vcpu_get(v, REG_RIP),
                lapic_mode(l) == APIC_MODE_DISABLED ? "disabled" : "in x2APIC mode");
        return false;
    }
    if (!write)
        *val = r;
    return true;
}

static bool lapic_msr(struct vcpu *v, void *dev, uint32_t index, bool write, uint64_t *val)
{
    struct lapic *l = &((struct platform *)dev)->lapic[v->id];
    return write ? lapic_msr_write(l, index, *val) : lapic_msr_read(l, index, val);
}

static unsigned phys_bits(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000u, 0, &a, &b, &c, &d);
    if (a < 0x80000008u)
        return DEFAULT_PHYS_BITS;
    cpuid(0x80000008u, 0, &a, &b, &c, &d);
    return a & 0xFF;
}

int platform_attach(struct vm *vm)
{
    struct platform *p = kmalloc(sizeof *p);
    if (!p)
        return -1;
    vm->platform = p;                /* platform_detach frees it, attached or not */
    p->vm = vm;
    uart16550_init(&p->uart, uart_emit, vm);
    fw_cfg_init(&p->fw_cfg, vm->ram_size, PLATFORM_CPUS, PLATFORM_CPUS);
    pic8259_pair_reset(&p->pic);
    unsigned bits = phys_bits();
    for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
        lapic_init(&p->lapic[i], i, i == 0, bits);
    if (vm_register_io(vm, COM1_BASE, UART_PORTS, uart_io, p) != 0 ||
        vm_register_io(vm, DEBUG_EXIT_PORT, DEBUG_EXIT_WIDTH, exit_io, p) != 0 ||
        vm_register_io(vm, FW_CFG_PORT_SEL, FW_CFG_PORTS, fw_cfg_port, p) != 0 ||
        vm_register_io(vm, PIC_MASTER_PORT, 2, pic_io, p) != 0 ||
        vm_register_io(vm, PIC_SLAVE_PORT, 2, pic_io, p) != 0 ||
        vm_register_io(vm, PIC_ELCR_PORT, 2, pic_io, p) != 0 ||
        vm_register_mmio(vm, LAPIC_BASE, LAPIC_SIZE, lapic_mmio, p) != 0 ||
        vm_register_msr(vm, LAPIC_MSR_BASE, 1, lapic_msr, p) != 0 ||
        vm_register_msr(vm, X2APIC_MSR_FIRST, X2APIC_MSR_COUNT, lapic_msr, p) != 0)
        return -1;
    return 0;
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
    vm->nio = vm->nmmio = vm->nmsr = 0;
}

struct lapic *platform_lapic(struct vcpu *v)
{
    struct platform *p = v->vm->platform;
    return p ? &p->lapic[v->id] : NULL;
}
