/* The one table through which the arch-neutral core drives the hardware.
 * vmm/svm/ and vmm/vmx/ each fill one; the core never asks which it has
 * (compare bhyve's struct vmm_ops). */
#ifndef VMM_VMM_OPS_H
#define VMM_VMM_OPS_H
#include <stddef.h>
#include <stdint.h>
#include "vmm/vcpu.h"

struct vm;

/* Protection for map(). */
#define MAP_R 1u
#define MAP_W 2u
#define MAP_X 4u
#define MAP_RWX (MAP_R | MAP_W | MAP_X)

struct vmm_caps {
    bool nested_paging;        /* EPT / NPT */
    bool tagged_tlb;           /* VPID / ASID */
    bool next_rip;             /* the CPU reports instruction lengths on exits */
    bool unrestricted;         /* real mode / paging off without tricks */
    bool decode_assists;       /* the CPU hands over the exiting instruction's bytes */
    unsigned tlb_tags;         /* number of VPIDs / ASIDs */
    bool shadow_real_mode;     /* shadow paging can run a real-mode guest */
};

/* Control registers for set_paging: the guest's view, and what the CPU runs with. */
struct paging_regs { uint64_t cr0, cr3, cr4, efer; };

struct vmm_ops {
    const char *name;                       /* "svm" / "vmx" */
    /* Probe: 0 if this CPU offers the extension; fills caps and a reason if not. */
    int  (*probe)(struct vmm_caps *caps, const char **why);
    int  (*cpu_init)(void);                 /* VMXON / EFER.SVME + host save area */
    void (*cpu_fini)(void);                 /* VMXOFF / clear SVME */
    /* Nested page table root; with vm->shadow set, intercepts for shadow paging
     * instead (vcpu_init reads it too). */
    int  (*vm_init)(struct vm *vm);
    void (*vm_fini)(struct vm *vm);
    /* Map [gpa, gpa+size) to [hpa, hpa+size) in the VM's nested tables. */
    int  (*map)(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot);
    int  (*vcpu_init)(struct vcpu *v);      /* VMCS / VMCB with a reset state */
    void (*vcpu_fini)(struct vcpu *v);
    /* This CPU is done with v for now; v may run on another CPU next (VMX:
     * VMCLEAR here, SDM Vol. 3C 25.11.1). Called on the CPU that ran v last. */
    void (*vcpu_unload)(struct vcpu *v);
    /* Enter the guest until the next exit; inject v->pending first if set. */
    int  (*vcpu_run)(struct vcpu *v, struct vm_exit *exit);
    /* The same with the speculative-execution barriers the plan asks for
     * (vmm/spec.h); hv.c puts it in vcpu_run's place when they are needed, so
     * the plain path carries no test for them. */
    int  (*vcpu_run_spec)(struct vcpu *v, struct vm_exit *exit);
    uint64_t (*get_reg)(struct vcpu *v, enum vcpu_reg r);
    void (*set_reg)(struct vcpu *v, enum vcpu_reg r, uint64_t val);
    void (*get_seg)(struct vcpu *v, enum seg_reg s, struct segment *out);
    void (*set_seg)(struct vcpu *v, enum seg_reg s, const struct segment *in);
    /* Interrupt delivery (vmm/irq.c). Whether the guest can take an event of
     * type t (EVENT_EXTINT or EVENT_NMI) at the next entry: an external
     * interrupt needs RFLAGS.IF = 1 and no STI / MOV SS shadow (SVM
     * INTERRUPT_SHADOW, VMX interruptibility state bits 0-1); an NMI needs no
     * NMI in service (until its IRET) and no shadow. */
    bool (*can_inject)(struct vcpu *v, enum event_type t);
    /* Exit (EXIT_INTR_WINDOW) as soon as the guest can take an event of type t,
     * or stop asking (on = false). SVM: V_IRQ with the VINTR intercept (APM
     * 15.21.4), IRET intercept for NMIs; VMX: interrupt- and NMI-window exiting
     * (SDM Vol. 3C 25.6.2, 26.7.5-6). */
    void (*request_window)(struct vcpu *v, enum event_type t, bool on);
    /* Exit (EXIT_INTR_WINDOW or EXIT_CR_ACCESS of CR8) when the guest lowers
     * CR8 below class (1-15); 0: never. For an interrupt the TPR holds back. */
    void (*watch_tpr)(struct vcpu *v, uint8_t class);
    /* Shadow paging only: run the guest with hw's CR0/CR3/CR4/EFER while it reads
     * guest's (read shadows, or intercepted reads), and drop the guest's TLB tag
     * (the shadow tables changed). */
    void (*set_paging)(struct vcpu *v, const struct paging_regs *guest,
                       const struct paging_regs *hw);
    void (*flush_tlb)(struct vcpu *v);
    /* The guest touched a debug register: stop intercepting MOV DR for v and run
     * it with its DR0-3 (and DR6 where the CPU does not switch it) in the
     * hardware from its next entry on (v->dr_live). */
    void (*dr_passthrough)(struct vcpu *v);
    /* The guest's TSC is the host's plus offset (mod 2^64) for RDTSC, RDTSCP and
     * its IA32_TSC (SDM Vol. 3C 26.6.5 "TSC offsetting"; APM Vol. 2 15.30.5
     * TSC_OFFSET); v->tsc_offset holds it for hv86's own reads. */
    void (*set_tsc_offset)(struct vcpu *v, uint64_t offset);
};

extern const struct vmm_ops svm_ops;
extern const struct vmm_ops vmx_ops;
extern const struct vmm_ops *vmm;   /* the backend in use, chosen at boot */
extern struct vmm_caps vmm_caps;
#endif
