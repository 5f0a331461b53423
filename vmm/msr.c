/* The MSR policy, one table for both vendors: what a guest may read and write.
 * Which MSRs exist follows the guest's CPUID (vmm/policy/msr_model.c, which also
 * handles the plainest ones). Everything else raises #GP, as an MSR the CPU does not implement would
 * (SDM Vol. 3C 2.1 / RDMSR, WRMSR: "#GP(0) if ECX specifies a reserved or
 * unimplemented MSR address"), and is logged once per MSR per VM. */
#include "dev/pvclock.h"
#include "kernel/console.h"
#include "kernel/x86.h"
#include "vmm/cpuid.h"
#include "vmm/msr.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

#define MISC_ENABLE_FAST_STRINGS 1ull
#define MTRR_DEF_TYPE_VALID (0xFFull | (3ull << 10))   /* type, FE, E */

/* EFER bits a guest may set: those the (virtual) CPU reports (SDM Vol. 3A 2.2.1). */
static uint64_t efer_writable(struct vcpu *v)
{
    uint32_t r[4];
    uint64_t ok = 0;
    cpuid_guest(v, 0x80000001u, 0, r);
    if (r[3] & (1u << 11)) ok |= EFER_SCE;       /* SYSCALL */
    if (r[3] & (1u << 29)) ok |= EFER_LME;       /* long mode */
    if (r[3] & (1u << 20)) ok |= EFER_NXE;       /* NX */
    if (r[3] & (1u << 25)) ok |= EFER_FFXSR;     /* FFXSR (AMD) */
    return ok | EFER_LMA;                        /* LMA: written value ignored */
}

/* PAT: each of the 8 entries must be a valid memory type (0,1,4,5,6,7). */
static bool pat_valid(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (pat >> (8 * i)) & 0xFF;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

static void log_once(struct vcpu *v, uint32_t index, bool write)
{
    struct vm *vm = v->vm;
    for (unsigned i = 0; i < vm->nmsr_logged; i++)
        if (vm->msr_logged[i] == index)
            return;
    /* Bounded: a guest probing every index must not flood the console. */
    if (vm->nmsr_logged == VM_MSR_LOG_MAX)
        return;
    vm->msr_logged[vm->nmsr_logged++] = index;
    kprintf("hv86: vm %s: %s of unknown MSR %#x: #GP%s\n", vm->name, write ? "wrmsr" : "rdmsr",
            index, vm->nmsr_logged == VM_MSR_LOG_MAX ? " (further ones not logged)" : "");
}


bool msr_guest_read(struct vcpu *v, uint32_t index, uint64_t *val)
{
    /* A device model's MSR (the APIC's, kvm-clock's) first. */
    enum bus_result dev = bus_access(&v->vm->bus, BUS_MSR, v, index, 8, false, val);
    if (dev != BUS_UNCLAIMED)
        return dev == BUS_OK;
    /* Only the MSRs the guest's CPUID implies exist (vmm/policy/msr_model.c). */
    if (!msr_model_exists(&v->vm->cpuid, index)) {
        log_once(v, index, false);
        return false;
    }
    switch (msr_model_read(&v->vm->cpuid, &v->vm->msr[v->id], index, val)) {
    case MSR_MODEL_OK: return true;
    case MSR_MODEL_GP: return false;
    case MSR_MODEL_NOT_MINE: break;
    }
    switch (index) {
    case MSR_EFER: *val = vcpu_get(v, REG_EFER); return true;
    case MSR_PAT: *val = vcpu_get(v, REG_PAT); return true;
    case MSR_SYSENTER_CS: *val = vcpu_get(v, REG_SYSENTER_CS); return true;
    case MSR_SYSENTER_ESP: *val = vcpu_get(v, REG_SYSENTER_ESP); return true;
    case MSR_SYSENTER_EIP: *val = vcpu_get(v, REG_SYSENTER_EIP); return true;
    case MSR_TSC: *val = rdtsc() + v->tsc_offset; return true;
    case MSR_TSC_AUX: *val = v->tsc_aux; return true;
    case MSR_MTRRCAP: *val = 0; return true;               /* no MTRRs offered */
    case MSR_MTRR_DEF_TYPE: *val = v->mtrr_def_type; return true;
    case MSR_MISC_ENABLE: *val = MISC_ENABLE_FAST_STRINGS; return true;
    case MSR_AMD64_NB_CFG: *val = 0; return true;          /* no northbridge options */
    /* Machine-check architecture (SDM Vol. 3B 16.3.1) with no error-reporting banks:
     * MCG_CAP.Count = 0 and no MCG_CTL, so there is nothing to report or configure. */
    case MSR_MCG_CAP: *val = 0; return true;               /* 0 banks, no MCG_CTL */
    case MSR_MCG_STATUS: *val = 0; return true;            /* no machine check in progress */
    }
    log_once(v, index, false);
    return false;
}

/* WRMSR IA32_TSC: this vCPU's TSC reads val from now on and counts on from there
 * (SDM Vol. 3B 18.17), the host's through the offset the hardware adds. Its
 * kvm-clock area, if enabled, must give its reference in the new TSC: writing the
 * device's MSR again with the value it holds writes the area anew (vmm/kvmclock.c). */
static void tsc_write(struct vcpu *v, uint64_t val)
{
    v->tsc_offset = val - rdtsc();
    vmm->set_tsc_offset(v, v->tsc_offset);
    uint64_t area;
    if (bus_access(&v->vm->bus, BUS_MSR, v, MSR_KVM_SYSTEM_TIME_NEW, 8, false, &area) == BUS_OK &&
        (area & KVM_SYSTEM_TIME_ENABLE))
        bus_access(&v->vm->bus, BUS_MSR, v, MSR_KVM_SYSTEM_TIME_NEW, 8, true, &area);
}

/* RDTSCP and RDPID read IA32_TSC_AUX from the hardware in the guest; neither the
 * VMCB nor the VMCS switches it. So each turn loads the vCPU's own, wherever the
 * CPU has the MSR, even for a guest that is not offered RDTSCP (AMD runs RDTSCP
 * whatever the guest's CPUID says): no VM reads another's value. */
void msr_switch_to(struct vcpu *v)
{
    static int host_has = -1;          /* the same on every CPU: a race is harmless */
    if (host_has < 0) {
        uint32_t a, b, c, d, e1d = 0, l7c = 0;
        cpuid(0x80000000u, 0, &a, &b, &c, &d);
        if (a >= 0x80000001u)
            cpuid(0x80000001u, 0, &a, &b, &c, &e1d);
        cpuid(0, 0, &a, &b, &c, &d);
        if (a >= 7)
            cpuid(7, 0, &a, &b, &l7c, &d);
        host_has = (e1d & CPUID_80000001_EDX_RDTSCP) || (l7c & CPUID_7_ECX_RDPID);
    }
    if (host_has)
        wrmsr(MSR_TSC_AUX, v->tsc_aux);
}

bool msr_guest_write(struct vcpu *v, uint32_t index, uint64_t val)
{
    enum bus_result dev = bus_access(&v->vm->bus, BUS_MSR, v, index, 8, true, &val);
    if (dev != BUS_UNCLAIMED)
        return dev == BUS_OK;
    if (!msr_model_exists(&v->vm->cpuid, index)) {
        log_once(v, index, true);
        return false;
    }
    switch (msr_model_write(&v->vm->cpuid, &v->vm->msr[v->id], index, val)) {
    case MSR_MODEL_OK: return true;
    case MSR_MODEL_GP: return false;
    case MSR_MODEL_NOT_MINE: break;
    }
    switch (index) {
    case MSR_EFER: {
        uint64_t old = vcpu_get(v, REG_EFER);
        if (val & ~efer_writable(v))
            break;
        /* LME may not change while paging is on (SDM Vol. 3A 9.8.5). */
        if ((vcpu_get(v, REG_CR0) & CR0_PG) && ((val ^ old) & EFER_LME))
            break;
        vcpu_set(v, REG_EFER, (val & ~EFER_LMA) | (old & EFER_LMA));
        return true;
    }
    case MSR_PAT:
        if (!pat_valid(val))
            break;
        vcpu_set(v, REG_PAT, val);
        return true;
    case MSR_SYSENTER_CS: vcpu_set(v, REG_SYSENTER_CS, val); return true;
    case MSR_SYSENTER_ESP: vcpu_set(v, REG_SYSENTER_ESP, val); return true;
    case MSR_SYSENTER_EIP: vcpu_set(v, REG_SYSENTER_EIP, val); return true;
    case MSR_MTRR_DEF_TYPE:
        if (val & ~MTRR_DEF_TYPE_VALID)
            break;
        v->mtrr_def_type = val;
        return true;
    case MSR_MISC_ENABLE:
        return val == MISC_ENABLE_FAST_STRINGS;
    case MSR_AMD64_NB_CFG:
        /* Linux on AMD family 10h+ sets EnableCf8ExtCfg (bit 46) with a plain
         * WRMSR; the extended CF8 config access it enables is not offered (the
         * ECAM window is), so the write is accepted and has no effect, as KVM does. */
        return true;
    case MSR_MCG_STATUS:
        return val == 0;     /* only clearing it is meaningful (SDM Vol. 3B 16.3.1.2) */
    case MSR_TSC:
        tsc_write(v, val);
        return true;
    case MSR_TSC_AUX:
        /* 32 bits: Intel raises #GP for bits 63:32, AMD drops them (as KVM). */
        if ((val >> 32) && !v->vm->cpuid.amd)
            break;
        v->tsc_aux = (uint32_t)val;
        wrmsr(MSR_TSC_AUX, v->tsc_aux);     /* v runs on this CPU now */
        return true;
    case MSR_MTRRCAP:
    case MSR_MCG_CAP:        /* read-only */
        break;
    default:
        log_once(v, index, true);
        return false;
    }
    return false;
}
