/* A learning Ethernet switch for one network (issue 21): its ports are VMs'
 * virtio-net NICs (and, later, the uplink). One struct net_switch is one
 * network, so a frame can never reach a port of another network: isolation by
 * construction. The switch learns which port each source MAC sits behind (with
 * ageing), lets a port send only from its own MAC (spoofed frames dropped and
 * counted), forwards known unicast to one port and floods broadcast, multicast
 * and unknown unicast to every other port of the network.
 *
 * Delivery is a copy into the receiving port's bounded queue (struct net_rxq,
 * frames in hv86 memory): a full or stalled receiver loses the frame (counted),
 * it never blocks the sender. The receiving VM's own host CPU moves queued frames
 * into its guest's receive ring later. Locking is the caller's: the switch and
 * the queues are plain data; hv86 holds the network's lock around net_switch_send
 * and a queue's lock around its pop.
 *
 * Pure code: no allocation, no host calls; unit-tested in
 * tests/unit/test_net_switch.c, fuzzed by tests/fuzz/fuzz_net_switch.c. */
#ifndef DEV_NET_SWITCH_H
#define DEV_NET_SWITCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_ETH_ALEN       6
#define NET_ETH_HLEN       14          /* destination, source, EtherType */
#define NET_FRAME_MAX      1518        /* 1500 bytes of payload, a VLAN tag, no FCS */
#define NET_SWITCH_PORTS   16          /* per network */
#define NET_SWITCH_MACS    256         /* learned addresses per network */
#define NET_MAC_AGE_NS     (300ull * 1000000000ull)   /* 802.1D's default 300 s */
#define NET_RXQ_FRAMES     64          /* frames a port may have waiting */

/* A port's bounded receive queue: frames the switch copied for it. */
struct net_rxq {
    uint16_t len[NET_RXQ_FRAMES];
    uint8_t frame[NET_RXQ_FRAMES][NET_FRAME_MAX];
    unsigned head, count;             /* oldest at head */
};

struct net_port_counters {
    uint64_t tx_frames, tx_bytes;     /* sent by the port's VM into the switch */
    uint64_t rx_frames, rx_bytes;     /* queued for the port's VM */
    uint64_t drop_spoofed;            /* source MAC not the port's own */
    uint64_t drop_runt;               /* shorter than an Ethernet header */
    uint64_t drop_oversize;           /* longer than NET_FRAME_MAX */
    uint64_t drop_queue_full;         /* its receive queue was full */
};

struct net_port {
    uint8_t mac[NET_ETH_ALEN];        /* the NIC's own address */
    struct net_rxq *rxq;              /* where frames for it go */
    struct net_port_counters counters;
    bool attached;
};

struct net_mac_entry {
    uint8_t mac[NET_ETH_ALEN];
    uint8_t port;
    bool used;
    uint64_t seen_ns;                 /* last frame from it */
};

struct net_switch {
    struct net_port *port[NET_SWITCH_PORTS];
    unsigned nports;
    struct net_mac_entry mac[NET_SWITCH_MACS];
    uint64_t floods, learned, aged;   /* network-wide counters */
};

void net_switch_init(struct net_switch *sw);
/* Attaches p (its mac and rxq set): its port number, or -1 if the network is
 * full or another port has the same MAC. */
int net_switch_attach(struct net_switch *sw, struct net_port *p);
/* Detaches port n: its learned addresses are forgotten. */
void net_switch_detach(struct net_switch *sw, unsigned n);
/* Port `from` sends frame[0, len) at time now_ns: checked, learned, forwarded
 * (copied into the receivers' queues). Returns how many ports it was queued for. */
unsigned net_switch_send(struct net_switch *sw, unsigned from, const uint8_t *frame, size_t len,
                         uint64_t now_ns);

/* The oldest waiting frame of q: its length (copied to out, cap bytes at most)
 * or 0 when q is empty. */
size_t net_rxq_pop(struct net_rxq *q, uint8_t *out, size_t cap);
/* The oldest waiting frame without taking it: pointer and length, NULL if none. */
const uint8_t *net_rxq_peek(const struct net_rxq *q, size_t *len);
/* Drops the oldest frame (after net_rxq_peek). */
void net_rxq_drop(struct net_rxq *q);

#endif
