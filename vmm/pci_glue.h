/* What every PCI device of a VM needs from the core (vmm/disks.c, vmm/nics.c): a
 * slot on bus 0 with its BAR 0 placed in the memory window and followed on the
 * VM's bus as the guest moves it, and its INTA# wired to the GSI the DSDT's _PRT
 * gives the slot, shared with other slots there (PCI interrupts are wired-OR). */
#ifndef VMM_PCI_GLUE_H
#define VMM_PCI_GLUE_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"
#include "dev/pci.h"

struct vm;

/* Slots: 1-8 disks, 9-16 network cards. */
#define PCI_SLOT_DISK_FIRST 1
#define PCI_SLOT_NIC_FIRST  9
#define PCI_SLOT_LAST       16
#define PCI_SLOT_BAR_SIZE   0x8000u      /* each slot's share of the memory window */

/* BAR 0 of a function on the VM's bus: where the guest put it, or nowhere. */
struct pci_bar_range {
    int id;                              /* bus range id; -1 when not decoding */
    uint64_t at;
};

/* Where slot's BAR 0 starts (firmware's placement) and its INTA#'s GSI. */
uint64_t pci_glue_bar_home(unsigned slot);
unsigned pci_glue_intx_gsi(unsigned slot);
/* Puts BAR 0 of f (size bytes) where the function says, on vm's bus, moving or
 * removing r's range (the bus locked by the caller, as inside a configuration
 * access). A place another device holds is refused with a message naming name. */
void pci_glue_bar_sync(struct vm *vm, struct pci_function *f, uint64_t size,
                       struct pci_bar_range *r, const char *name, bus_access_fn access,
                       void *dev);
/* A device's INTA# changed: the GSI is asserted while any device on it asserts
 * (active low: the line is driven low). */
void pci_glue_intx(struct vm *vm, unsigned slot, bool asserted);
#endif
