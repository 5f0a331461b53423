/* Internal interface of the AMD-V backend. */
#ifndef VMM_SVM_SVM_H
#define VMM_SVM_SVM_H
#include "kernel/cpu.h"
#include "vmm/svm/svm_defs.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

struct svm_vcpu {
    struct vmcb *vmcb;
    bool launched_once;           /* consistency check done before the first VMRUN */
    int asid_cpu;                 /* the CPU whose ASID space its ASID is from */
    uint32_t asid_generation;
    bool nmi_blocked;             /* an injected NMI's handler has not IRETed yet */
    bool iret_step;               /* single-stepping the IRET that ends it (svm_exit.c) */
    bool iret_step_guest_tf;      /* the guest's own TF was set at that IRET */
    bool efer_lme;                /* the guest's EFER.LME, kept out of the VMCB while
                                     its paging is off (vmcb.c, svm_set_reg) */
};

struct svm_vm {
    uint64_t *npt_root;           /* PML4 of the nested page tables */
    uint64_t npt_pages;           /* table pages in use, for statistics */
};

/* What each CPU has of its own (APM Vol. 2 15.30.4 VM_HSAVE_PA; ASIDs tag one
 * CPU's TLB, 15.16). */
struct svm_pcpu {
    void *hsave;                  /* VM_HSAVE_PA: the CPU's host state on VMRUN */
    struct vmcb *host_vmcb;       /* host FS/GS/TR/... via VMSAVE/VMLOAD */
    uint32_t next_asid, asid_generation;
    struct vcpu *dr_owner;        /* whose DR0-3 are in the hardware (svm_vcpu_run) */
};

/* What all CPUs share (the first svm_cpu_init sets it) and the per-CPU part. */
struct svm_cpu {
    struct svm_pcpu pcpu[HOST_MAX_CPUS];
    uint8_t *iopm;                /* shared: every port intercepted */
    uint8_t *msrpm;               /* shared: the MSR policy's pass-through set */
    uint32_t features;            /* CPUID 8000_000A EDX */
    uint32_t nasids;
    unsigned phys_bits;
};
extern struct svm_cpu svm_cpu;

static inline struct svm_pcpu *svm_here(void) { return &svm_cpu.pcpu[this_cpu()->index]; }

void svm_enter(struct vcpu *v, uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa);
/* The same with the speculative-execution barriers (vmm/spec.h): VERW before
 * VMRUN and the RSB filled after it, each if the plan says so. */
void svm_enter_spec(struct vcpu *v, uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa);
int npt_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot);
void npt_free(struct vm *vm);
void svm_translate_exit(struct vcpu *v, struct vm_exit *e);
int svm_vcpu_init(struct vcpu *v);
void svm_vcpu_fini(struct vcpu *v);
uint64_t svm_get_reg(struct vcpu *v, enum vcpu_reg r);
void svm_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val);
void svm_get_seg(struct vcpu *v, enum seg_reg s, struct segment *out);
void svm_set_seg(struct vcpu *v, enum seg_reg s, const struct segment *in);
bool svm_can_inject(struct vcpu *v, enum event_type t);
void svm_request_window(struct vcpu *v, enum event_type t, bool on);
void svm_watch_tpr(struct vcpu *v, uint8_t class);
#endif
