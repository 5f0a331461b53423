/* The VMRUN consistency checks (APM Vol. 2 15.5.1) as pure logic, so that an
 * "invalid guest state" exit (VMEXIT_INVALID), which the CPU reports without saying
 * why, is explained by name; unit-tested in tests/unit/test_vmcb_check.c. */
#include <stdbool.h>
#include "arch/x86.h"
#include "vmm/svm/vmcb_check.h"

/* CR4 bits defined by the APM (Vol. 2 3.1.3); anything else must be zero. */
#define CR4_DEFINED 0x00000000007F7FFFull
/* EFER bits defined by the APM (Vol. 2 3.1.7): SCE, LME, LMA, NXE, SVME, LMSLE,
 * FFXSR, TCE, MCOMMIT, INTWB, UAIE, AIBRSE. */
#define EFER_DEFINED 0x00000000002FFD01ull

static int fail(struct vmcb_check_result *out, const char *field, const char *rule)
{
    out->field = field;
    out->rule = rule;
    return -1;
}

int vmcb_check(const struct vmcb *vmcb, unsigned phys_bits, struct vmcb_check_result *out)
{
    const struct vmcb_save *s = &vmcb->save;
    const struct vmcb_control *c = &vmcb->ctl;
    uint64_t pa_limit = phys_bits >= 64 ? ~0ull : (1ull << phys_bits);
    bool lme = s->efer & EFER_LME, pg = s->cr0 & CR0_PG;

    if (!(s->efer & EFER_SVME))
        return fail(out, "EFER", "EFER.SVME must be 1 in the guest");
    if (s->efer & ~EFER_DEFINED)
        return fail(out, "EFER", "reserved (MBZ) bits set");
    if (!(s->cr0 & CR0_CD) && (s->cr0 & CR0_NW))
        return fail(out, "CR0", "CR0.NW=1 with CR0.CD=0");
    if (s->cr0 >> 32)
        return fail(out, "CR0", "bits 63:32 must be zero");
    if (s->cr4 & ~CR4_DEFINED)
        return fail(out, "CR4", "reserved (MBZ) bits set");
    if (lme && pg && (s->cr3 >> 52))
        return fail(out, "CR3", "bits 63:52 must be zero in long mode");
    if (s->dr6 >> 32)
        return fail(out, "DR6", "bits 63:32 must be zero");
    if (s->dr7 >> 32)
        return fail(out, "DR7", "bits 63:32 must be zero");
    if (lme && pg && !(s->cr4 & CR4_PAE))
        return fail(out, "CR4", "EFER.LME and CR0.PG set with CR4.PAE clear");
    if (lme && pg && !(s->cr0 & CR0_PE))
        return fail(out, "CR0", "EFER.LME and CR0.PG set with CR0.PE clear");
    if (lme && pg && (s->cr4 & CR4_PAE) && (s->cs.attr & SEG_ATTR_L) && (s->cs.attr & SEG_ATTR_DB))
        return fail(out, "CS", "CS.L and CS.D both set in long mode");
    if (!(c->intercept_misc2 & INTERCEPT_VMRUN))
        return fail(out, "intercepts", "the VMRUN intercept must be set");
    if (c->msrpm_base_pa & 0xFFF || c->msrpm_base_pa + MSRPM_SIZE > pa_limit)
        return fail(out, "MSRPM_BASE_PA", "must be page aligned and inside physical memory");
    if (c->iopm_base_pa & 0xFFF || c->iopm_base_pa + IOPM_SIZE > pa_limit)
        return fail(out, "IOPM_BASE_PA", "must be page aligned and inside physical memory");
    if ((uint32_t)c->asid == 0)
        return fail(out, "ASID", "ASID 0 is the host's");
    if (c->eventinj & EVENTINJ_VALID) {
        unsigned type = (c->eventinj >> EVENTINJ_TYPE_SHIFT) & 7;
        unsigned vec = c->eventinj & EVENTINJ_VECTOR_MASK;
        if (type == 1 || type > EVENTINJ_TYPE_SOFT)
            return fail(out, "EVENTINJ", "reserved event type");
        if (type == EVENTINJ_TYPE_EXCEPTION && (vec == 2 || vec > 31))
            return fail(out, "EVENTINJ", "exception type with a vector that is not an exception");
    }
    if (c->nested_ctl & NESTED_CTL_NP_ENABLE) {
        if ((c->n_cr3 & ~0xFFFull) >= pa_limit)
            return fail(out, "N_CR3", "nested page table root outside physical memory");
    }
    return 0;
}
