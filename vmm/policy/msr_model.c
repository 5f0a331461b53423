/* Which MSRs exist for a CPU model, and the simplest of them (vmm/policy/msr_model.h,
 * docs/msr.md). */
#include "arch/x86.h"
#include "vmm/policy/msr_model.h"

#define B(n) (1u << (n))
#define L1_EDX_TSC B(4)
#define L1_EDX_MCE B(7)
#define L1_EDX_APIC B(9)
#define L1_EDX_SEP B(11)
#define L1_EDX_MTRR B(12)
#define L1_EDX_MCA B(14)
#define L1_EDX_PAT B(16)
#define E1_EDX_SYSCALL B(11)
#define E1_EDX_NX B(20)
#define E1_EDX_LM B(29)
#define MSR_TSC_DEADLINE 0x6E0u
#define MSR_X2APIC_FIRST 0x800u
#define MSR_X2APIC_LAST 0x8FFu
/* PerfEvtSeln's reserved bits (APM Vol. 2 13.2.1.1: 63:42, 39:36, 21, 19), as KVM. */
#define AMD_PERFEVTSEL_RESERVED 0xFFFFFCF000280000ull
#define AMD_PERFCTR_MASK ((1ull << 48) - 1)     /* 48-bit counters */
/* The microcode revision a guest reads: KVM's (1 in bits 63:32 on Intel, SDM Vol. 3A
 * 10.11.7; AMD's patch level in bits 31:0). */
#define UCODE_REV_INTEL (1ull << 32)
#define UCODE_REV_AMD 0x01000065ull

static uint32_t w(const struct cpuid_model *m, enum cpuid_word x)
{
    return cpuid_model_word(m, x);
}

static bool amd_pmu(const struct cpuid_model *m, uint32_t index)
{
    return m->amd && index >= MSR_AMD_PERFEVTSEL0 &&
           index < MSR_AMD_PERFCTR0 + MSR_AMD_PMU_COUNTERS;
}

/* IA32_TSC_AUX: what RDTSCP and RDPID read. */
static bool tsc_aux_offered(const struct cpuid_model *m)
{
    return (w(m, CPUID_W_80000001_EDX) & CPUID_80000001_EDX_RDTSCP) ||
           (w(m, CPUID_W_7_0_ECX) & CPUID_7_ECX_RDPID);
}

bool msr_model_exists(const struct cpuid_model *m, uint32_t index)
{
    uint32_t d1 = w(m, CPUID_W_1_EDX), c1 = w(m, CPUID_W_1_ECX);
    uint32_t e1 = w(m, CPUID_W_80000001_EDX);
    switch (index) {
    case MSR_TSC: return d1 & L1_EDX_TSC;
    case MSR_APIC_BASE: return d1 & L1_EDX_APIC;
    case MSR_SYSENTER_CS: case MSR_SYSENTER_ESP: case MSR_SYSENTER_EIP:
        return d1 & L1_EDX_SEP;
    case MSR_MTRRCAP: case MSR_MTRR_DEF_TYPE: return d1 & L1_EDX_MTRR;
    case MSR_MCG_CAP: case MSR_MCG_STATUS: return d1 & (L1_EDX_MCE | L1_EDX_MCA);
    case MSR_PAT: return d1 & L1_EDX_PAT;
    case MSR_TSC_DEADLINE: return c1 & CPUID_1_ECX_TSC_DEADLINE;
    /* 64-bit guests only: EFER always (hv86 boots guests in long mode). */
    case MSR_EFER: return true;
    case MSR_STAR: return e1 & (E1_EDX_SYSCALL | E1_EDX_LM);
    case MSR_LSTAR: case MSR_CSTAR: case MSR_SFMASK:
    case MSR_FS_BASE: case MSR_GS_BASE: case MSR_KERNEL_GS_BASE:
        return e1 & E1_EDX_LM;
    /* Every family-6-on Intel CPU and hv86 on both vendors (fast strings). */
    case MSR_MISC_ENABLE: return true;
    case MSR_BIOS_SIGN_ID: return true;
    case MSR_PLATFORM_ID: return !m->amd;
    case MSR_AMD64_NB_CFG: return m->amd;
    case MSR_KVM_WALL_CLOCK_NEW: case MSR_KVM_SYSTEM_TIME_NEW: return true;
    case MSR_TSC_AUX: return tsc_aux_offered(m);
    }
    if (index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST)
        return c1 & CPUID_1_ECX_X2APIC;
    return amd_pmu(m, index);
}

unsigned msr_model_implied(const struct cpuid_model *m, uint32_t *out, unsigned max)
{
    uint32_t d1 = w(m, CPUID_W_1_EDX), c1 = w(m, CPUID_W_1_ECX);
    uint32_t e1 = w(m, CPUID_W_80000001_EDX);
    unsigned n = 0;
#define ADD(x) do { if (n < max) out[n] = (x); n++; } while (0)
    if (d1 & L1_EDX_TSC) ADD(MSR_TSC);
    if (d1 & L1_EDX_APIC) ADD(MSR_APIC_BASE);
    if (d1 & L1_EDX_SEP) { ADD(MSR_SYSENTER_CS); ADD(MSR_SYSENTER_ESP); ADD(MSR_SYSENTER_EIP); }
    if (d1 & L1_EDX_MTRR) { ADD(MSR_MTRRCAP); ADD(MSR_MTRR_DEF_TYPE); }
    if (d1 & L1_EDX_MCA) { ADD(MSR_MCG_CAP); ADD(MSR_MCG_STATUS); }
    if (d1 & L1_EDX_PAT) ADD(MSR_PAT);
    if (c1 & CPUID_1_ECX_TSC_DEADLINE) ADD(MSR_TSC_DEADLINE);
    if (c1 & CPUID_1_ECX_X2APIC) { ADD(0x802u); ADD(0x803u); ADD(0x80Fu); ADD(0x830u); }
    if (e1 & (E1_EDX_SYSCALL | E1_EDX_NX | E1_EDX_LM)) ADD(MSR_EFER);
    if (e1 & E1_EDX_SYSCALL) ADD(MSR_STAR);
    if (e1 & E1_EDX_LM) {
        ADD(MSR_LSTAR); ADD(MSR_CSTAR); ADD(MSR_SFMASK);
        ADD(MSR_FS_BASE); ADD(MSR_GS_BASE); ADD(MSR_KERNEL_GS_BASE);
    }
    if (tsc_aux_offered(m))
        ADD(MSR_TSC_AUX);
    ADD(MSR_BIOS_SIGN_ID);            /* read by Linux and kvm-unit-tests at start-up */
    if (m->amd) {
        for (uint32_t i = 0; i < 2 * MSR_AMD_PMU_COUNTERS; i++)
            ADD(MSR_AMD_PERFEVTSEL0 + i);  /* every AMD64 CPU, no CPUID bit (APM Vol. 2 13.2) */
    } else {
        ADD(MSR_MISC_ENABLE);
        ADD(MSR_PLATFORM_ID);
    }
    /* The kvm-clock MSRs the KVM leaf 0x40000101 offers (vmm/cpuid.c). */
    ADD(MSR_KVM_WALL_CLOCK_NEW);
    ADD(MSR_KVM_SYSTEM_TIME_NEW);
#undef ADD
    return n;
}

enum msr_model_result msr_model_read(const struct cpuid_model *m, const struct msr_model_vcpu *s,
                                     uint32_t index, uint64_t *val)
{
    if (amd_pmu(m, index)) {
        uint32_t i = index - MSR_AMD_PERFEVTSEL0;
        *val = i < MSR_AMD_PMU_COUNTERS ? s->perfevtsel[i]
                                        : s->perfctr[i - MSR_AMD_PMU_COUNTERS];
        return MSR_MODEL_OK;
    }
    switch (index) {
    case MSR_BIOS_SIGN_ID:
        *val = m->amd ? UCODE_REV_AMD : UCODE_REV_INTEL;
        return MSR_MODEL_OK;
    case MSR_PLATFORM_ID:
        if (m->amd)
            return MSR_MODEL_GP;
        *val = 0;                     /* platform 0 (bits 52:50) */
        return MSR_MODEL_OK;
    }
    return MSR_MODEL_NOT_MINE;
}

enum msr_model_result msr_model_write(const struct cpuid_model *m, struct msr_model_vcpu *s,
                                      uint32_t index, uint64_t val)
{
    if (amd_pmu(m, index)) {
        uint32_t i = index - MSR_AMD_PERFEVTSEL0;
        if (i < MSR_AMD_PMU_COUNTERS) {
            if (val & AMD_PERFEVTSEL_RESERVED)
                return MSR_MODEL_GP;
            s->perfevtsel[i] = val;
        } else {
            s->perfctr[i - MSR_AMD_PMU_COUNTERS] = val & AMD_PERFCTR_MASK;
        }
        return MSR_MODEL_OK;
    }
    switch (index) {
    case MSR_BIOS_SIGN_ID:
        return MSR_MODEL_OK;          /* a microcode update request: ignored */
    case MSR_PLATFORM_ID:
        return MSR_MODEL_GP;          /* read-only */
    }
    return MSR_MODEL_NOT_MINE;
}
