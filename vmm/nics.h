/* A VM's network cards (config `net = NETWORK [mac=...]`, docs/network.md): each a
 * virtio-net device (dev/virtio_net.h) over the virtio PCI transport, one port
 * of its network's learning switch (dev/net_switch.h). This file is the glue:
 * the networks, guest memory, interrupts, BARs, and frames between VMs, which
 * may run on different host CPUs.
 *
 * A frame a VM sends is copied, under its network's lock, into the receiving
 * ports' bounded queues on the sender's host CPU; the receiving VM is flagged
 * (vm->net_rx_pending) and its host CPU kicked, and that CPU moves the frames
 * into its guest's receive buffers (nics_receive) before it next runs the VM:
 * a VM's device state and local APICs are touched only by the CPU that owns it
 * (docs/smp.md). */
#ifndef VMM_NICS_H
#define VMM_NICS_H
#include "lib/config.h"

struct vm;

/* Attaches the NICs of c to vm (after platform_attach): 0, or -1 after stopping
 * the VM with the reason (too many networks, a MAC already on the network). */
int nics_attach(struct vm *vm, const struct vm_config *c);
/* Takes them off their networks and frees them; their counters go to vm->stats. */
void nics_detach(struct vm *vm);
/* On the host CPU that owns vm: frames waiting for its NICs into its guest. */
void nics_receive(struct vm *vm);
/* The summary line's network figures, per card (nothing for a VM without). */
void nics_summary(const struct vm *vm);
#endif
