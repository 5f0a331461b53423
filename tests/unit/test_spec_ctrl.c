/* vmm/policy/spec_ctrl.c: which speculative-execution barriers hv86 uses for a
 * CPU's enumeration (CPUID leaf 7 EDX, 8000_0008 EBX, IA32_ARCH_CAPABILITIES). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "arch/spec_ctrl.h"
#include "vmm/policy/spec_ctrl.h"

#define INTEL_2018 (CPUID_7_EDX_IBRS_IBPB | CPUID_7_EDX_STIBP | CPUID_7_EDX_SSBD | \
                    CPUID_7_EDX_L1D_FLUSH | CPUID_7_EDX_MD_CLEAR)

static struct spec_plan plan(bool intel, uint32_t d, uint32_t b, uint64_t caps)
{
    struct spec_cpu c = { .intel = intel, .leaf7_edx = d, .ext8_ebx = b, .arch_caps = caps };
    struct spec_plan p;
    spec_plan_for(&c, &p);
    return p;
}

/* Skylake with updated microcode, no IA32_ARCH_CAPABILITIES: everything. */
static void test_old_intel_needs_everything(void **state)
{
    (void)state;
    struct spec_plan p = plan(true, INTEL_2018, 0, 0x1F);   /* caps ignored: not enumerated */
    assert_true(p.has_ibpb && p.has_ibrs && p.has_stibp && p.has_ssbd && p.has_l1d_flush &&
                p.has_md_clear && !p.has_arch_caps);
    assert_true(p.ibpb_on_switch);
    assert_true(p.rsb_fill_on_exit);
    assert_true(p.l1d_flush_on_entry);
    assert_false(p.verw_on_entry);          /* the L1D flush clears the buffers too */
    assert_false(p.l1d_flush_missing);
    assert_false(p.spec_ctrl_per_vcpu);     /* guests cannot write it */
    assert_true(p.entry_exit);
}

/* Old microcode: L1TF affected, no IA32_FLUSH_CMD; MD_CLEAR for VERW. */
static void test_intel_without_flush_cmd(void **state)
{
    (void)state;
    struct spec_plan p = plan(true, CPUID_7_EDX_IBRS_IBPB | CPUID_7_EDX_MD_CLEAR, 0, 0);
    assert_false(p.l1d_flush_on_entry);
    assert_true(p.l1d_flush_missing);
    assert_true(p.verw_on_entry);
}

/* L1TF fixed (RDCL_NO), MDS not: VERW, no flush (Cascade Lake-like). */
static void test_intel_mds_only(void **state)
{
    (void)state;
    struct spec_plan p = plan(true, INTEL_2018 | CPUID_7_EDX_ARCH_CAPS, 0,
                              ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_SKIP_L1DFL_VMENTRY);
    assert_false(p.l1d_flush_on_entry);
    assert_false(p.l1d_flush_missing);
    assert_true(p.verw_on_entry);
    assert_true(p.rsb_fill_on_exit);        /* eIBRS but not PBRSB_NO */
    assert_true(p.ibpb_on_switch);
}

/* A new Intel CPU that is not affected: only IBPB between VMs, which eIBRS does
 * not replace; nothing per entry or exit. */
static void test_new_intel_needs_nothing_per_entry(void **state)
{
    (void)state;
    uint64_t caps = ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_SKIP_L1DFL_VMENTRY |
                    ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO | ARCH_CAP_TAA_NO | ARCH_CAP_PBRSB_NO;
    struct spec_plan p = plan(true, INTEL_2018 | CPUID_7_EDX_ARCH_CAPS, 0, caps);
    assert_true(p.ibpb_on_switch);
    assert_false(p.rsb_fill_on_exit);
    assert_false(p.l1d_flush_on_entry);
    assert_false(p.verw_on_entry);
    assert_false(p.entry_exit);
    /* RSBA: RETs may fall back to the BTB, so the RSB is filled again. */
    p = plan(true, INTEL_2018 | CPUID_7_EDX_ARCH_CAPS, 0, caps | ARCH_CAP_RSBA);
    assert_true(p.rsb_fill_on_exit);
    assert_true(p.entry_exit);
}

/* An emulator (Bochs, QEMU TCG) or pre-2018 microcode: no control enumerated. */
static void test_nothing_enumerated(void **state)
{
    (void)state;
    struct spec_plan p = plan(true, 0, 0, 0);
    assert_false(p.ibpb_on_switch || p.rsb_fill_on_exit || p.l1d_flush_on_entry ||
                 p.verw_on_entry || p.spec_ctrl_per_vcpu || p.entry_exit);
    p = plan(false, 0, 0, 0);
    assert_false(p.entry_exit || p.ibpb_on_switch);
}

/* AMD Zen 2: IBPB, IBRS, STIBP, SSBD in 8000_0008 EBX; never L1TF, MDS or TAA. */
static void test_amd(void **state)
{
    (void)state;
    uint32_t b = CPUID_80000008_EBX_IBPB | CPUID_80000008_EBX_IBRS |
                 CPUID_80000008_EBX_STIBP | CPUID_80000008_EBX_SSBD;
    struct spec_plan p = plan(false, 0, b, 0);
    assert_true(p.has_ibpb && p.has_ibrs && p.has_stibp && p.has_ssbd);
    assert_true(p.ibpb_on_switch);
    assert_true(p.rsb_fill_on_exit);
    assert_false(p.l1d_flush_on_entry || p.l1d_flush_missing || p.verw_on_entry);
    /* Zen 1 with VIRT_SSBD only, no IBPB: nothing to do between VMs but RSB fill. */
    p = plan(false, 0, CPUID_80000008_EBX_VIRT_SSBD, 0);
    assert_true(p.has_ssbd);
    assert_false(p.ibpb_on_switch);
    assert_true(p.ibpb_missing);
    assert_true(p.rsb_fill_on_exit);
    /* Leaf 7 bits as an AMD CPU may report them (IBRS_IBPB from newer firmware):
     * still no Intel-only barrier. */
    p = plan(false, CPUID_7_EDX_IBRS_IBPB | CPUID_7_EDX_MD_CLEAR, b, 0);
    assert_false(p.verw_on_entry || p.l1d_flush_on_entry);
}

/* Guests that may write IA32_SPEC_CTRL get their own value (not hv86 today). */
static void test_spec_ctrl_per_vcpu(void **state)
{
    (void)state;
    struct spec_cpu c = { .intel = true, .leaf7_edx = INTEL_2018, .guest_spec_ctrl = true };
    struct spec_plan p;
    spec_plan_for(&c, &p);
    assert_true(p.spec_ctrl_per_vcpu);
    c.leaf7_edx = CPUID_7_EDX_MD_CLEAR;       /* no SPEC_CTRL on this CPU */
    spec_plan_for(&c, &p);
    assert_false(p.spec_ctrl_per_vcpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_intel_needs_everything),
        cmocka_unit_test(test_intel_without_flush_cmd),
        cmocka_unit_test(test_intel_mds_only),
        cmocka_unit_test(test_new_intel_needs_nothing_per_entry),
        cmocka_unit_test(test_nothing_enumerated),
        cmocka_unit_test(test_amd),
        cmocka_unit_test(test_spec_ctrl_per_vcpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
