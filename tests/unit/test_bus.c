/* dev/bus.c: claims (overlap refused, naming the owner), moves, removals,
 * dispatch by offset, the ISA byte split, and changes made while other threads
 * dispatch (no access reaches a range after the change that removed it). */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "dev/bus.h"

struct fake_dev {
    uint64_t last_offset, last_val;
    unsigned last_size, calls;
    bool last_write;
    uint8_t regs[16];
};

static enum bus_result fake_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                   bool write, uint64_t *val)
{
    struct fake_dev *d = dev;
    (void)v;
    d->calls++;
    d->last_offset = offset;
    d->last_size = size;
    d->last_write = write;
    if (write)
        d->last_val = *val;
    else
        *val = 0x1000 + offset;
    return BUS_OK;
}

static enum bus_result refuse(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                              bool write, uint64_t *val)
{
    (void)dev; (void)v; (void)offset; (void)size; (void)write; (void)val;
    return BUS_REFUSED;
}

static struct bus bus;

static int setup(void **state)
{
    (void)state;
    bus_init(&bus);
    return 0;
}

static void test_claim_and_dispatch_by_offset(void **state)
{
    (void)state;
    struct fake_dev uart = { 0 }, apic = { 0 };
    int u = bus_claim(&bus, BUS_PIO, 0x3f8, 8, "uart", fake_access, &uart);
    int a = bus_claim(&bus, BUS_MMIO, 0xFEE00000, 0x1000, "lapic", fake_access, &apic);
    assert_true(u >= 0 && a >= 0 && u != a);

    uint64_t val = 0;
    assert_int_equal(bus_access(&bus, BUS_PIO, NULL, 0x3fd, 1, false, &val), BUS_OK);
    assert_int_equal(val, 0x1005);                   /* offset 5 in the range */
    assert_int_equal(uart.last_offset, 5);
    assert_int_equal(uart.last_size, 1);

    val = 0xAB;
    assert_int_equal(bus_access(&bus, BUS_MMIO, NULL, 0xFEE000B0, 4, true, &val), BUS_OK);
    assert_int_equal(apic.last_offset, 0xB0);
    assert_true(apic.last_write);
    assert_int_equal(apic.last_val, 0xAB);
    assert_int_equal(uart.calls, 1);                 /* the other device saw nothing */

    /* Ends are exclusive; spaces are apart (port 0x3f8 is no MMIO address). */
    assert_int_equal(bus_access(&bus, BUS_PIO, NULL, 0x400, 1, false, &val), BUS_UNCLAIMED);
    assert_int_equal(bus_access(&bus, BUS_PIO, NULL, 0x3f7, 1, false, &val), BUS_UNCLAIMED);
    assert_int_equal(bus_access(&bus, BUS_MMIO, NULL, 0x3f8, 1, false, &val), BUS_UNCLAIMED);
    assert_int_equal(bus_access(&bus, BUS_MSR, NULL, 0x3f8, 8, false, &val), BUS_UNCLAIMED);
    assert_int_equal(uart.calls, 1);
}

static void test_overlap_refused_naming_the_owner(void **state)
{
    (void)state;
    struct fake_dev a = { 0 }, b = { 0 };
    int pit = bus_claim(&bus, BUS_PIO, 0x40, 4, "pit", fake_access, &a);
    assert_true(pit >= 0);
    /* Every kind of overlap: same, inside, across either end, around. */
    const uint64_t base[] = { 0x40, 0x41, 0x3F, 0x43, 0x30 };
    const uint64_t size[] = { 4, 1, 2, 4, 0x20 };
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(bus_claim(&bus, BUS_PIO, base[i], size[i], "x", fake_access, &b),
                         BUS_E_OVERLAP);
        int other = bus_conflict(&bus, BUS_PIO, base[i], size[i], -1);
        assert_int_equal(other, pit);
        assert_string_equal(bus_range_of(&bus, other)->name, "pit");
    }
    /* Adjacent ranges and other spaces do not overlap. */
    assert_true(bus_claim(&bus, BUS_PIO, 0x44, 1, "next", fake_access, &b) >= 0);
    assert_true(bus_claim(&bus, BUS_PIO, 0x3F, 1, "before", fake_access, &b) >= 0);
    assert_true(bus_claim(&bus, BUS_MSR, 0x40, 4, "msrs", fake_access, &b) >= 0);
    /* Near the top of the address space: no wrap-around fools the check. */
    assert_true(bus_claim(&bus, BUS_MMIO, UINT64_MAX - 0x1000, 0x1000, "top", fake_access, &b) >= 0);
    assert_int_equal(bus_claim(&bus, BUS_MMIO, UINT64_MAX - 1, 1, "top2", fake_access, &b),
                     BUS_E_OVERLAP);
    assert_int_equal(bus_claim(&bus, BUS_MMIO, 0, UINT64_MAX, "all", fake_access, &b),
                     BUS_E_OVERLAP);
}

static void test_bad_ranges(void **state)
{
    (void)state;
    struct fake_dev d = { 0 };
    assert_int_equal(bus_claim(&bus, BUS_PIO, 0x10, 0, "empty", fake_access, &d), BUS_E_RANGE);
    assert_int_equal(bus_claim(&bus, BUS_PIO, 0xFFFF, 2, "past 64K", fake_access, &d),
                     BUS_E_RANGE);
    assert_int_equal(bus_claim(&bus, BUS_MSR, 0xFFFFFFFFull, 2, "past 2^32", fake_access, &d),
                     BUS_E_RANGE);
    assert_int_equal(bus_claim(&bus, BUS_MMIO, UINT64_MAX, 2, "wraps", fake_access, &d),
                     BUS_E_RANGE);
    assert_int_equal(bus_claim(&bus, BUS_SPACES, 0, 1, "no space", fake_access, &d), BUS_E_RANGE);
    assert_int_equal(bus_claim(&bus, BUS_PIO, 0x10, 1, "no handler", NULL, &d), BUS_E_RANGE);
    assert_true(bus_claim(&bus, BUS_PIO, 0xFFFF, 1, "last port", fake_access, &d) >= 0);
}

static void test_full(void **state)
{
    (void)state;
    struct fake_dev d = { 0 };
    for (unsigned i = 0; i < BUS_MAX_RANGES; i++)
        assert_int_equal(bus_claim(&bus, BUS_PIO, i * 2, 2, "d", fake_access, &d), (int)i);
    assert_int_equal(bus_claim(&bus, BUS_PIO, 0x1000, 1, "one more", fake_access, &d),
                     BUS_E_FULL);
    assert_int_equal(bus_release(&bus, 7), 0);
    assert_int_equal(bus_claim(&bus, BUS_PIO, 0x1000, 1, "one more", fake_access, &d), 7);
}

static void test_move(void **state)
{
    (void)state;
    struct fake_dev bar = { 0 }, other = { 0 };
    int id = bus_claim(&bus, BUS_MMIO, 0xC0000000, 0x1000, "bar0", fake_access, &bar);
    int o = bus_claim(&bus, BUS_MMIO, 0xC0002000, 0x1000, "other", fake_access, &other);
    uint64_t val;
    assert_int_equal(bus_move(&bus, id, 0xD0000000), 0);
    assert_int_equal(bus_access(&bus, BUS_MMIO, NULL, 0xC0000010, 4, false, &val), BUS_UNCLAIMED);
    assert_int_equal(bus_access(&bus, BUS_MMIO, NULL, 0xD0000010, 4, false, &val), BUS_OK);
    assert_int_equal(bar.last_offset, 0x10);         /* offsets follow the range */
    /* A move onto another range is refused, and the range stays where it was. */
    assert_int_equal(bus_move(&bus, id, 0xC0002800), BUS_E_OVERLAP);
    assert_int_equal(bus_conflict(&bus, BUS_MMIO, 0xC0002800, 0x1000, id), o);
    assert_int_equal(bus_range_of(&bus, id)->base, 0xD0000000);
    /* Onto part of its own old place: fine. */
    assert_int_equal(bus_move(&bus, id, 0xD0000800), 0);
    assert_int_equal(bus_move(&bus, 40, 0), BUS_E_NOENT);
    assert_int_equal(bus_move(&bus, id, UINT64_MAX - 0x10), BUS_E_RANGE);
}

static void test_release(void **state)
{
    (void)state;
    struct fake_dev a = { 0 }, b = { 0 };
    int x = bus_claim(&bus, BUS_PIO, 0x60, 1, "a", fake_access, &a);
    bus_claim(&bus, BUS_PIO, 0x64, 1, "a2", fake_access, &a);
    int y = bus_claim(&bus, BUS_PIO, 0x70, 2, "b", fake_access, &b);
    uint64_t val;
    assert_int_equal(bus_release(&bus, x), 0);
    assert_int_equal(bus_release(&bus, x), BUS_E_NOENT);
    assert_null(bus_range_of(&bus, x));
    assert_int_equal(bus_access(&bus, BUS_PIO, NULL, 0x60, 1, false, &val), BUS_UNCLAIMED);
    assert_int_equal(bus_release_dev(&bus, &a), 1);  /* the one left */
    assert_false(bus_find(&bus, BUS_PIO, 0x64, NULL));
    struct bus_range r;
    assert_true(bus_find(&bus, BUS_PIO, 0x71, &r));
    assert_string_equal(r.name, "b");
    assert_int_equal(r.base, 0x70);
    assert_int_equal(bus_range_of(&bus, y)->size, 2);
    /* The freed place can be claimed again. */
    assert_true(bus_claim(&bus, BUS_PIO, 0x60, 8, "c", fake_access, &b) >= 0);
}

static void test_refused_passes_through(void **state)
{
    (void)state;
    uint64_t val = 0;
    bus_claim(&bus, BUS_MSR, 0x1B, 1, "apic-base", refuse, NULL);
    assert_int_equal(bus_access(&bus, BUS_MSR, NULL, 0x1B, 8, true, &val), BUS_REFUSED);
}

static void byte_reg(void *dev, unsigned offset, bool write, uint8_t *b)
{
    struct fake_dev *d = dev;
    if (write)
        d->regs[offset] = *b;
    else
        *b = d->regs[offset];
}

static void test_bytewise(void **state)
{
    (void)state;
    struct fake_dev d = { .regs = { 0x11, 0x22, 0x33, 0x44 } };
    uint64_t val;
    bus_bytewise(&d, byte_reg, 4, 1, 2, false, &val);
    assert_int_equal(val, 0x3322);
    /* Bytes past the device's range read 0xFF and are not written. */
    bus_bytewise(&d, byte_reg, 4, 2, 4, false, &val);
    assert_int_equal(val, 0xFFFF4433);
    val = 0xA5A6A7A8;
    bus_bytewise(&d, byte_reg, 4, 3, 4, true, &val);
    assert_int_equal(d.regs[3], 0xA8);
    assert_int_equal(d.regs[4], 0);
}

/* --- changes while other threads dispatch --------------------------------------- */

struct race {
    struct bus *bus;
    volatile int stop;
    volatile int removed;            /* set once bus_unlock after the removal returned */
    volatile int late;               /* accesses that reached the range after that */
    unsigned long hits;
};

static struct race race;

static enum bus_result race_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                   bool write, uint64_t *val)
{
    (void)dev; (void)v; (void)offset; (void)size; (void)write;
    if (__atomic_load_n(&race.removed, __ATOMIC_SEQ_CST))
        __atomic_fetch_add(&race.late, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&race.hits, 1, __ATOMIC_RELAXED);
    *val = 1;
    return BUS_OK;
}

static void *reader(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&race.stop, __ATOMIC_SEQ_CST)) {
        uint64_t val = 0;
        bus_access(race.bus, BUS_MMIO, NULL, 0xC0000000 + 8, 4, false, &val);
        bus_access(race.bus, BUS_MMIO, NULL, 0xD0000000 + 8, 4, false, &val);
    }
    return NULL;
}

static void test_concurrent_change(void **state)
{
    (void)state;
    race = (struct race){ .bus = &bus };
    pthread_t t[3];
    for (unsigned round = 0; round < 200; round++) {
        __atomic_store_n(&race.removed, 0, __ATOMIC_SEQ_CST);
        bus_lock(&bus);
        int id = bus_claim(&bus, BUS_MMIO, 0xC0000000, 0x1000, "bar", race_access, NULL);
        bus_unlock(&bus);
        assert_true(id >= 0);
        if (round == 0)
            for (unsigned i = 0; i < 3; i++)
                assert_int_equal(pthread_create(&t[i], NULL, reader, NULL), 0);
        /* Until a reader reached the range (however loaded the machine). */
        unsigned long before = __atomic_load_n(&race.hits, __ATOMIC_SEQ_CST);
        for (unsigned wait = 0; __atomic_load_n(&race.hits, __ATOMIC_SEQ_CST) == before &&
                                wait < 100000; wait++)
            sched_yield();
        bus_lock(&bus);                              /* a BAR moves ... */
        assert_int_equal(bus_move(&bus, id, 0xD0000000), 0);
        bus_unlock(&bus);
        for (volatile unsigned spin = 0; spin < 20000; spin++)
            ;
        bus_lock(&bus);                              /* ... and the device goes */
        assert_int_equal(bus_release(&bus, id), 0);
        bus_unlock(&bus);
        __atomic_store_n(&race.removed, 1, __ATOMIC_SEQ_CST);
        for (volatile unsigned spin = 0; spin < 20000; spin++)
            ;
    }
    __atomic_store_n(&race.stop, 1, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(race.late, 0);
    assert_true(race.hits >= 200);                   /* they reached it in every round */
}

/* Deterministic: a change waits for a handler that is running on its range,
 * and once the change is made no access reaches the removed range. */
static volatile int in_handler, writer_waiting, handler_done;

static enum bus_result slow_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                   bool write, uint64_t *val)
{
    (void)dev; (void)v; (void)offset; (void)size; (void)write;
    __atomic_store_n(&in_handler, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&writer_waiting, __ATOMIC_SEQ_CST))
        ;
    for (volatile unsigned spin = 0; spin < 2000000; spin++)   /* the writer is blocked */
        ;
    __atomic_store_n(&handler_done, 1, __ATOMIC_SEQ_CST);
    *val = 7;
    return BUS_OK;
}

static void *one_access(void *arg)
{
    uint64_t val = 0;
    *(enum bus_result *)arg = bus_access(&bus, BUS_PIO, NULL, 0x510, 1, false, &val);
    return NULL;
}

static void test_change_waits_for_running_handler(void **state)
{
    (void)state;
    in_handler = writer_waiting = handler_done = 0;
    int id = bus_claim(&bus, BUS_PIO, 0x510, 2, "slow", slow_access, NULL);
    enum bus_result first = BUS_UNCLAIMED, second = BUS_OK;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, one_access, &first), 0);
    while (!__atomic_load_n(&in_handler, __ATOMIC_SEQ_CST))
        ;
    __atomic_store_n(&writer_waiting, 1, __ATOMIC_SEQ_CST);
    bus_lock(&bus);                  /* must wait for the handler to return */
    assert_int_equal(handler_done, 1);
    assert_int_equal(bus_release(&bus, id), 0);
    bus_unlock(&bus);
    pthread_join(t, NULL);
    assert_int_equal(first, BUS_OK);
    in_handler = 0;
    one_access(&second);             /* after the removal: no device */
    assert_int_equal(second, BUS_UNCLAIMED);
    assert_int_equal(in_handler, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_claim_and_dispatch_by_offset, setup),
        cmocka_unit_test_setup(test_overlap_refused_naming_the_owner, setup),
        cmocka_unit_test_setup(test_bad_ranges, setup),
        cmocka_unit_test_setup(test_full, setup),
        cmocka_unit_test_setup(test_move, setup),
        cmocka_unit_test_setup(test_release, setup),
        cmocka_unit_test_setup(test_refused_passes_through, setup),
        cmocka_unit_test_setup(test_bytewise, setup),
        cmocka_unit_test_setup(test_change_waits_for_running_handler, setup),
        cmocka_unit_test_setup(test_concurrent_change, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
