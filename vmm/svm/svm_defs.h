/* AMD-V constants and the VMCB layout, from the AMD64 Architecture Programmer's
 * Manual Vol. 2 (APM): ch. 15 "Secure Virtual Machine" and Appendix B "Layout of
 * VMCB". Offsets are checked at compile time in vmm/svm/vmcb.c. */
#ifndef VMM_SVM_SVM_DEFS_H
#define VMM_SVM_SVM_DEFS_H
#include <stdint.h>

/* CPUID Fn8000_000A (APM Vol. 2 15.4, Vol. 3 E.4.9) */
#define CPUID_SVM_FEATURES        0x8000000Au
#define SVM_FEATURE_NPT           (1u << 0)
#define SVM_FEATURE_LBRV          (1u << 1)
#define SVM_FEATURE_SVML          (1u << 2)
#define SVM_FEATURE_NRIPS         (1u << 3)
#define SVM_FEATURE_VMCB_CLEAN    (1u << 5)
#define SVM_FEATURE_FLUSH_BY_ASID (1u << 6)
#define SVM_FEATURE_DECODE_ASSIST (1u << 7)

/* MSRs (APM Vol. 2 15.30) */
#define MSR_VM_CR         0xC0010114u
#define MSR_VM_HSAVE_PA   0xC0010117u
#define VM_CR_SVMDIS      (1u << 4)     /* SVM disabled by firmware */
#define VM_CR_LOCK        (1u << 3)

/* CR intercepts (VMCB offset 000h): reads in bits 0-15, writes in 16-31 */
#define INTERCEPT_CR_READ(n)  (1u << (n))
#define INTERCEPT_CR_WRITE(n) (1u << (16 + (n)))
/* DR intercepts (VMCB offset 004h): reads in bits 0-15, writes in 16-31; DR0-7 */
#define INTERCEPT_DR0_7     0x00FF00FFu
#define DR_EXITINFO_GPR_MASK 0xFu          /* with decode assists (15.33.2) */

/* Intercept vector 3 (VMCB offset 00Ch), APM Vol. 2 Appendix B Table B-1 */
#define INTERCEPT_INTR      (1u << 0)
#define INTERCEPT_NMI       (1u << 1)
#define INTERCEPT_SMI       (1u << 2)
#define INTERCEPT_INIT      (1u << 3)
#define INTERCEPT_VINTR     (1u << 4)
#define INTERCEPT_CPUID     (1u << 18)
#define INTERCEPT_IRET      (1u << 20)
#define INTERCEPT_INVD      (1u << 22)
#define INTERCEPT_HLT       (1u << 24)
#define INTERCEPT_INVLPG    (1u << 25)
#define INTERCEPT_INVLPGA   (1u << 26)
#define INTERCEPT_IOIO_PROT (1u << 27)
#define INTERCEPT_MSR_PROT  (1u << 28)
#define INTERCEPT_TASK_SWITCH (1u << 29)
#define INTERCEPT_SHUTDOWN  (1u << 31)
/* Intercept vector 4 (VMCB offset 010h) */
#define INTERCEPT_VMRUN     (1u << 0)
#define INTERCEPT_VMMCALL   (1u << 1)
#define INTERCEPT_VMLOAD    (1u << 2)
#define INTERCEPT_VMSAVE    (1u << 3)
#define INTERCEPT_STGI      (1u << 4)
#define INTERCEPT_CLGI      (1u << 5)
#define INTERCEPT_SKINIT    (1u << 6)
#define INTERCEPT_RDTSCP    (1u << 7)
#define INTERCEPT_ICEBP     (1u << 8)
#define INTERCEPT_WBINVD    (1u << 9)
#define INTERCEPT_MONITOR   (1u << 10)
#define INTERCEPT_MWAIT     (1u << 11)
#define INTERCEPT_XSETBV    (1u << 13)

/* TLB_CONTROL (VMCB offset 05Ch), APM Vol. 2 15.16.1 */
#define TLB_CONTROL_NOTHING     0
#define TLB_CONTROL_FLUSH_ALL   1
#define TLB_CONTROL_FLUSH_ASID  3

/* VINTR (VMCB offset 060h), APM Vol. 2 15.21, Appendix B Table B-1 */
#define V_TPR_MASK     0xFull         /* the guest's CR8 (15.21.1) */
#define V_IRQ          (1ull << 8)    /* a virtual interrupt is pending */
#define V_IGN_TPR      (1ull << 20)   /* take V_IRQ whatever V_TPR says */
#define V_INTR_MASKING (1ull << 24)   /* guest IF masks virtual interrupts only */

/* INTERRUPT_SHADOW (VMCB offset 068h), 15.21.5 */
#define INTERRUPT_SHADOW_ACTIVE (1ull << 0)

/* NP_ENABLE (VMCB offset 090h) */
#define NESTED_CTL_NP_ENABLE (1ull << 0)

/* EVENTINJ / EXITINTINFO (APM Vol. 2 15.20) */
#define EVENTINJ_VECTOR_MASK 0xFFu
#define EVENTINJ_TYPE_SHIFT  8
#define EVENTINJ_TYPE_INTR   0u
#define EVENTINJ_TYPE_NMI    2u
#define EVENTINJ_TYPE_EXCEPTION 3u
#define EVENTINJ_TYPE_SOFT   4u
#define EVENTINJ_EV          (1u << 11)   /* error code valid */
#define EVENTINJ_VALID       (1u << 31)

/* Exit codes (APM Vol. 2 Appendix C) */
#define VMEXIT_CR0_READ     0x000
#define VMEXIT_CR0_WRITE    0x010
#define VMEXIT_DR0_READ     0x020
#define VMEXIT_DR0_WRITE    0x030
#define VMEXIT_EXCP_BASE    0x040
#define VMEXIT_INTR         0x060
#define VMEXIT_NMI          0x061
#define VMEXIT_SMI          0x062
#define VMEXIT_INIT         0x063
#define VMEXIT_VINTR        0x064
#define VMEXIT_CPUID        0x072
#define VMEXIT_IRET         0x074
#define VMEXIT_INVD         0x076
#define VMEXIT_HLT          0x078
#define VMEXIT_INVLPG       0x079
#define VMEXIT_INVLPGA      0x07A
#define VMEXIT_IOIO         0x07B
#define VMEXIT_MSR          0x07C
#define VMEXIT_TASK_SWITCH  0x07D
#define VMEXIT_SHUTDOWN     0x07F
#define VMEXIT_VMRUN        0x080
#define VMEXIT_VMMCALL      0x081
#define VMEXIT_VMLOAD       0x082
#define VMEXIT_VMSAVE       0x083
#define VMEXIT_STGI         0x084
#define VMEXIT_CLGI         0x085
#define VMEXIT_SKINIT       0x086
#define VMEXIT_RDTSCP       0x087
#define VMEXIT_MONITOR      0x08A
#define VMEXIT_MWAIT        0x08B
#define VMEXIT_WBINVD       0x089
#define VMEXIT_XSETBV       0x08D
#define VMEXIT_NPF          0x400
#define VMEXIT_INVALID      0xFFFFFFFFu     /* -1 in the 32-bit EXITCODE */

/* EXITINFO1 of MOV-to-CR exits with decode assists (APM Vol. 2 15.33.1) */
#define CR_EXITINFO_MOV     (1ull << 63)
#define CR_EXITINFO_GPR_MASK 0xFull

/* IOIO EXITINFO1 (APM Vol. 2 15.10.2, Figure 15-2) */
#define IOIO_TYPE_IN   (1u << 0)
#define IOIO_STR       (1u << 2)
#define IOIO_REP       (1u << 3)
#define IOIO_SZ8       (1u << 4)
#define IOIO_SZ16      (1u << 5)
#define IOIO_SZ32      (1u << 6)
#define IOIO_A16       (1u << 7)
#define IOIO_A32       (1u << 8)
#define IOIO_A64       (1u << 9)
#define IOIO_SEG_SHIFT 10
#define IOIO_PORT_SHIFT 16

/* NPF EXITINFO1: a #PF-style error code (APM Vol. 2 15.25.6) */
#define NPF_P     (1ull << 0)
#define NPF_WRITE (1ull << 1)
#define NPF_USER  (1ull << 2)
#define NPF_RSVD  (1ull << 3)
#define NPF_FETCH (1ull << 4)

/* Permission maps (APM Vol. 2 15.10.1, 15.11) */
#define IOPM_SIZE   (3 * 4096)
#define MSRPM_SIZE  (2 * 4096)

/* Segment in the VMCB state save area. */
struct vmcb_seg {
    uint16_t sel;
    uint16_t attr;
    uint32_t limit;
    uint64_t base;
};

/* APM Vol. 2 Table B-1: control area, offsets 000h-3FFh. */
struct vmcb_control {
    uint32_t intercept_cr;        /* 000h: reads 0-15, writes 16-31 */
    uint32_t intercept_dr;        /* 004h */
    uint32_t intercept_exceptions;/* 008h */
    uint32_t intercept_misc1;     /* 00Ch */
    uint32_t intercept_misc2;     /* 010h */
    uint32_t intercept_misc3;     /* 014h */
    uint8_t  reserved1[0x03C - 0x018];
    uint16_t pause_filter_threshold; /* 03Ch */
    uint16_t pause_filter_count;  /* 03Eh */
    uint64_t iopm_base_pa;        /* 040h */
    uint64_t msrpm_base_pa;       /* 048h */
    uint64_t tsc_offset;          /* 050h */
    uint32_t asid;                /* 058h */
    uint8_t  tlb_control;         /* 05Ch */
    uint8_t  reserved2[3];
    uint64_t vintr;               /* 060h: V_TPR, V_IRQ, V_INTR_MASKING, ... */
    uint64_t interrupt_shadow;    /* 068h */
    uint64_t exitcode;            /* 070h */
    uint64_t exitinfo1;           /* 078h */
    uint64_t exitinfo2;           /* 080h */
    uint64_t exitintinfo;         /* 088h */
    uint64_t nested_ctl;          /* 090h: NP_ENABLE */
    uint64_t avic_apic_bar;       /* 098h */
    uint64_t ghcb_gpa;            /* 0A0h */
    uint64_t eventinj;            /* 0A8h */
    uint64_t n_cr3;               /* 0B0h */
    uint64_t virt_ext;            /* 0B8h: LBR virtualization, virtual VMLOAD/VMSAVE */
    uint32_t clean;               /* 0C0h: VMCB clean bits */
    uint32_t reserved3;
    uint64_t next_rip;            /* 0C8h */
    uint8_t  insn_len;            /* 0D0h: bytes fetched (decode assists) */
    uint8_t  insn_bytes[15];      /* 0D1h */
    uint8_t  reserved4[0x400 - 0x0E0];
};

/* APM Vol. 2 Table B-2: state save area, offsets 400h-. */
struct vmcb_save {
    struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;  /* 400h-49Fh */
    uint8_t  reserved1[0x4CB - 0x4A0];
    uint8_t  cpl;                 /* 4CBh */
    uint32_t reserved2;
    uint64_t efer;                /* 4D0h */
    uint8_t  reserved3[0x548 - 0x4D8];
    uint64_t cr4;                 /* 548h */
    uint64_t cr3;                 /* 550h */
    uint64_t cr0;                 /* 558h */
    uint64_t dr7;                 /* 560h */
    uint64_t dr6;                 /* 568h */
    uint64_t rflags;              /* 570h */
    uint64_t rip;                 /* 578h */
    uint8_t  reserved4[0x5D8 - 0x580];
    uint64_t rsp;                 /* 5D8h */
    uint64_t s_cet, ssp, isst_addr; /* 5E0h */
    uint64_t rax;                 /* 5F8h */
    uint64_t star;                /* 600h */
    uint64_t lstar;               /* 608h */
    uint64_t cstar;               /* 610h */
    uint64_t sfmask;              /* 618h */
    uint64_t kernel_gs_base;      /* 620h */
    uint64_t sysenter_cs;         /* 628h */
    uint64_t sysenter_esp;        /* 630h */
    uint64_t sysenter_eip;        /* 638h */
    uint64_t cr2;                 /* 640h */
    uint8_t  reserved5[0x668 - 0x648];
    uint64_t g_pat;               /* 668h */
    uint64_t dbgctl;              /* 670h */
};

struct vmcb {
    struct vmcb_control ctl;
    struct vmcb_save save;
    uint8_t pad[4096 - sizeof(struct vmcb_control) - sizeof(struct vmcb_save)];
} __attribute__((aligned(4096)));

#define PAT_POWER_ON_DEFAULT 0x0007040600070406ull   /* SDM Vol. 3A 12.12.4 */
#endif
