/* Architectural x86-64 facts, once, for every file (pure or not): control-register,
 * EFER, RFLAGS, paging-entry and segment-attribute bits, MSR indices, CPUID leaves
 * and bits, exception vectors, and tiny pure helpers on them (Intel SDM, AMD APM).
 * Header only, no inline assembly: kernel/x86.h adds the instruction wrappers.
 * Vendor encodings (VMCS fields, VMCB layout) live in vmm/vmx/vmx_defs.h and
 * vmm/svm/svm_defs.h. Also included by assembly (boot/entry.S, kernel/ap_boot.S).
 *
 * Types: bits below 32 are unsigned int, higher ones unsigned long long. Before
 * complementing a sub-32-bit constant to clear it in a 64-bit value, widen it first:
 * `x & ~(uint64_t)CR4_PAE` (a plain `~CR4_PAE` also clears bits 63:32). */
#ifndef ARCH_X86_H
#define ARCH_X86_H

/* CR0 (SDM Vol. 3A 2.5) */
#define CR0_PE  (1u << 0)
#define CR0_MP  (1u << 1)
#define CR0_EM  (1u << 2)
#define CR0_TS  (1u << 3)
#define CR0_ET  (1u << 4)
#define CR0_NE  (1u << 5)
#define CR0_WP  (1u << 16)
#define CR0_AM  (1u << 18)
#define CR0_NW  (1u << 29)
#define CR0_CD  (1u << 30)
#define CR0_PG  (1u << 31)

/* CR3, CR4 (SDM Vol. 3A 2.5, 4.10.4.1) */
#define CR3_PCID_NOFLUSH (1ull << 63)   /* MOV to CR3 with CR4.PCIDE: keep translations */
#define CR4_VME        (1u << 0)
#define CR4_PVI        (1u << 1)
#define CR4_TSD        (1u << 2)
#define CR4_DE         (1u << 3)
#define CR4_PSE        (1u << 4)
#define CR4_PAE        (1u << 5)
#define CR4_MCE        (1u << 6)
#define CR4_PGE        (1u << 7)
#define CR4_PCE        (1u << 8)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_UMIP       (1u << 11)
#define CR4_LA57       (1u << 12)
#define CR4_VMXE       (1u << 13)
#define CR4_SMXE       (1u << 14)
#define CR4_FSGSBASE   (1u << 16)
#define CR4_PCIDE      (1u << 17)
#define CR4_OSXSAVE    (1u << 18)
#define CR4_SMEP       (1u << 20)
#define CR4_SMAP       (1u << 21)
#define CR4_PKE        (1u << 22)

/* RFLAGS (SDM Vol. 1 3.4.3) */
#define RFLAGS_CF   (1u << 0)
#define RFLAGS_FIXED (1u << 1)   /* always 1 */
#define RFLAGS_PF   (1u << 2)
#define RFLAGS_AF   (1u << 4)
#define RFLAGS_ZF   (1u << 6)
#define RFLAGS_SF   (1u << 7)
#define RFLAGS_TF   (1u << 8)
#define RFLAGS_IF   (1u << 9)
#define RFLAGS_DF   (1u << 10)
#define RFLAGS_OF   (1u << 11)
#define RFLAGS_IOPL (3u << 12)
#define RFLAGS_RF   (1u << 16)   /* resume: no instruction-breakpoint #DB (SDM Vol. 3A 18.3.1.1) */
#define RFLAGS_VM   (1u << 17)
#define RFLAGS_AC   (1u << 18)   /* alignment check; SMAP override (SDM Vol. 3A 4.6) */

/* Debug registers (SDM Vol. 3A 18.2): DR0-DR3 breakpoint addresses, DR6 status,
 * DR7 control; their values at reset (18.2.3, 18.2.4; Table 10-1). */
#define DR6_B0_B3     0xFull
#define DR6_BD        (1ull << 13)
#define DR6_BS        (1ull << 14)
#define DR6_RTM       (1ull << 16)          /* active low */
#define DR6_FIXED_1   0xFFFF0FF0ull          /* reads as 1 (bits 4-11, 16-31) */
#define DR6_RESET     0xFFFF0FF0ull
#define DR7_RESET     0x400ull
#define DR7_FIXED_1   0x400ull
#define DR7_GD        (1ull << 13)

/* MSRs (SDM Vol. 4; AMD APM Vol. 2 App. A) */
#define MSR_TSC             0x00000010
#define MSR_APIC_BASE       0x0000001B
#define MSR_FEATURE_CONTROL 0x0000003A
#define MSR_MTRRCAP         0x000000FE
#define MSR_SYSENTER_CS     0x00000174
#define MSR_SYSENTER_ESP    0x00000175
#define MSR_SYSENTER_EIP    0x00000176
#define MSR_MCG_CAP         0x00000179
#define MSR_MCG_STATUS      0x0000017A
#define MSR_MISC_ENABLE     0x000001A0
#define MSR_PAT             0x00000277
#define MSR_MTRR_DEF_TYPE   0x000002FF
#define MSR_EFER            0xC0000080
#define MSR_STAR            0xC0000081
#define MSR_LSTAR           0xC0000082
#define MSR_CSTAR           0xC0000083
#define MSR_SFMASK          0xC0000084
#define MSR_FS_BASE         0xC0000100
#define MSR_GS_BASE         0xC0000101
#define MSR_KERNEL_GS_BASE  0xC0000102
#define MSR_TSC_AUX         0xC0000103   /* what RDTSCP and RDPID return (SDM Vol. 4 2.1) */
/* KVM's paravirtual clock MSRs (Linux Documentation/virt/kvm/x86/msr.rst), which
 * hv86 offers too (dev/pvclock.h, vmm/kvmclock.c) */
#define MSR_KVM_WALL_CLOCK_NEW  0x4B564D00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4B564D01u
#define MSR_AMD64_NB_CFG    0xC001001F   /* AMD northbridge configuration (BKDG fam 10h+) */

/* IA32_APIC_BASE (SDM Vol. 3A 11.4.4, 11.12.1) and the local APIC's default
 * physical address */
#define APIC_BASE_BSP     (1ull << 8)
#define APIC_BASE_EXTD    (1ull << 10)    /* x2APIC mode */
#define APIC_BASE_EN      (1ull << 11)
#define LAPIC_BASE        0xFEE00000u

/* EFER (SDM Vol. 3A 2.2.1, AMD APM Vol. 2 3.1.7) */
#define EFER_SCE   (1u << 0)
#define EFER_LME   (1u << 8)
#define EFER_LMA   (1u << 10)
#define EFER_NXE   (1u << 11)
#define EFER_SVME  (1u << 12)
#define EFER_LMSLE (1u << 13)
#define EFER_FFXSR (1u << 14)
#define EFER_TCE   (1u << 15)

/* XCR0 (SDM Vol. 1 13.3) */
#define XCR0_X87 (1u << 0)
#define XCR0_SSE (1u << 1)
#define XCR0_AVX (1u << 2)
#define XCR0_BNDREGS (1u << 3)     /* MPX */
#define XCR0_BNDCSR (1u << 4)
#define XCR0_OPMASK (1u << 5)      /* AVX-512 */
#define XCR0_ZMM_HI256 (1u << 6)
#define XCR0_HI16_ZMM (1u << 7)
#define XCR0_PKRU (1u << 9)
#define XCR0_XTILECFG (1u << 17)   /* AMX */
#define XCR0_XTILEDATA (1u << 18)

/* Paging (SDM Vol. 3A 4.3-4.5): entry bits, sizes, the level's index shift */
#define PTE_P   (1u << 0)
#define PTE_W   (1u << 1)
#define PTE_U   (1u << 2)
#define PTE_PWT (1u << 3)
#define PTE_PCD (1u << 4)
#define PTE_A   (1u << 5)
#define PTE_D   (1u << 6)
#define PTE_PS  (1u << 7)
#define PTE_G   (1u << 8)
#define PTE_NX  (1ull << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define PAGE_SIZE 4096ul
#define SIZE_2M   (2ull << 20)
#define SIZE_4M   (4ull << 20)         /* a 32-bit paging PDE with PS (CR4.PSE) */
#define PT_ENTRIES 512                 /* 8-byte entries per table (4.4, 4.5) */
#define PT_LEVEL_SHIFT(l) (12 + 9 * ((l) - 1))   /* level 1: 12, 2: 21, 3: 30, 4: 39 */

/* Segments: attributes in the packed form the VMCB uses (AMD APM Vol. 2 15.5.1),
 * descriptor bits 40-47 and 52-55 (SDM Vol. 3A 3.4.5): 0-3 type, 4 S, 5-6 DPL,
 * 7 P, 8 AVL, 9 L, 10 D/B, 11 G. */
#define SEG_ATTR_TYPE(t) ((t) & 0xf)
#define SEG_ATTR_S   (1u << 4)
#define SEG_ATTR_DPL(d) (((d) & 3) << 5)
#define SEG_ATTR_P   (1u << 7)
#define SEG_ATTR_AVL (1u << 8)
#define SEG_ATTR_L   (1u << 9)
#define SEG_ATTR_DB  (1u << 10)
#define SEG_ATTR_G   (1u << 11)
#define REAL_MODE_LIMIT 0xFFFFu        /* segment limit in real mode and at reset (9.1.4) */

/* Exception vectors (SDM Vol. 3A 6.3.1) */
#define EXC_DE 0
#define EXC_DB 1
#define EXC_NMI 2
#define EXC_BP 3
#define EXC_OF 4
#define EXC_BR 5
#define EXC_UD 6
#define EXC_NM 7
#define EXC_DF 8
#define EXC_TS 10
#define EXC_NP 11
#define EXC_SS 12
#define EXC_GP 13
#define EXC_PF 14
#define EXC_MF 16
#define EXC_AC 17
#define EXC_MC 18
#define EXC_XM 19

/* Opcodes in the 0F map (SDM Vol. 2 App. A) */
#define OP_MOV_FROM_CR 0x20            /* 0F 20 /r */
#define OP_MOV_TO_CR   0x22            /* 0F 22 /r */
#define OP_INVD        0x08            /* 0F 08 */
#define OP_WBINVD      0x09            /* 0F 09 */

/* CPUID leaves (SDM Vol. 2A CPUID; AMD APM Vol. 3 App. E) */
#define CPUID_LEAF_XSAVE      0xDu          /* ECX=0: EDX:EAX, the XCR0 components supported */
#define CPUID_LEAF_EXT_MAX    0x80000000u   /* EAX: the highest extended leaf */
#define CPUID_LEAF_ADDR_SIZES 0x80000008u   /* EAX[7:0]: MAXPHYADDR */
#define MAXPHYADDR_DEFAULT    36            /* without leaf 0x80000008 (SDM Vol. 3A 4.1.4) */

/* CPUID feature bits */
#define CPUID_1_ECX_MONITOR    (1u << 3)
#define CPUID_1_ECX_VMX        (1u << 5)
#define CPUID_1_ECX_PCID       (1u << 17)
#define CPUID_1_ECX_X2APIC     (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_XSAVE      (1u << 26)
#define CPUID_1_ECX_OSXSAVE    (1u << 27)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT        (1u << 28)   /* EBX[23:16] is valid */
#define CPUID_6_ECX_APERFMPERF (1u << 0)
#define CPUID_7_ECX_RDPID      (1u << 22)
#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_80000001_EDX_PAGE1GB (1u << 26)
#define CPUID_80000001_EDX_RDTSCP  (1u << 27)

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

/* The all-ones value of a 1-, 2-, 4- or 8-byte access (and 0 for size 0): what a
 * read of nothing returns, and the bits an access of that size touches. */
static inline uint64_t access_size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* The descriptor privilege level in packed segment attributes; SS's is the CPL
 * (SDM Vol. 3A 5.5; the VMCB keeps the CPL apart, APM Vol. 2 15.5.1). */
static inline unsigned seg_attr_dpl(uint32_t attr)
{
    return (attr >> 5) & 3;
}

/* MAXPHYADDR from CPUID 0x80000008's EAX (SDM Vol. 3A 4.1.4). */
static inline unsigned cpuid_maxphyaddr(uint32_t eax_80000008)
{
    return eax_80000008 & 0xFF;
}
#endif
#endif
