/* dev/virtio_ring.c: chains taken from a fake guest RAM (direct, split into
 * read and write parts, indirect), every rule a hostile driver can break
 * (loops, indices out of range, an available index too far ahead, buffers
 * outside RAM or wrapping past 2^64, order of readable and writable, segment
 * and byte limits, zero lengths, nested or unnegotiated indirect tables), the
 * configuration checks, the used ring, both notification suppression schemes
 * across 16-bit wraparound, and the sticky error that only a reset clears. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/virtio_ring.h>
#include "dev/virtio_ring.h"

/* Guest RAM: RAM_SIZE bytes at RAM_BASE, and for the byte-limit test a large
 * heap region at BIG_BASE. */
#define RAM_BASE  0x100000ull
#define RAM_SIZE  0x10000ull
#define BIG_BASE  0x100000000ull
#define BIG_SIZE  ((64ull << 20) + 4096)

#define DESC   (RAM_BASE + 0x0000)
#define AVAIL  (RAM_BASE + 0x4000)
#define USED   (RAM_BASE + 0x5000)
#define INDIR  (RAM_BASE + 0x8000)
#define DATA   (RAM_BASE + 0xC000)

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static uint8_t *big;
static unsigned map_calls, wrapping_asks;

static void *fake_map(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)ctx;
    map_calls++;
    assert_true(len != 0);                        /* the header's promise */
    if (gpa > UINT64_MAX - len) {                 /* the ring should never ask */
        wrapping_asks++;
        return NULL;
    }
    if (gpa >= RAM_BASE && gpa - RAM_BASE <= RAM_SIZE && len <= RAM_SIZE - (gpa - RAM_BASE))
        return ram + (gpa - RAM_BASE);
    if (big && gpa >= BIG_BASE && gpa - BIG_BASE <= BIG_SIZE && len <= BIG_SIZE - (gpa - BIG_BASE))
        return big + (gpa - BIG_BASE);
    return NULL;
}

static const struct virtq_mem mem = { fake_map, NULL };
static struct virtq q;
static struct virtq_chain c;

static void *host(uint64_t gpa) { return ram + (gpa - RAM_BASE); }
static struct vring_avail *avail(void) { return host(AVAIL); }
static struct vring_used *used(void) { return host(USED); }

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    struct vring_desc *d = host(table + 16ull * i);
    d->addr = addr;
    d->len = len;
    d->flags = flags;
    d->next = next;
}

/* Makes chain head available, as a driver does (2.7.13.2, 2.7.13.3). */
static void offer(uint16_t head)
{
    avail()->ring[avail()->idx & (q.size - 1)] = head;
    avail()->idx++;
}

static void configure(uint16_t size, bool event_idx, bool indirect)
{
    q = (struct virtq){ .size = size, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED,
                        .event_idx = event_idx, .indirect = indirect };
    virtq_reset(&q);
    assert_true(virtq_check_config(&q, &mem));
    q.ready = true;
}

static int setup(void **state)
{
    (void)state;
    memset(ram, 0, sizeof ram);
    memset(&c, 0, sizeof c);
    map_calls = wrapping_asks = 0;
    configure(8, false, false);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(wrapping_asks, 0);
    free(big);
    big = NULL;
    return 0;
}

/* Pops and expects failure naming a rule that contains want. */
static void expect_error(const char *want)
{
    assert_int_equal(virtq_pop(&q, &mem, &c), -1);
    assert_non_null(q.error);
    if (!strstr(q.error, want))
        fail_msg("error \"%s\" does not mention \"%s\"", q.error, want);
}

static void test_simple_chain(void **state)
{
    (void)state;
    put_desc(DESC, 3, DATA, 16, VRING_DESC_F_NEXT, 5);
    put_desc(DESC, 5, DATA + 0x100, 32, 0, 7);    /* no NEXT: its next is ignored */
    offer(3);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.head, 3);
    assert_int_equal(c.nseg, 2);
    assert_int_equal(c.nread, 2);
    assert_ptr_equal(c.seg[0].hva, host(DATA));
    assert_int_equal(c.seg[0].len, 16);
    assert_false(c.seg[0].write);
    assert_ptr_equal(c.seg[1].hva, host(DATA + 0x100));
    assert_int_equal(c.seg[1].len, 32);
    assert_int_equal(c.read_bytes, 48);
    assert_int_equal(c.write_bytes, 0);
    assert_int_equal(q.last_avail, 1);
    assert_int_equal(virtq_pop(&q, &mem, &c), 0);   /* nothing more */
    assert_null(q.error);
}

static void test_read_write_split(void **state)
{
    (void)state;
    put_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
    put_desc(DESC, 1, DATA + 0x10, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    put_desc(DESC, 2, DATA + 0x210, 1, VRING_DESC_F_WRITE, 0);
    put_desc(DESC, 4, DATA + 0x300, 8, VRING_DESC_F_WRITE, 0);   /* write-only chain */
    offer(0);
    offer(4);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.nseg, 3);
    assert_int_equal(c.nread, 1);
    assert_int_equal(c.read_bytes, 16);
    assert_int_equal(c.write_bytes, 513);
    assert_true(c.seg[1].write && c.seg[2].write);
    assert_ptr_equal(c.seg[2].hva, host(DATA + 0x210));
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.head, 4);
    assert_int_equal(c.nread, 0);
    assert_int_equal(c.write_bytes, 8);
}

static void test_indirect_chain(void **state)
{
    (void)state;
    configure(8, false, true);
    /* A table walked out of order: 0 -> 2 -> 1. WRITE on the descriptor that
     * refers to the table is ignored (2.7.5.3.2). */
    put_desc(DESC, 6, INDIR, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
    put_desc(INDIR, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
    put_desc(INDIR, 2, DATA + 0x10, 64, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    put_desc(INDIR, 1, DATA + 0x50, 1, VRING_DESC_F_WRITE, 0);
    offer(6);
    /* Direct descriptors followed by an indirect one (2.7.5.3.2 accepts it). */
    put_desc(DESC, 1, DATA + 0x100, 4, VRING_DESC_F_NEXT, 2);
    put_desc(DESC, 2, INDIR + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
    put_desc(INDIR + 0x100, 0, DATA + 0x200, 8, VRING_DESC_F_WRITE, 0);
    offer(1);

    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.head, 6);
    assert_int_equal(c.nseg, 3);
    assert_int_equal(c.nread, 1);
    assert_ptr_equal(c.seg[1].hva, host(DATA + 0x10));
    assert_int_equal(c.seg[2].len, 1);
    assert_int_equal(c.read_bytes, 16);
    assert_int_equal(c.write_bytes, 65);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.head, 1);
    assert_int_equal(c.nseg, 2);
    assert_int_equal(c.nread, 1);
    assert_true(c.seg[1].write);
    assert_ptr_equal(c.seg[1].hva, host(DATA + 0x200));
}

static void test_indirect_misaligned_table(void **state)
{
    (void)state;
    configure(8, false, true);
    /* No alignment rule for an indirect table: read byte-wise, accepted. */
    put_desc(DESC, 0, INDIR + 3, 16, VRING_DESC_F_INDIRECT, 0);
    struct vring_desc d = { .addr = DATA, .len = 24, .flags = VRING_DESC_F_WRITE };
    memcpy(host(INDIR + 3), &d, sizeof d);
    offer(0);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.write_bytes, 24);
}

static void test_indirect_not_negotiated(void **state)
{
    (void)state;
    put_desc(DESC, 0, INDIR, 16, VRING_DESC_F_INDIRECT, 0);
    put_desc(INDIR, 0, DATA, 16, 0, 0);
    offer(0);
    expect_error("VIRTIO_F_INDIRECT_DESC");
}

static void test_indirect_nested(void **state)
{
    (void)state;
    configure(8, false, true);
    put_desc(DESC, 0, INDIR, 32, VRING_DESC_F_INDIRECT, 0);
    put_desc(INDIR, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
    put_desc(INDIR, 1, INDIR + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
    put_desc(INDIR + 0x100, 0, DATA, 16, 0, 0);
    offer(0);
    expect_error("nested indirect");
}

static void test_indirect_bad_tables(void **state)
{
    (void)state;
    static const struct { uint32_t len; uint16_t flags; const char *want; } cases[] = {
        { 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, "NEXT" },
        { 0, VRING_DESC_F_INDIRECT, "multiple of 16" },
        { 24, VRING_DESC_F_INDIRECT, "multiple of 16" },
        { 16 * (VIRTQ_MAX_SIZE + 1), VRING_DESC_F_INDIRECT, "multiple of 16" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(ram, 0, sizeof ram);
        configure(8, false, true);
        put_desc(DESC, 0, INDIR, cases[i].len, cases[i].flags, 1);
        put_desc(DESC, 1, DATA, 16, 0, 0);
        put_desc(INDIR, 0, DATA, 16, 0, 0);
        offer(0);
        expect_error(cases[i].want);
    }
    /* a table outside RAM, and one wrapping past 2^64 */
    memset(ram, 0, sizeof ram);
    configure(8, false, true);
    put_desc(DESC, 0, RAM_BASE + RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
    offer(0);
    expect_error("outside the VM's RAM");
    memset(ram, 0, sizeof ram);
    configure(8, false, true);
    put_desc(DESC, 0, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
    offer(0);
    expect_error("outside the VM's RAM");
}

static void test_indirect_loop_and_next_range(void **state)
{
    (void)state;
    configure(8, false, true);
    put_desc(DESC, 0, INDIR, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    put_desc(INDIR, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
    put_desc(INDIR, 1, DATA, 16, VRING_DESC_F_NEXT, 2);
    put_desc(INDIR, 2, DATA, 16, VRING_DESC_F_NEXT, 0);
    offer(0);
    expect_error("loops");

    memset(ram, 0, sizeof ram);
    configure(8, false, true);
    put_desc(DESC, 0, INDIR, 2 * 16, VRING_DESC_F_INDIRECT, 0);
    put_desc(INDIR, 0, DATA, 16, VRING_DESC_F_NEXT, 2);     /* only 2 entries */
    put_desc(INDIR, 2, DATA, 16, 0, 0);
    offer(0);
    expect_error("indirect next index out of range");
}

static void test_looping_chain(void **state)
{
    (void)state;
    put_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
    put_desc(DESC, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
    offer(0);
    expect_error("loop");

    /* A chain through every descriptor once is fine (8 = the queue size). */
    memset(ram, 0, sizeof ram);
    configure(8, false, false);
    for (unsigned i = 0; i < 8; i++)
        put_desc(DESC, i, DATA, 1, i < 7 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    offer(0);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.nseg, 8);

    /* A self-loop. */
    put_desc(DESC, 2, DATA, 16, VRING_DESC_F_NEXT, 2);
    offer(2);
    expect_error("loop");
}

static void test_head_out_of_range(void **state)
{
    (void)state;
    offer(8);
    expect_error("head index out of range");
}

static void test_next_out_of_range(void **state)
{
    (void)state;
    put_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 8);
    offer(0);
    expect_error("next index out of range");
}

static void test_avail_idx_jump(void **state)
{
    (void)state;
    /* Exactly a queue's worth ahead is allowed... */
    for (unsigned i = 0; i < 8; i++) {
        put_desc(DESC, i, DATA, 16, 0, 0);
        offer((uint16_t)i);
    }
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(virtq_pop(&q, &mem, &c), 0);
    /* ...one more is not, across the 16-bit wrap too. */
    memset(ram, 0, sizeof ram);
    configure(8, false, false);
    q.last_avail = 0xFFFC;
    avail()->idx = (uint16_t)(0xFFFC + 9);
    expect_error("available index more than the queue size ahead");
    memset(ram, 0, sizeof ram);
    configure(8, false, false);
    q.last_avail = 5;
    avail()->idx = 4;                       /* behind: 0xFFFF ahead */
    expect_error("more than the queue size ahead");
}

static void test_descriptor_outside_ram(void **state)
{
    (void)state;
    static const struct { uint64_t addr; uint32_t len; } cases[] = {
        { RAM_BASE + RAM_SIZE, 1 },          /* just past the end */
        { RAM_BASE + RAM_SIZE - 8, 16 },     /* straddles the end */
        { RAM_BASE - 1, 2 },                 /* straddles the start */
        { 0, 16 },
        { UINT64_MAX - 7, 16 },              /* gpa + len wraps past 2^64 */
        { UINT64_MAX, 1 },
        { RAM_BASE, (uint32_t)RAM_SIZE + 1 },   /* larger than RAM */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(ram, 0, sizeof ram);
        configure(8, false, false);
        put_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
        put_desc(DESC, 1, cases[i].addr, cases[i].len, VRING_DESC_F_WRITE, 0);
        offer(0);
        expect_error("descriptor outside the VM's RAM");
    }
    /* The last byte of RAM is RAM. */
    memset(ram, 0, sizeof ram);
    configure(8, false, false);
    put_desc(DESC, 0, RAM_BASE + RAM_SIZE - 1, 1, 0, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_ptr_equal(c.seg[0].hva, ram + RAM_SIZE - 1);
}

static void test_readable_after_writable(void **state)
{
    (void)state;
    put_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    put_desc(DESC, 1, DATA, 16, 0, 0);
    offer(0);
    expect_error("device-readable descriptor after a device-writable one");

    /* The same across a direct and an indirect part. */
    memset(ram, 0, sizeof ram);
    configure(8, false, true);
    put_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    put_desc(DESC, 1, INDIR, 16, VRING_DESC_F_INDIRECT, 0);
    put_desc(INDIR, 0, DATA, 16, 0, 0);
    offer(0);
    expect_error("device-readable descriptor after a device-writable one");
}

static void test_too_many_segments(void **state)
{
    (void)state;
    /* VIRTQ_MAX_SEGS in an indirect table is fine, one more is not. */
    for (unsigned n = VIRTQ_MAX_SEGS; n <= VIRTQ_MAX_SEGS + 1; n++) {
        memset(ram, 0, sizeof ram);
        configure(8, false, true);
        put_desc(DESC, 0, INDIR, n * 16, VRING_DESC_F_INDIRECT, 0);
        for (unsigned i = 0; i < n; i++)
            put_desc(INDIR, i, DATA + i, 1, i + 1 < n ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
        offer(0);
        if (n == VIRTQ_MAX_SEGS) {
            assert_int_equal(virtq_pop(&q, &mem, &c), 1);
            assert_int_equal(c.nseg, VIRTQ_MAX_SEGS);
            assert_int_equal(c.read_bytes, VIRTQ_MAX_SEGS);
        } else {
            expect_error("VIRTQ_MAX_SEGS");
        }
    }
    /* The same with a direct queue of 512 (the descriptors fill 8 KiB). */
    memset(ram, 0, sizeof ram);
    configure(512, false, false);
    for (unsigned i = 0; i < VIRTQ_MAX_SEGS + 1; i++)
        put_desc(DESC, i, DATA, 1, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    offer(0);
    expect_error("VIRTQ_MAX_SEGS");
}

static void test_too_many_bytes(void **state)
{
    (void)state;
    big = calloc(1, BIG_SIZE);
    assert_non_null(big);
    const uint32_t half = VIRTQ_MAX_CHAIN_BYTES / 2;
    put_desc(DESC, 0, BIG_BASE, half, VRING_DESC_F_NEXT, 1);
    put_desc(DESC, 1, BIG_BASE + half, half, VRING_DESC_F_WRITE, 0);   /* exactly the limit */
    offer(0);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.read_bytes + c.write_bytes, VIRTQ_MAX_CHAIN_BYTES);
    assert_ptr_equal(c.seg[1].hva, big + half);

    put_desc(DESC, 1, BIG_BASE + half, half + 1, VRING_DESC_F_WRITE, 0);
    offer(0);
    expect_error("VIRTQ_MAX_CHAIN_BYTES");

    /* A single descriptor over the limit. */
    memset(ram, 0, sizeof ram);
    configure(8, false, false);
    put_desc(DESC, 0, BIG_BASE, VIRTQ_MAX_CHAIN_BYTES + 1, 0, 0);
    offer(0);
    expect_error("VIRTQ_MAX_CHAIN_BYTES");
}

static void test_zero_length(void **state)
{
    (void)state;
    /* QEMU's rule ("zero sized buffers are not allowed"), direct or indirect. */
    put_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
    put_desc(DESC, 1, DATA, 0, VRING_DESC_F_WRITE, 0);
    offer(0);
    expect_error("zero-length");

    memset(ram, 0, sizeof ram);
    configure(8, false, true);
    put_desc(DESC, 0, INDIR, 16, VRING_DESC_F_INDIRECT, 0);
    put_desc(INDIR, 0, DATA, 0, 0, 0);
    offer(0);
    expect_error("zero-length");
}

static void check_config_fails(const char *want)
{
    q.error = NULL;
    assert_false(virtq_check_config(&q, &mem));
    assert_non_null(q.error);
    if (!strstr(q.error, want))
        fail_msg("error \"%s\" does not mention \"%s\"", q.error, want);
}

static void test_check_config_alignment(void **state)
{
    (void)state;
    q = (struct virtq){ .size = 8, .desc_gpa = DESC + 8, .avail_gpa = AVAIL, .used_gpa = USED };
    check_config_fails("descriptor table not 16-byte aligned");
    q.desc_gpa = DESC;
    q.avail_gpa = AVAIL + 1;
    check_config_fails("available ring not 2-byte aligned");
    q.avail_gpa = AVAIL + 2;
    q.used_gpa = USED + 2;
    check_config_fails("used ring not 4-byte aligned");
    q.used_gpa = USED + 4;
    q.error = NULL;
    assert_true(virtq_check_config(&q, &mem));
    assert_null(q.error);
}

static void test_check_config_size(void **state)
{
    (void)state;
    static const uint16_t bad[] = { 0, 3, 6, 1000, 2048, 0x8000, 0xFFFF };
    static const uint16_t good[] = { 1, 2, 256, VIRTQ_MAX_SIZE };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q = (struct virtq){ .size = bad[i], .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };
        check_config_fails("power of 2");
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        /* rings far apart: a 1024-entry used ring takes 8 KiB */
        q = (struct virtq){ .size = good[i], .desc_gpa = RAM_BASE, .avail_gpa = RAM_BASE + 0x4000,
                            .used_gpa = RAM_BASE + 0x8000 };
        assert_true(virtq_check_config(&q, &mem));
    }
}

static void test_check_config_in_ram(void **state)
{
    (void)state;
    /* The avail ring of 8 (4 + 16 bytes) ends at the end of RAM: fine without
     * EVENT_IDX, 2 bytes short with it (used_event). Same for the used ring. */
    const uint64_t avail_end = RAM_BASE + RAM_SIZE - (4 + 2 * 8);
    const uint64_t used_end = RAM_BASE + RAM_SIZE - (4 + 8 * 8);
    q = (struct virtq){ .size = 8, .desc_gpa = DESC, .avail_gpa = avail_end, .used_gpa = USED };
    assert_true(virtq_check_config(&q, &mem));
    q.event_idx = true;
    check_config_fails("available ring outside the VM's RAM");
    q.avail_gpa = AVAIL;
    q.used_gpa = used_end;
    check_config_fails("used ring outside the VM's RAM");
    q.event_idx = false;
    q.error = NULL;
    assert_true(virtq_check_config(&q, &mem));

    q.desc_gpa = RAM_BASE + RAM_SIZE - 16 * 4;       /* half the table */
    check_config_fails("descriptor table outside the VM's RAM");
    q.desc_gpa = 0xFFFFFFFFFFFFFFF0ull;              /* would wrap past 2^64 */
    check_config_fails("descriptor table outside the VM's RAM");
    q.desc_gpa = DESC;
    q.avail_gpa = 0xFFFFFFFFFFFFFFFEull;
    check_config_fails("available ring outside the VM's RAM");
    q.avail_gpa = AVAIL;
    q.used_gpa = 0xFFFFFFFFFFFFFFFCull;
    check_config_fails("used ring outside the VM's RAM");
}

static void test_push_used_ring(void **state)
{
    (void)state;
    assert_true(virtq_push(&q, &mem, 3, 100));
    assert_true(virtq_push(&q, &mem, 5, 0));
    assert_int_equal(used()->idx, 2);
    assert_int_equal(used()->ring[0].id, 3);
    assert_int_equal(used()->ring[0].len, 100);
    assert_int_equal(used()->ring[1].id, 5);
    assert_int_equal(used()->ring[1].len, 0);

    /* Across the 16-bit wrap: entries go to used_idx % size. */
    q.used_idx = 0xFFFF;
    assert_true(virtq_push(&q, &mem, 7, 42));
    assert_int_equal(used()->ring[7].id, 7);
    assert_int_equal(used()->ring[7].len, 42);
    assert_int_equal(used()->idx, 0);
    assert_int_equal(q.used_idx, 0);
    assert_true(virtq_push(&q, &mem, 1, 1));
    assert_int_equal(used()->ring[0].id, 1);
    assert_int_equal(used()->idx, 1);

    /* A head the device never took is refused (a device bug). */
    assert_false(virtq_push(&q, &mem, 8, 0));
    assert_non_null(q.error);
}

static void test_notify_without_event_idx(void **state)
{
    (void)state;
    assert_true(virtq_push(&q, &mem, 0, 0));
    assert_true(virtq_should_notify(&q, &mem));
    avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
    assert_false(virtq_should_notify(&q, &mem));
    avail()->flags = 0;
    assert_true(virtq_should_notify(&q, &mem));
}

static void set_used_event(uint16_t v) { avail()->ring[q.size] = v; }

static void test_notify_event_idx(void **state)
{
    (void)state;
    configure(8, true, false);
    avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;     /* ignored with EVENT_IDX */
    set_used_event(5);
    assert_true(virtq_push(&q, &mem, 0, 0));
    assert_true(virtq_should_notify(&q, &mem));      /* the first one always */
    assert_true(q.signalled_valid);
    assert_int_equal(q.signalled_used, 1);
    assert_false(virtq_should_notify(&q, &mem));     /* nothing new */
    for (int i = 0; i < 4; i++)                      /* used_idx 1 -> 5 */
        assert_true(virtq_push(&q, &mem, 0, 0));
    assert_false(virtq_should_notify(&q, &mem));     /* used_event 5 not passed */
    assert_true(virtq_push(&q, &mem, 0, 0));         /* 6: the entry at 5 is used */
    assert_true(virtq_should_notify(&q, &mem));
    assert_int_equal(q.signalled_used, 6);

    /* Wraparound: signalled at 0xFFFE, two pushes take used_idx to 0. */
    q.used_idx = 0xFFFE;
    q.signalled_used = 0xFFFE;
    q.signalled_valid = true;
    assert_true(virtq_push(&q, &mem, 0, 0));
    assert_true(virtq_push(&q, &mem, 0, 0));
    assert_int_equal(q.used_idx, 0);
    static const struct { uint16_t used_event; bool need; } cases[] = {
        { 0xFFFE, true },      /* the entry at 0xFFFE was just used */
        { 0xFFFF, true },      /* and the one at 0xFFFF */
        { 0x0000, false },     /* not yet */
        { 0xFFFD, false },     /* already passed before the last signal */
        { 0x8000, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        q.signalled_used = 0xFFFE;
        set_used_event(cases[i].used_event);
        assert_int_equal(virtq_should_notify(&q, &mem), cases[i].need);
        assert_int_equal(q.signalled_used, 0);
    }
}

static void test_enable_notify(void **state)
{
    (void)state;
    virtq_enable_notify(&q, &mem, false);
    assert_int_equal(used()->flags, VRING_USED_F_NO_NOTIFY);
    virtq_enable_notify(&q, &mem, true);
    assert_int_equal(used()->flags, 0);

    configure(8, true, false);
    uint16_t *avail_event = (uint16_t *)&used()->ring[8];
    *avail_event = 0x1234;
    put_desc(DESC, 0, DATA, 16, 0, 0);
    offer(0);
    offer(0);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(*avail_event, 0x1234);          /* pop leaves it alone */
    virtq_enable_notify(&q, &mem, false);
    assert_int_equal(*avail_event, 0x1234);          /* left behind: suppressed */
    assert_int_equal(used()->flags, 0);
    virtq_enable_notify(&q, &mem, true);
    assert_int_equal(*avail_event, 1);               /* the next entry to take */
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    virtq_enable_notify(&q, &mem, true);
    assert_int_equal(*avail_event, 2);
    assert_int_equal(used()->flags, 0);
}

static void test_error_is_sticky(void **state)
{
    (void)state;
    offer(9);
    expect_error("head index out of range");
    const char *err = q.error;
    /* Repaired ring, still refused, and no memory is touched any more. */
    avail()->ring[0] = 0;
    put_desc(DESC, 0, DATA, 16, 0, 0);
    map_calls = 0;
    assert_int_equal(virtq_pop(&q, &mem, &c), -1);
    assert_false(virtq_push(&q, &mem, 0, 4));
    assert_false(virtq_should_notify(&q, &mem));
    virtq_enable_notify(&q, &mem, false);
    assert_int_equal(map_calls, 0);
    assert_int_equal(used()->idx, 0);
    assert_int_equal(used()->flags, 0);
    assert_ptr_equal(q.error, err);
    assert_int_equal(q.last_avail, 0);
}

static void test_reset_clears(void **state)
{
    (void)state;
    configure(8, true, false);
    put_desc(DESC, 0, DATA, 16, 0, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_true(virtq_push(&q, &mem, 0, 0));
    assert_true(virtq_should_notify(&q, &mem));
    offer(9);
    expect_error("head index out of range");

    virtq_reset(&q);
    assert_null(q.error);
    assert_false(q.ready);
    assert_int_equal(q.last_avail, 0);
    assert_int_equal(q.used_idx, 0);
    assert_int_equal(q.signalled_used, 0);
    assert_false(q.signalled_valid);
    assert_int_equal(q.size, 8);                     /* the configuration stays */
    assert_int_equal(virtq_pop(&q, &mem, &c), 0);    /* not ready: nothing */
    assert_false(virtq_push(&q, &mem, 0, 0));
    assert_null(q.error);

    /* The driver starts over too. */
    memset(ram, 0, sizeof ram);
    assert_true(virtq_check_config(&q, &mem));
    q.ready = true;
    put_desc(DESC, 2, DATA, 16, VRING_DESC_F_WRITE, 0);
    offer(2);
    assert_int_equal(virtq_pop(&q, &mem, &c), 1);
    assert_int_equal(c.head, 2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_simple_chain),
        T(test_read_write_split),
        T(test_indirect_chain),
        T(test_indirect_misaligned_table),
        T(test_indirect_not_negotiated),
        T(test_indirect_nested),
        T(test_indirect_bad_tables),
        T(test_indirect_loop_and_next_range),
        T(test_looping_chain),
        T(test_head_out_of_range),
        T(test_next_out_of_range),
        T(test_avail_idx_jump),
        T(test_descriptor_outside_ram),
        T(test_readable_after_writable),
        T(test_too_many_segments),
        T(test_too_many_bytes),
        T(test_zero_length),
        T(test_check_config_alignment),
        T(test_check_config_size),
        T(test_check_config_in_ram),
        T(test_push_used_ring),
        T(test_notify_without_event_idx),
        T(test_notify_event_idx),
        T(test_enable_notify),
        T(test_error_is_sticky),
        T(test_reset_clears),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
