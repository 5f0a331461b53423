/* libFuzzer target for the device models (dev/): every register of every device
 * is the guest's to poke, in any order, with any size and value, at any time.
 * The input is a program of 8-byte steps (device, operation, offset, size, value,
 * time advance); the models must stay memory-safe and free of undefined
 * behaviour (ASan, UBSan), and keep a few promises checked here:
 * - the local APIC presents a vector 0-255 or none (-1), and the one it presents
 *   is in IRR;
 * - a PIT counter's next OUT edge lies after now;
 * - a PCI or ACPI access outside their port blocks is refused by the callers,
 *   so offsets stay inside the blocks, as the VM's port map guarantees. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dev/acpi_pm.h"
#include "dev/fw_cfg.h"
#include "dev/ioapic.h"
#include "dev/lapic.h"
#include "dev/pci.h"
#include "dev/pic8259.h"
#include "dev/pit.h"
#include "dev/rtc.h"
#include "dev/uart16550.h"

#define STEP 8
#define LAPIC_PAGE 0x1000u
#define X2APIC_MSR_FIRST 0x800u
#define MSR_TSC_DEADLINE 0x6E0u
#define PIT_COUNTERS 3
#define PIT_OFFSETS 4
#define RTC_OFFSETS 2
#define UART_REGS 8
#define FW_CFG_OFFSETS 2
#define IOAPIC_WINDOW 0x40u

enum dev { D_UART, D_PIT, D_RTC, D_PIC, D_IOAPIC, D_LAPIC, D_FWCFG, D_PCI, D_ACPI, D_COUNT };

static uint64_t now_ns;
static uint64_t clock_ns(void) { return now_ns; }
static uint64_t clock_tsc(void) { return now_ns * 2; }
static uint64_t clock_tsc_hz(void) { return 2000000000ull; }
static const struct lapic_clock fake_clock = { clock_ns, clock_tsc, clock_tsc_hz };

static void emit(void *ctx, const char *line, unsigned len)
{
    volatile char sink = 0;
    for (unsigned i = 0; i < len; i++)      /* the line must be readable in full */
        sink ^= line[i];
    (void)ctx;
    (void)sink;
}

static struct lapic lapic;

static bool deliver(void *ctx, const struct ioapic_msg *m)
{
    (void)ctx;
    if (m->mode == IOAPIC_DM_FIXED || m->mode == IOAPIC_DM_LOWEST)
        lapic_accept(&lapic, m->vector, m->level);
    return true;
}

static unsigned size_of(uint8_t b) { return 1u << (b % 3); }   /* 1, 2 or 4 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct uart16550 uart;
    struct pit pit;
    struct rtc rtc;
    struct pic8259_pair pic;
    struct ioapic ioapic;
    struct fw_cfg fw;
    struct pci_host pci;
    struct acpi_pm pm;
    const struct rtc_time start = { 2026, 11, 27, 12, 0, 0, 6 };

    now_ns = 0;
    uart16550_init(&uart, emit, NULL);
    pit_init(&pit);
    rtc_init(&rtc, &start, 256u << 20, 0);
    pic8259_pair_reset(&pic);
    ioapic_init(&ioapic, 0, deliver, NULL);
    lapic_init(&lapic, 0, true, 40);
    lapic.clock = &fake_clock;
    fw_cfg_init(&fw, 256u << 20, 2, 8);
    pci_host_init(&pci);
    acpi_pm_init(&pm, 0);

    for (size_t at = 0; at + STEP <= size; at += STEP) {
        const uint8_t *s = data + at;
        unsigned op = s[1], off = s[2] | (unsigned)s[3] << 8, sz = size_of(s[4]);
        uint32_t val = s[5] | (uint32_t)s[6] << 8 | (uint32_t)s[7] << 16;
        uint32_t out = 0;
        now_ns += (uint64_t)(op >> 4) << (s[7] % 24);          /* time moves on, or not */
        bool write = op & 1;
        switch (s[0] % D_COUNT) {
        case D_UART:
            if (write)
                uart16550_write(&uart, off % UART_REGS, (uint8_t)val);
            else
                out = uart16550_read(&uart, off % UART_REGS);
            if (op & 2)
                uart16550_flush(&uart);
            (void)uart16550_irq(&uart);
            break;
        case D_PIT: {
            unsigned c = off % PIT_COUNTERS;
            if (op & 2)
                write ? pit_port61_write(&pit, (uint8_t)val, now_ns)
                      : (void)(out = pit_port61_read(&pit, now_ns));
            else if (write)
                pit_write(&pit, off % PIT_OFFSETS, (uint8_t)val, now_ns);
            else
                out = pit_read(&pit, off % PIT_OFFSETS, now_ns);
            (void)pit_out(&pit, c, now_ns);
            (void)pit_take_edges(&pit, c, now_ns);
            if (pit_next_edge(&pit, c, now_ns) <= now_ns)
                abort();
            break;
        }
        case D_RTC:
            if (write)
                rtc_write(&rtc, off % RTC_OFFSETS, (uint8_t)val, now_ns);
            else
                out = rtc_read(&rtc, off % RTC_OFFSETS, now_ns);
            (void)rtc_poll(&rtc, now_ns);
            (void)rtc_next_event(&rtc);
            break;
        case D_PIC:
            if (op & 2)
                pic8259_pair_set_irq(&pic, off % 16, val & 1);
            else if (op & 4)
                write ? pic_elcr_write(&pic, off & 1, (uint8_t)val)
                      : (void)(out = pic_elcr_read(&pic, off & 1));
            else if (write)
                pic8259_pair_write(&pic, off & 1, (off >> 1) & 1, (uint8_t)val);
            else
                out = pic8259_pair_read(&pic, off & 1, (off >> 1) & 1);
            if (pic8259_pair_int(&pic) && (op & 8))
                (void)pic8259_pair_inta(&pic);
            break;
        case D_IOAPIC:
            if (op & 2)
                ioapic_set_irq(&ioapic, off % IOAPIC_PINS, val & 1);
            else if (op & 4)
                ioapic_eoi(&ioapic, (uint8_t)val);
            else if (write)
                ioapic_mmio_write(&ioapic, off % IOAPIC_WINDOW, sz, val);
            else
                out = ioapic_mmio_read(&ioapic, off % IOAPIC_WINDOW, sz);
            break;
        case D_LAPIC: {
            uint64_t v64 = (uint64_t)val << (s[4] % 40);
            if (op & 2) {
                uint32_t msr = op & 4 ? X2APIC_MSR_FIRST + (off & 0xFF) :
                               op & 8 ? MSR_TSC_DEADLINE : MSR_APIC_BASE;
                write ? (void)lapic_msr_write(&lapic, msr, v64)
                      : (void)lapic_msr_read(&lapic, msr, &v64);
            } else if (op & 4) {
                lapic_accept(&lapic, (uint8_t)val, val & 0x100);
            } else if (write) {
                (void)lapic_mmio_write(&lapic, off % LAPIC_PAGE, sz, val);
            } else {
                (void)lapic_mmio_read(&lapic, off % LAPIC_PAGE, sz, &out);
            }
            int v = lapic_highest(&lapic);
            if (v < -1 || v > 255 || lapic_highest_irr(&lapic) < -1)
                abort();
            if (v >= 0) {
                if (!(lapic.irr[v / 32] & (1u << (v % 32))))
                    abort();
                if (op & 8)
                    lapic_ack(&lapic, (uint8_t)v);
            }
            (void)lapic_ppr(&lapic);
            (void)lapic_extint(&lapic);
            break;
        }
        case D_FWCFG:
            if (op & 2)
                fw_cfg_select(&fw, (uint16_t)val);
            else if (op & 4)
                out = fw_cfg_read_byte(&fw);
            else
                out = val, (void)fw_cfg_io(&fw, off % FW_CFG_OFFSETS, sz, !write, &out);
            break;
        case D_PCI:
            if (op & 2) {
                uint64_t eoff = ((uint64_t)off << 4 | (val & 0xF)) & ((1u << 20) - 1);
                write ? pci_ecam_write(&pci, eoff, sz, val)
                      : (void)pci_ecam_read(&pci, eoff, sz);
            } else {
                out = val;
                (void)pci_io(&pci, off % PCI_PORTS, sz, !write, &out);
            }
            break;
        case D_ACPI: {
            uint64_t ticks = acpi_pm_ticks(now_ns);
            unsigned o = off % ACPI_PM_PORTS;
            if (write)
                (void)acpi_pm_write(&pm, o, sz, val, ticks);
            else
                out = acpi_pm_read(&pm, o, sz, ticks);
            break;
        }
        }
        (void)out;
    }
    return 0;
}
