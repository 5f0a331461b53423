/* vCPU register access: the core's view of state the backend keeps. */
#include "vmm/shadow.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

/* Under shadow paging the guest's paging registers are the core's (vmm/shadow.c). */
static bool shadowed(struct vcpu *v, enum vcpu_reg r)
{
    return v->vm && v->vm->shadow && shadow_owns_reg(r);
}

uint64_t vcpu_get(struct vcpu *v, enum vcpu_reg r)
{
    return shadowed(v, r) ? shadow_get_reg(v, r) : vmm->get_reg(v, r);
}

void vcpu_set(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
    if (shadowed(v, r))
        shadow_set_reg(v, r, val);
    else
        vmm->set_reg(v, r, val);
}
void vcpu_get_seg(struct vcpu *v, enum seg_reg s, struct segment *out) { vmm->get_seg(v, s, out); }
void vcpu_set_seg(struct vcpu *v, enum seg_reg s, const struct segment *in) { vmm->set_seg(v, s, in); }

void vcpu_set_segs(struct vcpu *v, const struct seg_state *s)
{
    vcpu_set_seg(v, SEG_CS, &s->cs);
    for (enum seg_reg r = SEG_ES; r <= SEG_GS; r++)
        if (r != SEG_CS)
            vcpu_set_seg(v, r, &s->data);
    vcpu_set_seg(v, SEG_LDTR, &s->ldtr);
    vcpu_set_seg(v, SEG_TR, &s->tr);
    vcpu_set_seg(v, SEG_GDTR, &s->gdtr);
    vcpu_set_seg(v, SEG_IDTR, &s->idtr);
}

void vcpu_inject_exception(struct vcpu *v, uint8_t vector, int64_t error)
{
    v->pending = (struct event){
        .type = EVENT_EXCEPTION, .vector = vector,
        .has_error = error >= 0, .error = error >= 0 ? (uint32_t)error : 0,
    };
    v->event_pending = true;
}
