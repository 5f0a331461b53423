/* dev/acpi_pm: the PM timer counts 3.579545 MHz from the caller's time, 32 bits
 * wide, and sets TMR_STS when bit 31 changes; SCI_EN always reads 1 (no SMI mode);
 * PM1_EN keeps its defined bits; SLP_EN with SLP_TYP = S5 asks for power-off,
 * whatever the width of the write, and nothing else does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/acpi_pm.h"

static struct acpi_pm pm;

static void test_ticks(void **state)
{
    (void)state;
    assert_int_equal(acpi_pm_ticks(0), 0);
    assert_int_equal(acpi_pm_ticks(1000000000ull), ACPI_PM_TIMER_HZ);
    assert_int_equal(acpi_pm_ticks(1000), 3);                  /* 3.58 ticks per us */
    assert_int_equal(acpi_pm_ticks(280), 1);                   /* one tick: 279.4 ns */
    /* Ten years, where a plain ns * Hz would have overflowed long ago. */
    uint64_t ten_years = 10ull * 365 * 24 * 3600;
    assert_int_equal(acpi_pm_ticks(ten_years * 1000000000ull), ten_years * ACPI_PM_TIMER_HZ);
}

static void test_timer_reads(void **state)
{
    (void)state;
    acpi_pm_init(&pm, 0);
    uint64_t t = 0x123456789Aull;                              /* past 2^32: wraps */
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM_TMR, 4, t), 0x3456789A);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM_TMR, 2, t), 0x789A);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM_TMR + 2, 2, t), 0x3456);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM_TMR + 3, 1, t), 0x34);
    /* Writes to the timer do nothing. */
    assert_int_equal(acpi_pm_write(&pm, ACPI_PM_TMR, 4, 0, t), ACPI_PM_NONE);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM_TMR, 4, t + 1), 0x3456789B);
    /* No register at 0x606-0x607, nor past the block. */
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_CNT + 2, 2, t), 0xFFFF);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM_TMR + 2, 4, t), 0xFFFF3456);
}

static void test_tmr_sts(void **state)
{
    (void)state;
    const uint64_t half = 1ull << 31;
    acpi_pm_init(&pm, 5);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_STS, 2, half - 1), 0);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_STS, 2, half), ACPI_PM1_TMR);
    /* Writing 0 leaves it; writing 1 clears it until bit 31 changes again. */
    acpi_pm_write(&pm, ACPI_PM1_STS, 2, 0, half + 10);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_STS, 1, half + 10), ACPI_PM1_TMR);
    acpi_pm_write(&pm, ACPI_PM1_STS, 2, ACPI_PM1_TMR, half + 10);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_STS, 2, 2 * half - 1), 0);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_STS, 2, 2 * half), ACPI_PM1_TMR);
    /* Status and enable in one dword. */
    acpi_pm_write(&pm, ACPI_PM1_EN, 2, ACPI_PM1_TMR, 2 * half);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_STS, 4, 2 * half),
                     ACPI_PM1_TMR << 16 | ACPI_PM1_TMR);
}

static void test_enable(void **state)
{
    (void)state;
    acpi_pm_init(&pm, 0);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_EN, 2, 0), 0);
    acpi_pm_write(&pm, ACPI_PM1_EN, 2, 0xFFFF, 0);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_EN, 2, 0), ACPI_PM1_EN_WRITABLE);
    assert_int_equal(ACPI_PM1_EN_WRITABLE, 0x4721);
    acpi_pm_write(&pm, ACPI_PM1_EN + 1, 1, 0, 0);                /* high byte only */
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_EN, 2, 0), ACPI_PM1_TMR | ACPI_PM1_GBL);
}

static uint16_t slp(unsigned typ)
{
    return (uint16_t)(typ << ACPI_PM1_SLP_TYP_SHIFT);
}

static void test_control_and_poweroff(void **state)
{
    (void)state;
    acpi_pm_init(&pm, 0);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_CNT, 2, 0), ACPI_PM1_SCI_EN);
    /* SCI_EN cannot be cleared; SLP_TYP and BM_RLD are kept, GBL_RLS and SLP_EN are not. */
    assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT, 2, slp(ACPI_SLP_TYP_S5) | ACPI_PM1_BM_RLD |
                                   ACPI_PM1_GBL_RLS, 0), ACPI_PM_NONE);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_CNT, 2, 0),
                     slp(ACPI_SLP_TYP_S5) | ACPI_PM1_BM_RLD | ACPI_PM1_SCI_EN);
    /* Other sleep types: not supported, nothing happens. */
    for (unsigned typ = 0; typ < 8; typ++)
        if (typ != ACPI_SLP_TYP_S5)
            assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT, 2, slp(typ) | ACPI_PM1_SLP_EN, 0),
                             ACPI_PM_NONE);
    assert_int_equal(acpi_pm_read(&pm, ACPI_PM1_CNT, 2, 0) & ACPI_PM1_SLP_EN, 0);
    /* S5: a word write, as ACPICA does it ... */
    assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT, 2, slp(ACPI_SLP_TYP_S5) | ACPI_PM1_SLP_EN, 0),
                     ACPI_PM_POWEROFF);
    /* ... the high byte alone (SLP_TYP and SLP_EN both live there) ... */
    acpi_pm_init(&pm, 0);
    assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT + 1, 1,
                                   (slp(ACPI_SLP_TYP_S5) | ACPI_PM1_SLP_EN) >> 8, 0),
                     ACPI_PM_POWEROFF);
    /* ... or a dword write that also covers the reserved bytes. */
    acpi_pm_init(&pm, 0);
    assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT, 4, slp(ACPI_SLP_TYP_S5) | ACPI_PM1_SLP_EN, 0),
                     ACPI_PM_POWEROFF);
    /* The value the DSDT's \_S5 gives, in bits 12:10. */
    assert_int_equal(slp(ACPI_SLP_TYP_S5) | ACPI_PM1_SLP_EN, 0x3C00);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks),
        cmocka_unit_test(test_timer_reads),
        cmocka_unit_test(test_tmr_sts),
        cmocka_unit_test(test_enable),
        cmocka_unit_test(test_control_and_poweroff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
