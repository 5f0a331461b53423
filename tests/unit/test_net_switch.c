/* dev/net_switch.c: learning, unicast to the right port only, flooding of
 * broadcast, multicast and unknown unicast, the drops (spoofed, runt, oversize,
 * queue full), ageing, a full table, detach, the MACs attach refuses, two
 * networks that never meet, hairpin, and the receive queue itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dev/net_switch.h"

#define SEC 1000000000ull
#define NPORTS 4

static struct net_switch sw;
static struct net_rxq rxq[NET_SWITCH_PORTS + 1];
static struct net_port port[NET_SWITCH_PORTS + 1];
static int pn[NPORTS];                      /* port numbers of port[0..3] */

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };   /* mDNS group */
static const uint8_t nobody[6] = { 0x52, 0x54, 0x00, 0x99, 0x99, 0x99 };

/* Port i's NIC: 52:54:00:00:00:i+1, QEMU-style, locally administered. */
static void set_mac(struct net_port *p, unsigned i)
{
    const uint8_t m[6] = { 0x52, 0x54, 0x00, 0x00, (uint8_t)(i >> 8), (uint8_t)(i + 1) };
    memcpy(p->mac, m, 6);
}

static int setup(void **state)
{
    (void)state;
    memset(rxq, 0, sizeof rxq);
    memset(port, 0, sizeof port);
    net_switch_init(&sw);
    for (unsigned i = 0; i < NET_SWITCH_PORTS + 1; i++) {
        set_mac(&port[i], i);
        port[i].rxq = &rxq[i];
    }
    for (unsigned i = 0; i < NPORTS; i++) {
        pn[i] = net_switch_attach(&sw, &port[i]);
        assert_int_equal(pn[i], (int)i);
    }
    return 0;
}

/* A frame of len bytes from src to dst, its payload a pattern seeded by tag. */
static size_t frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, size_t len, uint8_t tag)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    for (size_t i = 12; i < len; i++)
        f[i] = (uint8_t)(tag + i);
    return len;
}

/* Port i sends a 64-byte frame to dst at time t; returns how many queued it. */
static unsigned send_to(unsigned i, const uint8_t *dst, uint64_t t)
{
    uint8_t f[64];
    frame(f, dst, port[i].mac, sizeof f, (uint8_t)i);
    return net_switch_send(&sw, (unsigned)pn[i], f, sizeof f, t);
}

/* Empties every queue; returns a bit mask of the ports that had a frame. */
static unsigned drain(void)
{
    unsigned mask = 0;
    uint8_t buf[NET_FRAME_MAX];
    for (unsigned i = 0; i < NET_SWITCH_PORTS + 1; i++)
        while (net_rxq_pop(&rxq[i], buf, sizeof buf))
            mask |= 1u << i;
    return mask;
}

static void test_learning_and_unicast(void **state)
{
    (void)state;
    /* 0 -> 1: 1 is not known yet, so the frame is flooded to 1, 2 and 3. */
    assert_int_equal(send_to(0, port[1].mac, 1), 3);
    assert_int_equal(drain(), 0xe);
    assert_int_equal(sw.learned, 1);
    assert_int_equal(sw.floods, 1);
    /* 1 -> 0: 0 was learned, so only 0 gets it; and 1 is learned. */
    assert_int_equal(send_to(1, port[0].mac, 2), 1);
    assert_int_equal(drain(), 0x1);
    assert_int_equal(sw.learned, 2);
    /* 0 -> 1 again: only 1 now. */
    assert_int_equal(send_to(0, port[1].mac, 3), 1);
    assert_int_equal(drain(), 0x2);
    assert_int_equal(sw.floods, 1);
    assert_int_equal(sw.learned, 2);            /* refreshes are not new entries */
    assert_int_equal(port[2].counters.rx_frames, 1);
    assert_int_equal(port[3].counters.rx_frames, 1);
    assert_int_equal(port[0].counters.tx_frames, 2);
    assert_int_equal(port[0].counters.tx_bytes, 128);
    assert_int_equal(port[1].counters.rx_frames, 2);
    assert_int_equal(port[1].counters.rx_bytes, 128);
}

static void test_frame_copied_exactly(void **state)
{
    (void)state;
    uint8_t f[NET_FRAME_MAX], out[NET_FRAME_MAX];
    send_to(1, port[0].mac, 1);
    drain();
    size_t len = frame(f, port[1].mac, port[0].mac, 777, 0x5a);
    assert_int_equal(net_switch_send(&sw, 0, f, len, 2), 1);
    memset(f, 0, sizeof f);             /* the queue holds its own copy */
    frame(f, port[1].mac, port[0].mac, 777, 0x5a);
    assert_int_equal(net_rxq_pop(&rxq[1], out, sizeof out), 777);
    assert_memory_equal(out, f, 777);
}

static void test_flooding(void **state)
{
    (void)state;
    for (unsigned i = 0; i < NPORTS; i++)       /* everyone known */
        send_to(i, bcast, 1);
    drain();
    uint64_t floods = sw.floods;
    const uint8_t *dsts[] = { bcast, mcast, nobody };
    for (unsigned d = 0; d < 3; d++) {
        assert_int_equal(send_to(2, dsts[d], 2), 3);
        assert_int_equal(drain(), 0xb);         /* all but the sender, 2 */
    }
    assert_int_equal(sw.floods, floods + 3);
    assert_int_equal(sw.learned, NPORTS);       /* group destinations are never learned */
}

static void test_spoofed_dropped_not_learned(void **state)
{
    (void)state;
    uint8_t f[64];
    /* 0 claims to be 1 (not yet learned): dropped, nothing queued or learned. */
    frame(f, bcast, port[1].mac, sizeof f, 0);
    assert_int_equal(net_switch_send(&sw, 0, f, sizeof f, 1), 0);
    assert_int_equal(drain(), 0);
    assert_int_equal(port[0].counters.drop_spoofed, 1);
    assert_int_equal(port[0].counters.tx_frames, 0);
    assert_int_equal(sw.learned, 0);
    assert_int_equal(sw.floods, 0);
    /* 1 learned on port 1; 0 pretending to be 1 does not move it. */
    send_to(1, bcast, 2);
    drain();
    assert_int_equal(net_switch_send(&sw, 0, f, sizeof f, 3), 0);
    assert_int_equal(send_to(2, port[1].mac, 4), 1);
    assert_int_equal(drain(), 0x2);
    /* Group and zero sources are spoofed too (no port has one). */
    frame(f, port[1].mac, bcast, sizeof f, 0);
    assert_int_equal(net_switch_send(&sw, 0, f, sizeof f, 5), 0);
    frame(f, port[1].mac, (const uint8_t[6]){ 0 }, sizeof f, 0);
    assert_int_equal(net_switch_send(&sw, 0, f, sizeof f, 5), 0);
    assert_int_equal(port[0].counters.drop_spoofed, 4);
    assert_int_equal(drain(), 0);
}

static void test_runt_and_oversize(void **state)
{
    (void)state;
    static uint8_t f[NET_FRAME_MAX + 64];
    frame(f, bcast, port[0].mac, sizeof f, 0);
    assert_int_equal(net_switch_send(&sw, 0, f, 0, 1), 0);
    assert_int_equal(net_switch_send(&sw, 0, f, NET_ETH_HLEN - 1, 1), 0);
    assert_int_equal(net_switch_send(&sw, 0, NULL, 64, 1), 0);
    assert_int_equal(port[0].counters.drop_runt, 3);
    assert_int_equal(net_switch_send(&sw, 0, f, NET_FRAME_MAX + 1, 1), 0);
    assert_int_equal(net_switch_send(&sw, 0, f, sizeof f, 1), 0);
    assert_int_equal(net_switch_send(&sw, 0, f, SIZE_MAX, 1), 0);
    assert_int_equal(port[0].counters.drop_oversize, 3);
    assert_int_equal(port[0].counters.tx_frames, 0);
    assert_int_equal(sw.learned, 0);
    assert_int_equal(drain(), 0);
    /* The limits themselves pass: a bare header, and a full frame. */
    assert_int_equal(net_switch_send(&sw, 0, f, NET_ETH_HLEN, 1), 3);
    assert_int_equal(net_switch_send(&sw, 0, f, NET_FRAME_MAX, 1), 3);
    size_t len;
    assert_non_null(net_rxq_peek(&rxq[1], &len));
    assert_int_equal(len, NET_ETH_HLEN);
    net_rxq_drop(&rxq[1]);
    assert_non_null(net_rxq_peek(&rxq[1], &len));
    assert_int_equal(len, NET_FRAME_MAX);
    assert_int_equal(port[0].counters.tx_bytes, NET_ETH_HLEN + NET_FRAME_MAX);
}

static void test_queue_full(void **state)
{
    (void)state;
    send_to(1, bcast, 1);                       /* 1 known */
    drain();
    for (unsigned i = 0; i < NET_RXQ_FRAMES; i++)
        assert_int_equal(send_to(0, port[1].mac, 2), 1);
    assert_int_equal(rxq[1].count, NET_RXQ_FRAMES);
    /* The 65th is lost at the receiver; the sender sees a normal send. */
    assert_int_equal(send_to(0, port[1].mac, 3), 0);
    assert_int_equal(port[1].counters.drop_queue_full, 1);
    assert_int_equal(port[1].counters.rx_frames, NET_RXQ_FRAMES);
    assert_int_equal(port[0].counters.tx_frames, NET_RXQ_FRAMES + 1);
    assert_int_equal(port[0].counters.drop_queue_full, 0);
    /* A flood still reaches the ports with room. */
    assert_int_equal(send_to(0, bcast, 4), 2);
    assert_int_equal(port[1].counters.drop_queue_full, 2);
    assert_int_equal(rxq[2].count, 1);
    assert_int_equal(rxq[3].count, 1);
    /* One popped, one fits again. */
    uint8_t out[64];
    assert_int_equal(net_rxq_pop(&rxq[1], out, sizeof out), 64);
    assert_int_equal(send_to(0, port[1].mac, 5), 1);
    assert_int_equal(rxq[1].count, NET_RXQ_FRAMES);
}

static void test_ageing(void **state)
{
    (void)state;
    const uint64_t t0 = 10 * SEC;
    send_to(1, bcast, t0);                      /* 1 learned at t0 */
    drain();
    /* Exactly 300 s later the entry is still live. */
    assert_int_equal(send_to(0, port[1].mac, t0 + NET_MAC_AGE_NS), 1);
    assert_int_equal(drain(), 0x2);
    assert_int_equal(sw.aged, 0);
    /* One nanosecond more and it is gone: flooded, counted as aged. */
    assert_int_equal(send_to(0, port[1].mac, t0 + NET_MAC_AGE_NS + 1), 3);
    assert_int_equal(drain(), 0xe);
    assert_int_equal(sw.aged, 1);
    /* 1 speaks again: learned anew, unicast again. */
    uint64_t learned = sw.learned;
    send_to(1, bcast, t0 + 400 * SEC);
    drain();
    assert_int_equal(sw.learned, learned + 1);
    assert_int_equal(send_to(0, port[1].mac, t0 + 401 * SEC), 1);
    assert_int_equal(drain(), 0x2);
    /* A clock that steps backwards ages nothing. */
    assert_int_equal(send_to(0, port[1].mac, 5), 1);
    assert_int_equal(drain(), 0x2);
}

static void test_table_full_replaces_oldest(void **state)
{
    (void)state;
    /* A full table: port 0's own entry, then stations behind port 3 (as an
     * uplink would teach it), entry 77 the least recently seen. */
    const uint64_t now = 1000 * SEC;
    for (unsigned i = 0; i < NET_SWITCH_MACS; i++) {
        struct net_mac_entry *e = &sw.mac[i];
        const uint8_t m[6] = { 0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
        memcpy(e->mac, i ? m : port[0].mac, 6);
        e->port = (uint8_t)(i ? pn[3] : pn[0]);
        e->used = true;
        e->seen_ns = now - (i == 77 ? 200 : 100) * SEC;
    }
    const uint8_t st77[6] = { 0x02, 0, 0, 0, 0, 77 }, st78[6] = { 0x02, 0, 0, 0, 0, 78 };
    assert_int_equal(send_to(0, st77, now), 1);     /* known: port 3 only */
    assert_int_equal(drain(), 0x8);
    /* Port 1's first frame needs an entry: 77 (oldest) makes way. */
    send_to(1, bcast, now + 1);
    drain();
    assert_int_equal(sw.learned, 1);
    assert_int_equal(sw.aged, 0);
    assert_memory_equal(sw.mac[77].mac, port[1].mac, 6);
    assert_int_equal(send_to(0, st77, now + 2), 3);  /* forgotten: flooded */
    assert_int_equal(drain(), 0xe);
    assert_int_equal(send_to(0, st78, now + 3), 1);  /* the others stay */
    assert_int_equal(drain(), 0x8);
    assert_int_equal(send_to(0, port[1].mac, now + 4), 1);
    assert_int_equal(drain(), 0x2);
    /* An aged entry is reused first, and counted. */
    sw.mac[5].seen_ns = 0;
    send_to(2, bcast, now + 5);
    drain();
    assert_int_equal(sw.aged, 1);
    assert_memory_equal(sw.mac[5].mac, port[2].mac, 6);
}

static void test_detach_forgets(void **state)
{
    (void)state;
    for (unsigned i = 0; i < NPORTS; i++)
        send_to(i, bcast, 1);
    drain();
    net_switch_detach(&sw, (unsigned)pn[1]);
    assert_false(port[1].attached);
    assert_null(sw.port[pn[1]]);
    assert_int_equal(sw.nports, NPORTS - 1);
    /* 1's MAC is unknown again: flooded, to 2 and 3 only. */
    assert_int_equal(send_to(0, port[1].mac, 2), 2);
    assert_int_equal(drain(), 0xc);
    /* The detached port can no longer send: nothing queued or counted. */
    uint64_t tx = port[1].counters.tx_frames;
    uint8_t f[64];
    frame(f, bcast, port[1].mac, sizeof f, 0);
    assert_int_equal(net_switch_send(&sw, (unsigned)pn[1], f, sizeof f, 3), 0);
    assert_int_equal(port[1].counters.tx_frames, tx);
    assert_int_equal(drain(), 0);
    assert_int_equal(net_switch_send(&sw, NET_SWITCH_PORTS, f, sizeof f, 3), 0);
    assert_int_equal(net_switch_send(&sw, UINT32_MAX, f, sizeof f, 3), 0);
    net_switch_detach(&sw, (unsigned)pn[1]);        /* twice: nothing */
    net_switch_detach(&sw, NET_SWITCH_PORTS + 5);
    assert_int_equal(sw.nports, NPORTS - 1);
    /* The others keep their numbers; a new port takes the free slot. */
    assert_ptr_equal(sw.port[pn[2]], &port[2]);
    assert_int_equal(send_to(3, port[2].mac, 4), 1);
    assert_int_equal(drain(), 0x4);
    assert_int_equal(net_switch_attach(&sw, &port[4]), pn[1]);
    assert_int_equal(send_to(0, port[1].mac, 5), 3);    /* 1's MAC stays unknown */
    assert_int_equal(drain(), 0x1c);
}

static void test_attach_refusals(void **state)
{
    (void)state;
    struct net_rxq *q = &rxq[NET_SWITCH_PORTS];
    struct net_port p = { .rxq = q };
    memcpy(p.mac, port[2].mac, 6);
    assert_int_equal(net_switch_attach(&sw, &p), -1);             /* duplicate */
    memcpy(p.mac, bcast, 6);
    assert_int_equal(net_switch_attach(&sw, &p), -1);             /* broadcast */
    memcpy(p.mac, mcast, 6);
    assert_int_equal(net_switch_attach(&sw, &p), -1);             /* multicast */
    memcpy(p.mac, (const uint8_t[6]){ 0x03, 0, 0, 0, 0, 1 }, 6);
    assert_int_equal(net_switch_attach(&sw, &p), -1);             /* I/G and U/L */
    memset(p.mac, 0, 6);
    assert_int_equal(net_switch_attach(&sw, &p), -1);             /* all zeros */
    assert_int_equal(net_switch_attach(&sw, &port[0]), -1);       /* attached already */
    memcpy(p.mac, nobody, 6);
    p.rxq = NULL;
    assert_int_equal(net_switch_attach(&sw, &p), -1);             /* nowhere to queue */
    assert_int_equal(net_switch_attach(&sw, NULL), -1);
    assert_int_equal(sw.nports, NPORTS);
    assert_false(p.attached);
    /* A universally administered unicast MAC is fine. */
    p.rxq = q;
    memcpy(p.mac, (const uint8_t[6]){ 0x00, 0x1b, 0x21, 1, 2, 3 }, 6);
    assert_int_equal(net_switch_attach(&sw, &p), NPORTS);
    net_switch_detach(&sw, NPORTS);
    /* Full network: 16 ports, the 17th refused. */
    for (unsigned i = NPORTS; i < NET_SWITCH_PORTS; i++)
        assert_int_equal(net_switch_attach(&sw, &port[i]), (int)i);
    assert_int_equal(net_switch_attach(&sw, &port[NET_SWITCH_PORTS]), -1);
    assert_int_equal(sw.nports, NET_SWITCH_PORTS);
}

static void test_two_networks_isolated(void **state)
{
    (void)state;
    /* A second network whose ports have the same MACs as ports 1 and 2. */
    static struct net_switch sw2;
    static struct net_rxq q2[2];
    static struct net_port p2[2];
    memset(q2, 0, sizeof q2);
    memset(p2, 0, sizeof p2);
    net_switch_init(&sw2);
    for (unsigned i = 0; i < 2; i++) {
        set_mac(&p2[i], i + 1);
        p2[i].rxq = &q2[i];
        assert_int_equal(net_switch_attach(&sw2, &p2[i]), (int)i);
    }
    /* A port cannot be in both. */
    assert_int_equal(net_switch_attach(&sw2, &port[0]), -1);
    for (unsigned i = 0; i < NPORTS; i++) {
        send_to(i, bcast, 1);
        send_to(i, mcast, 1);
        send_to(i, nobody, 1);
        send_to(i, port[(i + 1) % NPORTS].mac, 1);
    }
    assert_int_equal(q2[0].count + q2[1].count, 0);
    uint8_t f[64];
    frame(f, bcast, p2[0].mac, sizeof f, 0);
    assert_int_equal(net_switch_send(&sw2, 0, f, sizeof f, 2), 1);
    assert_int_equal(q2[1].count, 1);
    assert_int_equal(drain(), 0xf);             /* only what sw's own ports sent */
    assert_int_equal(p2[0].counters.rx_frames + p2[1].counters.rx_frames, 1);
    assert_int_equal(sw2.learned, 1);
    assert_int_equal(sw.learned, NPORTS);
}

static void test_hairpin(void **state)
{
    (void)state;
    /* A frame to the sender's own MAC: it is on the sender's port, so it goes
     * nowhere (learned first, so even the very first one). */
    assert_int_equal(send_to(0, port[0].mac, 1), 0);
    assert_int_equal(send_to(0, port[0].mac, 2), 0);
    assert_int_equal(drain(), 0);
    assert_int_equal(port[0].counters.tx_frames, 2);
    assert_int_equal(port[0].counters.rx_frames, 0);
    assert_int_equal(sw.floods, 0);
    /* Its own broadcast does not come back either. */
    assert_int_equal(send_to(0, bcast, 3), 3);
    assert_int_equal(drain(), 0xe);
}

static void test_rxq(void **state)
{
    (void)state;
    struct net_rxq *q = &rxq[NET_SWITCH_PORTS];
    uint8_t f[100], out[100];
    size_t len = 99;
    assert_null(net_rxq_peek(q, &len));
    assert_int_equal(len, 0);
    assert_int_equal(net_rxq_pop(q, out, sizeof out), 0);
    net_rxq_drop(q);                            /* empty: nothing happens */
    assert_int_equal(q->count, 0);
    /* Through the switch, in order, around the ring and past its end. */
    int n = net_switch_attach(&sw, &port[NET_SWITCH_PORTS]);
    assert_true(n >= 0);
    const uint8_t *me = port[NET_SWITCH_PORTS].mac;
    uint8_t hello[64];
    frame(hello, bcast, me, sizeof hello, 0);
    net_switch_send(&sw, (unsigned)n, hello, sizeof hello, 1);    /* now known */
    unsigned next = 0;                          /* the oldest frame not yet popped */
    for (unsigned i = 0; i < 2 * NET_RXQ_FRAMES; i++) {
        size_t l = frame(f, me, port[0].mac, 20 + i % 80, (uint8_t)i);
        assert_int_equal(net_switch_send(&sw, 0, f, l, 1), 1);
        if (i % 3 != 2)
            continue;
        for (unsigned k = 0; k < 2; k++, next++) {  /* two out for three in */
            size_t want = frame(f, me, port[0].mac, 20 + next % 80, (uint8_t)next);
            assert_int_equal(net_rxq_pop(q, out, sizeof out), want);
            assert_memory_equal(out, f, want);
        }
    }
    assert_true(next > NET_RXQ_FRAMES);         /* the ring wrapped */
    /* Truncation: cap bytes copied, the full length returned, the frame taken. */
    drain();
    size_t l = frame(f, me, port[0].mac, 60, 7);
    net_switch_send(&sw, 0, f, l, 1);
    net_switch_send(&sw, 0, f, l, 1);
    memset(out, 0xee, sizeof out);
    assert_int_equal(net_rxq_pop(q, out, 16), 60);
    assert_memory_equal(out, f, 16);
    assert_int_equal(out[16], 0xee);
    assert_int_equal(q->count, 1);
    assert_int_equal(net_rxq_pop(q, NULL, 0), 60);  /* discard */
    assert_int_equal(q->count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_learning_and_unicast, setup),
        cmocka_unit_test_setup(test_frame_copied_exactly, setup),
        cmocka_unit_test_setup(test_flooding, setup),
        cmocka_unit_test_setup(test_spoofed_dropped_not_learned, setup),
        cmocka_unit_test_setup(test_runt_and_oversize, setup),
        cmocka_unit_test_setup(test_queue_full, setup),
        cmocka_unit_test_setup(test_ageing, setup),
        cmocka_unit_test_setup(test_table_full_replaces_oldest, setup),
        cmocka_unit_test_setup(test_detach_forgets, setup),
        cmocka_unit_test_setup(test_attach_refusals, setup),
        cmocka_unit_test_setup(test_two_networks_isolated, setup),
        cmocka_unit_test_setup(test_hairpin, setup),
        cmocka_unit_test_setup(test_rxq, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
