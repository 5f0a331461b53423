/* A VM's disks (config `disk = SOURCE [ro]`, docs/config.md): each an image from a
 * boot module behind a private copy-on-write overlay (dev/blk_cow.h), served by
 * virtio-blk (dev/virtio_blk.h) over the virtio PCI transport (dev/virtio_pci.h)
 * as a function of the VM's PCI bus 0, its BAR on the VM's bus. This file is the
 * glue: guest memory, interrupts, BAR placement, pages, messages. */
#ifndef VMM_DISKS_H
#define VMM_DISKS_H
#include "lib/config.h"

struct vm;

/* Attaches the disks of c to vm (after platform_attach): 0, or -1 after
 * stopping the VM with the reason (a missing module, no PCI hole, memory). */
int disks_attach(struct vm *vm, const struct vm_config *c);
/* Frees them (the overlays' pages included), their counters summed into
 * vm->stats for the summary line. */
void disks_detach(struct vm *vm);
/* The summary line's disk figures (nothing for a VM without disks): requests
 * by kind, failed ones, and the overlays' bytes at the end. */
void disks_summary(const struct vm *vm);
#endif
