/* The test guests' virtio driver (guests/rt/virtio.h). */
#include <linux/virtio_config.h>
#include "guests/rt/rt.h"
#include "guests/rt/virtio.h"

#define CONFIG_ADDRESS 0xCF8
#define CONFIG_DATA    0xCFC
#define VENDOR_VIRTIO  0x1AF4
#define CAP_MSIX       0x11
#define CAP_VENDOR     0x09
#define WAIT_ROUNDS    10000000u

uint32_t vt_cfg_read(unsigned dev, unsigned reg)
{
	outl(CONFIG_ADDRESS, 0x80000000u | dev << 11 | (reg & 0xFC));
	return inl(CONFIG_DATA) >> (8 * (reg & 3));
}

void vt_cfg_write32(unsigned dev, unsigned reg, uint32_t v)
{
	outl(CONFIG_ADDRESS, 0x80000000u | dev << 11 | reg);
	outl(CONFIG_DATA, v);
}

bool vt_find(struct vt_dev *d, uint16_t device_id, unsigned n)
{
	for (unsigned dev = 1; dev < 32; dev++) {
		if (vt_cfg_read(dev, 0) != ((uint32_t)device_id << 16 | VENDOR_VIRTIO) || n--)
			continue;
		d->dev = dev;
		uint32_t bar = vt_cfg_read(dev, 0x10) & ~0xFu;
		for (unsigned c = vt_cfg_read(dev, 0x34) & 0xFF; c; c = vt_cfg_read(dev, c + 1) & 0xFF) {
			unsigned id = vt_cfg_read(dev, c) & 0xFF;
			if (id == CAP_MSIX)
				d->msix_cap = c;
			if (id != CAP_VENDOR)
				continue;
			unsigned type = vt_cfg_read(dev, c + 3) & 0xFF;
			uint8_t *p = (uint8_t *)(uintptr_t)(bar + vt_cfg_read(dev, c + 8));
			if (type == VIRTIO_PCI_CAP_COMMON_CFG)
				d->common = (void *)p;
			else if (type == VIRTIO_PCI_CAP_ISR_CFG)
				d->isr = p;
			else if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
				d->devcfg = p;
			else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
				d->notify = p;
				d->notify_mult = vt_cfg_read(dev, c + 16);
			}
		}
		if (d->msix_cap)
			d->msix_table = (void *)(uintptr_t)(bar + (vt_cfg_read(dev, d->msix_cap + 4) & ~7u));
		return d->common && d->isr && d->devcfg && d->notify && d->msix_table;
	}
	return false;
}

bool vt_init(struct vt_dev *d, uint32_t want_lo, unsigned nq)
{
	volatile struct virtio_pci_common_cfg *c = d->common;
	c->device_status = 0;
	while (c->device_status)
		;
	c->device_status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	c->device_feature_select = 1;
	if (!(c->device_feature & 1))            /* VIRTIO_F_VERSION_1, bit 32 */
		return false;
	c->guest_feature_select = 0;
	c->guest_feature = want_lo;
	c->guest_feature_select = 1;
	c->guest_feature = 1;
	c->device_status |= VIRTIO_CONFIG_S_FEATURES_OK;
	if (!(c->device_status & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	d->nq = nq;
	for (unsigned i = 0; i < nq; i++) {
		struct vt_queue *q = &d->q[i];
		memset(&q->avail, 0, sizeof q->avail);
		memset(&q->used, 0, sizeof q->used);
		q->last_used = 0;
		c->queue_select = (uint16_t)i;
		c->queue_size = VT_QSIZE;
		c->queue_desc_lo = (uint32_t)(uintptr_t)q->desc;
		c->queue_desc_hi = 0;
		c->queue_avail_lo = (uint32_t)(uintptr_t)&q->avail;
		c->queue_avail_hi = 0;
		c->queue_used_lo = (uint32_t)(uintptr_t)&q->used;
		c->queue_used_hi = 0;
		c->queue_msix_vector = (uint16_t)i;
		q->notify_off = c->queue_notify_off;
		c->queue_enable = 1;
		if (c->queue_msix_vector != i)
			return false;
	}
	c->device_status |= VIRTIO_CONFIG_S_DRIVER_OK;
	return !(c->device_status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

void vt_msix_on(struct vt_dev *d, uint8_t vector)
{
	d->msix_table[0] = 0xFEE00000u;
	d->msix_table[1] = 0;
	d->msix_table[2] = vector;
	d->msix_table[3] = 0;
	uint32_t dw = vt_cfg_read(d->dev, d->msix_cap);
	vt_cfg_write32(d->dev, d->msix_cap, (dw & 0x3FFFFFFFu) | 0x80000000u);   /* enable */
}

void vt_desc(struct vring_desc *t, unsigned i, const void *p, uint32_t len, uint16_t flags,
	     uint16_t next)
{
	t[i] = (struct vring_desc){ .addr = (uint32_t)(uintptr_t)p, .len = len, .flags = flags,
				    .next = next };
}

void vt_notify(struct vt_dev *d, unsigned qi)
{
	__asm__ volatile("mfence" ::: "memory");
	*(volatile uint16_t *)(d->notify + d->q[qi].notify_off * d->notify_mult) = (uint16_t)qi;
}

void vt_kick(struct vt_dev *d, unsigned qi, uint16_t head)
{
	struct vt_queue *q = &d->q[qi];
	q->avail.ring[q->avail.idx % VT_QSIZE] = head;
	__asm__ volatile("" ::: "memory");
	q->avail.idx++;
	vt_notify(d, qi);
}

bool vt_wait_used(struct vt_dev *d, unsigned qi)
{
	struct vt_queue *q = &d->q[qi];
	for (uint32_t i = 0; i < WAIT_ROUNDS; i++) {
		if (*(volatile uint16_t *)&q->used.idx != q->last_used) {
			q->last_used++;
			return true;
		}
		__asm__ volatile("pause");
	}
	return false;
}

bool vt_wait_needs_reset(struct vt_dev *d)
{
	for (uint32_t i = 0; i < WAIT_ROUNDS / 10; i++)
		if (d->common->device_status & VIRTIO_CONFIG_S_NEEDS_RESET)
			return true;
	return d->common->device_status & VIRTIO_CONFIG_S_NEEDS_RESET;
}
