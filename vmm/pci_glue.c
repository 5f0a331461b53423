/* PCI devices' common glue (vmm/pci_glue.h). */
#include "kernel/console.h"
#include "vmm/irq.h"
#include "vmm/pci_glue.h"
#include "vmm/vm.h"

_Static_assert(PCI_SLOT_LAST * PCI_SLOT_BAR_SIZE <= PCI_MMIO_SIZE, "BARs in the window");
_Static_assert(PCI_SLOT_LAST <= 2 * PCI_INTX_SLOTS, "every slot has a GSI");

uint64_t pci_glue_bar_home(unsigned slot)
{
    return PCI_MMIO_BASE + (uint64_t)(slot - 1) * PCI_SLOT_BAR_SIZE;
}

/* The _PRT (dev/acpi.c) routes slot s to GSI PCI_INTX_GSI_BASE + (s - 1) mod 8. */
unsigned pci_glue_intx_gsi(unsigned slot)
{
    return PCI_INTX_GSI_BASE + (slot - 1) % PCI_INTX_SLOTS;
}

void pci_glue_bar_sync(struct vm *vm, struct pci_function *f, uint64_t size,
                       struct pci_bar_range *r, const char *name, bus_access_fn access,
                       void *dev)
{
    uint64_t at;
    struct bus *bus = &vm->bus;
    bool live = pci_function_bar_live(f, 0, &at);
    if (live && r->id >= 0 && at == r->at)
        return;
    if (r->id >= 0 && (!live || bus_move(bus, r->id, at) != 0)) {
        bus_release(bus, r->id);
        r->id = -1;
    }
    if (live && r->id < 0) {
        r->id = bus_claim(bus, BUS_MMIO, at, size, name, access, dev);
        if (r->id < 0)
            kprintf("hv86: vm %s: %s: BAR 0 at %#lx overlaps another device: not decoding\n",
                    vm->name, name, at);
    }
    r->at = at;
}

void pci_glue_intx(struct vm *vm, unsigned slot, bool asserted)
{
    unsigned line = (slot - 1) % PCI_INTX_SLOTS;
    uint8_t *n = &vm->pci_intx[line];
    bool was = *n;
    *n = (uint8_t)(*n + (asserted ? 1 : -1));
    if (!was != !*n)
        irq_set_gsi(vm, PCI_INTX_GSI_BASE + line, !*n);     /* active low */
}
