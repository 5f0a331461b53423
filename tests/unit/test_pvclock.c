/* dev/pvclock: the TSC scale against exact 128-bit arithmetic over the TSC rates
 * hv86 meets (Bochs' tens of MHz to TCG's GHz), Linux's inverse (its tsc_khz),
 * and the version protocol of the time and wall clock areas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/pvclock.h"

#define NS_PER_S 1000000000ull

static const uint64_t rates[] = {
    1000000ull, 14318180ull, 50000000ull, 999999999ull, 1000000000ull, 1000000001ull,
    2000000000ull, 2399999000ull, 3700000000ull, 4294967296ull, 5000000000ull,
    10000000000ull, 1ull << 40,
};

/* The exact ns for delta ticks at hz, and how far the 32-bit scale may be off:
 * mul's truncation (2^-31 relative) plus the ticks a right shift drops. */
static uint64_t exact_ns(uint64_t delta, uint64_t hz)
{
    return (uint64_t)((unsigned __int128)delta * NS_PER_S / hz);
}

static void test_scale_of(void **state)
{
    (void)state;
    for (unsigned i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        uint64_t hz = rates[i];
        uint32_t mul;
        int8_t shift;
        assert_true(pvclock_scale_of(hz, &mul, &shift));
        assert_true(mul >= (1u << 31));              /* top bit set: full precision */
        for (uint64_t secs = 1; secs <= 100000; secs *= 10) {
            uint64_t want = exact_ns(hz * secs, hz), got = pvclock_scale(hz * secs, mul, shift);
            uint64_t tick_ns = NS_PER_S / hz + 1;
            uint64_t slack = want / (1ull << 30) + 1 + (shift < 0 ? tick_ns << -shift : 0);
            assert_true(got <= want);                /* both truncate */
            assert_true(want - got <= slack);
        }
        /* Linux's pvclock_tsc_khz: (10^6 << 32) / mul, shifted back; its division
         * truncates before a left shift, so it may be 2^-shift kHz low. */
        uint64_t khz = (1000000ull << 32) / mul;
        khz = shift < 0 ? khz << -shift : khz >> shift;
        uint64_t hz_khz = hz / 1000, low = (shift < 0 ? 1ull << -shift : 1) + 1;
        assert_true(khz + low >= hz_khz && khz <= hz_khz + 1 + hz_khz / (1u << 30));
    }
}

static void test_scale_of_zero(void **state)
{
    (void)state;
    uint32_t mul = 7;
    int8_t shift = 3;
    assert_false(pvclock_scale_of(0, &mul, &shift));
    assert_int_equal(mul, 7);
    assert_int_equal(shift, 3);
}

/* The 96-bit product against __int128, for deltas whose product overflows 64
 * bits, and both shift directions. */
static void test_scale_product(void **state)
{
    (void)state;
    const uint64_t deltas[] = { 0, 1, 0xFFFFFFFFull, 0x100000000ull, 0x123456789ABCDull,
                                0x0FFFFFFFFFFFFFFFull };
    const uint32_t muls[] = { 0x80000000u, 0xFFFFFFFFu, 0xABCDEF01u };
    const int8_t shifts[] = { -3, -1, 0, 1, 3 };
    for (unsigned d = 0; d < sizeof deltas / sizeof deltas[0]; d++)
        for (unsigned m = 0; m < sizeof muls / sizeof muls[0]; m++)
            for (unsigned s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
                uint64_t x = shifts[s] < 0 ? deltas[d] >> -shifts[s] : deltas[d] << shifts[s];
                uint64_t want = (uint64_t)(((unsigned __int128)x * muls[m]) >> 32);
                assert_int_equal(pvclock_scale(deltas[d], muls[m], shifts[s]), want);
            }
}

/* One tick more is never less time: the guest's clock cannot go back. */
static void test_scale_monotonic(void **state)
{
    (void)state;
    uint32_t mul;
    int8_t shift;
    assert_true(pvclock_scale_of(2399999000ull, &mul, &shift));
    uint64_t prev = 0;
    for (uint64_t d = 1ull << 40; d < (1ull << 40) + 100000; d++) {
        uint64_t ns = pvclock_scale(d, mul, shift);
        assert_true(ns >= prev);
        prev = ns;
    }
}

static void test_write_time(void **state)
{
    (void)state;
    struct pvclock_vcpu_time_info area = { .version = 0, .pad0 = 0x5A5A5A5Au };
    const struct pvclock_vcpu_time_info t = {
        .version = 77, .tsc_timestamp = 0x1122334455667788ull, .system_time = 123456789ull,
        .tsc_to_system_mul = 0x89ABCDEFu, .tsc_shift = -2, .flags = PVCLOCK_TSC_STABLE_BIT,
    };
    pvclock_write_time(&area, &t);
    assert_int_equal(area.version, 2);               /* 0 -> 1 (writing) -> 2 */
    assert_int_equal(area.pad0, 0x5A5A5A5Au);        /* the guest's padding untouched */
    assert_int_equal(area.tsc_timestamp, t.tsc_timestamp);
    assert_int_equal(area.system_time, t.system_time);
    assert_int_equal(area.tsc_to_system_mul, t.tsc_to_system_mul);
    assert_int_equal(area.tsc_shift, -2);
    assert_int_equal(area.flags, PVCLOCK_TSC_STABLE_BIT);
    pvclock_write_time(&area, &t);
    assert_int_equal(area.version, 4);
    area.version = 7;                                /* junk a guest left: odd */
    pvclock_write_time(&area, &t);
    assert_int_equal(area.version, 10);              /* 9 while writing, then even */
}

static void test_write_wall(void **state)
{
    (void)state;
    struct pvclock_wall_clock w = { .version = 5 };
    pvclock_write_wall(&w, 1704067200u, 999999999u);
    assert_int_equal(w.version, 8);
    assert_int_equal(w.sec, 1704067200u);
    assert_int_equal(w.nsec, 999999999u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_of),
        cmocka_unit_test(test_scale_of_zero),
        cmocka_unit_test(test_scale_product),
        cmocka_unit_test(test_scale_monotonic),
        cmocka_unit_test(test_write_time),
        cmocka_unit_test(test_write_wall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
