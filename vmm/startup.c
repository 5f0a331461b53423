/* INIT and SIPI for vCPUs: see vmm/startup.h. The state a SIPI starts the
 * processor in is the INIT state of SDM Vol. 3A Table 9-1 (real mode, paging and
 * protection off, EFER 0, segments base 0 limit 0xFFFF, GDTR/IDTR limit 0xFFFF,
 * RFLAGS 2, DR7 0x400, EDX the processor signature) with CS = vector << 8, CS.base
 * = vector << 12 and IP = 0 (9.4.4.1 and 11.6.1 "Start-Up"). CR0.CD and NW keep
 * their values across INIT; x87/SSE state, MTRRs and the PAT are not changed by
 * INIT either (Table 9-1 note), so they stay as they were. */
#include "dev/lapic.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "vmm/cpuid.h"
#include "vmm/platform.h"
#include "vmm/startup.h"
#include "vmm/vcpu.h"
#include "vmm/irq.h"
#include "vmm/vm.h"

#define SIPI_CS_SHIFT      8           /* CS selector = vector << 8 */
#define REAL_MODE_SEG_SHIFT 4          /* base = selector << 4 */
#define INIT_DR7           0x400u
#define CPUID_SIGNATURE_LEAF 1         /* EAX: family, model, stepping */

void startup_init(struct vcpu *v)
{
    v->init_pending = true;
    v->sipi_pending = false;           /* a SIPI before this INIT no longer counts */
    irq_event(v->vm);
}

bool startup_sipi(struct vcpu *v, uint8_t vector)
{
    if (!(v->wait_sipi || v->init_pending) || v->sipi_pending)
        return false;
    v->sipi_pending = true;
    v->sipi_vector = vector;
    irq_event(v->vm);
    return true;
}

/* INIT: wait for a SIPI. Pending events and a HLT end; the local APIC resets
 * (11.4.7.3). The registers are set when the SIPI comes: nothing sees them
 * before. */
static void do_init(struct vcpu *v)
{
    v->wait_sipi = true;
    v->halted = false;
    v->event_pending = false;
    v->nmi_pending = false;
    struct lapic *l = platform_lapic(v);
    if (l)
        lapic_init_ipi(l);
}

static void do_sipi(struct vcpu *v, uint8_t vector)
{
    const uint32_t data_attr = SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_TYPE(0x3);   /* RW, accessed */
    const uint32_t code_attr = SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_TYPE(0xB);   /* XR, accessed */
    uint64_t cr0 = (vcpu_get(v, REG_CR0) & (CR0_CD | CR0_NW)) | CR0_ET;
    /* Paging and protection off first, so that shadow paging and VMX's
     * virtual-8086 emulation switch to real mode before the segments are set. */
    vcpu_set(v, REG_CR0, cr0);
    vcpu_set(v, REG_EFER, 0);
    vcpu_set(v, REG_CR4, 0);
    vcpu_set(v, REG_CR3, 0);
    vcpu_set(v, REG_CR2, 0);
    vcpu_set(v, REG_CR8, 0);
    uint16_t cs = (uint16_t)(vector << SIPI_CS_SHIFT);
    const struct seg_state segs = {
        .cs = { .sel = cs, .base = (uint64_t)cs << REAL_MODE_SEG_SHIFT,
                .limit = REAL_MODE_LIMIT, .attr = code_attr },
        .data = { .limit = REAL_MODE_LIMIT, .attr = data_attr },
        .ldtr = { .limit = REAL_MODE_LIMIT, .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0x2) },
        .tr = { .limit = REAL_MODE_LIMIT, .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0xB) },
        .gdtr = { .limit = REAL_MODE_LIMIT },
        .idtr = { .limit = REAL_MODE_LIMIT },
    };
    vcpu_set_segs(v, &segs);
    vcpu_set(v, REG_RFLAGS, RFLAGS_FIXED);
    vcpu_set(v, REG_RIP, 0);
    vcpu_set(v, REG_RSP, 0);
    vcpu_set(v, REG_DR7, INIT_DR7);
    uint32_t sig[4];
    cpuid_guest(v, CPUID_SIGNATURE_LEAF, 0, sig);
    memset(v->gpr, 0, sizeof v->gpr);
    v->gpr[GPR_RDX] = sig[0];
    v->wait_sipi = false;
}

void startup_apply(struct vcpu *v)
{
    if (v->init_pending) {
        v->init_pending = false;
        do_init(v);
    }
    if (v->sipi_pending) {
        v->sipi_pending = false;
        if (v->wait_sipi)
            do_sipi(v, v->sipi_vector);
    }
}
