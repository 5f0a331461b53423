/* Speculative-execution isolation between VMs and hv86, as a pure decision: the
 * host CPU's enumeration in, the barriers hv86 must use out (docs/security.md
 * has the table: what each one protects against, when it runs, the references).
 * Pure code, tests/unit/test_spec_ctrl.c; vmm/spec.c reads the CPU and applies it. */
#ifndef VMM_POLICY_SPEC_CTRL_H
#define VMM_POLICY_SPEC_CTRL_H
#include <stdbool.h>
#include <stdint.h>

struct spec_cpu {
    bool intel;                 /* vendor GenuineIntel (L1TF, MDS, TAA are Intel's) */
    uint32_t leaf7_edx;         /* CPUID.(EAX=7,ECX=0):EDX, 0 if leaf 7 is absent */
    uint32_t ext8_ebx;          /* CPUID.80000008H:EBX, 0 if absent */
    uint64_t arch_caps;         /* IA32_ARCH_CAPABILITIES, 0 if not enumerated */
    bool guest_spec_ctrl;       /* guests may write IA32_SPEC_CTRL (hv86: never so far) */
};

struct spec_plan {
    /* What the CPU offers. */
    bool has_ibpb, has_ibrs, has_stibp, has_ssbd, has_l1d_flush, has_md_clear, has_arch_caps;
    /* What hv86 does. */
    bool ibpb_on_switch;        /* WRMSR IA32_PRED_CMD.IBPB when a CPU takes a vCPU of another VM */
    bool rsb_fill_on_exit;      /* overwrite the RSB after every VM exit */
    bool l1d_flush_on_entry;    /* WRMSR IA32_FLUSH_CMD.L1D before every VM entry */
    bool verw_on_entry;         /* VERW (MD_CLEAR) before every VM entry */
    bool spec_ctrl_per_vcpu;    /* load each vCPU's IA32_SPEC_CTRL around entry and exit */
    /* Needed but the CPU offers no way (old microcode): named in the boot line. */
    bool l1d_flush_missing, ibpb_missing;
    bool entry_exit;            /* any of the per-entry/exit barriers */
};

void spec_plan_for(const struct spec_cpu *c, struct spec_plan *p);

#endif
