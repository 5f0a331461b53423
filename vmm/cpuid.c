/* The CPUID policy, one table for both vendors (docs/cpuid.md): guests see the
 * host's features minus what hv86 does not virtualize, plus hv86's own leaf. */
#include "kernel/x86.h"
#include "vmm/cpuid.h"
#include "vmm/vcpu.h"

#define HV_LEAF_BASE   0x40000000u
#define HV_LEAF_LAST   0x40000001u
#define HV_SIGNATURE_B 0x36387668u    /* "hv86" */
#define HV_SIGNATURE_C 0x36387668u
#define HV_SIGNATURE_D 0x36387668u
#define SVM_LEAF       0x8000000Au

/* Bits cleared from what the host reports: virtualization extensions (no nested
 * virtualization), MONITOR/MWAIT (not intercepted: a guest must not park the
 * physical CPU), and OSXSAVE, which is recomputed from the guest's own CR4. */
struct cpuid_mask { uint32_t leaf; uint8_t reg; uint32_t clear; };
enum { EAX, EBX, ECX, EDX };
#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define X2APIC_TOPOLOGY_LEAF 0xBu
#define V2_TOPOLOGY_LEAF 0x1Fu
/* RDTSCP and RDPID read IA32_TSC_AUX, which hv86 does not switch per vCPU (VMX
 * runs the guest without "enable RDTSCP", so they #UD there): not offered. */
#define CPUID_80000001_EDX_RDTSCP (1u << 27)
#define CPUID_7_ECX_RDPID (1u << 22)
static const struct cpuid_mask hidden[] = {
    { 7, ECX, CPUID_7_ECX_RDPID },
    { 1, ECX, CPUID_1_ECX_VMX | CPUID_1_ECX_MONITOR | CPUID_1_ECX_OSXSAVE },
    { 0x80000001u, ECX, CPUID_80000001_ECX_SVM },
    { 0x80000001u, EDX, CPUID_80000001_EDX_RDTSCP },
};

void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    if (leaf >= HV_LEAF_BASE && leaf <= 0x400000FFu) {
        out[0] = out[1] = out[2] = out[3] = 0;
        if (leaf == HV_LEAF_BASE) {
            out[0] = HV_LEAF_LAST;
            out[1] = HV_SIGNATURE_B;
            out[2] = HV_SIGNATURE_C;
            out[3] = HV_SIGNATURE_D;
        }
        return;
    }
    if (leaf == SVM_LEAF) {                  /* SVM features: none offered */
        out[0] = out[1] = out[2] = out[3] = 0;
        return;
    }
    cpuid(leaf, sub, &out[0], &out[1], &out[2], &out[3]);
    for (unsigned i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
        if (hidden[i].leaf == leaf)
            out[hidden[i].reg] &= ~hidden[i].clear;
    if (leaf == 1) {
        /* The virtual local APIC has x2APIC mode and the timer's TSC-deadline
         * mode (dev/lapic.c), whatever the host. */
        out[ECX] |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE;
        if (vcpu_get(v, REG_CR4) & CR4_OSXSAVE)
            out[ECX] |= CPUID_1_ECX_OSXSAVE;
        /* EBX[31:24]: initial APIC ID = the vCPU's index. */
        out[EBX] = (out[EBX] & 0x00FFFFFFu) | (v->id << 24);
    }
    /* EDX of the topology leaves is the x2APIC ID (SDM Vol. 2A CPUID leaf 0BH). */
    if (leaf == X2APIC_TOPOLOGY_LEAF || leaf == V2_TOPOLOGY_LEAF)
        out[EDX] = v->id;
}

bool cpuid_guest_has(struct vcpu *v, uint32_t leaf, unsigned reg, uint32_t bit)
{
    uint32_t r[4];
    cpuid_guest(v, leaf, 0, r);
    return r[reg] & bit;
}
