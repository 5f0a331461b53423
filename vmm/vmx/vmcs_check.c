/* hv86's checker of the VM-entry conditions, SDM Vol. 3C ch. 27.
 *
 * Why: a refused entry gives only "VM-instruction error 7/8" or "exit reason 33";
 * this names the field and the rule. The rules run in the order the processor
 * applies them (27.2.1 controls, 27.2.2-27.2.4 host state, 27.3.1 guest state) and
 * the first break is returned.
 *
 * Not checked (hv86 never sets them, or values alone cannot tell): the contents of
 * the VMCS link pointer's target, SMM and dual-monitor state, posted interrupts and
 * APIC virtualization beyond their enabling rules, PML, VM functions, CET, PKRS,
 * BNDCFGS, RTIT, perf-global-ctrl values, IA32_DEBUGCTL reserved bits, 5-level
 * paging (addresses are checked as 48-bit canonical). */
#include <stddef.h>
#include "vmm/vmx/vmcs_check.h"
#include "vmm/vmx/vmx_defs.h"

struct field_name { uint32_t enc; const char *name; };

#define F(x) { VMCS_##x, #x }
static const struct field_name field_names[] = {
    F(VPID), F(GUEST_ES_SEL), F(GUEST_CS_SEL), F(GUEST_SS_SEL), F(GUEST_DS_SEL),
    F(GUEST_FS_SEL), F(GUEST_GS_SEL), F(GUEST_LDTR_SEL), F(GUEST_TR_SEL),
    F(HOST_ES_SEL), F(HOST_CS_SEL), F(HOST_SS_SEL), F(HOST_DS_SEL), F(HOST_FS_SEL),
    F(HOST_GS_SEL), F(HOST_TR_SEL),
    F(IO_BITMAP_A), F(IO_BITMAP_B), F(MSR_BITMAP), F(EXIT_MSR_STORE_ADDR),
    F(EXIT_MSR_LOAD_ADDR), F(ENTRY_MSR_LOAD_ADDR), F(TSC_OFFSET),
    F(VIRTUAL_APIC_ADDR), F(APIC_ACCESS_ADDR), F(EPT_POINTER), F(GUEST_PHYS_ADDR),
    F(LINK_POINTER), F(GUEST_DEBUGCTL), F(GUEST_PAT), F(GUEST_EFER),
    F(GUEST_PDPTE0), F(GUEST_PDPTE1), F(GUEST_PDPTE2), F(GUEST_PDPTE3),
    F(HOST_PAT), F(HOST_EFER),
    F(PIN_CONTROLS), F(PROC_CONTROLS), F(EXCEPTION_BITMAP), F(PF_ERROR_MASK),
    F(PF_ERROR_MATCH), F(CR3_TARGET_COUNT), F(EXIT_CONTROLS),
    F(EXIT_MSR_STORE_COUNT), F(EXIT_MSR_LOAD_COUNT), F(ENTRY_CONTROLS),
    F(ENTRY_MSR_LOAD_COUNT), F(ENTRY_INTR_INFO), F(ENTRY_EXC_ERROR),
    F(ENTRY_INSN_LEN), F(TPR_THRESHOLD), F(PROC2_CONTROLS), F(INSN_ERROR),
    F(EXIT_REASON), F(EXIT_INTR_INFO), F(EXIT_INTR_ERROR), F(IDT_VECTORING_INFO),
    F(IDT_VECTORING_ERROR), F(EXIT_INSN_LEN), F(EXIT_INSN_INFO),
    F(GUEST_ES_LIMIT), F(GUEST_CS_LIMIT), F(GUEST_SS_LIMIT), F(GUEST_DS_LIMIT),
    F(GUEST_FS_LIMIT), F(GUEST_GS_LIMIT), F(GUEST_LDTR_LIMIT), F(GUEST_TR_LIMIT),
    F(GUEST_GDTR_LIMIT), F(GUEST_IDTR_LIMIT), F(GUEST_ES_AR), F(GUEST_CS_AR),
    F(GUEST_SS_AR), F(GUEST_DS_AR), F(GUEST_FS_AR), F(GUEST_GS_AR),
    F(GUEST_LDTR_AR), F(GUEST_TR_AR), F(GUEST_INTERRUPTIBILITY),
    F(GUEST_ACTIVITY_STATE), F(GUEST_SMBASE), F(GUEST_SYSENTER_CS),
    F(GUEST_PREEMPT_TIMER), F(HOST_SYSENTER_CS),
    F(CR0_MASK), F(CR4_MASK), F(CR0_SHADOW), F(CR4_SHADOW), F(EXIT_QUALIFICATION),
    F(GUEST_LINEAR_ADDR), F(GUEST_CR0), F(GUEST_CR3), F(GUEST_CR4),
    F(GUEST_ES_BASE), F(GUEST_CS_BASE), F(GUEST_SS_BASE), F(GUEST_DS_BASE),
    F(GUEST_FS_BASE), F(GUEST_GS_BASE), F(GUEST_LDTR_BASE), F(GUEST_TR_BASE),
    F(GUEST_GDTR_BASE), F(GUEST_IDTR_BASE), F(GUEST_DR7), F(GUEST_RSP),
    F(GUEST_RIP), F(GUEST_RFLAGS), F(GUEST_PENDING_DBG), F(GUEST_SYSENTER_ESP),
    F(GUEST_SYSENTER_EIP), F(HOST_CR0), F(HOST_CR3), F(HOST_CR4), F(HOST_FS_BASE),
    F(HOST_GS_BASE), F(HOST_TR_BASE), F(HOST_GDTR_BASE), F(HOST_IDTR_BASE),
    F(HOST_SYSENTER_ESP), F(HOST_SYSENTER_EIP), F(HOST_RSP), F(HOST_RIP),
};
#undef F

const char *vmcs_field_name(uint32_t field)
{
    for (size_t i = 0; i < sizeof field_names / sizeof field_names[0]; i++)
        if (field_names[i].enc == field)
            return field_names[i].name;
    return "unknown field";
}

/* ---- helpers -------------------------------------------------------------------- */
struct ck {
    const struct vmx_cap_msrs *cap;
    vmcs_read_fn rd;
    void *ctx;
    struct vmcs_check_result *out;
};

static uint64_t rd(struct ck *k, uint32_t f) { return k->rd(k->ctx, f); }

static bool fail(struct ck *k, uint32_t field, const char *rule)
{
    k->out->field = vmcs_field_name(field);
    k->out->rule = rule;
    return false;
}

/* Every "RULE" returns from the enclosing check function on a break. */
#define RULE(cond, field, text) do { if (!(cond)) return fail(k, (field), (text)); } while (0)

/* 48-bit linear addresses: bits 63:47 all equal (Vol. 1 3.3.7.1). */
static bool canonical(uint64_t a)
{
    uint64_t top = a >> 47;
    return top == 0 || top == 0x1ffff;
}

static bool phys_ok(const struct vmx_cap_msrs *c, uint64_t pa)
{
    return c->maxphyaddr >= 64 || (pa >> c->maxphyaddr) == 0;
}

static bool page_ok(const struct vmx_cap_msrs *c, uint64_t pa)
{
    return (pa & 0xfff) == 0 && phys_ok(c, pa);
}

static bool ctl_ok(uint64_t cap, uint32_t v)
{
    return (v & VMX_CTL_ALLOWED0(cap)) == VMX_CTL_ALLOWED0(cap) &&
           (v & ~VMX_CTL_ALLOWED1(cap)) == 0;
}

/* PAT entries must be 0, 1, 4, 5, 6 or 7 (27.2.2, 27.3.1.1). */
static bool pat_ok(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

/* The G bit matches the limit's granularity (27.3.1.2, "Bit 15 (G)"). */
static bool granularity_ok(uint32_t ar, uint32_t limit)
{
    if ((limit & 0xfff) != 0xfff && (ar & VMX_AR_G))
        return false;
    if ((limit & 0xfff00000u) && !(ar & VMX_AR_G))
        return false;
    return true;
}

/* Values several rules need, read once. */
struct st {
    uint32_t pin, proc, proc2, exit, entry;
    bool ug, ia32e;
    uint64_t cr0, cr4, rflags;
    uint32_t intr_info;
};

/* ---- 27.2.1 VM-execution, VM-exit and VM-entry control fields ------------------ */
static bool check_exec_controls(struct ck *k, struct st *s)
{
    const struct vmx_cap_msrs *c = k->cap;
    RULE(ctl_ok(c->pin, s->pin), VMCS_PIN_CONTROLS,
         "reserved bits must match the allowed settings in IA32_VMX_(TRUE_)PINBASED_CTLS (27.2.1.1)");
    RULE(ctl_ok(c->proc, s->proc), VMCS_PROC_CONTROLS,
         "reserved bits must match the allowed settings in IA32_VMX_(TRUE_)PROCBASED_CTLS (27.2.1.1)");
    if (s->proc & PROC_SECONDARY_CONTROLS)
        RULE(ctl_ok(c->proc2, s->proc2), VMCS_PROC2_CONTROLS,
             "bits must be allowed by IA32_VMX_PROCBASED_CTLS2 (27.2.1.1)");
    RULE(rd(k, VMCS_CR3_TARGET_COUNT) <= VMX_MISC_CR3_TARGETS(c->misc), VMCS_CR3_TARGET_COUNT,
         "must not exceed the count in IA32_VMX_MISC[24:16] (27.2.1.1)");
    if (s->proc & PROC_USE_IO_BITMAPS) {
        RULE(page_ok(c, rd(k, VMCS_IO_BITMAP_A)), VMCS_IO_BITMAP_A,
             "with \"use I/O bitmaps\", must be 4-KiB aligned and within the physical-address width (27.2.1.1)");
        RULE(page_ok(c, rd(k, VMCS_IO_BITMAP_B)), VMCS_IO_BITMAP_B,
             "with \"use I/O bitmaps\", must be 4-KiB aligned and within the physical-address width (27.2.1.1)");
    }
    if (s->proc & PROC_USE_MSR_BITMAPS)
        RULE(page_ok(c, rd(k, VMCS_MSR_BITMAP)), VMCS_MSR_BITMAP,
             "with \"use MSR bitmaps\", must be 4-KiB aligned and within the physical-address width (27.2.1.1)");
    if (s->proc & PROC_TPR_SHADOW)
        RULE(page_ok(c, rd(k, VMCS_VIRTUAL_APIC_ADDR)), VMCS_VIRTUAL_APIC_ADDR,
             "with \"use TPR shadow\", must be 4-KiB aligned and within the physical-address width (27.2.1.1)");
    else
        RULE(!(s->proc2 & (PROC2_VIRT_X2APIC | PROC2_APIC_REG_VIRT | PROC2_VIRT_INTR_DELIVERY)),
             VMCS_PROC2_CONTROLS,
             "without \"use TPR shadow\", x2APIC virtualization, APIC-register virtualization and virtual-interrupt delivery must be 0 (27.2.1.1)");
    if (!(s->pin & PIN_NMI_EXITING))
        RULE(!(s->pin & PIN_VIRTUAL_NMIS), VMCS_PIN_CONTROLS,
             "\"virtual NMIs\" requires \"NMI exiting\" (27.2.1.1)");
    if (!(s->pin & PIN_VIRTUAL_NMIS))
        RULE(!(s->proc & PROC_NMI_WINDOW_EXITING), VMCS_PROC_CONTROLS,
             "\"NMI-window exiting\" requires \"virtual NMIs\" (27.2.1.1)");
    if (s->proc2 & PROC2_VIRT_APIC_ACCESS)
        RULE(page_ok(c, rd(k, VMCS_APIC_ACCESS_ADDR)), VMCS_APIC_ACCESS_ADDR,
             "with \"virtualize APIC accesses\", must be 4-KiB aligned and within the physical-address width (27.2.1.1)");
    if (s->proc2 & PROC2_VIRT_INTR_DELIVERY)
        RULE(s->pin & PIN_EXTINT_EXITING, VMCS_PIN_CONTROLS,
             "\"virtual-interrupt delivery\" requires \"external-interrupt exiting\" (27.2.1.1)");
    if (s->proc2 & PROC2_VPID)
        RULE(rd(k, VMCS_VPID) != 0, VMCS_VPID,
             "with \"enable VPID\", must not be 0000H (27.2.1.1)");
    if (s->proc2 & PROC2_EPT) {
        uint64_t eptp = rd(k, VMCS_EPT_POINTER);
        unsigned mt = EPTP_MEMTYPE(eptp), walk = EPTP_WALK_LEN_OF(eptp);
        RULE((mt == MEMTYPE_UC && (c->ept_vpid & EPT_CAP_UC)) ||
             (mt == MEMTYPE_WB && (c->ept_vpid & EPT_CAP_WB)), VMCS_EPT_POINTER,
             "memory type (bits 2:0) must be UC or WB as allowed by IA32_VMX_EPT_VPID_CAP (27.2.1.1)");
        RULE((walk == 4 && (c->ept_vpid & EPT_CAP_WALK4)) ||
             (walk == 5 && (c->ept_vpid & EPT_CAP_WALK5)), VMCS_EPT_POINTER,
             "page-walk length - 1 (bits 5:3) must be a length IA32_VMX_EPT_VPID_CAP supports (27.2.1.1)");
        RULE(!(eptp & EPTP_AD_ENABLE) || (c->ept_vpid & EPT_CAP_AD), VMCS_EPT_POINTER,
             "bit 6 (accessed/dirty flags) must be 0 unless IA32_VMX_EPT_VPID_CAP[21] (27.2.1.1)");
        RULE(!(eptp & EPTP_RESERVED_11_7) && phys_ok(c, eptp), VMCS_EPT_POINTER,
             "bits 11:7 and bits beyond the physical-address width must be 0 (27.2.1.1)");
    }
    if (s->proc2 & PROC2_PML)
        RULE(s->proc2 & PROC2_EPT, VMCS_PROC2_CONTROLS,
             "\"enable PML\" requires \"enable EPT\" (27.2.1.1)");
    if (s->ug)
        RULE(s->proc2 & PROC2_EPT, VMCS_PROC2_CONTROLS,
             "\"unrestricted guest\" requires \"enable EPT\" (27.2.1.1)");
    if (s->proc2 & PROC2_MODE_BASED_EPT_X)
        RULE(s->proc2 & PROC2_EPT, VMCS_PROC2_CONTROLS,
             "\"mode-based execute control for EPT\" requires \"enable EPT\" (27.2.1.1)");
    return true;
}

static bool msr_area_ok(const struct vmx_cap_msrs *c, uint64_t addr, uint64_t count)
{
    if (count == 0)
        return true;
    return (addr & 0xf) == 0 && phys_ok(c, addr + count * 16 - 1);
}

static bool check_exit_controls(struct ck *k, struct st *s)
{
    const struct vmx_cap_msrs *c = k->cap;
    RULE(ctl_ok(c->exit, s->exit), VMCS_EXIT_CONTROLS,
         "reserved bits must match the allowed settings in IA32_VMX_(TRUE_)EXIT_CTLS (27.2.1.2)");
    if (!(s->pin & PIN_PREEMPT_TIMER))
        RULE(!(s->exit & EXIT_SAVE_PREEMPT_TIMER), VMCS_EXIT_CONTROLS,
             "\"save VMX-preemption timer value\" requires \"activate VMX-preemption timer\" (27.2.1.2)");
    if (s->pin & PIN_POSTED_INTR)
        RULE(s->exit & EXIT_ACK_INTR_ON_EXIT, VMCS_EXIT_CONTROLS,
             "\"process posted interrupts\" requires \"acknowledge interrupt on exit\" (27.2.1.1)");
    RULE(msr_area_ok(c, rd(k, VMCS_EXIT_MSR_STORE_ADDR), rd(k, VMCS_EXIT_MSR_STORE_COUNT)),
         VMCS_EXIT_MSR_STORE_ADDR,
         "with a nonzero count, must be 16-byte aligned and the whole area within the physical-address width (27.2.1.2)");
    RULE(msr_area_ok(c, rd(k, VMCS_EXIT_MSR_LOAD_ADDR), rd(k, VMCS_EXIT_MSR_LOAD_COUNT)),
         VMCS_EXIT_MSR_LOAD_ADDR,
         "with a nonzero count, must be 16-byte aligned and the whole area within the physical-address width (27.2.1.2)");
    return true;
}

/* Exceptions that push an error code (Vol. 3A 6.3.1): #DF #TS #NP #SS #GP #PF #AC #CP */
static bool pushes_error_code(unsigned v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;
}

static bool check_entry_controls(struct ck *k, struct st *s)
{
    const struct vmx_cap_msrs *c = k->cap;
    RULE(ctl_ok(c->entry, s->entry), VMCS_ENTRY_CONTROLS,
         "reserved bits must match the allowed settings in IA32_VMX_(TRUE_)ENTRY_CTLS (27.2.1.3)");
    RULE(!(s->entry & (ENTRY_SMM | ENTRY_DEACT_DUAL_MONITOR)), VMCS_ENTRY_CONTROLS,
         "\"entry to SMM\" and \"deactivate dual-monitor treatment\" must be 0 outside SMM (27.2.1.3)");
    uint32_t ii = s->intr_info;
    if (ii & INTR_INFO_VALID) {
        unsigned type = INTR_INFO_TYPE(ii), vec = INTR_INFO_VECTOR(ii);
        RULE(type != INTR_TYPE_RESERVED, VMCS_ENTRY_INTR_INFO,
             "interruption type 1 is reserved (27.2.1.3)");
        RULE(type != INTR_TYPE_OTHER || (VMX_CTL_ALLOWED1(c->proc) & PROC_MONITOR_TRAP_FLAG),
             VMCS_ENTRY_INTR_INFO,
             "interruption type 7 (other event) needs monitor-trap-flag support (27.2.1.3)");
        RULE(type != INTR_TYPE_NMI || vec == VMX_VEC_NMI, VMCS_ENTRY_INTR_INFO,
             "an NMI must have vector 2 (27.2.1.3)");
        RULE(type != INTR_TYPE_HW_EXCEPTION || vec <= 31, VMCS_ENTRY_INTR_INFO,
             "a hardware exception must have a vector of at most 31 (27.2.1.3)");
        RULE(type != INTR_TYPE_OTHER || vec == 0, VMCS_ENTRY_INTR_INFO,
             "an \"other event\" must have vector 0 (27.2.1.3)");
        bool may_err = !(s->ug && !(s->cr0 & VMX_CR0_PE)) && type == INTR_TYPE_HW_EXCEPTION;
        bool has_err = ii & INTR_INFO_ERROR_VALID;
        if (c->basic & VMX_BASIC_NO_ERRCODE_CHECK)
            RULE(!has_err || may_err, VMCS_ENTRY_INTR_INFO,
                 "deliver-error-code (bit 11) only for hardware exceptions, and not in real mode with unrestricted guest (27.2.1.3)");
        else
            RULE(has_err == (may_err && pushes_error_code(vec)), VMCS_ENTRY_INTR_INFO,
                 "deliver-error-code (bit 11) must be set exactly for hardware exceptions that push one (8, 10-14, 17, 21), never in real mode with unrestricted guest (27.2.1.3)");
        RULE(!(ii & INTR_INFO_RESERVED), VMCS_ENTRY_INTR_INFO,
             "bits 30:12 are reserved and must be 0 (27.2.1.3)");
        if (has_err)
            RULE(!(rd(k, VMCS_ENTRY_EXC_ERROR) & 0xffff0000u), VMCS_ENTRY_EXC_ERROR,
                 "bits 31:16 must be 0 when an error code is delivered (27.2.1.3)");
        if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXC ||
            type == INTR_TYPE_SW_EXCEPTION) {
            uint64_t len = rd(k, VMCS_ENTRY_INSN_LEN);
            RULE((len >= 1 && len <= 15) || (len == 0 && (c->misc & VMX_MISC_ZERO_LEN_INJECT)),
                 VMCS_ENTRY_INSN_LEN,
                 "a software interrupt or exception needs an instruction length of 1-15 (27.2.1.3)");
        }
    }
    RULE(msr_area_ok(c, rd(k, VMCS_ENTRY_MSR_LOAD_ADDR), rd(k, VMCS_ENTRY_MSR_LOAD_COUNT)),
         VMCS_ENTRY_MSR_LOAD_ADDR,
         "with a nonzero count, must be 16-byte aligned and the whole area within the physical-address width (27.2.1.3)");
    return true;
}

/* ---- 27.2.2-27.2.4 host state --------------------------------------------------- */
static bool check_host(struct ck *k, struct st *s)
{
    const struct vmx_cap_msrs *c = k->cap;
    uint64_t cr0 = rd(k, VMCS_HOST_CR0), cr4 = rd(k, VMCS_HOST_CR4);
    bool host64 = s->exit & EXIT_HOST_ADDR_SPACE_SIZE;

    RULE((cr0 & c->cr0_fixed0) == c->cr0_fixed0 && !(cr0 & ~c->cr0_fixed1), VMCS_HOST_CR0,
         "bits must match IA32_VMX_CR0_FIXED0 (must be 1) and IA32_VMX_CR0_FIXED1 (may be 1) (27.2.2)");
    RULE((cr4 & c->cr4_fixed0) == c->cr4_fixed0 && !(cr4 & ~c->cr4_fixed1), VMCS_HOST_CR4,
         "bits must match IA32_VMX_CR4_FIXED0 (must be 1, e.g. VMXE) and IA32_VMX_CR4_FIXED1 (27.2.2)");
    RULE(phys_ok(c, rd(k, VMCS_HOST_CR3)), VMCS_HOST_CR3,
         "bits beyond the physical-address width must be 0 (27.2.2)");
    RULE(canonical(rd(k, VMCS_HOST_SYSENTER_ESP)), VMCS_HOST_SYSENTER_ESP,
         "must be canonical (27.2.2)");
    RULE(canonical(rd(k, VMCS_HOST_SYSENTER_EIP)), VMCS_HOST_SYSENTER_EIP,
         "must be canonical (27.2.2)");
    if (s->exit & EXIT_LOAD_PAT)
        RULE(pat_ok(rd(k, VMCS_HOST_PAT)), VMCS_HOST_PAT,
             "each byte must be a valid memory type (0, 1, 4, 5, 6, 7) with \"load IA32_PAT\" (27.2.2)");
    if (s->exit & EXIT_LOAD_EFER) {
        uint64_t efer = rd(k, VMCS_HOST_EFER);
        RULE(!(efer & VMX_EFER_RESERVED), VMCS_HOST_EFER,
             "reserved bits must be 0 with \"load IA32_EFER\" (27.2.2)");
        RULE(!!(efer & VMX_EFER_LMA) == host64 && !!(efer & VMX_EFER_LME) == host64,
             VMCS_HOST_EFER,
             "LMA and LME must equal the \"host address-space size\" exit control (27.2.2)");
    }

    /* 27.2.3: selectors with RPL 0 and TI 0; CS and TR never null. */
    static const uint32_t sels[] = { VMCS_HOST_ES_SEL, VMCS_HOST_CS_SEL, VMCS_HOST_SS_SEL,
        VMCS_HOST_DS_SEL, VMCS_HOST_FS_SEL, VMCS_HOST_GS_SEL, VMCS_HOST_TR_SEL };
    for (size_t i = 0; i < sizeof sels / sizeof sels[0]; i++)
        RULE((rd(k, sels[i]) & 7) == 0, sels[i],
             "RPL (bits 1:0) and TI (bit 2) must be 0 (27.2.3)");
    RULE(rd(k, VMCS_HOST_CS_SEL) != 0, VMCS_HOST_CS_SEL, "must not be 0000H (27.2.3)");
    RULE(rd(k, VMCS_HOST_TR_SEL) != 0, VMCS_HOST_TR_SEL, "must not be 0000H (27.2.3)");
    if (!host64)
        RULE(rd(k, VMCS_HOST_SS_SEL) != 0, VMCS_HOST_SS_SEL,
             "must not be 0000H when the host address-space size is 0 (27.2.3)");
    static const uint32_t bases[] = { VMCS_HOST_FS_BASE, VMCS_HOST_GS_BASE,
        VMCS_HOST_GDTR_BASE, VMCS_HOST_IDTR_BASE, VMCS_HOST_TR_BASE };
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
        RULE(canonical(rd(k, bases[i])), bases[i], "must be canonical (27.2.3)");

    /* 27.2.4: hv86 itself runs in IA-32e mode, so the host must come back in it. */
    RULE(host64, VMCS_EXIT_CONTROLS,
         "\"host address-space size\" must be 1 when entering from IA-32e mode (27.2.4)");
    RULE(cr4 & VMX_CR4_PAE, VMCS_HOST_CR4,
         "PAE must be 1 with \"host address-space size\" 1 (27.2.4)");
    RULE(canonical(rd(k, VMCS_HOST_RIP)), VMCS_HOST_RIP,
         "must be canonical with \"host address-space size\" 1 (27.2.4)");
    return true;
}

/* ---- 27.3.1 guest state ---------------------------------------------------------- */
static bool check_guest_regs(struct ck *k, struct st *s)
{
    const struct vmx_cap_msrs *c = k->cap;
    uint64_t fixed0 = c->cr0_fixed0;
    if (s->ug)  /* unrestricted guest may run with paging or protection off */
        fixed0 &= ~(VMX_CR0_PE | VMX_CR0_PG);
    RULE((s->cr0 & fixed0) == fixed0 && !(s->cr0 & ~c->cr0_fixed1), VMCS_GUEST_CR0,
         "bits must match IA32_VMX_CR0_FIXED0/FIXED1 (PE and PG exempt with unrestricted guest) (27.3.1.1)");
    RULE(!(s->cr0 & VMX_CR0_PG) || (s->cr0 & VMX_CR0_PE), VMCS_GUEST_CR0,
         "PG set requires PE set (27.3.1.1)");
    RULE((s->cr4 & c->cr4_fixed0) == c->cr4_fixed0 && !(s->cr4 & ~c->cr4_fixed1),
         VMCS_GUEST_CR4,
         "bits must match IA32_VMX_CR4_FIXED0 (VMXE must be 1) and IA32_VMX_CR4_FIXED1 (27.3.1.1)");
    if (s->entry & ENTRY_LOAD_DEBUG_CTLS)
        RULE(!(rd(k, VMCS_GUEST_DR7) & VMX_DR7_UPPER), VMCS_GUEST_DR7,
             "bits 63:32 must be 0 with \"load debug controls\" (27.3.1.1)");
    if (s->ia32e) {
        RULE(s->cr0 & VMX_CR0_PG, VMCS_GUEST_CR0,
             "PG must be 1 with the \"IA-32e mode guest\" entry control (27.3.1.1)");
        RULE(s->cr4 & VMX_CR4_PAE, VMCS_GUEST_CR4,
             "PAE must be 1 with the \"IA-32e mode guest\" entry control (27.3.1.1)");
    } else {
        RULE(!(s->cr4 & VMX_CR4_PCIDE), VMCS_GUEST_CR4,
             "PCIDE must be 0 outside IA-32e mode (27.3.1.1)");
    }
    RULE(phys_ok(c, rd(k, VMCS_GUEST_CR3)), VMCS_GUEST_CR3,
         "bits beyond the physical-address width must be 0 (27.3.1.1)");
    RULE(canonical(rd(k, VMCS_GUEST_SYSENTER_ESP)), VMCS_GUEST_SYSENTER_ESP,
         "must be canonical (27.3.1.1)");
    RULE(canonical(rd(k, VMCS_GUEST_SYSENTER_EIP)), VMCS_GUEST_SYSENTER_EIP,
         "must be canonical (27.3.1.1)");
    if (s->entry & ENTRY_LOAD_PAT)
        RULE(pat_ok(rd(k, VMCS_GUEST_PAT)), VMCS_GUEST_PAT,
             "each byte must be a valid memory type (0, 1, 4, 5, 6, 7) with \"load IA32_PAT\" (27.3.1.1)");
    if (s->entry & ENTRY_LOAD_EFER) {
        uint64_t efer = rd(k, VMCS_GUEST_EFER);
        RULE(!(efer & VMX_EFER_RESERVED), VMCS_GUEST_EFER,
             "reserved bits must be 0 with \"load IA32_EFER\" (27.3.1.1)");
        RULE(!!(efer & VMX_EFER_LMA) == s->ia32e, VMCS_GUEST_EFER,
             "LMA must equal the \"IA-32e mode guest\" entry control (27.3.1.1)");
        RULE(!(s->cr0 & VMX_CR0_PG) || !!(efer & VMX_EFER_LMA) == !!(efer & VMX_EFER_LME),
             VMCS_GUEST_EFER, "LME must equal LMA when CR0.PG is 1 (27.3.1.1)");
    }
    return true;
}

/* Segment registers in enum seg_reg order: ES CS SS DS FS GS LDTR TR. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR };

static bool check_v86_segs(struct ck *k)
{
    for (int i = S_ES; i <= S_GS; i++) {
        uint64_t sel = rd(k, VMCS_GUEST_SEG_SEL(i));
        RULE(rd(k, VMCS_GUEST_SEG_BASE(i)) == sel << 4, VMCS_GUEST_SEG_BASE(i),
             "must be the selector shifted left by 4 in virtual-8086 mode (27.3.1.2)");
        RULE(rd(k, VMCS_GUEST_SEG_LIMIT(i)) == VMX_V86_LIMIT, VMCS_GUEST_SEG_LIMIT(i),
             "must be 0000FFFFH in virtual-8086 mode (27.3.1.2)");
        RULE(rd(k, VMCS_GUEST_SEG_AR(i)) == VMX_AR_V86, VMCS_GUEST_SEG_AR(i),
             "must be 000000F3H in virtual-8086 mode (27.3.1.2)");
    }
    return true;
}

/* Checks shared by all usable segments: reserved bits and granularity. */
static bool check_ar_common(struct ck *k, int i, uint32_t ar)
{
    RULE(!(ar & VMX_AR_RESERVED_11_8), VMCS_GUEST_SEG_AR(i),
         "bits 11:8 are reserved and must be 0 (27.3.1.2)");
    RULE(!(ar & VMX_AR_RESERVED_31_17), VMCS_GUEST_SEG_AR(i),
         "bits 31:17 are reserved and must be 0 (27.3.1.2)");
    RULE(granularity_ok(ar, (uint32_t)rd(k, VMCS_GUEST_SEG_LIMIT(i))), VMCS_GUEST_SEG_AR(i),
         "G (bit 15) must be 0 if any limit bit 11:0 is 0 and 1 if any limit bit 31:20 is 1 (27.3.1.2)");
    return true;
}

static bool check_guest_segs(struct ck *k, struct st *s)
{
    uint32_t ar[8];
    uint64_t sel[8];
    for (int i = S_ES; i <= S_TR; i++) {
        ar[i] = (uint32_t)rd(k, VMCS_GUEST_SEG_AR(i));
        sel[i] = rd(k, VMCS_GUEST_SEG_SEL(i));
    }
    bool v86 = s->rflags & VMX_RFLAGS_VM;
#define USABLE(i) (!(ar[i] & VMX_AR_UNUSABLE))

    /* Selectors */
    RULE(!(sel[S_TR] & 4), VMCS_GUEST_TR_SEL, "TI (bit 2) must be 0 (27.3.1.2)");
    if (USABLE(S_LDTR))
        RULE(!(sel[S_LDTR] & 4), VMCS_GUEST_LDTR_SEL,
             "TI (bit 2) must be 0 when LDTR is usable (27.3.1.2)");
    if (!v86 && !s->ug)
        RULE((sel[S_SS] & 3) == (sel[S_CS] & 3), VMCS_GUEST_SS_SEL,
             "RPL must equal CS's RPL without unrestricted guest (27.3.1.2)");

    /* Bases */
    if (v86 && !check_v86_segs(k))
        return false;
    RULE(canonical(rd(k, VMCS_GUEST_TR_BASE)), VMCS_GUEST_TR_BASE, "must be canonical (27.3.1.2)");
    RULE(canonical(rd(k, VMCS_GUEST_FS_BASE)), VMCS_GUEST_FS_BASE, "must be canonical (27.3.1.2)");
    RULE(canonical(rd(k, VMCS_GUEST_GS_BASE)), VMCS_GUEST_GS_BASE, "must be canonical (27.3.1.2)");
    if (USABLE(S_LDTR))
        RULE(canonical(rd(k, VMCS_GUEST_LDTR_BASE)), VMCS_GUEST_LDTR_BASE,
             "must be canonical when usable (27.3.1.2)");
    RULE(!(rd(k, VMCS_GUEST_CS_BASE) >> 32), VMCS_GUEST_CS_BASE,
         "bits 63:32 must be 0 (27.3.1.2)");
    static const int low32[] = { S_SS, S_DS, S_ES };
    for (int j = 0; j < 3; j++)
        if (USABLE(low32[j]))
            RULE(!(rd(k, VMCS_GUEST_SEG_BASE(low32[j])) >> 32), VMCS_GUEST_SEG_BASE(low32[j]),
                 "bits 63:32 must be 0 when usable (27.3.1.2)");

    if (!v86) {
        /* CS */
        unsigned cs_type = VMX_AR_TYPE(ar[S_CS]);
        RULE(cs_type == 9 || cs_type == 11 || cs_type == 13 || cs_type == 15 ||
             (s->ug && cs_type == SEG_TYPE_DATA_RW_ACCESSED), VMCS_GUEST_CS_AR,
             "type must be an accessed code segment (9, 11, 13, 15), or 3 with unrestricted guest (27.3.1.2)");
        RULE(ar[S_CS] & VMX_AR_S, VMCS_GUEST_CS_AR, "S (bit 4) must be 1 (27.3.1.2)");
        if (cs_type == SEG_TYPE_DATA_RW_ACCESSED)
            RULE(VMX_AR_DPL(ar[S_CS]) == 0, VMCS_GUEST_CS_AR,
                 "DPL must be 0 when the type is 3 (27.3.1.2)");
        else if (!(cs_type & SEG_TYPE_CONFORMING))
            RULE(VMX_AR_DPL(ar[S_CS]) == VMX_AR_DPL(ar[S_SS]), VMCS_GUEST_CS_AR,
                 "DPL of a non-conforming code segment must equal SS's DPL (27.3.1.2)");
        else
            RULE(VMX_AR_DPL(ar[S_CS]) <= VMX_AR_DPL(ar[S_SS]), VMCS_GUEST_CS_AR,
                 "DPL of a conforming code segment must not exceed SS's DPL (27.3.1.2)");
        RULE(ar[S_CS] & VMX_AR_P, VMCS_GUEST_CS_AR, "P (bit 7) must be 1 (27.3.1.2)");
        if (!check_ar_common(k, S_CS, ar[S_CS]))
            return false;
        if (s->ia32e && (ar[S_CS] & VMX_AR_L))
            RULE(!(ar[S_CS] & VMX_AR_DB), VMCS_GUEST_CS_AR,
                 "D/B must be 0 for a 64-bit code segment (L=1) in IA-32e mode (27.3.1.2)");

        /* SS */
        if (USABLE(S_SS)) {
            unsigned t = VMX_AR_TYPE(ar[S_SS]);
            RULE(t == 3 || t == 7, VMCS_GUEST_SS_AR,
                 "type must be 3 or 7 (read/write, accessed) when usable (27.3.1.2)");
            RULE(ar[S_SS] & VMX_AR_S, VMCS_GUEST_SS_AR, "S (bit 4) must be 1 when usable (27.3.1.2)");
            RULE(ar[S_SS] & VMX_AR_P, VMCS_GUEST_SS_AR, "P (bit 7) must be 1 when usable (27.3.1.2)");
            if (!check_ar_common(k, S_SS, ar[S_SS]))
                return false;
        }
        if (!s->ug)
            RULE(VMX_AR_DPL(ar[S_SS]) == (sel[S_SS] & 3), VMCS_GUEST_SS_AR,
                 "DPL must equal the selector's RPL without unrestricted guest (27.3.1.2)");
        if (cs_type == SEG_TYPE_DATA_RW_ACCESSED || !(s->cr0 & VMX_CR0_PE))
            RULE(VMX_AR_DPL(ar[S_SS]) == 0, VMCS_GUEST_SS_AR,
                 "DPL must be 0 when CS's type is 3 or CR0.PE is 0 (27.3.1.2)");

        /* DS, ES, FS, GS */
        static const int data[] = { S_DS, S_ES, S_FS, S_GS };
        for (int j = 0; j < 4; j++) {
            int i = data[j];
            if (!USABLE(i))
                continue;
            unsigned t = VMX_AR_TYPE(ar[i]);
            RULE(t & SEG_TYPE_ACCESSED, VMCS_GUEST_SEG_AR(i),
                 "type must have the accessed bit (bit 0) when usable (27.3.1.2)");
            RULE(!(t & SEG_TYPE_CODE) || (t & SEG_TYPE_WRITABLE_READABLE), VMCS_GUEST_SEG_AR(i),
                 "a code segment here must be readable (type bit 1) (27.3.1.2)");
            RULE(ar[i] & VMX_AR_S, VMCS_GUEST_SEG_AR(i), "S (bit 4) must be 1 when usable (27.3.1.2)");
            if (!s->ug && t <= 11)
                RULE(VMX_AR_DPL(ar[i]) >= (sel[i] & 3), VMCS_GUEST_SEG_AR(i),
                     "DPL must not be below the selector's RPL for data and non-conforming code (27.3.1.2)");
            RULE(ar[i] & VMX_AR_P, VMCS_GUEST_SEG_AR(i), "P (bit 7) must be 1 when usable (27.3.1.2)");
            if (!check_ar_common(k, i, ar[i]))
                return false;
        }
    }

    /* TR */
    unsigned tr_type = VMX_AR_TYPE(ar[S_TR]);
    RULE(tr_type == SEG_TYPE_TSS_BUSY || (!s->ia32e && tr_type == SEG_TYPE_TSS16_BUSY),
         VMCS_GUEST_TR_AR,
         "type must be 11 (busy 32/64-bit TSS), or 3 (busy 16-bit TSS) outside IA-32e mode (27.3.1.2)");
    RULE(!(ar[S_TR] & VMX_AR_S), VMCS_GUEST_TR_AR, "S (bit 4) must be 0 (27.3.1.2)");
    RULE(ar[S_TR] & VMX_AR_P, VMCS_GUEST_TR_AR, "P (bit 7) must be 1 (27.3.1.2)");
    RULE(USABLE(S_TR), VMCS_GUEST_TR_AR, "TR must be usable (bit 16 = 0) (27.3.1.2)");
    if (!check_ar_common(k, S_TR, ar[S_TR]))
        return false;

    /* LDTR */
    if (USABLE(S_LDTR)) {
        RULE(VMX_AR_TYPE(ar[S_LDTR]) == SEG_TYPE_LDT, VMCS_GUEST_LDTR_AR,
             "type must be 2 (LDT) when usable (27.3.1.2)");
        RULE(!(ar[S_LDTR] & VMX_AR_S), VMCS_GUEST_LDTR_AR, "S (bit 4) must be 0 (27.3.1.2)");
        RULE(ar[S_LDTR] & VMX_AR_P, VMCS_GUEST_LDTR_AR, "P (bit 7) must be 1 when usable (27.3.1.2)");
        if (!check_ar_common(k, S_LDTR, ar[S_LDTR]))
            return false;
    }
#undef USABLE
    return true;
}

static bool check_guest_dtrs_rip_rflags(struct ck *k, struct st *s)
{
    /* 27.3.1.3 */
    RULE(canonical(rd(k, VMCS_GUEST_GDTR_BASE)), VMCS_GUEST_GDTR_BASE, "must be canonical (27.3.1.3)");
    RULE(canonical(rd(k, VMCS_GUEST_IDTR_BASE)), VMCS_GUEST_IDTR_BASE, "must be canonical (27.3.1.3)");
    RULE(!(rd(k, VMCS_GUEST_GDTR_LIMIT) >> 16), VMCS_GUEST_GDTR_LIMIT, "bits 31:16 must be 0 (27.3.1.3)");
    RULE(!(rd(k, VMCS_GUEST_IDTR_LIMIT) >> 16), VMCS_GUEST_IDTR_LIMIT, "bits 31:16 must be 0 (27.3.1.3)");

    /* 27.3.1.4 */
    uint64_t rip = rd(k, VMCS_GUEST_RIP);
    bool cs_l = rd(k, VMCS_GUEST_CS_AR) & VMX_AR_L;
    if (!s->ia32e || !cs_l)
        RULE(!(rip >> 32), VMCS_GUEST_RIP,
             "bits 63:32 must be 0 outside 64-bit mode (IA-32e mode guest with CS.L) (27.3.1.4)");
    else
        RULE(canonical(rip), VMCS_GUEST_RIP, "must be canonical in 64-bit mode (27.3.1.4)");
    RULE(!(s->rflags & VMX_RFLAGS_RESERVED), VMCS_GUEST_RFLAGS,
         "reserved bits 63:22, 15, 5 and 3 must be 0 (27.3.1.4)");
    RULE(s->rflags & VMX_RFLAGS_FIXED1, VMCS_GUEST_RFLAGS, "bit 1 must be 1 (27.3.1.4)");
    if (s->ia32e || !(s->cr0 & VMX_CR0_PE))
        RULE(!(s->rflags & VMX_RFLAGS_VM), VMCS_GUEST_RFLAGS,
             "VM must be 0 in IA-32e mode or with CR0.PE 0 (27.3.1.4)");
    if ((s->intr_info & INTR_INFO_VALID) && INTR_INFO_TYPE(s->intr_info) == INTR_TYPE_EXT_INTR)
        RULE(s->rflags & VMX_RFLAGS_IF, VMCS_GUEST_RFLAGS,
             "IF must be 1 when injecting an external interrupt (27.3.1.4)");
    return true;
}

static bool check_guest_nonreg(struct ck *k, struct st *s)
{
    const struct vmx_cap_msrs *c = k->cap;
    uint64_t act = rd(k, VMCS_GUEST_ACTIVITY_STATE);
    uint64_t intr = rd(k, VMCS_GUEST_INTERRUPTIBILITY);
    bool valid = s->intr_info & INTR_INFO_VALID;
    unsigned type = INTR_INFO_TYPE(s->intr_info), vec = INTR_INFO_VECTOR(s->intr_info);

    /* 27.3.1.5 activity state */
    RULE(act <= ACTIVITY_WAIT_SIPI, VMCS_GUEST_ACTIVITY_STATE, "must be 0-3 (27.3.1.5)");
    RULE(act == ACTIVITY_ACTIVE ||
         (act == ACTIVITY_HLT && (c->misc & VMX_MISC_ACT_HLT)) ||
         (act == ACTIVITY_SHUTDOWN && (c->misc & VMX_MISC_ACT_SHUTDOWN)) ||
         (act == ACTIVITY_WAIT_SIPI && (c->misc & VMX_MISC_ACT_WAIT_SIPI)),
         VMCS_GUEST_ACTIVITY_STATE,
         "must be a state IA32_VMX_MISC[8:6] says is supported (27.3.1.5)");
    if (act == ACTIVITY_HLT)
        RULE(VMX_AR_DPL(rd(k, VMCS_GUEST_SS_AR)) == 0, VMCS_GUEST_ACTIVITY_STATE,
             "HLT requires SS.DPL 0 (27.3.1.5)");
    if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
        RULE(act == ACTIVITY_ACTIVE, VMCS_GUEST_ACTIVITY_STATE,
             "must be active while blocking by STI or MOV SS is set (27.3.1.5)");
    if (valid && act == ACTIVITY_HLT)
        RULE(type == INTR_TYPE_EXT_INTR || type == INTR_TYPE_NMI ||
             (type == INTR_TYPE_HW_EXCEPTION && (vec == VMX_VEC_DB || vec == VMX_VEC_MC)) ||
             (type == INTR_TYPE_OTHER && vec == 0), VMCS_GUEST_ACTIVITY_STATE,
             "in HLT only an external interrupt, NMI, #DB, #MC or MTF may be injected (27.3.1.5)");
    if (valid && act == ACTIVITY_SHUTDOWN)
        RULE(type == INTR_TYPE_NMI || (type == INTR_TYPE_HW_EXCEPTION && vec == VMX_VEC_MC),
             VMCS_GUEST_ACTIVITY_STATE,
             "in shutdown only an NMI or #MC may be injected (27.3.1.5)");
    if (valid)
        RULE(act != ACTIVITY_WAIT_SIPI, VMCS_GUEST_ACTIVITY_STATE,
             "no event may be injected in wait-for-SIPI (27.3.1.5)");

    /* 27.3.1.5 interruptibility state */
    RULE(!(intr & INTR_RESERVED), VMCS_GUEST_INTERRUPTIBILITY,
         "bits 31:5 are reserved and must be 0 (27.3.1.5)");
    RULE((intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)) != (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS),
         VMCS_GUEST_INTERRUPTIBILITY, "blocking by STI and by MOV SS must not both be set (27.3.1.5)");
    if (intr & INTR_BLOCK_STI)
        RULE(s->rflags & VMX_RFLAGS_IF, VMCS_GUEST_INTERRUPTIBILITY,
             "blocking by STI requires RFLAGS.IF 1 (27.3.1.5)");
    if (valid && type == INTR_TYPE_EXT_INTR)
        RULE(!(intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)), VMCS_GUEST_INTERRUPTIBILITY,
             "blocking by STI and MOV SS must be 0 when injecting an external interrupt (27.3.1.5)");
    if (valid && type == INTR_TYPE_NMI)
        RULE(!(intr & INTR_BLOCK_MOV_SS), VMCS_GUEST_INTERRUPTIBILITY,
             "blocking by MOV SS must be 0 when injecting an NMI (27.3.1.5)");
    RULE(!(intr & INTR_BLOCK_SMI), VMCS_GUEST_INTERRUPTIBILITY,
         "blocking by SMI must be 0 outside SMM (27.3.1.5)");
    if (valid && type == INTR_TYPE_NMI && (s->pin & PIN_VIRTUAL_NMIS))
        RULE(!(intr & INTR_BLOCK_NMI), VMCS_GUEST_INTERRUPTIBILITY,
             "blocking by NMI must be 0 when injecting an NMI with virtual NMIs (27.3.1.5)");

    /* 27.3.1.5 pending debug exceptions */
    uint64_t pdbg = rd(k, VMCS_GUEST_PENDING_DBG);
    RULE(!(pdbg & PENDING_DBG_RESERVED), VMCS_GUEST_PENDING_DBG,
         "reserved bits (all but 3:0, 12, 14, 16) must be 0 (27.3.1.5)");
    if ((intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)) || act == ACTIVITY_HLT) {
        bool tf = s->rflags & VMX_RFLAGS_TF;
        bool btf = (s->entry & ENTRY_LOAD_DEBUG_CTLS) && (rd(k, VMCS_GUEST_DEBUGCTL) & VMX_DEBUGCTL_BTF);
        RULE(!!(pdbg & PENDING_DBG_BS) == (tf && !btf), VMCS_GUEST_PENDING_DBG,
             "BS (bit 14) must equal RFLAGS.TF && !DEBUGCTL.BTF while blocking by STI/MOV SS or in HLT (27.3.1.5)");
    }

    /* 27.3.1.5 VMCS link pointer: hv86 uses no shadowing, but any value other
     * than all ones must still look like a VMCS address. */
    uint64_t link = rd(k, VMCS_LINK_POINTER);
    if (link != VMCS_LINK_NONE)
        RULE(page_ok(c, link), VMCS_LINK_POINTER,
             "must be FFFFFFFF_FFFFFFFFH or a 4-KiB aligned address within the physical-address width (27.3.1.5)");

    /* 27.3.1.6 PDPTEs, which entry loads from the VMCS with EPT in PAE paging */
    if ((s->cr0 & VMX_CR0_PG) && (s->cr4 & VMX_CR4_PAE) && !s->ia32e && (s->proc2 & PROC2_EPT)) {
        for (int i = 0; i < 4; i++) {
            uint32_t f = VMCS_GUEST_PDPTE0 + 2 * i;
            uint64_t e = rd(k, f);
            RULE(!(e & VMX_PDPTE_P) || (!(e & VMX_PDPTE_RESERVED) && phys_ok(c, e & ~0xfffull)), f,
                 "a present PDPTE must have bits 2:1, 8:5 and those beyond the physical-address width 0 (27.3.1.6)");
        }
    }
    return true;
}

bool vmcs_check(const struct vmx_cap_msrs *caps, vmcs_read_fn read, void *ctx,
                struct vmcs_check_result *out)
{
    struct ck k = { caps, read, ctx, out };
    struct st s;
    out->field = NULL;
    out->rule = NULL;
    s.pin = (uint32_t)read(ctx, VMCS_PIN_CONTROLS);
    s.proc = (uint32_t)read(ctx, VMCS_PROC_CONTROLS);
    s.proc2 = (s.proc & PROC_SECONDARY_CONTROLS) ? (uint32_t)read(ctx, VMCS_PROC2_CONTROLS) : 0;
    s.exit = (uint32_t)read(ctx, VMCS_EXIT_CONTROLS);
    s.entry = (uint32_t)read(ctx, VMCS_ENTRY_CONTROLS);
    s.ug = s.proc2 & PROC2_UNRESTRICTED_GUEST;
    s.ia32e = s.entry & ENTRY_IA32E_GUEST;
    s.cr0 = read(ctx, VMCS_GUEST_CR0);
    s.cr4 = read(ctx, VMCS_GUEST_CR4);
    s.rflags = read(ctx, VMCS_GUEST_RFLAGS);
    s.intr_info = (uint32_t)read(ctx, VMCS_ENTRY_INTR_INFO);

    return check_exec_controls(&k, &s) && check_exit_controls(&k, &s) &&
           check_entry_controls(&k, &s) && check_host(&k, &s) &&
           check_guest_regs(&k, &s) && check_guest_segs(&k, &s) &&
           check_guest_dtrs_rip_rflags(&k, &s) && check_guest_nonreg(&k, &s);
}
