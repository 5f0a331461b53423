/* vmm/policy/console_limit.c: a burst, then the rate; the lifetime cap; drops counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "vmm/policy/console_limit.h"

#define S 1000000000ull

static void test_burst_then_rate(void **state)
{
    (void)state;
    struct console_limit c = { 0 };
    uint64_t t = 5 * S, n = 0;
    while (console_limit_take(&c, 100, t))
        n++;
    assert_int_equal(n, CONSOLE_BURST / 100);
    assert_int_equal(c.dropped, 1);
    assert_true(c.dropping);
    /* Half a second later: half the rate's worth. */
    t += S / 2;
    n = 0;
    while (console_limit_take(&c, 100, t))
        n++;
    assert_in_range(n, CONSOLE_RATE / 2 / 100 - 1, CONSOLE_RATE / 2 / 100 + 1);
    assert_int_equal(c.dropped, 2);
    /* A long pause fills no more than the burst. */
    t += 3600 * S;
    n = 0;
    while (console_limit_take(&c, 1000, t))
        n++;
    assert_int_equal(n, CONSOLE_BURST / 1000);
    assert_true(c.dropping);
    assert_true(console_limit_take(&c, 0, t) || c.budget < CONSOLE_BURST);
}

static void test_lifetime_cap(void **state)
{
    (void)state;
    struct console_limit c = { 0 };
    uint64_t t = S, lines = 0;
    /* One 1000-byte line each 1/8 s stays within the rate: only the cap stops it. */
    for (unsigned i = 0; i < 6000; i++, t += S / 8)
        lines += console_limit_take(&c, 1000, t);
    assert_int_equal(lines, CONSOLE_CAP / 1000);
    assert_true(c.printed <= CONSOLE_CAP);
    assert_int_equal(c.dropped, 6000 - lines);
}

static void test_slow_printer_never_dropped(void **state)
{
    (void)state;
    struct console_limit c = { 0 };
    for (uint64_t t = 1; t < 100 * S; t += S / 100)
        assert_true(console_limit_take(&c, 80, t));
    assert_int_equal(c.dropped, 0);
}

static void test_own_limits(void **state)
{
    (void)state;
    struct console_limit c = { .burst = 1000, .rate = 100, .cap = 1500 };
    assert_true(console_limit_take(&c, 1000, S));
    assert_false(console_limit_take(&c, 1, S));
    assert_false(console_limit_take(&c, 200, 2 * S));    /* 100 saved */
    assert_true(console_limit_take(&c, 100, 2 * S));
    assert_false(console_limit_take(&c, 500, 100 * S));  /* the cap: 1100 + 500 */
    assert_true(console_limit_take(&c, 400, 100 * S));
    assert_int_equal(c.dropped, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_lifetime_cap),
        cmocka_unit_test(test_slow_printer_never_dropped),
        cmocka_unit_test(test_own_limits),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
