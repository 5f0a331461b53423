/* vnet: a small virtio-net driver (virtio 1.2, 5.1) that attacks hv86's network
 * cards and switch (issue 21), and a sink that counts what reaches it.
 *
 *   mode=hostile: floods the network with broadcast frames (frames=N, 20000 by
 *     default: the switch must drop what the sink cannot take, never block the
 *     sender), sends a runt, an oversize frame, one asking for checksum offload
 *     and one from another MAC (each dropped and counted by hv86), bad control
 *     commands (answered VIRTIO_NET_ERR), then bad rings (a looping chain, a
 *     device-writable buffer in a transmit chain, a buffer outside RAM): each
 *     DEVICE_NEEDS_RESET, and after a reset the card sends again; last an END
 *     frame.
 *   mode=sink: posts receive buffers and counts frames until END arrives.
 * Paging is off: guest-physical = linear (guests/rt/virtio.h). */
#include <stddef.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include "guests/rt/rt.h"
#include "guests/rt/virtio.h"

RT_GUEST("vnet");

#define DEVICE_NET   0x1041             /* 0x1040 + 1 (4.1.2.1) */
#define RXQ          0
#define TXQ          1
#define CTRLQ        2
#define ETHERTYPE    0x88B5             /* IEEE 802 local experimental */
#define FRAME_MAX    1518
#define HDR          sizeof(struct virtio_net_hdr_v1)
#define END_TAG      0x454E44u
#define WANT         (1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_CTRL_VQ | \
                      1u << VIRTIO_NET_F_CTRL_RX)

static struct vt_dev nic;
static uint8_t mac[6];
static struct virtio_net_hdr_v1 hdr;
static uint8_t frame[2048], rxbuf[VT_QSIZE][HDR + FRAME_MAX];
static uint8_t ctrl_cmd[16], ctrl_ack;

static void read_mac(void)
{
	for (unsigned i = 0; i < 6; i++)
		mac[i] = nic.devcfg[offsetof(struct virtio_net_config, mac) + i];
}

/* A frame of len bytes: broadcast, from src, our EtherType, tag in the payload. */
static size_t build(const uint8_t *src, size_t len, uint32_t tag)
{
	memset(frame, 0, sizeof frame);
	memset(frame, 0xFF, 6);
	memcpy(frame + 6, src, 6);
	frame[12] = ETHERTYPE >> 8;
	frame[13] = ETHERTYPE & 0xFF;
	memcpy(frame + 14, &tag, 4);
	return len;
}

/* Sends one chain (header, frame) on the transmit queue and waits for it back. */
static bool send(size_t len, uint8_t flags)
{
	hdr = (struct virtio_net_hdr_v1){ .flags = flags };
	struct vring_desc *t = nic.q[TXQ].desc;
	vt_desc(t, 0, &hdr, HDR, VRING_DESC_F_NEXT, 1);
	vt_desc(t, 1, frame, (uint32_t)len, 0, 0);
	vt_kick(&nic, TXQ, 0);
	return vt_wait_used(&nic, TXQ);
}

/* A control command (5.1.6.5): class, command, data; the device's ack. */
static int control(uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	ctrl_cmd[0] = class;
	ctrl_cmd[1] = cmd;
	memcpy(ctrl_cmd + 2, data, len);
	ctrl_ack = 0xEE;
	struct vring_desc *t = nic.q[CTRLQ].desc;
	vt_desc(t, 0, ctrl_cmd, 2 + len, VRING_DESC_F_NEXT, 1);
	vt_desc(t, 1, &ctrl_ack, 1, VRING_DESC_F_WRITE, 0);
	vt_kick(&nic, CTRLQ, 0);
	return vt_wait_used(&nic, CTRLQ) ? ctrl_ack : -1;
}

static void bad_ring(const char *what)
{
	vt_kick(&nic, TXQ, 0);
	rt_check(vt_wait_needs_reset(&nic), "%s: DEVICE_NEEDS_RESET", what);
	rt_check(vt_init(&nic, WANT, 3), "%s: reset and initialized again", what);
	rt_check(send(build(mac, 60, 7), 0), "%s: then a frame goes out", what);
}

static void mode_hostile(void)
{
	uint32_t frames = rt_arg_uint("frames=", 20000);
	if (!rt_check(vt_find(&nic, DEVICE_NET, 0) && vt_init(&nic, WANT, 3),
		      "eth0 found and initialized"))
		return;
	read_mac();
	uint32_t sent = 0;
	for (uint32_t i = 0; i < frames; i++)
		sent += send(build(mac, 60, i), 0);
	rt_check(sent == frames, "flood: %u broadcast frames went out, none held back", sent);
	rt_check(send(build(mac, 10, 0), 0), "a runt frame (10 bytes) handed back");
	rt_check(send(build(mac, 2000, 0), 0), "an oversize frame (2000 bytes) handed back");
	rt_check(send(build(mac, 60, 0), VIRTIO_NET_HDR_F_NEEDS_CSUM),
		 "a frame asking for checksum offload handed back");
	static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0x66, 0x66, 0x66 };
	rt_check(send(build(other, 60, 0), 0), "a frame from another MAC handed back");
	uint8_t on = 1, two[2] = { 1, 1 };
	rt_check(control(99, 0, &on, 1) == VIRTIO_NET_ERR, "an unknown control class: ERR");
	rt_check(control(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2) == VIRTIO_NET_ERR,
		 "PROMISC with two bytes: ERR");
	rt_check(control(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1) == VIRTIO_NET_OK,
		 "PROMISC on: OK");
	struct vring_desc *t = nic.q[TXQ].desc;
	vt_desc(t, 0, &hdr, HDR, VRING_DESC_F_NEXT, 1);
	vt_desc(t, 1, frame, 60, VRING_DESC_F_NEXT, 0);
	bad_ring("a looping transmit chain");
	vt_desc(t, 0, &hdr, HDR, VRING_DESC_F_NEXT, 1);
	vt_desc(t, 1, frame, 60, VRING_DESC_F_WRITE, 0);
	bad_ring("a device-writable buffer in a transmit chain");
	vt_desc(t, 0, &hdr, HDR, VRING_DESC_F_NEXT, 1);
	vt_desc(t, 1, frame, 60, 0, 0);
	t[1].addr = 0xF0000000ull;
	bad_ring("a buffer outside RAM");
	/* END, a few times apart: a receive queue still full of the flood drops it. */
	uint32_t ends = 0;
	for (unsigned i = 0; i < 50; i++) {
		ends += send(build(mac, 60, END_TAG), 0);
		for (volatile uint32_t k = 0; k < 200000; k++)
			;
	}
	rt_check(ends == 50, "the END frame went out");
}

static void post(unsigned i)
{
	vt_desc(nic.q[RXQ].desc, i, rxbuf[i], sizeof rxbuf[i], VRING_DESC_F_WRITE, 0);
	struct vt_queue *q = &nic.q[RXQ];
	q->avail.ring[q->avail.idx % VT_QSIZE] = (uint16_t)i;
	__asm__ volatile("" ::: "memory");
	q->avail.idx++;
}

static void mode_sink(void)
{
	if (!rt_check(vt_find(&nic, DEVICE_NET, 0) && vt_init(&nic, 0, 2),
		      "eth0 found and initialized"))
		return;
	for (unsigned i = 0; i < VT_QSIZE; i++)
		post(i);
	vt_notify(&nic, RXQ);
	uint32_t got = 0, ours = 0;
	bool end = false;
	struct vt_queue *q = &nic.q[RXQ];
	for (uint32_t round = 0; round < 400000000u && !end; round++) {
		if (*(volatile uint16_t *)&q->used.idx == q->last_used) {
			__asm__ volatile("pause");
			continue;
		}
		struct vring_used_elem e = q->used.ring[q->last_used % VT_QSIZE];
		q->last_used++;
		const uint8_t *f = rxbuf[e.id % VT_QSIZE] + HDR;
		got++;
		if (f[12] == ETHERTYPE >> 8 && f[13] == (ETHERTYPE & 0xFF)) {
			uint32_t tag;
			memcpy(&tag, f + 14, 4);
			ours++;
			end = tag == END_TAG;
		}
		post(e.id % VT_QSIZE);
		vt_notify(&nic, RXQ);
	}
	rt_printf("vnet: sink received %u frames, %u of the flood\n", got, ours);
	rt_check(end, "the END frame arrived: the network went on after every attack");
	rt_check(ours >= 2, "frames of the flood arrived");
}

void guest_main(void)
{
	const char *mode = rt_arg("mode=");
	outb(0x21, 0xFF);                          /* 8259s masked, as in vblk */
	outb(0xA1, 0xFF);
	if (mode && !strncmp(mode, "sink", 4))
		mode_sink();
	else
		mode_hostile();
}
