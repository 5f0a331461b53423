/* dev/rtc: the MC146818A data sheet's clock and calendar (leap day, rollover,
 * day of week), BCD and binary, 12- and 24-hour formats, SET, UIP, the divider
 * reset, the periodic, alarm and update-ended flags with IRQF and register C's
 * read-to-clear, register D, the NMI bit of port 0x70, and the CMOS memory
 * sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/rtc.h"

#define S 1000000000ull
#define MS 1000000ull
#define T0 (5 * S)

static struct rtc r;
/* Wednesday, 2024-02-28 23:59:58. */
static const struct rtc_time start = { .year = 2024, .month = 2, .day = 28, .hour = 23,
                                       .min = 59, .sec = 58, .wday = 4 };

static uint8_t rd(unsigned reg, uint64_t now)
{
    rtc_write(&r, 0, (uint8_t)reg, now);
    return rtc_read(&r, 1, now);
}

static void wr(unsigned reg, uint8_t v, uint64_t now)
{
    rtc_write(&r, 0, (uint8_t)reg, now);
    rtc_write(&r, 1, v, now);
}

/* Unix time: the epoch, hv86's start time, a leap day and the end of 2099. */
static void test_unix_seconds(void **state)
{
    (void)state;
    const struct rtc_time epoch = { .year = 1970, .month = 1, .day = 1 };
    const struct rtc_time hv86 = { .year = 2024, .month = 1, .day = 1 };
    const struct rtc_time leap = { .year = 2024, .month = 2, .day = 29, .hour = 12, .min = 34,
                                   .sec = 56 };
    const struct rtc_time end = { .year = 2099, .month = 12, .day = 31, .hour = 23, .min = 59,
                                  .sec = 59 };
    assert_int_equal(rtc_unix_seconds(&epoch), 0);
    assert_int_equal(rtc_unix_seconds(&hv86), 1704067200ull);
    assert_int_equal(rtc_unix_seconds(&leap), 1709210096ull);
    assert_int_equal(rtc_unix_seconds(&end), 4102444799ull);
}

static void test_calendar_bcd(void **state)
{
    (void)state;
    rtc_init(&r, &start, 64 << 20, T0);
    assert_int_equal(rd(RTC_REG_A, T0), 0x26);
    assert_int_equal(rd(RTC_REG_B, T0), 0x02);
    assert_int_equal(rd(RTC_REG_D, T0), 0x80);
    assert_int_equal(rd(RTC_SECONDS, T0), 0x58);
    assert_int_equal(rd(RTC_HOURS, T0), 0x23);
    assert_int_equal(rd(RTC_YEAR, T0), 0x24);
    assert_int_equal(rd(RTC_CENTURY, T0), 0x20);
    assert_int_equal(rd(RTC_SECONDS, T0 + S - 1), 0x58);
    assert_int_equal(rd(RTC_SECONDS, T0 + S), 0x59);
    /* Into the leap day, a Thursday. */
    uint64_t t = T0 + 2 * S;
    assert_int_equal(rd(RTC_SECONDS, t), 0x00);
    assert_int_equal(rd(RTC_MINUTES, t), 0x00);
    assert_int_equal(rd(RTC_HOURS, t), 0x00);
    assert_int_equal(rd(RTC_DAY_OF_MONTH, t), 0x29);
    assert_int_equal(rd(RTC_MONTH, t), 0x02);
    assert_int_equal(rd(RTC_DAY_OF_WEEK, t), 5);
    /* A day later it is March 1st, a Friday; 306 days later, 2024-12-31. */
    t += 86400 * S;
    assert_int_equal(rd(RTC_DAY_OF_MONTH, t), 0x01);
    assert_int_equal(rd(RTC_MONTH, t), 0x03);
    assert_int_equal(rd(RTC_DAY_OF_WEEK, t), 6);
    t += 305 * 86400 * S + 3600 * S * 23 + 59 * 60 * S + 59 * S;
    assert_int_equal(rd(RTC_DAY_OF_MONTH, t), 0x31);
    assert_int_equal(rd(RTC_MONTH, t), 0x12);
    assert_int_equal(rd(RTC_HOURS, t), 0x23);
    assert_int_equal(rd(RTC_DAY_OF_WEEK, t), 3);    /* a Tuesday */
    t += S;
    assert_int_equal(rd(RTC_YEAR, t), 0x25);
    assert_int_equal(rd(RTC_MONTH, t), 0x01);
    assert_int_equal(rd(RTC_DAY_OF_WEEK, t), 4);
}

static void test_formats_and_set(void **state)
{
    (void)state;
    rtc_init(&r, &start, 64 << 20, T0);
    wr(RTC_REG_B, RTC_B_DM_BINARY, T0);             /* binary, 12-hour */
    assert_int_equal(rd(RTC_HOURS, T0), 0x80 | 11);  /* 11 PM */
    assert_int_equal(rd(RTC_SECONDS, T0), 58);
    assert_int_equal(rd(RTC_HOURS, T0 + 2 * S), 12);  /* midnight is 12 AM */
    wr(RTC_REG_B, 0, T0 + 2 * S);                   /* BCD, 12-hour */
    assert_int_equal(rd(RTC_HOURS, T0 + 2 * S), 0x12);
    /* SET: the time stands still while the guest writes it; UIP reads 0. */
    uint64_t t = T0 + 10 * S;
    wr(RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_UIE, t);
    assert_int_equal(rd(RTC_REG_B, t), RTC_B_SET | RTC_B_24H);   /* UIE cleared */
    wr(RTC_HOURS, 0x13, t);
    wr(RTC_MINUTES, 0x45, t);
    wr(RTC_SECONDS, 0x30, t);
    wr(RTC_YEAR, 0x99, t);
    wr(RTC_CENTURY, 0x19, t);
    t += 5 * S - 300000;
    assert_int_equal(rd(RTC_SECONDS, t), 0x30);
    assert_int_equal(rd(RTC_REG_A, t) & RTC_A_UIP, 0);
    wr(RTC_REG_B, RTC_B_24H, t);
    /* Updates go on at the divider's second boundaries. */
    assert_int_equal(rd(RTC_SECONDS, t + 300000), 0x31);
    assert_int_equal(rd(RTC_YEAR, t + 300000), 0x99);
    assert_int_equal(rd(RTC_CENTURY, t + 300000), 0x19);
    /* 12-hour writes: 12 AM is hour 0, 1 PM is 13. */
    wr(RTC_REG_B, RTC_B_SET, t);
    wr(RTC_HOURS, 0x12, t);
    wr(RTC_REG_B, RTC_B_SET | RTC_B_24H, t);
    assert_int_equal(rd(RTC_HOURS, t), 0x00);
    wr(RTC_REG_B, RTC_B_SET, t);
    wr(RTC_HOURS, 0x81, t);
    wr(RTC_REG_B, RTC_B_SET | RTC_B_24H, t);
    assert_int_equal(rd(RTC_HOURS, t), 0x13);
}

static void test_uip_and_divider(void **state)
{
    (void)state;
    rtc_init(&r, &start, 64 << 20, T0);
    /* Not in the first ms: no update happened at power-up. */
    assert_int_equal(rd(RTC_REG_A, T0 + MS) & RTC_A_UIP, 0);
    /* From 244 us before an update to the end of its 1984 us cycle. */
    assert_int_equal(rd(RTC_REG_A, T0 + S - 300000) & RTC_A_UIP, 0);
    assert_int_equal(rd(RTC_REG_A, T0 + S - 200000) & RTC_A_UIP, RTC_A_UIP);
    assert_int_equal(rd(RTC_REG_A, T0 + S + 1900000) & RTC_A_UIP, RTC_A_UIP);
    assert_int_equal(rd(RTC_REG_A, T0 + S + 2000000) & RTC_A_UIP, 0);
    /* UIP is read-only; DV = 111 holds the divider in reset: time stands
     * still. Out of reset, the next update comes half a second later. */
    wr(RTC_REG_A, 0xFF, T0 + S + S / 4);
    assert_int_equal(rd(RTC_REG_A, T0 + 2 * S - 200000), 0x7F);
    assert_int_equal(rd(RTC_SECONDS, T0 + 10 * S), 0x59);
    wr(RTC_REG_A, 0x26, T0 + 10 * S);
    assert_int_equal(rd(RTC_SECONDS, T0 + 10 * S + S / 2 - 1), 0x59);
    assert_int_equal(rd(RTC_SECONDS, T0 + 10 * S + S / 2), 0x00);
}

static void test_interrupts(void **state)
{
    (void)state;
    rtc_init(&r, &start, 64 << 20, T0);
    /* Flags set without their enables raise no IRQ. */
    assert_false(rtc_poll(&r, T0 + S));
    assert_int_equal(rd(RTC_REG_C, T0 + S), RTC_C_PF | RTC_C_UF);
    assert_int_equal(rd(RTC_REG_C, T0 + S), 0);
    assert_int_equal(rtc_next_event(&r), UINT64_MAX);
    /* Periodic, 2 Hz (rate 15). */
    uint64_t t = T0 + S;
    wr(RTC_REG_A, 0x2F, t);
    wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE, t);
    assert_int_equal(rtc_next_event(&r), T0 + S + S / 2);
    assert_false(rtc_poll(&r, T0 + S + S / 2 - 1));
    assert_true(rtc_poll(&r, T0 + S + S / 2));
    assert_int_equal(rtc_next_event(&r), UINT64_MAX);     /* until C is read */
    assert_true(rtc_poll(&r, T0 + 3 * S));
    /* The alarm registers are 0: it went off at midnight. */
    assert_int_equal(rd(RTC_REG_C, T0 + 3 * S), RTC_C_IRQF | RTC_C_PF | RTC_C_AF | RTC_C_UF);
    assert_false(rtc_poll(&r, T0 + 3 * S));
    assert_int_equal(rtc_next_event(&r), T0 + 3 * S + S / 2);
    /* Rate 6 is 1024 Hz; rate 1 is 256 Hz. */
    wr(RTC_REG_A, 0x26, T0 + 3 * S);
    assert_int_equal(rtc_next_event(&r), T0 + 3 * S + 976563);
    wr(RTC_REG_A, 0x21, T0 + 3 * S);
    assert_int_equal(rtc_next_event(&r), T0 + 3 * S + 3906250);
    /* Update-ended: once a second. */
    wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE, T0 + 3 * S);
    assert_int_equal(rtc_next_event(&r), T0 + 4 * S);
    assert_true(rtc_poll(&r, T0 + 4 * S));
    assert_int_equal(rd(RTC_REG_C, T0 + 4 * S) & RTC_C_UF, RTC_C_UF);
    /* Alarm at 00:00:05 (the clock passed midnight at T0 + 2 s). */
    wr(RTC_REG_B, RTC_B_24H | RTC_B_AIE, T0 + 4 * S);
    wr(RTC_SECONDS_ALARM, 0x05, T0 + 4 * S);
    wr(RTC_MINUTES_ALARM, 0x00, T0 + 4 * S);
    wr(RTC_HOURS_ALARM, 0xC0, T0 + 4 * S);           /* any hour */
    assert_false(rtc_poll(&r, T0 + 6 * S));
    assert_true(rtc_poll(&r, T0 + 7 * S));
    assert_int_equal(rd(RTC_REG_C, T0 + 7 * S) & RTC_C_AF, RTC_C_AF);
    /* Found also when nobody looked for a long time. */
    assert_true(rtc_poll(&r, T0 + 3 * 86400 * S));
}

static void test_cmos(void **state)
{
    (void)state;
    rtc_init(&r, &start, 64 << 20, T0);
    assert_int_equal(rd(0x15, T0) | rd(0x16, T0) << 8, 640);
    assert_int_equal(rd(0x17, T0) | rd(0x18, T0) << 8, 63 * 1024);
    assert_int_equal(rd(0x30, T0) | rd(0x31, T0) << 8, 63 * 1024);
    assert_int_equal(rd(0x34, T0) | rd(0x35, T0) << 8, 48 * 16);
    rtc_init(&r, &start, 256 << 20, T0);
    assert_int_equal(rd(0x17, T0) | rd(0x18, T0) << 8, 0xFFFF);
    assert_int_equal(rd(0x34, T0) | rd(0x35, T0) << 8, 240 * 16);
    rtc_init(&r, &start, 8 << 20, T0);
    assert_int_equal(rd(0x34, T0) | rd(0x35, T0) << 8, 0);
    /* RAM bytes keep what is written; port 0x70 bit 7 is not part of the
     * index; C and D ignore writes; the index port reads all ones. */
    wr(0x40, 0xA5, T0);
    assert_int_equal(rd(0x80 | 0x40, T0), 0xA5);
    wr(RTC_REG_D, 0, T0);
    assert_int_equal(rd(RTC_REG_D, T0), 0x80);
    wr(RTC_REG_C, 0xFF, T0);
    assert_int_equal(rd(RTC_REG_C, T0), 0);
    assert_int_equal(rtc_read(&r, 0, T0), 0xFF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_seconds),
        cmocka_unit_test(test_calendar_bcd),
        cmocka_unit_test(test_formats_and_set),
        cmocka_unit_test(test_uip_and_divider),
        cmocka_unit_test(test_interrupts),
        cmocka_unit_test(test_cmos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
