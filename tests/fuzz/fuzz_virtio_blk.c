/* libFuzzer target for dev/virtio_blk.c over dev/blk_cow.c: a guest's request
 * queue is the guest's to fill, so every chain shape reaches the request layer
 * (segment counts, lengths, readable/writable split, a header and DISCARD/
 * WRITE_ZEROES segments cut anywhere, any type, sector and flags). The input is a
 * sequence of requests against one small COW disk (129 sectors: an odd tail) with
 * a tiny overlay (the limit is reached often) and an allocator that fails on
 * demand. After every request:
 * - nothing outside the chain's writable buffers changed (readable buffers and
 *   the gaps around buffers are compared with a snapshot), and nothing at all
 *   for a BROKEN chain;
 * - written <= the chain's writable bytes; the status byte is S_OK, S_IOERR or
 *   S_UNSUPP;
 * - the image never changes;
 * - the disk reads back what a plain reference model says (writes, zeroes; a
 *   failed write changes nothing; discarded sectors become "unknown");
 * - a read-only disk is never changed; IN/OUT not in whole sectors never succeed.
 * At the end, blk_cow_fini gives every page back.
 *
 * Input: byte 0: read-only (bit 0), allocation failure period (bits 1-4); then
 * requests: nseg, nread, then per segment two length bytes and a gap byte, then
 * the header (type selector, sector), the DISCARD/WRITE_ZEROES segments and a
 * data pattern byte (see next_request). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/blk_cow.h"
#include "dev/virtio_blk.h"

#define SECTOR      512u
#define IMAGE_BYTES (16 * 4096 + 300)
#define CAPACITY    129u
#define REGION      (16 * 1024)
#define MAX_SEGS    24

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint8_t image[IMAGE_BYTES], pristine[IMAGE_BYTES];
static uint8_t ref[CAPACITY * SECTOR];
static bool known[CAPACITY];
static uint8_t rd_region[REGION], wr_region[REGION];
static uint8_t rd_snap[REGION], wr_snap[REGION];

static struct virtq_chain chain;
static struct virtio_blk_req req;

/* --- pages ----------------------------------------------------------------- */

static unsigned live_pages, alloc_count, fail_period;

static void *alloc_page(void *ctx)
{
    (void)ctx;
    if (fail_period && ++alloc_count % fail_period == 0)
        return NULL;
    void *p = aligned_alloc(4096, 4096);
    if (p) {
        memset(p, 0xA5, 4096);
        live_pages++;
    }
    return p;
}

static void free_page(void *ctx, void *page)
{
    (void)ctx;
    CHECK(live_pages > 0);
    live_pages--;
    free(page);
}

/* --- input --------------------------------------------------------------------- */

struct input {
    const uint8_t *p, *end;
};

static uint8_t byte(struct input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static uint64_t raw64(struct input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)byte(in) << (8 * i);
    return v;
}

/* Sectors near the interesting places: small, the end, the top of 2^64. */
static uint64_t sector_of(struct input *in)
{
    uint8_t k = byte(in);
    switch (k & 3) {
    case 0: return k >> 2;                              /* 0..63 */
    case 1: return CAPACITY - 1 - (k >> 4) + ((k >> 2) & 3);
    case 2: return UINT64_MAX - (k >> 2);
    default: return raw64(in);
    }
}

static uint32_t length_of(struct input *in)
{
    uint16_t v = byte(in);
    v |= (uint16_t)(byte(in) << 8);
    switch (v >> 14) {
    case 0: return (v & 0x3FFF) % 33;                   /* splits headers, ranges */
    case 1: return ((v & 0x3FFF) % 9) * SECTOR;         /* whole sectors */
    case 2: return (v & 0x3FFF) % 4200;
    default: return 1;
    }
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Builds the next chain into `chain`, its readable bytes from the input. */
static bool next_request(struct input *in)
{
    if (in->p >= in->end)
        return false;
    memset(&chain, 0, offsetof(struct virtq_chain, seg));
    unsigned nseg = byte(in) % (MAX_SEGS + 1);
    unsigned nread = byte(in) % (nseg + 1);
    uint8_t oddity = byte(in);
    size_t rd_at = 0, wr_at = 0;
    chain.head = 3;
    chain.nseg = nseg;
    chain.nread = nread;
    for (unsigned i = 0; i < nseg; i++) {
        uint32_t len = length_of(in);
        size_t gap = byte(in) % 64;
        bool write = i >= nread;
        size_t *at = write ? &wr_at : &rd_at;
        uint8_t *region = write ? wr_region : rd_region;
        size_t off = *at + gap < REGION ? *at + gap : REGION;
        if (len > REGION - off)
            len = (uint32_t)(REGION - off);
        chain.seg[i] = (struct virtq_seg){ region + off, len, write };
        *at = off + len;
        if (write)
            chain.write_bytes += len;
        else
            chain.read_bytes += len;
    }
    /* The readable bytes: header, DISCARD/WRITE_ZEROES segments, data. */
    static uint8_t bytes[REGION];
    static const uint32_t types[] = {
        VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID,
        VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_IN,
        14, 2,
    };
    uint8_t sel = byte(in);
    uint32_t type = sel < 250 ? types[sel % 10] : (uint32_t)raw64(in);
    memset(bytes, 0, 16);
    put_le(bytes, type, 4);
    put_le(bytes + 8, sector_of(in), 8);
    size_t n = 16;
    unsigned nrange = byte(in) % 20;
    for (unsigned i = 0; i < nrange; i++) {
        static const uint32_t flag_set[] = { 0, 0, 0, 1, 2, 0x80000000u };
        uint8_t f = byte(in);
        uint64_t num = (f & 0x80) ? (uint32_t)raw64(in) : (uint64_t)(f & 0x1F);
        put_le(bytes + n, sector_of(in), 8);
        put_le(bytes + n + 8, num, 4);
        put_le(bytes + n + 12, flag_set[(f >> 5) % 6], 4);
        n += 16;
    }
    uint8_t pattern = byte(in);
    for (size_t i = n; i < rd_at; i++)
        bytes[i] = (uint8_t)(pattern + i * 31 + (i >> 9));
    /* Scattered over the readable buffers in order, wherever they are cut. */
    size_t k = 0;
    for (unsigned i = 0; i < nseg; i++)
        if (!chain.seg[i].write)
            for (uint32_t j = 0; j < chain.seg[i].len; j++)
                ((uint8_t *)chain.seg[i].hva)[j] = bytes[k++];
    /* Now and then, a chain that is not what the ring promises. */
    if (oddity == 0xFF && nseg)
        chain.seg[byte(in) % nseg].write ^= 1;
    else if (oddity == 0xFE)
        chain.nread = nseg + 1;
    return true;
}

/* --- checks -------------------------------------------------------------------- */

/* The chain's bytes [skip, skip + len) of the given direction, copied out. */
static void chain_bytes(bool write, uint64_t skip, uint64_t len, uint8_t *dst)
{
    for (unsigned i = 0; i < chain.nseg && len; i++) {
        if (chain.seg[i].write != write)
            continue;
        const uint8_t *p = chain.seg[i].hva;
        for (uint32_t j = 0; j < chain.seg[i].len && len; j++) {
            if (skip) {
                skip--;
                continue;
            }
            *dst++ = p[j];
            len--;
        }
    }
}

static void forget(uint64_t sector, uint64_t num)
{
    for (uint64_t s = sector; s < CAPACITY && s - sector < num; s++)
        known[s] = false;
}

static void check_request(enum virtio_blk_result r, bool read_only)
{
    static uint8_t data[REGION];
    CHECK(memcmp(rd_region, rd_snap, REGION) == 0);     /* readable: never written */
    if (r == VIRTIO_BLK_REQ_BROKEN) {
        CHECK(memcmp(wr_region, wr_snap, REGION) == 0);
    } else {
        /* The gaps between the writable buffers (laid out in order). */
        size_t at = 0;
        for (unsigned i = chain.nread; i < chain.nseg; i++) {
            size_t off = (size_t)((uint8_t *)chain.seg[i].hva - wr_region);
            CHECK(memcmp(wr_region + at, wr_snap + at, off - at) == 0);
            at = off + chain.seg[i].len;
        }
        CHECK(memcmp(wr_region + at, wr_snap + at, REGION - at) == 0);
    }
    CHECK(memcmp(image, pristine, IMAGE_BYTES) == 0);
    if (r == VIRTIO_BLK_REQ_BROKEN)
        return;
    CHECK(r == VIRTIO_BLK_REQ_DONE);                    /* the COW backend is synchronous */
    CHECK(req.written >= 1 && req.written <= chain.write_bytes);
    uint8_t st = *req.status;
    CHECK(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_UNSUPP);
    uint64_t out_data = chain.read_bytes - 16, in_data = chain.write_bytes - 1;
    uint64_t sector = req.hdr.sector;

    switch (req.hdr.type) {
    case VIRTIO_BLK_T_IN:
        if (in_data % SECTOR)
            CHECK(st == VIRTIO_BLK_S_IOERR);
        if (st != VIRTIO_BLK_S_OK) {
            CHECK(req.written == 1);
            break;
        }
        CHECK(req.written == in_data + 1);
        chain_bytes(true, 0, in_data, data);
        for (uint64_t s = 0; s < in_data / SECTOR; s++)
            if (known[sector + s])
                CHECK(memcmp(data + s * SECTOR, ref + (sector + s) * SECTOR, SECTOR) == 0);
        break;
    case VIRTIO_BLK_T_OUT:
        CHECK(req.written == 1);
        if (out_data % SECTOR || read_only)
            CHECK(st == VIRTIO_BLK_S_IOERR);
        if (st == VIRTIO_BLK_S_OK) {
            chain_bytes(false, 16, out_data, ref + sector * SECTOR);
            for (uint64_t s = 0; s < out_data / SECTOR; s++)
                known[sector + s] = true;
        }
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        CHECK(req.written == 1);
        if (read_only)
            CHECK(st == VIRTIO_BLK_S_IOERR);
        for (unsigned i = 0; i < req.nrange && st != VIRTIO_BLK_S_UNSUPP; i++) {
            const struct virtio_blk_discard_write_zeroes *g = &req.range[i];
            if (st == VIRTIO_BLK_S_OK && req.hdr.type == VIRTIO_BLK_T_WRITE_ZEROES) {
                memset(ref + g->sector * SECTOR, 0, (size_t)g->num_sectors * SECTOR);
                for (uint64_t s = 0; s < g->num_sectors; s++)
                    known[g->sector + s] = true;
            } else if (!read_only && g->sector < CAPACITY) {
                forget(g->sector, g->num_sectors);      /* discarded, or partly zeroed */
            }
        }
        break;
    case VIRTIO_BLK_T_GET_ID:
        CHECK(st == VIRTIO_BLK_S_OK);
        CHECK(req.written == 1 + (in_data < 20 ? in_data : 20));
        break;
    case VIRTIO_BLK_T_FLUSH:
        CHECK(st == VIRTIO_BLK_S_OK && req.written == 1);
        break;
    default:
        CHECK(st == VIRTIO_BLK_S_UNSUPP && req.written == 1);
        break;
    }
}

/* The whole disk against the model, through the backend itself. */
static void check_disk(struct blk_disk *disk)
{
    static uint8_t all[CAPACITY * SECTOR];
    struct blk_buf b = { all, sizeof all };
    struct blk_io io = { .op = BLK_READ, .sector = 0, .nsectors = CAPACITY, .buf = &b, .nbuf = 1 };
    disk->ops->submit(disk->backend, &io);
    for (unsigned s = 0; s < CAPACITY; s++)
        if (known[s])
            CHECK(memcmp(all + s * SECTOR, ref + s * SECTOR, SECTOR) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static bool ready;
    if (!ready) {
        for (size_t i = 0; i < IMAGE_BYTES; i++)
            image[i] = (uint8_t)(i * 7 + (i >> 9) + 1);
        memcpy(pristine, image, IMAGE_BYTES);
        ready = true;
    }
    struct input in = { data, data + len };
    uint8_t mode = byte(&in);
    bool read_only = mode & 1;
    fail_period = (mode >> 1) & 15;
    alloc_count = 0;
    live_pages = 0;

    struct blk_cow cow;
    struct blk_disk disk;
    struct blk_cow_pages pages = { alloc_page, free_page, NULL };
    CHECK(blk_cow_init(&cow, &disk, "fuzz", image, IMAGE_BYTES, read_only, 6 * 4096, &pages));
    CHECK(disk.capacity == CAPACITY);
    struct virtio_blk vb;
    virtio_blk_init(&vb, &disk, "fuzz-disk");
    memcpy(ref, image, IMAGE_BYTES);
    memset(ref + IMAGE_BYTES, 0, sizeof ref - IMAGE_BYTES);
    memset(known, true, sizeof known);

    while (next_request(&in)) {
        memcpy(rd_snap, rd_region, REGION);
        memcpy(wr_snap, wr_region, REGION);
        enum virtio_blk_result r = virtio_blk_process(&vb, &chain, &req);
        check_request(r, read_only);
        if (read_only)
            CHECK(cow.overlay_bytes == 0);
        CHECK(cow.overlay_bytes <= 6 * 4096 && cow.overlay_bytes == (uint64_t)live_pages * 4096);
    }
    check_disk(&disk);
    blk_cow_fini(&cow);
    CHECK(live_pages == 0 && cow.overlay_bytes == 0);
    return 0;
}
