/* dev/blk_cow.c: a private overlay per disk over one shared image that is never
 * written; chunk-crossing ranges and buffers split anywhere; the page limit and
 * allocation failures (BLK_IOERR, counted, the disk unchanged); discard and
 * write-zeroes; every page given back. Pages come from a fake allocator that
 * counts them and hands out dirty memory (the backend must not rely on zeroed
 * pages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "dev/blk_cow.h"

#define PAGE BLK_COW_PAGE_SIZE
#define SECTOR BLK_SECTOR_SIZE

/* --- the fake page allocator ------------------------------------------------ */

#define MAX_PAGES 4096
struct fake_alloc {
    void *live[MAX_PAGES];
    unsigned nlive, allocs, frees;
    int fail_after;              /* refuse allocations after this many (-1: never) */
};

static void *fake_alloc_page(void *ctx)
{
    struct fake_alloc *a = ctx;
    if (a->fail_after >= 0 && a->allocs >= (unsigned)a->fail_after)
        return NULL;
    void *p = aligned_alloc(PAGE, PAGE);
    assert_non_null(p);
    memset(p, 0xA5, PAGE);       /* dirty on purpose */
    assert_true(a->nlive < MAX_PAGES);
    a->live[a->nlive++] = p;
    a->allocs++;
    return p;
}

static void fake_free_page(void *ctx, void *page)
{
    struct fake_alloc *a = ctx;
    for (unsigned i = 0; i < a->nlive; i++) {
        if (a->live[i] == page) {
            a->live[i] = a->live[--a->nlive];
            a->frees++;
            free(page);
            return;
        }
    }
    fail_msg("free_page of a page not allocated: %p", page);
}

static struct blk_cow_pages pages_of(struct fake_alloc *a)
{
    return (struct blk_cow_pages){ fake_alloc_page, fake_free_page, a };
}

/* --- the image and the I/O helpers -------------------------------------------- */

/* 16 chunks and 300 bytes: capacity 129 sectors, the last chunk one sector. */
#define IMAGE_BYTES (16 * PAGE + 300)
static uint8_t image[IMAGE_BYTES], pristine[IMAGE_BYTES];

static int setup_image(void **state)
{
    (void)state;
    for (size_t i = 0; i < IMAGE_BYTES; i++)
        image[i] = (uint8_t)(i * 7 + (i >> 9) + 1);
    memcpy(pristine, image, IMAGE_BYTES);
    return 0;
}

static uint8_t image_byte(uint64_t pos)
{
    return pos < IMAGE_BYTES ? pristine[pos] : 0;
}

static unsigned done_calls;
static enum blk_status done_status;

static void record_done(struct blk_io *io, enum blk_status status)
{
    (void)io;
    done_calls++;
    done_status = status;
}

/* Submits one I/O and checks it completed exactly once before submit returned. */
static enum blk_status run(struct blk_disk *d, enum blk_op op, uint64_t sector, uint64_t n,
                           const struct blk_buf *buf, unsigned nbuf)
{
    struct blk_io io = { .op = op, .sector = sector, .nsectors = n, .buf = buf, .nbuf = nbuf,
                         .done = record_done, .owner = NULL };
    done_calls = 0;
    d->ops->submit(d->backend, &io);
    assert_int_equal(done_calls, 1);
    return done_status;
}

/* Reads or writes [sector, sector + n) through buffers cut at the given sizes
 * (the last takes the rest). */
static enum blk_status rw_split(struct blk_disk *d, enum blk_op op, uint64_t sector, uint64_t n,
                                uint8_t *data, const uint32_t *cuts, unsigned ncuts)
{
    struct blk_buf buf[16];
    uint64_t total = n * SECTOR, off = 0;
    unsigned nbuf = 0;
    for (unsigned i = 0; i < ncuts && off < total; i++) {
        uint32_t len = cuts[i] < total - off ? cuts[i] : (uint32_t)(total - off);
        buf[nbuf++] = (struct blk_buf){ data + off, len };
        off += len;
    }
    if (off < total)
        buf[nbuf++] = (struct blk_buf){ data + off, (uint32_t)(total - off) };
    return run(d, op, sector, n, buf, nbuf);
}

static enum blk_status rw(struct blk_disk *d, enum blk_op op, uint64_t sector, uint64_t n,
                          uint8_t *data)
{
    return rw_split(d, op, sector, n, data, NULL, 0);
}

/* The disk's content [sector, sector + n) must equal expect. */
static void check_disk(struct blk_disk *d, uint64_t sector, uint64_t n, const uint8_t *expect)
{
    uint8_t *got = malloc(n * SECTOR);
    assert_int_equal(rw(d, BLK_READ, sector, n, got), BLK_OK);
    assert_memory_equal(got, expect, n * SECTOR);
    free(got);
}

/* A model of the whole disk: the image with the tail's zeros. */
static uint8_t model[129 * SECTOR];

static void model_reset(void)
{
    for (size_t i = 0; i < sizeof model; i++)
        model[i] = image_byte(i);
}

static void check_all(struct blk_disk *d)
{
    check_disk(d, 0, 129, model);
    assert_memory_equal(image, pristine, IMAGE_BYTES);
}

struct fixture {
    struct fake_alloc alloc;
    struct blk_cow cow;
    struct blk_disk disk;
};

static void make(struct fixture *f, bool read_only, uint64_t limit)
{
    memset(f, 0, sizeof *f);
    f->alloc.fail_after = -1;
    struct blk_cow_pages p = pages_of(&f->alloc);
    assert_true(blk_cow_init(&f->cow, &f->disk, "img", image, IMAGE_BYTES, read_only, limit, &p));
    model_reset();
}

static void unmake(struct fixture *f)
{
    blk_cow_fini(&f->cow);
    assert_int_equal(f->alloc.nlive, 0);
    assert_int_equal(f->cow.overlay_bytes, 0);
    assert_memory_equal(image, pristine, IMAGE_BYTES);
}

/* --- tests ----------------------------------------------------------------------- */

static void test_init_and_capacity(void **state)
{
    (void)state;
    struct fixture f;
    make(&f, false, 1 << 20);
    /* QEMU's raw capacity: the size in sectors rounded up. */
    assert_int_equal(f.disk.capacity, 129);
    assert_ptr_equal(f.disk.backend, &f.cow);
    assert_ptr_equal(f.disk.ops, &blk_cow_ops);
    assert_string_equal(f.disk.name, "img");
    assert_false(f.disk.read_only);
    /* Untouched: the image, the last sector's tail as zeros, no page taken. */
    check_all(&f.disk);
    assert_int_equal(f.alloc.allocs, 0);

    struct blk_cow c2;
    struct blk_disk d2;
    struct blk_cow_pages p = pages_of(&f.alloc);
    assert_true(blk_cow_init(&c2, &d2, "e", NULL, 0, false, 0, &p));
    assert_int_equal(d2.capacity, 0);
    assert_true(blk_cow_init(&c2, &d2, "e", image, 1000, false, 0, &p));
    assert_int_equal(d2.capacity, 2);
    assert_true(blk_cow_init(&c2, &d2, "e", image, 3 * PAGE, false, 0, &p));
    assert_int_equal(d2.capacity, 24);
    /* Refused: no callbacks, or bytes without an image. */
    struct blk_cow_pages bad = { NULL, fake_free_page, &f.alloc };
    assert_false(blk_cow_init(&c2, &d2, "e", image, 512, false, 0, &bad));
    assert_false(blk_cow_init(&c2, &d2, "e", NULL, 512, false, 0, &p));
    unmake(&f);
}

static void test_tail_sector(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t buf[SECTOR], expect[SECTOR];
    make(&f, false, 1 << 20);
    /* Sector 128: 300 image bytes then 212 zeros. */
    assert_int_equal(rw(&f.disk, BLK_READ, 128, 1, buf), BLK_OK);
    for (unsigned i = 0; i < SECTOR; i++)
        assert_int_equal(buf[i], i < 300 ? pristine[128 * SECTOR + i] : 0);
    memset(expect, 0x3C, sizeof expect);
    assert_int_equal(rw(&f.disk, BLK_WRITE, 128, 1, expect), BLK_OK);
    check_disk(&f.disk, 128, 1, expect);
    unmake(&f);
}

static void test_overlays_are_private(void **state)
{
    (void)state;
    struct fixture a, b;
    make(&a, false, 1 << 20);
    make(&b, false, 1 << 20);
    uint8_t data[2 * SECTOR];
    memset(data, 0x11, sizeof data);
    assert_int_equal(rw(&a.disk, BLK_WRITE, 10, 2, data), BLK_OK);
    memset(data, 0x22, sizeof data);
    assert_int_equal(rw(&b.disk, BLK_WRITE, 11, 2, data), BLK_OK);

    model_reset();
    memset(model + 10 * SECTOR, 0x11, 2 * SECTOR);
    check_all(&a.disk);                          /* its own write only */
    model_reset();
    memset(model + 11 * SECTOR, 0x22, 2 * SECTOR);
    check_all(&b.disk);
    assert_memory_equal(image, pristine, IMAGE_BYTES);
    /* One chunk each: the table and the data page. */
    assert_int_equal(a.cow.overlay_bytes, 2 * PAGE);
    unmake(&a);
    unmake(&b);
}

static void test_chunk_crossing_and_odd_splits(void **state)
{
    (void)state;
    struct fixture f;
    make(&f, false, 1 << 20);
    /* Sectors 5..20: chunks 0, 1 and 2, cut into buffers at odd places. */
    uint8_t data[16 * SECTOR];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(0x80 ^ i ^ (i >> 8));
    const uint32_t wcuts[] = { 1, 1000, 3, 4093, 511, 2 };
    assert_int_equal(rw_split(&f.disk, BLK_WRITE, 5, 16, data, wcuts, 6), BLK_OK);
    memcpy(model + 5 * SECTOR, data, sizeof data);
    check_all(&f.disk);

    uint8_t back[16 * SECTOR];
    const uint32_t rcuts[] = { 4097, 7, 1, 1, 511 };
    memset(back, 0, sizeof back);
    assert_int_equal(rw_split(&f.disk, BLK_READ, 5, 16, back, rcuts, 5), BLK_OK);
    assert_memory_equal(back, data, sizeof data);
    /* Zero-length buffers in the list are fine. */
    struct blk_buf zb[3] = { { back, 0 }, { back, SECTOR }, { back + SECTOR, 0 } };
    assert_int_equal(run(&f.disk, BLK_READ, 6, 1, zb, 3), BLK_OK);
    assert_memory_equal(back, data + SECTOR, SECTOR);
    unmake(&f);
}

static void test_bounds_and_buffers(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t buf[2 * SECTOR];
    make(&f, false, 1 << 20);
    assert_int_equal(rw(&f.disk, BLK_READ, 129, 1, buf), BLK_IOERR);
    assert_int_equal(rw(&f.disk, BLK_READ, 128, 2, buf), BLK_IOERR);
    assert_int_equal(rw(&f.disk, BLK_WRITE, 128, 2, buf), BLK_IOERR);
    assert_int_equal(run(&f.disk, BLK_READ, UINT64_MAX, 2, NULL, 0), BLK_IOERR);   /* wraps */
    assert_int_equal(run(&f.disk, BLK_DISCARD, 1, UINT64_MAX, NULL, 0), BLK_IOERR);
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 120, 10, NULL, 0), BLK_IOERR);
    assert_int_equal(run(&f.disk, BLK_READ, 129, 0, NULL, 0), BLK_OK);             /* empty, at the end */
    /* Buffers not exactly the sectors' bytes. */
    struct blk_buf short_buf = { buf, SECTOR - 1 }, long_buf = { buf, SECTOR + 1 };
    assert_int_equal(run(&f.disk, BLK_READ, 0, 1, &short_buf, 1), BLK_IOERR);
    assert_int_equal(run(&f.disk, BLK_WRITE, 0, 1, &long_buf, 1), BLK_IOERR);
    assert_int_equal(run(&f.disk, BLK_READ, 0, 1, NULL, 1), BLK_IOERR);
    struct blk_buf null_p = { NULL, SECTOR };
    assert_int_equal(run(&f.disk, BLK_WRITE, 0, 1, &null_p, 1), BLK_IOERR);
    assert_int_equal(run(&f.disk, (enum blk_op)77, 0, 1, NULL, 0), BLK_UNSUPP);
    assert_int_equal(run(&f.disk, BLK_FLUSH, 0, 0, NULL, 0), BLK_OK);
    assert_int_equal(f.alloc.allocs, 0);
    check_all(&f.disk);
    unmake(&f);
}

static void test_limit_reached(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t data[16 * SECTOR];
    memset(data, 0x5A, sizeof data);
    make(&f, false, 3 * PAGE);                   /* the table and two chunks */
    assert_int_equal(rw(&f.disk, BLK_WRITE, 0, 1, data), BLK_OK);
    memset(model, 0x5A, SECTOR);
    assert_int_equal(f.cow.overlay_bytes, 2 * PAGE);
    /* Chunks 1 and 2 need two pages, one is left: refused, nothing visible. */
    assert_int_equal(rw(&f.disk, BLK_WRITE, 12, 8, data), BLK_IOERR);
    assert_int_equal(f.cow.overlay_full, 1);
    check_all(&f.disk);
    /* The page taken for chunk 1 stays (holding the image's bytes): full now. */
    assert_int_equal(f.cow.overlay_bytes, 3 * PAGE);
    /* Rewriting a chunk that has a page needs none. */
    assert_int_equal(rw(&f.disk, BLK_WRITE, 1, 7, data), BLK_OK);
    memset(model, 0x5A, 8 * SECTOR);
    check_all(&f.disk);
    struct blk_cow_stats st;
    blk_cow_get_stats(&f.cow, &st);
    assert_true(st.overlay_bytes <= 3 * PAGE);
    assert_int_equal(st.overlay_limit, 3 * PAGE);
    assert_int_equal(st.overlay_full, 1);
    /* Zeroing part of a chunk that has a page needs none; part of one that
     * has not needs a page; a whole chunk needs none (its table exists). */
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 10, 1, NULL, 0), BLK_OK);
    memset(model + 10 * SECTOR, 0, SECTOR);
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 70, 1, NULL, 0), BLK_IOERR);
    assert_int_equal(f.cow.overlay_full, 2);
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 24, 8, NULL, 0), BLK_OK);
    memset(model + 24 * SECTOR, 0, 8 * SECTOR);
    assert_int_equal(f.cow.overlay_bytes, 3 * PAGE);
    check_all(&f.disk);
    unmake(&f);

    make(&f, false, 0);                          /* no overlay at all */
    assert_int_equal(rw(&f.disk, BLK_WRITE, 0, 1, data), BLK_IOERR);
    assert_int_equal(f.cow.overlay_full, 1);
    assert_int_equal(f.alloc.allocs, 0);
    check_all(&f.disk);
    unmake(&f);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t data[SECTOR];
    memset(data, 0x77, sizeof data);
    for (int n = 0; n < 3; n++) {
        make(&f, false, 1 << 20);
        f.alloc.fail_after = n;                  /* the table, the first, the second data page */
        assert_int_equal(rw(&f.disk, BLK_WRITE, 0, 1, data), n < 2 ? BLK_IOERR : BLK_OK);
        assert_int_equal(f.cow.overlay_full, n < 2);
        if (n == 2)
            memcpy(model, data, SECTOR);
        check_all(&f.disk);
        assert_int_equal(f.cow.overlay_bytes, (uint64_t)f.alloc.nlive * PAGE);
        unmake(&f);
    }
}

static void test_write_zeroes(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t data[8 * SECTOR];
    memset(data, 0xEE, sizeof data);
    make(&f, false, 1 << 20);
    /* Whole chunk 1 (sectors 8..15) with no page: only the table is taken. */
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 8, 8, NULL, 0), BLK_OK);
    memset(model + 8 * SECTOR, 0, 8 * SECTOR);
    check_all(&f.disk);
    assert_int_equal(f.cow.overlay_bytes, PAGE);
    /* A whole chunk that has a page gives it back. */
    assert_int_equal(rw(&f.disk, BLK_WRITE, 16, 8, data), BLK_OK);
    assert_int_equal(f.cow.overlay_bytes, 2 * PAGE);
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 16, 8, NULL, 0), BLK_OK);
    memset(model + 16 * SECTOR, 0, 8 * SECTOR);
    assert_int_equal(f.cow.overlay_bytes, PAGE);
    check_all(&f.disk);
    /* Writing into a zero chunk: a page of zeros under the write. */
    assert_int_equal(rw(&f.disk, BLK_WRITE, 9, 1, data), BLK_OK);
    memset(model + 9 * SECTOR, 0xEE, SECTOR);
    check_all(&f.disk);
    /* Parts of chunks: sectors 30..41 (part of 3, part of 5, all of 4). */
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 30, 12, NULL, 0), BLK_OK);
    memset(model + 30 * SECTOR, 0, 12 * SECTOR);
    check_all(&f.disk);
    /* The last, short chunk counts as whole. */
    uint64_t before = f.cow.overlay_bytes;
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 128, 1, NULL, 0), BLK_OK);
    memset(model + 128 * SECTOR, 0, SECTOR);
    assert_int_equal(f.cow.overlay_bytes, before);
    check_all(&f.disk);
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 0, 0, NULL, 0), BLK_OK);
    unmake(&f);
}

static void test_discard(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t data[24 * SECTOR];
    memset(data, 0xC3, sizeof data);
    make(&f, false, 1 << 20);
    assert_int_equal(rw(&f.disk, BLK_WRITE, 0, 24, data), BLK_OK);     /* chunks 0..2 */
    assert_int_equal(f.cow.overlay_bytes, 4 * PAGE);
    /* Sectors 4..19: all of chunk 1, halves of 0 and 2. Chunk 1 reads as the
     * image again (virtio promises no content after a discard); 0 and 2 keep
     * their data. */
    assert_int_equal(run(&f.disk, BLK_DISCARD, 4, 16, NULL, 0), BLK_OK);
    memset(model, 0xC3, 24 * SECTOR);
    memcpy(model + 8 * SECTOR, pristine + 8 * SECTOR, 8 * SECTOR);
    check_all(&f.disk);
    assert_int_equal(f.cow.overlay_bytes, 3 * PAGE);
    /* A range inside one chunk frees nothing. */
    assert_int_equal(run(&f.disk, BLK_DISCARD, 1, 6, NULL, 0), BLK_OK);
    assert_int_equal(f.cow.overlay_bytes, 3 * PAGE);
    /* Zero entries go too. */
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 120, 9, NULL, 0), BLK_OK);
    assert_int_equal(run(&f.disk, BLK_DISCARD, 120, 9, NULL, 0), BLK_OK);
    check_all(&f.disk);
    /* The whole disk: every page, the table too. */
    assert_int_equal(run(&f.disk, BLK_DISCARD, 0, 129, NULL, 0), BLK_OK);
    assert_int_equal(f.cow.overlay_bytes, 0);
    assert_int_equal(f.alloc.nlive, 0);
    model_reset();
    check_all(&f.disk);
    unmake(&f);
}

static void test_read_only(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t data[SECTOR];
    memset(data, 1, sizeof data);
    make(&f, true, 1 << 20);
    assert_true(f.disk.read_only);
    assert_int_equal(rw(&f.disk, BLK_WRITE, 0, 1, data), BLK_IOERR);
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 0, 8, NULL, 0), BLK_IOERR);
    assert_int_equal(run(&f.disk, BLK_DISCARD, 0, 8, NULL, 0), BLK_IOERR);
    assert_int_equal(run(&f.disk, BLK_FLUSH, 0, 0, NULL, 0), BLK_OK);
    assert_int_equal(f.cow.overlay_full, 0);     /* refused, not full */
    assert_int_equal(f.alloc.allocs, 0);
    check_all(&f.disk);
    unmake(&f);
}

static void test_fini_frees_everything(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t data[3 * SECTOR];
    memset(data, 9, sizeof data);
    make(&f, false, 1 << 20);
    for (uint64_t s = 0; s + 3 <= 129; s += 11)
        assert_int_equal(rw(&f.disk, BLK_WRITE, s, 3, data), BLK_OK);
    assert_int_equal(run(&f.disk, BLK_WRITE_ZEROES, 64, 16, NULL, 0), BLK_OK);
    assert_true(f.alloc.nlive > 10);
    assert_int_equal(f.cow.overlay_bytes, (uint64_t)f.alloc.nlive * PAGE);
    unmake(&f);                                  /* checks nothing is left */
    assert_int_equal(f.alloc.allocs, f.alloc.frees);
}

/* A disk of 3 GiB (zero pages of the host, never touched): three table levels. */
static void test_three_levels(void **state)
{
    (void)state;
    const uint64_t bytes = 3ull << 30;
    void *big = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (big == MAP_FAILED)
        skip();
    struct fake_alloc a = { .fail_after = -1 };
    struct blk_cow_pages p = pages_of(&a);
    struct blk_cow cow;
    struct blk_disk disk;
    assert_true(blk_cow_init(&cow, &disk, "big", big, bytes, false, 1 << 20, &p));
    assert_int_equal(cow.levels, 3);
    uint8_t data[2 * SECTOR], back[2 * SECTOR];
    memset(data, 0x42, sizeof data);
    uint64_t last = disk.capacity - 1;
    /* Across the 1 GiB boundary (two subtrees), and the last sector. */
    uint64_t mid = (1ull << 30) / SECTOR - 1;
    assert_int_equal(rw(&disk, BLK_WRITE, mid, 2, data), BLK_OK);
    assert_int_equal(rw(&disk, BLK_WRITE, last, 1, data), BLK_OK);
    /* The root, and a level-2 table, a leaf and a data page in each of three
     * 1 GiB subtrees. */
    assert_int_equal(cow.overlay_bytes, 10 * PAGE);
    assert_int_equal(rw(&disk, BLK_READ, mid, 2, back), BLK_OK);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(rw(&disk, BLK_READ, mid - 2, 2, back), BLK_OK);
    for (unsigned i = 0; i < sizeof back; i++)
        assert_int_equal(back[i], 0);
    assert_int_equal(run(&disk, BLK_DISCARD, 0, disk.capacity, NULL, 0), BLK_OK);
    assert_int_equal(a.nlive, 0);
    assert_int_equal(rw(&disk, BLK_WRITE, last, 1, data), BLK_OK);
    blk_cow_fini(&cow);
    assert_int_equal(a.nlive, 0);
    munmap(big, bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_capacity),
        cmocka_unit_test(test_tail_sector),
        cmocka_unit_test(test_overlays_are_private),
        cmocka_unit_test(test_chunk_crossing_and_odd_splits),
        cmocka_unit_test(test_bounds_and_buffers),
        cmocka_unit_test(test_limit_reached),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_write_zeroes),
        cmocka_unit_test(test_discard),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_fini_frees_everything),
        cmocka_unit_test(test_three_levels),
    };
    return cmocka_run_group_tests(tests, setup_image, NULL);
}
