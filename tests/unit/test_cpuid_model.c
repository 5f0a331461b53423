/* vmm/policy/cpuid_model and msr_model: the CPU model is an allow-list. A "future
 * CPU" that sets every bit of every leaf must leak nothing outside it; the leaves
 * are clamped; a config narrows it; every MSR an offered feature implies exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "arch/x86.h"
#include "vmm/policy/cpuid_model.h"
#include "vmm/policy/msr_model.h"

enum { EAX, EBX, ECX, EDX };

/* The hosts: every bit set, as Intel-like (vendor all ones) or AMD. */
static bool host_amd;
static uint64_t host_xcr0 = ~0ull;      /* leaf 0xD.0 EDX:EAX */

static void future_cpu(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    out[EAX] = out[EBX] = out[ECX] = out[EDX] = 0xFFFFFFFFu;
    if (leaf == 0 && host_amd) {
        out[EBX] = 0x68747541u;     /* "AuthenticAMD" */
        out[EDX] = 0x69746E65u;
        out[ECX] = 0x444D4163u;
    }
    if (leaf == 0xD && sub == 0) {
        out[EAX] = (uint32_t)host_xcr0;
        out[EDX] = (uint32_t)(host_xcr0 >> 32);
    }
    if (leaf == 0xD && sub >= 2) {      /* sane sizes and offsets */
        out[EAX] = 64;
        out[EBX] = 512 + 64 * sub;
        out[ECX] = 0;
    }
}

static struct cpuid_model m;

static void build(bool amd, bool shadow, unsigned ncpus, const uint32_t *clear)
{
    host_amd = amd;
    struct cpuid_model_params p = { .ncpus = ncpus, .shadow = shadow, .clear = clear };
    cpuid_model_build(&m, future_cpu, &p);
}

static void get(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    cpuid_model_answer(&m, leaf, sub, 3, XCR0_X87 | XCR0_SSE | XCR0_AVX, out);
}

static void assert_zero_leaf(uint32_t leaf, uint32_t sub)
{
    uint32_t r[4];
    get(leaf, sub, r);
    if (r[0] | r[1] | r[2] | r[3])
        fail_msg("leaf %#x.%u not zero: %08x %08x %08x %08x", leaf, sub, r[0], r[1], r[2], r[3]);
}

/* Where each feature word lives, to read it through the answer as a guest would. */
static const struct { uint32_t leaf, sub; int reg; } where[CPUID_WORDS] = {
    [CPUID_W_1_EDX] = { 1, 0, EDX }, [CPUID_W_1_ECX] = { 1, 0, ECX },
    [CPUID_W_6_EAX] = { 6, 0, EAX }, [CPUID_W_7_0_EBX] = { 7, 0, EBX },
    [CPUID_W_7_0_ECX] = { 7, 0, ECX }, [CPUID_W_7_0_EDX] = { 7, 0, EDX },
    [CPUID_W_7_1_EAX] = { 7, 1, EAX }, [CPUID_W_D_1_EAX] = { 0xD, 1, EAX },
    [CPUID_W_80000001_EDX] = { 0x80000001u, 0, EDX },
    [CPUID_W_80000001_ECX] = { 0x80000001u, 0, ECX },
    [CPUID_W_80000007_EDX] = { 0x80000007u, 0, EDX },
    [CPUID_W_80000008_EBX] = { 0x80000008u, 0, EBX },
};

static uint32_t guest_word(enum cpuid_word w)
{
    uint32_t r[4];
    get(where[w].leaf, where[w].sub, r);
    return r[where[w].reg];
}

static void check_words(bool shadow)
{
    for (unsigned w = 0; w < CPUID_WORDS; w++) {
        uint32_t ok = cpuid_model_allowed(w, shadow) | cpuid_model_forced(w);
        uint32_t got = guest_word(w);
        if (got & ~ok)
            fail_msg("word %u: bits %#x outside the allow-list", w, got & ~ok);
        /* Every bit set on the host: everything allowed is offered. */
        if (got != ok)
            fail_msg("word %u: %#x, expected %#x", w, got, ok);
    }
}

static void test_future_cpu_words(void **state)
{
    (void)state;
    build(false, false, 1, NULL);
    check_words(false);
    build(true, false, 1, NULL);
    check_words(false);
    build(false, true, 1, NULL);
    check_words(true);
    assert_false(guest_word(CPUID_W_1_ECX) & CPUID_1_ECX_PCID);
}

/* Written out, independently of the allow-list's own masks. */
static void test_future_cpu_hidden(void **state)
{
    (void)state;
    build(true, false, 2, NULL);
    uint32_t l1[4], l7[4], e1[4], e8[4], d1[4];
    get(1, 0, l1);
    get(7, 0, l7);
    get(0x80000001u, 0, e1);
    get(0x80000008u, 0, e8);
    get(0xD, 1, d1);
    assert_int_equal(l1[ECX] & (CPUID_1_ECX_VMX | CPUID_1_ECX_MONITOR | 1u << 15 /* PDCM */ |
                                1u << 6 /* SMX */ | 1u << 7 /* EIST */ | 1u << 14 /* xTPR */ |
                                1u << 18 /* DCA */ | CPUID_1_ECX_OSXSAVE), 0);
    assert_int_equal(l1[EDX] & (1u << 18 | 1u << 21 | 1u << 22 | 1u << 29 | 1u << 31), 0);
    /* TSC_ADJUST, SGX, HLE, RTM, PQM, MPX, PQE, PT */
    assert_int_equal(l7[EBX] & (1u << 1 | 1u << 2 | 1u << 4 | 1u << 11 | 1u << 12 | 1u << 14 |
                                1u << 15 | 1u << 25), 0);
    /* PKU, OSPKE, WAITPKG, CET_SS, LA57, ENQCMD, SGX_LC */
    assert_int_equal(l7[ECX] & (1u << 3 | 1u << 4 | 1u << 5 | 1u << 7 | 1u << 16 |
                                1u << 29 | 1u << 30), 0);
    /* RDPID and RDTSCP: IA32_TSC_AUX is per vCPU (vmm/msr.c) */
    assert_true(l7[ECX] & CPUID_7_ECX_RDPID);
    /* HYBRID, ARCH_LBR, IBT, AMX, the speculation controls 26-31 */
    assert_int_equal(l7[EDX] & (1u << 15 | 1u << 19 | 1u << 20 | 1u << 22 | 1u << 24 |
                                1u << 25 | 0xFCu << 24), 0);
    assert_int_equal(l7[EAX], 1);                               /* subleaves 0 and 1 */
    assert_int_equal(e1[ECX] & (CPUID_80000001_ECX_SVM | 1u << 22 /* TOPOEXT */ |
                                1u << 23 /* PERFCTR_CORE */ | 1u << 29 /* MWAITX */), 0);
    assert_true(e1[EDX] & CPUID_80000001_EDX_RDTSCP);
    assert_int_equal(d1[EAX] & (1u << 3), 0);                    /* XSAVES */
    assert_int_equal(d1[ECX] | d1[EDX], 0);                      /* no IA32_XSS state */
    assert_int_equal(e8[EBX] & (1u << 9 | 1u << 12 | 1u << 14 | 1u << 24), 0);
    assert_int_equal(e8[EDX], 0);
    assert_int_equal(e8[ECX], 1 | 1u << 12);                     /* 2 cores, 1 ID bit */
    uint32_t l6[4];
    get(6, 0, l6);
    assert_int_equal(l6[EAX], 1u << 2);                          /* ARAT only */
    assert_int_equal(l6[EBX] | l6[ECX] | l6[EDX], 0);
    /* Leaf 1 EBX: APIC ID 3, 2 logical processors. */
    assert_int_equal(l1[EBX] >> 16, 3u << 8 | 2);
}

static void test_leaves_clamped(void **state)
{
    (void)state;
    uint32_t r[4];
    build(false, false, 1, NULL);
    get(0, 0, r);
    assert_int_equal(r[EAX], CPUID_MODEL_MAX_BASIC);
    get(0x80000000u, 0, r);
    assert_int_equal(r[EAX], CPUID_MODEL_MAX_EXT);
    assert_int_equal(r[EBX] | r[ECX] | r[EDX], 0);               /* not AMD: no vendor */
    /* Leaves the model does not know: zero, inside and past the range. */
    static const uint32_t unknown[] = { 3, 5, 8, 9, 0xA, 0xC, 0xE, 0xF, 0x10, 0x11, 0x12,
                                        0x13, 0x14, 0x17, 0x1F, 0x20, 0x3FFFFFFF,
                                        0x80000009u, 0x8000000Au, 0x8000001Du, 0x8000001Eu,
                                        0x8000001Fu, 0x80000021u, 0xC0000000u, 0xFFFFFFFFu };
    for (unsigned i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_zero_leaf(unknown[i], 0);
    assert_zero_leaf(7, 2);
    assert_zero_leaf(4, CPUID_MODEL_CACHE_SUBLEAVES);
    /* Leaf 0xD: only the XCR0 components offered (x87, SSE, AVX, AVX-512). */
    get(0xD, 0, r);
    assert_int_equal(r[EAX], XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK | XCR0_ZMM_HI256 |
                             XCR0_HI16_ZMM);
    assert_int_equal(r[EDX], 0);
    assert_int_equal(r[EBX], 512 + 64 * 2 + 64);                 /* XCR0 in force: x87|SSE|AVX */
    assert_int_equal(r[ECX], 512 + 64 * 7 + 64);                 /* all offered */
    for (uint32_t sub = 3; sub < 64; sub++)
        if (sub < 5 || sub > 7)
            assert_zero_leaf(0xD, sub);
    /* AMD: the vendor in 0x80000000 too. */
    build(true, false, 1, NULL);
    get(0x80000000u, 0, r);
    assert_int_equal(r[EBX], 0x68747541u);
}

static void test_topology(void **state)
{
    (void)state;
    uint32_t r[4];
    build(false, false, 5, NULL);
    get(0xB, 0, r);
    assert_int_equal(r[EBX], 1);
    assert_int_equal(r[EDX], 3);
    get(0xB, 1, r);
    assert_int_equal(r[EAX], 3);
    assert_int_equal(r[EBX], 5);
    assert_int_equal(r[ECX], 1 | 2u << 8);
    get(0xB, 2, r);
    assert_int_equal(r[EAX] | r[EBX], 0);
    get(4, 0, r);
    assert_int_equal(r[EAX] >> 26, 7);                           /* 8 core IDs - 1 */
}

static void test_xsave_dependencies(void **state)
{
    (void)state;
    /* A host whose XCR0 lacks AVX: no AVX, nothing that needs its state. */
    host_xcr0 = XCR0_X87 | XCR0_SSE | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM;
    build(false, false, 1, NULL);
    host_xcr0 = ~0ull;
    assert_int_equal(m.xcr0, XCR0_X87 | XCR0_SSE);
    assert_false(guest_word(CPUID_W_1_ECX) & (1u << 28 | 1u << 12 | 1u << 29));
    assert_false(guest_word(CPUID_W_7_0_EBX) & (1u << 5 | 1u << 16 | 1u << 31));
    assert_true(guest_word(CPUID_W_1_ECX) & CPUID_1_ECX_XSAVE);
    /* The config removes XSAVE: no leaf 0xD, no AVX. */
    uint32_t clear[CPUID_WORDS] = { 0 };
    clear[CPUID_W_1_ECX] = CPUID_1_ECX_XSAVE;
    build(false, false, 1, clear);
    assert_int_equal(m.xcr0, 0);
    assert_false(guest_word(CPUID_W_1_ECX) & (CPUID_1_ECX_XSAVE | 1u << 28));
    assert_zero_leaf(0xD, 0);
    assert_zero_leaf(0xD, 1);
    assert_zero_leaf(0xD, 2);
}

static void test_config_clear(void **state)
{
    (void)state;
    uint32_t clear[CPUID_WORDS] = { 0 };
    clear[CPUID_W_7_0_EBX] = 1u << 5;              /* -avx2 */
    clear[CPUID_W_1_EDX] = 1u << 16;               /* -pat: AMD's copy goes too */
    clear[CPUID_W_1_ECX] = CPUID_1_ECX_X2APIC;     /* hv86's own bits may go */
    clear[CPUID_W_7_0_ECX] = 1u << 3;              /* a bit never offered: no effect */
    build(true, false, 1, clear);
    assert_false(guest_word(CPUID_W_7_0_EBX) & (1u << 5));
    assert_true(guest_word(CPUID_W_7_0_EBX) & (1u << 3));      /* BMI1 stays */
    assert_false(guest_word(CPUID_W_1_EDX) & (1u << 16));
    assert_false(guest_word(CPUID_W_80000001_EDX) & (1u << 16));
    assert_true(guest_word(CPUID_W_80000001_EDX) & (1u << 15)); /* CMOV's copy stays */
    assert_false(guest_word(CPUID_W_1_ECX) & CPUID_1_ECX_X2APIC);
    assert_false(msr_model_exists(&m, MSR_PAT));
    assert_false(msr_model_exists(&m, 0x802));
}

/* Every MSR the model's features imply exists; those of features not offered not. */
static void check_msrs(bool amd)
{
    uint32_t list[64];
    build(amd, false, 1, NULL);
    unsigned n = msr_model_implied(&m, list, 64);
    assert_true(n > 20 && n <= 64);
    for (unsigned i = 0; i < n; i++)
        if (!msr_model_exists(&m, list[i]))
            fail_msg("MSR %#x implied but missing", list[i]);
    static const uint32_t absent[] = {
        0x345 /* PERF_CAPABILITIES: PDCM hidden */, 0x186, 0xC1 /* arch PMU: leaf 0xA */,
        0x48, 0x49, 0x10B, 0x10A /* speculation controls */, 0x3B /* TSC_ADJUST */,
        0xDA0 /* XSS */, 0xE7, 0xE8 /* MPERF, APERF */,
        0x3A /* FEATURE_CONTROL: no VMX */, 0xC0000104u, 0xC0010200u /* PERFCTR_CORE */,
        0xD90 /* BNDCFGS */, 0x6A0 /* U_CET */, 0xC80 /* DEBUG_INTERFACE */,
        0x11, 0x12 /* old kvm-clock */, 0xC0010008u,
    };
    for (unsigned i = 0; i < sizeof absent / sizeof absent[0]; i++)
        if (msr_model_exists(&m, absent[i]))
            fail_msg("MSR %#x exists", absent[i]);
}

static void test_implied_msrs(void **state)
{
    (void)state;
    check_msrs(false);
    assert_false(msr_model_exists(&m, MSR_AMD_PERFEVTSEL0));
    assert_true(msr_model_exists(&m, MSR_PLATFORM_ID));
    check_msrs(true);
    assert_true(msr_model_exists(&m, MSR_AMD_PERFCTR0 + 3));
    assert_false(msr_model_exists(&m, MSR_PLATFORM_ID));
}

static void test_msr_values(void **state)
{
    (void)state;
    struct msr_model_vcpu s = { 0 };
    uint64_t v;
    build(true, false, 1, NULL);
    /* AMD's legacy counters read back what was written. */
    assert_int_equal(msr_model_write(&m, &s, MSR_AMD_PERFEVTSEL0 + 2, 0x4300C0), MSR_MODEL_OK);
    assert_int_equal(msr_model_read(&m, &s, MSR_AMD_PERFEVTSEL0 + 2, &v), MSR_MODEL_OK);
    assert_int_equal(v, 0x4300C0);
    assert_int_equal(msr_model_write(&m, &s, MSR_AMD_PERFEVTSEL0, 1ull << 50), MSR_MODEL_GP);
    assert_int_equal(msr_model_write(&m, &s, MSR_AMD_PERFCTR0 + 1, ~0ull), MSR_MODEL_OK);
    assert_int_equal(msr_model_read(&m, &s, MSR_AMD_PERFCTR0 + 1, &v), MSR_MODEL_OK);
    assert_int_equal(v, (1ull << 48) - 1);
    assert_int_equal(msr_model_read(&m, &s, MSR_BIOS_SIGN_ID, &v), MSR_MODEL_OK);
    assert_int_equal(v, 0x01000065);
    assert_int_equal(msr_model_write(&m, &s, MSR_BIOS_SIGN_ID, 0), MSR_MODEL_OK);
    assert_int_equal(msr_model_read(&m, &s, MSR_EFER, &v), MSR_MODEL_NOT_MINE);
    build(false, false, 1, NULL);
    assert_int_equal(msr_model_read(&m, &s, MSR_BIOS_SIGN_ID, &v), MSR_MODEL_OK);
    assert_int_equal(v, 1ull << 32);
    assert_int_equal(msr_model_read(&m, &s, MSR_PLATFORM_ID, &v), MSR_MODEL_OK);
    assert_int_equal(msr_model_write(&m, &s, MSR_PLATFORM_ID, 0), MSR_MODEL_GP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_future_cpu_words),
        cmocka_unit_test(test_future_cpu_hidden),
        cmocka_unit_test(test_leaves_clamped),
        cmocka_unit_test(test_topology),
        cmocka_unit_test(test_xsave_dependencies),
        cmocka_unit_test(test_config_clear),
        cmocka_unit_test(test_implied_msrs),
        cmocka_unit_test(test_msr_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
