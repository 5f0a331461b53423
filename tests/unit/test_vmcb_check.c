/* vmm/svm/vmcb_check: a valid VMCB passes; each corruption is caught and named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/svm/vmcb_check.h"

#define PHYS_BITS 48

static struct vmcb vmcb;

/* The state hv86 gives a multiboot guest: 32-bit protected mode, paging off. */
static void valid_vmcb(void)
{
    memset(&vmcb, 0, sizeof vmcb);
    vmcb.ctl.intercept_misc2 = INTERCEPT_VMRUN;
    vmcb.ctl.iopm_base_pa = 0x200000;
    vmcb.ctl.msrpm_base_pa = 0x204000;
    vmcb.ctl.asid = 1;
    vmcb.ctl.nested_ctl = NESTED_CTL_NP_ENABLE;
    vmcb.ctl.n_cr3 = 0x300000;
    vmcb.save.efer = 1u << 12;          /* SVME */
    vmcb.save.cr0 = 0x11;               /* PE | ET */
    vmcb.save.cs.attr = 0xC9B;
    vmcb.save.dr6 = 0xFFFF0FF0;
    vmcb.save.dr7 = 0x400;
}

static const char *check(void)
{
    struct vmcb_check_result r = { 0, 0 };
    if (vmcb_check(&vmcb, PHYS_BITS, &r) == 0)
        return NULL;
    assert_non_null(r.rule);
    return r.field;
}

static void test_valid_passes(void **state)
{
    (void)state;
    valid_vmcb();
    assert_null(check());
    /* 64-bit long mode is valid too. */
    vmcb.save.efer |= (1u << 8) | (1u << 10);
    vmcb.save.cr0 |= 1u << 31;
    vmcb.save.cr4 = 1u << 5;
    vmcb.save.cs.attr = 0xA9B;          /* L=1, D=0 */
    assert_null(check());
}

static void test_svme_clear(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.save.efer = 0;
    assert_string_equal(check(), "EFER");
}

static void test_efer_reserved(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.save.efer |= 1ull << 40;
    assert_string_equal(check(), "EFER");
}

static void test_cr0_nw_without_cd(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.save.cr0 |= 1u << 29;
    assert_string_equal(check(), "CR0");
    vmcb.save.cr0 |= 1u << 30;          /* CD=1 NW=1 is allowed */
    assert_null(check());
}

static void test_cr0_high_bits(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.save.cr0 |= 1ull << 32;
    assert_string_equal(check(), "CR0");
}

static void test_cr4_reserved(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.save.cr4 = 1ull << 31;
    assert_string_equal(check(), "CR4");
}

static void test_long_mode_without_pae(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.save.efer |= 1u << 8;
    vmcb.save.cr0 |= 1u << 31;
    assert_string_equal(check(), "CR4");
}

static void test_long_mode_cs_l_and_d(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.save.efer |= 1u << 8;
    vmcb.save.cr0 |= 1u << 31;
    vmcb.save.cr4 = 1u << 5;
    vmcb.save.cs.attr = 0xE9B;          /* L=1 and D=1 */
    assert_string_equal(check(), "CS");
}

static void test_dr_high_bits(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.save.dr7 |= 1ull << 40;
    assert_string_equal(check(), "DR7");
    valid_vmcb();
    vmcb.save.dr6 |= 1ull << 33;
    assert_string_equal(check(), "DR6");
}

static void test_no_vmrun_intercept(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.ctl.intercept_misc2 = 0;
    assert_string_equal(check(), "intercepts");
}

static void test_asid_zero(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.ctl.asid = 0;
    assert_string_equal(check(), "ASID");
}

static void test_permission_maps(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.ctl.msrpm_base_pa = 0x204010;
    assert_string_equal(check(), "MSRPM_BASE_PA");
    valid_vmcb();
    vmcb.ctl.iopm_base_pa = 1ull << PHYS_BITS;
    assert_string_equal(check(), "IOPM_BASE_PA");
}

static void test_bad_event_injection(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.ctl.eventinj = EVENTINJ_VALID | (1u << EVENTINJ_TYPE_SHIFT) | 32;
    assert_string_equal(check(), "EVENTINJ");
    valid_vmcb();
    vmcb.ctl.eventinj = EVENTINJ_VALID | (EVENTINJ_TYPE_EXCEPTION << EVENTINJ_TYPE_SHIFT) | 40;
    assert_string_equal(check(), "EVENTINJ");
    valid_vmcb();
    vmcb.ctl.eventinj = EVENTINJ_VALID | (EVENTINJ_TYPE_EXCEPTION << EVENTINJ_TYPE_SHIFT) | 13;
    assert_null(check());
}

static void test_ncr3_outside_memory(void **state)
{
    (void)state;
    valid_vmcb();
    vmcb.ctl.n_cr3 = 1ull << 50;
    assert_string_equal(check(), "N_CR3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_passes),
        cmocka_unit_test(test_svme_clear),
        cmocka_unit_test(test_efer_reserved),
        cmocka_unit_test(test_cr0_nw_without_cd),
        cmocka_unit_test(test_cr0_high_bits),
        cmocka_unit_test(test_cr4_reserved),
        cmocka_unit_test(test_long_mode_without_pae),
        cmocka_unit_test(test_long_mode_cs_l_and_d),
        cmocka_unit_test(test_dr_high_bits),
        cmocka_unit_test(test_no_vmrun_intercept),
        cmocka_unit_test(test_asid_zero),
        cmocka_unit_test(test_permission_maps),
        cmocka_unit_test(test_bad_event_injection),
        cmocka_unit_test(test_ncr3_outside_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
