/* Speculative-execution controls: the CPUID bits that enumerate them and their
 * MSRs. Intel: SDM Vol. 2A CPUID leaf 07H EDX, Vol. 4 (IA32_SPEC_CTRL 48H,
 * IA32_PRED_CMD 49H, IA32_ARCH_CAPABILITIES 10AH, IA32_FLUSH_CMD 10BH) and Intel's
 * "Speculative Execution Side Channel Mitigations" / "Deep dives" guidance. AMD:
 * APM Vol. 3 CPUID Fn8000_0008 EBX and AMD's "Software techniques for managing
 * speculation on AMD processors". */
#ifndef ARCH_SPEC_CTRL_H
#define ARCH_SPEC_CTRL_H

#define CPUID_LEAF_EXT_FEATURES   0x7u                /* sub-leaf 0 */
#define CPUID_7_EDX_MD_CLEAR      (1u << 10)          /* VERW overwrites CPU buffers */
#define CPUID_7_EDX_IBRS_IBPB     (1u << 26)          /* IA32_SPEC_CTRL.IBRS and IA32_PRED_CMD */
#define CPUID_7_EDX_STIBP         (1u << 27)
#define CPUID_7_EDX_L1D_FLUSH     (1u << 28)          /* IA32_FLUSH_CMD */
#define CPUID_7_EDX_ARCH_CAPS     (1u << 29)          /* IA32_ARCH_CAPABILITIES */
#define CPUID_7_EDX_SSBD          (1u << 31)

#define CPUID_80000008_EBX_IBPB   (1u << 12)
#define CPUID_80000008_EBX_IBRS   (1u << 14)
#define CPUID_80000008_EBX_STIBP  (1u << 15)
#define CPUID_80000008_EBX_SSBD   (1u << 24)
#define CPUID_80000008_EBX_VIRT_SSBD (1u << 25)       /* MSR_VIRT_SPEC_CTRL */

#define MSR_IA32_SPEC_CTRL        0x00000048u
#define MSR_IA32_PRED_CMD         0x00000049u
#define PRED_CMD_IBPB             (1ull << 0)
#define MSR_IA32_ARCH_CAPABILITIES 0x0000010Au
#define MSR_IA32_FLUSH_CMD        0x0000010Bu
#define FLUSH_CMD_L1D             (1ull << 0)

/* IA32_ARCH_CAPABILITIES bits (SDM Vol. 4, table 2-2). */
#define ARCH_CAP_RDCL_NO          (1ull << 0)         /* not affected by Meltdown / L1TF */
#define ARCH_CAP_IBRS_ALL         (1ull << 1)         /* enhanced IBRS */
#define ARCH_CAP_RSBA             (1ull << 2)         /* RET may use the BTB when the RSB is empty */
#define ARCH_CAP_SKIP_L1DFL_VMENTRY (1ull << 3)       /* no L1D flush needed on VM entry */
#define ARCH_CAP_SSB_NO           (1ull << 4)
#define ARCH_CAP_MDS_NO           (1ull << 5)
#define ARCH_CAP_TAA_NO           (1ull << 8)
#define ARCH_CAP_PBRSB_NO         (1ull << 24)        /* no post-barrier RSB predictions */

#endif
