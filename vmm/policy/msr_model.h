/* Which MSRs a guest has, from its CPU model (vmm/policy/cpuid_model.h), and the
 * MSRs with no more behaviour than a stored value or a constant: AMD's legacy
 * performance counters, the microcode revision, the platform ID (docs/msr.md).
 * vmm/msr.c asks msr_model_exists() before its own table, so an MSR exists exactly
 * when the CPUID the guest sees implies it. Pure code, tests/unit/test_cpuid_model.c. */
#ifndef VMM_POLICY_MSR_MODEL_H
#define VMM_POLICY_MSR_MODEL_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/policy/cpuid_model.h"

#define MSR_AMD_PERFEVTSEL0 0xC0010000u   /* K7 legacy counters: 4 selects, */
#define MSR_AMD_PERFCTR0    0xC0010004u   /* then 4 counters (APM Vol. 2 13.2.1) */
#define MSR_AMD_PMU_COUNTERS 4
#define MSR_BIOS_SIGN_ID    0x0000008Bu   /* Intel IA32_BIOS_SIGN_ID, AMD PATCH_LEVEL */
#define MSR_PLATFORM_ID     0x00000017u   /* Intel IA32_PLATFORM_ID */

/* One vCPU's state of the MSRs here. */
struct msr_model_vcpu {
    uint64_t perfevtsel[MSR_AMD_PMU_COUNTERS], perfctr[MSR_AMD_PMU_COUNTERS];
};

enum msr_model_result { MSR_MODEL_NOT_MINE, MSR_MODEL_OK, MSR_MODEL_GP };

/* Does MSR index exist for a guest with CPU model m: claimed by a device the
 * model offers, switched by the hardware, in vmm/msr.c's table or handled here? */
bool msr_model_exists(const struct cpuid_model *m, uint32_t index);

/* The MSRs the features m offers imply (SDM Vol. 4, APM Vol. 2 App. A), into
 * out[0..max); returns how many there are. For the tests: each must exist. */
unsigned msr_model_implied(const struct cpuid_model *m, uint32_t *out, unsigned max);

/* RDMSR/WRMSR of the MSRs handled here; MSR_MODEL_NOT_MINE for the others. */
enum msr_model_result msr_model_read(const struct cpuid_model *m, const struct msr_model_vcpu *s,
                                     uint32_t index, uint64_t *val);
enum msr_model_result msr_model_write(const struct cpuid_model *m, struct msr_model_vcpu *s,
                                      uint32_t index, uint64_t val);
#endif
