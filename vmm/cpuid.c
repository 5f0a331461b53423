/* The CPUID policy, one table for both vendors (docs/cpuid.md): guests see the
 * VM's CPU model, an allow-list bounded by the host (vmm/policy/cpuid_model.c),
 * and hv86's own hypervisor leaves. */
#include "dev/pvclock.h"
#include "kernel/x86.h"
#include "vmm/cpuid.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define HV_LEAF_BASE   0x40000000u
#define HV_LEAF_LAST   0x40000001u
#define HV_SIGNATURE_B 0x36387668u    /* "hv86" */
#define HV_SIGNATURE_C 0x36387668u
#define HV_SIGNATURE_D 0x36387668u
/* The leaves no CPU will ever define (SDM Vol. 2A, CPUID: "40000000H to
 * 4FFFFFFFH"), left to hypervisors: all answered here, zero outside the two
 * blocks below, never the host's values. */
#define HV_RANGE_FIRST 0x40000000u
#define HV_RANGE_LAST  0x4FFFFFFFu
/* KVM's interface one block of 0x100 above hv86's own: Linux finds it by its
 * signature wherever it is (hypervisor_cpuid_base, arch/x86/include/asm/
 * processor.h in Linux 6.1, scans 0x40000000-0x4000FF00 in steps of 0x100), and
 * hv86's own leaf stays at 0x40000000. Offered: the kvm-clock MSRs with the
 * stable bit (vmm/kvmclock.c), and no port 0x80 delays, which are nothing but
 * exits here (no device of hv86 needs ISA timing); nothing else (cpuid.rst). */
#define KVM_LEAF_BASE  0x40000100u
#define KVM_LEAF_LAST  (KVM_LEAF_BASE + KVM_CPUID_FEATURES)
#define KVM_FEATURES   (KVM_FEATURE_CLOCKSOURCE2 | KVM_FEATURE_CLOCKSOURCE_STABLE_BIT | \
                        KVM_FEATURE_NOP_IO_DELAY)
enum { EAX, EBX, ECX, EDX };

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    cpuid(leaf, sub, &out[EAX], &out[EBX], &out[ECX], &out[EDX]);
}

void cpuid_vm_init(struct vm *vm, const struct vm_config *c)
{
    struct cpuid_model_params p = { .ncpus = c->cpus, .shadow = vm->shadow != 0,
                                    .clear = c->cpu_clear };
    cpuid_model_build(&vm->cpuid, host_cpuid, &p);
}

/* The leaves that are more than a copy from the table: apart, so that the copy
 * (cpuid_guest) needs no stack frame. */
static __attribute__((noinline)) void cpuid_computed(struct vcpu *v, uint32_t leaf,
                                                     uint32_t sub, uint32_t out[4])
{
    if (leaf >= HV_RANGE_FIRST && leaf <= HV_RANGE_LAST) {
        out[EAX] = out[EBX] = out[ECX] = out[EDX] = 0;
        if (leaf == HV_LEAF_BASE) {
            out[EAX] = HV_LEAF_LAST;
            out[EBX] = HV_SIGNATURE_B;
            out[ECX] = HV_SIGNATURE_C;
            out[EDX] = HV_SIGNATURE_D;
        } else if (leaf == KVM_LEAF_BASE) {
            out[EAX] = KVM_LEAF_LAST;
            out[EBX] = KVM_CPUID_SIGNATURE_EBX;
            out[ECX] = KVM_CPUID_SIGNATURE_ECX;
            out[EDX] = KVM_CPUID_SIGNATURE_EDX;
        } else if (leaf == KVM_LEAF_LAST) {
            out[EAX] = KVM_FEATURES;     /* EDX, the hints: none */
        }
        return;
    }
    /* The VM's CPU model, built once (vmm/policy/cpuid_model.c); OSXSAVE is
     * the guest's CR4.OSXSAVE, as the CPU reports it. */
    cpuid_model_answer(&v->vm->cpuid, leaf, sub, v->id, v->xcr0, out);
    if (leaf == 1 && (vcpu_get(v, REG_CR4) & CR4_OSXSAVE))
        out[ECX] |= CPUID_1_ECX_OSXSAVE;
}

void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    if (!cpuid_model_plain(&v->vm->cpuid, leaf, out))   /* most basic leaves: a copy */
        cpuid_computed(v, leaf, sub, out);
}

bool cpuid_guest_has(struct vcpu *v, uint32_t leaf, unsigned reg, uint32_t bit)
{
    uint32_t r[4];
    cpuid_guest(v, leaf, 0, r);
    return r[reg] & bit;
}
