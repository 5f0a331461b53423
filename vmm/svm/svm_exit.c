/* Translation of #VMEXIT codes (APM Vol. 2 Appendix C) into the common exit record. */
#include "vmm/svm/svm.h"
#include "vmm/svm/vmcb_check.h"
#include "vmm/emulate/decode.h"
#include "vmm/insn.h"

/* QEMU's TCG before 8.1 checks the WBINVD intercept for INVD (translate.c: "(b & 2)
 * ? SVM_EXIT_INVD : SVM_EXIT_WBINVD", fixed in 8.1): both are intercepted, and a
 * WBINVD exit whose instruction is INVD (0F 08) is reported as INVD. */
static enum exit_kind wbinvd_or_invd(struct vcpu *v, uint64_t rip)
{
    struct insn in;
    if (insn_fetch_decode(v, rip, &in) && in.map == INSN_MAP_0F && in.op == OP_INVD)
        return EXIT_INVD;
    return EXIT_WBINVD;
}

static void io_exit(struct vm_exit *e, uint64_t info1, uint64_t info2)
{
    e->kind = EXIT_IO;
    e->io.port = (uint16_t)(info1 >> IOIO_PORT_SHIFT);
    e->io.size = (info1 & IOIO_SZ32) ? 4 : (info1 & IOIO_SZ16) ? 2 : 1;
    e->io.in = info1 & IOIO_TYPE_IN;
    e->io.string = info1 & IOIO_STR;
    e->io.rep = info1 & IOIO_REP;
    /* EXITINFO2 holds the next RIP for IOIO even without NRIP save (15.10.2). */
    e->insn_len = (uint8_t)(info2 - e->rip);
}

/* An event whose delivery the exit cut short is delivered again (APM 15.7.2). */
static void requeue_interrupted_event(struct vcpu *v, uint64_t intinfo)
{
    static const enum event_type types[8] = {
        [EVENTINJ_TYPE_INTR] = EVENT_EXTINT, [EVENTINJ_TYPE_NMI] = EVENT_NMI,
        [EVENTINJ_TYPE_EXCEPTION] = EVENT_EXCEPTION, [EVENTINJ_TYPE_SOFT] = EVENT_SOFTINT,
    };
    if (!(intinfo & EVENTINJ_VALID) || v->event_pending)
        return;
    unsigned type = (intinfo >> EVENTINJ_TYPE_SHIFT) & 7;
    if (type == EVENTINJ_TYPE_SOFT)   /* INTn is re-executed by restarting the instruction */
        return;
    v->pending = (struct event){
        .type = types[type], .vector = intinfo & EVENTINJ_VECTOR_MASK,
        .has_error = intinfo & EVENTINJ_EV, .error = (uint32_t)(intinfo >> 32),
    };
    v->event_pending = true;
}

/* The end of an NMI handler (APM Vol. 2 15.21.5). The IRET intercept exits
 * before the IRET runs, and NMIs stay blocked until it has completed: an NMI
 * that waits must come after it, at the instruction the IRET returns to (kvm-unit-
 * tests' eventinj checks the very address), not at the IRET. So hv86 steps over
 * it, as KVM does: TF set for the IRET gives a single-step #DB (intercepted)
 * once it has completed, with the flags it popped in RFLAGS; RF keeps a code
 * breakpoint on the IRET from firing twice. An IRET that faults leaves TF in the
 * frame its fault handler sees; that handler's own IRET then ends the step. */
static void iret_step_start(struct vcpu *v, struct vmcb *vmcb)
{
    struct svm_vcpu *s = v->backend;
    vmcb->ctl.intercept_misc1 &= ~INTERCEPT_IRET;
    s->iret_step = true;
    s->iret_step_guest_tf = vmcb->save.rflags & RFLAGS_TF;
    vmcb->save.rflags |= RFLAGS_TF | RFLAGS_RF;
}

/* A #DB while stepping over that IRET: NMIs are unblocked. Ours alone (the
 * guest was not single-stepping and no breakpoint matched) it is dropped, DR6.BS
 * taken back; otherwise the guest takes it as the CPU raised it. */
static bool iret_stepped(struct vcpu *v, struct vmcb *vmcb)
{
    struct svm_vcpu *s = v->backend;
    if (!s->iret_step)
        return false;
    s->iret_step = false;
    s->nmi_blocked = false;
    if (s->iret_step_guest_tf || (vmcb->save.dr6 & DR6_B0_B3))
        return false;
    vmcb->save.dr6 &= ~DR6_BS;
    return true;
}

void svm_translate_exit(struct vcpu *v, struct vm_exit *e)
{
    struct vmcb *vmcb = ((struct svm_vcpu *)v->backend)->vmcb;
    uint64_t code = vmcb->ctl.exitcode, info1 = vmcb->ctl.exitinfo1, info2 = vmcb->ctl.exitinfo2;
    *e = (struct vm_exit){ .kind = EXIT_UNKNOWN, .rip = vmcb->save.rip, .hw_reason = code };
    if (svm_cpu.features & SVM_FEATURE_NRIPS && vmcb->ctl.next_rip > e->rip)
        e->insn_len = (uint8_t)(vmcb->ctl.next_rip - e->rip);
    requeue_interrupted_event(v, vmcb->ctl.exitintinfo);

    if (code == VMEXIT_EXCP_BASE + EXC_DB && iret_stepped(v, vmcb)) {
        e->kind = EXIT_INTR_WINDOW;           /* NMIs unblocked: inject what waits */
        return;
    }
    if (code >= VMEXIT_EXCP_BASE && code < VMEXIT_EXCP_BASE + 32) {
        e->kind = EXIT_EXCEPTION;
        e->exc.vector = (uint8_t)(code - VMEXIT_EXCP_BASE);
        e->exc.error = (uint32_t)info1;
        e->exc.has_error = (1u << e->exc.vector) & 0x27D00;  /* #DF #TS #NP #SS #GP #PF #AC */
        e->exc.cr2 = info2;
        /* #DB: the CPU wrote the guest's DR6 into the VMCB (exc.dr6 stays 0). */
        e->exc.in_delivery = vmcb->ctl.exitintinfo & EVENTINJ_VALID;
        return;
    }
    /* MOV DRn: reads are VMEXIT_DR0_READ + n, writes VMEXIT_DR0_WRITE + n; with
     * decode assists EXITINFO1 names the GPR (APM Vol. 2 15.33.2). */
    if (code >= VMEXIT_DR0_READ && code < VMEXIT_DR0_WRITE + 16) {
        e->kind = EXIT_DR_ACCESS;
        e->dr.write = code >= VMEXIT_DR0_WRITE;
        e->dr.dr = (uint8_t)(code & 0xF);
        e->dr.gpr = (svm_cpu.features & SVM_FEATURE_DECODE_ASSIST)
                        ? (uint8_t)(info1 & DR_EXITINFO_GPR_MASK) : CR_GPR_DECODE;
        return;
    }
    /* CR reads are exit codes VMEXIT_CR0_READ (0) + n, writes VMEXIT_CR0_WRITE + n. */
    if (code < VMEXIT_CR0_WRITE + 16) {
        bool write = code >= VMEXIT_CR0_WRITE;
        e->kind = EXIT_CR_ACCESS;
        e->cr.cr = (uint8_t)(code - (write ? VMEXIT_CR0_WRITE : VMEXIT_CR0_READ));
        e->cr.write = write;
        bool named = (svm_cpu.features & SVM_FEATURE_DECODE_ASSIST) && (info1 & CR_EXITINFO_MOV);
        e->cr.gpr = named ? (uint8_t)(info1 & CR_EXITINFO_GPR_MASK) : CR_GPR_DECODE;
        return;
    }
    switch ((uint32_t)code) {
    case VMEXIT_IOIO: io_exit(e, info1, info2); break;
    case VMEXIT_MSR: e->kind = info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ; break;
    case VMEXIT_CPUID: e->kind = EXIT_CPUID; break;
    case VMEXIT_HLT: e->kind = EXIT_HLT; break;
    case VMEXIT_INVD: e->kind = EXIT_INVD; break;
    case VMEXIT_WBINVD: e->kind = wbinvd_or_invd(v, e->rip); break;
    case VMEXIT_XSETBV: e->kind = EXIT_XSETBV; break;
    case VMEXIT_INVLPG:
        /* With decode assists EXITINFO1 holds the linear address (15.33.2). */
        e->kind = EXIT_INVLPG;
        e->invlpg.valid = svm_cpu.features & SVM_FEATURE_DECODE_ASSIST;
        e->invlpg.gva = info1;
        break;
    case VMEXIT_VMMCALL: e->kind = EXIT_HYPERCALL; break;
    case VMEXIT_SHUTDOWN: e->kind = EXIT_SHUTDOWN; break;
    case VMEXIT_INIT: e->kind = EXIT_INIT; break;
    case VMEXIT_INTR:
    case VMEXIT_NMI:
    case VMEXIT_SMI: e->kind = EXIT_EXTINT; break;
    case VMEXIT_VINTR: e->kind = EXIT_INTR_WINDOW; break;
    case VMEXIT_IRET:
        iret_step_start(v, vmcb);
        e->kind = EXIT_INTR_WINDOW;
        break;
    case VMEXIT_VMRUN:
    case VMEXIT_VMLOAD:
    case VMEXIT_VMSAVE:
    case VMEXIT_STGI:
    case VMEXIT_CLGI:
    case VMEXIT_SKINIT:
    case VMEXIT_INVLPGA:
    case VMEXIT_MONITOR:
    case VMEXIT_MWAIT: e->kind = EXIT_UD; break;
    case VMEXIT_NPF:
        e->kind = EXIT_PAGING;
        e->paging.gpa = info2;
        e->paging.access = (info1 & NPF_FETCH) ? ACCESS_EXEC
                         : (info1 & NPF_WRITE) ? ACCESS_WRITE : ACCESS_READ;
        break;
    case VMEXIT_INVALID: {
        /* The CPU does not say why: hv86's own checker names the field. */
        struct vmcb_check_result r = { "VMCB", "VMRUN refused the guest state (VMEXIT_INVALID)" };
        vmcb_check(vmcb, svm_cpu.phys_bits, &r);
        e->kind = EXIT_INVALID_STATE;
        e->invalid.field = r.field;
        e->invalid.rule = r.rule;
        break;
    }
    default:
        break;
    }
}
