/* The PCI host bridge (dev/pci.h). Configuration space is served byte by byte: an
 * access of 1, 2 or 4 bytes is that many consecutive bytes, little-endian (PCI
 * 3.0, 6.1), so both mechanisms share one path and any alignment gives the same
 * bytes. A function that does not exist answers all ones, as a master abort does
 * on configuration reads (PCI 3.0, 6.1; PCIe 4.0, 7.2.2: an Unsupported Request
 * completes as all ones). */
#include "arch/units.h"
#include "arch/x86.h"
#include "dev/pci.h"

#define DWORD     4u

void pci_host_init(struct pci_host *h)
{
    *h = (struct pci_host){ 0 };
}

static bool is_host_bridge(unsigned bus, unsigned dev, unsigned fn)
{
    return bus == 0 && dev == 0 && fn == 0;
}

/* Byte reg of 00:00.0's configuration space. Everything not listed reads 0: no
 * BARs, no capabilities (status bit 4 clear), no interrupt pin; in the extended
 * space a zero header at 0x100 ends the (empty) extended capability list (PCIe
 * 4.0, 7.6.3). */
static uint8_t host_byte(const struct pci_host *h, unsigned reg)
{
    uint32_t class_rev = PCI_CLASS_BRIDGE_HOST << 8;    /* revision 0 */
    switch (reg) {
    case PCI_VENDOR_ID: return PCI_HOST_VENDOR_ID & BYTE_MASK;
    case PCI_VENDOR_ID + 1: return PCI_HOST_VENDOR_ID >> 8;
    case PCI_DEVICE_ID: return PCI_HOST_DEVICE_ID & BYTE_MASK;
    case PCI_DEVICE_ID + 1: return PCI_HOST_DEVICE_ID >> 8;
    case PCI_COMMAND: return h->command & BYTE_MASK;
    case PCI_COMMAND + 1: return h->command >> 8;
    case PCI_CLASS_REV:
    case PCI_CLASS_REV + 1:
    case PCI_CLASS_REV + 2:
    case PCI_CLASS_REV + 3: return (uint8_t)(class_rev >> (8 * (reg - PCI_CLASS_REV)));
    default: return 0;       /* header type 0x00 (type 0, single function) included */
    }
}

/* --- device functions ------------------------------------------------------ */

uint32_t pci_cfg_get(const struct pci_function *f, unsigned reg, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && reg + i < PCI_CONFIG_SPACE; i++)
        v |= (uint32_t)f->config[reg + i] << (8 * i);
    return v;
}

void pci_cfg_set(struct pci_function *f, unsigned reg, unsigned size, uint32_t val)
{
    for (unsigned i = 0; i < size && reg + i < PCI_CONFIG_SPACE; i++)
        f->config[reg + i] = (uint8_t)(val >> (8 * i));
}

static void wmask_set(struct pci_function *f, unsigned reg, unsigned size, uint32_t mask)
{
    for (unsigned i = 0; i < size; i++)
        f->wmask[reg + i] = (uint8_t)(mask >> (8 * i));
}

void pci_function_init(struct pci_function *f, unsigned dev, unsigned fn, uint16_t vendor,
                       uint16_t device, uint32_t class_rev, uint16_t subsys_vendor,
                       uint16_t subsys, unsigned pin, unsigned line)
{
    *f = (struct pci_function){ .dev = (uint8_t)dev, .fn = (uint8_t)fn, .cap_end = 0x40 };
    pci_cfg_set(f, PCI_VENDOR_ID, 2, vendor);
    pci_cfg_set(f, PCI_DEVICE_ID, 2, device);
    pci_cfg_set(f, PCI_CLASS_REV, 4, class_rev);
    pci_cfg_set(f, PCI_SUBSYS_VENDOR, 2, subsys_vendor);
    pci_cfg_set(f, PCI_SUBSYS_ID, 2, subsys);
    pci_cfg_set(f, PCI_INTERRUPT_PIN, 1, pin);
    pci_cfg_set(f, PCI_INTERRUPT_LINE, 1, line);
    wmask_set(f, PCI_COMMAND, 2, PCI_COMMAND_WRITABLE);
    wmask_set(f, PCI_INTERRUPT_LINE, 1, 0xFF);    /* scratch for software (6.2.4) */
}

void pci_function_bar64(struct pci_function *f, unsigned i, uint64_t size, uint64_t addr)
{
    unsigned reg = PCI_BAR0 + 4 * i;
    f->bar_size[i] = size;
    uint64_t mask = ~(size - 1);            /* the address bits a BAR keeps (6.2.5.1) */
    pci_cfg_set(f, reg, 4, (uint32_t)(addr & mask) | PCI_BAR_MEM64);
    pci_cfg_set(f, reg + 4, 4, (uint32_t)((addr & mask) >> 32));
    wmask_set(f, reg, 4, (uint32_t)mask & (uint32_t)PCI_BAR_ADDR_MASK);
    wmask_set(f, reg + 4, 4, (uint32_t)(mask >> 32));
}

bool pci_function_bar_live(const struct pci_function *f, unsigned i, uint64_t *addr)
{
    unsigned reg = PCI_BAR0 + 4 * i;
    if (i + 1 >= PCI_BAR_COUNT || !f->bar_size[i] ||
        !(pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY))
        return false;
    uint64_t a = (pci_cfg_get(f, reg, 4) & PCI_BAR_ADDR_MASK) |
                 (uint64_t)pci_cfg_get(f, reg + 4, 4) << 32;
    /* While software sizes a BAR it holds ~(size - 1): no place to decode. */
    if (!a || a == (~(f->bar_size[i] - 1) & PCI_BAR_ADDR_MASK) || a + f->bar_size[i] < a)
        return false;
    *addr = a;
    return true;
}

unsigned pci_function_add_cap(struct pci_function *f, uint8_t id, unsigned len)
{
    unsigned at = (f->cap_end + 3) & ~3u;
    if (len < 2 || at + len > PCI_CONFIG_SPACE)
        return 0;
    /* Linked at the end of the list (PCI 3.0, 6.7). */
    unsigned prev = PCI_CAP_PTR;
    while (f->config[prev])
        prev = f->config[prev] + 1u;
    f->config[prev] = (uint8_t)at;
    f->config[at] = id;
    f->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    f->cap_end = at + len;
    return at;
}

int pci_host_add(struct pci_host *h, struct pci_function *f)
{
    if (h->nfn == PCI_MAX_FUNCTIONS || is_host_bridge(0, f->dev, f->fn) || f->dev > 31 ||
        f->fn > 7)
        return -1;
    for (unsigned i = 0; i < h->nfn; i++)
        if (h->fn[i]->dev == f->dev && h->fn[i]->fn == f->fn)
            return -1;
    h->fn[h->nfn++] = f;
    return 0;
}

static struct pci_function *function_at(const struct pci_host *h, unsigned bus, unsigned dev,
                                        unsigned fn)
{
    if (bus != 0)
        return 0;
    for (unsigned i = 0; i < h->nfn; i++)
        if (h->fn[i]->dev == dev && h->fn[i]->fn == fn)
            return h->fn[i];
    return 0;
}

/* The extended space (256-4095) of a function is empty: reads 0 (PCIe 4.0,
 * 7.6.3: a zero header ends the extended capability list). */
static uint32_t function_read(struct pci_function *f, unsigned reg, unsigned size)
{
    if (reg >= PCI_CONFIG_SPACE)
        return 0;
    if (f->config_reading)
        f->config_reading(f, reg, size);
    return pci_cfg_get(f, reg, size);
}

static void function_write(struct pci_function *f, unsigned reg, unsigned size, uint32_t val)
{
    if (reg >= PCI_CONFIG_SPACE)
        return;
    for (unsigned i = 0; i < size && reg + i < PCI_CONFIG_SPACE; i++) {
        uint8_t m = f->wmask[reg + i];
        f->config[reg + i] = (uint8_t)((f->config[reg + i] & ~m) | ((val >> (8 * i)) & m));
    }
    if (f->config_written)
        f->config_written(f, reg, size);
}

uint32_t pci_config_read(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn,
                         unsigned reg, unsigned size)
{
    struct pci_function *f = function_at(h, bus, dev, fn);
    if (f)
        return function_read(f, reg, size);
    if (!is_host_bridge(bus, dev, fn))
        return (uint32_t)access_size_mask(size);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)host_byte(h, reg + i) << (8 * i);
    return v;
}

void pci_config_write(struct pci_host *h, unsigned bus, unsigned dev, unsigned fn,
                      unsigned reg, unsigned size, uint32_t val)
{
    struct pci_function *f = function_at(h, bus, dev, fn);
    if (f) {
        function_write(f, reg, size, val);
        return;
    }
    if (!is_host_bridge(bus, dev, fn))
        return;                          /* a master abort: the write goes nowhere */
    for (unsigned i = 0; i < size; i++) {
        unsigned r = reg + i, shift;
        if (r == PCI_COMMAND)
            shift = 0;
        else if (r == PCI_COMMAND + 1)
            shift = 8;
        else
            continue;                    /* read-only, or nothing there */
        uint16_t bits = (uint16_t)(((val >> (8 * i)) & BYTE_MASK) << shift);
        uint16_t lane = (uint16_t)((BYTE_MASK << shift) & PCI_COMMAND_WRITABLE);
        h->command = (uint16_t)((h->command & ~lane) | (bits & lane));
    }
}

/* The target of CONFIG_ADDRESS, if enabled. */
static bool config_target(const struct pci_host *h, unsigned *bus, unsigned *dev,
                          unsigned *fn, unsigned *reg)
{
    uint32_t a = h->config_address;
    *bus = (a >> 16) & 0xFF;
    *dev = (a >> 11) & 0x1F;
    *fn = (a >> 8) & 0x7;
    *reg = a & 0xFC;
    return a & PCI_CONFIG_ENABLE;
}

enum pci_io_result pci_io(struct pci_host *h, unsigned off, unsigned size, bool in,
                          uint32_t *val)
{
    const unsigned data = PCI_CONFIG_DATA_PORT - PCI_CONFIG_ADDRESS_PORT;
    const unsigned rst = PCI_RESET_CONTROL_PORT - PCI_CONFIG_ADDRESS_PORT;
    /* PCI 3.0, 3.2.2.3.2: the bridge claims only dword accesses to CONFIG_ADDRESS;
     * other accesses there are ordinary I/O, which on a PC includes RST_CNT. */
    if (off == 0 && size == DWORD) {
        if (in)
            *val = h->config_address;
        else
            h->config_address = *val & PCI_CONFIG_ADDRESS_MASK;
        return PCI_IO_DONE;
    }
    if (off == rst && size == 1) {
        if (in) {
            *val = h->reset_control;
            return PCI_IO_DONE;
        }
        h->reset_control = (uint8_t)(*val & (PCI_RST_CNT_SYS_RST | PCI_RST_CNT_FULL_RST));
        return *val & PCI_RST_CNT_RST_CPU ? PCI_IO_RESET : PCI_IO_DONE;
    }
    unsigned bus, dev, fn, reg;
    /* CONFIG_DATA: the dword CONFIG_ADDRESS selects, at the access's byte lanes. */
    if (off >= data && off - data + size <= DWORD && config_target(h, &bus, &dev, &fn, &reg)) {
        reg += off - data;
        if (in)
            *val = pci_config_read(h, bus, dev, fn, reg, size);
        else
            pci_config_write(h, bus, dev, fn, reg, size, *val);
        return PCI_IO_DONE;
    }
    return PCI_IO_UNCLAIMED;             /* incl. CONFIG_DATA while disabled */
}

/* ECAM offset -> bus, device, function, register (PCIe 4.0, 7.2.2, Table 7-1). */
static void ecam_decode(uint64_t off, unsigned *bus, unsigned *dev, unsigned *fn,
                        unsigned *reg)
{
    *bus = PCI_ECAM_BUS_FIRST + (unsigned)(off >> PCI_ECAM_BUS_SHIFT);
    *dev = (off >> 15) & 0x1F;
    *fn = (off >> 12) & 0x7;
    *reg = off & (PCI_ECAM_FN_SPACE - 1);
}

uint64_t pci_ecam_read(const struct pci_host *h, uint64_t off, unsigned size)
{
    unsigned bus, dev, fn, reg;
    if (size > DWORD)
        return pci_ecam_read(h, off, DWORD) | pci_ecam_read(h, off + DWORD, DWORD) << 32;
    ecam_decode(off, &bus, &dev, &fn, &reg);
    return pci_config_read(h, bus, dev, fn, reg, size);
}

void pci_ecam_write(struct pci_host *h, uint64_t off, unsigned size, uint64_t val)
{
    unsigned bus, dev, fn, reg;
    if (size > DWORD) {
        pci_ecam_write(h, off, DWORD, val & 0xFFFFFFFFu);
        pci_ecam_write(h, off + DWORD, DWORD, val >> 32);
        return;
    }
    ecam_decode(off, &bus, &dev, &fn, &reg);
    pci_config_write(h, bus, dev, fn, reg, size, (uint32_t)val);
}

/* --- the bus handlers -------------------------------------------------------- */

enum bus_result pci_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val)
{
    struct pci_host *h = dev;
    uint32_t v32 = (uint32_t)*val;
    (void)v;
    switch (pci_io(h, (unsigned)offset, size, !write, &v32)) {
    case PCI_IO_DONE:
        if (!write)
            *val = v32;
        return BUS_OK;
    case PCI_IO_RESET:
        if (h->host)
            h->host->stop(h->host->ctx, "reset requested (port 0xcf9): hv86 does not reset VMs");
        return BUS_REFUSED;
    case PCI_IO_UNCLAIMED:
    default:
        return BUS_UNCLAIMED;
    }
}

enum bus_result pci_ecam_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                    bool write, uint64_t *val)
{
    (void)v;
    if (write)
        pci_ecam_write(dev, offset, size, *val);
    else
        *val = pci_ecam_read(dev, offset, size);
    return BUS_OK;
}
