/* See spec_ctrl.h. The rules, per barrier (docs/security.md):
 * - IBPB on a switch to another VM's vCPU (Spectre v2 / branch target injection
 *   between guests): whenever the CPU has IA32_PRED_CMD (Intel leaf 7 EDX[26], AMD
 *   8000_0008 EBX[12]). Enhanced IBRS does not separate two guests, which run at
 *   the same predictor mode, so it does not waive IBPB.
 * - RSB filling after each exit (a guest's return addresses predicted for hv86's
 *   RETs): on a CPU with branch-prediction controls unless it has enhanced IBRS
 *   (IBRS_ALL) without RSBA and without the post-barrier RSB issue (PBRSB_NO).
 *   A CPU that enumerates no speculation control at all (an emulator, or
 *   microcode from before 2018) gets nothing: hv86 could not do the rest either,
 *   and the boot line says so.
 * - L1D flush before entry (L1TF, Intel only): unless RDCL_NO or
 *   SKIP_L1DFL_VMENTRY; needs IA32_FLUSH_CMD (leaf 7 EDX[28]), else "missing".
 * - VERW before entry (MDS, TAA, Intel only): with MD_CLEAR, unless MDS_NO and
 *   TAA_NO; not when the L1D flush runs, which also overwrites the fill buffers
 *   (Intel's MDS guidance: "L1D_FLUSH ... also clears the buffers").
 * - IA32_SPEC_CTRL per vCPU: only if guests may write it; hv86 keeps the host's
 *   value otherwise (guests see no such MSR). */
#include "vmm/policy/spec_ctrl.h"
#include "arch/spec_ctrl.h"

void spec_plan_for(const struct spec_cpu *c, struct spec_plan *p)
{
    uint32_t d = c->leaf7_edx, b = c->ext8_ebx;
    uint64_t caps = (d & CPUID_7_EDX_ARCH_CAPS) ? c->arch_caps : 0;
    *p = (struct spec_plan){
        .has_ibpb = (d & CPUID_7_EDX_IBRS_IBPB) || (b & CPUID_80000008_EBX_IBPB),
        .has_ibrs = (d & CPUID_7_EDX_IBRS_IBPB) || (b & CPUID_80000008_EBX_IBRS),
        .has_stibp = (d & CPUID_7_EDX_STIBP) || (b & CPUID_80000008_EBX_STIBP),
        .has_ssbd = (d & CPUID_7_EDX_SSBD) ||
                    (b & (CPUID_80000008_EBX_SSBD | CPUID_80000008_EBX_VIRT_SSBD)),
        .has_l1d_flush = d & CPUID_7_EDX_L1D_FLUSH,
        .has_md_clear = d & CPUID_7_EDX_MD_CLEAR,
        .has_arch_caps = d & CPUID_7_EDX_ARCH_CAPS,
    };
    bool controls = p->has_ibpb || p->has_ibrs || p->has_stibp || p->has_ssbd ||
                    p->has_l1d_flush || p->has_md_clear || p->has_arch_caps;
    if (!controls)
        return;
    p->ibpb_on_switch = p->has_ibpb;
    p->ibpb_missing = !p->has_ibpb;
    bool eibrs_rsb_safe = (caps & ARCH_CAP_IBRS_ALL) && !(caps & ARCH_CAP_RSBA) &&
                          (caps & ARCH_CAP_PBRSB_NO);
    p->rsb_fill_on_exit = !eibrs_rsb_safe;
    if (c->intel) {
        bool l1tf = !(caps & (ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_L1DFL_VMENTRY));
        p->l1d_flush_on_entry = l1tf && p->has_l1d_flush;
        p->l1d_flush_missing = l1tf && !p->has_l1d_flush;
        bool mds = !((caps & ARCH_CAP_MDS_NO) && (caps & ARCH_CAP_TAA_NO));
        p->verw_on_entry = mds && p->has_md_clear && !p->l1d_flush_on_entry;
    }
    p->spec_ctrl_per_vcpu = c->guest_spec_ctrl && (p->has_ibrs || p->has_stibp || p->has_ssbd);
    p->entry_exit = p->rsb_fill_on_exit || p->l1d_flush_on_entry || p->verw_on_entry ||
                    p->spec_ctrl_per_vcpu;
}
