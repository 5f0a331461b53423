/* The virtio-net device layer: see dev/virtio_net.h for the rules it follows. */
#include "dev/virtio_net.h"

#include "dev/virtio_pci.h"

#define BIT(f) (1ull << (f))

_Static_assert(sizeof(struct virtio_net_hdr_v1) == VIRTIO_NET_HDR_BYTES &&
               offsetof(struct virtio_net_hdr_v1, num_buffers) == 10,
               "the header of 5.1.6 with VIRTIO_F_VERSION_1");
_Static_assert(sizeof(struct virtio_net_ctrl_hdr) == VIRTIO_NET_CTRL_HDR_BYTES,
               "the control header of 5.1.6.5");
_Static_assert(2 * VIRTIO_NET_MAX_PAIRS + 1 <= VIRTIO_MAX_QUEUES,
               "every queue of the largest NIC fits the transport");
_Static_assert((VIRTIO_NET_HDR_BYTES + VIRTIO_NET_FRAME_MAX + VIRTIO_NET_HDR_BYTES - 1) /
                       VIRTIO_NET_HDR_BYTES <= VIRTIO_NET_RX_MAX_BUFS,
               "a largest frame in chains of 12 bytes fits rq->used");
_Static_assert(VIRTIO_NET_RX_MAX_BUFS <= 0xFFFF, "num_buffers is a le16");
_Static_assert(VIRTIO_NET_MAC_TABLE * (uint64_t)ETH_ALEN < VIRTQ_MAX_CHAIN_BYTES,
               "a full table fits a chain");

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}

/* --- chains --------------------------------------------------------------------- */

static void mark_broken(struct virtio_net *n, const char *why)
{
    n->broken = why;
    n->counters.broken++;
}

/* Reads through the device-readable buffers of a chain, each guest byte once. */
struct cursor {
    const struct virtq_chain *c;
    unsigned seg;             /* the current segment, < c->nread while bytes remain */
    uint32_t off;             /* within it */
};

static void cursor_init(struct cursor *k, const struct virtq_chain *c)
{
    k->c = c;
    k->seg = 0;
    k->off = 0;
}

/* Copies n bytes (the caller checked they are there) into dst, or skips them
 * when dst is NULL. */
static void cursor_take(struct cursor *k, uint8_t *dst, uint64_t n)
{
    while (n && k->seg < k->c->nread) {
        const struct virtq_seg *s = &k->c->seg[k->seg];
        uint32_t avail = s->len - k->off;
        if (avail == 0) {
            k->seg++;
            k->off = 0;
            continue;
        }
        uint32_t take = n < avail ? (uint32_t)n : avail;
        if (dst) {
            const volatile uint8_t *src = (const uint8_t *)s->hva + k->off;
            for (uint32_t i = 0; i < take; i++)
                *dst++ = src[i];
        }
        k->off += take;
        n -= take;
    }
}

/* The first device-writable byte (the control queue's ack), NULL if none. */
static uint8_t *first_writable_byte(const struct virtq_chain *c)
{
    for (unsigned i = c->nread; i < c->nseg; i++) {
        if (c->seg[i].len)
            return c->seg[i].hva;
    }
    return NULL;
}

/* --- state, features, configuration -------------------------------------------- */

void virtio_net_reset(struct virtio_net *n)
{
    n->features = 0;
    n->curr_pairs = 1;                       /* 5.1.6.5.5: one pair until VQ_PAIRS_SET */
    n->promisc = true;                       /* QEMU's virtio_net_reset: "for compatibility" */
    n->allmulti = n->alluni = n->nomulti = n->nouni = n->nobcast = false;
    n->uni_overflow = n->multi_overflow = false;
    n->n_uni = n->n_multi = 0;               /* 5.1.6.5.2.1: empty on reset */
    for (unsigned i = 0; i < VIRTIO_NET_MAC_TABLE; i++) {
        for (unsigned j = 0; j < ETH_ALEN; j++)
            n->uni[i][j] = n->multi[i][j] = 0;
    }
    n->broken = NULL;
}

void virtio_net_init(struct virtio_net *n, const uint8_t mac[ETH_ALEN], uint16_t max_pairs)
{
    copy_bytes(n->mac, mac, ETH_ALEN);
    if (max_pairs < 1)
        max_pairs = 1;
    if (max_pairs > VIRTIO_NET_MAX_PAIRS)
        max_pairs = VIRTIO_NET_MAX_PAIRS;
    n->max_pairs = max_pairs;
    n->link_up = true;
    n->counters = (struct virtio_net_counters){ 0 };
    virtio_net_reset(n);
}

uint64_t virtio_net_device_features(uint16_t max_pairs)
{
    uint64_t f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_STATUS) |
                 BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) |
                 BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_RX_EXTRA);
    if (max_pairs > 1)
        f |= BIT(VIRTIO_NET_F_MQ);
    return f;
}

bool virtio_net_set_features(struct virtio_net *n, uint64_t features)
{
    const uint64_t needs_vq = BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_RX_EXTRA) |
                              BIT(VIRTIO_NET_F_MQ);
    uint64_t f = features & virtio_net_device_features(n->max_pairs);
    bool ok = true;
    if (!(f & BIT(VIRTIO_NET_F_CTRL_VQ)) && (f & needs_vq)) {
        ok = false;
        f &= ~needs_vq;
    }
    if ((f & BIT(VIRTIO_NET_F_CTRL_RX_EXTRA)) && !(f & BIT(VIRTIO_NET_F_CTRL_RX))) {
        ok = false;
        f &= ~BIT(VIRTIO_NET_F_CTRL_RX_EXTRA);
    }
    n->features = f;
    return ok;
}

void virtio_net_fill_config(const struct virtio_net *n, struct virtio_net_config *cfg)
{
    uint8_t *p = (uint8_t *)cfg;
    for (size_t i = 0; i < sizeof *cfg; i++)
        p[i] = 0;
    copy_bytes(cfg->mac, n->mac, ETH_ALEN);
    cfg->status = n->link_up ? VIRTIO_NET_S_LINK_UP : 0;
    cfg->max_virtqueue_pairs = n->max_pairs;
    cfg->mtu = VIRTIO_NET_MTU;
    cfg->speed = 0xFFFFFFFFu;                /* 5.1.4: above INT_MAX is "unknown" */
    cfg->duplex = 0xFF;                      /* neither 0 nor 1: "unknown" */
}

/* --- queues ------------------------------------------------------------------------ */

unsigned virtio_net_num_queues(uint16_t max_pairs)
{
    return 2u * max_pairs + 1;
}

unsigned virtio_net_layout_pairs(const struct virtio_net *n)
{
    return n->features & BIT(VIRTIO_NET_F_MQ) ? n->max_pairs : 1;
}

enum virtio_net_queue_kind virtio_net_queue_kind(const struct virtio_net *n, unsigned index,
                                                 unsigned *pair)
{
    unsigned pairs = virtio_net_layout_pairs(n);
    if (index < 2 * pairs) {
        if (pair)
            *pair = index / 2;
        return index % 2 ? VIRTIO_NET_Q_TX : VIRTIO_NET_Q_RX;
    }
    if (index == 2 * pairs && (n->features & BIT(VIRTIO_NET_F_CTRL_VQ)))
        return VIRTIO_NET_Q_CTRL;
    return VIRTIO_NET_Q_NONE;
}

/* --- transmit ------------------------------------------------------------------- */

enum virtio_net_tx_result virtio_net_tx(struct virtio_net *n, const struct virtq_chain *c,
                                        uint8_t *frame, size_t cap, size_t *len)
{
    struct virtio_net_counters *k = &n->counters;
    uint64_t rd = 0, wr = 0;
    *len = 0;
    const char *why = virtq_chain_check(c, &rd, &wr);
    if (!why && c->nread != c->nseg)
        why = "virtio-net: a device-writable buffer in a transmit chain (5.1.6.2)";
    if (!why && rd < VIRTIO_NET_HDR_BYTES)
        why = "virtio-net: fewer than 12 bytes in a transmit chain, no header (5.1.6)";
    if (why) {
        mark_broken(n, why);
        return VIRTIO_NET_TX_BROKEN;
    }

    struct cursor cur;
    uint8_t hdr[VIRTIO_NET_HDR_BYTES];
    cursor_init(&cur, c);
    cursor_take(&cur, hdr, sizeof hdr);
    uint8_t flags = hdr[offsetof(struct virtio_net_hdr_v1, flags)];
    uint8_t gso = hdr[offsetof(struct virtio_net_hdr_v1, gso_type)];
    uint64_t frame_len = rd - VIRTIO_NET_HDR_BYTES;

    /* 5.1.6.2.1: NEEDS_CSUM only with CSUM, a gso_type only with a HOST_ offload,
     * neither ever offered: the frame is not finished, nobody would finish it. */
    if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || gso != VIRTIO_NET_HDR_GSO_NONE) {
        k->tx_drop_offload++;
        return VIRTIO_NET_TX_DROP;
    }
    if (frame_len < ETH_HLEN) {
        k->tx_drop_runt++;
        return VIRTIO_NET_TX_DROP;
    }
    if (frame_len > cap) {
        k->tx_drop_oversize++;
        return VIRTIO_NET_TX_DROP;
    }
    cursor_take(&cur, frame, frame_len);
    *len = (size_t)frame_len;
    k->tx_frames++;
    k->tx_bytes += frame_len;
    return VIRTIO_NET_TX_OK;
}

/* --- receive filter ---------------------------------------------------------------- */

static bool in_table(const uint8_t (*table)[ETH_ALEN], unsigned n, const uint8_t *mac)
{
    if (n > VIRTIO_NET_MAC_TABLE)
        n = VIRTIO_NET_MAC_TABLE;
    for (unsigned i = 0; i < n; i++) {
        if (mac_equal(table[i], mac))
            return true;
    }
    return false;
}

bool virtio_net_accept(const struct virtio_net *n, const uint8_t *frame, size_t len)
{
    if (len < ETH_ALEN)
        return false;
    if (n->promisc)
        return true;
    const uint8_t *dst = frame;
    if (mac_is_multicast(dst)) {
        if (mac_is_broadcast(dst))
            return !n->nobcast;
        if (n->nomulti)
            return false;
        if (n->allmulti || n->multi_overflow)
            return true;
        return in_table(n->multi, n->n_multi, dst);
    }
    if (n->nouni)
        return false;
    if (n->alluni || n->uni_overflow)
        return true;
    return mac_equal(dst, n->mac) || in_table(n->uni, n->n_uni, dst);
}

/* --- receive ------------------------------------------------------------------------ */

void virtio_net_rxq_reset(struct virtio_net_rxq *rq)
{
    rq->nused = 0;
    rq->held = false;
    rq->frame_len = rq->placed = 0;
    rq->num_buffers[0] = rq->num_buffers[1] = NULL;
}

/* Byte i of what a receive buffer gets: the header, then the frame. */
static uint8_t stream_byte(const uint8_t *hdr, const uint8_t *frame, size_t i)
{
    return i < VIRTIO_NET_HDR_BYTES ? hdr[i] : frame[i - VIRTIO_NET_HDR_BYTES];
}

/* Fills the writable buffers of rq->chain with the stream from rq->placed on,
 * remembering where the header's num_buffers lands; returns the bytes written. */
static uint32_t fill_chain(struct virtio_net_rxq *rq, const uint8_t *hdr, const uint8_t *frame,
                           size_t total)
{
    const struct virtq_chain *c = &rq->chain;
    const size_t nb = offsetof(struct virtio_net_hdr_v1, num_buffers);
    uint32_t written = 0;
    for (unsigned i = c->nread; i < c->nseg && rq->placed < total; i++) {
        uint8_t *dst = c->seg[i].hva;
        for (uint32_t j = 0; j < c->seg[i].len && rq->placed < total; j++) {
            size_t at = rq->placed++;
            if (at == nb || at == nb + 1)
                rq->num_buffers[at - nb] = dst + j;
            dst[j] = stream_byte(hdr, frame, at);
            written++;
        }
    }
    return written;
}

enum virtio_net_rx_result virtio_net_rx(struct virtio_net *n, struct virtio_net_rxq *rq,
                                        const uint8_t *frame, size_t len,
                                        int (*next_chain)(void *ctx, struct virtq_chain *c),
                                        void *ctx)
{
    struct virtio_net_counters *k = &n->counters;
    bool mrg = n->features & BIT(VIRTIO_NET_F_MRG_RXBUF);
    /* All zero but num_buffers, written once its value is known: no offload
     * (flags 0: no DATA_VALID without GUEST_CSUM; GSO_NONE). */
    const uint8_t hdr[VIRTIO_NET_HDR_BYTES] = { 0 };

    if (rq->held) {
        if (len != rq->frame_len) {
            mark_broken(n, "virtio-net: receive resumed with another frame (the caller's bug)");
            return VIRTIO_NET_RX_BROKEN;
        }
    } else {
        virtio_net_rxq_reset(rq);
        if (len < ETH_HLEN || len > VIRTIO_NET_FRAME_MAX) {
            k->rx_drop_bad_frame++;
            return VIRTIO_NET_RX_DROPPED;
        }
        if (!virtio_net_accept(n, frame, len)) {
            k->rx_drop_filtered++;
            return VIRTIO_NET_RX_DROPPED;
        }
        rq->frame_len = len;
    }
    size_t total = VIRTIO_NET_HDR_BYTES + len;

    while (rq->placed < total) {
        /* Cannot happen (a chain takes 12 bytes at least, see the assertion on
         * VIRTIO_NET_RX_MAX_BUFS); if it did, the chains would go back empty. */
        if (rq->nused == VIRTIO_NET_RX_MAX_BUFS) {
            for (unsigned i = 0; i < rq->nused; i++)
                rq->used[i].written = 0;
            rq->held = false;
            k->rx_drop_too_small++;
            return VIRTIO_NET_RX_DROPPED;
        }
        int got = next_chain(ctx, &rq->chain);
        if (got < 0) {
            rq->held = false;
            mark_broken(n, "virtio-net: receive ring broken (see the queue's error)");
            return VIRTIO_NET_RX_BROKEN;
        }
        if (got == 0) {
            rq->held = rq->nused > 0;
            k->rx_no_buffer++;
            return VIRTIO_NET_RX_WAIT;
        }
        uint64_t rd = 0, wr = 0;
        const char *why = virtq_chain_check(&rq->chain, &rd, &wr);
        if (!why && rd)
            why = "virtio-net: a device-readable buffer in a receive chain (5.1.6.3)";
        if (!why && mrg && wr < VIRTIO_NET_HDR_BYTES)
            why = "virtio-net: a receive buffer smaller than the header with MRG_RXBUF (5.1.6.3.1)";
        if (why) {
            rq->held = false;
            mark_broken(n, why);
            return VIRTIO_NET_RX_BROKEN;
        }
        if (!mrg && wr < total) {
            /* 5.1.6.3.1 only says SHOULD: drop the frame, the buffer goes back empty. */
            rq->used[0] = (struct virtio_net_rx_used){ rq->chain.head, 0 };
            rq->nused = 1;
            k->rx_drop_too_small++;
            return VIRTIO_NET_RX_DROPPED;
        }
        uint32_t written = fill_chain(rq, hdr, frame, total);
        rq->used[rq->nused++] = (struct virtio_net_rx_used){ rq->chain.head, written };
    }

    /* 5.1.6.4: num_buffers, the chains the frame spans (1 without MRG_RXBUF). */
    rq->num_buffers[0][0] = (uint8_t)rq->nused;
    rq->num_buffers[1][0] = (uint8_t)(rq->nused >> 8);
    rq->held = false;
    k->rx_frames++;
    k->rx_bytes += len;
    return VIRTIO_NET_RX_DELIVERED;
}

/* --- control queue -------------------------------------------------------------------- */

static uint8_t ctrl_rx(struct virtio_net *n, uint8_t cmd, struct cursor *cur, uint64_t data)
{
    if (!(n->features & BIT(VIRTIO_NET_F_CTRL_RX)))
        return VIRTIO_NET_ERR;
    if (cmd > VIRTIO_NET_CTRL_RX_NOBCAST)
        return VIRTIO_NET_ERR;
    if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI && !(n->features & BIT(VIRTIO_NET_F_CTRL_RX_EXTRA)))
        return VIRTIO_NET_ERR;
    if (data != 1)
        return VIRTIO_NET_ERR;
    uint8_t on;
    cursor_take(cur, &on, 1);
    if (on > 1)
        return VIRTIO_NET_ERR;
    switch (cmd) {
    case VIRTIO_NET_CTRL_RX_PROMISC:  n->promisc = on; break;
    case VIRTIO_NET_CTRL_RX_ALLMULTI: n->allmulti = on; break;
    case VIRTIO_NET_CTRL_RX_ALLUNI:   n->alluni = on; break;
    case VIRTIO_NET_CTRL_RX_NOMULTI:  n->nomulti = on; break;
    case VIRTIO_NET_CTRL_RX_NOUNI:    n->nouni = on; break;
    default:                          n->nobcast = on; break;
    }
    return VIRTIO_NET_OK;
}

/* One struct virtio_net_ctrl_mac of TABLE_SET out of *left bytes: the entries
 * into table (at most VIRTIO_NET_MAC_TABLE) or *overflow. last: the table must
 * end the data exactly. False if the lengths do not add up. */
static bool read_mac_table(struct cursor *cur, uint64_t *left, bool last,
                           uint8_t (*table)[ETH_ALEN], unsigned *count, bool *overflow)
{
    uint8_t raw[4];
    if (*left < sizeof raw)
        return false;
    cursor_take(cur, raw, sizeof raw);
    *left -= sizeof raw;
    uint64_t entries = le32(raw);
    uint64_t bytes = entries * ETH_ALEN;         /* < 2^35: no wrap-around */
    if (last ? bytes != *left : bytes > *left)
        return false;
    if (entries <= VIRTIO_NET_MAC_TABLE) {
        cursor_take(cur, &table[0][0], bytes);
        *count = (unsigned)entries;
        *overflow = false;
    } else {
        cursor_take(cur, NULL, bytes);
        *count = 0;
        *overflow = true;
    }
    *left -= bytes;
    return true;
}

static uint8_t ctrl_mac(struct virtio_net *n, uint8_t cmd, struct cursor *cur, uint64_t data)
{
    /* ADDR_SET needs CTRL_MAC_ADDR, never offered: the address is the host's. */
    if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET || !(n->features & BIT(VIRTIO_NET_F_CTRL_RX)))
        return VIRTIO_NET_ERR;
    uint8_t uni[VIRTIO_NET_MAC_TABLE][ETH_ALEN], multi[VIRTIO_NET_MAC_TABLE][ETH_ALEN];
    unsigned n_uni, n_multi;
    bool uni_over, multi_over;
    uint64_t left = data;
    if (!read_mac_table(cur, &left, false, uni, &n_uni, &uni_over) ||
        !read_mac_table(cur, &left, true, multi, &n_multi, &multi_over))
        return VIRTIO_NET_ERR;
    /* All of it valid: the new tables replace the old ones (5.1.6.5.2.1). */
    copy_bytes(&n->uni[0][0], &uni[0][0], (size_t)n_uni * ETH_ALEN);
    copy_bytes(&n->multi[0][0], &multi[0][0], (size_t)n_multi * ETH_ALEN);
    n->n_uni = n_uni;
    n->n_multi = n_multi;
    n->uni_overflow = uni_over;
    n->multi_overflow = multi_over;
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mq(struct virtio_net *n, uint8_t cmd, struct cursor *cur, uint64_t data)
{
    if (!(n->features & BIT(VIRTIO_NET_F_MQ)) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
        data != sizeof(struct virtio_net_ctrl_mq))
        return VIRTIO_NET_ERR;
    uint8_t raw[2];
    cursor_take(cur, raw, sizeof raw);
    uint16_t pairs = le16(raw);
    if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > n->max_pairs)
        return VIRTIO_NET_ERR;
    n->curr_pairs = pairs;
    return VIRTIO_NET_OK;
}

int virtio_net_ctrl(struct virtio_net *n, const struct virtq_chain *c)
{
    uint64_t rd = 0, wr = 0;
    const char *why = virtq_chain_check(c, &rd, &wr);
    if (!why && rd < VIRTIO_NET_CTRL_HDR_BYTES)
        why = "virtio-net: fewer than 2 device-readable bytes, no control header (5.1.6.5)";
    if (!why && wr == 0)
        why = "virtio-net: no device-writable byte for the control ack (5.1.6.5)";
    if (why) {
        mark_broken(n, why);
        return -1;
    }

    struct cursor cur;
    uint8_t hdr[VIRTIO_NET_CTRL_HDR_BYTES];
    cursor_init(&cur, c);
    cursor_take(&cur, hdr, sizeof hdr);
    uint8_t cls = hdr[offsetof(struct virtio_net_ctrl_hdr, class)];
    uint8_t cmd = hdr[offsetof(struct virtio_net_ctrl_hdr, cmd)];
    uint64_t data = rd - VIRTIO_NET_CTRL_HDR_BYTES;
    uint8_t ack;
    switch (cls) {
    case VIRTIO_NET_CTRL_RX:  ack = ctrl_rx(n, cmd, &cur, data); break;
    case VIRTIO_NET_CTRL_MAC: ack = ctrl_mac(n, cmd, &cur, data); break;
    case VIRTIO_NET_CTRL_MQ:  ack = ctrl_mq(n, cmd, &cur, data); break;
    default:                  ack = VIRTIO_NET_ERR; break;
    }
    *first_writable_byte(c) = ack;
    if (ack == VIRTIO_NET_OK)
        n->counters.ctrl_ok++;
    else
        n->counters.ctrl_err++;
    return ack;
}
