/* The virtio-blk request layer: see dev/virtio_blk.h for the rules it follows. */
#include "dev/virtio_blk.h"

#include <stddef.h>

_Static_assert(VIRTIO_BLK_MAX_DISCARD_SEG <= VIRTIO_BLK_MAX_DWZ_SEGS &&
               VIRTIO_BLK_MAX_WRITE_ZEROES_SEG <= VIRTIO_BLK_MAX_DWZ_SEGS,
               "req->range holds the segments of either");
_Static_assert(sizeof(struct virtio_blk_outhdr) == VIRTIO_BLK_HDR_BYTES &&
               sizeof(struct virtio_blk_discard_write_zeroes) == VIRTIO_BLK_DWZ_BYTES,
               "the layouts of 5.2.6");

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Little-endian fields (virtio 1.2, 1.4: "le32", "le64"), from bytes. */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* --- the chain's bytes ------------------------------------------------------ */

/* Fills buf with the bytes [skip, skip + len) of segments [first, end) of c, as
 * many buffers as it takes (at most end - first); returns how many. */
static unsigned span_bufs(const struct virtq_chain *c, unsigned first, unsigned end,
                          uint64_t skip, uint64_t len, struct blk_buf *buf)
{
    unsigned n = 0;
    for (unsigned i = first; i < end && len; i++) {
        uint64_t seg_len = c->seg[i].len;
        if (skip >= seg_len) {
            skip -= seg_len;
            continue;
        }
        uint64_t take = min_u64(seg_len - skip, len);
        buf[n].p = (uint8_t *)c->seg[i].hva + skip;
        buf[n].len = (uint32_t)take;
        n++;
        len -= take;
        skip = 0;
    }
    return n;
}

/* Copies the bytes of buf[0..n) out (each guest byte read once). */
static void gather(const struct blk_buf *buf, unsigned n, uint8_t *dst)
{
    for (unsigned i = 0; i < n; i++) {
        const volatile uint8_t *src = buf[i].p;
        for (uint32_t j = 0; j < buf[i].len; j++)
            *dst++ = src[j];
    }
}

/* Copies src into buf[0..n). */
static void scatter(const struct blk_buf *buf, unsigned n, const uint8_t *src)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t *dst = buf[i].p;
        for (uint32_t j = 0; j < buf[i].len; j++)
            dst[j] = *src++;
    }
}

/* The rules dev/virtio_ring.h promises of a popped chain, and the two this layer
 * needs (5.2.6: a header, a status byte); NULL if it keeps them all. */
static const char *chain_broken(const struct virtq_chain *c, uint64_t *read_bytes,
                                uint64_t *write_bytes)
{
    uint64_t rd, wr;
    const char *why = virtq_chain_check(c, &rd, &wr);
    if (why)
        return why;
    if (rd < VIRTIO_BLK_HDR_BYTES)
        return "virtio-blk: fewer than 16 device-readable bytes, no request header (5.2.6)";
    if (wr == 0)
        return "virtio-blk: no device-writable byte for the status (5.2.6)";
    *read_bytes = rd;
    *write_bytes = wr;
    return NULL;
}

/* --- completion ------------------------------------------------------------- */

static void finish(struct virtio_blk_req *req, uint8_t status)
{
    struct virtio_blk_counters *k = &req->vb->counters;
    if (status == VIRTIO_BLK_S_OK) {
        switch (req->hdr.type) {
        case VIRTIO_BLK_T_IN:
            k->bytes_read += req->data_bytes;
            req->written += req->data_bytes;      /* the data, before the status */
            break;
        case VIRTIO_BLK_T_OUT:
            k->bytes_written += req->data_bytes;
            break;
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES:
            for (unsigned i = 0; i < req->nrange; i++) {
                if (req->hdr.type == VIRTIO_BLK_T_DISCARD)
                    k->sectors_discarded += req->range[i].num_sectors;
                else
                    k->sectors_zeroed += req->range[i].num_sectors;
            }
            break;
        }
    }
    *req->status = status;
    req->written += 1;
    req->done = true;
    if (!req->submitting && req->vb->complete)
        req->vb->complete(req->vb->complete_ctx, req);
}

static void submit_range(struct virtio_blk_req *req);

static void io_done(struct blk_io *io, enum blk_status status)
{
    struct virtio_blk_req *req = io->owner;
    struct virtio_blk_counters *k = &req->vb->counters;
    switch (status) {
    case BLK_OK:
        /* DISCARD / WRITE_ZEROES: one blk_io per segment, in order. */
        if (req->next_range < req->nrange) {
            submit_range(req);
            return;
        }
        finish(req, VIRTIO_BLK_S_OK);
        return;
    case BLK_UNSUPP:
        k->backend_unsupp++;
        finish(req, VIRTIO_BLK_S_UNSUPP);
        return;
    default:
        k->backend_ioerr++;
        finish(req, VIRTIO_BLK_S_IOERR);
        return;
    }
}

static void submit(struct virtio_blk_req *req, enum blk_op op, uint64_t sector,
                   uint64_t nsectors, unsigned nbuf)
{
    const struct blk_disk *disk = req->vb->disk;
    req->io = (struct blk_io){
        .op = op, .sector = sector, .nsectors = nsectors,
        .buf = req->buf, .nbuf = nbuf, .done = io_done, .owner = req,
    };
    disk->ops->submit(disk->backend, &req->io);
}

static void submit_range(struct virtio_blk_req *req)
{
    const struct virtio_blk_discard_write_zeroes *r = &req->range[req->next_range++];
    submit(req, req->hdr.type == VIRTIO_BLK_T_DISCARD ? BLK_DISCARD : BLK_WRITE_ZEROES,
           r->sector, r->num_sectors, 0);
}

/* --- the request types (5.2.6) ----------------------------------------------- */

/* [sector, sector + nsectors) inside the disk, without wrapping around. */
static bool in_range(const struct blk_disk *disk, uint64_t sector, uint64_t nsectors)
{
    return sector <= disk->capacity && nsectors <= disk->capacity - sector;
}

/* IN or OUT over data_bytes of buffers already in req->buf: a status byte if
 * the request is refused, else 0 once submitted. */
static uint8_t read_write(struct virtio_blk_req *req, enum blk_op op, unsigned nbuf)
{
    struct virtio_blk_counters *k = &req->vb->counters;
    if (req->data_bytes % BLK_SECTOR_SIZE) {
        k->bad_length++;
        return VIRTIO_BLK_S_IOERR;
    }
    uint64_t nsectors = req->data_bytes / BLK_SECTOR_SIZE;
    if (!in_range(req->vb->disk, req->hdr.sector, nsectors)) {
        k->out_of_range++;
        return VIRTIO_BLK_S_IOERR;
    }
    submit(req, op, req->hdr.sector, nsectors, nbuf);
    return 0;
}

/* DISCARD or WRITE_ZEROES with data_bytes of segments after the header. */
static uint8_t discard_write_zeroes(struct virtio_blk_req *req, const struct virtq_chain *c,
                                    uint64_t data_bytes)
{
    struct virtio_blk_counters *k = &req->vb->counters;
    bool discard = req->hdr.type == VIRTIO_BLK_T_DISCARD;
    uint32_t max_sectors = discard ? VIRTIO_BLK_MAX_DISCARD_SECTORS
                                   : VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS;
    uint32_t max_segs = discard ? VIRTIO_BLK_MAX_DISCARD_SEG : VIRTIO_BLK_MAX_WRITE_ZEROES_SEG;
    /* Not a flag the spec lets this type carry (5.2.6.2). */
    uint32_t refused_flags = discard ? ~0u : ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

    if (data_bytes == 0 || data_bytes % VIRTIO_BLK_DWZ_BYTES ||
        data_bytes / VIRTIO_BLK_DWZ_BYTES > max_segs) {
        k->bad_length++;
        return VIRTIO_BLK_S_IOERR;
    }
    uint8_t raw[VIRTIO_BLK_MAX_DWZ_SEGS * VIRTIO_BLK_DWZ_BYTES];
    unsigned nbuf = span_bufs(c, 0, c->nread, VIRTIO_BLK_HDR_BYTES, data_bytes, req->buf);
    gather(req->buf, nbuf, raw);
    req->nrange = (unsigned)(data_bytes / VIRTIO_BLK_DWZ_BYTES);
    for (unsigned i = 0; i < req->nrange; i++) {
        const uint8_t *p = raw + i * VIRTIO_BLK_DWZ_BYTES;
        req->range[i].sector = le64(p);
        req->range[i].num_sectors = le32(p + 8);
        req->range[i].flags = le32(p + 12);
    }
    /* Flags over every segment first: UNSUPP is a MUST whatever else is wrong. */
    for (unsigned i = 0; i < req->nrange; i++) {
        if (req->range[i].flags & refused_flags) {
            k->bad_flags++;
            return VIRTIO_BLK_S_UNSUPP;
        }
    }
    for (unsigned i = 0; i < req->nrange; i++) {
        if (req->range[i].num_sectors > max_sectors ||
            !in_range(req->vb->disk, req->range[i].sector, req->range[i].num_sectors)) {
            k->out_of_range++;
            return VIRTIO_BLK_S_IOERR;
        }
    }
    req->next_range = 0;
    submit_range(req);
    return 0;
}

/* GET_ID: the ID's first bytes into the writable data, zero-padded. */
static uint8_t get_id(struct virtio_blk_req *req, const struct virtq_chain *c,
                      uint64_t data_bytes)
{
    uint8_t id[VIRTIO_BLK_ID_BYTES];
    const char *s = req->vb->id;
    for (unsigned i = 0; i < VIRTIO_BLK_ID_BYTES; i++) {
        id[i] = s && *s ? (uint8_t)*s++ : 0;
    }
    uint64_t n = min_u64(data_bytes, VIRTIO_BLK_ID_BYTES);
    unsigned nbuf = span_bufs(c, c->nread, c->nseg, 0, n, req->buf);
    scatter(req->buf, nbuf, id);
    req->written = (uint32_t)n;
    return VIRTIO_BLK_S_OK;
}

/* --- the entry points ---------------------------------------------------------- */

void virtio_blk_init(struct virtio_blk *vb, const struct blk_disk *disk, const char *id)
{
    vb->disk = disk;
    vb->id = id;
    vb->complete = NULL;
    vb->complete_ctx = NULL;
    vb->counters = (struct virtio_blk_counters){ 0 };
}

enum virtio_blk_result virtio_blk_process(struct virtio_blk *vb, const struct virtq_chain *c,
                                          struct virtio_blk_req *req)
{
    struct virtio_blk_counters *k = &vb->counters;
    uint64_t read_bytes = 0, write_bytes = 0;

    req->vb = vb;
    req->head = c->head;
    req->hdr = (struct virtio_blk_outhdr){ 0 };
    req->status = NULL;
    req->written = 0;
    req->data_bytes = 0;
    req->done = false;
    req->submitting = false;
    req->nrange = req->next_range = 0;
    req->broken = chain_broken(c, &read_bytes, &write_bytes);
    if (req->broken) {
        k->broken++;
        return VIRTIO_BLK_REQ_BROKEN;
    }

    /* The status: the last writable byte (5.2.6), in the last non-empty buffer. */
    for (unsigned i = c->nseg; i-- > c->nread;) {
        if (c->seg[i].len) {
            req->status = (uint8_t *)c->seg[i].hva + c->seg[i].len - 1;
            break;
        }
    }
    /* The header, wherever the readable buffers split it; read once. */
    uint8_t hdr[VIRTIO_BLK_HDR_BYTES];
    gather(req->buf, span_bufs(c, 0, c->nread, 0, sizeof hdr, req->buf), hdr);
    req->hdr.type = le32(hdr);
    req->hdr.ioprio = le32(hdr + 4);
    req->hdr.sector = le64(hdr + 8);

    uint64_t out_data = read_bytes - VIRTIO_BLK_HDR_BYTES;   /* after the header */
    uint64_t in_data = write_bytes - 1;                      /* before the status */
    bool read_only = vb->disk->read_only;
    uint8_t refused = 0;
    req->submitting = true;
    switch (req->hdr.type) {
    case VIRTIO_BLK_T_IN:
        k->in++;
        req->data_bytes = (uint32_t)in_data;
        refused = read_write(req, BLK_READ,
                             span_bufs(c, c->nread, c->nseg, 0, in_data, req->buf));
        break;
    case VIRTIO_BLK_T_OUT:
        k->out++;
        if (read_only) {
            k->read_only++;
            refused = VIRTIO_BLK_S_IOERR;       /* 5.2.6.2, before any data */
            break;
        }
        req->data_bytes = (uint32_t)out_data;
        refused = read_write(req, BLK_WRITE,
                             span_bufs(c, 0, c->nread, VIRTIO_BLK_HDR_BYTES, out_data, req->buf));
        break;
    case VIRTIO_BLK_T_FLUSH:
        k->flush++;
        submit(req, BLK_FLUSH, 0, 0, 0);
        break;
    case VIRTIO_BLK_T_GET_ID:
        k->get_id++;
        finish(req, get_id(req, c, in_data));
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (req->hdr.type == VIRTIO_BLK_T_DISCARD)
            k->discard++;
        else
            k->write_zeroes++;
        if (read_only) {
            k->read_only++;
            refused = VIRTIO_BLK_S_IOERR;
            break;
        }
        refused = discard_write_zeroes(req, c, out_data);
        break;
    default:
        k->unknown++;
        refused = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    if (refused)
        finish(req, refused);
    req->submitting = false;
    return req->done ? VIRTIO_BLK_REQ_DONE : VIRTIO_BLK_REQ_PENDING;
}

uint64_t virtio_blk_device_features(const struct blk_disk *disk)
{
    uint64_t f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_MQ;
    if (disk->read_only)
        f |= 1ull << VIRTIO_BLK_F_RO;
    else
        f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
    return f;
}

void virtio_blk_fill_config(const struct blk_disk *disk, uint16_t num_queues,
                            struct virtio_blk_config *cfg)
{
    uint8_t *p = (uint8_t *)cfg;
    for (size_t i = 0; i < sizeof *cfg; i++)
        p[i] = 0;
    cfg->capacity = disk->capacity;
    cfg->seg_max = VIRTIO_BLK_SEG_MAX;
    cfg->blk_size = BLK_SECTOR_SIZE;
    cfg->num_queues = num_queues;
    cfg->max_discard_sectors = VIRTIO_BLK_MAX_DISCARD_SECTORS;
    cfg->max_discard_seg = VIRTIO_BLK_MAX_DISCARD_SEG;
    cfg->discard_sector_alignment = VIRTIO_BLK_DISCARD_ALIGNMENT;
    cfg->max_write_zeroes_sectors = VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS;
    cfg->max_write_zeroes_seg = VIRTIO_BLK_MAX_WRITE_ZEROES_SEG;
    /* Whole 4 KiB chunks of zeros give their overlay page back. */
    cfg->write_zeroes_may_unmap = 1;
}
