/* The PCI host bridge as a pure model: configuration space through the I/O ports
 * 0xCF8-0xCFF (PCI Local Bus Specification 3.0, 3.2.2.3.2, "configuration
 * mechanism #1") and through the memory-mapped ECAM window (PCI Express Base
 * Specification 4.0, 7.2.2). Bus 0 holds one function, 00:00.0, a host bridge
 * that looks like QEMU's q35 one (Intel 82G33 DRAM controller); every other
 * function is absent and reads all ones. vmm/platform.c wires the ports and the
 * window. docs/acpi.md has the address map. */
#ifndef DEV_PCI_H
#define DEV_PCI_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"

#define PCI_CONFIG_ADDRESS_PORT 0xCF8   /* dword accesses only */
#define PCI_CONFIG_DATA_PORT    0xCFC   /* 0xCFC-0xCFF: byte, word or dword */
#define PCI_RESET_CONTROL_PORT  0xCF9   /* a byte inside 0xCF8-0xCFB: ICH9 RST_CNT */
#define PCI_PORTS               8       /* 0xCF8-0xCFF */

/* The PCI hole below 4 GiB: a 32-bit memory window for device BARs, then the ECAM
 * window of bus 0 only (1 MiB: 32 devices x 8 functions x 4 KiB). One bus keeps
 * what a guest scans small; the DSDT's host bridge decodes bus 0 only. A VM whose
 * RAM reaches above PCI_HOLE_BASE has neither (vmm/platform.c). */
#define PCI_HOLE_BASE      0xC0000000ull
#define PCI_MMIO_BASE      PCI_HOLE_BASE
#define PCI_MMIO_SIZE      0x20000000ull  /* 0xC0000000-0xDFFFFFFF */
#define PCI_ECAM_BASE      0xE0000000ull
#define PCI_ECAM_BUS_FIRST 0
#define PCI_ECAM_BUS_LAST  0
#define PCI_ECAM_BUS_SHIFT 20             /* ECAM offset: bus 27:20, dev 19:15, fn 14:12 */
#define PCI_ECAM_SIZE \
    ((uint64_t)(PCI_ECAM_BUS_LAST - PCI_ECAM_BUS_FIRST + 1) << PCI_ECAM_BUS_SHIFT)

/* 00:00.0: the IDs of QEMU's q35 host bridge (hw/pci-host/q35.h), class 06 00 00. */
#define PCI_HOST_VENDOR_ID 0x8086         /* Intel */
#define PCI_HOST_DEVICE_ID 0x29C0         /* 82G33/G31/P35/P31 Express DRAM Controller */

/* Configuration header offsets (PCI 3.0, 6.1) and the command register bits the
 * host bridge lets software change (PCI 3.0, 6.2.2; the set QEMU makes writable). */
#define PCI_VENDOR_ID   0x00
#define PCI_DEVICE_ID   0x02
#define PCI_COMMAND     0x04
#define PCI_STATUS      0x06
#define PCI_CLASS_REV   0x08             /* revision 7:0, class code 31:8 */
#define PCI_HEADER_TYPE 0x0E
#define PCI_CLASS_BRIDGE_HOST 0x060000u  /* base class 06 bridge, subclass 00 host, prog-if 00 */
#define PCI_COMMAND_IO          (1u << 0)
#define PCI_COMMAND_MEMORY      (1u << 1)
#define PCI_COMMAND_MASTER      (1u << 2)
#define PCI_COMMAND_SPECIAL     (1u << 3)
#define PCI_COMMAND_PARITY      (1u << 6)
#define PCI_COMMAND_SERR        (1u << 8)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_COMMAND_WRITABLE (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
                              PCI_COMMAND_SPECIAL | PCI_COMMAND_PARITY | PCI_COMMAND_SERR | \
                              PCI_COMMAND_INTX_DISABLE)
#define PCI_CONFIG_SPACE   256           /* conventional space: what 0xCF8/0xCFC reach */
#define PCI_ECAM_FN_SPACE  4096          /* extended space: ECAM only */

/* CONFIG_ADDRESS (PCI 3.0, 3.2.2.3.2): enable 31, bus 23:16, device 15:11,
 * function 10:8, register 7:2; bits 30:24 are reserved and 1:0 read 0. */
#define PCI_CONFIG_ENABLE 0x80000000u
#define PCI_CONFIG_ADDRESS_MASK 0x80FFFFFCu

/* RST_CNT, the reset control register (Intel ICH9 datasheet, I/O port CF9h):
 * bit 2 RST_CPU starts a reset; bits 1 (SYS_RST) and 3 (FULL_RST) choose its
 * kind. The FADT's reset register. */
#define PCI_RST_CNT_SYS_RST  (1u << 1)
#define PCI_RST_CNT_RST_CPU  (1u << 2)
#define PCI_RST_CNT_FULL_RST (1u << 3)
#define PCI_RESET_VALUE (PCI_RST_CNT_SYS_RST | PCI_RST_CNT_RST_CPU)  /* 0x06 */

/* INTx (PCI 3.0, 2.2.6): INTA# of slot s (1..PCI_PRT_SLOTS) reaches IOAPIC pin
 * PCI_INTX_GSI_BASE + (s - 1) mod PCI_INTX_SLOTS, level-triggered, active low
 * (shared, wired-OR), as the DSDT's _PRT says (ACPI 6.4, 6.2.13); q35 machines
 * route PCI INTx to GSIs 16-23 as well. */
#define PCI_INTX_GSI_BASE 16
#define PCI_INTX_SLOTS    8               /* GSIs 16-23 */
#define PCI_PRT_SLOTS     16

/* Header offsets of a type 0 function (PCI 3.0, 6.1, 6.2.5, 6.7). */
#define PCI_REVISION_ID     0x08
#define PCI_BAR0            0x10
#define PCI_SUBSYS_VENDOR   0x2C
#define PCI_SUBSYS_ID       0x2E
#define PCI_CAP_PTR         0x34
#define PCI_INTERRUPT_LINE  0x3C
#define PCI_INTERRUPT_PIN   0x3D
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_BAR_COUNT       6
#define PCI_BAR_MEM64       0x4u          /* memory BAR, type 10b: 64-bit (6.2.5.1) */
#define PCI_BAR_ADDR_MASK   (~0xFull)
#define PCI_CAP_ID_MSIX     0x11
#define PCI_CAP_ID_VENDOR   0x09

/* A device function other than the host bridge: its configuration space as
 * bytes, with a mask of the bits software may write (QEMU's PCIDevice config +
 * wmask), so a device describes itself once and every access is the same code.
 * Memory BARs only, 64-bit, naturally aligned power-of-2 sizes. The device's
 * glue is told of every write (config_written) and may refresh bytes before a
 * read (config_reading); both run with the VM's bus locked. */
struct pci_function {
    uint8_t dev, fn;
    uint8_t config[PCI_CONFIG_SPACE];
    uint8_t wmask[PCI_CONFIG_SPACE];
    uint64_t bar_size[PCI_BAR_COUNT];    /* 0: no BAR there (or the high half) */
    unsigned cap_end;                    /* where the next capability goes */
    void (*config_written)(struct pci_function *f, unsigned reg, unsigned size);
    void (*config_reading)(struct pci_function *f, unsigned reg, unsigned size);
    void *ctx;                           /* the device's */
};

#define PCI_MAX_FUNCTIONS 16

struct pci_host {
    uint32_t config_address;             /* the CONFIG_ADDRESS register */
    uint16_t command;                    /* 00:00.0's command register */
    uint8_t reset_control;               /* RST_CNT */
    const struct dev_host *host;         /* a reset request stops the VM; set after init */
    struct pci_function *fn[PCI_MAX_FUNCTIONS];
    unsigned nfn;
};

/* A function's header: IDs, class code and revision, subsystem IDs, interrupt pin
 * (0: none, 1: INTA#) and line; everything else zero and read-only but the
 * command register. */
void pci_function_init(struct pci_function *f, unsigned dev, unsigned fn, uint16_t vendor,
                       uint16_t device, uint32_t class_rev, uint16_t subsys_vendor,
                       uint16_t subsys, unsigned pin, unsigned line);
/* A 64-bit memory BAR i (and i + 1, its high half) of size bytes (a power of 2,
 * at least 16) at addr. */
void pci_function_bar64(struct pci_function *f, unsigned i, uint64_t size, uint64_t addr);
/* Where memory BAR i decodes now: false if memory decoding is off or the BAR
 * does not hold a usable address (0, or the all-ones of sizing). */
bool pci_function_bar_live(const struct pci_function *f, unsigned i, uint64_t *addr);
/* Appends a capability of len bytes (id, next pointer, then len - 2 bytes of
 * zeros, read-only): its offset, or 0 if the space is full. */
unsigned pci_function_add_cap(struct pci_function *f, uint8_t id, unsigned len);
/* Little-endian fields of the configuration space, for the device's own use. */
uint32_t pci_cfg_get(const struct pci_function *f, unsigned reg, unsigned size);
void pci_cfg_set(struct pci_function *f, unsigned reg, unsigned size, uint32_t val);
/* Puts f on bus 0: 0, or -1 if its slot is taken (or is the host bridge's) or
 * the host is full. */
int pci_host_add(struct pci_host *h, struct pci_function *f);

/* What a port access did. */
enum pci_io_result {
    PCI_IO_DONE,                         /* handled (*val set for a read) */
    PCI_IO_UNCLAIMED,                    /* not the bridge's: an ordinary unclaimed port */
    PCI_IO_RESET,                        /* the guest asked for a reset through RST_CNT */
};

void pci_host_init(struct pci_host *h);
/* size bytes (1, 2 or 4) at configuration offset reg of bus:dev.fn, as little-endian
 * bytes; all ones for a function that does not exist. reg + size <= 4096. */
uint32_t pci_config_read(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn,
                         unsigned reg, unsigned size);
/* A write: only the writable bits of an existing function change. */
void pci_config_write(struct pci_host *h, unsigned bus, unsigned dev, unsigned fn,
                      unsigned reg, unsigned size, uint32_t val);
/* An access at port PCI_CONFIG_ADDRESS_PORT + off (off < PCI_PORTS) of size bytes. */
enum pci_io_result pci_io(struct pci_host *h, unsigned off, unsigned size, bool in,
                          uint32_t *val);
/* An access at offset off of the ECAM window, size 1, 2, 4 or 8 bytes (an 8-byte
 * access is two dword accesses, low first). */
uint64_t pci_ecam_read(const struct pci_host *h, uint64_t off, unsigned size);
void pci_ecam_write(struct pci_host *h, uint64_t off, unsigned size, uint64_t val);
/* Bus handlers: ports 0xCF8-0xCFF (a reset request through RST_CNT stops the
 * VM: hv86 does not reset VMs) and the ECAM window. */
enum bus_result pci_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val);
enum bus_result pci_ecam_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                    bool write, uint64_t *val);
#endif
