/* The VMCB of a vCPU: intercepts, nested paging, and the guest state that the core
 * reads and writes through get/set_reg and get/set_seg (APM Vol. 2 Appendix B). */
#include <stddef.h>
#include "kernel/mm.h"
#include "kernel/x86.h"
#include "vmm/svm/svm.h"
#include "vmm/svm/vmcb_intercepts_pure.h"

_Static_assert(offsetof(struct vmcb_control, iopm_base_pa) == 0x040, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, asid) == 0x058, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, exitcode) == 0x070, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, nested_ctl) == 0x090, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, eventinj) == 0x0A8, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, n_cr3) == 0x0B0, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, next_rip) == 0x0C8, "VMCB layout");
_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, tr) == 0x490 - 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, cpl) == 0x4CB - 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, efer) == 0x4D0 - 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, cr4) == 0x548 - 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, rip) == 0x578 - 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, rsp) == 0x5D8 - 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, rax) == 0x5F8 - 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, cr2) == 0x640 - 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb_save, g_pat) == 0x668 - 0x400, "VMCB layout");
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB layout");

int svm_vcpu_init(struct vcpu *v)
{
    struct svm_vcpu *s = kmalloc(sizeof *s);
    if (!s)
        return -1;
    s->vmcb = page_alloc();
    if (!s->vmcb) {
        kfree(s);
        return -1;
    }
    v->backend = s;
    struct vmcb_control *c = &s->vmcb->ctl;
    struct svm_vm *svm_vm = v->vm->backend;
    vmcb_set_intercepts(c, v->vm->shadow);
    c->iopm_base_pa = hpa_of(svm_cpu.iopm);
    c->msrpm_base_pa = hpa_of(svm_cpu.msrpm);
    c->vintr = V_INTR_MASKING;        /* host interrupts always end the guest's turn */
    if (!v->vm->shadow) {
        c->nested_ctl = NESTED_CTL_NP_ENABLE;
        c->n_cr3 = hpa_of(svm_vm->npt_root);
    }
    s->asid_generation = 0;          /* assigned at the first run */

    struct vmcb_save *st = &s->vmcb->save;
    st->efer = EFER_SVME;            /* required in the guest's EFER (15.5.1) */
    st->cr0 = CR0_ET | CR0_CD | CR0_NW;
    st->rflags = RFLAGS_FIXED;
    st->dr6 = DR6_RESET;
    st->dr7 = DR7_RESET;
    st->g_pat = PAT_POWER_ON_DEFAULT;
    return 0;
}

void svm_vcpu_fini(struct vcpu *v)
{
    struct svm_vcpu *s = v->backend;
    if (!s)
        return;
    for (unsigned i = 0; i < HOST_MAX_CPUS; i++)
        if (svm_cpu.pcpu[i].dr_owner == v)
            svm_cpu.pcpu[i].dr_owner = 0;
    page_free(s->vmcb);
    kfree(s);
    v->backend = 0;
}

static uint64_t *reg_field(struct vmcb_save *st, enum vcpu_reg r)
{
    switch (r) {
    case REG_RSP: return &st->rsp;
    case REG_RIP: return &st->rip;
    case REG_RFLAGS: return &st->rflags;
    case REG_CR0: return &st->cr0;
    case REG_CR2: return &st->cr2;
    case REG_CR3: return &st->cr3;
    case REG_CR4: return &st->cr4;
    case REG_EFER: return &st->efer;
    case REG_DR7: return &st->dr7;
    case REG_DR6: return &st->dr6;
    case REG_PAT: return &st->g_pat;
    case REG_SYSENTER_CS: return &st->sysenter_cs;
    case REG_SYSENTER_ESP: return &st->sysenter_esp;
    case REG_SYSENTER_EIP: return &st->sysenter_eip;
    default: return 0;
    }
}

uint64_t svm_get_reg(struct vcpu *v, enum vcpu_reg r)
{
    struct vmcb *vmcb = ((struct svm_vcpu *)v->backend)->vmcb;
    struct vmcb_save *st = &vmcb->save;
    if (r == REG_CR8)                /* with V_INTR_MASKING, CR8 is V_TPR (15.21.1) */
        return vmcb->ctl.vintr & V_TPR_MASK;
    uint64_t *f = reg_field(st, r);
    if (!f)
        return 0;
    if (r == REG_EFER)                 /* SVME is hv86's; LME the guest's (below) */
        return (*f & ~(uint64_t)(EFER_SVME | EFER_LME)) |
               (((struct svm_vcpu *)v->backend)->efer_lme ? EFER_LME : 0);
    return *f;
}

void svm_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
    struct vmcb *vmcb = ((struct svm_vcpu *)v->backend)->vmcb;
    struct vmcb_save *st = &vmcb->save;
    if (r == REG_CR8) {
        vmcb->ctl.vintr = (vmcb->ctl.vintr & ~V_TPR_MASK) | (val & V_TPR_MASK);
        return;
    }
    /* Moving RIP means the core completed the instruction: the one-instruction
     * shadow of a preceding STI or MOV SS is over (as on VMX). */
    if (r == REG_RIP)
        vmcb->ctl.interrupt_shadow &= ~INTERRUPT_SHADOW_ACTIVE;
    uint64_t *f = reg_field(st, r);
    if (!f)
        return;
    /* EFER.LME with paging off is legal (APM Vol. 2 14.6.1: it only arms long
     * mode for the next CR0.PG), but QEMU 7.2's TCG VMRUN with EFER.LME=1 and
     * CR0.PG=0 under nested paging runs the guest wrong and stalled the host
     * (found by guests/attack.c, lme=1). So, as shadow paging does, the VMCB
     * holds LME only while long mode is active; the guest's own bit is kept in
     * efer_lme, and every EFER and CR0 write goes through here (both are
     * intercepted: vmcb.c's intercepts, the MSR permission map). */
    struct svm_vcpu *s = v->backend;
    if (r == REG_EFER) {
        s->efer_lme = val & EFER_LME;
        val |= EFER_SVME;
        if (!(val & EFER_LMA))
            val &= ~(uint64_t)EFER_LME;
    }
    *f = val;
    /* A CR0 write the core emulates must do what the CPU's own does: turning
     * paging on with EFER.LME activates long mode, turning it off leaves it
     * (APM Vol. 2 14.6.1). */
    if (r == REG_CR0) {
        if ((val & CR0_PG) && s->efer_lme)
            st->efer |= EFER_LME | EFER_LMA;
        else if (!(val & CR0_PG))
            st->efer &= ~(uint64_t)(EFER_LMA | EFER_LME);
    }
}

static struct vmcb_seg *seg_field(struct vmcb_save *st, enum seg_reg s)
{
    switch (s) {
    case SEG_ES: return &st->es;
    case SEG_CS: return &st->cs;
    case SEG_SS: return &st->ss;
    case SEG_DS: return &st->ds;
    case SEG_FS: return &st->fs;
    case SEG_GS: return &st->gs;
    case SEG_LDTR: return &st->ldtr;
    case SEG_TR: return &st->tr;
    case SEG_GDTR: return &st->gdtr;
    case SEG_IDTR: return &st->idtr;
    default: return 0;
    }
}

void svm_get_seg(struct vcpu *v, enum seg_reg s, struct segment *out)
{
    struct vmcb_seg *f = seg_field(&((struct svm_vcpu *)v->backend)->vmcb->save, s);
    *out = (struct segment){ .sel = f->sel, .attr = f->attr, .limit = f->limit, .base = f->base };
    if (s != SEG_GDTR && s != SEG_IDTR && !(f->attr & SEG_ATTR_P))
        out->attr |= SEG_ATTR_UNUSABLE;
}

void svm_set_seg(struct vcpu *v, enum seg_reg s, const struct segment *in)
{
    struct vmcb_save *st = &((struct svm_vcpu *)v->backend)->vmcb->save;
    struct vmcb_seg *f = seg_field(st, s);
    f->sel = in->sel;
    f->attr = (in->attr & SEG_ATTR_UNUSABLE) ? 0 : (uint16_t)(in->attr & 0xFFF);
    f->limit = in->limit;
    f->base = in->base;
    if (s == SEG_SS)                 /* the VMCB holds the CPL apart (15.5.1) */
        st->cpl = (uint8_t)seg_attr_dpl(in->attr);
}

/* ---- interrupt delivery (APM Vol. 2 15.20-15.21) ---------------------------------- */

/* An interrupt needs IF and no STI/MOV SS shadow. SVM keeps no NMI-blocking
 * state the VMM can see, so hv86 tracks it: from the injection of an NMI to the
 * guest's next IRET (15.21.5: "the VMM may intercept IRET to detect the end of
 * an NMI handler"). */
bool svm_can_inject(struct vcpu *v, enum event_type t)
{
    struct svm_vcpu *s = v->backend;
    if (s->vmcb->ctl.interrupt_shadow & INTERRUPT_SHADOW_ACTIVE)
        return false;
    if (t == EVENT_NMI)
        return !s->nmi_blocked;
    return s->vmcb->save.rflags & RFLAGS_IF;
}

/* Interrupt window: a virtual interrupt (V_IRQ) that ignores V_TPR, and the
 * VINTR intercept, which exits as the guest would take it: IF = 1 and no shadow
 * (15.21.4). The NMI window is the IRET that ends the NMI handler, intercepted
 * from each NMI's injection on (svm.c), so nothing to do for it here. */
void svm_request_window(struct vcpu *v, enum event_type t, bool on)
{
    struct vmcb_control *c = &((struct svm_vcpu *)v->backend)->vmcb->ctl;
    if (t == EVENT_NMI)
        return;
    if (on) {
        c->vintr |= V_IRQ | V_IGN_TPR;
        c->intercept_misc1 |= INTERCEPT_VINTR;
    } else {
        c->vintr &= ~(V_IRQ | V_IGN_TPR);
        c->intercept_misc1 &= ~INTERCEPT_VINTR;
    }
}

/* A MOV to CR8 that could let an interrupt through must exit: intercept CR8
 * writes while the TPR holds one back (as KVM does). */
void svm_watch_tpr(struct vcpu *v, uint8_t class)
{
    struct vmcb_control *c = &((struct svm_vcpu *)v->backend)->vmcb->ctl;
    c->intercept_cr = class ? c->intercept_cr | INTERCEPT_CR_WRITE(8)
                            : c->intercept_cr & ~INTERCEPT_CR_WRITE(8);
}
