/* A small virtio 1.x PCI driver for the test guests (virtio 1.2: 3.1.1
 * initialization, 4.1 the PCI transport, 2.7 split virtqueues): find a device
 * on bus 0, bring it up with its queues, build descriptor chains, notify, wait
 * for the used ring. Paging is off in the guests, so guest-physical = linear.
 * Layouts come from Linux's UAPI headers, as in hv86 itself. Used by
 * guests/vblk.c and guests/vnet.c. */
#ifndef GUESTS_RT_VIRTIO_H
#define GUESTS_RT_VIRTIO_H
#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define VT_QSIZE   16
#define VT_QUEUES  3

struct vt_queue {
	struct vring_desc desc[VT_QSIZE] __attribute__((aligned(16)));
	struct { uint16_t flags, idx, ring[VT_QSIZE], used_event; } avail __attribute__((aligned(2)));
	struct { uint16_t flags, idx; struct vring_used_elem ring[VT_QSIZE]; uint16_t avail_event; }
		used __attribute__((aligned(4)));
	uint16_t last_used, notify_off;
};

struct vt_dev {
	unsigned dev;                          /* bus 0 device number */
	volatile struct virtio_pci_common_cfg *common;
	volatile uint8_t *isr, *devcfg, *notify;
	uint32_t notify_mult;
	unsigned msix_cap;
	volatile uint32_t *msix_table;
	unsigned nq;                           /* queues set up by vt_init */
	struct vt_queue q[VT_QUEUES];
};

/* PCI configuration mechanism #1 (PCI 3.0, 3.2.2.3.2). */
uint32_t vt_cfg_read(unsigned dev, unsigned reg);
void vt_cfg_write32(unsigned dev, unsigned reg, uint32_t v);
/* The n-th function of bus 0 with this device ID and its structures (4.1.4). */
bool vt_find(struct vt_dev *d, uint16_t device_id, unsigned n);
/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, the features (VERSION_1 plus want_lo, the
 * low 32 bits), FEATURES_OK, nq queues with MSI-X vector = queue index, DRIVER_OK.
 * False if the device refuses a step. */
bool vt_init(struct vt_dev *d, uint32_t want_lo, unsigned nq);
/* MSI-X vector 0 to the local APIC with ID 0 (SDM Vol. 3A 11.11), unmasked. */
void vt_msix_on(struct vt_dev *d, uint8_t vector);
/* Descriptor i of table t. */
void vt_desc(struct vring_desc *t, unsigned i, const void *p, uint32_t len, uint16_t flags,
	     uint16_t next);
/* Notifies the device of queue q (4.1.4.4). */
void vt_notify(struct vt_dev *d, unsigned q);
/* Publishes head in queue q's available ring and notifies the device. */
void vt_kick(struct vt_dev *d, unsigned q, uint16_t head);
/* Waits (bounded) for queue q's used ring to move: true if it did. */
bool vt_wait_used(struct vt_dev *d, unsigned q);
/* Waits (bounded) for DEVICE_NEEDS_RESET: true if the device set it. */
bool vt_wait_needs_reset(struct vt_dev *d);
#endif
