/* vblk: a small virtio-blk driver (virtio 1.2: 3.1.1 initialization, 4.1 the PCI
 * transport, 2.7 split virtqueues, 5.2 the block device) that checks hv86's disks
 * from the guest side, and feeds the device bad rings.
 *
 *   mode=io (default): vda holds the pattern image (sector S: every 32-bit word
 *     is S * 0x10001 + word index), vdb is the same image given `ro`. Reads
 *     sectors with an MSI-X interrupt and by polling, writes and reads back,
 *     checks a write to vdb and a read past the end fail with IOERR, GET_ID,
 *     FLUSH, and that indirect descriptors work.
 *   mode=share name=X: writes sector 100 + X's letter, waits, and checks that
 *     the sectors another VM of the same image writes still read as the pattern.
 *   mode=hostile: one bad ring after another (a looping chain, a descriptor
 *     outside RAM, an available index too far ahead, a chain without a status
 *     byte, a nested indirect table, a header too short); after each the device
 *     must report DEVICE_NEEDS_RESET (or answer with the spec's status), and
 *     after a reset it must serve a good read again.
 * Paging is off: guest-physical = linear. Linux's UAPI virtio headers give the
 * layouts (as in hv86 itself). */
#include <stddef.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include "guests/rt/rt.h"
#include "guests/rt/virtio.h"

RT_GUEST("vblk");

#define DEVICE_BLK     0x1042          /* 0x1040 + 2 (4.1.2.1) */
#define QSIZE          VT_QSIZE
#define SECTOR         512
#define MSI_VECTOR     0x51
#define INDIRECT       (1u << VIRTIO_RING_F_INDIRECT_DESC)
#define PATTERN(s, w)  ((uint32_t)(s) * 0x10001u + (w))

static struct vt_dev disks[2];
static struct virtio_blk_outhdr hdr;
static uint8_t status, buf[8 * SECTOR] __attribute__((aligned(16)));
static struct vring_desc itable[4] __attribute__((aligned(16)));
static volatile unsigned irqs;

static void on_msi(uint32_t v)
{
	(void)v;
	irqs++;
	rt_apic_eoi();
}

/* One request: header, data (n bytes, device-writable for IN/GET_ID), status. */
static int request(struct vt_dev *d, uint32_t type, uint64_t sector, void *data, uint32_t n,
		   bool via_indirect)
{
	hdr = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	status = 0xEE;
	bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct vring_desc *t = via_indirect ? itable : d->q[0].desc;
	unsigned k = 0;
	vt_desc(t, k, &hdr, sizeof hdr, VRING_DESC_F_NEXT, k + 1);
	k++;
	if (n) {
		vt_desc(t, k, data, n, VRING_DESC_F_NEXT | (dev_writes ? VRING_DESC_F_WRITE : 0), k + 1);
		k++;
	}
	vt_desc(t, k, &status, 1, VRING_DESC_F_WRITE, 0);
	if (via_indirect)
		vt_desc(d->q[0].desc, 0, itable, (k + 1) * sizeof *itable, VRING_DESC_F_INDIRECT, 0);
	vt_kick(d, 0, 0);
	if (!vt_wait_used(d, 0))
		return -1;
	return status;
}

static void fill_pattern(uint32_t first, unsigned sectors)
{
	uint32_t *w = (uint32_t *)buf;
	for (unsigned s = 0; s < sectors; s++)
		for (unsigned i = 0; i < SECTOR / 4; i++)
			w[s * SECTOR / 4 + i] = PATTERN(first + s, i);
}

static bool is_pattern(uint32_t first, unsigned sectors)
{
	const uint32_t *w = (const uint32_t *)buf;
	for (unsigned s = 0; s < sectors; s++)
		for (unsigned i = 0; i < SECTOR / 4; i++)
			if (w[s * SECTOR / 4 + i] != PATTERN(first + s, i))
				return false;
	return true;
}

static uint64_t capacity(struct vt_dev *d)
{
	volatile struct virtio_blk_config *c = (void *)d->devcfg;
	return c->capacity;
}

static void mode_io(void)
{
	struct vt_dev *a = &disks[0], *b = &disks[1];
	if (!rt_check(vt_find(a, DEVICE_BLK, 0) && vt_find(b, DEVICE_BLK, 1),
		      "two virtio-blk functions on bus 0") ||
	    !rt_check(vt_init(a, INDIRECT, 1) && vt_init(b, 0, 1), "both initialized (3.1.1)"))
		return;
	uint64_t cap = capacity(a);
	rt_printf("vblk: vda %u sectors at 00:%02x.0, vdb at 00:%02x.0\n", (unsigned)cap, a->dev,
		  b->dev);
	rt_apic_enable(false, 0xFF);
	rt_set_irq_handler(MSI_VECTOR, on_msi);
	vt_msix_on(a, MSI_VECTOR);
	rt_sti();
	memset(buf, 0, sizeof buf);
	int st = request(a, VIRTIO_BLK_T_IN, 0, buf, 8 * SECTOR, false);
	for (uint32_t i = 0; i < 1000000 && !irqs; i++)
		__asm__ volatile("pause");
	rt_check(st == VIRTIO_BLK_S_OK && is_pattern(0, 8), "read of sectors 0-7: the pattern");
	rt_check(irqs >= 1, "its MSI-X interrupt came (%u)", irqs);
	memset(buf, 0, sizeof buf);
	st = request(a, VIRTIO_BLK_T_IN, cap - 2, buf, 2 * SECTOR, true);
	rt_check(st == VIRTIO_BLK_S_OK && is_pattern((uint32_t)cap - 2, 2),
		 "read of the last two sectors through an indirect table");
	fill_pattern(7000, 2);
	st = request(a, VIRTIO_BLK_T_OUT, 40, buf, 2 * SECTOR, false);
	memset(buf, 0, sizeof buf);
	int st2 = request(a, VIRTIO_BLK_T_IN, 40, buf, 2 * SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_OK && st2 == VIRTIO_BLK_S_OK && is_pattern(7000, 2),
		 "write of sectors 40-41, read back");
	st = request(a, VIRTIO_BLK_T_IN, cap - 1, buf, 2 * SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_IOERR, "read past the end: IOERR (%d)", st);
	st = request(a, VIRTIO_BLK_T_IN, 0, buf, 100, false);
	rt_check(st == VIRTIO_BLK_S_IOERR, "read of 100 bytes: IOERR (%d)", st);
	st = request(a, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	rt_check(st == VIRTIO_BLK_S_OK, "flush: OK (%d)", st);
	memset(buf, 0, 32);
	st = request(a, VIRTIO_BLK_T_GET_ID, 0, buf, VIRTIO_BLK_ID_BYTES, false);
	rt_check(st == VIRTIO_BLK_S_OK && buf[0], "get-id: '%.20s'", (char *)buf);
	st = request(a, 99, 0, buf, SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_UNSUPP, "unknown request type: UNSUPP (%d)", st);
	/* vdb: read-only, and the write to vda above is vda's overlay only. */
	rt_check((((volatile uint32_t *)b->common)[1] & (1u << VIRTIO_BLK_F_RO)) ||
		 (b->common->device_feature_select = 0, b->common->device_feature & (1u << VIRTIO_BLK_F_RO)),
		 "vdb offers VIRTIO_BLK_F_RO");
	fill_pattern(9000, 1);
	st = request(b, VIRTIO_BLK_T_OUT, 1, buf, SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_IOERR, "write to the read-only vdb: IOERR (%d)", st);
	memset(buf, 0, sizeof buf);
	st = request(b, VIRTIO_BLK_T_IN, 40, buf, 2 * SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_OK && is_pattern(40, 2),
		 "vdb, the same image, does not see vda's write");
}

static void mode_share(void)
{
	struct vt_dev *a = &disks[0];
	const char *name = rt_arg("name=");
	unsigned me = name ? (unsigned)(name[0] - 'a') : 0;
	if (!rt_check(vt_find(a, DEVICE_BLK, 0) && vt_init(a, 0, 1), "vda found and initialized"))
		return;
	fill_pattern(5000 + me, 1);
	int st = request(a, VIRTIO_BLK_T_OUT, 100 + me, buf, SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_OK, "wrote sector %u", 100 + me);
	bool clean = true;
	for (unsigned round = 0; round < 50; round++) {
		for (unsigned other = 0; other < 4; other++) {
			if (other == me)
				continue;
			memset(buf, 0, SECTOR);
			st = request(a, VIRTIO_BLK_T_IN, 100 + other, buf, SECTOR, false);
			clean &= st == VIRTIO_BLK_S_OK && is_pattern(100 + other, 1);
		}
		for (volatile uint32_t i = 0; i < 20000; i++)
			;
	}
	rt_check(clean, "the other VMs' sectors read as the image all along");
	memset(buf, 0, SECTOR);
	st = request(a, VIRTIO_BLK_T_IN, 100 + me, buf, SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_OK && is_pattern(5000 + me, 1), "its own write reads back");
}

/* One bad ring: build it in descriptors 0.., publish head 0, notify, and expect
 * DEVICE_NEEDS_RESET. */
static void expect_reset(struct vt_dev *d, const char *what)
{
	vt_kick(d, 0, 0);
	rt_check(vt_wait_needs_reset(d), "%s: DEVICE_NEEDS_RESET", what);
	rt_check(vt_init(d, INDIRECT, 1), "%s: reset and initialized again", what);
	memset(buf, 0, SECTOR);
	int st = request(d, VIRTIO_BLK_T_IN, 3, buf, SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_OK && is_pattern(3, 1), "%s: then a good read", what);
}

static void mode_hostile(void)
{
	struct vt_dev *d = &disks[0];
	if (!rt_check(vt_find(d, DEVICE_BLK, 0) && vt_init(d, INDIRECT, 1),
		      "vda found and initialized"))
		return;
	hdr = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN, .sector = 0 };
	/* A chain that loops: 0 -> 1 -> 0. */
	vt_desc(d->q[0].desc, 0, &hdr, sizeof hdr, VRING_DESC_F_NEXT, 1);
	vt_desc(d->q[0].desc, 1, buf, SECTOR, VRING_DESC_F_NEXT, 0);
	expect_reset(d, "a looping chain");
	/* A descriptor beyond the VM's RAM (16 MiB) and one that wraps around 2^64. */
	vt_desc(d->q[0].desc, 0, &hdr, sizeof hdr, VRING_DESC_F_NEXT, 1);
	vt_desc(d->q[0].desc, 1, buf, SECTOR, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	vt_desc(d->q[0].desc, 2, &status, 1, VRING_DESC_F_WRITE, 0);
	d->q[0].desc[1].addr = 0xF0000000ull;
	expect_reset(d, "a buffer outside RAM");
	vt_desc(d->q[0].desc, 0, &hdr, sizeof hdr, VRING_DESC_F_NEXT, 1);
	vt_desc(d->q[0].desc, 1, buf, SECTOR, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	vt_desc(d->q[0].desc, 2, &status, 1, VRING_DESC_F_WRITE, 0);
	d->q[0].desc[1].addr = 0xFFFFFFFFFFFFFF00ull;
	expect_reset(d, "a buffer that wraps around 2^64");
	/* A head out of range. */
	d->q[0].avail.ring[d->q[0].avail.idx % QSIZE] = 0;
	vt_desc(d->q[0].desc, 0, &hdr, sizeof hdr, VRING_DESC_F_NEXT, QSIZE + 3);
	expect_reset(d, "a next index past the queue");
	/* The available index far ahead. */
	d->q[0].avail.idx += QSIZE + 5;
	expect_reset(d, "an available index more than the queue size ahead");
	/* No status byte: every descriptor device-readable. */
	vt_desc(d->q[0].desc, 0, &hdr, sizeof hdr, VRING_DESC_F_NEXT, 1);
	vt_desc(d->q[0].desc, 1, buf, SECTOR, 0, 0);
	expect_reset(d, "a chain without a writable status byte");
	/* A header of 8 bytes. */
	vt_desc(d->q[0].desc, 0, &hdr, 8, VRING_DESC_F_NEXT, 1);
	vt_desc(d->q[0].desc, 1, &status, 1, VRING_DESC_F_WRITE, 0);
	expect_reset(d, "a header of 8 bytes");
	/* An indirect table inside an indirect table. */
	vt_desc(itable, 0, itable, sizeof itable, VRING_DESC_F_INDIRECT, 0);
	vt_desc(d->q[0].desc, 0, itable, sizeof itable, VRING_DESC_F_INDIRECT, 0);
	expect_reset(d, "a nested indirect table");
	/* A readable descriptor after a writable one. */
	vt_desc(d->q[0].desc, 0, &hdr, sizeof hdr, VRING_DESC_F_NEXT, 1);
	vt_desc(d->q[0].desc, 1, &status, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	vt_desc(d->q[0].desc, 2, buf, SECTOR, 0, 0);
	expect_reset(d, "a readable buffer after a writable one");
	/* A queue placed outside RAM: enabling it must fail, not fault. */
	volatile struct virtio_pci_common_cfg *c = d->common;
	c->device_status = 0;
	c->device_status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	c->guest_feature_select = 1;
	c->guest_feature = 1;
	c->device_status |= VIRTIO_CONFIG_S_FEATURES_OK;
	c->queue_select = 0;
	c->queue_desc_lo = 0xFFFFF000u;
	c->queue_desc_hi = 0xFFFFFFFFu;
	c->queue_enable = 1;
	rt_check(c->device_status & VIRTIO_CONFIG_S_NEEDS_RESET,
		 "a descriptor table outside RAM: DEVICE_NEEDS_RESET at queue_enable");
	/* A legacy-only driver: FEATURES_OK refused without VERSION_1. */
	c->device_status = 0;
	c->device_status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	c->guest_feature_select = 1;
	c->guest_feature = 0;
	c->device_status |= VIRTIO_CONFIG_S_FEATURES_OK;
	rt_check(!(c->device_status & VIRTIO_CONFIG_S_FEATURES_OK),
		 "a driver without VIRTIO_F_VERSION_1: FEATURES_OK refused");
	rt_check(vt_init(d, 0, 1), "initialized properly at last");
	memset(buf, 0, SECTOR);
	int st = request(d, VIRTIO_BLK_T_IN, 9, buf, SECTOR, false);
	rt_check(st == VIRTIO_BLK_S_OK && is_pattern(9, 1), "and it reads");
}

void guest_main(void)
{
	const char *mode = rt_arg("mode=");
	/* vdb (no MSI-X) raises INTx; like any OS with a local APIC, leave the 8259s
	 * masked (the IOAPIC's entries are masked from reset). */
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
	if (mode && !strncmp(mode, "share", 5))
		mode_share();
	else if (mode && !strncmp(mode, "hostile", 7))
		mode_hostile();
	else
		mode_io();
}
