/* vmm/vmx/vmcs_check: a VMCS as hv86 sets it up for a multiboot guest passes;
 * each corrupted copy fails, naming the field that breaks the SDM rule. The
 * capability values are those of a Skylake-class CPU (Bochs corei7_skylake_x). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/vmx/vmcs_check.h"
#include "vmm/vmx/vmx_defs.h"

/* ---- a fake VMCS: field encoding -> value ---------------------------------- */
#define MAX_FIELDS 256
struct fake_vmcs {
    uint32_t enc[MAX_FIELDS];
    uint64_t val[MAX_FIELDS];
    unsigned n;
};

static uint64_t fake_read(void *ctx, uint32_t field)
{
    struct fake_vmcs *f = ctx;
    for (unsigned i = 0; i < f->n; i++)
        if (f->enc[i] == field)
            return f->val[i];
    return 0;
}

static void fake_write(struct fake_vmcs *f, uint32_t field, uint64_t v)
{
    for (unsigned i = 0; i < f->n; i++)
        if (f->enc[i] == field) {
            f->val[i] = v;
            return;
        }
    assert_true(f->n < MAX_FIELDS);
    f->enc[f->n] = field;
    f->val[f->n++] = v;
}

static const struct vmx_cap_msrs caps = {
    .basic = 1 | (0x1000ull << 32) | ((uint64_t)MEMTYPE_WB << 50) | VMX_BASIC_INSOUTS_INFO |
             VMX_BASIC_TRUE_CTLS,
    .pin = 0x0000007f00000016ull,
    .proc = 0xfff9fffe04006172ull,
    .proc2 = 0x005fffff00000000ull,
    .exit = 0x003fffff00036dfbull,
    .entry = 0x0000ffff000011fbull,
    .misc = VMX_MISC_SAVES_LMA | VMX_MISC_ACT_HLT | VMX_MISC_ACT_SHUTDOWN |
            VMX_MISC_ACT_WAIT_SIPI | (4ull << 16),
    .cr0_fixed0 = 0x80000021ull,
    .cr0_fixed1 = 0xffffffffull,
    .cr4_fixed0 = 0x2000ull,
    .cr4_fixed1 = 0x003727ffull,
    .ept_vpid = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_UC | EPT_CAP_2M | EPT_CAP_INVEPT |
                EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL | VPID_CAP_INVVPID |
                VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL,
    .maxphyaddr = 39,
};

#define FLAT_CODE32_AR 0xc09bu   /* G, D/B, P, S, type 11 */
#define FLAT_CODE64_AR 0xa09bu   /* G, L, P, S, type 11 */
#define FLAT_DATA_AR   0xc093u   /* G, D/B, P, S, type 3 */
#define TSS_BUSY_AR    0x008bu
#define REAL_CODE_AR   0x009bu
#define REAL_DATA_AR   0x0093u

/* The state vmx_vcpu.c builds, after the core set the multiboot entry state:
 * protected mode, paging off, flat 32-bit segments. */
static void valid_state(struct fake_vmcs *f)
{
    memset(f, 0, sizeof *f);
    fake_write(f, VMCS_PIN_CONTROLS, vmx_ctl_adjust(caps.pin, PIN_EXTINT_EXITING | PIN_NMI_EXITING));
    fake_write(f, VMCS_PROC_CONTROLS, vmx_ctl_adjust(caps.proc,
               PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
               PROC_SECONDARY_CONTROLS) & ~(PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING));
    fake_write(f, VMCS_PROC2_CONTROLS, PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED_GUEST);
    fake_write(f, VMCS_EXIT_CONTROLS, vmx_ctl_adjust(caps.exit,
               EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_EFER |
               EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_DEBUG_CTLS));
    fake_write(f, VMCS_ENTRY_CONTROLS, vmx_ctl_adjust(caps.entry,
               ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG_CTLS));
    fake_write(f, VMCS_IO_BITMAP_A, 0x200000);
    fake_write(f, VMCS_IO_BITMAP_B, 0x201000);
    fake_write(f, VMCS_MSR_BITMAP, 0x202000);
    fake_write(f, VMCS_VPID, 1);
    fake_write(f, VMCS_EPT_POINTER, 0x300000 | MEMTYPE_WB | EPTP_WALK_LEN(4));

    fake_write(f, VMCS_HOST_CR0, 0x80050033);
    fake_write(f, VMCS_HOST_CR3, 0x104000);
    fake_write(f, VMCS_HOST_CR4, 0x00a0 | VMX_CR4_VMXE);   /* PAE, PGE */
    fake_write(f, VMCS_HOST_CS_SEL, 0x08);
    fake_write(f, VMCS_HOST_SS_SEL, 0x10);
    fake_write(f, VMCS_HOST_DS_SEL, 0x10);
    fake_write(f, VMCS_HOST_ES_SEL, 0x10);
    fake_write(f, VMCS_HOST_TR_SEL, 0x18);
    fake_write(f, VMCS_HOST_TR_BASE, 0x108000);
    fake_write(f, VMCS_HOST_GDTR_BASE, 0x107000);
    fake_write(f, VMCS_HOST_IDTR_BASE, 0x109000);
    fake_write(f, VMCS_HOST_EFER, VMX_EFER_LME | VMX_EFER_LMA);
    fake_write(f, VMCS_HOST_PAT, PAT_DEFAULT);
    fake_write(f, VMCS_HOST_RSP, 0x10f000);
    fake_write(f, VMCS_HOST_RIP, 0x101234);

    fake_write(f, VMCS_GUEST_CR0, VMX_CR0_PE | VMX_CR0_NE | (1u << 4));
    fake_write(f, VMCS_GUEST_CR4, VMX_CR4_VMXE);
    for (int i = 0; i < 6; i++) {
        fake_write(f, VMCS_GUEST_SEG_SEL(i), i == 1 ? 0x08 : 0x10);
        fake_write(f, VMCS_GUEST_SEG_LIMIT(i), 0xffffffff);
        fake_write(f, VMCS_GUEST_SEG_AR(i), i == 1 ? FLAT_CODE32_AR : FLAT_DATA_AR);
    }
    fake_write(f, VMCS_GUEST_LDTR_AR, VMX_AR_UNUSABLE);
    fake_write(f, VMCS_GUEST_TR_AR, TSS_BUSY_AR);
    fake_write(f, VMCS_GUEST_TR_LIMIT, 0x67);
    fake_write(f, VMCS_GUEST_GDTR_LIMIT, 0xffff);
    fake_write(f, VMCS_GUEST_IDTR_LIMIT, 0xffff);
    fake_write(f, VMCS_GUEST_RFLAGS, VMX_RFLAGS_FIXED1);
    fake_write(f, VMCS_GUEST_RIP, 0x100000);
    fake_write(f, VMCS_GUEST_DR7, 0x400);
    fake_write(f, VMCS_GUEST_PAT, PAT_DEFAULT);
    fake_write(f, VMCS_LINK_POINTER, VMCS_LINK_NONE);
}

/* Switch the valid state to 64-bit long mode, as set_reg does when PG turns on. */
static void long_mode(struct fake_vmcs *f)
{
    fake_write(f, VMCS_GUEST_CR0, VMX_CR0_PE | VMX_CR0_NE | VMX_CR0_PG);
    fake_write(f, VMCS_GUEST_CR4, VMX_CR4_VMXE | VMX_CR4_PAE);
    fake_write(f, VMCS_GUEST_CR3, 0x1000);
    fake_write(f, VMCS_GUEST_EFER, VMX_EFER_LME | VMX_EFER_LMA);
    fake_write(f, VMCS_ENTRY_CONTROLS, fake_read(f, VMCS_ENTRY_CONTROLS) | ENTRY_IA32E_GUEST);
    fake_write(f, VMCS_GUEST_CS_AR, FLAT_CODE64_AR);
    fake_write(f, VMCS_GUEST_RIP, 0xffffffff80001000ull);
}

/* Real mode under unrestricted guest: the state the realmode guest reaches. */
static void real_mode(struct fake_vmcs *f)
{
    fake_write(f, VMCS_GUEST_CR0, VMX_CR0_NE | (1u << 4));
    for (int i = 0; i < 6; i++) {
        fake_write(f, VMCS_GUEST_SEG_SEL(i), 0x1000);
        fake_write(f, VMCS_GUEST_SEG_BASE(i), 0x10000);
        fake_write(f, VMCS_GUEST_SEG_LIMIT(i), 0xffff);
        fake_write(f, VMCS_GUEST_SEG_AR(i), i == 1 ? REAL_CODE_AR : REAL_DATA_AR);
    }
    fake_write(f, VMCS_GUEST_RIP, 0x100);
}

static struct vmcs_check_result run(struct fake_vmcs *f)
{
    struct vmcs_check_result r;
    bool ok = vmcs_check(&caps, fake_read, f, &r);
    assert_true(ok == (r.field == NULL));
    return r;
}

#define EXPECT_PASS(f)                                                        \
    do {                                                                      \
        struct vmcs_check_result r_ = run(f);                                 \
        if (r_.field)                                                         \
            fail_msg("unexpected failure: %s: %s", r_.field, r_.rule);        \
    } while (0)

#define EXPECT_FAIL(f, name)                                                  \
    do {                                                                      \
        struct vmcs_check_result r_ = run(f);                                 \
        if (!r_.field)                                                        \
            fail_msg("expected %s to fail, all rules passed", name);          \
        assert_string_equal(r_.field, name);                                  \
        assert_non_null(r_.rule);                                             \
        print_message("    %s: %s\n", r_.field, r_.rule);                     \
    } while (0)

/* ---- states that pass ------------------------------------------------------ */
static void test_valid_protected(void **s) { (void)s; struct fake_vmcs f; valid_state(&f); EXPECT_PASS(&f); }
static void test_valid_long(void **s) { (void)s; struct fake_vmcs f; valid_state(&f); long_mode(&f); EXPECT_PASS(&f); }
static void test_valid_real(void **s) { (void)s; struct fake_vmcs f; valid_state(&f); real_mode(&f); EXPECT_PASS(&f); }

static void test_valid_injection(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_INFO_ERROR_VALID |
               (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | 13);
    fake_write(&f, VMCS_ENTRY_EXC_ERROR, 0x10);
    EXPECT_PASS(&f);
}

static void test_valid_hlt(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    EXPECT_PASS(&f);
}

/* ---- controls (27.2.1) ----------------------------------------------------- */
static void test_pin_reserved(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_PIN_CONTROLS, PIN_EXTINT_EXITING);   /* default-1 bits cleared */
    EXPECT_FAIL(&f, "PIN_CONTROLS");
}

static void test_proc2_not_allowed(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_PROC2_CONTROLS, PROC2_EPT | PROC2_UNRESTRICTED_GUEST | (1u << 30));
    EXPECT_FAIL(&f, "PROC2_CONTROLS");
}

static void test_ug_without_ept(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_PROC2_CONTROLS, PROC2_UNRESTRICTED_GUEST | PROC2_VPID);
    EXPECT_FAIL(&f, "PROC2_CONTROLS");
}

static void test_io_bitmap_unaligned(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_IO_BITMAP_B, 0x201008);
    EXPECT_FAIL(&f, "IO_BITMAP_B");
}

static void test_vpid_zero(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_VPID, 0);
    EXPECT_FAIL(&f, "VPID");
}

static void test_eptp_walk_length(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_EPT_POINTER, 0x300000 | MEMTYPE_WB | EPTP_WALK_LEN(3));
    EXPECT_FAIL(&f, "EPT_POINTER");
}

static void test_eptp_memtype(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_EPT_POINTER, 0x300000 | MEMTYPE_WT | EPTP_WALK_LEN(4));
    EXPECT_FAIL(&f, "EPT_POINTER");
}

static void test_eptp_beyond_maxphyaddr(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_EPT_POINTER, (1ull << 40) | MEMTYPE_WB | EPTP_WALK_LEN(4));
    EXPECT_FAIL(&f, "EPT_POINTER");
}

static void test_inject_missing_error_code(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID |
               (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | 13);   /* #GP needs one */
    EXPECT_FAIL(&f, "ENTRY_INTR_INFO");
}

static void test_inject_error_code_in_real_mode(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    real_mode(&f);
    fake_write(&f, VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_INFO_ERROR_VALID |
               (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | 13);
    EXPECT_FAIL(&f, "ENTRY_INTR_INFO");
}

static void test_inject_softint_no_length(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID |
               (INTR_TYPE_SW_INTR << INTR_INFO_TYPE_SHIFT) | 0x80);
    EXPECT_FAIL(&f, "ENTRY_INSN_LEN");
    fake_write(&f, VMCS_ENTRY_INSN_LEN, 2);
    EXPECT_PASS(&f);
}

/* ---- host state (27.2.2-27.2.4) -------------------------------------------- */
static void test_host_cs_zero(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_HOST_CS_SEL, 0);
    EXPECT_FAIL(&f, "HOST_CS_SEL");
}

static void test_host_tr_zero(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_HOST_TR_SEL, 0);
    EXPECT_FAIL(&f, "HOST_TR_SEL");
}

static void test_host_ds_rpl(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_HOST_DS_SEL, 0x13);
    EXPECT_FAIL(&f, "HOST_DS_SEL");
}

static void test_host_cr4_vmxe(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_HOST_CR4, 0x00a0);
    EXPECT_FAIL(&f, "HOST_CR4");
}

static void test_host_efer_vs_addr_size(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_HOST_EFER, VMX_EFER_LME);
    EXPECT_FAIL(&f, "HOST_EFER");
}

static void test_host_rip_noncanonical(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_HOST_RIP, 0x0000800000000000ull);
    EXPECT_FAIL(&f, "HOST_RIP");
}

static void test_host_pat_invalid(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_HOST_PAT, (PAT_DEFAULT & ~0xffull) | 0x02);   /* type 2 is reserved */
    EXPECT_FAIL(&f, "HOST_PAT");
}

/* ---- guest state (27.3.1) -------------------------------------------------- */
static void test_guest_cr0_ne(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_CR0, VMX_CR0_PE);   /* NE is fixed to 1 */
    EXPECT_FAIL(&f, "GUEST_CR0");
}

static void test_guest_cr0_pe_without_ug(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    real_mode(&f);
    fake_write(&f, VMCS_PROC2_CONTROLS, PROC2_EPT | PROC2_VPID);
    EXPECT_FAIL(&f, "GUEST_CR0");
}

static void test_guest_pg_without_pe(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_CR0, VMX_CR0_NE | VMX_CR0_PG);
    struct vmcs_check_result r = run(&f);
    assert_string_equal(r.field, "GUEST_CR0");
    assert_non_null(strstr(r.rule, "PG set requires PE"));
}

static void test_guest_cr4_vmxe(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_CR4, 0);
    EXPECT_FAIL(&f, "GUEST_CR4");
}

static void test_guest_ia32e_without_pae(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    long_mode(&f);
    fake_write(&f, VMCS_GUEST_CR4, VMX_CR4_VMXE);
    EXPECT_FAIL(&f, "GUEST_CR4");
}

static void test_guest_efer_lma_without_ia32e(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_EFER, VMX_EFER_LME | VMX_EFER_LMA);
    EXPECT_FAIL(&f, "GUEST_EFER");
}

static void test_guest_ia32e_without_lma(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    long_mode(&f);
    fake_write(&f, VMCS_GUEST_EFER, VMX_EFER_LME);
    EXPECT_FAIL(&f, "GUEST_EFER");
}

static void test_guest_efer_reserved(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_EFER, 1u << 12);   /* AMD's SVME: reserved on Intel */
    EXPECT_FAIL(&f, "GUEST_EFER");
}

static void test_guest_cs_not_present(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_CS_AR, FLAT_CODE32_AR & ~VMX_AR_P);
    EXPECT_FAIL(&f, "GUEST_CS_AR");
}

static void test_guest_cs_data_type(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_CS_AR, (FLAT_CODE32_AR & ~0xfu) | 1);   /* data, read-only */
    EXPECT_FAIL(&f, "GUEST_CS_AR");
}

static void test_guest_ds_not_accessed(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_DS_AR, FLAT_DATA_AR & ~SEG_TYPE_ACCESSED);
    EXPECT_FAIL(&f, "GUEST_DS_AR");
}

static void test_guest_es_unusable_ok(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_ES_AR, VMX_AR_UNUSABLE);
    EXPECT_PASS(&f);
}

static void test_guest_granularity(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_SS_AR, FLAT_DATA_AR & ~VMX_AR_G);   /* 4 GiB limit needs G */
    EXPECT_FAIL(&f, "GUEST_SS_AR");
}

static void test_guest_ss_dpl_real_mode(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    real_mode(&f);
    fake_write(&f, VMCS_GUEST_SS_AR, REAL_DATA_AR | (3u << 5));
    fake_write(&f, VMCS_GUEST_CS_AR, 0x9fu);   /* conforming: DPL <= SS.DPL holds */
    EXPECT_FAIL(&f, "GUEST_SS_AR");
}

static void test_guest_cs_db_with_l(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    long_mode(&f);
    fake_write(&f, VMCS_GUEST_CS_AR, FLAT_CODE64_AR | VMX_AR_DB);
    EXPECT_FAIL(&f, "GUEST_CS_AR");
}

static void test_guest_tr_available(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_TR_AR, 0x89);   /* available, not busy */
    EXPECT_FAIL(&f, "GUEST_TR_AR");
}

static void test_guest_tr16_in_long_mode(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_TR_AR, 0x83);   /* fine in protected mode */
    EXPECT_PASS(&f);
    long_mode(&f);
    EXPECT_FAIL(&f, "GUEST_TR_AR");
}

static void test_guest_tr_unusable(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_TR_AR, TSS_BUSY_AR | VMX_AR_UNUSABLE);
    EXPECT_FAIL(&f, "GUEST_TR_AR");
}

static void test_guest_ldtr_type(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_LDTR_AR, 0x8b);
    EXPECT_FAIL(&f, "GUEST_LDTR_AR");
}

static void test_guest_rflags_bit1(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_RFLAGS, 0);
    EXPECT_FAIL(&f, "GUEST_RFLAGS");
}

static void test_guest_rflags_reserved(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_RFLAGS, VMX_RFLAGS_FIXED1 | (1u << 3));
    EXPECT_FAIL(&f, "GUEST_RFLAGS");
}

static void test_guest_rip_high_outside_64bit(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_RIP, 0x100000000ull);
    EXPECT_FAIL(&f, "GUEST_RIP");
}

static void test_guest_gdtr_limit(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_GDTR_LIMIT, 0x10000);
    EXPECT_FAIL(&f, "GUEST_GDTR_LIMIT");
}

static void test_guest_activity_state(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_ACTIVITY_STATE, 5);
    EXPECT_FAIL(&f, "GUEST_ACTIVITY_STATE");
}

static void test_guest_hlt_with_sti_blocking(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_RFLAGS, VMX_RFLAGS_FIXED1 | VMX_RFLAGS_IF);
    fake_write(&f, VMCS_GUEST_INTERRUPTIBILITY, INTR_BLOCK_STI);
    EXPECT_PASS(&f);
    fake_write(&f, VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    EXPECT_FAIL(&f, "GUEST_ACTIVITY_STATE");
}

static void test_guest_sti_blocking_without_if(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_INTERRUPTIBILITY, INTR_BLOCK_STI);
    EXPECT_FAIL(&f, "GUEST_INTERRUPTIBILITY");
}

static void test_guest_link_pointer(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_LINK_POINTER, 0);
    EXPECT_PASS(&f);   /* 0 is page aligned: only the target's revision could tell */
    fake_write(&f, VMCS_LINK_POINTER, 0x1234);
    EXPECT_FAIL(&f, "LINK_POINTER");
}

static void test_guest_pdpte_reserved(void **s)
{
    (void)s;
    struct fake_vmcs f;
    valid_state(&f);
    fake_write(&f, VMCS_GUEST_CR0, VMX_CR0_PE | VMX_CR0_NE | VMX_CR0_PG);
    fake_write(&f, VMCS_GUEST_CR4, VMX_CR4_VMXE | VMX_CR4_PAE);
    fake_write(&f, VMCS_GUEST_PDPTE2, 0x5000 | VMX_PDPTE_P);
    EXPECT_PASS(&f);
    fake_write(&f, VMCS_GUEST_PDPTE2, 0x5000 | VMX_PDPTE_P | 2);   /* R/W is reserved here */
    EXPECT_FAIL(&f, "GUEST_PDPTE2");
}

static void test_field_names(void **s)
{
    (void)s;
    assert_string_equal(vmcs_field_name(VMCS_GUEST_RIP), "GUEST_RIP");
    assert_string_equal(vmcs_field_name(VMCS_HOST_TR_SEL), "HOST_TR_SEL");
    assert_string_equal(vmcs_field_name(0x7777), "unknown field");
    assert_string_equal(vmx_insn_error_name(VMXERR_ENTRY_INVALID_HOST_STATE),
                        "VM entry with invalid host-state field(s)");
    assert_string_equal(vmx_insn_error_name(99), "unknown VM-instruction error");
    assert_string_equal(vmx_exit_reason_name(EXIT_REASON_EPT_VIOLATION), "EPT violation");
    assert_string_equal(vmx_exit_reason_name(35), "unknown exit reason");
}

static void test_ctl_adjust(void **s)
{
    (void)s;
    /* allowed-0 bits forced on, bits outside allowed-1 dropped */
    assert_int_equal(vmx_ctl_adjust(0x000000ff00000016ull, 0x101), 0x17);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_protected),
        cmocka_unit_test(test_valid_long),
        cmocka_unit_test(test_valid_real),
        cmocka_unit_test(test_valid_injection),
        cmocka_unit_test(test_valid_hlt),
        cmocka_unit_test(test_pin_reserved),
        cmocka_unit_test(test_proc2_not_allowed),
        cmocka_unit_test(test_ug_without_ept),
        cmocka_unit_test(test_io_bitmap_unaligned),
        cmocka_unit_test(test_vpid_zero),
        cmocka_unit_test(test_eptp_walk_length),
        cmocka_unit_test(test_eptp_memtype),
        cmocka_unit_test(test_eptp_beyond_maxphyaddr),
        cmocka_unit_test(test_inject_missing_error_code),
        cmocka_unit_test(test_inject_error_code_in_real_mode),
        cmocka_unit_test(test_inject_softint_no_length),
        cmocka_unit_test(test_host_cs_zero),
        cmocka_unit_test(test_host_tr_zero),
        cmocka_unit_test(test_host_ds_rpl),
        cmocka_unit_test(test_host_cr4_vmxe),
        cmocka_unit_test(test_host_efer_vs_addr_size),
        cmocka_unit_test(test_host_rip_noncanonical),
        cmocka_unit_test(test_host_pat_invalid),
        cmocka_unit_test(test_guest_cr0_ne),
        cmocka_unit_test(test_guest_cr0_pe_without_ug),
        cmocka_unit_test(test_guest_pg_without_pe),
        cmocka_unit_test(test_guest_cr4_vmxe),
        cmocka_unit_test(test_guest_ia32e_without_pae),
        cmocka_unit_test(test_guest_efer_lma_without_ia32e),
        cmocka_unit_test(test_guest_ia32e_without_lma),
        cmocka_unit_test(test_guest_efer_reserved),
        cmocka_unit_test(test_guest_cs_not_present),
        cmocka_unit_test(test_guest_cs_data_type),
        cmocka_unit_test(test_guest_ds_not_accessed),
        cmocka_unit_test(test_guest_es_unusable_ok),
        cmocka_unit_test(test_guest_granularity),
        cmocka_unit_test(test_guest_ss_dpl_real_mode),
        cmocka_unit_test(test_guest_cs_db_with_l),
        cmocka_unit_test(test_guest_tr_available),
        cmocka_unit_test(test_guest_tr16_in_long_mode),
        cmocka_unit_test(test_guest_tr_unusable),
        cmocka_unit_test(test_guest_ldtr_type),
        cmocka_unit_test(test_guest_rflags_bit1),
        cmocka_unit_test(test_guest_rflags_reserved),
        cmocka_unit_test(test_guest_rip_high_outside_64bit),
        cmocka_unit_test(test_guest_gdtr_limit),
        cmocka_unit_test(test_guest_activity_state),
        cmocka_unit_test(test_guest_hlt_with_sti_blocking),
        cmocka_unit_test(test_guest_sti_blocking_without_if),
        cmocka_unit_test(test_guest_link_pointer),
        cmocka_unit_test(test_guest_pdpte_reserved),
        cmocka_unit_test(test_field_names),
        cmocka_unit_test(test_ctl_adjust),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
