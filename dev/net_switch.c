/* A learning Ethernet switch for one network (dev/net_switch.h), in the manner
 * of an IEEE 802.1D MAC bridge: a filtering database learned from source
 * addresses, with ageing (802.1D-2004 7.8, 7.9.2), and flooding where it knows
 * nothing (7.7.1).
 *
 * The rules this file follows, beyond the header's:
 * - Every sender is a hostile guest: any bytes, any length, any rate. Nothing
 *   it sends can reach a port of another struct net_switch (there is no path),
 *   nor come back to itself, nor carry a source address other than its NIC's.
 * - The frame may sit in guest memory that another vCPU of the sender rewrites
 *   while we read it. The 12 address bytes are therefore read once, through
 *   volatile loads, into a local; every decision uses that snapshot, and every
 *   copy delivered is written with the snapshot's addresses. The rest of the
 *   frame is copied as it is found: a racing guest can only garble its own
 *   payload, never the checked source address or the forwarding decision.
 * - No libc: byte loops, each with an empty asm that keeps the compiler from
 *   turning it back into a call to memcpy or memset, which do not exist here.
 *
 * Decisions where the contract leaves room:
 * - sw->nports is the number of attached ports. A port number is the slot
 *   attach chose (the lowest free one); it never changes while attached.
 * - attach refuses (-1) a NULL port or queue, a port attached already (here or
 *   to another network), an all-zero MAC and a group MAC (I/G bit set: no NIC
 *   may own one, IEEE 802-2014 8.2), and a MAC another attached port has. Locally administered MACs (U/L bit) are fine: that is
 *   what VMs are given (52:54:00:..). attach leaves the port's counters and
 *   queue as the caller set them, so counters survive a detach/re-attach.
 * - send from a port number that is out of range or not attached returns 0 and
 *   counts nothing: there is no port to count it on.
 * - The checks run in this order: runt (a NULL frame is one), oversize,
 *   spoofed; a frame dropped by one is counted on the sender by that one only,
 *   and not in tx_*.
 * - An entry is aged when now - seen > NET_MAC_AGE_NS (exactly 300 s old is
 *   still live). Ageing is lazy: an aged entry is freed (aged++) by the lookup
 *   or learn that meets it. now_ns is meant to be monotonic; a clock that steps
 *   back ages nothing, and an entry already freed stays freed.
 * - With the spoof rule each port can only teach the table its own MAC, so it
 *   holds at most one live entry per port today; NET_SWITCH_MACS is sized for
 *   an uplink port that carries many. Full: reuse an aged entry, else replace
 *   the least recently seen one.
 * - A frame queued for no one (hairpin, or a flood with no other port) returns
 *   0; a hairpin is dropped without a counter (802.1D 7.7.1: a frame is never
 *   forwarded back to its reception port).
 * - net_rxq_pop always takes the frame: it copies min(len, cap) bytes and
 *   returns the full length, so a result > cap means the copy was truncated.
 *   No queued frame is shorter than NET_ETH_HLEN, so 0 means "empty". */
#include "dev/net_switch.h"
#include "lib/mac.h"

/* Keeps gcc/clang from recognising a byte loop as memcpy/memset. */
#define NO_LIBCALL(i) __asm__("" : "+r"(i))

static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        NO_LIBCALL(i);
        dst[i] = src[i];
    }
}

static void zero_bytes(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        NO_LIBCALL(i);
        b[i] = 0;
    }
}

static bool entry_aged(const struct net_mac_entry *e, uint64_t now_ns)
{
    return now_ns > e->seen_ns && now_ns - e->seen_ns > NET_MAC_AGE_NS;
}

static struct net_port *attached_port(const struct net_switch *sw, unsigned n)
{
    if (n >= NET_SWITCH_PORTS || !sw->port[n] || !sw->port[n]->attached)
        return NULL;
    return sw->port[n];
}

void net_switch_init(struct net_switch *sw)
{
    zero_bytes(sw, sizeof *sw);
}

int net_switch_attach(struct net_switch *sw, struct net_port *p)
{
    if (!p || !p->rxq || p->attached || mac_is_zero(p->mac) || mac_is_multicast(p->mac))
        return -1;
    int free_slot = -1;
    for (unsigned n = 0; n < NET_SWITCH_PORTS; n++) {
        const struct net_port *q = attached_port(sw, n);
        if (q && mac_equal(q->mac, p->mac))
            return -1;
        if (!q && free_slot < 0)
            free_slot = (int)n;
    }
    if (free_slot < 0)
        return -1;
    p->attached = true;
    sw->port[free_slot] = p;
    sw->nports++;
    return free_slot;
}

void net_switch_detach(struct net_switch *sw, unsigned n)
{
    struct net_port *p = attached_port(sw, n);
    if (!p)
        return;
    /* Forget what the port taught: a later port in this slot is someone else. */
    for (unsigned i = 0; i < NET_SWITCH_MACS; i++)
        if (sw->mac[i].used && sw->mac[i].port == n)
            sw->mac[i].used = false;
    p->attached = false;
    sw->port[n] = NULL;
    sw->nports--;
}

/* The live entry for mac, or NULL; an aged one met on the way is freed. */
static struct net_mac_entry *lookup(struct net_switch *sw, const uint8_t *mac, uint64_t now_ns)
{
    for (unsigned i = 0; i < NET_SWITCH_MACS; i++) {
        struct net_mac_entry *e = &sw->mac[i];
        if (!e->used || !mac_equal(e->mac, mac))
            continue;
        if (entry_aged(e, now_ns)) {
            e->used = false;
            sw->aged++;
            return NULL;
        }
        return e;
    }
    return NULL;
}

/* Records that mac was last seen behind port `from` at now_ns. */
static void learn(struct net_switch *sw, const uint8_t *mac, unsigned from, uint64_t now_ns)
{
    struct net_mac_entry *e = lookup(sw, mac, now_ns);
    if (!e) {
        /* A free entry, else an aged one, else the least recently seen. */
        struct net_mac_entry *oldest = &sw->mac[0];
        for (unsigned i = 0; i < NET_SWITCH_MACS && !e; i++) {
            struct net_mac_entry *c = &sw->mac[i];
            if (!c->used)
                e = c;
            else if (entry_aged(c, now_ns)) {
                sw->aged++;
                e = c;
            } else if (c->seen_ns < oldest->seen_ns)
                oldest = c;
        }
        if (!e)
            e = oldest;
        copy_bytes(e->mac, mac, NET_ETH_ALEN);
        e->used = true;
        sw->learned++;
    }
    e->port = (uint8_t)from;     /* a station that moved is found at its new port */
    e->seen_ns = now_ns;
}

/* Copies the frame (with the checked addresses hdr) into p's queue, or counts
 * the loss if it is full. Returns 1 if queued. */
static unsigned deliver(struct net_port *p, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
    struct net_rxq *q = p->rxq;
    if (q->count >= NET_RXQ_FRAMES) {
        p->counters.drop_queue_full++;
        return 0;
    }
    unsigned slot = (q->head + q->count) % NET_RXQ_FRAMES;
    copy_bytes(q->frame[slot], hdr, 2 * NET_ETH_ALEN);
    copy_bytes(q->frame[slot] + 2 * NET_ETH_ALEN, frame + 2 * NET_ETH_ALEN,
               len - 2 * NET_ETH_ALEN);
    q->len[slot] = (uint16_t)len;
    q->count++;
    p->counters.rx_frames++;
    p->counters.rx_bytes += len;
    return 1;
}

unsigned net_switch_send(struct net_switch *sw, unsigned from, const uint8_t *frame, size_t len,
                         uint64_t now_ns)
{
    struct net_port *src = attached_port(sw, from);
    if (!src)
        return 0;
    if (!frame || len < NET_ETH_HLEN) {
        src->counters.drop_runt++;
        return 0;
    }
    if (len > NET_FRAME_MAX) {
        src->counters.drop_oversize++;
        return 0;
    }
    /* Destination and source, read once (see the top of this file). */
    uint8_t hdr[2 * NET_ETH_ALEN];
    const volatile uint8_t *vf = frame;
    for (unsigned i = 0; i < sizeof hdr; i++)
        hdr[i] = vf[i];
    const uint8_t *dst = hdr, *sa = hdr + NET_ETH_ALEN;
    if (!mac_equal(sa, src->mac)) {
        src->counters.drop_spoofed++;    /* and not learned: it would poison the table */
        return 0;
    }
    src->counters.tx_frames++;
    src->counters.tx_bytes += len;
    learn(sw, sa, from, now_ns);

    if (!mac_is_multicast(dst)) {
        const struct net_mac_entry *e = lookup(sw, dst, now_ns);
        if (e && e->port == from)
            return 0;                    /* hairpin: it is on the sender's own port */
        struct net_port *to = e ? attached_port(sw, e->port) : NULL;
        if (to)
            return deliver(to, hdr, frame, len);
    }
    /* Group address or unknown unicast: every other port of this network. */
    sw->floods++;
    unsigned queued = 0;
    for (unsigned n = 0; n < NET_SWITCH_PORTS; n++) {
        struct net_port *to = attached_port(sw, n);
        if (to && n != from)
            queued += deliver(to, hdr, frame, len);
    }
    return queued;
}

size_t net_rxq_pop(struct net_rxq *q, uint8_t *out, size_t cap)
{
    size_t len;
    const uint8_t *f = net_rxq_peek(q, &len);
    if (!f)
        return 0;
    if (out)
        copy_bytes(out, f, len < cap ? len : cap);
    net_rxq_drop(q);
    return len;
}

const uint8_t *net_rxq_peek(const struct net_rxq *q, size_t *len)
{
    if (!q->count) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = q->len[q->head];
    return q->frame[q->head];
}

void net_rxq_drop(struct net_rxq *q)
{
    if (!q->count)
        return;
    q->head = (q->head + 1) % NET_RXQ_FRAMES;
    q->count--;
}
