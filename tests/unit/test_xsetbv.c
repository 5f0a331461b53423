/* vmm/policy/xsetbv.c: the XCR0 combinations the CPU refuses (SDM Vol. 1 13.3)
 * and XSETBV's #UD/#GP conditions (SDM Vol. 2B XSETBV). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "arch/x86.h"
#include "vmm/policy/xsetbv.h"

/* A Skylake-X-like CPU: x87, SSE, AVX, MPX, AVX-512, PKRU; plus AMX. */
static const uint64_t all = XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_BNDREGS | XCR0_BNDCSR |
                            XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM | XCR0_PKRU |
                            XCR0_XTILECFG | XCR0_XTILEDATA;

static void test_valid_combinations(void **state)
{
    (void)state;
    const uint64_t base = XCR0_X87 | XCR0_SSE | XCR0_AVX;
    assert_true(xcr0_valid(XCR0_X87, all));
    assert_true(xcr0_valid(XCR0_X87 | XCR0_SSE, all));
    assert_true(xcr0_valid(base, all));
    assert_true(xcr0_valid(base | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM, all));
    assert_true(xcr0_valid(XCR0_X87 | XCR0_BNDREGS | XCR0_BNDCSR, all));
    assert_true(xcr0_valid(base | XCR0_XTILECFG | XCR0_XTILEDATA, all));
    assert_true(xcr0_valid(all, all));
}

static void test_refused_combinations(void **state)
{
    (void)state;
    const uint64_t base = XCR0_X87 | XCR0_SSE | XCR0_AVX;
    assert_false(xcr0_valid(0, all));
    assert_false(xcr0_valid(XCR0_SSE, all));                       /* no x87 */
    assert_false(xcr0_valid(XCR0_X87 | XCR0_AVX, all));            /* AVX without SSE */
    /* The finding of issue 18: opmask alone, listed by CPUID, refused by the CPU. */
    assert_false(xcr0_valid(base | XCR0_OPMASK, all));
    assert_false(xcr0_valid(base | XCR0_ZMM_HI256, all));
    assert_false(xcr0_valid(base | XCR0_OPMASK | XCR0_ZMM_HI256, all));
    assert_false(xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_OPMASK | XCR0_ZMM_HI256 |
                            XCR0_HI16_ZMM, all));                    /* AVX-512 without AVX */
    assert_false(xcr0_valid(XCR0_X87 | XCR0_BNDREGS, all));
    assert_false(xcr0_valid(XCR0_X87 | XCR0_BNDCSR, all));
    assert_false(xcr0_valid(base | XCR0_XTILECFG, all));
    assert_false(xcr0_valid(base | XCR0_XTILEDATA, all));
}

static void test_unsupported_components(void **state)
{
    (void)state;
    const uint64_t sse_only = XCR0_X87 | XCR0_SSE;
    assert_false(xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX, sse_only));
    assert_false(xcr0_valid(XCR0_X87 | (1ull << 63), all));
    assert_false(xcr0_valid(XCR0_X87 | (1ull << 8), all));         /* PT: an XSS component */
}

static void test_xsetbv_conditions(void **state)
{
    (void)state;
    const uint64_t ok = XCR0_X87 | XCR0_SSE;
    assert_int_equal(xsetbv_check(true, 0, 0, ok, all), XSETBV_OK);
    assert_int_equal(xsetbv_check(false, 0, 0, ok, all), XSETBV_UD);   /* #UD first */
    assert_int_equal(xsetbv_check(false, 3, 1, 0, all), XSETBV_UD);
    assert_int_equal(xsetbv_check(true, 3, 0, ok, all), XSETBV_GP);
    assert_int_equal(xsetbv_check(true, 1, 0, ok, all), XSETBV_GP);
    assert_int_equal(xsetbv_check(true, 0, 1, ok, all), XSETBV_GP);    /* XINUSE: read-only */
    assert_int_equal(xsetbv_check(true, 0, 0x80000000u, ok, all), XSETBV_GP);
    assert_int_equal(xsetbv_check(true, 0, 0, XCR0_X87 | XCR0_OPMASK, all), XSETBV_GP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_combinations),
        cmocka_unit_test(test_refused_combinations),
        cmocka_unit_test(test_unsupported_components),
        cmocka_unit_test(test_xsetbv_conditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
