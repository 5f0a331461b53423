/* The CPUID policy, one table for both vendors (docs/cpuid.md): guests see the
 * host's features minus what hv86 does not virtualize, plus hv86's own leaf. */
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
#define SVM_LEAF       0x8000000Au

enum { EAX, EBX, ECX, EDX };
#define X2APIC_TOPOLOGY_LEAF 0xBu
#define V2_TOPOLOGY_LEAF 0x1Fu
/* RDTSCP and RDPID (CPUID_80000001_EDX_RDTSCP, CPUID_7_ECX_RDPID) read
 * IA32_TSC_AUX, which hv86 does not switch per vCPU (VMX runs the guest without
 * "enable RDTSCP", so they #UD there): not offered. */
/* hv86 has no IA32_MPERF/IA32_APERF (MSRs 0xE7/0xE8: they raise #GP,
 * docs/msr.md): Linux reads both at every scheduler tick where CPUID.6:ECX[0]
 * offers them (Bochs' CPU models do), two exits and two #GPs a tick. */
#define POWER_LEAF 6u
/* The VM's topology: one package of N cores, one thread each (docs/cpuid.md). */
#define CPUID_1_EBX_COUNT_SHIFT 16            /* logical processors per package */
#define CPUID_1_EBX_COUNT_MASK (0xFFu << CPUID_1_EBX_COUNT_SHIFT)
#define TOPO_LEVEL_SMT 1u                     /* leaf 0xB ECX[15:8] level types */
#define TOPO_LEVEL_CORE 2u
#define TOPO_LEVEL_TYPE_SHIFT 8
#define AMD_NC_MASK 0xFFu                     /* 0x80000008 ECX[7:0]: cores - 1 */
#define AMD_APIC_ID_SIZE_SHIFT 12             /* ECX[15:12]: APIC ID bits for cores */
#define AMD_APIC_ID_SIZE_MASK (0xFu << AMD_APIC_ID_SIZE_SHIFT)
static unsigned vcpus(const struct vcpu *v)
{
    return v->vm && v->vm->nvcpus ? v->vm->nvcpus : 1;
}

/* Bits of the APIC ID that number n cores: ceil(log2(n)). */
static uint32_t id_bits(unsigned n)
{
    uint32_t b = 0;
    while ((1u << b) < n)
        b++;
    return b;
}

/* Leaf 0xB (SDM Vol. 2A CPUID): level 0 the thread (one per core), level 1 the
 * cores of the package (the VM's vCPUs), then the invalid level. */
static void x2apic_topology(unsigned ncpus, uint32_t sub, uint32_t out[4])
{
    out[EAX] = out[EBX] = 0;
    out[ECX] = sub & 0xFFu;
    if (sub == 0) {
        out[EBX] = 1;
        out[ECX] |= TOPO_LEVEL_SMT << TOPO_LEVEL_TYPE_SHIFT;
    } else if (sub == 1) {
        out[EAX] = id_bits(ncpus);
        out[EBX] = ncpus;
        out[ECX] |= TOPO_LEVEL_CORE << TOPO_LEVEL_TYPE_SHIFT;
    }
}

void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t out[4])
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
    if (leaf == SVM_LEAF) {                  /* SVM features: none offered */
        out[0] = out[1] = out[2] = out[3] = 0;
        return;
    }
    cpuid(leaf, sub, &out[0], &out[1], &out[2], &out[3]);
    /* Most leaves reach the guest as the host reports them (one switch, so that
     * they cost no more than the look-up). Bits cleared from the rest:
     * virtualization extensions (no nested virtualization), MONITOR/MWAIT (not
     * intercepted: a guest must not park the physical CPU), RDTSCP and RDPID,
     * APERF/MPERF, and OSXSAVE, which is recomputed from the guest's own CR4. */
    switch (leaf) {
    case 1:
        out[ECX] &= ~(CPUID_1_ECX_VMX | CPUID_1_ECX_MONITOR | CPUID_1_ECX_OSXSAVE);
        /* The virtual local APIC has x2APIC mode and the timer's TSC-deadline
         * mode (dev/lapic.c), whatever the host. */
        out[ECX] |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE;
        if (vcpu_get(v, REG_CR4) & CR4_OSXSAVE)
            out[ECX] |= CPUID_1_ECX_OSXSAVE;
        /* EBX[31:24]: initial APIC ID = the vCPU's index; EBX[23:16] with
         * EDX.HTT: the logical processors of the package, the VM's vCPUs. */
        out[EBX] = (out[EBX] & 0x0000FFFFu) | (v->id << 24) |
                   ((uint32_t)vcpus(v) << CPUID_1_EBX_COUNT_SHIFT & CPUID_1_EBX_COUNT_MASK);
        out[EDX] |= CPUID_1_EDX_HTT;
        /* Shadow tables do not tell PCIDs apart, and the CPU runs them with
         * CR4.PCIDE clear, where a MOV to CR3 with the no-flush bit 63 faults
         * before any VM exit (Bochs): no PCID under shadow paging (docs/shadow.md). */
        if (v->vm->shadow)
            out[ECX] &= ~CPUID_1_ECX_PCID;
        break;
    case POWER_LEAF:
        out[ECX] &= ~CPUID_6_ECX_APERFMPERF;
        break;
    case 7:
        out[ECX] &= ~CPUID_7_ECX_RDPID;
        break;
    case X2APIC_TOPOLOGY_LEAF:
        x2apic_topology(vcpus(v), sub, out);
        out[EDX] = v->id;        /* the x2APIC ID (SDM Vol. 2A CPUID leaf 0BH) */
        break;
    case V2_TOPOLOGY_LEAF:
        out[EDX] = v->id;
        break;
    case 0x80000001u:
        out[ECX] &= ~CPUID_80000001_ECX_SVM;
        out[EDX] &= ~CPUID_80000001_EDX_RDTSCP;
        break;
    case CPUID_LEAF_ADDR_SIZES:             /* APM Vol. 3 E.4.7: cores of the package */
        out[ECX] = (out[ECX] & ~(AMD_NC_MASK | AMD_APIC_ID_SIZE_MASK)) |
                   (vcpus(v) - 1) | id_bits(vcpus(v)) << AMD_APIC_ID_SIZE_SHIFT;
        break;
    }
}

bool cpuid_guest_has(struct vcpu *v, uint32_t leaf, unsigned reg, uint32_t bit)
{
    uint32_t r[4];
    cpuid_guest(v, leaf, 0, r);
    return r[reg] & bit;
}
