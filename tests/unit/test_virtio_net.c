/* dev/virtio_net.c against virtio 1.2, 5.1: hand-built chains (segments pointing
 * into test buffers) and a fake receive ring. Transmit with the header split
 * anywhere, each drop and each broken chain; receive with and without
 * MRG_RXBUF (one chain, a frame spanning chains, chains running out mid-frame
 * and the frame resumed, a too-small buffer, broken chains and rings); the
 * receive filter (QEMU's promiscuous default, own address, broadcast, the
 * tables and their overflow, every mode); every control command with good and
 * malformed lengths; queue pairs; the queue layout; features and the
 * configuration space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dev/virtio_net.h"

#define F(x) (1ull << VIRTIO_NET_F_##x)
#define ALL_FEATURES (F(MAC) | F(MTU) | F(STATUS) | F(MRG_RXBUF) | F(CTRL_VQ) | F(CTRL_RX) | \
                      F(CTRL_RX_EXTRA) | F(MQ))

static const uint8_t MY_MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t OTHER_MAC[6] = { 0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC };
static const uint8_t BCAST[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
static const uint8_t MCAST_A[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t MCAST_B[6] = { 0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB };

static struct virtio_net n;
static struct virtq_chain chain;
static struct virtio_net_rxq rq;

static int setup(void **state)
{
    (void)state;
    virtio_net_init(&n, MY_MAC, 4);
    assert_true(virtio_net_set_features(&n, ALL_FEATURES));
    memset(&chain, 0, sizeof chain);
    chain.head = 9;
    memset(&rq, 0x5A, sizeof rq);                      /* rx must not trust it */
    virtio_net_rxq_reset(&rq);
    return 0;
}

static void add_to(struct virtq_chain *c, void *p, uint32_t len, bool write)
{
    struct virtq_seg *s = &c->seg[c->nseg++];
    *s = (struct virtq_seg){ p, len, write };
    if (write)
        c->write_bytes += len;
    else {
        c->read_bytes += len;
        c->nread++;
    }
}

static void add(void *p, uint32_t len, bool write)
{
    add_to(&chain, p, len, write);
}

/* A frame to dst from OTHER_MAC, len bytes, a pattern after the header. */
static void make_frame(uint8_t *f, size_t len, const uint8_t *dst)
{
    for (size_t i = 0; i < len; i++)
        f[i] = (uint8_t)(i * 7 + 3);
    memcpy(f, dst, 6);
    memcpy(f + 6, OTHER_MAC, 6);
    if (len >= 14) {
        f[12] = 0x08;
        f[13] = 0x00;
    }
}

/* --- transmit (5.1.6.2) ----------------------------------------------------------- */

static void test_tx_split_header(void **state)
{
    (void)state;
    uint8_t pkt[12 + 100];
    memset(pkt, 0, 12);
    make_frame(pkt + 12, 100, BCAST);
    /* header 5 + 6, then the header's last byte with 40 frame bytes, then the rest */
    add(pkt, 5, false);
    add(pkt + 5, 6, false);
    add(pkt + 11, 0, false);                           /* an empty buffer */
    add(pkt + 11, 41, false);
    add(pkt + 52, 60, false);
    uint8_t frame[VIRTIO_NET_FRAME_MAX + 8];
    memset(frame, 0xEE, sizeof frame);
    size_t len = 99;
    assert_int_equal(virtio_net_tx(&n, &chain, frame, VIRTIO_NET_FRAME_MAX, &len),
                     VIRTIO_NET_TX_OK);
    assert_int_equal(len, 100);
    assert_memory_equal(frame, pkt + 12, 100);
    assert_int_equal(frame[100], 0xEE);
    assert_int_equal(n.counters.tx_frames, 1);
    assert_int_equal(n.counters.tx_bytes, 100);
}

static void test_tx_one_buffer_and_limits(void **state)
{
    (void)state;
    uint8_t pkt[12 + VIRTIO_NET_FRAME_MAX + 1];
    memset(pkt, 0, 12);
    make_frame(pkt + 12, VIRTIO_NET_FRAME_MAX + 1, MY_MAC);
    uint8_t frame[VIRTIO_NET_FRAME_MAX + 8];
    size_t len;

    /* exactly the cap */
    add(pkt, 12 + VIRTIO_NET_FRAME_MAX, false);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, VIRTIO_NET_FRAME_MAX, &len),
                     VIRTIO_NET_TX_OK);
    assert_int_equal(len, VIRTIO_NET_FRAME_MAX);
    assert_memory_equal(frame, pkt + 12, VIRTIO_NET_FRAME_MAX);

    /* one more: oversize, nothing copied */
    memset(&chain, 0, sizeof chain);
    add(pkt, 12 + VIRTIO_NET_FRAME_MAX + 1, false);
    memset(frame, 0xEE, sizeof frame);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, VIRTIO_NET_FRAME_MAX, &len),
                     VIRTIO_NET_TX_DROP);
    assert_int_equal(len, 0);
    assert_int_equal(frame[0], 0xEE);
    assert_int_equal(n.counters.tx_drop_oversize, 1);

    /* a smaller cap */
    memset(&chain, 0, sizeof chain);
    add(pkt, 12 + 61, false);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, 60, &len), VIRTIO_NET_TX_DROP);
    assert_int_equal(n.counters.tx_drop_oversize, 2);

    /* exactly an Ethernet header: fine; one less: a runt */
    memset(&chain, 0, sizeof chain);
    add(pkt, 12 + 14, false);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, 60, &len), VIRTIO_NET_TX_OK);
    assert_int_equal(len, 14);
    memset(&chain, 0, sizeof chain);
    add(pkt, 12 + 13, false);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, 60, &len), VIRTIO_NET_TX_DROP);
    memset(&chain, 0, sizeof chain);
    add(pkt, 12, false);                               /* a header and no frame */
    assert_int_equal(virtio_net_tx(&n, &chain, frame, 60, &len), VIRTIO_NET_TX_DROP);
    assert_int_equal(n.counters.tx_drop_runt, 2);
    assert_int_equal(n.counters.tx_frames, 2);
    assert_int_equal(n.counters.broken, 0);
}

static void test_tx_offload_drops(void **state)
{
    (void)state;
    uint8_t pkt[12 + 60], frame[64];
    size_t len;
    make_frame(pkt + 12, 60, BCAST);
    struct { uint8_t flags, gso; enum virtio_net_tx_result want; } cases[] = {
        { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_TX_DROP },
        { 0, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_TX_DROP },
        { 0, VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_TX_DROP },
        { 0, VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_TX_DROP },
        { 0, VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_TX_DROP },
        { VIRTIO_NET_HDR_F_NEEDS_CSUM | 2, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_TX_DROP },
        /* flags the device does not act on: ignored (5.1.6.2.2) */
        { VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_TX_OK },
        { VIRTIO_NET_HDR_F_RSC_INFO | 0xF0, VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_TX_OK },
    };
    unsigned drops = 0;
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(pkt, 0, 12);
        pkt[0] = cases[i].flags;
        pkt[1] = cases[i].gso;
        pkt[4] = 0x34;                                 /* gso_size etc.: ignored */
        memset(&chain, 0, sizeof chain);
        add(pkt, 1, false);                            /* flags alone */
        add(pkt + 1, sizeof pkt - 1, false);
        assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), cases[i].want);
        drops += cases[i].want == VIRTIO_NET_TX_DROP;
    }
    assert_int_equal(n.counters.tx_drop_offload, drops);
    assert_int_equal(n.counters.tx_frames, 2);
}

static void test_tx_broken(void **state)
{
    (void)state;
    uint8_t pkt[12 + 60], wbuf[16], frame[64];
    size_t len;
    memset(pkt, 0, sizeof pkt);
    make_frame(pkt + 12, 60, BCAST);

    /* a device-writable buffer after the frame */
    add(pkt, sizeof pkt, false);
    add(wbuf, sizeof wbuf, true);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), VIRTIO_NET_TX_BROKEN);
    assert_non_null(strstr(n.broken, "device-writable"));

    /* only writable buffers */
    memset(&chain, 0, sizeof chain);
    add(pkt, sizeof pkt, true);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), VIRTIO_NET_TX_BROKEN);

    /* 11 readable bytes: no header */
    memset(&chain, 0, sizeof chain);
    add(pkt, 4, false);
    add(pkt + 4, 7, false);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), VIRTIO_NET_TX_BROKEN);
    assert_non_null(strstr(n.broken, "no header"));

    /* an empty chain */
    memset(&chain, 0, sizeof chain);
    assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), VIRTIO_NET_TX_BROKEN);

    /* not what the ring promises: counts, order, memory */
    memset(&chain, 0, sizeof chain);
    add(pkt, sizeof pkt, false);
    chain.nread = 2;
    assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), VIRTIO_NET_TX_BROKEN);
    memset(&chain, 0, sizeof chain);
    add(pkt, sizeof pkt, false);
    chain.seg[0].hva = NULL;
    assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), VIRTIO_NET_TX_BROKEN);
    memset(&chain, 0, sizeof chain);
    chain.nseg = VIRTQ_MAX_SEGS + 1;
    assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), VIRTIO_NET_TX_BROKEN);
    memset(&chain, 0, sizeof chain);
    add(pkt, sizeof pkt, false);
    add(pkt, 4, false);
    chain.seg[0].write = true;                         /* readable after writable */
    assert_int_equal(virtio_net_tx(&n, &chain, frame, sizeof frame, &len), VIRTIO_NET_TX_BROKEN);

    assert_int_equal(n.counters.broken, 8);
    assert_int_equal(n.counters.tx_frames, 0);
}

/* --- the receive filter (5.1.6.5.1, 5.1.6.5.2) ----------------------------------- */

static bool accepts(const uint8_t *dst)
{
    uint8_t f[60];
    make_frame(f, sizeof f, dst);
    return virtio_net_accept(&n, f, sizeof f);
}

static void test_filter_default_promisc(void **state)
{
    (void)state;
    /* QEMU's reset state: promiscuous, so anything gets in before the driver
     * programs the filter (or when it has no control queue). */
    assert_true(n.promisc);
    assert_false(n.allmulti || n.alluni || n.nomulti || n.nouni || n.nobcast);
    assert_int_equal(n.n_uni + n.n_multi, 0);
    assert_true(accepts(MY_MAC));
    assert_true(accepts(OTHER_MAC));
    assert_true(accepts(BCAST));
    assert_true(accepts(MCAST_A));
    uint8_t f[6];
    memcpy(f, MY_MAC, 6);
    assert_true(virtio_net_accept(&n, f, 6));
    assert_false(virtio_net_accept(&n, f, 5));         /* no whole destination */
}

static void test_filter_modes(void **state)
{
    (void)state;
    n.promisc = false;
    assert_true(accepts(MY_MAC));
    assert_false(accepts(OTHER_MAC));
    assert_true(accepts(BCAST));
    assert_false(accepts(MCAST_A));

    /* tables */
    memcpy(n.multi[0], MCAST_B, 6);
    memcpy(n.multi[1], MCAST_A, 6);
    n.n_multi = 1;
    assert_false(accepts(MCAST_A));                    /* beyond n_multi */
    n.n_multi = 2;
    assert_true(accepts(MCAST_A));
    assert_true(accepts(MCAST_B));
    memcpy(n.uni[0], OTHER_MAC, 6);
    n.n_uni = 1;
    assert_true(accepts(OTHER_MAC));
    /* a multicast address in the unicast table matches nothing */
    n.n_multi = 0;
    memcpy(n.uni[1], MCAST_A, 6);
    n.n_uni = 2;
    assert_false(accepts(MCAST_A));

    /* allmulti, overflow */
    n.allmulti = true;
    assert_true(accepts(MCAST_A));
    n.allmulti = false;
    n.multi_overflow = true;
    assert_true(accepts(MCAST_A));
    n.multi_overflow = false;
    const uint8_t stranger[6] = { 0x02, 1, 2, 3, 4, 5 };
    assert_false(accepts(stranger));
    n.uni_overflow = true;
    assert_true(accepts(stranger));
    n.uni_overflow = false;
    n.alluni = true;
    assert_true(accepts(stranger));
    n.alluni = false;

    /* the NO modes win over the ALL ones (QEMU's order) */
    n.allmulti = true;
    n.nomulti = true;
    assert_false(accepts(MCAST_A));
    assert_true(accepts(BCAST));                       /* broadcast is not "multi" */
    n.nobcast = true;
    assert_false(accepts(BCAST));
    n.alluni = true;
    n.nouni = true;
    assert_false(accepts(MY_MAC));
    assert_false(accepts(stranger));
    /* and promisc over everything */
    n.promisc = true;
    assert_true(accepts(MY_MAC));
    assert_true(accepts(BCAST));
    assert_true(accepts(MCAST_A));
}

static void test_reset_restores_defaults(void **state)
{
    (void)state;
    n.promisc = false;
    n.allmulti = n.alluni = n.nomulti = n.nouni = n.nobcast = true;
    n.uni_overflow = n.multi_overflow = true;
    n.n_uni = n.n_multi = 3;
    n.curr_pairs = 3;
    n.link_up = false;
    n.counters.tx_frames = 5;
    virtio_net_reset(&n);
    assert_true(n.promisc);
    assert_false(n.allmulti || n.alluni || n.nomulti || n.nouni || n.nobcast);
    assert_false(n.uni_overflow || n.multi_overflow);
    assert_int_equal(n.n_uni + n.n_multi, 0);
    assert_int_equal(n.curr_pairs, 1);
    assert_int_equal(n.features, 0);
    assert_int_equal(n.counters.tx_frames, 5);         /* kept */
    assert_false(n.link_up);                           /* the host's, kept */
    assert_memory_equal(n.mac, MY_MAC, 6);
    assert_int_equal(n.max_pairs, 4);
}

/* --- receive (5.1.6.3, 5.1.6.4) ------------------------------------------------------ */

#define RING_MAX 160

struct fake_ring {
    struct virtq_chain c[RING_MAX];
    unsigned n, next;          /* chains made available, chains popped */
    int fail_at;               /* -1 from this pop on (-1: never) */
};

static struct fake_ring ring;

static int fake_pop(void *ctx, struct virtq_chain *c)
{
    struct fake_ring *r = ctx;
    if (r->fail_at >= 0 && r->next >= (unsigned)r->fail_at)
        return -1;
    if (r->next >= r->n)
        return 0;
    *c = r->c[r->next++];
    return 1;
}

/* A chain of one writable buffer, head = its index + 100. */
static struct virtq_chain *ring_add(void *p, uint32_t len)
{
    struct virtq_chain *c = &ring.c[ring.n];
    memset(c, 0, sizeof *c);
    c->head = (uint16_t)(100 + ring.n);
    ring.n++;
    if (p)
        add_to(c, p, len, true);
    return c;
}

static int ring_setup(void **state)
{
    setup(state);
    memset(&ring, 0, sizeof ring);
    ring.fail_at = -1;
    return 0;
}

static enum virtio_net_rx_result rx(const uint8_t *frame, size_t len)
{
    return virtio_net_rx(&n, &rq, frame, len, fake_pop, &ring);
}

static void expect_hdr(const uint8_t *h, uint16_t num_buffers)
{
    for (int i = 0; i < 10; i++)
        assert_int_equal(h[i], 0);
    assert_int_equal(h[10], num_buffers & 0xFF);
    assert_int_equal(h[11], num_buffers >> 8);
}

static void test_rx_no_mrg(void **state)
{
    (void)state;
    assert_true(virtio_net_set_features(&n, ALL_FEATURES & ~F(MRG_RXBUF)));
    uint8_t frame[60], a[7], b[1600];
    make_frame(frame, sizeof frame, MY_MAC);
    memset(a, 0xEE, sizeof a);
    memset(b, 0xEE, sizeof b);
    struct virtq_chain *c = ring_add(a, sizeof a);    /* the header split 7 + 5 */
    add_to(c, b, sizeof b, true);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DELIVERED);
    assert_int_equal(rq.nused, 1);
    assert_int_equal(rq.used[0].head, 100);
    assert_int_equal(rq.used[0].written, 12 + 60);
    uint8_t h[12];
    memcpy(h, a, 7);
    memcpy(h + 7, b, 5);
    expect_hdr(h, 1);                                  /* num_buffers 1 */
    assert_memory_equal(b + 5, frame, 60);
    assert_int_equal(b[65], 0xEE);                     /* nothing after the frame */
    assert_int_equal(n.counters.rx_frames, 1);
    assert_int_equal(n.counters.rx_bytes, 60);
    assert_false(rq.held);

    /* A chain exactly the size needed. */
    uint8_t exact[12 + 60];
    ring_add(exact, sizeof exact);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DELIVERED);
    assert_int_equal(rq.used[0].head, 101);
    assert_memory_equal(exact + 12, frame, 60);
}

static void test_rx_no_mrg_too_small(void **state)
{
    (void)state;
    assert_true(virtio_net_set_features(&n, ALL_FEATURES & ~F(MRG_RXBUF)));
    uint8_t frame[100], small[111], big[2000];
    make_frame(frame, sizeof frame, MY_MAC);
    memset(small, 0xEE, sizeof small);
    ring_add(small, sizeof small);                     /* one byte short */
    ring_add(big, sizeof big);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DROPPED);
    assert_int_equal(rq.nused, 1);                     /* the chain goes back empty */
    assert_int_equal(rq.used[0].head, 100);
    assert_int_equal(rq.used[0].written, 0);
    for (size_t i = 0; i < sizeof small; i++)
        assert_int_equal(small[i], 0xEE);
    assert_int_equal(ring.next, 1);                    /* only that chain was taken */
    assert_int_equal(n.counters.rx_drop_too_small, 1);
    /* The next frame takes the next chain. */
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DELIVERED);
    assert_int_equal(rq.used[0].head, 101);
    assert_int_equal(rq.used[0].written, 112);
    /* A chain shorter than the header: also too small, not broken. */
    uint8_t tiny[4];
    ring_add(tiny, sizeof tiny);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DROPPED);
    assert_int_equal(rq.nused, 1);
    assert_int_equal(n.counters.rx_drop_too_small, 2);
    assert_int_equal(n.counters.broken, 0);
}

static void test_rx_mrg_one_chain(void **state)
{
    (void)state;
    uint8_t frame[VIRTIO_NET_FRAME_MAX], buf[12 + VIRTIO_NET_FRAME_MAX + 10];
    make_frame(frame, sizeof frame, BCAST);
    memset(buf, 0xEE, sizeof buf);
    ring_add(buf, sizeof buf);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DELIVERED);
    assert_int_equal(rq.nused, 1);
    assert_int_equal(rq.used[0].written, 12 + VIRTIO_NET_FRAME_MAX);
    expect_hdr(buf, 1);
    assert_memory_equal(buf + 12, frame, sizeof frame);
    assert_int_equal(buf[12 + VIRTIO_NET_FRAME_MAX], 0xEE);
    assert_int_equal(ring.next, 1);
}

static void test_rx_mrg_spanning(void **state)
{
    (void)state;
    uint8_t frame[1000], a[20], b1[200], b2[300], c[2000];
    make_frame(frame, sizeof frame, MY_MAC);
    memset(c, 0xEE, sizeof c);
    ring_add(a, sizeof a);
    struct virtq_chain *cb = ring_add(b1, sizeof b1);  /* two buffers in one chain */
    add_to(cb, b2, sizeof b2, true);
    ring_add(c, sizeof c);
    ring_add(c, sizeof c);                             /* not needed: not taken */
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DELIVERED);
    assert_int_equal(rq.nused, 3);
    assert_int_equal(ring.next, 3);
    assert_int_equal(rq.used[0].head, 100);
    assert_int_equal(rq.used[0].written, 20);
    assert_int_equal(rq.used[1].head, 101);
    assert_int_equal(rq.used[1].written, 500);
    assert_int_equal(rq.used[2].head, 102);
    assert_int_equal(rq.used[2].written, 1012 - 520);
    expect_hdr(a, 3);
    assert_memory_equal(a + 12, frame, 8);
    assert_memory_equal(b1, frame + 8, 200);
    assert_memory_equal(b2, frame + 208, 300);
    assert_memory_equal(c, frame + 508, 492);
    assert_int_equal(c[492], 0xEE);
    assert_int_equal(n.counters.rx_frames, 1);
}

/* The header's num_buffers split across the first chain's buffers. */
static void test_rx_mrg_split_num_buffers(void **state)
{
    (void)state;
    uint8_t frame[100], a[11], b[1], c[100];
    make_frame(frame, sizeof frame, MY_MAC);
    struct virtq_chain *ch = ring_add(a, sizeof a);
    add_to(ch, b, sizeof b, true);
    ring_add(c, sizeof c);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DELIVERED);
    assert_int_equal(rq.nused, 2);
    assert_int_equal(a[10], 2);
    assert_int_equal(b[0], 0);
    assert_memory_equal(c, frame, 100);
    assert_int_equal(rq.used[1].written, 100);
}

/* The chains run out mid-frame: WAIT, the chains stay the device's, and the
 * same frame goes on when the driver adds more. Nothing is taken back. */
static void test_rx_mrg_wait_and_resume(void **state)
{
    (void)state;
    uint8_t frame[300], a[100], b[100], c[500];
    make_frame(frame, sizeof frame, MY_MAC);
    memset(c, 0xEE, sizeof c);
    ring_add(a, sizeof a);
    ring_add(b, sizeof b);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_WAIT);
    assert_true(rq.held);
    assert_int_equal(rq.nused, 2);
    assert_int_equal(ring.next, 2);
    assert_int_equal(n.counters.rx_no_buffer, 1);
    assert_int_equal(n.counters.rx_frames, 0);
    /* still nothing */
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_WAIT);
    assert_true(rq.held);
    assert_int_equal(rq.nused, 2);
    /* the driver adds a buffer */
    ring_add(c, sizeof c);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DELIVERED);
    assert_false(rq.held);
    assert_int_equal(rq.nused, 3);
    assert_int_equal(rq.used[0].written, 100);
    assert_int_equal(rq.used[1].written, 100);
    assert_int_equal(rq.used[2].written, 112);
    expect_hdr(a, 3);
    assert_memory_equal(a + 12, frame, 88);
    assert_memory_equal(b, frame + 88, 100);
    assert_memory_equal(c, frame + 188, 112);
    assert_int_equal(c[112], 0xEE);
    assert_int_equal(n.counters.rx_frames, 1);
    assert_int_equal(n.counters.rx_no_buffer, 2);

    /* Resumed with another length: the caller's bug, broken. */
    ring_add(a, sizeof a);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_WAIT);
    assert_true(rq.held);
    assert_int_equal(rx(frame, 200), VIRTIO_NET_RX_BROKEN);
    assert_int_equal(n.counters.broken, 1);
    /* A device reset forgets the held chains. */
    virtio_net_rxq_reset(&rq);
    assert_false(rq.held);
    assert_int_equal(rq.nused, 0);
}

static void test_rx_wait_empty_ring(void **state)
{
    (void)state;
    uint8_t frame[60], buf[2000];
    make_frame(frame, sizeof frame, MY_MAC);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_WAIT);
    assert_false(rq.held);                             /* nothing taken */
    assert_int_equal(rq.nused, 0);
    /* With nothing held the caller may move on to another frame. */
    uint8_t other[70];
    make_frame(other, sizeof other, BCAST);
    ring_add(buf, sizeof buf);
    assert_int_equal(rx(other, sizeof other), VIRTIO_NET_RX_DELIVERED);
    assert_memory_equal(buf + 12, other, sizeof other);

    /* Without MRG_RXBUF too. */
    assert_true(virtio_net_set_features(&n, ALL_FEATURES & ~F(MRG_RXBUF)));
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_WAIT);
    assert_false(rq.held);
    assert_int_equal(n.counters.rx_no_buffer, 2);
}

static void test_rx_drops_before_popping(void **state)
{
    (void)state;
    uint8_t frame[VIRTIO_NET_FRAME_MAX + 1], buf[4000];
    make_frame(frame, sizeof frame, OTHER_MAC);
    ring_add(buf, sizeof buf);
    assert_int_equal(rx(frame, 13), VIRTIO_NET_RX_DROPPED);
    assert_int_equal(rx(frame, VIRTIO_NET_FRAME_MAX + 1), VIRTIO_NET_RX_DROPPED);
    assert_int_equal(n.counters.rx_drop_bad_frame, 2);
    n.promisc = false;
    assert_int_equal(rx(frame, 60), VIRTIO_NET_RX_DROPPED);   /* not for us */
    assert_int_equal(n.counters.rx_drop_filtered, 1);
    assert_int_equal(rq.nused, 0);
    assert_int_equal(ring.next, 0);                    /* no chain taken */
    make_frame(frame, 60, MY_MAC);
    assert_int_equal(rx(frame, 60), VIRTIO_NET_RX_DELIVERED);
    assert_int_equal(rx(frame, 14), VIRTIO_NET_RX_WAIT);
}

static void test_rx_broken(void **state)
{
    (void)state;
    uint8_t frame[60], buf[200];
    make_frame(frame, sizeof frame, MY_MAC);

    /* a device-readable buffer in a receive chain */
    struct virtq_chain *c = ring_add(NULL, 0);
    add_to(c, buf, 10, false);
    add_to(c, buf + 10, 100, true);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_BROKEN);
    assert_non_null(strstr(n.broken, "device-readable"));

    /* with MRG_RXBUF, a chain smaller than the header */
    ring_add(buf, 11);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_BROKEN);
    assert_non_null(strstr(n.broken, "MRG_RXBUF"));

    /* ... also as a later chain of a frame */
    ring_add(buf, 40);
    ring_add(buf + 40, 11);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_BROKEN);
    assert_false(rq.held);

    /* the ring itself */
    ring.fail_at = (int)ring.next;
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_BROKEN);
    assert_non_null(strstr(n.broken, "ring"));

    /* an empty chain (no writable byte) */
    ring.fail_at = -1;
    ring_add(NULL, 0);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_BROKEN);
    assert_int_equal(n.counters.broken, 5);
    assert_int_equal(n.counters.rx_frames, 0);
}

/* Chains of exactly 12 bytes: the most a largest frame can span. */
static void test_rx_mrg_smallest_chains(void **state)
{
    (void)state;
    static uint8_t bufs[RING_MAX][12];
    uint8_t frame[VIRTIO_NET_FRAME_MAX];
    make_frame(frame, sizeof frame, MY_MAC);
    for (unsigned i = 0; i < RING_MAX; i++)
        ring_add(bufs[i], 12);
    assert_int_equal(rx(frame, sizeof frame), VIRTIO_NET_RX_DELIVERED);
    unsigned want = (12 + VIRTIO_NET_FRAME_MAX + 11) / 12;
    assert_int_equal(rq.nused, want);
    assert_true(want <= VIRTIO_NET_RX_MAX_BUFS);
    expect_hdr(bufs[0], (uint16_t)want);
    assert_memory_equal(bufs[1], frame, 12);
    uint32_t total = 0;
    for (unsigned i = 0; i < rq.nused; i++) {
        assert_int_equal(rq.used[i].head, 100 + i);
        total += rq.used[i].written;
    }
    assert_int_equal(total, 12 + VIRTIO_NET_FRAME_MAX);
}

/* --- control queue (5.1.6.5) ------------------------------------------------------------- */

static uint8_t ack[4];

/* class, cmd, then the data split into pieces of `piece` bytes (0: one buffer), then a
 * 1-byte ack. */
static int ctrl(uint8_t cls, uint8_t cmd, const void *data, size_t len, size_t piece)
{
    static uint8_t buf[4096];
    memset(&chain, 0, sizeof chain);
    buf[0] = cls;
    buf[1] = cmd;
    memcpy(buf + 2, data, len);
    add(buf, 2, false);
    if (!piece)
        piece = len ? len : 1;
    for (size_t off = 0; off < len; off += piece)
        add(buf + 2 + off, (uint32_t)(len - off < piece ? len - off : piece), false);
    memset(ack, 0xEE, sizeof ack);
    add(ack, 1, true);
    int r = virtio_net_ctrl(&n, &chain);
    if (r >= 0)
        assert_int_equal(ack[0], r);
    assert_int_equal(ack[1], 0xEE);
    return r;
}

static int ctrl_byte(uint8_t cls, uint8_t cmd, uint8_t v)
{
    return ctrl(cls, cmd, &v, 1, 0);
}

static void test_ctrl_rx_modes(void **state)
{
    (void)state;
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0), VIRTIO_NET_OK);
    assert_false(n.promisc);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1), VIRTIO_NET_OK);
    assert_true(n.promisc);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, 1), VIRTIO_NET_OK);
    assert_true(n.allmulti);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI, 1), VIRTIO_NET_OK);
    assert_true(n.alluni);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI, 1), VIRTIO_NET_OK);
    assert_true(n.nomulti);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI, 1), VIRTIO_NET_OK);
    assert_true(n.nouni);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, 1), VIRTIO_NET_OK);
    assert_true(n.nobcast);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, 0), VIRTIO_NET_OK);
    assert_false(n.nobcast);

    /* not 0 or 1; wrong lengths; unknown command: ERR, nothing changes */
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 2), VIRTIO_NET_ERR);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0xFF), VIRTIO_NET_ERR);
    assert_true(n.promisc);
    const uint8_t two[2] = { 0, 0 };
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2, 0), VIRTIO_NET_ERR);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 0, 0), VIRTIO_NET_ERR);
    assert_true(n.promisc);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, 6, 0), VIRTIO_NET_ERR);
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, 0xFF, 0), VIRTIO_NET_ERR);
    assert_int_equal(n.counters.ctrl_ok, 8);
    assert_int_equal(n.counters.ctrl_err, 6);
}

static void test_ctrl_rx_needs_features(void **state)
{
    (void)state;
    /* CTRL_RX without CTRL_RX_EXTRA: the first two commands only */
    assert_true(virtio_net_set_features(&n, ALL_FEATURES & ~F(CTRL_RX_EXTRA)));
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, 1), VIRTIO_NET_OK);
    for (uint8_t cmd = VIRTIO_NET_CTRL_RX_ALLUNI; cmd <= VIRTIO_NET_CTRL_RX_NOBCAST; cmd++)
        assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, cmd, 1), VIRTIO_NET_ERR);
    assert_false(n.alluni || n.nomulti || n.nouni || n.nobcast);
    /* no CTRL_RX: none, and no MAC table either */
    assert_true(virtio_net_set_features(&n, F(CTRL_VQ) | F(MRG_RXBUF)));
    assert_int_equal(ctrl_byte(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0), VIRTIO_NET_ERR);
    assert_true(n.promisc);
    const uint8_t empty[8] = { 0 };
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, empty, 8, 0),
                     VIRTIO_NET_ERR);
}

/* TABLE_SET data: counts and addresses, little-endian. */
static size_t table_data(uint8_t *p, uint32_t n_uni, uint32_t n_multi, unsigned uni_seed)
{
    size_t at = 0;
    memcpy(p, &n_uni, 4);                              /* x86: little-endian */
    at += 4;
    for (uint32_t i = 0; i < n_uni; i++, at += 6) {
        const uint8_t m[6] = { 0x02, 0, 0, 0, (uint8_t)uni_seed, (uint8_t)i };
        memcpy(p + at, m, 6);
    }
    memcpy(p + at, &n_multi, 4);
    at += 4;
    for (uint32_t i = 0; i < n_multi; i++, at += 6) {
        const uint8_t m[6] = { 0x01, 0x00, 0x5E, 0, (uint8_t)(i >> 8), (uint8_t)i };
        memcpy(p + at, m, 6);
    }
    return at;
}

static void test_ctrl_mac_table(void **state)
{
    (void)state;
    uint8_t d[2048];
    size_t len = table_data(d, 2, 3, 7);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len, 0),
                     VIRTIO_NET_OK);
    assert_int_equal(n.n_uni, 2);
    assert_int_equal(n.n_multi, 3);
    assert_false(n.uni_overflow || n.multi_overflow);
    assert_memory_equal(n.uni[1], d + 10, 6);
    assert_memory_equal(n.multi[2], d + 4 + 12 + 4 + 12, 6);
    n.promisc = false;
    const uint8_t uni1[6] = { 0x02, 0, 0, 0, 7, 1 }, multi2[6] = { 0x01, 0x00, 0x5E, 0, 0, 2 };
    assert_true(accepts(uni1));
    assert_true(accepts(multi2));
    assert_false(accepts(MCAST_A));

    /* the same split into 1-byte and 5-byte buffers */
    len = table_data(d, 3, 1, 9);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len, 1),
                     VIRTIO_NET_OK);
    assert_int_equal(n.n_uni, 3);
    assert_memory_equal(n.uni[2], d + 16, 6);
    len = table_data(d, 1, 2, 9);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len, 5),
                     VIRTIO_NET_OK);
    assert_int_equal(n.n_uni, 1);
    assert_int_equal(n.n_multi, 2);
    assert_false(accepts(uni1));                       /* replaced, not added to */

    /* both empty: Linux's usual command */
    len = table_data(d, 0, 0, 0);
    assert_int_equal(len, 8);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len, 0),
                     VIRTIO_NET_OK);
    assert_int_equal(n.n_uni + n.n_multi, 0);

    /* exactly full, then one too many: overflow (accept every address of the kind) */
    len = table_data(d, VIRTIO_NET_MAC_TABLE, VIRTIO_NET_MAC_TABLE, 1);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len, 0),
                     VIRTIO_NET_OK);
    assert_int_equal(n.n_uni, VIRTIO_NET_MAC_TABLE);
    assert_int_equal(n.n_multi, VIRTIO_NET_MAC_TABLE);
    assert_false(n.uni_overflow || n.multi_overflow);
    len = table_data(d, VIRTIO_NET_MAC_TABLE + 1, 2, 1);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len, 0),
                     VIRTIO_NET_OK);
    assert_true(n.uni_overflow);
    assert_int_equal(n.n_uni, 0);
    assert_false(n.multi_overflow);
    assert_int_equal(n.n_multi, 2);
    assert_true(accepts(OTHER_MAC));
    assert_false(accepts(MCAST_A));
    len = table_data(d, 1, 200, 1);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len, 0),
                     VIRTIO_NET_OK);
    assert_false(n.uni_overflow);
    assert_true(n.multi_overflow);
    assert_true(accepts(MCAST_A));
    assert_false(accepts(OTHER_MAC));
    assert_int_equal(n.counters.ctrl_ok, 7);
}

static void test_ctrl_mac_malformed(void **state)
{
    (void)state;
    uint8_t d[1024], good[64];
    size_t good_len = table_data(good, 1, 1, 3);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, good, good_len, 0),
                     VIRTIO_NET_OK);

    size_t len = table_data(d, 2, 3, 7);
    for (size_t cut = 0; cut < len; cut++)             /* every truncation */
        assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, cut, 0),
                         VIRTIO_NET_ERR);
    d[len] = 0;                                        /* one byte too many */
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len + 1, 0),
                     VIRTIO_NET_ERR);
    /* counts that would wrap a 32-bit product (QEMU's entries * ETH_ALEN) */
    len = table_data(d, 0, 0, 0);
    const uint32_t huge = 0xFFFFFFFFu, wraps = 0x2AAAAAABu;   /* * 6 = 2 mod 2^32 */
    memcpy(d, &huge, 4);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len, 0),
                     VIRTIO_NET_ERR);
    memcpy(d, &wraps, 4);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len + 2, 0),
                     VIRTIO_NET_ERR);
    len = table_data(d, 0, 0, 0);
    memcpy(d + 4, &wraps, 4);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len + 2, 0),
                     VIRTIO_NET_ERR);
    /* an overflowing table must still be all there */
    len = table_data(d, VIRTIO_NET_MAC_TABLE + 1, 0, 0);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len - 1, 0),
                     VIRTIO_NET_ERR);
    /* the unicast count covering the multicast count's bytes */
    len = table_data(d, 1, 0, 0);
    const uint32_t two = 2;
    memcpy(d, &two, 4);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, len + 2, 0),
                     VIRTIO_NET_ERR);

    /* the tables of the last good command stand */
    assert_int_equal(n.n_uni, 1);
    assert_int_equal(n.n_multi, 1);
    assert_memory_equal(n.uni[0], good + 4, 6);
    assert_memory_equal(n.multi[0], good + 14, 6);
    assert_false(n.uni_overflow || n.multi_overflow);

    /* ADDR_SET: CTRL_MAC_ADDR is not offered */
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, OTHER_MAC, 6, 0),
                     VIRTIO_NET_ERR);
    assert_memory_equal(n.mac, MY_MAC, 6);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, 2, good, good_len, 0), VIRTIO_NET_ERR);
}

static void test_ctrl_mq(void **state)
{
    (void)state;
    uint16_t v = 2;
    assert_int_equal(n.curr_pairs, 1);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2, 0),
                     VIRTIO_NET_OK);
    assert_int_equal(n.curr_pairs, 2);
    v = 4;
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2, 1),
                     VIRTIO_NET_OK);
    assert_int_equal(n.curr_pairs, 4);
    v = 1;
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2, 0),
                     VIRTIO_NET_OK);
    assert_int_equal(n.curr_pairs, 1);
    /* out of 1..max_pairs */
    const uint16_t bad[] = { 0, 5, 0x8000, 0xFFFF, 0x0100 };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &bad[i], 2, 0),
                         VIRTIO_NET_ERR);
    /* lengths */
    const uint8_t three[3] = { 2, 0, 0 };
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, three, 1, 0),
                     VIRTIO_NET_ERR);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, three, 3, 0),
                     VIRTIO_NET_ERR);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, three, 0, 0),
                     VIRTIO_NET_ERR);
    /* RSS and hash configuration: not offered */
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, three, 3, 0),
                     VIRTIO_NET_ERR);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_HASH_CONFIG, three, 3, 0),
                     VIRTIO_NET_ERR);
    assert_int_equal(n.curr_pairs, 1);

    /* without MQ negotiated, and on a one-pair NIC (MQ not even offered) */
    v = 2;
    assert_true(virtio_net_set_features(&n, ALL_FEATURES & ~F(MQ)));
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2, 0),
                     VIRTIO_NET_ERR);
    virtio_net_init(&n, MY_MAC, 1);
    virtio_net_set_features(&n, ALL_FEATURES);
    assert_int_equal(n.features & F(MQ), 0);
    v = 1;
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2, 0),
                     VIRTIO_NET_ERR);
    assert_int_equal(n.curr_pairs, 1);
}

static void test_ctrl_other_classes(void **state)
{
    (void)state;
    const uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, d, 2, 0), VIRTIO_NET_ERR);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, d, 0, 0),
                     VIRTIO_NET_ERR);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, d, 8, 0),
                     VIRTIO_NET_ERR);
    assert_int_equal(ctrl(VIRTIO_NET_CTRL_NOTF_COAL, 0, d, 8, 0), VIRTIO_NET_ERR);
    assert_int_equal(ctrl(200, 0, d, 0, 0), VIRTIO_NET_ERR);
    assert_int_equal(n.counters.ctrl_err, 5);
    assert_int_equal(n.counters.broken, 0);
}

static void test_ctrl_chain_shapes(void **state)
{
    (void)state;
    uint8_t hdr[3] = { VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0 };
    uint8_t w[4];

    /* class and command in separate buffers, data with them; the ack is the first
     * writable byte of a longer writable part (as QEMU), the rest untouched */
    add(hdr, 1, false);
    add(hdr + 1, 2, false);
    memset(w, 0xEE, sizeof w);
    add(w, 0, true);
    add(w, 4, true);
    assert_int_equal(virtio_net_ctrl(&n, &chain), VIRTIO_NET_OK);
    assert_int_equal(w[0], VIRTIO_NET_OK);
    assert_int_equal(w[1], 0xEE);
    assert_false(n.promisc);

    /* broken: no header, one header byte, no writable byte, an empty writable buffer */
    memset(&chain, 0, sizeof chain);
    add(w, 1, true);
    assert_int_equal(virtio_net_ctrl(&n, &chain), -1);
    assert_non_null(strstr(n.broken, "control header"));
    memset(&chain, 0, sizeof chain);
    add(hdr, 1, false);
    add(w, 1, true);
    assert_int_equal(virtio_net_ctrl(&n, &chain), -1);
    memset(&chain, 0, sizeof chain);
    add(hdr, 3, false);
    assert_int_equal(virtio_net_ctrl(&n, &chain), -1);
    assert_non_null(strstr(n.broken, "ack"));
    memset(&chain, 0, sizeof chain);
    add(hdr, 3, false);
    add(w, 0, true);
    memset(w, 0xEE, sizeof w);
    assert_int_equal(virtio_net_ctrl(&n, &chain), -1);
    assert_int_equal(w[0], 0xEE);
    /* a readable buffer after the ack */
    memset(&chain, 0, sizeof chain);
    add(hdr, 3, false);
    add(w, 1, true);
    add(hdr, 1, false);
    chain.nread = 1;
    assert_int_equal(virtio_net_ctrl(&n, &chain), -1);
    assert_int_equal(n.counters.broken, 5);
    assert_int_equal(n.counters.ctrl_ok, 1);
    assert_int_equal(n.counters.ctrl_err, 0);
}

/* --- layout, features, configuration ---------------------------------------------- */

static void test_queue_layout(void **state)
{
    (void)state;
    unsigned pair = 99;
    assert_int_equal(virtio_net_num_queues(1), 3);
    assert_int_equal(virtio_net_num_queues(4), 9);
    /* MQ negotiated: N = 4 */
    assert_int_equal(virtio_net_layout_pairs(&n), 4);
    assert_int_equal(virtio_net_queue_kind(&n, 0, &pair), VIRTIO_NET_Q_RX);
    assert_int_equal(pair, 0);
    assert_int_equal(virtio_net_queue_kind(&n, 1, &pair), VIRTIO_NET_Q_TX);
    assert_int_equal(pair, 0);
    assert_int_equal(virtio_net_queue_kind(&n, 2, &pair), VIRTIO_NET_Q_RX);
    assert_int_equal(pair, 1);
    assert_int_equal(virtio_net_queue_kind(&n, 6, &pair), VIRTIO_NET_Q_RX);
    assert_int_equal(pair, 3);
    assert_int_equal(virtio_net_queue_kind(&n, 7, &pair), VIRTIO_NET_Q_TX);
    assert_int_equal(pair, 3);
    assert_int_equal(virtio_net_queue_kind(&n, 8, NULL), VIRTIO_NET_Q_CTRL);
    assert_int_equal(virtio_net_queue_kind(&n, 9, NULL), VIRTIO_NET_Q_NONE);
    assert_int_equal(virtio_net_queue_kind(&n, 1000, NULL), VIRTIO_NET_Q_NONE);
    /* MQ not accepted: N = 1, the control queue is 2 (5.1.2) */
    virtio_net_set_features(&n, ALL_FEATURES & ~F(MQ));
    assert_int_equal(virtio_net_layout_pairs(&n), 1);
    assert_int_equal(virtio_net_queue_kind(&n, 1, &pair), VIRTIO_NET_Q_TX);
    assert_int_equal(virtio_net_queue_kind(&n, 2, NULL), VIRTIO_NET_Q_CTRL);
    assert_int_equal(virtio_net_queue_kind(&n, 3, NULL), VIRTIO_NET_Q_NONE);
    assert_int_equal(virtio_net_queue_kind(&n, 8, NULL), VIRTIO_NET_Q_NONE);
    /* no control queue */
    virtio_net_set_features(&n, F(MAC) | F(MRG_RXBUF));
    assert_int_equal(virtio_net_queue_kind(&n, 2, NULL), VIRTIO_NET_Q_NONE);
    assert_int_equal(virtio_net_queue_kind(&n, 0, NULL), VIRTIO_NET_Q_RX);
}

static void test_features(void **state)
{
    (void)state;
    const uint64_t base = F(MAC) | F(MTU) | F(STATUS) | F(MRG_RXBUF) | F(CTRL_VQ) | F(CTRL_RX) |
                          F(CTRL_RX_EXTRA);
    assert_int_equal(virtio_net_device_features(1), base);
    assert_int_equal(virtio_net_device_features(2), base | F(MQ));
    uint64_t f = virtio_net_device_features(4);
    /* no offload of any kind, nothing the device does not do */
    const uint64_t never = F(CSUM) | F(GUEST_CSUM) | F(CTRL_GUEST_OFFLOADS) | F(GSO) |
                           F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN) | F(GUEST_UFO) |
                           F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | F(HOST_UFO) |
                           F(CTRL_VLAN) | F(GUEST_ANNOUNCE) | F(CTRL_MAC_ADDR) | F(RSS) |
                           F(HASH_REPORT) | F(SPEED_DUPLEX) | F(STANDBY) | F(NOTF_COAL);
    assert_int_equal(f & never, 0);
    assert_int_equal(f >> 24, 0);                      /* no transport bits */

    /* set_features keeps what was offered, drops what breaks a dependency */
    assert_true(virtio_net_set_features(&n, f | F(CSUM) | 1ull << 32 | 1ull << 29));
    assert_int_equal(n.features, f);
    assert_false(virtio_net_set_features(&n, F(MRG_RXBUF) | F(CTRL_RX) | F(MQ)));
    assert_int_equal(n.features, F(MRG_RXBUF));
    assert_false(virtio_net_set_features(&n, F(CTRL_VQ) | F(CTRL_RX_EXTRA)));
    assert_int_equal(n.features, F(CTRL_VQ));
    assert_true(virtio_net_set_features(&n, 0));
    assert_int_equal(n.features, 0);

    /* init clamps the pairs */
    virtio_net_init(&n, MY_MAC, 0);
    assert_int_equal(n.max_pairs, 1);
    virtio_net_init(&n, MY_MAC, 100);
    assert_int_equal(n.max_pairs, VIRTIO_NET_MAX_PAIRS);
    assert_true(n.link_up);
    assert_true(n.promisc);
}

static void test_config(void **state)
{
    (void)state;
    struct virtio_net_config cfg;
    memset(&cfg, 0xAB, sizeof cfg);
    virtio_net_fill_config(&n, &cfg);
    assert_memory_equal(cfg.mac, MY_MAC, 6);
    assert_int_equal(cfg.status, VIRTIO_NET_S_LINK_UP);
    assert_int_equal(cfg.max_virtqueue_pairs, 4);
    assert_int_equal(cfg.mtu, 1500);
    assert_int_equal(cfg.speed, 0xFFFFFFFFu);
    assert_int_equal(cfg.duplex, 0xFF);
    assert_int_equal(cfg.rss_max_key_size, 0);
    assert_int_equal(cfg.rss_max_indirection_table_length, 0);
    assert_int_equal(cfg.supported_hash_types, 0);
    /* the layout 5.1.4 gives, byte by byte */
    const uint8_t *p = (const uint8_t *)&cfg;
    assert_int_equal(sizeof cfg, 24);
    assert_int_equal(p[6], 1);
    assert_int_equal(p[7], 0);
    assert_int_equal(p[8], 4);
    assert_int_equal(p[10], 1500 & 0xFF);
    assert_int_equal(p[11], 1500 >> 8);
    n.link_up = false;
    virtio_net_fill_config(&n, &cfg);
    assert_int_equal(cfg.status, 0);

    uint8_t mac[6], want[6];
    virtio_net_default_mac("vm", 1, mac);
    mac_default("vm", 1, want);
    assert_memory_equal(mac, want, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tx_split_header, setup),
        cmocka_unit_test_setup(test_tx_one_buffer_and_limits, setup),
        cmocka_unit_test_setup(test_tx_offload_drops, setup),
        cmocka_unit_test_setup(test_tx_broken, setup),
        cmocka_unit_test_setup(test_filter_default_promisc, setup),
        cmocka_unit_test_setup(test_filter_modes, setup),
        cmocka_unit_test_setup(test_reset_restores_defaults, setup),
        cmocka_unit_test_setup(test_rx_no_mrg, ring_setup),
        cmocka_unit_test_setup(test_rx_no_mrg_too_small, ring_setup),
        cmocka_unit_test_setup(test_rx_mrg_one_chain, ring_setup),
        cmocka_unit_test_setup(test_rx_mrg_spanning, ring_setup),
        cmocka_unit_test_setup(test_rx_mrg_split_num_buffers, ring_setup),
        cmocka_unit_test_setup(test_rx_mrg_wait_and_resume, ring_setup),
        cmocka_unit_test_setup(test_rx_wait_empty_ring, ring_setup),
        cmocka_unit_test_setup(test_rx_drops_before_popping, ring_setup),
        cmocka_unit_test_setup(test_rx_broken, ring_setup),
        cmocka_unit_test_setup(test_rx_mrg_smallest_chains, ring_setup),
        cmocka_unit_test_setup(test_ctrl_rx_modes, setup),
        cmocka_unit_test_setup(test_ctrl_rx_needs_features, setup),
        cmocka_unit_test_setup(test_ctrl_mac_table, setup),
        cmocka_unit_test_setup(test_ctrl_mac_malformed, setup),
        cmocka_unit_test_setup(test_ctrl_mq, setup),
        cmocka_unit_test_setup(test_ctrl_other_classes, setup),
        cmocka_unit_test_setup(test_ctrl_chain_shapes, setup),
        cmocka_unit_test_setup(test_queue_layout, setup),
        cmocka_unit_test_setup(test_features, setup),
        cmocka_unit_test_setup(test_config, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
