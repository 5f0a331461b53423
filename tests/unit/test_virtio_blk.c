/* dev/virtio_blk.c against virtio 1.2, 5.2.6: hand-built chains (segments
 * pointing into test buffers) of every request type, headers and data split
 * anywhere, the refusals (read-only disk, sectors past the end or wrapping,
 * lengths not sectors, bad DISCARD/WRITE_ZEROES segments and flags), the chains
 * that cannot be answered, GET_ID, the configuration space and feature bits, and
 * the done-callback shape with a backend that completes later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dev/blk_cow.h"
#include "dev/virtio_blk.h"

#define SECTOR BLK_SECTOR_SIZE
#define DISK_SECTORS 64

/* --- a RAM disk backend that records what it is asked --------------------- */

struct fake_disk {
    uint8_t data[DISK_SECTORS * SECTOR];
    enum blk_status answer;          /* what it answers (after doing READ/WRITE) */
    bool defer;                      /* keep the io, call done later */
    struct blk_io *deferred;
    unsigned nio;
    struct blk_io io[8];             /* the ios seen, in order */
};

static void fake_submit(void *backend, struct blk_io *io)
{
    struct fake_disk *f = backend;
    if (f->nio < 8)
        f->io[f->nio] = *io;
    f->nio++;
    uint8_t *at = f->data + io->sector * SECTOR;
    if (f->answer == BLK_OK && (io->op == BLK_READ || io->op == BLK_WRITE)) {
        uint64_t total = 0;
        for (unsigned i = 0; i < io->nbuf; i++) {
            if (io->op == BLK_READ)
                memcpy(io->buf[i].p, at + total, io->buf[i].len);
            else
                memcpy(at + total, io->buf[i].p, io->buf[i].len);
            total += io->buf[i].len;
        }
        assert_int_equal(total, io->nsectors * SECTOR);
    }
    if (f->defer) {
        f->deferred = io;
        return;
    }
    io->done(io, f->answer);
}

static const struct blk_backend_ops fake_ops = { .submit = fake_submit };

static struct fake_disk fake;
static struct blk_disk disk;
static struct virtio_blk vb;
static struct virtio_blk_req req;
static struct virtq_chain chain;

static int setup(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    for (size_t i = 0; i < sizeof fake.data; i++)
        fake.data[i] = (uint8_t)(i ^ (i >> 9));
    disk = (struct blk_disk){ &fake_ops, &fake, DISK_SECTORS, false, "fake" };
    virtio_blk_init(&vb, &disk, "hv86-disk0");
    memset(&chain, 0, sizeof chain);
    chain.head = 7;
    return 0;
}

/* --- chains ------------------------------------------------------------------- */

static void add(void *p, uint32_t len, bool write)
{
    struct virtq_seg *s = &chain.seg[chain.nseg++];
    *s = (struct virtq_seg){ p, len, write };
    if (write)
        chain.write_bytes += len;
    else {
        chain.read_bytes += len;
        chain.nread++;
    }
}

static void put_hdr(uint8_t *p, uint32_t type, uint64_t sector)
{
    memset(p, 0, 16);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(type >> (8 * i));
    for (int i = 0; i < 8; i++)
        p[8 + i] = (uint8_t)(sector >> (8 * i));
}

static void put_range(uint8_t *p, uint64_t sector, uint32_t num, uint32_t flags)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(sector >> (8 * i));
    for (int i = 0; i < 4; i++) {
        p[8 + i] = (uint8_t)(num >> (8 * i));
        p[12 + i] = (uint8_t)(flags >> (8 * i));
    }
}

static uint8_t hdr[16], status_byte;

/* A simple chain: header; then data (readable for OUT-like, writable for IN);
 * then the status byte. */
static enum virtio_blk_result simple(uint32_t type, uint64_t sector, void *data, uint32_t len,
                                     bool data_writable)
{
    put_hdr(hdr, type, sector);
    add(hdr, 16, false);
    if (data && !data_writable)
        add(data, len, false);
    if (data && data_writable)
        add(data, len, true);
    status_byte = 0xFF;
    add(&status_byte, 1, true);
    return virtio_blk_process(&vb, &chain, &req);
}

/* --- IN, OUT, FLUSH ------------------------------------------------------------- */

static void test_read(void **state)
{
    (void)state;
    uint8_t buf[2 * SECTOR];
    assert_int_equal(simple(VIRTIO_BLK_T_IN, 3, buf, sizeof buf, true), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    assert_int_equal(req.written, 2 * SECTOR + 1);
    assert_int_equal(req.head, 7);
    assert_memory_equal(buf, fake.data + 3 * SECTOR, sizeof buf);
    assert_int_equal(fake.nio, 1);
    assert_int_equal(fake.io[0].op, BLK_READ);
    assert_int_equal(fake.io[0].sector, 3);
    assert_int_equal(fake.io[0].nsectors, 2);
    assert_int_equal(fake.io[0].nbuf, 1);
    assert_ptr_equal(fake.io[0].buf[0].p, buf);        /* no copy: the guest's buffer */
    assert_int_equal(vb.counters.in, 1);
    assert_int_equal(vb.counters.bytes_read, 2 * SECTOR);
}

/* The header split 5 + 11 over two buffers, the data over writable buffers of
 * odd sizes, the status the last byte of the last one. */
static void test_read_split(void **state)
{
    (void)state;
    uint8_t h[16], a[100], b[900], c[24 + 1 + 7];
    put_hdr(h, VIRTIO_BLK_T_IN, 10);
    add(h, 5, false);
    add(h + 5, 11, false);
    memset(c, 0xEE, sizeof c);
    add(a, sizeof a, true);
    add(b, sizeof b, true);
    add(c, 25, true);                                  /* 24 data + the status */
    add(c, 0, true);                                   /* an empty buffer at the end */
    assert_int_equal(virtio_blk_process(&vb, &chain, &req), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(c[24], VIRTIO_BLK_S_OK);
    assert_int_equal(c[25], 0xEE);                     /* past the status: untouched */
    assert_int_equal(req.written, 1024 + 1);
    const uint8_t *d = fake.data + 10 * SECTOR;
    assert_memory_equal(a, d, 100);
    assert_memory_equal(b, d + 100, 900);
    assert_memory_equal(c, d + 1000, 24);
    assert_int_equal(fake.io[0].nbuf, 3);
    assert_int_equal(fake.io[0].buf[2].len, 24);
    assert_int_equal(req.hdr.type, VIRTIO_BLK_T_IN);
    assert_int_equal(req.hdr.sector, 10);
}

static void test_write(void **state)
{
    (void)state;
    /* Header and data in one buffer, as some drivers do. */
    uint8_t buf[16 + SECTOR];
    put_hdr(buf, VIRTIO_BLK_T_OUT, 63);
    memset(buf + 16, 0x5C, SECTOR);
    add(buf, sizeof buf, false);
    add(&status_byte, 1, true);
    assert_int_equal(virtio_blk_process(&vb, &chain, &req), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    assert_int_equal(req.written, 1);
    assert_memory_equal(fake.data + 63 * SECTOR, buf + 16, SECTOR);
    assert_int_equal(vb.counters.out, 1);
    assert_int_equal(vb.counters.bytes_written, SECTOR);
}

static void test_write_split(void **state)
{
    (void)state;
    uint8_t h[20], d1[3], d2[1017], st[4];
    put_hdr(h, VIRTIO_BLK_T_OUT, 1);
    memset(h + 16, 0xA1, 4);                           /* data after the header */
    memset(d1, 0xA2, sizeof d1);
    memset(d2, 0xA3, sizeof d2);
    add(h, 9, false);
    add(h + 9, 11, false);
    add(d1, sizeof d1, false);
    add(d2, sizeof d2, false);
    memset(st, 0x99, sizeof st);
    add(st, 4, true);                                  /* writable bytes before the status */
    assert_int_equal(virtio_blk_process(&vb, &chain, &req), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(st[3], VIRTIO_BLK_S_OK);
    assert_int_equal(st[0], 0x99);                     /* not data for OUT: untouched */
    assert_int_equal(req.written, 1);
    uint8_t expect[2 * SECTOR];
    memset(expect, 0xA1, 4);
    memset(expect + 4, 0xA2, 3);
    memset(expect + 7, 0xA3, 1017);
    assert_memory_equal(fake.data + SECTOR, expect, 2 * SECTOR);
    assert_int_equal(fake.io[0].nbuf, 3);
}

static void test_flush(void **state)
{
    (void)state;
    assert_int_equal(simple(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    assert_int_equal(req.written, 1);
    assert_int_equal(fake.io[0].op, BLK_FLUSH);
    assert_int_equal(vb.counters.flush, 1);
}

/* --- refusals ------------------------------------------------------------------- */

static void test_read_only(void **state)
{
    (void)state;
    uint8_t before[sizeof fake.data], data[SECTOR], range[16];
    disk.read_only = true;
    memcpy(before, fake.data, sizeof before);
    memset(data, 1, sizeof data);
    /* 5.2.6.2: IOERR, and no data written. */
    assert_int_equal(simple(VIRTIO_BLK_T_OUT, 0, data, SECTOR, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_IOERR);
    assert_int_equal(req.written, 1);
    memset(&chain, 0, sizeof chain);
    put_range(range, 0, 8, 0);
    assert_int_equal(simple(VIRTIO_BLK_T_DISCARD, 0, range, 16, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_IOERR);
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, range, 16, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_IOERR);
    assert_int_equal(fake.nio, 0);                     /* the backend never asked */
    assert_int_equal(vb.counters.read_only, 3);
    assert_memory_equal(fake.data, before, sizeof before);
    /* Reads, flushes and GET_ID still work. */
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_IN, 0, data, SECTOR, true), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
}

static void expect_ioerr(uint32_t type, uint64_t sector, void *data, uint32_t len, bool wr)
{
    memset(&chain, 0, sizeof chain);
    fake.nio = 0;
    assert_int_equal(simple(type, sector, data, len, wr), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_IOERR);
    assert_int_equal(req.written, 1);
    assert_int_equal(fake.nio, 0);
}

static void test_out_of_range(void **state)
{
    (void)state;
    uint8_t buf[2 * SECTOR];
    memset(buf, 0x33, sizeof buf);
    expect_ioerr(VIRTIO_BLK_T_IN, DISK_SECTORS, buf, SECTOR, true);
    expect_ioerr(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, buf, 2 * SECTOR, true);
    expect_ioerr(VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, buf, 2 * SECTOR, false);
    /* sector + count wraps around 2^64 to a small number: still refused. */
    expect_ioerr(VIRTIO_BLK_T_IN, UINT64_MAX, buf, 2 * SECTOR, true);
    expect_ioerr(VIRTIO_BLK_T_OUT, UINT64_MAX - 1, buf, 2 * SECTOR, false);
    expect_ioerr(VIRTIO_BLK_T_IN, 1ull << 63, buf, SECTOR, true);
    for (unsigned i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0x33);                /* nothing read into the data */
    assert_int_equal(vb.counters.out_of_range, 6);
    /* At the very end, no data: fine (as QEMU). */
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_IN, DISK_SECTORS, NULL, 0, true), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    assert_int_equal(req.written, 1);
}

static void test_not_sectors(void **state)
{
    (void)state;
    uint8_t buf[SECTOR + 1];
    memset(buf, 0x44, sizeof buf);
    expect_ioerr(VIRTIO_BLK_T_IN, 0, buf, SECTOR + 1, true);
    expect_ioerr(VIRTIO_BLK_T_IN, 0, buf, SECTOR - 1, true);
    expect_ioerr(VIRTIO_BLK_T_OUT, 0, buf, 1, false);
    for (unsigned i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0x44);
    assert_int_equal(vb.counters.bad_length, 3);
}

static void test_unknown_types(void **state)
{
    (void)state;
    const uint32_t types[] = { 2, 3, 10, 14, 99, VIRTIO_BLK_T_BARRIER | VIRTIO_BLK_T_IN };
    uint8_t buf[SECTOR];
    for (unsigned i = 0; i < sizeof types / sizeof types[0]; i++) {
        memset(&chain, 0, sizeof chain);
        assert_int_equal(simple(types[i], 0, buf, SECTOR, true), VIRTIO_BLK_REQ_DONE);
        assert_int_equal(status_byte, VIRTIO_BLK_S_UNSUPP);
        assert_int_equal(req.written, 1);
    }
    assert_int_equal(vb.counters.unknown, 6);
    assert_int_equal(fake.nio, 0);
}

static void test_backend_errors(void **state)
{
    (void)state;
    uint8_t buf[SECTOR];
    fake.answer = BLK_IOERR;
    assert_int_equal(simple(VIRTIO_BLK_T_IN, 0, buf, SECTOR, true), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_IOERR);
    assert_int_equal(req.written, 1);                  /* no data counted on failure */
    fake.answer = BLK_UNSUPP;
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(vb.counters.backend_ioerr, 1);
    assert_int_equal(vb.counters.backend_unsupp, 1);
    assert_int_equal(vb.counters.bytes_read, 0);
}

/* --- chains that cannot be answered --------------------------------------------- */

static void expect_broken(void)
{
    uint64_t before = vb.counters.broken;
    assert_int_equal(virtio_blk_process(&vb, &chain, &req), VIRTIO_BLK_REQ_BROKEN);
    assert_non_null(req.broken);
    assert_int_equal(vb.counters.broken, before + 1);
    assert_int_equal(fake.nio, 0);
}

static void test_broken_chains(void **state)
{
    (void)state;
    uint8_t h[16], st = 0xAB, buf[SECTOR];
    put_hdr(h, VIRTIO_BLK_T_IN, 0);
    /* 15 readable bytes: no header. */
    add(h, 15, false);
    add(&st, 1, true);
    expect_broken();
    assert_int_equal(st, 0xAB);                        /* no status written */
    /* 5 + 10 bytes over two buffers: still short. */
    memset(&chain, 0, sizeof chain);
    add(h, 5, false);
    add(h + 5, 10, false);
    add(buf, SECTOR, true);
    add(&st, 1, true);
    expect_broken();
    /* No writable byte: no status. */
    memset(&chain, 0, sizeof chain);
    add(h, 16, false);
    add(buf, SECTOR, false);
    expect_broken();
    /* Writable buffers that are all empty. */
    memset(&chain, 0, sizeof chain);
    add(h, 16, false);
    add(&st, 0, true);
    expect_broken();
    /* Nothing at all. */
    memset(&chain, 0, sizeof chain);
    expect_broken();
    /* Not what the ring promises: a readable buffer after a writable one, nread
     * past nseg, a buffer without memory, too many segments. */
    memset(&chain, 0, sizeof chain);
    add(h, 16, false);
    add(&st, 1, true);
    chain.seg[1].write = false;
    expect_broken();
    memset(&chain, 0, sizeof chain);
    add(h, 16, false);
    add(&st, 1, true);
    chain.nread = 3;
    expect_broken();
    memset(&chain, 0, sizeof chain);
    add(NULL, 16, false);
    add(&st, 1, true);
    expect_broken();
    memset(&chain, 0, sizeof chain);
    add(h, 16, false);
    add(&st, 1, true);
    chain.nseg = VIRTQ_MAX_SEGS + 1;
    expect_broken();
    assert_int_equal(st, 0xAB);
}

/* --- GET_ID ------------------------------------------------------------------------ */

static void test_get_id(void **state)
{
    (void)state;
    uint8_t id[VIRTIO_BLK_ID_BYTES + 4];
    memset(id, 0xFF, sizeof id);
    assert_int_equal(simple(VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, true),
                     VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    assert_int_equal(req.written, VIRTIO_BLK_ID_BYTES + 1);
    uint8_t expect[VIRTIO_BLK_ID_BYTES] = "hv86-disk0";          /* zero-padded */
    assert_memory_equal(id, expect, VIRTIO_BLK_ID_BYTES);
    assert_int_equal(id[VIRTIO_BLK_ID_BYTES], 0xFF);
    assert_int_equal(fake.nio, 0);
    assert_int_equal(vb.counters.get_id, 1);

    /* 20 characters or more: the first 20, no NUL (5.2.6). Split buffers. */
    virtio_blk_init(&vb, &disk, "0123456789abcdefghijKLMNOP");
    memset(&chain, 0, sizeof chain);
    memset(id, 0xFF, sizeof id);
    put_hdr(hdr, VIRTIO_BLK_T_GET_ID, 0);
    add(hdr, 16, false);
    add(id, 7, true);
    add(id + 7, 13 + 1, true);                         /* 13 of the ID + the status */
    assert_int_equal(virtio_blk_process(&vb, &chain, &req), VIRTIO_BLK_REQ_DONE);
    assert_memory_equal(id, "0123456789abcdefghij", 20);
    assert_int_equal(id[20], VIRTIO_BLK_S_OK);
    assert_int_equal(req.written, 21);

    /* Less room than 20 bytes: what fits (as QEMU). No ID at all: zeros. */
    virtio_blk_init(&vb, &disk, NULL);
    memset(&chain, 0, sizeof chain);
    memset(id, 0xFF, sizeof id);
    assert_int_equal(simple(VIRTIO_BLK_T_GET_ID, 0, id, 8, true), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(req.written, 9);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(id[i], 0);
    assert_int_equal(id[8], 0xFF);
}

/* --- DISCARD and WRITE_ZEROES --------------------------------------------------------- */

static void test_discard_segments(void **state)
{
    (void)state;
    uint8_t ranges[3 * 16];
    put_range(ranges, 1, 2, 0);
    put_range(ranges + 16, 40, 8, 0);
    put_range(ranges + 32, 63, 1, 0);
    /* The segments split across buffers at odd places. */
    put_hdr(hdr, VIRTIO_BLK_T_DISCARD, 0);
    add(hdr, 16, false);
    add(ranges, 5, false);
    add(ranges + 5, 40, false);
    add(ranges + 45, 3, false);
    add(&status_byte, 1, true);
    assert_int_equal(virtio_blk_process(&vb, &chain, &req), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    assert_int_equal(req.written, 1);
    assert_int_equal(fake.nio, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(fake.io[i].op, BLK_DISCARD);
    assert_int_equal(fake.io[1].sector, 40);
    assert_int_equal(fake.io[1].nsectors, 8);
    assert_int_equal(fake.io[2].sector, 63);
    assert_int_equal(vb.counters.discard, 1);
    assert_int_equal(vb.counters.sectors_discarded, 11);

    /* Write-zeroes may carry the unmap flag. */
    memset(&chain, 0, sizeof chain);
    fake.nio = 0;
    put_range(ranges, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    assert_int_equal(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, ranges, 16, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    assert_int_equal(fake.io[0].op, BLK_WRITE_ZEROES);
    assert_int_equal(vb.counters.sectors_zeroed, 8);
}

static void expect_dwz(uint32_t type, uint8_t *ranges, uint32_t len, uint8_t status)
{
    memset(&chain, 0, sizeof chain);
    fake.nio = 0;
    assert_int_equal(simple(type, 0, ranges, len, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, status);
    assert_int_equal(req.written, 1);
    assert_int_equal(fake.nio, status == VIRTIO_BLK_S_OK ? len / 16 : 0);
}

static void test_discard_refusals(void **state)
{
    (void)state;
    uint8_t r[(VIRTIO_BLK_MAX_DWZ_SEGS + 1) * 16];
    for (unsigned i = 0; i <= VIRTIO_BLK_MAX_DWZ_SEGS; i++)
        put_range(r + 16 * i, i, 1, 0);
    const uint32_t D = VIRTIO_BLK_T_DISCARD, W = VIRTIO_BLK_T_WRITE_ZEROES;
    expect_dwz(D, r, 16 * VIRTIO_BLK_MAX_DISCARD_SEG, VIRTIO_BLK_S_OK);
    /* Lengths: none, not whole segments, too many. */
    expect_dwz(D, NULL, 0, VIRTIO_BLK_S_IOERR);
    expect_dwz(D, r, 15, VIRTIO_BLK_S_IOERR);
    expect_dwz(W, r, 17, VIRTIO_BLK_S_IOERR);
    expect_dwz(D, r, 16 * (VIRTIO_BLK_MAX_DISCARD_SEG + 1), VIRTIO_BLK_S_IOERR);
    expect_dwz(W, r, 16 * (VIRTIO_BLK_MAX_WRITE_ZEROES_SEG + 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(vb.counters.bad_length, 5);
    /* Flags (5.2.6.2): discard takes none, write-zeroes only unmap. */
    put_range(r + 16, 1, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    expect_dwz(D, r, 32, VIRTIO_BLK_S_UNSUPP);
    expect_dwz(W, r, 32, VIRTIO_BLK_S_OK);
    put_range(r + 16, 1, 1, 2);
    expect_dwz(W, r, 32, VIRTIO_BLK_S_UNSUPP);
    expect_dwz(D, r, 32, VIRTIO_BLK_S_UNSUPP);
    put_range(r + 16, 1, 1, 0x80000000u);
    expect_dwz(W, r, 32, VIRTIO_BLK_S_UNSUPP);
    /* A reserved flag wins over a bad range in an earlier segment. */
    put_range(r, DISK_SECTORS, 1, 0);
    expect_dwz(W, r, 32, VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(vb.counters.bad_flags, 5);
    /* Ranges: past the end, wrapping, above the maximum. */
    put_range(r + 16, 1, 1, 0);
    expect_dwz(D, r, 32, VIRTIO_BLK_S_IOERR);          /* r[0] starts at the end */
    put_range(r, DISK_SECTORS - 1, 2, 0);
    expect_dwz(W, r, 16, VIRTIO_BLK_S_IOERR);
    put_range(r, UINT64_MAX, 2, 0);
    expect_dwz(D, r, 16, VIRTIO_BLK_S_IOERR);
    disk.capacity = 1ull << 40;
    put_range(r, 0, VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS + 1, 0);
    expect_dwz(W, r, 16, VIRTIO_BLK_S_IOERR);
    put_range(r, 0, VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS, 0);
    expect_dwz(W, r, 16, VIRTIO_BLK_S_OK);
    put_range(r, 0, VIRTIO_BLK_MAX_DISCARD_SECTORS + 1, 0);
    expect_dwz(D, r, 16, VIRTIO_BLK_S_IOERR);
    assert_int_equal(vb.counters.out_of_range, 5);
    /* The backend failing the first segment: IOERR, the others never asked. */
    disk.capacity = DISK_SECTORS;
    for (unsigned i = 0; i < 3; i++)
        put_range(r + 16 * i, i, 1, 0);
    fake.answer = BLK_IOERR;
    memset(&chain, 0, sizeof chain);
    fake.nio = 0;
    assert_int_equal(simple(D, 0, r, 48, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_IOERR);
    assert_int_equal(fake.nio, 1);
}

/* --- end to end over the copy-on-write backend ------------------------------------------ */

static void *page_alloc(void *ctx)
{
    (*(unsigned *)ctx)++;
    return aligned_alloc(4096, 4096);
}

static void page_free(void *ctx, void *p)
{
    (*(unsigned *)ctx)--;
    free(p);
}

static void test_over_cow(void **state)
{
    (void)state;
    static uint8_t image[16 * 4096];
    for (size_t i = 0; i < sizeof image; i++)
        image[i] = (uint8_t)(i * 13);
    unsigned live = 0;
    struct blk_cow_pages pages = { page_alloc, page_free, &live };
    struct blk_cow cow;
    struct blk_disk cdisk;
    assert_true(blk_cow_init(&cow, &cdisk, "cow", image, sizeof image, false, 2 * 4096, &pages));
    virtio_blk_init(&vb, &cdisk, cdisk.name);

    uint8_t data[SECTOR], back[SECTOR];
    memset(data, 0x6D, sizeof data);
    assert_int_equal(simple(VIRTIO_BLK_T_OUT, 9, data, SECTOR, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_IN, 9, back, SECTOR, true), VIRTIO_BLK_REQ_DONE);
    assert_memory_equal(back, data, SECTOR);
    /* The overlay is full (a table and one chunk): the next chunk fails. */
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_OUT, 20, data, SECTOR, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_IOERR);
    assert_int_equal(vb.counters.backend_ioerr, 1);
    assert_int_equal(cow.overlay_full, 1);
    /* Write-zeroes of whole chunks needs no page. */
    uint8_t r[16];
    put_range(r, 16, 16, 0);
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, r, 16, false), VIRTIO_BLK_REQ_DONE);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_IN, 20, back, SECTOR, true), VIRTIO_BLK_REQ_DONE);
    for (unsigned i = 0; i < SECTOR; i++)
        assert_int_equal(back[i], 0);
    for (size_t i = 0; i < sizeof image; i++)
        assert_int_equal(image[i], (uint8_t)(i * 13));
    blk_cow_fini(&cow);
    assert_int_equal(live, 0);
}

/* --- the done-callback shape with a backend that completes later ----------------------- */

static struct virtio_blk_req *completed;
static void *completed_ctx;

static void on_complete(void *ctx, struct virtio_blk_req *r)
{
    completed = r;
    completed_ctx = ctx;
}

static void test_async_completion(void **state)
{
    (void)state;
    uint8_t buf[SECTOR];
    int ctx;
    vb.complete = on_complete;
    vb.complete_ctx = &ctx;
    fake.defer = true;
    completed = NULL;
    assert_int_equal(simple(VIRTIO_BLK_T_IN, 2, buf, SECTOR, true), VIRTIO_BLK_REQ_PENDING);
    assert_false(req.done);
    assert_int_equal(status_byte, 0xFF);
    assert_null(completed);
    fake.deferred->done(fake.deferred, BLK_OK);
    assert_ptr_equal(completed, &req);
    assert_ptr_equal(completed_ctx, &ctx);
    assert_true(req.done);
    assert_int_equal(status_byte, VIRTIO_BLK_S_OK);
    assert_int_equal(req.written, SECTOR + 1);
    /* A synchronous completion is reported by the return value only. */
    fake.defer = false;
    completed = NULL;
    memset(&chain, 0, sizeof chain);
    assert_int_equal(simple(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), VIRTIO_BLK_REQ_DONE);
    assert_null(completed);
}

/* --- configuration space and features (5.2.3, 5.2.4) ----------------------------------- */

static void test_config_and_features(void **state)
{
    (void)state;
    struct virtio_blk_config cfg;
    memset(&cfg, 0xFF, sizeof cfg);
    disk.capacity = 12345;
    virtio_blk_fill_config(&disk, 4, &cfg);
    assert_int_equal(cfg.capacity, 12345);
    assert_int_equal(cfg.seg_max, VIRTQ_MAX_SEGS - 2);
    assert_int_equal(cfg.size_max, 0);
    assert_int_equal(cfg.blk_size, 512);
    assert_int_equal(cfg.num_queues, 4);
    assert_int_equal(cfg.max_discard_sectors, VIRTIO_BLK_MAX_DISCARD_SECTORS);
    assert_int_equal(cfg.max_discard_seg, VIRTIO_BLK_MAX_DISCARD_SEG);
    assert_int_equal(cfg.discard_sector_alignment, 8);
    assert_int_equal(cfg.max_write_zeroes_sectors, VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS);
    assert_int_equal(cfg.max_write_zeroes_seg, VIRTIO_BLK_MAX_WRITE_ZEROES_SEG);
    assert_int_equal(cfg.write_zeroes_may_unmap, 1);
    assert_int_equal(cfg.wce, 0);
    assert_int_equal(cfg.geometry.cylinders, 0);
    assert_int_equal(cfg.max_secure_erase_sectors, 0);
    assert_true(VIRTIO_BLK_MAX_DISCARD_SEG <= VIRTIO_BLK_MAX_DWZ_SEGS);
    assert_true(VIRTIO_BLK_MAX_WRITE_ZEROES_SEG <= VIRTIO_BLK_MAX_DWZ_SEGS);

    uint64_t f = virtio_blk_device_features(&disk);
    const uint64_t base = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                          1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_MQ;
    assert_int_equal(f, base | 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES);
    disk.read_only = true;
    f = virtio_blk_device_features(&disk);
    assert_int_equal(f, base | 1ull << VIRTIO_BLK_F_RO);
    assert_int_equal(f >> 24, 0);                      /* no transport bits */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_read, setup),
        cmocka_unit_test_setup(test_read_split, setup),
        cmocka_unit_test_setup(test_write, setup),
        cmocka_unit_test_setup(test_write_split, setup),
        cmocka_unit_test_setup(test_flush, setup),
        cmocka_unit_test_setup(test_read_only, setup),
        cmocka_unit_test_setup(test_out_of_range, setup),
        cmocka_unit_test_setup(test_not_sectors, setup),
        cmocka_unit_test_setup(test_unknown_types, setup),
        cmocka_unit_test_setup(test_backend_errors, setup),
        cmocka_unit_test_setup(test_broken_chains, setup),
        cmocka_unit_test_setup(test_get_id, setup),
        cmocka_unit_test_setup(test_discard_segments, setup),
        cmocka_unit_test_setup(test_discard_refusals, setup),
        cmocka_unit_test_setup(test_over_cow, setup),
        cmocka_unit_test_setup(test_async_completion, setup),
        cmocka_unit_test_setup(test_config_and_features, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
