/* VM exits into the common exit record (SDM Vol. 3C 28.2 exit information,
 * Appendix C reasons), event injection (27.6) and re-injection of an event whose
 * delivery an exit cut short (28.2.4, IDT-vectoring information). */
#include "kernel/console.h"
#include "kernel/x86.h"
#include "lib/format.h"
#include "vmm/emulate/decode.h"
#include "vmm/insn.h"
#include "vmm/vmx/vmx.h"
#include "vmm/vmx/vmx_insn.h"

/* ---- event injection ------------------------------------------------------------- */
void vmx_inject_pending(struct vcpu *v)
{
    static const uint32_t types[] = {
        [EVENT_EXTINT] = INTR_TYPE_EXT_INTR, [EVENT_NMI] = INTR_TYPE_NMI,
        [EVENT_EXCEPTION] = INTR_TYPE_HW_EXCEPTION, [EVENT_SOFTINT] = INTR_TYPE_SW_INTR,
    };
    struct vmx_vcpu *x = v->backend;
    if (!v->event_pending)
        return;
    const struct event *ev = &v->pending;
    uint32_t info = ev->vector | (types[ev->type] << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;
    /* Real mode pushes no error code, and with unrestricted guest and CR0.PE 0 the
     * entry checks forbid delivering one (27.2.1.3). */
    if (ev->has_error && (vmcs_read(VMCS_GUEST_CR0) & CR0_PE)) {
        info |= INTR_INFO_ERROR_VALID;
        vmcs_write(VMCS_ENTRY_EXC_ERROR, ev->error);
    }
    /* A software interrupt pushes the address after INT n (27.6.1.1). */
    if (ev->type == EVENT_SOFTINT)
        vmcs_write(VMCS_ENTRY_INSN_LEN, x->last_insn_len);
    vmcs_write(VMCS_ENTRY_INTR_INFO, info);   /* every exit clears its valid bit (28.2.3) */
    v->event_pending = false;
}

/* An exit during event delivery (a fault on the IDT, the stack or an EPT violation
 * on either) leaves the event in the IDT-vectoring information: deliver it again
 * unless the core queued its own. Software interrupts and exceptions are not
 * re-injected: RIP still points at INT n / INT3 / INTO, which runs again (28.2.4). */
static void requeue_interrupted_event(struct vcpu *v)
{
    static const enum event_type types[8] = {
        [INTR_TYPE_EXT_INTR] = EVENT_EXTINT, [INTR_TYPE_NMI] = EVENT_NMI,
        [INTR_TYPE_HW_EXCEPTION] = EVENT_EXCEPTION,
    };
    uint32_t info = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_INFO);
    if (!(info & INTR_INFO_VALID) || v->event_pending)
        return;
    unsigned type = INTR_INFO_TYPE(info);
    if (type != INTR_TYPE_EXT_INTR && type != INTR_TYPE_NMI && type != INTR_TYPE_HW_EXCEPTION)
        return;
    bool has_error = info & INTR_INFO_ERROR_VALID;
    /* An NMI cut short was not delivered: it must not count as blocking NMIs,
     * or its re-injection fails the entry checks (27.3.1.5; as KVM does). */
    if (type == INTR_TYPE_NMI)
        vmcs_write(VMCS_GUEST_INTERRUPTIBILITY,
                   vmcs_read(VMCS_GUEST_INTERRUPTIBILITY) & ~(uint64_t)INTR_BLOCK_NMI);
    v->pending = (struct event){
        .type = types[type], .vector = INTR_INFO_VECTOR(info), .has_error = has_error,
        .error = has_error ? (uint32_t)vmcs_read(VMCS_IDT_VECTORING_ERROR) : 0,
    };
    v->event_pending = true;
}

/* An exit that happened right after an IRET unblocked NMIs must block them again
 * before the guest resumes, unless an event was being delivered (28.2.3). */
static void reblock_nmi(uint64_t nmi_unblock_bit)
{
    if (!nmi_unblock_bit || (vmcs_read(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
        return;
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY,
               vmcs_read(VMCS_GUEST_INTERRUPTIBILITY) | INTR_BLOCK_NMI);
}

/* ---- hv86's checker on the live VMCS --------------------------------------------- */
static uint64_t read_live(void *ctx, uint32_t field)
{
    (void)ctx;
    uint64_t v;
    return vmread(field, &v) == VMX_OK ? v : 0;   /* a field this CPU lacks reads 0 */
}

bool vmx_check_state(struct vcpu *v, struct vm_exit *e)
{
    struct vmcs_check_result r;
    if (vmcs_check(&vmx_cpu.caps, read_live, 0, &r))
        return true;
    *e = (struct vm_exit){ .kind = EXIT_INVALID_STATE, .rip = vmcs_read(VMCS_GUEST_RIP),
                           .hw_reason = EXIT_REASON_ENTRY_FAIL | EXIT_REASON_INVALID_GUEST };
    e->invalid.field = r.field;
    e->invalid.rule = r.rule;
    (void)v;
    return false;
}

/* VMLAUNCH/VMRESUME failed before loading any guest state (27.1, 27.2). */
void vmx_entry_failed(struct vcpu *v, struct vm_exit *e, enum vmx_result r)
{
    struct vmx_vcpu *x = v->backend;
    if (r == VMX_FAIL_INVALID)
        panic("vmx: VM entry: VMfailInvalid: no current VMCS (hv86 bug)");
    unsigned err = vmcs_insn_error();
    kprintf("hv86: vmx: VM entry failed: %s (VM-instruction error %u)\n",
            vmx_insn_error_name(err), err);
    if (!vmx_check_state(v, e)) {
        e->hw_reason = err;
        return;
    }
    *e = (struct vm_exit){ .kind = EXIT_INVALID_STATE, .rip = vmcs_read(VMCS_GUEST_RIP),
                           .hw_reason = err };
    fmt_snprintf(x->msg, sizeof x->msg, "%s (VM-instruction error %u); hv86's checker "
                 "found no broken rule", vmx_insn_error_name(err), err);
    e->invalid.field = "VM-entry controls or host state";
    e->invalid.rule = x->msg;
}

/* An exit with bit 31 set: entry failed while or after loading guest state (27.8). */
static void entry_failure_exit(struct vcpu *v, struct vm_exit *e, unsigned basic, uint64_t qual)
{
    struct vmx_vcpu *x = v->backend;
    uint64_t reason = e->hw_reason;
    if (!vmx_check_state(v, e)) {
        e->hw_reason = reason;
        return;
    }
    static const char *const quals[] = {
        [ENTRY_QUAL_PDPTE] = "loading a PDPTE", [ENTRY_QUAL_NMI_BLOCKING] = "NMI injection while blocked",
        [ENTRY_QUAL_LINK_POINTER] = "the VMCS link pointer",
    };
    const char *what = basic == EXIT_REASON_INVALID_GUEST && qual < sizeof quals / sizeof quals[0] && quals[qual]
                           ? quals[qual] : "no detail";
    if (basic == EXIT_REASON_MSR_LOADING)
        fmt_snprintf(x->msg, sizeof x->msg, "MSR-load entry %lu failed (27.4)", qual);
    else
        fmt_snprintf(x->msg, sizeof x->msg, "refused by the CPU (exit qualification %lu: %s); "
                     "hv86's checker found no broken rule", qual, what);
    e->kind = EXIT_INVALID_STATE;
    e->invalid.field = vmx_exit_reason_name(basic);
    e->invalid.rule = x->msg;
}

/* ---- exit translation ----------------------------------------------------------------- */
static void insn_exit(struct vmx_vcpu *x, struct vm_exit *e, enum exit_kind kind)
{
    e->kind = kind;
    e->insn_len = (uint8_t)vmcs_read(VMCS_EXIT_INSN_LEN);   /* valid for these (28.2.5) */
    x->last_insn_len = e->insn_len;
}

/* A general register as the exiting instruction saw it (RSP lives in the VMCS). */
static uint64_t gpr_value(struct vcpu *v, unsigned n)
{
    return n == GPR_RSP ? vmcs_read(VMCS_GUEST_RSP) : v->gpr[n];
}

/* INVPCID's operands from the instruction information (28.2.5): the type
 * register, and the linear address of the descriptor, segment base (ignored for
 * ES, CS, SS, DS in 64-bit mode, SDM Vol. 3A 3.4.4) + base + index * scale +
 * displacement, cut to the address size. */
static void invpcid_operands(struct vcpu *v, struct vm_exit *e, uint64_t disp)
{
    uint32_t info = (uint32_t)vmcs_read(VMCS_EXIT_INSN_INFO);
    bool code64 = vmcs_read(VMCS_GUEST_CS_AR) & VMX_AR_L;
    uint64_t off = disp;
    if (!(info & INSN_INFO_BASE_INVALID))
        off += gpr_value(v, INSN_INFO_BASE(info));
    if (!(info & INSN_INFO_INDEX_INVALID))
        off += gpr_value(v, INSN_INFO_INDEX(info)) << INSN_INFO_SCALE(info);
    if (INSN_INFO_ADDR_SIZE(info) == INSN_INFO_ADDR_16)
        off &= 0xFFFF;
    else if (INSN_INFO_ADDR_SIZE(info) == INSN_INFO_ADDR_32)
        off &= 0xFFFFFFFF;
    unsigned seg = INSN_INFO_SEG(info);
    uint64_t base = code64 && seg < SEG_FS ? 0 : vmcs_read(VMCS_GUEST_SEG_BASE(seg));
    e->invpcid.desc = code64 ? base + off : (uint32_t)(base + off);
    uint64_t type = gpr_value(v, INSN_INFO_REG2(info));
    e->invpcid.type = code64 ? type : (uint32_t)type;
}

static void io_exit(struct vm_exit *e, uint64_t q)
{
    e->io.port = IO_QUAL_PORT(q);
    e->io.size = (uint8_t)IO_QUAL_SIZE(q);
    e->io.in = q & IO_QUAL_IN;
    e->io.string = q & IO_QUAL_STRING;
    e->io.rep = q & IO_QUAL_REP;
}

/* LMSW and CLTS write CR0 without a GPR and never fault once they exit (CPL 0 was
 * checked first): done here, so the core's CR handler sees only MOV CR. */
static void cr0_short_form(struct vcpu *v, struct vm_exit *e, unsigned type, uint64_t q)
{
    uint64_t cr0 = vcpu_get(v, REG_CR0);   /* the guest's view, shadow paging or not */
    if (type == CR_TYPE_CLTS)
        cr0 &= ~(uint64_t)CR0_TS;
    else   /* LMSW loads PE, MP, EM, TS, and can set PE but not clear it */
        cr0 = (cr0 & ~(uint64_t)(CR0_MP | CR0_EM | CR0_TS)) |
              (CR_QUAL_LMSW_DATA(q) & (CR0_PE | CR0_MP | CR0_EM | CR0_TS));
    vcpu_set(v, REG_CR0, cr0);
    vmx_set_reg(v, REG_RIP, e->rip + e->insn_len);
}

/* A #GP in virtual-8086 mode (real mode under shadow paging): MOV to/from CR,
 * HLT, RDMSR, WRMSR, LGDT, LIDT, INVD and WBINVD are privileged there but not in
 * real mode (SDM Vol. 3A 20.2.7; the CPL check comes before the VM exit, SDM
 * Vol. 3C 25.1.1): hand the first four to the core as the exits they would be,
 * emulate the descriptor-table loads (vmm/insn.c), and complete the cache
 * flushes as no-ops (hv86 maps guest RAM write-back and does no DMA: nothing to
 * write back for the guest; Linux's AP trampoline starts with WBINVD). Anything
 * else stops the VM by name. */
#define OP_HLT         0xF4
#define OP_WRMSR       0x30            /* 0F 30 */
#define OP_RDMSR       0x32            /* 0F 32 */

static void v86_privileged(struct vcpu *v, struct vmx_vcpu *x, struct vm_exit *e)
{
    struct insn in;
    /* The IDTR limit is 0 in virtual-8086 mode (vmx_v86_update): an event being
     * delivered ends here, and goes through the real-mode IVT instead. A software
     * one returns past its instruction (28.2.5 gives the length), the others to
     * RIP; a hardware one was requeued by requeue_interrupted_event: it is taken
     * back. */
    uint32_t info = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_INFO);
    if (info & INTR_INFO_VALID) {
        unsigned type = INTR_INFO_TYPE(info);
        bool soft = type == INTR_TYPE_SW_INTR || type == INTR_TYPE_SW_EXCEPTION ||
                    type == INTR_TYPE_PRIV_SW_EXC;
        uint64_t ret = e->rip + (soft ? vmcs_read(VMCS_EXIT_INSN_LEN) : 0);
        v->event_pending = false;
        if (vmx_v86_deliver(v, (uint8_t)INTR_INFO_VECTOR(info), ret))
            e->kind = EXIT_INTR_WINDOW;           /* done: nothing for the core */
        else
            e->kind = EXIT_UNKNOWN;
        return;
    }
    if (insn_fetch_decode(v, e->rip, &in)) {
        e->insn_len = in.len;
        x->last_insn_len = in.len;
        if (in.map == INSN_MAP_0F && (in.op == OP_MOV_TO_CR || in.op == OP_MOV_FROM_CR)) {
            e->kind = EXIT_CR_ACCESS;
            e->cr.cr = (uint8_t)in.reg;
            e->cr.gpr = (uint8_t)in.rm;
            e->cr.write = in.op == OP_MOV_TO_CR;
            return;
        }
        if (in.map == INSN_MAP_1BYTE && in.op == OP_HLT) {
            e->kind = EXIT_HLT;
            return;
        }
        if (in.map == INSN_MAP_0F && (in.op == OP_RDMSR || in.op == OP_WRMSR)) {
            e->kind = in.op == OP_RDMSR ? EXIT_MSR_READ : EXIT_MSR_WRITE;
            e->msr.index = (uint32_t)v->gpr[GPR_RCX];     /* Linux's AP trampoline, */
            return;                                       /* verify_cpu: MISC_ENABLE */
        }
        if (in.map == INSN_MAP_0F && in.op == OP_INVD) {
            e->kind = EXIT_INVD;                  /* the core's, as on SVM */
            return;
        }
        if (in.map == INSN_MAP_0F && in.op == OP_WBINVD) {
            vmx_set_reg(v, REG_RIP, e->rip + in.len);
            e->kind = EXIT_INTR_WINDOW;           /* done: nothing for the core */
            return;
        }
        /* LGDT and LIDT: an AP's start-up code loads its GDT in real mode. */
        bool done;
        if (insn_load_dtr(v, &in, e->rip, &done) || done) {
            e->kind = EXIT_INTR_WINDOW;           /* done: nothing for the core */
            return;
        }
    }
    e->kind = EXIT_INVALID_STATE;
    fmt_snprintf(x->msg, sizeof x->msg, "#GP in real mode at rip=%#lx: an instruction hv86 "
                 "does not emulate in virtual-8086 mode (docs/shadow.md)", e->rip);
    e->invalid.field = "virtual-8086 mode";
    e->invalid.rule = x->msg;
}

bool vmx_translate_exit(struct vcpu *v, struct vm_exit *e)
{
    struct vmx_vcpu *x = v->backend;
    uint32_t reason = (uint32_t)vmcs_read(VMCS_EXIT_REASON);
    unsigned basic = EXIT_REASON_BASIC(reason);
    uint64_t q = vmcs_read(VMCS_EXIT_QUALIFICATION);
    *e = (struct vm_exit){ .kind = EXIT_UNKNOWN, .rip = vmcs_read(VMCS_GUEST_RIP),
                           .hw_reason = reason };
    if (reason & EXIT_REASON_ENTRY_FAIL) {
        entry_failure_exit(v, e, basic, q);
        return true;
    }
    x->vmcs.launched = true;
    requeue_interrupted_event(v);

    switch (basic) {
    case EXIT_REASON_EXCEPTION_NMI: {
        uint32_t info = (uint32_t)vmcs_read(VMCS_EXIT_INTR_INFO);
        reblock_nmi(info & INTR_INFO_NMI_UNBLOCK);
        if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
            /* A host NMI, taken by NMI exiting: hand it to the host's handler as if
             * it had arrived outside the guest (what SVM's STGI does). */
            __asm__ volatile("int $2");
            e->kind = EXIT_EXTINT;
            e->exc.vector = EXC_NMI;
            break;
        }
        if (INTR_INFO_VECTOR(info) == EXC_MC) {
            /* A machine check is the host's hardware failing: its handler decides
             * (as KVM does), the guest never sees it. */
            __asm__ volatile("int $18");
            e->kind = EXIT_EXTINT;
            e->exc.vector = EXC_MC;
            break;
        }
        e->kind = EXIT_EXCEPTION;
        e->exc.vector = INTR_INFO_VECTOR(info);
        e->exc.has_error = info & INTR_INFO_ERROR_VALID;
        e->exc.error = e->exc.has_error ? (uint32_t)vmcs_read(VMCS_EXIT_INTR_ERROR) : 0;
        e->exc.cr2 = e->exc.vector == EXC_PF ? q : 0;   /* #PF: the faulting address (28.2.1) */
        if (e->exc.vector == EXC_DB || e->exc.vector == EXC_AC) {
            e->exc.in_delivery = vmcs_read(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID;
            /* #DB leaves DR6 alone; the qualification has its bits (28.2.1). */
            if (e->exc.vector == EXC_DB)
                e->exc.dr6 = q & DBG_QUAL_DR6_BITS;
            /* INT1 (ICEBP) is a trap: the guest continues after it (27.6.1.1). */
            if (INTR_INFO_TYPE(info) == INTR_TYPE_PRIV_SW_EXC)
                vmx_set_reg(v, REG_RIP, e->rip + vmcs_read(VMCS_EXIT_INSN_LEN));
        }
        if (e->exc.vector == EXC_GP && x->v86)
            v86_privileged(v, x, e);
        break;
    }
    case EXIT_REASON_EXTERNAL_INTR:
        /* Not acknowledged on exit: the interrupt stays pending at the local APIC
         * and the core lets the host take it (timer_take_pending), as on SVM. */
        e->kind = EXIT_EXTINT;
        break;
    case EXIT_REASON_TRIPLE_FAULT: e->kind = EXIT_SHUTDOWN; break;
    case EXIT_REASON_INIT: e->kind = EXIT_INIT; break;
    case EXIT_REASON_SIPI:
        e->kind = EXIT_SIPI;
        e->sipi.vector = (uint32_t)(q & 0xFF);   /* the SIPI's vector (table 28-1) */
        break;
    case EXIT_REASON_INTR_WINDOW:
    case EXIT_REASON_NMI_WINDOW:
    case EXIT_REASON_TPR_BELOW:       /* the core looks again at what it can inject */
        e->kind = EXIT_INTR_WINDOW;
        break;
    case EXIT_REASON_PREEMPT_TIMER: e->kind = EXIT_PREEMPT; break;
    case EXIT_REASON_CPUID: insn_exit(x, e, EXIT_CPUID); break;
    case EXIT_REASON_HLT: insn_exit(x, e, EXIT_HLT); break;
    case EXIT_REASON_INVLPG:         /* the qualification is the linear address (28.2.1) */
        insn_exit(x, e, EXIT_INVLPG);
        e->invlpg.valid = true;
        e->invlpg.gva = q;
        break;
    case EXIT_REASON_INVPCID:        /* under shadow paging: INVLPG exiting (25.1.3) */
        insn_exit(x, e, EXIT_INVPCID);
        invpcid_operands(v, e, q);
        break;
    case EXIT_REASON_RDMSR: insn_exit(x, e, EXIT_MSR_READ); e->msr.index = (uint32_t)v->gpr[GPR_RCX]; break;
    case EXIT_REASON_WRMSR: insn_exit(x, e, EXIT_MSR_WRITE); e->msr.index = (uint32_t)v->gpr[GPR_RCX]; break;
    case EXIT_REASON_XSETBV: insn_exit(x, e, EXIT_XSETBV); break;
    case EXIT_REASON_VMCALL: insn_exit(x, e, EXIT_HYPERCALL); break;
    case EXIT_REASON_IO: insn_exit(x, e, EXIT_IO); io_exit(e, q); break;
    case EXIT_REASON_CR_ACCESS: {
        unsigned type = CR_QUAL_TYPE(q);
        insn_exit(x, e, EXIT_CR_ACCESS);
        if (type == CR_TYPE_CLTS || type == CR_TYPE_LMSW) {
            cr0_short_form(v, e, type, q);
            return false;
        }
        e->cr.cr = (uint8_t)CR_QUAL_CR(q);
        e->cr.gpr = (uint8_t)CR_QUAL_GPR(q);
        e->cr.write = type == CR_TYPE_MOV_TO_CR;
        break;
    }
    case EXIT_REASON_INVD:          /* always exits (26.1.2): the core's no-op */
        insn_exit(x, e, EXIT_INVD);
        break;
    case EXIT_REASON_DR_ACCESS:     /* MOV-DR exiting, until the guest's first (26.1.3) */
        insn_exit(x, e, EXIT_DR_ACCESS);
        e->dr.dr = (uint8_t)DR_QUAL_DR(q);
        e->dr.gpr = (uint8_t)DR_QUAL_GPR(q);
        e->dr.write = !(q & DR_QUAL_FROM_DR);
        break;
    /* No nested virtualization, no SMX, MONITOR/MWAIT hidden: #UD as on SVM. */
    case EXIT_REASON_VMCLEAR: case EXIT_REASON_VMLAUNCH: case EXIT_REASON_VMPTRLD:
    case EXIT_REASON_VMPTRST: case EXIT_REASON_VMREAD: case EXIT_REASON_VMRESUME:
    case EXIT_REASON_VMWRITE: case EXIT_REASON_VMXOFF: case EXIT_REASON_VMXON:
    case EXIT_REASON_INVEPT: case EXIT_REASON_INVVPID: case EXIT_REASON_VMFUNC:
    case EXIT_REASON_GETSEC: case EXIT_REASON_MONITOR: case EXIT_REASON_MWAIT:
        insn_exit(x, e, EXIT_UD);
        break;
    case EXIT_REASON_EPT_VIOLATION:
        reblock_nmi(q & EPT_QUAL_NMI_UNBLOCK);
        e->kind = EXIT_PAGING;
        e->paging.gpa = vmcs_read(VMCS_GUEST_PHYS_ADDR);
        e->paging.access = ((q & EPT_QUAL_READ) ? ACCESS_READ : 0) |
                           ((q & EPT_QUAL_WRITE) ? ACCESS_WRITE : 0) |
                           ((q & EPT_QUAL_FETCH) ? ACCESS_EXEC : 0);
        e->paging.gla_valid = q & EPT_QUAL_GLA_VALID;
        e->paging.gla = e->paging.gla_valid ? vmcs_read(VMCS_GUEST_LINEAR_ADDR) : 0;
        break;
    case EXIT_REASON_EPT_MISCONFIG:
        /* hv86 built a bad EPT entry (29.3.3.1): name the address, stop the VM. */
        e->kind = EXIT_INVALID_STATE;
        fmt_snprintf(x->msg, sizeof x->msg, "misconfigured entry for gpa=%#lx (29.3.3.1)",
                     vmcs_read(VMCS_GUEST_PHYS_ADDR));
        e->invalid.field = "EPT";
        e->invalid.rule = x->msg;
        break;
    default:
        kprintf("hv86: vmx: unhandled exit reason %u (%s), qualification %#lx\n", basic,
                vmx_exit_reason_name(basic), q);
        break;
    }
    return true;
}
