/* libFuzzer target for dev/virtio_net.c: the guest fills the transmit, receive
 * and control queues, so every chain shape reaches the device layer (segment
 * counts, lengths, readable/writable split, headers and command data cut
 * anywhere, chains that are not what the ring promises). The input is a NIC
 * (pairs, features) and a sequence of operations on it:
 * - transmit: a chain carrying a header and a frame; checked: no guest byte
 *   written, the frame length <= cap and nothing past it written, an OK frame
 *   equal to the readable bytes after the 12-byte header;
 * - receive: a frame (to the NIC, broadcast, a table's multicast, anyone) placed
 *   through a next_chain callback that builds each chain from the input when
 *   asked (or answers "none now" / "ring broken"), resumed after WAIT a few
 *   times; checked: only writable buffers of chains popped in this placement
 *   change, used entries are the popped chains in order with written <=
 *   capacity, a DELIVERED frame reads back as header (num_buffers = chains) +
 *   frame and nothing past each written length changed, DROPPED writes
 *   nothing, WAIT holds chains exactly when it popped some;
 * - control: raw bytes or a structured RX / MAC TABLE_SET / MQ command with
 *   lengths a little off; checked: only the ack byte (the first writable byte)
 *   changes, to VIRTIO_NET_OK or _ERR, nothing for a BROKEN chain;
 * - features, device reset, the filter on a random frame.
 * After every operation the state is sane: tables within VIRTIO_NET_MAC_TABLE,
 * an overflowing table empty, 1 <= curr_pairs <= max_pairs, features within
 * those offered. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/virtio_net.h"

#define REGION   16384
#define MAX_SEGS 8
#define MAX_RECS 256
#define PAYLOAD  4096

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint8_t rd_region[REGION], wr_region[REGION];
static uint8_t rd_snap[REGION], wr_snap[REGION];
static size_t rd_at, wr_at;                  /* next free byte of each region */

static struct virtio_net n;
static struct virtio_net_rxq rq;
static struct virtq_chain chain;

/* --- input ------------------------------------------------------------------------- */

struct input {
    const uint8_t *p, *end;
};

static uint8_t byte(struct input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static uint16_t u16(struct input *in)
{
    uint16_t v = byte(in);
    return (uint16_t)(v | byte(in) << 8);
}

static bool more(const struct input *in)
{
    return in->p < in->end;
}

/* Lengths near the interesting places: header splits, frames, 12-byte chains. */
static uint32_t length_of(struct input *in)
{
    uint16_t v = u16(in);
    switch (v >> 14) {
    case 0: return (v & 0x3FFF) % 24;
    case 1: return (v & 0x3FFF) % 1700;
    case 2: return 1500 + (v & 0x3FFF) % 64;
    default: return 12;
    }
}

/* --- chains --------------------------------------------------------------------------- */

static void fill_regions(uint8_t seed)
{
    for (size_t i = 0; i < REGION; i++) {
        rd_region[i] = (uint8_t)(i * 13 + seed);
        wr_region[i] = (uint8_t)(i * 29 + seed + 1);
    }
    rd_at = wr_at = 0;
}

static void snapshot(void)
{
    memcpy(rd_snap, rd_region, REGION);
    memcpy(wr_snap, wr_region, REGION);
}

/* The snapshot's byte for p, in either region. */
static uint8_t snap_of(const uint8_t *p)
{
    if (p >= rd_region && p < rd_region + REGION)
        return rd_snap[p - rd_region];
    CHECK(p >= wr_region && p < wr_region + REGION);
    return wr_snap[p - wr_region];
}

/* Every byte of both regions that changed is one `allowed` admits. (A flipped
 * direction can put a device-writable buffer in rd_region: both are checked
 * alike.) */
static void check_changes(bool (*allowed)(const uint8_t *p))
{
    if (memcmp(rd_region, rd_snap, REGION) != 0)
        for (size_t i = 0; i < REGION; i++)
            if (rd_region[i] != rd_snap[i])
                CHECK(allowed(rd_region + i));
    if (memcmp(wr_region, wr_snap, REGION) != 0)
        for (size_t i = 0; i < REGION; i++)
            if (wr_region[i] != wr_snap[i])
                CHECK(allowed(wr_region + i));
}

static bool nothing(const uint8_t *p)
{
    (void)p;
    return false;
}

/* One buffer of len bytes after a gap, in the region of its direction; shorter
 * (maybe empty) when the region runs out. */
static void add_seg(struct input *in, struct virtq_chain *c, uint32_t len, bool write)
{
    if (c->nseg >= MAX_SEGS)
        return;
    uint8_t *region = write ? wr_region : rd_region;
    size_t *at = write ? &wr_at : &rd_at;
    *at += byte(in) % 4;                     /* a gap */
    if (*at > REGION)
        *at = REGION;
    if (len > REGION - *at)
        len = (uint32_t)(REGION - *at);
    c->seg[c->nseg++] = (struct virtq_seg){ region + *at, len, write };
    *at += len;
    if (write)
        c->write_bytes += len;
    else {
        c->read_bytes += len;
        c->nread++;
    }
}

/* Now and then, a chain that is not what the ring promises. */
static void oddity(struct input *in, struct virtq_chain *c)
{
    uint8_t o = byte(in);
    if (o == 0xFF && c->nseg)
        c->seg[byte(in) % c->nseg].write ^= 1;
    else if (o == 0xFE)
        c->nread = c->nseg + 1;
    else if (o == 0xFD && c->nseg && c->seg[0].len)
        c->seg[0].hva = NULL;
}

static void chain_start(struct virtq_chain *c, uint16_t head)
{
    c->head = head;
    c->nseg = c->nread = 0;
    c->read_bytes = c->write_bytes = 0;
}

/* Readable buffers carrying payload[0, plen): 1..4 buffers of input lengths,
 * the last taking the rest (or, now and then, cut short or padded with region
 * bytes); then 0..3 writable buffers (fewer for the transmit queue's shape). */
static void lay_out(struct input *in, struct virtq_chain *c, const uint8_t *payload, size_t plen,
                    unsigned max_writable)
{
    uint8_t shape = byte(in);
    unsigned nread = 1 + (shape & 3);
    bool exact = (shape & 0x0C) != 0x0C;
    size_t done = 0;
    for (unsigned i = 0; i < nread; i++) {
        uint32_t len = i + 1 < nread || !exact ? length_of(in) : (uint32_t)(plen - done);
        if (len > plen - done && exact)
            len = (uint32_t)(plen - done);
        unsigned before = c->nseg;
        add_seg(in, c, len, false);
        if (c->nseg == before)
            break;
        struct virtq_seg *s = &c->seg[c->nseg - 1];
        for (uint32_t j = 0; j < s->len && done < plen; j++)
            ((uint8_t *)s->hva)[j] = payload[done++];
    }
    unsigned nwrite = (shape >> 4) % (max_writable + 1);
    for (unsigned i = 0; i < nwrite; i++)
        add_seg(in, c, byte(in) & 0x80 ? length_of(in) : 1, true);
    oddity(in, c);
}

/* The readable bytes of c, in order (at most cap). */
static size_t readable_stream(const struct virtq_chain *c, uint8_t *dst, size_t cap)
{
    size_t k = 0;
    for (unsigned i = 0; i < c->nseg && i < VIRTQ_MAX_SEGS; i++) {
        if (c->seg[i].write || !c->seg[i].hva)
            continue;
        for (uint32_t j = 0; j < c->seg[i].len && k < cap; j++)
            dst[k++] = ((const uint8_t *)c->seg[i].hva)[j];
    }
    return k;
}

/* --- state --------------------------------------------------------------------------- */

static uint64_t offered;

static void check_state(void)
{
    CHECK(n.n_uni <= VIRTIO_NET_MAC_TABLE && n.n_multi <= VIRTIO_NET_MAC_TABLE);
    CHECK(!n.uni_overflow || n.n_uni == 0);
    CHECK(!n.multi_overflow || n.n_multi == 0);
    CHECK(n.max_pairs >= 1 && n.max_pairs <= VIRTIO_NET_MAX_PAIRS);
    CHECK(n.curr_pairs >= 1 && n.curr_pairs <= n.max_pairs);
    CHECK((n.features & ~offered) == 0);
    CHECK(rq.nused <= VIRTIO_NET_RX_MAX_BUFS);
}

/* --- transmit ------------------------------------------------------------------------- */

static void op_tx(struct input *in)
{
    static uint8_t payload[PAYLOAD], stream[REGION], frame[2048 + 64];
    uint8_t mode = byte(in);
    size_t plen = VIRTIO_NET_HDR_BYTES + u16(in) % 1700;
    for (size_t i = 0; i < plen; i++)
        payload[i] = (uint8_t)(i * 7 + mode);
    memset(payload, 0, VIRTIO_NET_HDR_BYTES);
    if (mode & 1) {                           /* flags and gso_type from the input */
        payload[0] = byte(in);
        payload[1] = byte(in);
    }
    size_t cap = mode & 2 ? VIRTIO_NET_FRAME_MAX : u16(in) % 2048;

    fill_regions(mode);
    chain_start(&chain, 1);
    lay_out(in, &chain, payload, plen, mode & 4 ? 2 : 0);
    snapshot();
    size_t ref_len = readable_stream(&chain, stream, sizeof stream);
    memset(frame, 0xCD, sizeof frame);
    size_t len = 12345;
    enum virtio_net_tx_result r = virtio_net_tx(&n, &chain, frame, cap, &len);

    check_changes(nothing);
    CHECK(len <= cap);
    for (size_t i = len; i < sizeof frame; i++)
        CHECK(frame[i] == 0xCD);
    if (r == VIRTIO_NET_TX_OK) {
        CHECK(chain.nread == chain.nseg);
        CHECK(ref_len >= VIRTIO_NET_HDR_BYTES + ETH_HLEN);
        CHECK(len == ref_len - VIRTIO_NET_HDR_BYTES);
        CHECK(memcmp(frame, stream + VIRTIO_NET_HDR_BYTES, len) == 0);
        CHECK(!(stream[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) && stream[1] == VIRTIO_NET_HDR_GSO_NONE);
    } else {
        CHECK(r == VIRTIO_NET_TX_DROP || r == VIRTIO_NET_TX_BROKEN);
        CHECK(len == 0);
    }
}

/* --- receive ----------------------------------------------------------------------------- */

/* The chains popped for the frame in placement, in order. */
struct rec {
    uint16_t head;
    unsigned nseg;
    struct virtq_seg seg[MAX_SEGS];
    uint64_t cap;                            /* writable bytes */
};

static struct rec recs[MAX_RECS];
static unsigned nrec;
static uint16_t next_head;

static int pop_from_input(void *ctx, struct virtq_chain *c)
{
    struct input *in = ctx;
    if (!more(in) || nrec >= MAX_RECS)
        return 0;
    uint8_t k = byte(in);
    if (k % 16 == 0)
        return 0;                             /* none available now */
    if (k == 0xFF)
        return -1;                            /* the ring breaks */
    chain_start(c, next_head++);
    if (k % 61 == 1)                          /* a readable buffer first */
        add_seg(in, c, byte(in) % 16, false);
    unsigned nseg = 1 + (k >> 4) % 4;
    for (unsigned i = 0; i < nseg; i++)
        add_seg(in, c, length_of(in), true);
    oddity(in, c);
    struct rec *r = &recs[nrec++];
    r->head = c->head;
    r->nseg = c->nseg;
    r->cap = 0;
    for (unsigned i = 0; i < c->nseg; i++) {
        r->seg[i] = c->seg[i];
        if (c->seg[i].write)
            r->cap += c->seg[i].len;
    }
    return 1;
}

/* Is p inside a writable buffer of a chain popped for this frame? */
static bool in_popped(const uint8_t *p)
{
    for (unsigned i = 0; i < nrec; i++)
        for (unsigned j = 0; j < recs[i].nseg; j++) {
            const struct virtq_seg *s = &recs[i].seg[j];
            if (s->write && s->hva && p >= (const uint8_t *)s->hva &&
                p < (const uint8_t *)s->hva + s->len)
                return true;
        }
    return false;
}

/* Checks one answer of virtio_net_rx against the popped chains. */
static void check_rx(enum virtio_net_rx_result r, const uint8_t *frame, size_t len)
{
    static uint8_t got[REGION];
    check_changes(in_popped);
    if (r == VIRTIO_NET_RX_BROKEN)
        return;
    CHECK(rq.nused <= nrec);
    for (unsigned i = 0; i < rq.nused; i++) {
        CHECK(rq.used[i].head == recs[i].head);
        CHECK(rq.used[i].written <= recs[i].cap);
    }
    switch (r) {
    case VIRTIO_NET_RX_DELIVERED: {
        CHECK(rq.nused == nrec && !rq.held);
        CHECK(len >= ETH_HLEN && len <= VIRTIO_NET_FRAME_MAX);
        size_t k = 0;
        for (unsigned i = 0; i < rq.nused; i++) {
            uint32_t left = rq.used[i].written;
            for (unsigned j = 0; j < recs[i].nseg; j++) {
                const struct virtq_seg *s = &recs[i].seg[j];
                const uint8_t *p = s->hva;
                if (!s->write)
                    continue;
                for (uint32_t b = 0; b < s->len; b++) {
                    if (left) {
                        got[k++] = p[b];
                        left--;
                    } else {
                        CHECK(p[b] == snap_of(p + b));     /* past written: untouched */
                    }
                }
            }
            CHECK(left == 0);
        }
        CHECK(k == VIRTIO_NET_HDR_BYTES + len);
        for (unsigned i = 0; i < 10; i++)
            CHECK(got[i] == 0);
        CHECK(got[10] == (rq.nused & 0xFF) && got[11] == rq.nused >> 8);
        CHECK(memcmp(got + VIRTIO_NET_HDR_BYTES, frame, len) == 0);
        if (!(n.features & (1ull << VIRTIO_NET_F_MRG_RXBUF)))
            CHECK(rq.nused == 1);
        break;
    }
    case VIRTIO_NET_RX_DROPPED:
        CHECK(rq.nused <= 1 && rq.nused == nrec && !rq.held);
        if (rq.nused)
            CHECK(rq.used[0].written == 0);
        check_changes(nothing);
        break;
    case VIRTIO_NET_RX_WAIT:
        CHECK(rq.nused == nrec);
        CHECK(rq.held == (nrec > 0));
        break;
    default:
        CHECK(0);
    }
}

static void op_rx(struct input *in)
{
    static uint8_t frame[2048];
    uint8_t mode = byte(in);
    size_t len = u16(in) % 1600;
    for (size_t i = 0; i < len; i++)
        frame[i] = (uint8_t)(i * 11 + mode);
    static const uint8_t bcast[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    const uint8_t *dst;
    switch (mode & 3) {
    case 0: dst = n.mac; break;
    case 1: dst = bcast; break;
    case 2: dst = n.n_multi ? n.multi[byte(in) % n.n_multi] : frame + 6; break;
    default: dst = frame + 6; break;
    }
    if (len >= 6)
        memmove(frame, dst, 6);

    fill_regions(mode);
    snapshot();
    nrec = 0;
    virtio_net_rxq_reset(&rq);
    enum virtio_net_rx_result r = virtio_net_rx(&n, &rq, frame, len, pop_from_input, in);
    check_rx(r, frame, len);
    /* The same frame again while chains are held, as the device model would
     * once the driver adds buffers. */
    for (unsigned round = 0; r == VIRTIO_NET_RX_WAIT && rq.held && round < 4 && more(in); round++) {
        r = virtio_net_rx(&n, &rq, frame, len, pop_from_input, in);
        check_rx(r, frame, len);
    }
    if (rq.held)
        virtio_net_rxq_reset(&rq);            /* as a device reset would */
}

/* --- control ------------------------------------------------------------------------- */

static size_t put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return 4;
}

static uint32_t table_count(struct input *in)
{
    uint8_t b = byte(in);
    if (b == 0xFF)
        return 0xFFFFFFFFu;
    if (b == 0xFE)
        return 0x2AAAAAABu;                   /* * 6 wraps 32 bits */
    return b % 80;
}

static size_t ctrl_payload(struct input *in, uint8_t *p)
{
    uint8_t mode = byte(in);
    size_t len = 2;
    switch (mode & 3) {
    case 0:                                   /* raw */
        len = byte(in) % 48;
        for (size_t i = 0; i < len; i++)
            p[i] = byte(in);
        return len;
    case 1:                                   /* RX */
        p[0] = VIRTIO_NET_CTRL_RX;
        p[1] = byte(in) % 8;
        p[len++] = byte(in) % 3;
        break;
    case 2: {                                 /* MAC TABLE_SET */
        p[0] = VIRTIO_NET_CTRL_MAC;
        p[1] = byte(in) % 8 == 0 ? VIRTIO_NET_CTRL_MAC_ADDR_SET : VIRTIO_NET_CTRL_MAC_TABLE_SET;
        for (int t = 0; t < 2; t++) {
            uint32_t count = table_count(in);
            len += put_le32(p + len, count);
            uint8_t seed = byte(in);
            for (uint32_t i = 0; i < count && len + 6 <= PAYLOAD - 8; i++, len += 6) {
                p[len] = t ? 0x01 : 0x02;
                p[len + 1] = seed;
                p[len + 2] = (uint8_t)i;
                p[len + 3] = (uint8_t)(i >> 8);
                p[len + 4] = 0;
                p[len + 5] = (uint8_t)(i * 3);
            }
        }
        break;
    }
    default: {                                /* MQ */
        p[0] = VIRTIO_NET_CTRL_MQ;
        p[1] = byte(in) % 3;
        uint16_t v = byte(in) % 8 == 0 ? u16(in) : byte(in) % 6;
        p[len++] = (uint8_t)v;
        p[len++] = (uint8_t)(v >> 8);
        break;
    }
    }
    /* Now and then a length a little off. */
    uint8_t d = byte(in);
    if (d >= 0xF8 && len > (size_t)(d - 0xF7))
        len -= d - 0xF7;
    else if (d >= 0xF0 && d < 0xF8)
        for (unsigned i = 0; i < (unsigned)(d - 0xEF); i++)
            p[len++] = 0;
    return len;
}

static const uint8_t *ack_byte;

static bool is_ack(const uint8_t *p)
{
    return p == ack_byte;
}

static void op_ctrl(struct input *in)
{
    static uint8_t payload[PAYLOAD];
    size_t plen = ctrl_payload(in, payload);
    fill_regions((uint8_t)plen);
    chain_start(&chain, 3);
    lay_out(in, &chain, payload, plen, 3);
    snapshot();
    int r = virtio_net_ctrl(&n, &chain);

    if (r < 0) {
        CHECK(r == -1);
        check_changes(nothing);
        return;
    }
    CHECK(r == VIRTIO_NET_OK || r == VIRTIO_NET_ERR);
    ack_byte = NULL;
    for (unsigned i = 0; i < chain.nseg && !ack_byte; i++)
        if (chain.seg[i].write && chain.seg[i].len)
            ack_byte = chain.seg[i].hva;
    CHECK(ack_byte && *ack_byte == r);
    check_changes(is_ack);
}

/* --- the rest ------------------------------------------------------------------------- */

static void op_accept(struct input *in)
{
    uint8_t f[ETH_HLEN];
    size_t len = byte(in) % (ETH_HLEN + 1);
    for (size_t i = 0; i < len; i++)
        f[i] = byte(in);
    bool a = virtio_net_accept(&n, f, len);
    if (len < ETH_ALEN)
        CHECK(!a);
    else if (n.promisc)
        CHECK(a);
    else if (mac_equal(f, n.mac) && !n.nouni)
        CHECK(a);
}

/* The queue layout (5.1.2) under the features now negotiated, and the
 * configuration space. */
static void check_layout(void)
{
    unsigned total = virtio_net_num_queues(n.max_pairs), pairs = virtio_net_layout_pairs(&n);
    unsigned rx = 0, tx = 0, ctrl = 0;
    CHECK(pairs == 1 || pairs == n.max_pairs);
    for (unsigned q = 0; q < total + 2; q++) {
        unsigned pair = 999;
        switch (virtio_net_queue_kind(&n, q, &pair)) {
        case VIRTIO_NET_Q_RX: CHECK(pair == rx && q == 2 * pair); rx++; break;
        case VIRTIO_NET_Q_TX: CHECK(pair == tx && q == 2 * pair + 1); tx++; break;
        case VIRTIO_NET_Q_CTRL: CHECK(q == 2 * pairs); ctrl++; break;
        default: CHECK(q >= 2 * pairs); break;
        }
    }
    CHECK(rx == pairs && tx == pairs && 2 * pairs + 1 <= total);
    CHECK(ctrl == !!(n.features & (1ull << VIRTIO_NET_F_CTRL_VQ)));
    struct virtio_net_config cfg;
    virtio_net_fill_config(&n, &cfg);
    CHECK(memcmp(cfg.mac, n.mac, ETH_ALEN) == 0 && cfg.max_virtqueue_pairs == n.max_pairs);
    CHECK(mac_is_valid_station(cfg.mac));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, data + size };
    uint8_t mac[ETH_ALEN];
    mac_default("fuzz", byte(&in), mac);
    virtio_net_init(&n, mac, byte(&in) % 6);
    offered = virtio_net_device_features(n.max_pairs);
    virtio_net_set_features(&n, (uint64_t)u16(&in) << 8 | byte(&in));
    virtio_net_rxq_reset(&rq);
    next_head = 0;
    check_state();

    while (more(&in)) {
        uint8_t op = byte(&in);
        switch (op % 8) {
        case 0: case 1: op_tx(&in); break;
        case 2: case 3: op_rx(&in); break;
        case 4: case 5: op_ctrl(&in); break;
        case 6: op_accept(&in); break;
        default:
            if (op & 0x80) {
                virtio_net_reset(&n);
                virtio_net_rxq_reset(&rq);
            }
            virtio_net_set_features(&n, (uint64_t)u16(&in) << 8 | byte(&in));
            check_layout();
            break;
        }
        check_state();
    }
    return 0;
}
