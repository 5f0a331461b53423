/* Intel VT-x: detection, entering and leaving VMX operation on this CPU (SDM Vol.
 * 3C 24.6-24.8), the permission bitmaps, and the run loop. Fills vmx_ops. */
#include "kernel/console.h"
#include "kernel/timer.h"
#include "kernel/mm.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "vmm/spec.h"
#include "vmm/vmx/vmx.h"
#include "vmm/vmx/vmx_insn.h"

#define PREEMPT_FIELD_MAX 0xFFFFFFFFull   /* a 32-bit field (25.4.2) */

struct vmx_cpu vmx_cpu;

#define IO_BITMAP_PAGES 2                     /* A: ports 0-7FFF, B: 8000-FFFF (25.6.4) */

/* enum vmx_result is returned by vmx_entry.S as plain numbers. */
_Static_assert(VMX_OK == 0 && VMX_FAIL_VALID == 1 && VMX_FAIL_INVALID == 2, "vmx_entry.S");
_Static_assert(SEG_ES == 0 && SEG_CS == 1 && SEG_SS == 2 && SEG_DS == 3 && SEG_FS == 4 &&
               SEG_GS == 5 && SEG_LDTR == 6 && SEG_TR == 7, "VMCS_GUEST_SEG_* spacing");

/* The capability MSRs in force: the TRUE_* ones when IA32_VMX_BASIC[55] says they
 * exist, as they allow clearing some default-1 controls (A.2). */
static void read_caps(struct vmx_cap_msrs *c)
{
    c->basic = rdmsr(MSR_IA32_VMX_BASIC);
    bool t = c->basic & VMX_BASIC_TRUE_CTLS;
    c->pin = rdmsr(t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
    c->proc = rdmsr(t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
    c->exit = rdmsr(t ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
    c->entry = rdmsr(t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
    c->misc = rdmsr(MSR_IA32_VMX_MISC);
    c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    /* PROCBASED_CTLS2 and EPT_VPID_CAP exist only with secondary controls (A.3.3, A.10). */
    bool secondary = VMX_CTL_ALLOWED1(c->proc) & PROC_SECONDARY_CONTROLS;
    c->proc2 = secondary ? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
    bool ept_vpid = VMX_CTL_ALLOWED1(c->proc2) & (PROC2_EPT | PROC2_VPID);
    c->ept_vpid = ept_vpid ? rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0;
    c->maxphyaddr = host_maxphyaddr();
}

static bool locked_out(void)
{
    uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
    return (fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX);
}

static int vmx_probe(struct vmm_caps *caps, const char **why)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    if (!(c & CPUID_1_ECX_VMX)) {
        *why = "no VT-x: CPUID.1:ECX.VMX is clear";
        return -1;
    }
    if (locked_out()) {
        *why = "VT-x disabled by firmware (IA32_FEATURE_CONTROL locked without VMX outside SMX)";
        return -1;
    }
    struct vmx_cap_msrs m;
    read_caps(&m);
    uint32_t proc2 = VMX_CTL_ALLOWED1(m.proc2);
    *caps = (struct vmm_caps){
        /* hv86's EPT mode also needs unrestricted guest (real mode, paging off):
         * a CPU with EPT alone (Nehalem) runs VMs on shadow tables. */
        .nested_paging = (proc2 & PROC2_EPT) && (proc2 & PROC2_UNRESTRICTED_GUEST),
        .tagged_tlb = proc2 & PROC2_VPID,
        .next_rip = true,              /* VM-exit instruction length (28.2.5) */
        .unrestricted = proc2 & PROC2_UNRESTRICTED_GUEST,
        .decode_assists = false,       /* VMX hands over no instruction bytes */
        .tlb_tags = (proc2 & PROC2_VPID) ? VPID_MAX : 0,   /* VPIDs 1..VPID_MAX */
        .shadow_real_mode = true,      /* as virtual-8086 mode (vmx_v86_update) */
    };
    return 0;
}

/* IA32_FEATURE_CONTROL gates VMXON (24.7). Unlocked (as firmware may leave it, and
 * as Bochs does): enable VMX outside SMX and lock. Locked without it: only the
 * firmware setup can change that. */
static int enable_feature_control(void)
{
    uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK)) {
        wrmsr(MSR_FEATURE_CONTROL,
              fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        return 0;
    }
    if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
        kprintf("hv86: vmx: IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled: "
                "enable VT-x in the firmware setup\n");
        return -1;
    }
    return 0;
}

static const uint32_t lazy_msr_index[LAZY_MSR_COUNT] = {
    [LAZY_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE, [LAZY_STAR] = MSR_STAR,
    [LAZY_LSTAR] = MSR_LSTAR, [LAZY_CSTAR] = MSR_CSTAR, [LAZY_SFMASK] = MSR_SFMASK,
};

static int alloc_bitmaps(void)
{
    vmx_cpu.io_bitmaps = frames_alloc(IO_BITMAP_PAGES, 1);
    vmx_cpu.msr_bitmap = page_alloc();
    if (!vmx_cpu.io_bitmaps || !vmx_cpu.msr_bitmap) {
        kprintf("hv86: vmx: out of memory for the I/O and MSR bitmaps\n");
        return -1;
    }
    memset(vmx_cpu.io_bitmaps, 0xFF, IO_BITMAP_PAGES * PAGE_SIZE);   /* every port exits */
    vmx_msr_bitmap_init(vmx_cpu.msr_bitmap);
    return 0;
}

/* Guest/host masks (25.6.6): CR0 writes to PE, PG (long mode and PDPTE upkeep),
 * CD, NW (validity) and NE, and to any bit VMX fixes, exit to the core; in CR4
 * the bits VMX fixes, VMXE among them, which the guest must not see set. */
static void compute_cr_masks(void)
{
    const struct vmx_cap_msrs *c = &vmx_cpu.caps;
    vmx_cpu.cr0_mask = CR0_PE | CR0_PG | CR0_CD | CR0_NW | CR0_NE | c->cr0_fixed0 |
                       ~c->cr0_fixed1;
    vmx_cpu.cr4_mask = CR4_VMXE | c->cr4_fixed0 | ~c->cr4_fixed1;
}

static const char *result_word(enum vmx_result r)
{
    return r == VMX_OK ? "ok" : r == VMX_FAIL_INVALID ? "failed (VMfailInvalid)"
                                                      : "failed (VMfailValid)";
}

static void say_missing(const char *what, const char *msr)
{
    kprintf("hv86: vmx: \"%s\" is not offered (%s)\n", what, msr);
}

/* The capabilities, controls and bitmaps: once, on the BSP (the CPUs of one
 * machine report the same VMX capabilities). */
static int shared_init(void)
{
    struct vmx_cap_msrs *c = &vmx_cpu.caps;
    read_caps(c);
    if (vmx_controls_init(c, &vmx_cpu.ctls, say_missing) != 0)
        return -1;
    if (VMX_BASIC_REGION_SIZE(c->basic) > PAGE_SIZE || VMX_BASIC_MEMTYPE(c->basic) != MEMTYPE_WB) {
        kprintf("hv86: vmx: VMCS of %u bytes, memory type %u: hv86 needs <= 4 KiB, write-back (A.1)\n",
                VMX_BASIC_REGION_SIZE(c->basic), VMX_BASIC_MEMTYPE(c->basic));
        return -1;
    }
    return alloc_bitmaps();
}

/* VMX operation on this CPU: its own IA32_FEATURE_CONTROL, CR0/CR4 and VMXON
 * region (24.7-24.8); the first CPU also sets up what all share. */
static int vmx_cpu_init(void)
{
    struct vmx_cap_msrs *c = &vmx_cpu.caps;
    struct vmx_pcpu *p = vmx_here();
    if (!vmx_cpu.msr_bitmap && shared_init() != 0)
        return -1;
    if (enable_feature_control() != 0)
        return -1;
    p->vmxon_region = page_alloc();
    if (!p->vmxon_region) {
        kprintf("hv86: vmx: out of memory for the VMXON region\n");
        return -1;
    }
    *(uint32_t *)p->vmxon_region = VMX_BASIC_REVISION(c->basic);   /* 25.11.5 */

    /* CR0 and CR4 must hold the values VMX fixes, CR4.VMXE among them (24.8). */
    write_cr0((read_cr0() | c->cr0_fixed0) & c->cr0_fixed1);
    write_cr4((read_cr4() | c->cr4_fixed0 | CR4_VMXE) & c->cr4_fixed1);
    enum vmx_result r = vmxon(hpa_of(p->vmxon_region));
    if (r != VMX_OK) {
        write_cr4(read_cr4() & ~(uint64_t)CR4_VMXE);
        kprintf("hv86: vmx: VMXON %s\n", result_word(r));
        return -1;
    }
    p->on = true;
    compute_cr_masks();
    const struct vmx_controls *k = &vmx_cpu.ctls;
    bool ept = k->proc2 & PROC2_EPT;
    kprintf("hv86: vmx: vmxon ok, vmcs revision %#x, %s%s, vpid %s, "
            "%s, tpr shadow %s, true controls %s\n", VMX_BASIC_REVISION(c->basic),
            ept ? "ept 4-level wb" : "no ept: shadow paging",
            ept && (c->ept_vpid & EPT_CAP_2M) ? " 2m" : "", (k->proc2 & PROC2_VPID) ? "on" : "off",
            ept ? "unrestricted guest" : "no unrestricted guest",
            (k->proc & PROC_TPR_SHADOW) ? "on" : "off",
            (c->basic & VMX_BASIC_TRUE_CTLS) ? "yes" : "no");
    return 0;
}

/* Leave VMX operation, then prove the CPU is left usable by entering and leaving
 * it once more (24.7: VMXOFF; CR4.VMXE may be cleared only outside VMX). */
static void vmx_cpu_fini(void)
{
    struct vmx_pcpu *p = vmx_here();
    if (!p->on) {
        kprintf("hv86: vmx: not in VMX operation\n");
        return;
    }
    struct vmcs *cur = vmcs_current();
    if (cur)
        vmcs_clear(cur);            /* flush it to memory before leaving (25.11.1) */
    enum vmx_result off = vmxoff();
    vmcs_forget_current();
    p->lazy_owner = 0;
    p->entered = 0;
    if (off == VMX_OK)
        p->on = false;
    write_cr4(read_cr4() & ~(uint64_t)CR4_VMXE);
    int vmxe = (read_cr4() & CR4_VMXE) ? 1 : 0;
    write_cr4(read_cr4() | CR4_VMXE);
    enum vmx_result on2 = vmxon(hpa_of(p->vmxon_region));
    enum vmx_result off2 = on2 == VMX_OK ? vmxoff() : VMX_FAIL_INVALID;
    write_cr4(read_cr4() & ~(uint64_t)CR4_VMXE);
    kprintf("hv86: vmx: vmxoff %s, cr4.vmxe=%d, re-vmxon %s, vmxoff %s\n", result_word(off),
            vmxe, result_word(on2), on2 == VMX_OK ? result_word(off2) : "skipped");
}

static int vmx_vm_init(struct vm *vm) { return ept_vm_init(vm); }
static void vmx_vm_fini(struct vm *vm) { ept_vm_fini(vm); }

/* STAR, LSTAR, CSTAR, SFMASK and KERNEL_GS_BASE are the guest's while it runs and
 * hv86 never uses them, so they change only when another vCPU takes this CPU. */
static void save_lazy_msrs(struct vcpu *v)
{
    struct vmx_vcpu *p = v->backend;
    for (int i = 0; i < LAZY_MSR_COUNT; i++)
        p->lazy_msrs[i] = rdmsr(lazy_msr_index[i]);
}

static void switch_lazy_msrs(struct vcpu *v)
{
    struct vmx_pcpu *here = vmx_here();
    struct vcpu *prev = here->lazy_owner;
    if (prev == v)
        return;
    if (prev)
        save_lazy_msrs(prev);
    struct vmx_vcpu *x = v->backend;
    for (int i = 0; i < LAZY_MSR_COUNT; i++)
        wrmsr(lazy_msr_index[i], x->lazy_msrs[i]);
    here->lazy_owner = v;
}

/* v may run on another CPU next: its VMCS is VMCLEARed here, on the CPU it is
 * active on (25.11.1), and its lazy MSRs leave the registers. The next
 * vcpu_run, wherever it is, does VMPTRLD, VMLAUNCH and rewrites the host state
 * for its CPU (vmx_refresh_host_state). */
static void vmx_vcpu_unload(struct vcpu *v)
{
    struct vmx_vcpu *x = v->backend;
    struct vmx_pcpu *here = vmx_here();
    if (here->lazy_owner == v) {
        save_lazy_msrs(v);
        here->lazy_owner = 0;
    }
    if (here->entered == v)
        here->entered = 0;
    if (here->dr_owner == v) {
        if (v->dr_live) {
            read_dr0_3(v->dr);
            x->dr6 = read_dr6();
        }
        here->dr_owner = 0;
    }
    if (x->vmcs.cpu == (int)this_cpu()->index)
        vmcs_clear(&x->vmcs);
}

/* The run loop, twice: with_spec adds the speculative-execution barriers
 * (vmm/spec.h), the plain copy has not a single test for them. */
static inline __attribute__((always_inline)) int run(struct vcpu *v, struct vm_exit *e,
                                                     bool with_spec)
{
    struct vmx_vcpu *x = v->backend;
    struct vmx_pcpu *here = vmx_here();
    vmcs_load(&x->vmcs);
    /* Its first entry on this CPU since it came (or since another vCPU entered
     * here): the host state, CRs and lazy MSRs. The host writes its CR0 and CR4
     * only while starting or stopping VMX operation (vmx_cpu_init, fpu_host_init,
     * vmx_cpu_fini), never between two entries. */
    if (here->entered != v) {
        vmx_vcpu_arrive(v);
        spec_vcpu_arrive(v);
        vmx_refresh_host_state(x);
        switch_lazy_msrs(v);
        /* Nothing but a vCPU entering changes DR0-3 and DR6: checked here only. */
        if (here->dr_owner != v)
            vmx_dr_load(here, v);
        here->entered = v;
    }
    vmx_inject_pending(v);
    if (!x->checked) {              /* hv86's own view first: names the broken rule */
        if (!vmx_check_state(v, e)) {
            if (!v->force_entry)
                return 0;
            kprintf("hv86: vm %s: checker: %s: %s; entering anyway to see the CPU's verdict\n",
                    v->vm->name, e->invalid.field, e->invalid.rule);
        }
        x->checked = true;
    }
    if (vmx_cpu.ctls.pin & PIN_PREEMPT_TIMER) {
        /* Up to the host's next timer interrupt (the tick, or a guest timer's
         * wake-up): the timer counts TSC periods shifted right by
         * IA32_VMX_MISC[4:0] (26.5.1), and kernel/timer.c keeps that instant
         * in TSC counts. No interrupt armed (a single vCPU with no timer): as
         * long as the field allows. */
        uint64_t at = timer_next_interrupt_tsc(), now = rdtsc(), quantum = PREEMPT_FIELD_MAX;
        if (at != UINT64_MAX)
            quantum = (at > now ? at - now : 0) >> VMX_MISC_PREEMPT_RATE(vmx_cpu.caps.misc);
        vmcs_write(VMCS_GUEST_PREEMPT_TIMER, quantum > PREEMPT_FIELD_MAX ? PREEMPT_FIELD_MAX : quantum);
    }
    do {
        /* VMX does not switch CR2 (28.3): the guest's goes in by hand. */
        if (read_cr2() != x->cr2)
            write_cr2(x->cr2);
        enum vmx_result r;
        if (with_spec) {
            spec_before_entry();
            r = vmx_enter_spec(v, x->vmcs.launched, &x->host_rsp);
        } else {
            r = vmx_enter(v, x->vmcs.launched, &x->host_rsp);
        }
        if (r != VMX_OK) {
            vmx_entry_failed(v, e, r);
            return 0;
        }
        x->cr2 = read_cr2();
    } while (!vmx_translate_exit(v, e));
    return 0;
}

static int vmx_vcpu_run(struct vcpu *v, struct vm_exit *e) { return run(v, e, false); }
static int vmx_vcpu_run_spec(struct vcpu *v, struct vm_exit *e) { return run(v, e, true); }

/* Shadow paging: the CPU runs with hw's registers; the guest reads its own CR0
 * and CR4 from the read shadows (every bit is host-owned: 25.6.6) and its CR3
 * through CR3-store exiting. */
static void vmx_set_paging(struct vcpu *v, const struct paging_regs *guest,
                           const struct paging_regs *hw)
{
    const struct vmx_cap_msrs *c = &vmx_cpu.caps;
    struct vmx_vcpu *x = v->backend;
    vmcs_load(&x->vmcs);
    /* Under shadow paging nothing else writes these fields (the core's CR and
     * EFER accesses end here), so what was written last is what they hold. */
    if (x->paging_set && guest->cr0 == x->paging_guest.cr0 &&
        guest->cr4 == x->paging_guest.cr4 && hw->cr0 == x->paging_hw.cr0 &&
        hw->cr4 == x->paging_hw.cr4 && hw->efer == x->paging_hw.efer) {
        vmcs_write(VMCS_GUEST_CR3, hw->cr3);    /* a CR3 load: the new root alone */
        return;
    }
    x->paging_guest = *guest;
    x->paging_hw = *hw;
    x->paging_set = true;
    vmcs_write(VMCS_GUEST_CR0, (hw->cr0 | c->cr0_fixed0) & c->cr0_fixed1);
    vmcs_write(VMCS_CR0_SHADOW, guest->cr0);
    vmcs_write(VMCS_GUEST_CR3, hw->cr3);
    vmcs_write(VMCS_GUEST_CR4, (hw->cr4 | c->cr4_fixed0) & c->cr4_fixed1);
    vmcs_write(VMCS_CR4_SHADOW, guest->cr4);
    vmx_set_reg(v, REG_EFER, hw->efer);     /* and the IA-32e entry control */
    vmx_v86_update(v, !(guest->cr0 & CR0_PE));
}

/* Without VPIDs every VM entry and exit flushes the guest's translations
 * (29.4.3.3): nothing more to do. */
static void vmx_flush_tlb(struct vcpu *v) { (void)v; }

const struct vmm_ops vmx_ops = {
    .name = "vmx",
    .probe = vmx_probe,
    .cpu_init = vmx_cpu_init,
    .cpu_fini = vmx_cpu_fini,
    .vm_init = vmx_vm_init,
    .vm_fini = vmx_vm_fini,
    .map = ept_map,
    .vcpu_init = vmx_vcpu_init,
    .vcpu_fini = vmx_vcpu_fini,
    .vcpu_unload = vmx_vcpu_unload,
    .vcpu_run = vmx_vcpu_run,
    .vcpu_run_spec = vmx_vcpu_run_spec,
    .get_reg = vmx_get_reg,
    .set_reg = vmx_set_reg,
    .get_seg = vmx_get_seg,
    .set_seg = vmx_set_seg,
    .can_inject = vmx_can_inject,
    .request_window = vmx_request_window,
    .watch_tpr = vmx_watch_tpr,
    .set_paging = vmx_set_paging,
    .flush_tlb = vmx_flush_tlb,
    .dr_passthrough = vmx_dr_passthrough,
    .set_tsc_offset = vmx_set_tsc_offset,
};
