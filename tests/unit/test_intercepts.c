/* The intercept table of docs/security.md against what hv86 programs: the VMCB
 * intercept words and MSR permission map (vmm/svm/vmcb_intercepts_pure.c), the VMX
 * controls, exception bitmap and MSR bitmap (vmm/vmx/vmx_controls_pure.c). Every
 * row of the table must have a check here and every check a row, so the page and
 * the code cannot drift apart. Run from the top of the tree (make unit does). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "arch/x86.h"
#include "vmm/svm/vmcb_intercepts_pure.h"
#include "vmm/vmx/vmx_controls_pure.h"

static const char *last_missing;
static void note_missing(const char *what, const char *msr)
{
    (void)msr;
    last_missing = what;
}

/* A CPU that allows every control and has every EPT/VPID capability. */
static struct vmx_cap_msrs permissive(void)
{
    const uint64_t any = 0xFFFFFFFF00000000ull;   /* allowed-1 all set, allowed-0 none */
    return (struct vmx_cap_msrs){ .pin = any, .proc = any, .proc2 = any, .exit = any,
                                  .entry = any, .ept_vpid = ~0ull };
}

static struct vmx_controls vmx_ctls(void)
{
    struct vmx_cap_msrs caps = permissive();
    struct vmx_controls c;
    assert_int_equal(vmx_controls_init(&caps, &c, note_missing), 0);
    return c;
}

/* A CPU whose capability MSR cap (a field of *caps) lacks allowed-1 bit is
 * refused, the control named. */
static void assert_required(struct vmx_cap_msrs *caps, uint64_t *cap, uint32_t bit,
                            const char *name)
{
    *cap &= ~((uint64_t)bit << 32);
    struct vmx_controls c;
    last_missing = 0;
    assert_int_equal(vmx_controls_init(caps, &c, note_missing), -1);
    assert_string_equal(last_missing, name);
}

static struct vmcb_control vmcb(int shadow)
{
    struct vmcb_control c;
    memset(&c, 0, sizeof c);
    vmcb_set_intercepts(&c, shadow);
    return c;
}

static uint8_t msrpm[MSRPM_SIZE], msr_bitmap[VMX_MSR_BITMAP_SIZE];

static void maps(void)
{
    svm_msrpm_init(msrpm);
    vmx_msr_bitmap_init(msr_bitmap);
}

static void check_mov_dr(void)
{
    for (int shadow = 0; shadow < 2; shadow++)
        assert_int_equal(vmcb(shadow).intercept_dr, INTERCEPT_DR0_7);
    assert_true(vmx_ctls().proc & PROC_MOV_DR_EXITING);
    struct vmx_cap_msrs caps = permissive();
    assert_required(&caps, &caps.proc, PROC_MOV_DR_EXITING, "MOV-DR exiting");
}

/* VMX: INVD exits unconditionally (SDM Vol. 3C 26.1.2): nothing to program. */
static void check_invd(void)
{
    for (int shadow = 0; shadow < 2; shadow++)
        assert_true(vmcb(shadow).intercept_misc1 & INTERCEPT_INVD);
}

/* SVM only: VMX's "WBINVD exiting" stays off, as the table says. */
static void check_wbinvd(void)
{
    for (int shadow = 0; shadow < 2; shadow++)
        assert_true(vmcb(shadow).intercept_misc2 & INTERCEPT_WBINVD);
    assert_false(vmx_ctls().proc2 & PROC2_WBINVD_EXITING);
}

static void check_exception(unsigned vector)
{
    for (int shadow = 0; shadow < 2; shadow++) {
        assert_true(vmcb(shadow).intercept_exceptions & 1u << vector);
        assert_true(vmx_exception_bitmap(shadow) & 1u << vector);
    }
}
static void check_db(void) { check_exception(EXC_DB); }
static void check_ac(void) { check_exception(EXC_AC); }

/* SVM: only from an NMI's injection to its handler's IRET, so never from the
 * start (an IRET exit per guest IRET otherwise). VMX: virtual NMIs, required. */
static void check_iret(void)
{
    for (int shadow = 0; shadow < 2; shadow++)
        assert_false(vmcb(shadow).intercept_misc1 & INTERCEPT_IRET);
    assert_true(vmx_ctls().pin & PIN_VIRTUAL_NMIS);
    struct vmx_cap_msrs caps = permissive();
    assert_required(&caps, &caps.pin, PIN_VIRTUAL_NMIS, "virtual NMIs");
}

static void check_tsc_aux(void)
{
    maps();
    for (int write = 0; write < 2; write++) {
        assert_true(svm_msrpm_intercepts(msrpm, MSR_TSC_AUX, write));
        assert_true(vmx_msr_bitmap_exits(msr_bitmap, MSR_TSC_AUX, write));
    }
}

static const struct row_check {
    const char *intercept;       /* first column of the table */
    void (*check)(void);
} checks[] = {
    { "MOV DR", check_mov_dr }, { "INVD", check_invd }, { "WBINVD", check_wbinvd },
    { "#DB", check_db },        { "#AC", check_ac },    { "IRET", check_iret },
    { "IA32_TSC_AUX", check_tsc_aux },
};
#define NCHECKS (sizeof checks / sizeof checks[0])

/* The first cells of the rows of the table under "## Intercepts". */
static unsigned table_rows(char rows[][64], unsigned max)
{
    FILE *f = fopen("docs/security.md", "r");
    if (!f)
        fail_msg("docs/security.md: cannot open (run from the top of the tree)");
    char line[4096];
    bool in_section = false, in_table = false;
    unsigned n = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "## ", 3)) {
            if (in_section)
                break;
            in_section = !strcmp(line, "## Intercepts\n");
            continue;
        }
        if (!in_section)
            continue;
        if (line[0] != '|') {
            if (in_table)
                break;
            continue;
        }
        if (!in_table) {           /* the header row, then the separator */
            in_table = true;
            if (!fgets(line, sizeof line, f))
                break;
            continue;
        }
        char *cell = line + 1, *end = strchr(cell, '|');
        assert_non_null(end);
        while (*cell == ' ')
            cell++;
        while (end > cell && end[-1] == ' ')
            end--;
        assert_true(n < max && (size_t)(end - cell) < 64);
        memcpy(rows[n], cell, (size_t)(end - cell));
        rows[n][end - cell] = 0;
        n++;
    }
    fclose(f);
    return n;
}

static void test_table_rows_are_programmed(void **state)
{
    (void)state;
    char rows[32][64];
    unsigned n = table_rows(rows, 32);
    assert_true(n > 0);
    for (unsigned i = 0; i < n; i++) {
        unsigned k = 0;
        while (k < NCHECKS && strcmp(checks[k].intercept, rows[i]))
            k++;
        if (k == NCHECKS)
            fail_msg("docs/security.md intercept \"%s\" has no check here", rows[i]);
        checks[k].check();
    }
    for (unsigned k = 0; k < NCHECKS; k++) {
        unsigned i = 0;
        while (i < n && strcmp(checks[k].intercept, rows[i]))
            i++;
        if (i == n)
            fail_msg("check \"%s\" has no row in docs/security.md", checks[k].intercept);
    }
}

/* Only the MSRs the hardware switches (or hv86 swaps, VMX's SYSCALL ones) pass
 * through: every other index of both maps exits, read and write (anything else
 * passed through would be shared between VMs, as IA32_TSC_AUX was). */
static void test_only_switched_msrs_pass_through(void **state)
{
    (void)state;
    static const uint32_t switched[] = {
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
        MSR_SFMASK, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
    };
    static const uint32_t ranges[][2] = {
        { 0, 0x2000 }, { 0xC0000000u, 0xC0002000u }, { 0xC0010000u, 0xC0012000u },
        { 0x40000000u, 0x40000100u },
    };
    maps();
    unsigned passed = 0;
    for (unsigned r = 0; r < 4; r++)
        for (uint32_t msr = ranges[r][0]; msr < ranges[r][1]; msr++) {
            bool owned = false;
            for (unsigned i = 0; i < sizeof switched / sizeof switched[0]; i++)
                owned |= switched[i] == msr;
            for (int write = 0; write < 2; write++) {
                if (svm_msrpm_intercepts(msrpm, msr, write) == owned)
                    fail_msg("svm: msr %#x %s: %s", msr, write ? "write" : "read",
                             owned ? "intercepted" : "passed through");
                if (vmx_msr_bitmap_exits(msr_bitmap, msr, write) == owned)
                    fail_msg("vmx: msr %#x %s: %s", msr, write ? "write" : "read",
                             owned ? "exits" : "passed through");
            }
            passed += owned;
        }
    assert_int_equal(passed, sizeof switched / sizeof switched[0]);
}

/* Shadow paging adds exactly the paging intercepts (CR0/3/4 reads, CR3 writes,
 * #PF, INVLPG) and removes nothing. */
static void test_shadow_adds_paging_intercepts(void **state)
{
    (void)state;
    struct vmcb_control n = vmcb(0), s = vmcb(1);
    assert_int_equal(s.intercept_cr & ~n.intercept_cr,
                     INTERCEPT_CR_READ(0) | INTERCEPT_CR_READ(3) | INTERCEPT_CR_READ(4) |
                         INTERCEPT_CR_WRITE(3));
    assert_int_equal(s.intercept_exceptions & ~n.intercept_exceptions, 1u << EXC_PF);
    assert_int_equal(s.intercept_misc1 & ~n.intercept_misc1, INTERCEPT_INVLPG);
    assert_int_equal(n.intercept_cr & ~s.intercept_cr, 0);
    assert_int_equal(n.intercept_misc2, s.intercept_misc2);
    assert_int_equal(vmx_exception_bitmap(1) & ~vmx_exception_bitmap(0), 1u << EXC_PF);
    assert_true(vmx_exception_bitmap(0) & 1u << EXC_MC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_rows_are_programmed),
        cmocka_unit_test(test_only_switched_msrs_pass_through),
        cmocka_unit_test(test_shadow_adds_paging_intercepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
