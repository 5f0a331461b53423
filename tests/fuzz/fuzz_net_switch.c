/* libFuzzer target for dev/net_switch.c: two networks (the second shares two
 * MACs with the first), ten NICs with fixed MACs (one a duplicate of another's,
 * one multicast, never attachable), and any sequence of sends, attaches,
 * detaches and pops, checked after every step against a small reference model.
 *
 * The model is exact because the spoof rule lets a port teach the table only
 * its own MAC: a unicast destination is "known" when it is the MAC of an
 * attached port of the same network that sent a valid frame since it was
 * attached, no more than NET_MAC_AGE_NS ago (the table, 256 entries, never
 * fills with at most 16 of them).
 *
 * Input: a sequence of operations, one byte each, then its arguments:
 *   op & 3 in {0, 1}: send. from-slot byte (% 18: 16, 17 are out of range),
 *        time byte (below), 2 length bytes (bit 15: any length 0..2047, else a
 *        short valid one), destination byte, source byte (below); bit 2 of op
 *        picks the network; with bit 0, the frame is sent (op >> 3) + 1 times
 *        (so queues fill). Payload bytes derive from a sequence number.
 *   op & 3 == 2: NIC (op >> 3) % 10 attached to its network if it is not, else
 *        detached; with bit 2, detach slot (op >> 3) % 20 of network 0 instead.
 *   op & 3 == 3: NIC (op >> 3) % 10 pops with cap = next byte * 8; with bit 2,
 *        peek and drop instead.
 * Time byte: 00tttttt +t ns, 01 +t s, 10 +10t s, 11 +(t + 250) s. Time never
 * goes back here: with lazy ageing, an entry aged and freed, then "live" again
 * on a clock that stepped back, is a state the model could not predict
 * (tests/unit/test_net_switch.c covers the backwards clock). Destination byte d: d & 7 in 0..3 the MAC of NIC
 * (d >> 3) % 10, 4 broadcast, 5 an IPv4 multicast group, 6 a MAC nobody has,
 * 7 six raw bytes. Source byte s: s & 3 in 0..1 the sender's own MAC, 2 the
 * MAC of NIC (s >> 2) % 10, 3 six raw bytes.
 *
 * Checked: attach's result (slot or refusal) and detach exactly as the model
 * says; send's result; every port's counters and each network's floods and
 * learned equal the model's after every step (so a frame from a free slot or a
 * spoofing NIC is queued nowhere and counted once, on the sender only; no port
 * receives its own frame; nothing crosses networks; rx_frames + drop_queue_full
 * add up to the copies sent); aged <= learned; every queue holds exactly the
 * model's frames (never more than NET_RXQ_FRAMES), popped in order, byte for
 * byte what was sent, truncated at cap with the full length returned. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/net_switch.h"

#define NICS  10
#define NETS  2
#define SLOTS_TRIED 18

/* NIC i is on network net_of[i]; 6 duplicates 0's MAC, 7 is a group address,
 * 8 and 9 (network 1) have the MACs of 1 and 2. */
static const unsigned net_of[NICS] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 };
static const uint8_t nic_mac[NICS][6] = {
    { 0x52, 0x54, 0, 0, 0, 1 }, { 0x52, 0x54, 0, 0, 0, 2 }, { 0x52, 0x54, 0, 0, 0, 3 },
    { 0x00, 0x1b, 0x21, 0, 0, 4 }, { 0x52, 0x54, 0, 0, 0, 5 }, { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe },
    { 0x52, 0x54, 0, 0, 0, 1 }, { 0x33, 0x33, 0, 0, 0, 1 }, { 0x52, 0x54, 0, 0, 0, 2 },
    { 0x52, 0x54, 0, 0, 0, 3 },
};
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01 };
static const uint8_t nobody[6] = { 0x02, 0x00, 0x00, 0xde, 0xad, 0x01 };

static struct net_switch sw[NETS];
static struct net_port nic[NICS];
static struct net_rxq rxq[NICS];

/* The model. */
struct sent { uint32_t seq; uint16_t len; uint8_t hdr[12]; };
struct model_nic {
    int slot;                          /* -1: not attached */
    bool heard;                        /* sent a valid frame since attached */
    uint64_t last_ns;                  /* when */
    struct net_port_counters c;
    struct sent q[NET_RXQ_FRAMES];
    unsigned head, count;
};
static struct model_nic m[NICS];
static uint64_t m_floods[NETS], m_learned[NETS];
static int slot_nic[NETS][NET_SWITCH_PORTS];      /* -1: free */

static uint8_t frame_buf[2048], out_buf[2048];

/* Byte i of frame seq beyond the addresses. */
static uint8_t payload(uint32_t seq, size_t i)
{
    return (uint8_t)(seq * 131u + i * 7u + (i >> 8));
}

static void build(uint8_t *f, const struct sent *s)
{
    memcpy(f, s->hdr, s->len < 12 ? s->len : 12);
    for (size_t i = 12; i < s->len; i++)
        f[i] = payload(s->seq, i);
}

static bool mac_valid(const uint8_t *mac)
{
    static const uint8_t zero[6];
    return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

static bool known(unsigned i, uint64_t now)
{
    return m[i].slot >= 0 && m[i].heard &&
           !(now > m[i].last_ns && now - m[i].last_ns > NET_MAC_AGE_NS);
}

static void model_deliver(unsigned to, const struct sent *s, unsigned *queued)
{
    struct model_nic *r = &m[to];
    if (r->count == NET_RXQ_FRAMES) {
        r->c.drop_queue_full++;
        return;
    }
    r->q[(r->head + r->count) % NET_RXQ_FRAMES] = *s;
    r->count++;
    r->c.rx_frames++;
    r->c.rx_bytes += s->len;
    (*queued)++;
}

/* What send must do; returns how many ports it queues for. */
static unsigned model_send(unsigned net, unsigned from, const struct sent *s, uint64_t now)
{
    if (from >= NET_SWITCH_PORTS || slot_nic[net][from] < 0)
        return 0;
    unsigned src = (unsigned)slot_nic[net][from], queued = 0;
    if (s->len < NET_ETH_HLEN) {
        m[src].c.drop_runt++;
        return 0;
    }
    if (s->len > NET_FRAME_MAX) {
        m[src].c.drop_oversize++;
        return 0;
    }
    if (memcmp(s->hdr + 6, nic_mac[src], 6) != 0) {
        m[src].c.drop_spoofed++;
        return 0;
    }
    m[src].c.tx_frames++;
    m[src].c.tx_bytes += s->len;
    if (!known(src, now))
        m_learned[net]++;
    m[src].heard = true;
    m[src].last_ns = now;
    const uint8_t *dst = s->hdr;
    if (!(dst[0] & 1)) {
        if (!memcmp(dst, nic_mac[src], 6))
            return 0;                                  /* hairpin */
        for (unsigned i = 0; i < NICS; i++)
            if (net_of[i] == net && i != src && known(i, now) && !memcmp(dst, nic_mac[i], 6)) {
                model_deliver(i, s, &queued);
                return queued;
            }
    }
    m_floods[net]++;
    for (unsigned n = 0; n < NET_SWITCH_PORTS; n++)
        if (slot_nic[net][n] >= 0 && n != from)
            model_deliver((unsigned)slot_nic[net][n], s, &queued);
    return queued;
}

static void check_state(void)
{
    for (unsigned i = 0; i < NICS; i++) {
        if (memcmp(&nic[i].counters, &m[i].c, sizeof m[i].c) != 0)
            abort();
        if (rxq[i].count != m[i].count || rxq[i].count > NET_RXQ_FRAMES ||
            (m[i].count && rxq[i].head != m[i].head))
            abort();
        if (nic[i].attached != (m[i].slot >= 0))
            abort();
    }
    for (unsigned n = 0; n < NETS; n++) {
        if (sw[n].floods != m_floods[n] || sw[n].learned != m_learned[n] ||
            sw[n].aged > sw[n].learned)
            abort();
        unsigned attached = 0;
        for (unsigned s = 0; s < NET_SWITCH_PORTS; s++) {
            int i = slot_nic[n][s];
            if (sw[n].port[s] != (i < 0 ? NULL : &nic[i]))
                abort();
            attached += i >= 0;
        }
        if (sw[n].nports != attached)
            abort();
    }
}

static uint8_t next(const uint8_t **p, const uint8_t *end)
{
    return *p < end ? *(*p)++ : 0;
}

static void mac_from(uint8_t *mac, const uint8_t **p, const uint8_t *end)
{
    for (unsigned i = 0; i < 6; i++)
        mac[i] = next(p, end);
}

static void do_attach_detach(uint8_t op)
{
    if (op & 4) {                                      /* detach a raw slot */
        unsigned s = (op >> 3) % 20;
        int i = s < NET_SWITCH_PORTS ? slot_nic[0][s] : -1;
        net_switch_detach(&sw[0], s);
        if (i >= 0) {
            m[i].slot = -1;
            slot_nic[0][s] = -1;
        }
        return;
    }
    unsigned i = (op >> 3) % NICS, net = net_of[i];
    if (m[i].slot >= 0) {
        net_switch_detach(&sw[net], (unsigned)m[i].slot);
        slot_nic[net][m[i].slot] = -1;
        m[i].slot = -1;
        return;
    }
    int want = -1;
    bool dup = false;
    for (unsigned s = 0; s < NET_SWITCH_PORTS; s++) {
        int j = slot_nic[net][s];
        if (j >= 0 && !memcmp(nic_mac[j], nic_mac[i], 6))
            dup = true;
        if (j < 0 && want < 0)
            want = (int)s;
    }
    if (dup || !mac_valid(nic_mac[i]))
        want = -1;
    if (net_switch_attach(&sw[net], &nic[i]) != want)
        abort();
    if (want >= 0) {
        m[i].slot = want;
        m[i].heard = false;
        slot_nic[net][want] = (int)i;
    }
}

static void do_pop(uint8_t op, const uint8_t **p, const uint8_t *end)
{
    unsigned i = (op >> 3) % NICS;
    struct model_nic *r = &m[i];
    struct sent *s = r->count ? &r->q[r->head] : NULL;
    if (s)
        build(frame_buf, s);
    if (op & 4) {
        size_t len = 1;
        const uint8_t *f = net_rxq_peek(&rxq[i], &len);
        if (!s) {
            if (f || len)
                abort();
            net_rxq_drop(&rxq[i]);
            return;
        }
        if (!f || len != s->len || memcmp(f, frame_buf, len) != 0)
            abort();
        net_rxq_drop(&rxq[i]);
    } else {
        size_t cap = (size_t)next(p, end) * 8;
        memset(out_buf, 0xa5, sizeof out_buf);
        size_t len = net_rxq_pop(&rxq[i], out_buf, cap);
        if (!s) {
            if (len)
                abort();
            return;
        }
        size_t copied = s->len < cap ? s->len : cap;
        if (len != s->len || memcmp(out_buf, frame_buf, copied) != 0 ||
            (copied < sizeof out_buf && out_buf[copied] != 0xa5))
            abort();
    }
    r->head = (r->head + 1) % NET_RXQ_FRAMES;
    r->count--;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    uint64_t now = 0;
    uint32_t seq = 0;
    memset(m, 0, sizeof m);
    memset(m_floods, 0, sizeof m_floods);
    memset(m_learned, 0, sizeof m_learned);
    memset(slot_nic, 0xff, sizeof slot_nic);
    for (unsigned n = 0; n < NETS; n++)
        net_switch_init(&sw[n]);
    for (unsigned i = 0; i < NICS; i++) {
        memset(&nic[i], 0, sizeof nic[i]);
        memcpy(nic[i].mac, nic_mac[i], 6);
        nic[i].rxq = &rxq[i];
        rxq[i].head = rxq[i].count = 0;        /* the frames' bytes need no clearing */
        m[i].slot = -1;
    }
    /* Every attachable NIC but 4 starts attached, so sends find receivers. */
    for (unsigned i = 0; i < NICS; i++)
        if (i != 4 && i != 6 && i != 7)
            do_attach_detach((uint8_t)(2 | i << 3));
    check_state();

    while (p < end) {
        uint8_t op = *p++;
        switch (op & 3) {
        case 0:
        case 1: {
            unsigned net = (op >> 2) & 1, from = next(&p, end) % SLOTS_TRIED;
            uint8_t t = next(&p, end);
            uint64_t d = t & 63;
            switch (t >> 6) {
            case 0: now += d; break;
            case 1: now += d * 1000000000ull; break;
            case 2: now += d * 10000000000ull; break;
            case 3: now += (d + 250) * 1000000000ull; break;
            }
            unsigned v = next(&p, end) << 8;
            v |= next(&p, end);
            struct sent s = { .seq = seq++, .len = (uint16_t)(v & 0x8000 ? v & 0x7ff : 14 + (v & 63)) };
            uint8_t ds = next(&p, end), ss = next(&p, end);
            switch (ds & 7) {
            case 4: memcpy(s.hdr, bcast, 6); break;
            case 5: memcpy(s.hdr, mcast, 6); break;
            case 6: memcpy(s.hdr, nobody, 6); break;
            case 7: mac_from(s.hdr, &p, end); break;
            default: memcpy(s.hdr, nic_mac[(ds >> 3) % NICS], 6); break;
            }
            int sender = from < NET_SWITCH_PORTS ? slot_nic[net][from] : -1;
            if ((ss & 3) == 3)
                mac_from(s.hdr + 6, &p, end);
            else if ((ss & 3) == 2 || sender < 0)
                memcpy(s.hdr + 6, nic_mac[(ss >> 2) % NICS], 6);
            else
                memcpy(s.hdr + 6, nic_mac[sender], 6);
            for (unsigned r = op & 1 ? (op >> 3) + 1 : 1; r; r--, s.seq = seq++) {
                build(frame_buf, &s);
                unsigned got = net_switch_send(&sw[net], from, frame_buf, s.len, now);
                memset(frame_buf, 0x5a, sizeof frame_buf);  /* the queues hold copies */
                if (got != model_send(net, from, &s, now))
                    abort();
            }
            break;
        }
        case 2:
            do_attach_detach(op);
            break;
        case 3:
            do_pop(op, &p, end);
            break;
        }
        check_state();
    }
    return 0;
}
