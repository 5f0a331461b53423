/* The VM-execution, exit and entry controls hv86 runs with, derived from the
 * capability MSRs (SDM Vol. 3C Appendix A.3-A.5): a control is set if hv86 wants
 * it and allowed-1 permits it, and forced on where allowed-0 says so. Each
 * control hv86 cannot work without is checked and named when absent. */
#include <stddef.h>
#include "arch/x86.h"
#include "vmm/vmx/vmx_controls_pure.h"

struct ctl { uint32_t bit; const char *name; bool required; };

/* Why each one: external interrupts and NMIs must reach the host, not the guest
 * (26.2); HLT, I/O and MSR accesses are the core's to emulate; MONITOR/MWAIT are
 * hidden from the guest's CPUID and must not park the physical CPU (as on SVM). */
static const struct ctl pin_ctls[] = {
    { PIN_EXTINT_EXITING, "external-interrupt exiting", true },
    { PIN_NMI_EXITING, "NMI exiting", true },
    /* The CPU tracks the guest's NMI blocking and offers NMI-window exiting
     * (25.6.1, 26.7.6): hv86 injects NMIs with it. */
    { PIN_VIRTUAL_NMIS, "virtual NMIs", true },
    /* The time slice also ends by the preemption timer (26.5.1): Bochs 2.7 does
     * not exit for a host interrupt that arrives while the guest runs with IF=0. */
    { PIN_PREEMPT_TIMER, "activate VMX-preemption timer", false },
};

/* CR3-load/store, INVLPG, RDTSC and CR8 exiting are left off (RDTSC runs with
 * the vCPU's TSC offset): with EPT the guest
 * owns its paging (29.3), and the TPR shadow keeps CR8 in the virtual-APIC page,
 * away from the host's APIC (the TPR threshold exits when the guest lowers it
 * enough to let a held-back interrupt through, 26.6.6.1). A shadow-paging vCPU
 * adds the CR3 and INVLPG exits (vmx_vcpu.c). */
static const struct ctl proc_ctls[] = {
    { PROC_HLT_EXITING, "HLT exiting", true },
    { PROC_USE_IO_BITMAPS, "use I/O bitmaps", true },
    { PROC_USE_MSR_BITMAPS, "use MSR bitmaps", true },
    { PROC_MWAIT_EXITING, "MWAIT exiting", true },
    { PROC_MONITOR_EXITING, "MONITOR exiting", true },
    { PROC_SECONDARY_CONTROLS, "activate secondary controls", true },
    { PROC_TPR_SHADOW, "use TPR shadow", true },
    /* A guest's writes of IA32_TSC become its TSC offset (26.6.5, vmx_vcpu.c). */
    { PROC_TSC_OFFSETTING, "use TSC offsetting", true },
    /* Until the guest first touches a debug register (vmx_dr_passthrough). */
    { PROC_MOV_DR_EXITING, "MOV-DR exiting", true },
};

/* Set and cleared per entry by the interrupt delivery (vmx_vcpu.c), so never in
 * the initial controls; they must be allowed (25.6.2, 26.7.5-6). */
static const struct ctl proc_dynamic[] = {
    { PROC_INTR_WINDOW_EXITING, "interrupt-window exiting", true },
    { PROC_NMI_WINDOW_EXITING, "NMI-window exiting", true },
};

/* The "enable" controls make instructions the guest's CPUID shows work instead of
 * raising #UD (26.3): the CPUID policy passes those features through. */
static const struct ctl proc2_ctls[] = {
    /* Without them hv86 runs every VM on shadow page tables (vmm/shadow.c). */
    { PROC2_EPT, "enable EPT", false },
    { PROC2_UNRESTRICTED_GUEST, "unrestricted guest", false },
    { PROC2_VPID, "enable VPID", false },
    { PROC2_RDTSCP, "enable RDTSCP", false },
    { PROC2_INVPCID, "enable INVPCID", false },
    { PROC2_XSAVES, "enable XSAVES/XRSTORS", false },
};

/* EFER and PAT switch with the world so the guest may change them freely. */
static const struct ctl exit_ctls[] = {
    { EXIT_HOST_ADDR_SPACE_SIZE, "host address-space size", true },
    { EXIT_SAVE_EFER, "save IA32_EFER", true },
    { EXIT_LOAD_EFER, "load IA32_EFER", true },
    { EXIT_SAVE_PAT, "save IA32_PAT", true },
    { EXIT_LOAD_PAT, "load IA32_PAT", true },
    { EXIT_SAVE_DEBUG_CTLS, "save debug controls", true },
};

static const struct ctl entry_ctls[] = {
    { ENTRY_LOAD_EFER, "load IA32_EFER", true },
    { ENTRY_LOAD_PAT, "load IA32_PAT", true },
    { ENTRY_LOAD_DEBUG_CTLS, "load debug controls", true },
};

/* want | allowed-0, & allowed-1 (A.3); then every required control must remain. */
static int derive(const char *msr, uint64_t cap, const struct ctl *c, unsigned n,
                  uint32_t *out, vmx_missing_fn *missing)
{
    uint32_t want = 0;
    for (unsigned i = 0; i < n; i++)
        want |= c[i].bit;
    uint32_t v = vmx_ctl_adjust(cap, want);
    int err = 0;
    for (unsigned i = 0; i < n; i++)
        if (c[i].required && !(v & c[i].bit)) {
            missing(c[i].name, msr);
            err = -1;
        }
    *out = v;
    return err;
}

#define DERIVE(msr, cap, tbl, out) derive(msr, cap, tbl, sizeof tbl / sizeof tbl[0], out, missing)

int vmx_controls_init(const struct vmx_cap_msrs *caps, struct vmx_controls *out,
                      vmx_missing_fn *missing)
{
    bool true_ctls = caps->basic & VMX_BASIC_TRUE_CTLS;
    int err = 0;
    err |= DERIVE(true_ctls ? "IA32_VMX_TRUE_PINBASED_CTLS" : "IA32_VMX_PINBASED_CTLS",
                  caps->pin, pin_ctls, &out->pin);
    err |= DERIVE(true_ctls ? "IA32_VMX_TRUE_PROCBASED_CTLS" : "IA32_VMX_PROCBASED_CTLS",
                  caps->proc, proc_ctls, &out->proc);
    out->proc2 = 0;
    if (out->proc & PROC_SECONDARY_CONTROLS)
        err |= DERIVE("IA32_VMX_PROCBASED_CTLS2", caps->proc2, proc2_ctls, &out->proc2);
    err |= DERIVE(true_ctls ? "IA32_VMX_TRUE_EXIT_CTLS" : "IA32_VMX_EXIT_CTLS",
                  caps->exit, exit_ctls, &out->exit);
    err |= DERIVE(true_ctls ? "IA32_VMX_TRUE_ENTRY_CTLS" : "IA32_VMX_ENTRY_CTLS",
                  caps->entry, entry_ctls, &out->entry);

    /* EPT as hv86 builds it (29.3.2, 25.6.11): 4-level walk, write-back tables,
     * and INVEPT to drop stale translations when a mapping changes. */
    uint64_t ev = caps->ept_vpid;
    if (!(out->proc2 & PROC2_EPT) || !(out->proc2 & PROC2_UNRESTRICTED_GUEST)) {
        /* Shadow paging only; UG needs EPT anyway (27.2.1.1). */
        out->proc2 &= ~(uint32_t)(PROC2_EPT | PROC2_UNRESTRICTED_GUEST);
    } else {
        if (!(ev & EPT_CAP_WALK4)) {
            missing("EPT with a 4-level page walk", "IA32_VMX_EPT_VPID_CAP[6]");
            err = -1;
        }
        if (!(ev & EPT_CAP_WB)) {
            missing("write-back EPT paging structures", "IA32_VMX_EPT_VPID_CAP[14]");
            err = -1;
        }
        if (!(ev & EPT_CAP_INVEPT) || !(ev & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
            missing("INVEPT, single-context or all-context", "IA32_VMX_EPT_VPID_CAP[20,25,26]");
            err = -1;
        }
    }
    /* A VPID is only safe to reuse if its translations can be flushed (31.3):
     * without INVVPID hv86 runs without VPIDs. */
    if ((out->proc2 & PROC2_VPID) &&
        (!(ev & VPID_CAP_INVVPID) || !(ev & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL))))
        out->proc2 &= ~PROC2_VPID;
    for (unsigned i = 0; i < sizeof proc_dynamic / sizeof proc_dynamic[0]; i++)
        if (!(VMX_CTL_ALLOWED1(caps->proc) & proc_dynamic[i].bit)) {
            missing(proc_dynamic[i].name, "IA32_VMX_PROCBASED_CTLS");
            err = -1;
        }
    /* Set per vCPU when the guest enables long mode (vmx_vcpu.c). */
    out->entry &= ~ENTRY_IA32E_GUEST;
    return err;
}

uint32_t vmx_exception_bitmap(bool shadow)
{
    /* #MC: a machine check belongs to the host (vmx_exit.c hands it to the
     * host's handler). #DB and #AC: reflected to the guest, but each is an exit,
     * so that no exception can loop inside the CPU (CVE-2015-8104,
     * CVE-2015-5307; docs/security.md). Everything else goes to the guest's IDT
     * (26.2). Shadow paging: #PF too, every one (with mask = match = 0: 25.6.3). */
    return (1u << EXC_MC) | (1u << EXC_DB) | (1u << EXC_AC) | (shadow ? 1u << EXC_PF : 0);
}

/* MSRs the guest reaches directly, as on SVM: those the VMCS switches (FS/GS base
 * in the segment state, SYSENTER_* in 25.4.2), and the SYSCALL/SWAPGS ones, which
 * VMX does not switch and hv86 swaps itself (switch_lazy_msrs in vmx.c). */
static const uint32_t msr_passthrough[] = {
    MSR_FS_BASE, MSR_GS_BASE, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
    MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
};

/* One bit per MSR and direction, set = exit (25.6.9): read bitmaps for MSRs
 * 0-1FFFH and C0000000H-C0001FFFH, then the write bitmaps, 1 KiB each. Returns
 * the bit of the read permission, or -1 for an MSR outside both (always exits). */
#define MSR_BITMAP_LOW_MAX   0x00001FFFu
#define MSR_BITMAP_HIGH_BASE 0xC0000000u
#define MSR_BITMAP_HIGH_MAX  0xC0001FFFu
#define MSR_BITMAP_HALF_BITS (1024 * 8)
#define MSR_BITMAP_WRITE_BITS (2048 * 8)

static long msr_bitmap_bit(uint32_t msr)
{
    if (msr <= MSR_BITMAP_LOW_MAX)
        return msr;
    if (msr >= MSR_BITMAP_HIGH_BASE && msr <= MSR_BITMAP_HIGH_MAX)
        return MSR_BITMAP_HALF_BITS + (msr - MSR_BITMAP_HIGH_BASE);
    return -1;
}

void vmx_msr_bitmap_init(uint8_t *bm)
{
    for (size_t i = 0; i < VMX_MSR_BITMAP_SIZE; i++)
        bm[i] = 0xFF;
    for (size_t i = 0; i < sizeof msr_passthrough / sizeof msr_passthrough[0]; i++) {
        long rd = msr_bitmap_bit(msr_passthrough[i]), wr = rd + MSR_BITMAP_WRITE_BITS;
        bm[rd / 8] &= (uint8_t)~(1u << (rd % 8));
        bm[wr / 8] &= (uint8_t)~(1u << (wr % 8));
    }
}

bool vmx_msr_bitmap_exits(const uint8_t *bm, uint32_t msr, bool write)
{
    long bit = msr_bitmap_bit(msr);
    if (bit < 0)
        return true;
    if (write)
        bit += MSR_BITMAP_WRITE_BITS;
    return bm[bit / 8] >> (bit % 8) & 1;
}
