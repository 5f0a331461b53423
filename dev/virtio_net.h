/* The virtio-net device layer (virtio 1.2, 5.1), pure: frames out of transmit
 * chains, frames into receive chains, the control queue's commands, the receive
 * filter, the configuration space and feature bits. The device model (vmm/)
 * owns the transport and the queues: it pops chains (dev/virtio_ring.h), calls
 * these functions, pushes the heads back, and moves frames to and from the
 * switch (dev/net_switch.h). Layouts and constants are Linux's UAPI
 * <linux/virtio_net.h>.
 *
 * Features (5.1.3) offered: MAC, MTU (1500), STATUS (link up), MRG_RXBUF,
 * CTRL_VQ, CTRL_RX, CTRL_RX_EXTRA, and MQ when the NIC has more than one queue
 * pair. No offload at all: not CSUM, GUEST_CSUM, GSO, the TSO/UFO/ECN bits,
 * CTRL_GUEST_OFFLOADS: the switch moves whole Ethernet frames between VMs and
 * honours no partial checksum or segmentation request, so the driver must hand
 * over finished frames (and gets finished frames). Not CTRL_MAC_ADDR: a NIC's
 * address is the host's choice (configuration or lib/mac's default), and the
 * switch drops frames sent from any other address; ADDR_SET is answered
 * VIRTIO_NET_ERR. Not CTRL_VLAN (no VLAN filter: tagged frames pass like
 * others), GUEST_ANNOUNCE, RSS, HASH_REPORT, NOTF_COAL, SPEED_DUPLEX. With
 * VIRTIO_F_VERSION_1 (the transport's, required) the header of every frame in
 * both directions is the 12-byte struct virtio_net_hdr_v1 (5.1.6).
 *
 * Queues (5.1.2): receiveq k = 2k, transmitq k = 2k + 1 for pairs k = 0..N-1,
 * controlq = 2N, where N is max_pairs if the driver accepted MQ and 1 if not
 * (the control queue moves to 2 then). The transport offers 2 * max_pairs + 1
 * queues. After reset one pair is in use; VQ_PAIRS_SET changes it (5.1.6.5.5).
 *
 * Transmit (5.1.6.2): virtio_net_tx. The chain must be device-readable only,
 * with at least the 12-byte header (which may be split across buffers); the
 * frame is every readable byte after it, copied out once into the caller's
 * buffer. A header asking for offload (NEEDS_CSUM, any gso_type but NONE: none
 * negotiated, 5.1.6.2.1), a frame shorter than an Ethernet header (14) or
 * longer than the caller's cap is dropped and counted. Other header flags
 * (DATA_VALID, RSC_INFO) are ignored (5.1.6.2.2: "MUST ignore flag bits that it
 * does not recognize"). The chain goes back with used length 0 (OK or DROP).
 *
 * Receive (5.1.6.3, 5.1.6.4): virtio_net_rx, with its contract below.
 *
 * Control queue (5.1.6.5): virtio_net_ctrl. A chain: struct virtio_net_ctrl_hdr
 * {class, cmd} and the command's data in the readable buffers, then the 1-byte
 * ack, the first device-writable byte (as QEMU: used length 1). Answers
 * VIRTIO_NET_OK or VIRTIO_NET_ERR; nothing changes on ERR:
 * - CTRL_RX PROMISC, ALLMULTI (CTRL_RX negotiated), ALLUNI, NOMULTI, NOUNI,
 *   NOBCAST (CTRL_RX_EXTRA negotiated): exactly one byte, 0 (off) or 1 (on)
 *   (5.1.6.5.1; QEMU takes any non-zero byte as on, hv86 answers ERR).
 * - CTRL_MAC TABLE_SET (CTRL_RX negotiated): two struct virtio_net_ctrl_mac,
 *   unicast then multicast, each a le32 count and count 6-byte addresses, the
 *   data exactly that long. A table longer than VIRTIO_NET_MAC_TABLE is not
 *   kept: its overflow flag is set instead, which accepts every address of its
 *   kind (as QEMU, which shares 64 entries between both tables; hv86 has 64 of
 *   each). The tables start empty (5.1.6.5.2.1).
 * - CTRL_MAC ADDR_SET: ERR (CTRL_MAC_ADDR not offered).
 * - CTRL_MQ VQ_PAIRS_SET (MQ negotiated): exactly a le16, 1..max_pairs.
 * - Anything else (VLAN, ANNOUNCE, GUEST_OFFLOADS, RSS, unknown): ERR.
 *
 * Receive filter (5.1.6.5.1-2): virtio_net_accept, QEMU's receive_filter
 * without its VLAN table. After reset the NIC is PROMISCUOUS, as QEMU's
 * virtio_net_reset (`n->promisc = 1;`, "for compatibility"): a driver
 * without the control queue (or before it programs one) must receive ARP,
 * IPv6 neighbour discovery (multicast) and its own traffic; Linux's driver
 * sends PROMISC 0, ALLMULTI and TABLE_SET when the interface comes up
 * (virtnet_set_rx_mode). Otherwise: promisc accepts all; a broadcast unless
 * NOBCAST; another multicast: not with NOMULTI, all with ALLMULTI or a
 * multicast overflow, else those in the multicast table; a unicast: not with
 * NOUNI, all with ALLUNI or a unicast overflow, else the NIC's own address and
 * those in the unicast table.
 *
 * A chain that cannot be used at all (a tx chain with a device-writable buffer
 * or fewer than 12 readable bytes; an rx chain with a device-readable buffer,
 * or with MRG_RXBUF fewer than 12 bytes (5.1.6.3.1: "each buffer MUST be at
 * least the size of the struct virtio_net_hdr"); a control chain without its
 * 2-byte header or its ack byte; any chain that is not what dev/virtio_ring.h
 * promises) is BROKEN: nothing written, n->broken names the rule, counted. The
 * device model then sets DEVICE_NEEDS_RESET (2.1.2) and stops using the queue,
 * as for a broken ring; a driver reset brings the device back.
 *
 * Not thread-safe: the caller serializes the calls for one struct virtio_net.
 * Unit-tested in tests/unit/test_virtio_net.c, fuzzed by
 * tests/fuzz/fuzz_virtio_net.c. */
#ifndef DEV_VIRTIO_NET_H
#define DEV_VIRTIO_NET_H
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dev/virtio_ring.h"
#include "lib/mac.h"

#define VIRTIO_NET_HDR_BYTES      12u    /* struct virtio_net_hdr_v1 (5.1.6) */
#define VIRTIO_NET_CTRL_HDR_BYTES 2u     /* struct virtio_net_ctrl_hdr */
#define VIRTIO_NET_MTU            1500u  /* the configuration's mtu (VIRTIO_NET_F_MTU) */
/* The largest frame either way: MTU, Ethernet header, one 802.1Q tag, no FCS. */
#define VIRTIO_NET_FRAME_MAX      (VIRTIO_NET_MTU + ETH_HLEN + 4u)
#define VIRTIO_NET_MAX_PAIRS      4u     /* queue pairs a NIC may have */
#define VIRTIO_NET_MAC_TABLE      64u    /* addresses kept per TABLE_SET table */
/* Chains one received frame may span with MRG_RXBUF: every chain then holds
 * at least a header's 12 bytes, so a VIRTIO_NET_FRAME_MAX frame never needs more. */
#define VIRTIO_NET_RX_MAX_BUFS    128u

struct virtio_net_counters {
    uint64_t tx_frames, tx_bytes;          /* frames handed to the caller */
    uint64_t tx_drop_offload;              /* NEEDS_CSUM or a gso_type: not negotiated */
    uint64_t tx_drop_runt;                 /* shorter than 14 bytes */
    uint64_t tx_drop_oversize;             /* longer than the caller's cap */
    uint64_t rx_frames, rx_bytes;          /* frames placed in the guest's buffers */
    uint64_t rx_drop_filtered;             /* refused by the receive filter */
    uint64_t rx_drop_too_small;            /* without MRG_RXBUF: the chain cannot hold it */
    uint64_t rx_drop_bad_frame;            /* shorter than 14 or longer than FRAME_MAX */
    uint64_t rx_no_buffer;                 /* VIRTIO_NET_RX_WAIT returned (not a drop) */
    uint64_t ctrl_ok, ctrl_err;            /* control commands by answer */
    uint64_t broken;                       /* BROKEN chains, every queue */
};

/* One NIC's device state. The receive-mode fields are what the control queue
 * set (5.1.6.5.1); every field is plain data the caller may read. */
struct virtio_net {
    uint8_t mac[ETH_ALEN];                 /* its address (the configuration space's) */
    uint16_t max_pairs;                    /* 1..VIRTIO_NET_MAX_PAIRS */
    uint16_t curr_pairs;                   /* pairs in use: 1 after reset */
    bool link_up;                          /* VIRTIO_NET_S_LINK_UP; true from init */
    uint64_t features;                     /* negotiated (virtio_net_set_features) */
    bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
    bool uni_overflow, multi_overflow;     /* a TABLE_SET table was too long */
    unsigned n_uni, n_multi;               /* <= VIRTIO_NET_MAC_TABLE */
    uint8_t uni[VIRTIO_NET_MAC_TABLE][ETH_ALEN];
    uint8_t multi[VIRTIO_NET_MAC_TABLE][ETH_ALEN];
    struct virtio_net_counters counters;
    const char *broken;                    /* the rule the last BROKEN chain broke */
};

/* mac (a valid station address) and max_pairs (clamped to
 * 1..VIRTIO_NET_MAX_PAIRS); then as after virtio_net_reset, link up, counters 0. */
void virtio_net_init(struct virtio_net *n, const uint8_t mac[ETH_ALEN], uint16_t max_pairs);
/* Device reset (status 0 written): no features, one pair, QEMU's receive mode
 * (promiscuous, everything else off, tables empty). Counters, mac, max_pairs
 * and link_up stay. Every struct virtio_net_rxq of the NIC needs
 * virtio_net_rxq_reset too. */
void virtio_net_reset(struct virtio_net *n);

/* The device-specific feature bits offered (see above); the transport adds
 * VIRTIO_F_VERSION_1, INDIRECT_DESC and EVENT_IDX. */
uint64_t virtio_net_device_features(uint16_t max_pairs);
/* The driver's accepted features (at FEATURES_OK, or before the first queue
 * is used): kept as far as offered. False if they break a dependency of
 * 5.1.3.1 (CTRL_RX, CTRL_RX_EXTRA, MQ without CTRL_VQ; CTRL_RX_EXTRA without
 * CTRL_RX); the feature whose dependency is missing is then dropped. */
bool virtio_net_set_features(struct virtio_net *n, uint64_t features);

/* The configuration space (5.1.4; little-endian, the CPU's order on x86):
 * mac, status (LINK_UP while n->link_up), max_virtqueue_pairs, mtu 1500;
 * speed and duplex "unknown" (SPEED_DUPLEX is not offered), the rest 0. */
void virtio_net_fill_config(const struct virtio_net *n, struct virtio_net_config *cfg);

/* --- queues (5.1.2) ------------------------------------------------------- */

enum virtio_net_queue_kind { VIRTIO_NET_Q_RX, VIRTIO_NET_Q_TX, VIRTIO_NET_Q_CTRL, VIRTIO_NET_Q_NONE };

/* Queues the transport offers for max_pairs: 2 * max_pairs + 1. */
unsigned virtio_net_num_queues(uint16_t max_pairs);
/* Pairs the queue layout counts (N of 5.1.2): max_pairs with MQ negotiated, else 1. */
unsigned virtio_net_layout_pairs(const struct virtio_net *n);
/* What queue index is under the negotiated features, and its pair (0-based)
 * for RX/TX. NONE: not a queue of this layout, or the control queue without
 * CTRL_VQ negotiated. (A pair at or above curr_pairs is still classified; the
 * caller decides whether it is in use.) */
enum virtio_net_queue_kind virtio_net_queue_kind(const struct virtio_net *n, unsigned index,
                                                 unsigned *pair);

/* --- transmit (5.1.6.2) ---------------------------------------------------- */

enum virtio_net_tx_result {
    VIRTIO_NET_TX_OK,         /* frame[0, *len) is the frame: hand it on */
    VIRTIO_NET_TX_DROP,       /* a bad frame, counted by reason */
    VIRTIO_NET_TX_BROKEN,     /* nothing done; n->broken says why */
};

/* The frame of transmit chain c, copied into frame (cap bytes; cap <=
 * VIRTQ_MAX_CHAIN_BYTES). On OK and DROP push c->head with used length 0. */
enum virtio_net_tx_result virtio_net_tx(struct virtio_net *n, const struct virtq_chain *c,
                                        uint8_t *frame, size_t cap, size_t *len);

/* --- receive (5.1.6.3, 5.1.6.4) --------------------------------------------- */

/* Does the receive filter let frame[0, len) in (see above)? False if len < 6. */
bool virtio_net_accept(const struct virtio_net *n, const uint8_t *frame, size_t len);

struct virtio_net_rx_used {
    uint16_t head;
    uint32_t written;         /* the used length to push with it */
};

/* One receive queue's placement state, the caller's storage (one per receiveq;
 * about 5 KiB). After DELIVERED or DROPPED, used[0, nused) are the chains to
 * push, in order. */
struct virtio_net_rxq {
    struct virtq_chain chain;              /* next_chain fills this one */
    unsigned nused;
    struct virtio_net_rx_used used[VIRTIO_NET_RX_MAX_BUFS];
    /* a frame part-placed when the chains ran out (WAIT with nused > 0) */
    bool held;
    size_t frame_len, placed;              /* placed: of the 12 + frame_len bytes */
    uint8_t *num_buffers[2];               /* the header's num_buffers bytes */
};

enum virtio_net_rx_result {
    VIRTIO_NET_RX_DELIVERED,  /* placed: push used[0, nused), notify, forget the frame */
    VIRTIO_NET_RX_DROPPED,    /* dropped (counted): push used[0, nused), all length 0 */
    VIRTIO_NET_RX_WAIT,       /* no buffer (now): keep the frame; nothing to push */
    VIRTIO_NET_RX_BROKEN,     /* a chain or the ring is broken: n->broken; nothing to push */
};

/* Places frame[0, len) into the receive queue whose state is rq, taking chains
 * through next_chain (the caller's wrapper around virtq_pop: 1 and *c filled,
 * 0 if none is available now, -1 if the ring is broken).
 *
 * The contract: a chain is popped only when the frame needs it, and every
 * chain popped is used, so nothing is ever handed back un-used (virtq has no
 * "unpop"):
 * - The filter and the frame's length (14..VIRTIO_NET_FRAME_MAX) are checked
 *   before any chain is popped: DROPPED, nused 0.
 * - Without MRG_RXBUF one chain takes the header (num_buffers 1) and the whole
 *   frame. If it is too small, the frame is dropped and the chain goes back
 *   empty: DROPPED, nused 1, written 0 (Linux and FreeBSD count a length error
 *   and post the buffer again).
 * - With MRG_RXBUF each chain is filled before the next is popped; the header
 *   (num_buffers = the chains used, written last) is in the first.
 * - next_chain returning 0 gives WAIT. If chains were already filled (MRG_RXBUF,
 *   rq->held), they stay the device's: the caller must call again with the SAME
 *   frame (same bytes and length; e.g. net_rxq_peek's, dropped from its queue
 *   only after DELIVERED or DROPPED) once the driver adds buffers, and the frame
 *   goes on from where it stopped. With nothing held the caller may instead
 *   give up the frame. Either way it then enables notifications
 *   (virtq_enable_notify) and checks again, as when a queue is drained: every
 *   available chain was taken, so the driver's next buffer notifies.
 * - A different length while held is the caller's bug: BROKEN.
 * - Device reset: virtio_net_rxq_reset forgets the held chains (the driver
 *   reset its rings too). */
enum virtio_net_rx_result virtio_net_rx(struct virtio_net *n, struct virtio_net_rxq *rq,
                                        const uint8_t *frame, size_t len,
                                        int (*next_chain)(void *ctx, struct virtq_chain *c),
                                        void *ctx);
void virtio_net_rxq_reset(struct virtio_net_rxq *rq);

/* --- control queue (5.1.6.5) ------------------------------------------------ */

/* Carries out the command in control chain c: the ack written (VIRTIO_NET_OK or
 * VIRTIO_NET_ERR; push c->head with used length 1), or -1: BROKEN, nothing
 * written, n->broken says why. */
int virtio_net_ctrl(struct virtio_net *n, const struct virtq_chain *c);

/* --- addresses ---------------------------------------------------------------- */

/* A NIC's default address: lib/mac's mac_default (52:54:00 and a hash of the
 * VM's name and the NIC's index). */
static inline void virtio_net_default_mac(const char *vm_name, unsigned nic_index,
                                          uint8_t mac[ETH_ALEN])
{
    mac_default(vm_name, nic_index, mac);
}

#endif
