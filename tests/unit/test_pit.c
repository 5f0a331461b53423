/* dev/pit: the 82C54 data sheet's modes 0-5 (OUT and the count over time), GATE,
 * the access modes (LSB, MSB, LSB then MSB), BCD counting, the counter latch and
 * read-back commands with the status byte, OUT edges and their deadlines, and
 * the port 0x61 view of counter 2, in the way Linux calibrates the TSC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/pit.h"

#define CTRL PIT_PORT_CTRL
#define T0 1000000000ull          /* an arbitrary start, 1 s after boot */

static struct pit p;

/* The time at which clock n after t has happened (the model rounds up too). */
static uint64_t after(uint64_t t, uint64_t n)
{
    return t + (n * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

static uint64_t at(uint64_t n)
{
    return after(T0, n);
}

/* Program counter c: control word cw, then the count in the access mode's bytes. */
static void program(unsigned c, uint8_t cw, uint16_t count, uint64_t now)
{
    pit_write(&p, CTRL, cw, now);
    unsigned rw = cw >> 4 & 3;
    if (rw != 2)
        pit_write(&p, c, (uint8_t)count, now);
    if (rw != 1)
        pit_write(&p, c, (uint8_t)(count >> 8), now);
}

/* Latch and read a two-byte count. */
static uint16_t latched(unsigned c, uint64_t now)
{
    pit_write(&p, CTRL, (uint8_t)(c << 6), now);
    uint16_t lo = pit_read(&p, c, now + 5000000);   /* later reads: still latched */
    return (uint16_t)(lo | pit_read(&p, c, now + 9000000) << 8);
}

static void test_mode0_calibration(void **state)
{
    (void)state;
    pit_init(&p);
    const uint16_t n = 59659;                    /* Linux's 50 ms latch */
    pit_port61_write(&p, PORT61_GATE2, T0);
    assert_int_equal(pit_port61_read(&p, T0) & (PORT61_GATE2 | PORT61_SPEAKER), PORT61_GATE2);
    program(2, 0xB0, n, T0);                     /* counter 2, LSB+MSB, mode 0 */
    assert_false(pit_out(&p, 2, T0));
    assert_int_equal(pit_port61_read(&p, T0) & PORT61_OUT2, 0);
    assert_int_equal(latched(2, at(1000)), n - 1000);
    assert_true(latched(2, at(2000)) < latched(2, at(1000)));
    assert_int_equal(pit_port61_read(&p, at(n) - 1) & PORT61_OUT2, 0);
    assert_int_equal(pit_port61_read(&p, at(n)) & PORT61_OUT2, PORT61_OUT2);
    /* OUT stays high; the count wraps and goes on. */
    assert_true(pit_out(&p, 2, at(n + 100000)));
    assert_int_equal(latched(2, at(n + 1)), 0xFFFF);
    /* GATE low holds the count, high resumes it. */
    program(2, 0xB0, 1000, at(0));
    pit_port61_write(&p, 0, at(300));
    assert_int_equal(latched(2, at(5000)), 700);
    pit_port61_write(&p, PORT61_GATE2, at(5000));
    assert_int_equal(latched(2, at(5100)), 600);
    assert_int_equal(pit_next_edge(&p, 2, at(5100)), at(5700));
    /* Mode 0: the first byte of a two-byte count stops counting, OUT low. */
    assert_true(pit_out(&p, 2, at(6000)));
    pit_write(&p, 2, 0x10, at(6000));
    assert_false(pit_out(&p, 2, at(9000)));
    pit_write(&p, 2, 0x00, at(9000));            /* N = 0x0010 */
    assert_true(pit_out(&p, 2, at(9016)));
}

static void test_mode2_rate(void **state)
{
    (void)state;
    pit_init(&p);
    const uint16_t n = 1193;                     /* ~1 kHz */
    program(0, 0x34, n, T0);                     /* counter 0, LSB+MSB, mode 2 */
    assert_true(pit_out(&p, 0, T0));
    assert_int_equal(latched(0, at(0)), n);
    assert_int_equal(latched(0, at(1)), n - 1);
    assert_false(pit_out(&p, 0, at(n - 1)));     /* low for one clock at count 1 */
    assert_true(pit_out(&p, 0, at(n)));
    assert_int_equal(latched(0, at(n)), n);
    assert_int_equal(pit_next_edge(&p, 0, T0), at(n));
    assert_int_equal(pit_next_edge(&p, 0, at(n)), at(2 * n));
    assert_int_equal(pit_take_edges(&p, 0, at(n) - 1), 0);
    assert_int_equal(pit_take_edges(&p, 0, at(n)), 1);
    assert_int_equal(pit_take_edges(&p, 0, at(n)), 0);
    assert_int_equal(pit_take_edges(&p, 0, at(5 * n + 3)), 4);
    /* A new count restarts the period. */
    uint64_t s = at(5 * n + 10);
    program(0, 0x34, 100, s);
    assert_int_equal(pit_next_edge(&p, 0, s), after(s, 100));
    /* Mode 6 is mode 2. */
    program(0, 0x3C, 100, T0);
    assert_false(pit_out(&p, 0, at(99)));
}

static void test_mode3_square(void **state)
{
    (void)state;
    pit_init(&p);
    program(0, 0x36, 10, T0);                    /* mode 3, N = 10 */
    assert_true(pit_out(&p, 0, at(4)));
    assert_false(pit_out(&p, 0, at(5)));
    assert_false(pit_out(&p, 0, at(9)));
    assert_true(pit_out(&p, 0, at(10)));
    assert_int_equal(latched(0, at(1)), 8);      /* decrements by two */
    assert_int_equal(latched(0, at(6)), 8);
    program(0, 0x36, 11, T0);                    /* odd: high one clock longer */
    assert_true(pit_out(&p, 0, at(5)));
    assert_false(pit_out(&p, 0, at(6)));
    assert_int_equal(pit_take_edges(&p, 0, at(33)), 3);
}

static void test_mode4_and_gate_modes(void **state)
{
    (void)state;
    pit_init(&p);
    program(0, 0x38, 50, T0);                    /* mode 4: strobe */
    assert_true(pit_out(&p, 0, at(49)));
    assert_false(pit_out(&p, 0, at(50)));
    assert_true(pit_out(&p, 0, at(51)));
    assert_int_equal(pit_next_edge(&p, 0, T0), at(51));
    assert_int_equal(pit_take_edges(&p, 0, at(1000)), 1);
    assert_int_equal(pit_next_edge(&p, 0, at(1000)), UINT64_MAX);
    /* Mode 1 on counter 2: nothing until GATE rises, then OUT low for N. */
    program(2, 0xB2, 20, T0);
    assert_true(pit_out(&p, 2, at(100)));
    pit_port61_write(&p, PORT61_GATE2, at(100));
    assert_false(pit_out(&p, 2, at(119)));
    assert_true(pit_out(&p, 2, at(120)));
    pit_port61_write(&p, 0, at(130));            /* retriggerable */
    pit_port61_write(&p, PORT61_GATE2, at(140));
    assert_false(pit_out(&p, 2, at(150)));
    /* Mode 2 with GATE low: OUT high, counting stops; rising GATE reloads. */
    uint64_t s = at(200);
    program(2, 0xB4, 30, s);
    assert_false(pit_out(&p, 2, after(s, 29)));
    pit_port61_write(&p, 0, after(s, 35));
    assert_true(pit_out(&p, 2, after(s, 59)));
    assert_int_equal(pit_next_edge(&p, 2, after(s, 59)), UINT64_MAX);
    pit_port61_write(&p, PORT61_GATE2, at(300));
    assert_int_equal(pit_next_edge(&p, 2, at(300)), after(at(300), 30));
}

static void test_access_modes_bcd(void **state)
{
    (void)state;
    pit_init(&p);
    program(0, 0x10, 0x40, T0);                  /* LSB only, mode 0 */
    assert_int_equal(pit_read(&p, 0, at(0x10)), 0x30);
    assert_int_equal(pit_read(&p, 0, at(0x10)), 0x30);
    program(0, 0x20, 0x0200, T0);                /* MSB only: N = 0x200 */
    assert_int_equal(pit_read(&p, 0, at(0x100)), 0x01);
    program(0, 0x31, 0x1000, T0);                /* BCD, N = 1000 */
    assert_int_equal(latched(0, at(1)), 0x0999);
    assert_int_equal(latched(0, at(1001)), 0x9999);
    program(0, 0x31, 0, T0);                     /* 0 is 10^4 in BCD */
    assert_int_equal(pit_next_edge(&p, 0, T0), at(10000));
    program(0, 0x30, 0, T0);                     /* and 2^16 in binary */
    assert_int_equal(pit_next_edge(&p, 0, T0), at(65536));
    assert_int_equal(latched(0, at(0)), 0);
    /* The control word register reads nothing. */
    assert_int_equal(pit_read(&p, CTRL, T0), 0);
}

static void test_latch_and_read_back(void **state)
{
    (void)state;
    pit_init(&p);
    program(0, 0x34, 1000, T0);
    /* The first latch holds until the count is read; a second is ignored. */
    pit_write(&p, CTRL, 0x00, at(100));
    pit_write(&p, CTRL, 0x00, at(200));
    assert_int_equal(pit_read(&p, 0, at(300)), (900 & 0xFF));
    assert_int_equal(pit_read(&p, 0, at(400)), 900 >> 8);
    /* Read-back of status and count of counter 0: status first. */
    pit_write(&p, CTRL, 0xC2, at(500));
    assert_int_equal(pit_read(&p, 0, at(600)), 0x80 | 0x34);   /* OUT high, mode 2 */
    assert_int_equal(pit_read(&p, 0, at(600)), 500 & 0xFF);
    assert_int_equal(pit_read(&p, 0, at(700)), 500 >> 8);
    /* Status only, after a control word: NULL COUNT, OUT low in mode 0. */
    pit_write(&p, CTRL, 0x30, at(800));
    pit_write(&p, CTRL, 0xE2, at(800));
    assert_int_equal(pit_read(&p, 0, at(800)), 0x40 | 0x30);
    pit_write(&p, 0, 0x34, at(800));
    pit_write(&p, 0, 0x12, at(800));
    pit_write(&p, CTRL, 0xE2, after(at(800), 1));
    assert_int_equal(pit_read(&p, 0, at(900)), 0x30);
    /* Count only, two counters at once. */
    pit_port61_write(&p, PORT61_GATE2, at(0));
    program(2, 0xB0, 3000, at(0));
    pit_write(&p, CTRL, 0xDA, at(1000));   /* counters 0 and 2 */
    assert_int_equal(pit_read(&p, 2, at(2000)), 2000 & 0xFF);
    assert_int_equal(pit_read(&p, 2, at(2000)), 2000 >> 8);
    assert_int_equal(pit_read(&p, 0, at(2000)), (0x1234 - 199) & 0xFF);
}

static void test_port61(void **state)
{
    (void)state;
    pit_init(&p);
    pit_port61_write(&p, 0xFF, T0);
    assert_int_equal(pit_port61_read(&p, 0) & ~(PORT61_REFRESH | PORT61_OUT2), 0x0F);
    /* The refresh bit toggles. */
    uint8_t a = pit_port61_read(&p, 0), b = pit_port61_read(&p, 16000);
    assert_int_not_equal(a & PORT61_REFRESH, b & PORT61_REFRESH);
    /* Counter 2 after power-up, no count: OUT low, nothing counts. */
    assert_int_equal(a & PORT61_OUT2, 0);
    assert_int_equal(pit_next_edge(&p, 0, T0), UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode0_calibration),
        cmocka_unit_test(test_mode2_rate),
        cmocka_unit_test(test_mode3_square),
        cmocka_unit_test(test_mode4_and_gate_modes),
        cmocka_unit_test(test_access_modes_bcd),
        cmocka_unit_test(test_latch_and_read_back),
        cmocka_unit_test(test_port61),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
