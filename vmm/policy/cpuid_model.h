/* The VM's CPU model: an allow-list, like KVM's "supported CPUID" (docs/cpuid.md).
 * Per leaf, subleaf and register, the bits hv86 offers because it virtualizes
 * everything they imply (instructions, MSRs, XSAVE state, exits); the host's value
 * is the upper bound (host & allowed), never the source of a bit outside the list,
 * and a VM's config may narrow it further. Leaves the model does not know read as
 * zero; the highest basic and extended leaves are clamped to the model's.
 *
 * Built once per VM (cpuid_model_build, from the host's CPUID through a callback);
 * each CPUID exit is then a table look-up plus the vCPU's own fields
 * (cpuid_model_answer). Pure code, tests/unit/test_cpuid_model.c. */
#ifndef VMM_POLICY_CPUID_MODEL_H
#define VMM_POLICY_CPUID_MODEL_H
#include <stdbool.h>
#include <stdint.h>
#include "arch/cpuid_features.h"

#define CPUID_MODEL_MAX_BASIC 0x16u          /* the highest basic leaf offered */
#define CPUID_MODEL_EXT_BASE  0x80000000u
#define CPUID_MODEL_MAX_EXT   0x80000008u    /* the highest extended leaf offered */
#define CPUID_MODEL_CACHE_SUBLEAVES 8        /* leaf 4: cache levels kept */
#define CPUID_MODEL_LEAF7_SUBLEAVES 2        /* leaf 7: subleaves 0 and 1 */
#define CPUID_MODEL_XSAVE_SUBLEAVES 8        /* leaf 0xD: x87 .. Hi16_ZMM */

/* The host's CPUID(leaf, sub) -> EAX, EBX, ECX, EDX (a test passes its own). */
typedef void (*cpuid_host_fn)(uint32_t leaf, uint32_t sub, uint32_t out[4]);

struct cpuid_model {
    uint32_t max_basic, max_ext;     /* what leaf 0 and 0x80000000 say */
    uint32_t basic[CPUID_MODEL_MAX_BASIC + 1][4];
    uint32_t ext[CPUID_MODEL_MAX_EXT - CPUID_MODEL_EXT_BASE + 1][4];
    uint32_t cache[CPUID_MODEL_CACHE_SUBLEAVES][4];   /* leaf 4 */
    uint32_t leaf7[CPUID_MODEL_LEAF7_SUBLEAVES][4];
    uint32_t xsave[CPUID_MODEL_XSAVE_SUBLEAVES][4];   /* leaf 0xD */
    uint64_t xcr0;                   /* the XCR0 components offered */
    unsigned ncpus;                  /* the VM's vCPUs: one package of ncpus cores */
    bool amd;                        /* vendor AuthenticAMD or HygonGenuine */
};

/* What a VM's configuration says: its vCPUs, whether it runs under shadow paging
 * (no PCID then), and the bits its `cpu = host,-NAME` removes (NULL: none). */
struct cpuid_model_params {
    unsigned ncpus;
    bool shadow;
    const uint32_t *clear;           /* [CPUID_WORDS] */
};

void cpuid_model_build(struct cpuid_model *m, cpuid_host_fn host,
                       const struct cpuid_model_params *p);

/* CPUID(leaf, sub) for the vCPU whose APIC ID is apic_id and whose XCR0 is xcr0.
 * Not the hypervisor range 0x40000000-0x4FFFFFFF (vmm/cpuid.c answers that) nor
 * CPUID.1:ECX.OSXSAVE, which is the guest's CR4.OSXSAVE (the caller sets it). */
void cpuid_model_answer(const struct cpuid_model *m, uint32_t leaf, uint32_t sub,
                        uint32_t apic_id, uint64_t xcr0, uint32_t out[4]);

/* The basic leaves cpuid_model_answer computes (subleaves, per-vCPU fields). */
#define CPUID_MODEL_COMPUTED ((1u << 1) | (1u << 4) | (1u << 7) | (1u << 0xB) | (1u << 0xD))

/* The CPUID exit's fast path: a basic leaf that is the same for every vCPU and
 * subleaf is a copy from the table (true); false: ask cpuid_model_answer. */
static inline bool cpuid_model_plain(const struct cpuid_model *m, uint32_t leaf,
                                     uint32_t out[4])
{
    if (leaf > m->max_basic || ((CPUID_MODEL_COMPUTED >> leaf) & 1))
        return false;
    __builtin_memcpy(out, m->basic[leaf], sizeof m->basic[leaf]);
    return true;
}

/* The model's value of one feature word (for tests and the MSR policy). */
uint32_t cpuid_model_word(const struct cpuid_model *m, enum cpuid_word w);

/* The allow-list of a word: the bits the model may take from the host, and the
 * bits hv86 provides whatever the host (x2APIC, TSC-deadline, hypervisor, ARAT,
 * HTT). Neither depends on the host. */
uint32_t cpuid_model_allowed(enum cpuid_word w, bool shadow);
uint32_t cpuid_model_forced(enum cpuid_word w);

#endif
