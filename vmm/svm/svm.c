/* AMD-V: detection, turning SVM on and off on this CPU (APM Vol. 2 15.4, 15.30),
 * the permission maps, ASIDs and the world-switch loop. Fills svm_ops. */
#include "kernel/console.h"
#include "vmm/vm.h"
#include "kernel/mm.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "vmm/spec.h"
#include "vmm/svm/svm.h"
#include "vmm/svm/vmcb_check.h"
#include "vmm/svm/vmcb_intercepts_pure.h"

struct svm_cpu svm_cpu;

static int svm_probe(struct vmm_caps *caps, const char **why)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000u, 0, &a, &b, &c, &d);
    if (a < CPUID_SVM_FEATURES) {
        *why = "no AMD-V: CPUID has no leaf 8000_000A";
        return -1;
    }
    cpuid(0x80000001u, 0, &a, &b, &c, &d);
    if (!(c & CPUID_80000001_ECX_SVM)) {
        *why = "no AMD-V: CPUID 8000_0001 ECX.SVM is clear";
        return -1;
    }
    if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
        *why = "AMD-V disabled by firmware (VM_CR.SVMDIS)";
        return -1;
    }
    cpuid(CPUID_SVM_FEATURES, 0, &a, &b, &c, &d);
    svm_cpu.features = d;
    svm_cpu.nasids = b;
    *caps = (struct vmm_caps){
        .nested_paging = d & SVM_FEATURE_NPT,
        .tagged_tlb = b > 1,
        .next_rip = d & SVM_FEATURE_NRIPS,
        .unrestricted = true,           /* SVM runs real mode and paging off natively */
        .decode_assists = d & SVM_FEATURE_DECODE_ASSIST,
        .tlb_tags = b,
        .shadow_real_mode = true,       /* paged real mode (APM Vol. 2 15.19) */
    };
    return 0;
}

/* The permission maps every VMCB points at: once, on the BSP. */
static int shared_init(void)
{
    svm_cpu.phys_bits = host_maxphyaddr();
    svm_cpu.iopm = frames_alloc(IOPM_SIZE / PAGE_SIZE, 1);
    svm_cpu.msrpm = frames_alloc(MSRPM_SIZE / PAGE_SIZE, 1);
    if (!svm_cpu.iopm || !svm_cpu.msrpm)
        return -1;
    memset(svm_cpu.iopm, 0xFF, IOPM_SIZE);        /* every port: hv86's devices decide */
    svm_msrpm_init(svm_cpu.msrpm);
    return 0;
}

/* SVM on this CPU: EFER.SVME, its own host save area (APM 15.30.4), its host
 * VMCB for VMSAVE/VMLOAD, and its ASID space. */
static int svm_cpu_init(void)
{
    struct svm_pcpu *p = svm_here();
    p->hsave = page_alloc();
    p->host_vmcb = page_alloc();
    if (!p->hsave || !p->host_vmcb || (!svm_cpu.msrpm && shared_init() != 0)) {
        kprintf("hv86: svm: out of memory for the host save area and permission maps\n");
        return -1;
    }
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, hpa_of(p->hsave));
    /* The host's FS/GS/TR/LDTR/syscall MSRs never change: save them once. This
     * CPU's GS base (this_cpu()) comes back with every VMLOAD of it. */
    __asm__ volatile("vmsave %0" :: "a"(hpa_of(p->host_vmcb)) : "memory");
    p->next_asid = 1;
    p->asid_generation = 1;
    return 0;
}

/* Nothing stays on the CPU: VMRUN takes the whole VMCB from memory and #VMEXIT
 * writes it back (APM 15.5); the ASID is re-assigned on the next CPU. */
static void svm_vcpu_unload(struct vcpu *v)
{
    struct svm_pcpu *p = svm_here();
    if (p->dr_owner == v) {
        if (v->dr_live)
            read_dr0_3(v->dr);
        p->dr_owner = 0;
    }
}

/* DR0-3 are not in the VMCB (DR6 and DR7 are, APM Vol. 2 15.5.1): the hardware
 * holds one vCPU's at a time. A vCPU that does not own them gets its own loaded
 * before it runs, zeros if it never wrote one, so no other VM's breakpoint
 * addresses are visible or armed while it runs. The previous owner's are saved
 * if it could have changed them (MOV DR no longer intercepted). */
static __attribute__((noinline)) void svm_dr_switch(struct svm_pcpu *p, struct vcpu *v)
{
    struct vcpu *prev = p->dr_owner;
    if (prev && prev->dr_live)
        read_dr0_3(prev->dr);
    write_dr0_3(v->dr);
    p->dr_owner = v;
}

/* The guest touched a debug register: from now on MOV DR runs natively, with
 * its own DR0-3 loaded (again, as the core may just have written one). */
/* The VMCB's TSC_OFFSET applies to RDTSC, RDTSCP and RDMSR TSC in the guest
 * (APM Vol. 2 15.30.5); no clean bits are used, so VMRUN reads it every time. */
static void svm_set_tsc_offset(struct vcpu *v, uint64_t offset)
{
    ((struct svm_vcpu *)v->backend)->vmcb->ctl.tsc_offset = offset;
}

static void svm_dr_passthrough(struct vcpu *v)
{
    struct svm_pcpu *p = svm_here();
    ((struct svm_vcpu *)v->backend)->vmcb->ctl.intercept_dr = 0;
    v->dr_live = true;
    if (p->dr_owner == v)
        p->dr_owner = 0;
}

static void svm_cpu_fini(void)
{
    wrmsr(MSR_VM_HSAVE_PA, 0);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~(uint64_t)EFER_SVME);
    kprintf("hv86: svm: off, efer.svme=%d\n", (rdmsr(MSR_EFER) & EFER_SVME) ? 1 : 0);
}

static int svm_vm_init(struct vm *vm)
{
    struct svm_vm *s = kmalloc(sizeof *s);
    if (!s)
        return -1;
    s->npt_root = page_alloc();
    if (!s->npt_root) {
        kfree(s);
        return -1;
    }
    s->npt_pages = 1;
    vm->backend = s;
    return 0;
}

static void svm_vm_fini(struct vm *vm)
{
    npt_free(vm);
    kfree(vm->backend);
    vm->backend = 0;
}

/* ASIDs: each CPU hands out its own, one per vCPU while they last; when they run
 * out a new generation starts with a full TLB flush, since QEMU's SVM has no
 * flush-by-ASID (APM 15.16). A vCPU that comes to another CPU takes an ASID of
 * that CPU's, with a flush: the TLB there may hold that number's old entries. */
static void assign_asid(struct svm_vcpu *s)
{
    struct svm_pcpu *p = svm_here();
    int me = (int)this_cpu()->index;
    if (s->asid_cpu == me && s->asid_generation == p->asid_generation)
        return;
    if (p->next_asid >= svm_cpu.nasids) {
        p->asid_generation++;
        p->next_asid = 1;
    }
    s->vmcb->ctl.asid = p->next_asid++;
    s->asid_cpu = me;
    s->asid_generation = p->asid_generation;
    s->vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL;
}

static void inject(struct vcpu *v, struct vmcb *vmcb)
{
    static const uint32_t types[] = {
        [EVENT_EXTINT] = EVENTINJ_TYPE_INTR, [EVENT_NMI] = EVENTINJ_TYPE_NMI,
        [EVENT_EXCEPTION] = EVENTINJ_TYPE_EXCEPTION, [EVENT_SOFTINT] = EVENTINJ_TYPE_SOFT,
    };
    const struct event *ev = &v->pending;
    vmcb->ctl.eventinj = ev->vector | (types[ev->type] << EVENTINJ_TYPE_SHIFT) | EVENTINJ_VALID |
                         (ev->has_error ? EVENTINJ_EV | ((uint64_t)ev->error << 32) : 0);
    if (ev->type == EVENT_NMI) {        /* blocked until its handler's IRET */
        ((struct svm_vcpu *)v->backend)->nmi_blocked = true;
        vmcb->ctl.intercept_misc1 |= INTERCEPT_IRET;
    }
    v->event_pending = false;
}

/* The run path, twice: with_spec adds the speculative-execution barriers
 * (vmm/spec.h), the plain copy has not a single test for them. SVM keeps no
 * "last vCPU entered here", so the spec copy asks spec_vcpu_arrive every time. */
static inline __attribute__((always_inline)) int run(struct vcpu *v, struct vm_exit *e,
                                                     bool with_spec)
{
    struct svm_vcpu *s = v->backend;
    struct vmcb *vmcb = s->vmcb;
    struct svm_pcpu *p = svm_here();
    if (p->dr_owner != v)
        svm_dr_switch(p, v);
    assign_asid(s);
    if (v->event_pending)
        inject(v, vmcb);
    if (!s->launched_once) {
        struct vmcb_check_result r;
        if (vmcb_check(vmcb, svm_cpu.phys_bits, &r) != 0) {
            *e = (struct vm_exit){ .kind = EXIT_INVALID_STATE, .rip = vmcb->save.rip,
                                   .hw_reason = VMEXIT_INVALID };
            e->invalid.field = r.field;
            e->invalid.rule = r.rule;
            if (!v->force_entry)
                return 0;
            kprintf("hv86: vm %s: checker: %s: %s; entering anyway to see the CPU's verdict\n",
                    v->vm->name, r.field, r.rule);
        }
        s->launched_once = true;
    }
    vmcb->save.rax = v->gpr[GPR_RAX];
    if (with_spec) {
        spec_vcpu_arrive(v);
        spec_before_entry();
        svm_enter_spec(v, hpa_of(vmcb), hpa_of(svm_here()->host_vmcb));
    } else {
        svm_enter(v, hpa_of(vmcb), hpa_of(svm_here()->host_vmcb));
    }
    v->gpr[GPR_RAX] = vmcb->save.rax;
    vmcb->ctl.tlb_control = TLB_CONTROL_NOTHING;
    svm_translate_exit(v, e);
    return 0;
}

static int svm_vcpu_run(struct vcpu *v, struct vm_exit *e) { return run(v, e, false); }
static int svm_vcpu_run_spec(struct vcpu *v, struct vm_exit *e) { return run(v, e, true); }

/* Shadow paging: the VMCB holds what the CPU runs with; the guest's own values
 * are the core's, since every CR0/CR3/CR4 read and write is intercepted
 * (APM Vol. 2 15.12, 15.13). The shadow tables changed: flush the guest's TLB.
 * QEMU's TCG offers no flush-by-ASID, so flush all (15.16.1). */
static void svm_flush_tlb(struct vcpu *v)
{
    ((struct svm_vcpu *)v->backend)->vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL;
}

static void svm_set_paging(struct vcpu *v, const struct paging_regs *guest,
                           const struct paging_regs *hw)
{
    struct vmcb_save *st = &((struct svm_vcpu *)v->backend)->vmcb->save;
    (void)guest;
    st->cr0 = hw->cr0;
    st->cr3 = hw->cr3;
    st->cr4 = hw->cr4;
    st->efer = hw->efer | EFER_SVME;
    svm_flush_tlb(v);
}

const struct vmm_ops svm_ops = {
    .name = "svm",
    .probe = svm_probe,
    .cpu_init = svm_cpu_init,
    .cpu_fini = svm_cpu_fini,
    .vm_init = svm_vm_init,
    .vm_fini = svm_vm_fini,
    .map = npt_map,
    .vcpu_init = svm_vcpu_init,
    .vcpu_fini = svm_vcpu_fini,
    .vcpu_unload = svm_vcpu_unload,
    .vcpu_run = svm_vcpu_run,
    .vcpu_run_spec = svm_vcpu_run_spec,
    .get_reg = svm_get_reg,
    .set_reg = svm_set_reg,
    .get_seg = svm_get_seg,
    .set_seg = svm_set_seg,
    .can_inject = svm_can_inject,
    .request_window = svm_request_window,
    .watch_tpr = svm_watch_tpr,
    .set_paging = svm_set_paging,
    .flush_tlb = svm_flush_tlb,
    .dr_passthrough = svm_dr_passthrough,
    .set_tsc_offset = svm_set_tsc_offset,
};
