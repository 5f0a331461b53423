/* Intel VT-x constants, from the Intel SDM Vol. 3C (section numbers of the 2023+
 * editions: ch. 25 VMCS, 27 VM entries, 28 VM exits, 29 EPT, 31.4 instruction
 * errors; appendices A capability MSRs, B field encodings, C exit reasons).
 * Pure header: included by the host-built checker and unit tests too. */
#ifndef VMM_VMX_VMX_DEFS_H
#define VMM_VMX_VMX_DEFS_H
#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

/* ---- Capability and control MSRs (Appendix A, Vol. 4 table 2-2) ---------------- */
#define MSR_IA32_DEBUGCTL             0x1D9
#define MSR_IA32_VMX_BASIC            0x480
#define MSR_IA32_VMX_PINBASED_CTLS    0x481
#define MSR_IA32_VMX_PROCBASED_CTLS   0x482
#define MSR_IA32_VMX_EXIT_CTLS        0x483
#define MSR_IA32_VMX_ENTRY_CTLS       0x484
#define MSR_IA32_VMX_MISC             0x485
#define MSR_IA32_VMX_CR0_FIXED0       0x486
#define MSR_IA32_VMX_CR0_FIXED1       0x487
#define MSR_IA32_VMX_CR4_FIXED0       0x488
#define MSR_IA32_VMX_CR4_FIXED1       0x489
#define MSR_IA32_VMX_VMCS_ENUM        0x48A
#define MSR_IA32_VMX_PROCBASED_CTLS2  0x48B
#define MSR_IA32_VMX_EPT_VPID_CAP     0x48C
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS  0x48D
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48E
#define MSR_IA32_VMX_TRUE_EXIT_CTLS   0x48F
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS  0x490
#define MSR_IA32_VMX_VMFUNC           0x491

/* IA32_FEATURE_CONTROL (MSR_FEATURE_CONTROL in arch/x86.h; Vol. 3C 24.7): once locked, only a reset changes it. */
#define FEATURE_CONTROL_LOCK               (1ull << 0)
#define FEATURE_CONTROL_VMX_INSIDE_SMX     (1ull << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX    (1ull << 2)

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION(b)     ((uint32_t)((b) & 0x7fffffffu))
#define VMX_BASIC_REGION_SIZE(b)  ((unsigned)(((b) >> 32) & 0x1fff))
#define VMX_BASIC_ADDR32          (1ull << 48)  /* region addresses limited to 4 GiB */
#define VMX_BASIC_MEMTYPE(b)      ((unsigned)(((b) >> 50) & 0xf))
#define VMX_BASIC_INSOUTS_INFO    (1ull << 54)
#define VMX_BASIC_TRUE_CTLS       (1ull << 55)  /* the TRUE_* MSRs exist (A.2) */
#define VMX_BASIC_NO_ERRCODE_CHECK (1ull << 56) /* 27.2.1.3 error-code rule relaxed */

/* A control MSR: low half = allowed 0-settings (a 1 there forces the bit to 1),
 * high half = allowed 1-settings (A.3-A.5). */
#define VMX_CTL_ALLOWED0(m)       ((uint32_t)(m))
#define VMX_CTL_ALLOWED1(m)       ((uint32_t)((m) >> 32))

/* IA32_VMX_MISC (A.6) */
#define VMX_MISC_PREEMPT_RATE(m)  ((unsigned)((m) & 0x1f))
#define VMX_MISC_SAVES_LMA        (1ull << 5)   /* exits store EFER.LMA in the entry ctl */
#define VMX_MISC_ACT_HLT          (1ull << 6)
#define VMX_MISC_ACT_SHUTDOWN     (1ull << 7)
#define VMX_MISC_ACT_WAIT_SIPI    (1ull << 8)
#define VMX_MISC_CR3_TARGETS(m)   ((unsigned)(((m) >> 16) & 0x1ff))
#define VMX_MISC_MAX_MSR_LIST(m)  (512u * ((unsigned)(((m) >> 25) & 7) + 1))
#define VMX_MISC_VMWRITE_ANY      (1ull << 29)
#define VMX_MISC_ZERO_LEN_INJECT  (1ull << 30)  /* soft events with length 0 allowed */

/* VPIDs are 16 bits, 0 is the host's (28.3.3.3): guests get 1..VPID_MAX. */
#define VPID_MAX                  0xFFFFu

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_EXEC_ONLY         (1ull << 0)
#define EPT_CAP_WALK4             (1ull << 6)
#define EPT_CAP_WALK5             (1ull << 7)
#define EPT_CAP_UC                (1ull << 8)
#define EPT_CAP_WB                (1ull << 14)
#define EPT_CAP_2M                (1ull << 16)
#define EPT_CAP_1G                (1ull << 17)
#define EPT_CAP_INVEPT            (1ull << 20)
#define EPT_CAP_AD                (1ull << 21)
#define EPT_CAP_ADV_EXIT_INFO     (1ull << 22)
#define EPT_CAP_INVEPT_SINGLE     (1ull << 25)
#define EPT_CAP_INVEPT_ALL        (1ull << 26)
#define VPID_CAP_INVVPID          (1ull << 32)
#define VPID_CAP_INVVPID_ADDR     (1ull << 40)
#define VPID_CAP_INVVPID_SINGLE   (1ull << 41)
#define VPID_CAP_INVVPID_ALL      (1ull << 42)
#define VPID_CAP_INVVPID_SINGLE_NG (1ull << 43)

/* ---- VM-execution controls (25.6) ---------------------------------------------- */
/* Pin-based (25.6.1, table 25-5) */
#define PIN_EXTINT_EXITING        (1u << 0)
#define PIN_NMI_EXITING           (1u << 3)
#define PIN_VIRTUAL_NMIS          (1u << 5)
#define PIN_PREEMPT_TIMER         (1u << 6)
#define PIN_POSTED_INTR           (1u << 7)

/* Primary processor-based (25.6.2, table 25-6) */
#define PROC_INTR_WINDOW_EXITING  (1u << 2)
#define PROC_TSC_OFFSETTING       (1u << 3)
#define PROC_HLT_EXITING          (1u << 7)
#define PROC_INVLPG_EXITING       (1u << 9)
#define PROC_MWAIT_EXITING        (1u << 10)
#define PROC_RDPMC_EXITING        (1u << 11)
#define PROC_RDTSC_EXITING        (1u << 12)
#define PROC_CR3_LOAD_EXITING     (1u << 15)
#define PROC_CR3_STORE_EXITING    (1u << 16)
#define PROC_TERTIARY_CONTROLS    (1u << 17)
#define PROC_CR8_LOAD_EXITING     (1u << 19)
#define PROC_CR8_STORE_EXITING    (1u << 20)
#define PROC_TPR_SHADOW           (1u << 21)
#define PROC_NMI_WINDOW_EXITING   (1u << 22)
#define PROC_MOV_DR_EXITING       (1u << 23)
#define PROC_UNCOND_IO_EXITING    (1u << 24)
#define PROC_USE_IO_BITMAPS       (1u << 25)
#define PROC_MONITOR_TRAP_FLAG    (1u << 27)
#define PROC_USE_MSR_BITMAPS      (1u << 28)
#define PROC_MONITOR_EXITING      (1u << 29)
#define PROC_PAUSE_EXITING        (1u << 30)
#define PROC_SECONDARY_CONTROLS   (1u << 31)

/* Secondary processor-based (25.6.2, table 25-7) */
#define PROC2_VIRT_APIC_ACCESS    (1u << 0)
#define PROC2_EPT                 (1u << 1)
#define PROC2_DESC_TABLE_EXITING  (1u << 2)
#define PROC2_RDTSCP              (1u << 3)
#define PROC2_VIRT_X2APIC         (1u << 4)
#define PROC2_VPID                (1u << 5)
#define PROC2_WBINVD_EXITING      (1u << 6)
#define PROC2_UNRESTRICTED_GUEST  (1u << 7)
#define PROC2_APIC_REG_VIRT       (1u << 8)
#define PROC2_VIRT_INTR_DELIVERY  (1u << 9)
#define PROC2_PAUSE_LOOP_EXITING  (1u << 10)
#define PROC2_RDRAND_EXITING      (1u << 11)
#define PROC2_INVPCID             (1u << 12)
#define PROC2_VMFUNC              (1u << 13)
#define PROC2_VMCS_SHADOWING      (1u << 14)
#define PROC2_ENCLS_EXITING       (1u << 15)
#define PROC2_RDSEED_EXITING      (1u << 16)
#define PROC2_PML                 (1u << 17)
#define PROC2_EPT_VE              (1u << 18)
#define PROC2_XSAVES              (1u << 20)
#define PROC2_MODE_BASED_EPT_X    (1u << 22)
#define PROC2_TSC_SCALING         (1u << 25)
#define PROC2_USER_WAIT_PAUSE     (1u << 26)

/* VM-exit controls (25.7.1, table 25-13) */
#define EXIT_SAVE_DEBUG_CTLS      (1u << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE (1u << 9)   /* host runs in 64-bit mode after exit */
#define EXIT_LOAD_PERF_GLOBAL     (1u << 12)
#define EXIT_ACK_INTR_ON_EXIT     (1u << 15)
#define EXIT_SAVE_PAT             (1u << 18)
#define EXIT_LOAD_PAT             (1u << 19)
#define EXIT_SAVE_EFER            (1u << 20)
#define EXIT_LOAD_EFER            (1u << 21)
#define EXIT_SAVE_PREEMPT_TIMER   (1u << 22)
#define EXIT_CLEAR_BNDCFGS        (1u << 23)

/* VM-entry controls (25.8.1, table 25-15) */
#define ENTRY_LOAD_DEBUG_CTLS     (1u << 2)
#define ENTRY_IA32E_GUEST         (1u << 9)
#define ENTRY_SMM                 (1u << 10)
#define ENTRY_DEACT_DUAL_MONITOR  (1u << 11)
#define ENTRY_LOAD_PERF_GLOBAL    (1u << 13)
#define ENTRY_LOAD_PAT            (1u << 14)
#define ENTRY_LOAD_EFER           (1u << 15)
#define ENTRY_LOAD_BNDCFGS        (1u << 16)

/* ---- VMCS field encodings (Appendix B) ----------------------------------------- */
/* 16-bit (B.1) */
#define VMCS_VPID                 0x0000
#define VMCS_POSTED_INTR_VECTOR   0x0002
#define VMCS_EPTP_INDEX           0x0004
#define VMCS_GUEST_ES_SEL         0x0800
#define VMCS_GUEST_CS_SEL         0x0802
#define VMCS_GUEST_SS_SEL         0x0804
#define VMCS_GUEST_DS_SEL         0x0806
#define VMCS_GUEST_FS_SEL         0x0808
#define VMCS_GUEST_GS_SEL         0x080A
#define VMCS_GUEST_LDTR_SEL       0x080C
#define VMCS_GUEST_TR_SEL         0x080E
#define VMCS_GUEST_INTR_STATUS    0x0810
#define VMCS_GUEST_PML_INDEX      0x0812
#define VMCS_HOST_ES_SEL          0x0C00
#define VMCS_HOST_CS_SEL          0x0C02
#define VMCS_HOST_SS_SEL          0x0C04
#define VMCS_HOST_DS_SEL          0x0C06
#define VMCS_HOST_FS_SEL          0x0C08
#define VMCS_HOST_GS_SEL          0x0C0A
#define VMCS_HOST_TR_SEL          0x0C0C

/* 64-bit (B.2) */
#define VMCS_IO_BITMAP_A          0x2000
#define VMCS_IO_BITMAP_B          0x2002
#define VMCS_MSR_BITMAP           0x2004
#define VMCS_EXIT_MSR_STORE_ADDR  0x2006
#define VMCS_EXIT_MSR_LOAD_ADDR   0x2008
#define VMCS_ENTRY_MSR_LOAD_ADDR  0x200A
#define VMCS_EXECUTIVE_VMCS_PTR   0x200C
#define VMCS_PML_ADDR             0x200E
#define VMCS_TSC_OFFSET           0x2010
#define VMCS_VIRTUAL_APIC_ADDR    0x2012
#define VMCS_APIC_ACCESS_ADDR     0x2014
#define VMCS_POSTED_INTR_DESC     0x2016
#define VMCS_VMFUNC_CONTROLS      0x2018
#define VMCS_EPT_POINTER          0x201A
#define VMCS_EPTP_LIST_ADDR       0x2024
#define VMCS_VMREAD_BITMAP        0x2026
#define VMCS_VMWRITE_BITMAP       0x2028
#define VMCS_XSS_EXITING_BITMAP   0x202C
#define VMCS_TSC_MULTIPLIER       0x2032
#define VMCS_GUEST_PHYS_ADDR      0x2400
#define VMCS_LINK_POINTER         0x2800
#define VMCS_GUEST_DEBUGCTL       0x2802
#define VMCS_GUEST_PAT            0x2804
#define VMCS_GUEST_EFER           0x2806
#define VMCS_GUEST_PERF_GLOBAL    0x2808
#define VMCS_GUEST_PDPTE0         0x280A
#define VMCS_GUEST_PDPTE1         0x280C
#define VMCS_GUEST_PDPTE2         0x280E
#define VMCS_GUEST_PDPTE3         0x2810
#define VMCS_GUEST_BNDCFGS        0x2812
#define VMCS_HOST_PAT             0x2C00
#define VMCS_HOST_EFER            0x2C02
#define VMCS_HOST_PERF_GLOBAL     0x2C04

/* 32-bit (B.3) */
#define VMCS_PIN_CONTROLS         0x4000
#define VMCS_PROC_CONTROLS        0x4002
#define VMCS_EXCEPTION_BITMAP     0x4004
#define VMCS_PF_ERROR_MASK        0x4006
#define VMCS_PF_ERROR_MATCH       0x4008
#define VMCS_CR3_TARGET_COUNT     0x400A
#define VMCS_EXIT_CONTROLS        0x400C
#define VMCS_EXIT_MSR_STORE_COUNT 0x400E
#define VMCS_EXIT_MSR_LOAD_COUNT  0x4010
#define VMCS_ENTRY_CONTROLS       0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT 0x4014
#define VMCS_ENTRY_INTR_INFO      0x4016
#define VMCS_ENTRY_EXC_ERROR      0x4018
#define VMCS_ENTRY_INSN_LEN       0x401A
#define VMCS_TPR_THRESHOLD        0x401C
#define VMCS_PROC2_CONTROLS       0x401E
#define VMCS_PLE_GAP              0x4020
#define VMCS_PLE_WINDOW           0x4022
#define VMCS_INSN_ERROR           0x4400
#define VMCS_EXIT_REASON          0x4402
#define VMCS_EXIT_INTR_INFO       0x4404
#define VMCS_EXIT_INTR_ERROR      0x4406
#define VMCS_IDT_VECTORING_INFO   0x4408
#define VMCS_IDT_VECTORING_ERROR  0x440A
#define VMCS_EXIT_INSN_LEN        0x440C
#define VMCS_EXIT_INSN_INFO       0x440E
/* The instruction information of INVEPT, INVPCID and INVVPID exits (SDM Vol. 3C
 * 28.2.5): the memory operand as scale, address size, segment, index and base,
 * and the register operand (reg2); the qualification holds the displacement. */
#define INSN_INFO_SCALE(i)        ((i) & 3u)
#define INSN_INFO_ADDR_SIZE(i)    (((i) >> 7) & 7u)      /* 0: 16-bit, 1: 32-bit, 2: 64-bit */
#define INSN_INFO_SEG(i)          (((i) >> 15) & 7u)     /* ES, CS, SS, DS, FS, GS */
#define INSN_INFO_INDEX(i)        (((i) >> 18) & 0xfu)
#define INSN_INFO_INDEX_INVALID   (1u << 22)
#define INSN_INFO_BASE(i)         (((i) >> 23) & 0xfu)
#define INSN_INFO_BASE_INVALID    (1u << 27)
#define INSN_INFO_REG2(i)         (((i) >> 28) & 0xfu)
#define INSN_INFO_ADDR_16         0
#define INSN_INFO_ADDR_32         1
#define VMCS_GUEST_ES_LIMIT       0x4800
#define VMCS_GUEST_CS_LIMIT       0x4802
#define VMCS_GUEST_SS_LIMIT       0x4804
#define VMCS_GUEST_DS_LIMIT       0x4806
#define VMCS_GUEST_FS_LIMIT       0x4808
#define VMCS_GUEST_GS_LIMIT       0x480A
#define VMCS_GUEST_LDTR_LIMIT     0x480C
#define VMCS_GUEST_TR_LIMIT       0x480E
#define VMCS_GUEST_GDTR_LIMIT     0x4810
#define VMCS_GUEST_IDTR_LIMIT     0x4812
#define VMCS_GUEST_ES_AR          0x4814
#define VMCS_GUEST_CS_AR          0x4816
#define VMCS_GUEST_SS_AR          0x4818
#define VMCS_GUEST_DS_AR          0x481A
#define VMCS_GUEST_FS_AR          0x481C
#define VMCS_GUEST_GS_AR          0x481E
#define VMCS_GUEST_LDTR_AR        0x4820
#define VMCS_GUEST_TR_AR          0x4822
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824
#define VMCS_GUEST_ACTIVITY_STATE 0x4826
#define VMCS_GUEST_SMBASE         0x4828
#define VMCS_GUEST_SYSENTER_CS    0x482A
#define VMCS_GUEST_PREEMPT_TIMER  0x482E
#define VMCS_HOST_SYSENTER_CS     0x4C00

/* Natural width (B.4) */
#define VMCS_CR0_MASK             0x6000
#define VMCS_CR4_MASK             0x6002
#define VMCS_CR0_SHADOW           0x6004
#define VMCS_CR4_SHADOW           0x6006
#define VMCS_CR3_TARGET0          0x6008
#define VMCS_EXIT_QUALIFICATION   0x6400
#define VMCS_IO_RCX               0x6402
#define VMCS_IO_RSI               0x6404
#define VMCS_IO_RDI               0x6406
#define VMCS_IO_RIP               0x6408
#define VMCS_GUEST_LINEAR_ADDR    0x640A
#define VMCS_GUEST_CR0            0x6800
#define VMCS_GUEST_CR3            0x6802
#define VMCS_GUEST_CR4            0x6804
#define VMCS_GUEST_ES_BASE        0x6806
#define VMCS_GUEST_CS_BASE        0x6808
#define VMCS_GUEST_SS_BASE        0x680A
#define VMCS_GUEST_DS_BASE        0x680C
#define VMCS_GUEST_FS_BASE        0x680E
#define VMCS_GUEST_GS_BASE        0x6810
#define VMCS_GUEST_LDTR_BASE      0x6812
#define VMCS_GUEST_TR_BASE        0x6814
#define VMCS_GUEST_GDTR_BASE      0x6816
#define VMCS_GUEST_IDTR_BASE      0x6818
#define VMCS_GUEST_DR7            0x681A
#define VMCS_GUEST_RSP            0x681C
#define VMCS_GUEST_RIP            0x681E
#define VMCS_GUEST_RFLAGS         0x6820
#define VMCS_GUEST_PENDING_DBG    0x6822
#define VMCS_GUEST_SYSENTER_ESP   0x6824
#define VMCS_GUEST_SYSENTER_EIP   0x6826
#define VMCS_HOST_CR0             0x6C00
#define VMCS_HOST_CR3             0x6C02
#define VMCS_HOST_CR4             0x6C04
#define VMCS_HOST_FS_BASE         0x6C06
#define VMCS_HOST_GS_BASE         0x6C08
#define VMCS_HOST_TR_BASE         0x6C0A
#define VMCS_HOST_GDTR_BASE       0x6C0C
#define VMCS_HOST_IDTR_BASE       0x6C0E
#define VMCS_HOST_SYSENTER_ESP    0x6C10
#define VMCS_HOST_SYSENTER_EIP    0x6C12
#define VMCS_HOST_RSP             0x6C14
#define VMCS_HOST_RIP             0x6C16

/* Segment fields are evenly spaced by segment number (B.1-B.4), in the order
 * ES, CS, SS, DS, FS, GS, LDTR, TR: the same order as enum seg_reg. */
#define VMCS_GUEST_SEG_SEL(n)     (VMCS_GUEST_ES_SEL + 2 * (n))
#define VMCS_GUEST_SEG_LIMIT(n)   (VMCS_GUEST_ES_LIMIT + 2 * (n))
#define VMCS_GUEST_SEG_AR(n)      (VMCS_GUEST_ES_AR + 2 * (n))
#define VMCS_GUEST_SEG_BASE(n)    (VMCS_GUEST_ES_BASE + 2 * (n))

/* The VMCS link pointer value meaning "none" (25.4.2) */
#define VMCS_LINK_NONE            0xFFFFFFFFFFFFFFFFull

/* ---- Guest-state encodings (25.4) ---------------------------------------------- */
/* Segment access rights (25.4.1, table 25-2): the descriptor's byte 5 in bits 7:0,
 * the flags nibble (AVL, L, D/B, G) in 15:12, and "unusable" in bit 16. */
#define VMX_AR_TYPE(ar)           ((ar) & 0xf)
#define VMX_AR_S                  (1u << 4)
#define VMX_AR_DPL(ar)            (((ar) >> 5) & 3)
#define VMX_AR_P                  (1u << 7)
#define VMX_AR_RESERVED_11_8      (0xfu << 8)
#define VMX_AR_AVL                (1u << 12)
#define VMX_AR_L                  (1u << 13)
#define VMX_AR_DB                 (1u << 14)
#define VMX_AR_G                  (1u << 15)
#define VMX_AR_UNUSABLE           (1u << 16)
#define VMX_AR_RESERVED_31_17     0xfffe0000u
#define VMX_AR_V86                0xf3u     /* present, DPL 3, accessed r/w data (27.3.1.2) */
#define VMX_V86_LIMIT             0xffffu

/* Descriptor types used by the checker (Vol. 3A 3.4.5.1, 3.5) */
#define SEG_TYPE_ACCESSED         1u
#define SEG_TYPE_WRITABLE_READABLE 2u   /* data: writable; code: readable */
#define SEG_TYPE_CONFORMING       4u   /* code only */
#define SEG_TYPE_CODE             8u
#define SEG_TYPE_DATA_RW_ACCESSED 3u
#define SEG_TYPE_LDT              2u
#define SEG_TYPE_TSS16_BUSY       3u
#define SEG_TYPE_TSS_BUSY         11u   /* 32-bit busy, or 64-bit busy in IA-32e */

/* Activity state (25.4.2) */
#define ACTIVITY_ACTIVE           0
#define ACTIVITY_HLT              1
#define ACTIVITY_SHUTDOWN         2
#define ACTIVITY_WAIT_SIPI        3

/* The virtual-APIC page (29.1.1): VTPR at the xAPIC TPR's offset. */
#define VAPIC_TPR                 0x080
#define VAPIC_TPR_CLASS_SHIFT     4

/* Interruptibility state (25.4.2, table 25-3) */
#define INTR_BLOCK_STI            (1u << 0)
#define INTR_BLOCK_MOV_SS         (1u << 1)
#define INTR_BLOCK_SMI            (1u << 2)
#define INTR_BLOCK_NMI            (1u << 3)
#define INTR_ENCLAVE              (1u << 4)
#define INTR_RESERVED             0xffffffe0u

/* Pending debug exceptions (25.4.2, table 25-4) */
#define PENDING_DBG_BS            (1ull << 14)
#define PENDING_DBG_RESERVED      0xfffffffffffeaff0ull  /* all but 3:0, 12, 14, 16 */

/* RFLAGS bits the guest-state checks name (27.3.1.4) */
#define VMX_RFLAGS_RESERVED       0xffffffffffc08028ull  /* 63:22, 15, 5, 3 */
#define VMX_RFLAGS_FIXED1         (1ull << 1)
#define VMX_RFLAGS_TF             (1ull << 8)
#define VMX_RFLAGS_IF             (1ull << 9)
#define VMX_RFLAGS_VM             (1ull << 17)

/* CR bits the checks name (Vol. 3A 2.5; kernel/x86.h holds the same for the host,
 * repeated here so this header stays pure) */
#define VMX_CR0_PE                (1ull << 0)
#define VMX_CR0_NE                (1ull << 5)
#define VMX_CR0_NW                (1ull << 29)
#define VMX_CR0_CD                (1ull << 30)
#define VMX_CR0_PG                (1ull << 31)
#define VMX_CR4_PAE               (1ull << 5)
#define VMX_CR4_VMXE              (1ull << 13)
#define VMX_CR4_PCIDE             (1ull << 17)
#define VMX_CR4_CET               (1ull << 23)
#define VMX_EFER_SCE              (1ull << 0)
#define VMX_EFER_LME              (1ull << 8)
#define VMX_EFER_LMA              (1ull << 10)
#define VMX_EFER_NXE              (1ull << 11)
#define VMX_EFER_RESERVED         0xfffffffffffff2feull  /* 63:12, 9, 7:1 (27.3.1.1) */
#define VMX_DR7_UPPER             0xffffffff00000000ull
#define VMX_DEBUGCTL_BTF          (1ull << 1)
/* PAE PDPTE bits that must be 0 when present (Vol. 3A 4.4.1, table 4-8) */
#define VMX_PDPTE_P               (1ull << 0)
#define VMX_PDPTE_RESERVED        0x1e6ull       /* 2:1, 8:5 */
#define VMX_PDPTE_ADDR            0x000ffffffffff000ull
/* Vectors the entry checks single out (Vol. 3A 6.3.1) */
#define VMX_VEC_DB                1
#define VMX_VEC_NMI               2
#define VMX_VEC_MC                18

/* ---- Event injection and exit interruption information (25.8.3, 28.2.2) ------- */
#define INTR_INFO_VECTOR(i)       ((i) & 0xff)
#define INTR_INFO_TYPE(i)         (((i) >> 8) & 7)
#define INTR_INFO_TYPE_SHIFT      8
#define INTR_INFO_ERROR_VALID     (1u << 11)
#define INTR_INFO_NMI_UNBLOCK     (1u << 12)   /* exit info only: NMI unblocked by IRET */
#define INTR_INFO_RESERVED        0x7ffff000u  /* bits 30:12 of the entry field */
#define INTR_INFO_VALID           (1u << 31)

#define INTR_TYPE_EXT_INTR        0
#define INTR_TYPE_RESERVED        1
#define INTR_TYPE_NMI             2
#define INTR_TYPE_HW_EXCEPTION    3
#define INTR_TYPE_SW_INTR         4
#define INTR_TYPE_PRIV_SW_EXC     5   /* INT1 */
#define INTR_TYPE_SW_EXCEPTION    6   /* INT3, INTO */
#define INTR_TYPE_OTHER           7   /* MTF pending */

/* ---- Exit reasons (Appendix C) ------------------------------------------------ */
#define EXIT_REASON_BASIC(r)          ((r) & 0xffff)
#define EXIT_REASON_ENTRY_FAIL        (1u << 31)
#define EXIT_REASON_EXCEPTION_NMI     0
#define EXIT_REASON_EXTERNAL_INTR     1
#define EXIT_REASON_TRIPLE_FAULT      2
#define EXIT_REASON_INIT              3
#define EXIT_REASON_SIPI              4
#define EXIT_REASON_IO_SMI            5
#define EXIT_REASON_OTHER_SMI         6
#define EXIT_REASON_INTR_WINDOW       7
#define EXIT_REASON_NMI_WINDOW        8
#define EXIT_REASON_TASK_SWITCH       9
#define EXIT_REASON_CPUID             10
#define EXIT_REASON_GETSEC            11
#define EXIT_REASON_HLT               12
#define EXIT_REASON_INVD              13
#define EXIT_REASON_INVLPG            14
#define EXIT_REASON_RDPMC             15
#define EXIT_REASON_RDTSC             16
#define EXIT_REASON_RSM               17
#define EXIT_REASON_VMCALL            18
#define EXIT_REASON_VMCLEAR           19
#define EXIT_REASON_VMLAUNCH          20
#define EXIT_REASON_VMPTRLD           21
#define EXIT_REASON_VMPTRST           22
#define EXIT_REASON_VMREAD            23
#define EXIT_REASON_VMRESUME          24
#define EXIT_REASON_VMWRITE           25
#define EXIT_REASON_VMXOFF            26
#define EXIT_REASON_VMXON             27
#define EXIT_REASON_CR_ACCESS         28
#define EXIT_REASON_DR_ACCESS         29
#define EXIT_REASON_IO                30
#define EXIT_REASON_RDMSR             31
#define EXIT_REASON_WRMSR             32
#define EXIT_REASON_INVALID_GUEST     33
#define EXIT_REASON_MSR_LOADING       34
#define EXIT_REASON_MWAIT             36
#define EXIT_REASON_MTF               37
#define EXIT_REASON_MONITOR           39
#define EXIT_REASON_PAUSE             40
#define EXIT_REASON_MACHINE_CHECK     41
#define EXIT_REASON_TPR_BELOW         43
#define EXIT_REASON_APIC_ACCESS       44
#define EXIT_REASON_VIRT_EOI          45
#define EXIT_REASON_GDTR_IDTR         46
#define EXIT_REASON_LDTR_TR           47
#define EXIT_REASON_EPT_VIOLATION     48
#define EXIT_REASON_EPT_MISCONFIG     49
#define EXIT_REASON_INVEPT            50
#define EXIT_REASON_RDTSCP            51
#define EXIT_REASON_PREEMPT_TIMER     52
#define EXIT_REASON_INVVPID           53
#define EXIT_REASON_WBINVD            54
#define EXIT_REASON_XSETBV            55
#define EXIT_REASON_APIC_WRITE        56
#define EXIT_REASON_RDRAND            57
#define EXIT_REASON_INVPCID           58
#define EXIT_REASON_VMFUNC            59
#define EXIT_REASON_ENCLS             60
#define EXIT_REASON_RDSEED            61
#define EXIT_REASON_PML_FULL          62
#define EXIT_REASON_XSAVES            63
#define EXIT_REASON_XRSTORS           64

/* Exit qualification for I/O instructions (28.2.1, table 28-5) */
#define IO_QUAL_SIZE(q)           ((unsigned)((q) & 7) + 1)  /* 0,1,3 -> 1,2,4 bytes */
#define IO_QUAL_IN                (1u << 3)
#define IO_QUAL_STRING            (1u << 4)
#define IO_QUAL_REP               (1u << 5)
#define IO_QUAL_IMM               (1u << 6)
#define IO_QUAL_PORT(q)           ((uint16_t)((q) >> 16))

/* Exit qualification for control-register accesses (28.2.1, table 28-3) */
#define CR_QUAL_CR(q)             ((unsigned)((q) & 0xf))
#define CR_QUAL_TYPE(q)           ((unsigned)(((q) >> 4) & 3))
#define CR_QUAL_LMSW_MEM          (1u << 6)
#define CR_QUAL_GPR(q)            ((unsigned)(((q) >> 8) & 0xf))
#define CR_QUAL_LMSW_DATA(q)      ((uint16_t)((q) >> 16))
/* MOV DR (table 28-4) and debug exceptions (table 28-1): exit qualification */
#define DR_QUAL_DR(q)             ((unsigned)((q) & 7))
#define DR_QUAL_FROM_DR           (1u << 4)
#define DR_QUAL_GPR(q)            ((unsigned)(((q) >> 8) & 0xf))
#define DBG_QUAL_DR6_BITS         0x600Full   /* B0-B3, BD, BS */
#define CR_TYPE_MOV_TO_CR         0
#define CR_TYPE_MOV_FROM_CR       1
#define CR_TYPE_CLTS              2
#define CR_TYPE_LMSW              3

/* Exit qualification for EPT violations (28.2.1, table 28-7) */
#define EPT_QUAL_READ             (1u << 0)
#define EPT_QUAL_WRITE            (1u << 1)
#define EPT_QUAL_FETCH            (1u << 2)
#define EPT_QUAL_READABLE         (1u << 3)
#define EPT_QUAL_WRITABLE         (1u << 4)
#define EPT_QUAL_EXECUTABLE       (1u << 5)
#define EPT_QUAL_GLA_VALID        (1u << 7)
#define EPT_QUAL_GLA_TRANSLATION  (1u << 8)
#define EPT_QUAL_NMI_UNBLOCK      (1u << 12)

/* Exit qualification for VM-entry failures due to guest state (28.2.1) */
#define ENTRY_QUAL_PDPTE          2
#define ENTRY_QUAL_NMI_BLOCKING   3
#define ENTRY_QUAL_LINK_POINTER   4

/* ---- EPT (29.3) ---------------------------------------------------------------- */
#define EPT_R                     (1ull << 0)
#define EPT_W                     (1ull << 1)
#define EPT_X                     (1ull << 2)
#define EPT_RWX                   (EPT_R | EPT_W | EPT_X)
#define EPT_MEMTYPE_SHIFT         3      /* leaf entries only: bits 5:3 */
#define EPT_IGNORE_PAT            (1ull << 6)
#define EPT_LARGE                 (1ull << 7)
#define EPT_ACCESSED              (1ull << 8)
#define EPT_DIRTY                 (1ull << 9)
#define EPT_ADDR_MASK             0x000ffffffffff000ull
#define EPT_ENTRIES               512
#define EPT_LEVELS                4

/* Memory types (Vol. 3A 12.3, table 12-2), for EPT entries and the EPTP */
#define MEMTYPE_UC                0
#define MEMTYPE_WC                1
#define MEMTYPE_WT                4
#define MEMTYPE_WP                5
#define MEMTYPE_WB                6
#define MEMTYPE_UC_MINUS          7   /* PAT only */

/* EPT pointer (25.6.11, table 25-9) */
#define EPTP_MEMTYPE(e)           ((unsigned)((e) & 7))
#define EPTP_WALK_LEN(n)          ((uint64_t)((n) - 1) << 3)
#define EPTP_WALK_LEN_OF(e)       ((unsigned)(((e) >> 3) & 7) + 1)
#define EPTP_AD_ENABLE            (1ull << 6)
#define EPTP_RESERVED_11_7        0xf80ull

/* INVEPT / INVVPID types (31.3) */
#define INVEPT_SINGLE_CONTEXT     1
#define INVEPT_ALL_CONTEXT        2
#define INVVPID_ADDRESS           0
#define INVVPID_SINGLE_CONTEXT    1
#define INVVPID_ALL_CONTEXT       2
#define INVVPID_SINGLE_NON_GLOBAL 3

/* PAT memory types valid in each byte (Vol. 3A 12.12.2): 0, 1, 4, 5, 6, 7 */
#define PAT_DEFAULT               0x0007040600070406ull

/* ---- VM-instruction error numbers (31.4, table 31-1) --------------------------- */
#define VMXERR_VMCALL_IN_ROOT              1
#define VMXERR_VMCLEAR_INVALID_ADDR        2
#define VMXERR_VMCLEAR_VMXON_PTR           3
#define VMXERR_VMLAUNCH_NOT_CLEAR          4
#define VMXERR_VMRESUME_NOT_LAUNCHED       5
#define VMXERR_VMRESUME_AFTER_VMXOFF       6
#define VMXERR_ENTRY_INVALID_CONTROLS      7
#define VMXERR_ENTRY_INVALID_HOST_STATE    8
#define VMXERR_VMPTRLD_INVALID_ADDR        9
#define VMXERR_VMPTRLD_VMXON_PTR           10
#define VMXERR_VMPTRLD_BAD_REVISION        11
#define VMXERR_UNSUPPORTED_FIELD           12
#define VMXERR_VMWRITE_READ_ONLY           13
#define VMXERR_VMXON_IN_ROOT               15
#define VMXERR_ENTRY_INVALID_EXEC_VMCS     16
#define VMXERR_ENTRY_NON_LAUNCHED_EXEC     17
#define VMXERR_ENTRY_EXEC_NOT_VMXON        18
#define VMXERR_VMCALL_NON_CLEAR            19
#define VMXERR_VMCALL_INVALID_EXIT_CTLS    20
#define VMXERR_VMCALL_BAD_MSEG_REVISION    22
#define VMXERR_VMXOFF_DUAL_MONITOR         23
#define VMXERR_VMCALL_INVALID_SMM_FEATURES 24
#define VMXERR_ENTRY_INVALID_EXEC_CTLS_EXEC 25
#define VMXERR_ENTRY_MOV_SS_BLOCKING       26
#define VMXERR_INVALID_INVEPT_INVVPID      28

#ifndef __ASSEMBLER__
static inline const char *vmx_insn_error_name(unsigned err)
{
    switch (err) {
    case VMXERR_VMCALL_IN_ROOT: return "VMCALL executed in VMX root operation";
    case VMXERR_VMCLEAR_INVALID_ADDR: return "VMCLEAR with invalid physical address";
    case VMXERR_VMCLEAR_VMXON_PTR: return "VMCLEAR with VMXON pointer";
    case VMXERR_VMLAUNCH_NOT_CLEAR: return "VMLAUNCH with non-clear VMCS";
    case VMXERR_VMRESUME_NOT_LAUNCHED: return "VMRESUME with non-launched VMCS";
    case VMXERR_VMRESUME_AFTER_VMXOFF: return "VMRESUME after VMXOFF";
    case VMXERR_ENTRY_INVALID_CONTROLS: return "VM entry with invalid control field(s)";
    case VMXERR_ENTRY_INVALID_HOST_STATE: return "VM entry with invalid host-state field(s)";
    case VMXERR_VMPTRLD_INVALID_ADDR: return "VMPTRLD with invalid physical address";
    case VMXERR_VMPTRLD_VMXON_PTR: return "VMPTRLD with VMXON pointer";
    case VMXERR_VMPTRLD_BAD_REVISION: return "VMPTRLD with incorrect VMCS revision identifier";
    case VMXERR_UNSUPPORTED_FIELD: return "VMREAD/VMWRITE from/to unsupported VMCS component";
    case VMXERR_VMWRITE_READ_ONLY: return "VMWRITE to read-only VMCS component";
    case VMXERR_VMXON_IN_ROOT: return "VMXON executed in VMX root operation";
    case VMXERR_ENTRY_INVALID_EXEC_VMCS: return "VM entry with invalid executive-VMCS pointer";
    case VMXERR_ENTRY_NON_LAUNCHED_EXEC: return "VM entry with non-launched executive VMCS";
    case VMXERR_ENTRY_EXEC_NOT_VMXON: return "VM entry with executive-VMCS pointer not VMXON pointer";
    case VMXERR_VMCALL_NON_CLEAR: return "VMCALL with non-clear VMCS";
    case VMXERR_VMCALL_INVALID_EXIT_CTLS: return "VMCALL with invalid VM-exit control fields";
    case VMXERR_VMCALL_BAD_MSEG_REVISION: return "VMCALL with incorrect MSEG revision identifier";
    case VMXERR_VMXOFF_DUAL_MONITOR: return "VMXOFF under dual-monitor treatment of SMIs and SMM";
    case VMXERR_VMCALL_INVALID_SMM_FEATURES: return "VMCALL with invalid SMM-monitor features";
    case VMXERR_ENTRY_INVALID_EXEC_CTLS_EXEC: return "VM entry with invalid VM-execution control fields in executive VMCS";
    case VMXERR_ENTRY_MOV_SS_BLOCKING: return "VM entry with events blocked by MOV SS";
    case VMXERR_INVALID_INVEPT_INVVPID: return "invalid operand to INVEPT/INVVPID";
    default: return "unknown VM-instruction error";
    }
}

static inline const char *vmx_exit_reason_name(unsigned basic)
{
    static const char *const names[] = {
        [EXIT_REASON_EXCEPTION_NMI] = "exception or NMI",
        [EXIT_REASON_EXTERNAL_INTR] = "external interrupt",
        [EXIT_REASON_TRIPLE_FAULT] = "triple fault",
        [EXIT_REASON_INIT] = "INIT signal",
        [EXIT_REASON_SIPI] = "SIPI",
        [EXIT_REASON_IO_SMI] = "I/O SMI",
        [EXIT_REASON_OTHER_SMI] = "other SMI",
        [EXIT_REASON_INTR_WINDOW] = "interrupt window",
        [EXIT_REASON_NMI_WINDOW] = "NMI window",
        [EXIT_REASON_TASK_SWITCH] = "task switch",
        [EXIT_REASON_CPUID] = "CPUID",
        [EXIT_REASON_GETSEC] = "GETSEC",
        [EXIT_REASON_HLT] = "HLT",
        [EXIT_REASON_INVD] = "INVD",
        [EXIT_REASON_INVLPG] = "INVLPG",
        [EXIT_REASON_RDPMC] = "RDPMC",
        [EXIT_REASON_RDTSC] = "RDTSC",
        [EXIT_REASON_RSM] = "RSM",
        [EXIT_REASON_VMCALL] = "VMCALL",
        [EXIT_REASON_VMCLEAR] = "VMCLEAR",
        [EXIT_REASON_VMLAUNCH] = "VMLAUNCH",
        [EXIT_REASON_VMPTRLD] = "VMPTRLD",
        [EXIT_REASON_VMPTRST] = "VMPTRST",
        [EXIT_REASON_VMREAD] = "VMREAD",
        [EXIT_REASON_VMRESUME] = "VMRESUME",
        [EXIT_REASON_VMWRITE] = "VMWRITE",
        [EXIT_REASON_VMXOFF] = "VMXOFF",
        [EXIT_REASON_VMXON] = "VMXON",
        [EXIT_REASON_CR_ACCESS] = "control-register access",
        [EXIT_REASON_DR_ACCESS] = "MOV DR",
        [EXIT_REASON_IO] = "I/O instruction",
        [EXIT_REASON_RDMSR] = "RDMSR",
        [EXIT_REASON_WRMSR] = "WRMSR",
        [EXIT_REASON_INVALID_GUEST] = "VM-entry failure: invalid guest state",
        [EXIT_REASON_MSR_LOADING] = "VM-entry failure: MSR loading",
        [EXIT_REASON_MWAIT] = "MWAIT",
        [EXIT_REASON_MTF] = "monitor trap flag",
        [EXIT_REASON_MONITOR] = "MONITOR",
        [EXIT_REASON_PAUSE] = "PAUSE",
        [EXIT_REASON_MACHINE_CHECK] = "VM-entry failure: machine-check event",
        [EXIT_REASON_TPR_BELOW] = "TPR below threshold",
        [EXIT_REASON_APIC_ACCESS] = "APIC access",
        [EXIT_REASON_VIRT_EOI] = "virtualized EOI",
        [EXIT_REASON_GDTR_IDTR] = "GDTR/IDTR access",
        [EXIT_REASON_LDTR_TR] = "LDTR/TR access",
        [EXIT_REASON_EPT_VIOLATION] = "EPT violation",
        [EXIT_REASON_EPT_MISCONFIG] = "EPT misconfiguration",
        [EXIT_REASON_INVEPT] = "INVEPT",
        [EXIT_REASON_RDTSCP] = "RDTSCP",
        [EXIT_REASON_PREEMPT_TIMER] = "VMX-preemption timer expired",
        [EXIT_REASON_INVVPID] = "INVVPID",
        [EXIT_REASON_WBINVD] = "WBINVD",
        [EXIT_REASON_XSETBV] = "XSETBV",
        [EXIT_REASON_APIC_WRITE] = "APIC write",
        [EXIT_REASON_RDRAND] = "RDRAND",
        [EXIT_REASON_INVPCID] = "INVPCID",
        [EXIT_REASON_VMFUNC] = "VMFUNC",
        [EXIT_REASON_ENCLS] = "ENCLS",
        [EXIT_REASON_RDSEED] = "RDSEED",
        [EXIT_REASON_PML_FULL] = "page-modification log full",
        [EXIT_REASON_XSAVES] = "XSAVES",
        [EXIT_REASON_XRSTORS] = "XRSTORS",
    };
    if (basic < sizeof names / sizeof names[0] && names[basic])
        return names[basic];
    return "unknown exit reason";
}
#endif /* __ASSEMBLER__ */
#endif
