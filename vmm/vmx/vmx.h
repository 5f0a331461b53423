/* Internal interface of the Intel VT-x backend. */
#ifndef VMM_VMX_VMX_H
#define VMM_VMX_VMX_H
#include "kernel/cpu.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"
#include "vmm/vmx/vmcs.h"
#include "vmm/vmx/vmcs_check.h"
#include "vmm/vmx/vmx_controls_pure.h"
#include "vmm/vmx/vmx_defs.h"

/* The MSRs VMX does not switch but the guest owns (SYSCALL and SWAPGS state):
 * passed through like on SVM, and swapped in software when another vCPU runs. */
enum { LAZY_KERNEL_GS_BASE, LAZY_STAR, LAZY_LSTAR, LAZY_CSTAR, LAZY_SFMASK, LAZY_MSR_COUNT };

struct vmx_vcpu {
    struct vmcs vmcs;
    uint16_t vpid;                 /* 0: VPID not in use */
    bool checked;                  /* hv86's checker ran before the first VMLAUNCH */
    uint64_t host_rsp;             /* HOST_RSP as last written by vmx_entry.S */
    uint64_t host_cr0, host_cr3, host_cr4;  /* HOST_CR* as last written */
    int host_cpu;                  /* whose host state (GDT, TSS, GS base) the VMCS has */
    uint64_t cr2;                  /* the guest's CR2: VMX does not switch it */
    uint64_t lazy_msrs[LAZY_MSR_COUNT];
    void *vapic;                   /* virtual-APIC page: CR8 reads/writes land here */
    uint32_t proc;                 /* the primary controls as written (windows) */
    uint8_t tpr_threshold;         /* as written */
    uint8_t last_insn_len;         /* of the last exit, for soft-event injection */
    uint64_t dr6;                  /* the guest's DR6 (not in the VMCS) while not in
                                    * the hardware (vmx_pcpu.dr_owner) */
    /* Shadow paging without unrestricted guest: real mode runs in virtual-8086
     * mode (vmx_vcpu.c), on a TSS of hv86's whose I/O bitmap lets every port
     * through to the I/O-bitmap exits. */
    bool v86;                      /* the guest is in real mode, run as virtual-8086 */
    void *v86_tss;                 /* V86_TSS_PAGES pages */
    struct segment saved_tr;       /* the guest's TR while hv86's TSS is loaded */
    uint64_t saved_iopl;           /* the guest's RFLAGS.IOPL (the CPU runs with 3) */
    uint32_t saved_idt_limit;      /* the guest's IDTR limit (the CPU runs with 0) */
    /* Shadow paging: the CR0, CR4 and EFER values vmx_set_paging last wrote
     * (valid once it has), so a CR3 load, which changes none of them, writes
     * GUEST_CR3 alone. */
    struct paging_regs paging_guest, paging_hw;
    bool paging_set;
    char msg[128];                 /* text for exit->invalid.rule */
};

struct vmx_vm {
    uint64_t *ept_root;            /* EPT PML4 */
    uint64_t eptp;
    uint64_t ept_pages;            /* table pages, for statistics */
};

/* What each CPU has of its own in VMX operation (SDM Vol. 3C 24.7, 24.11). */
struct vmx_pcpu {
    bool on;                       /* in VMX operation */
    void *vmxon_region;
    struct vcpu *lazy_owner;       /* whose lazy MSRs are in the hardware */
    /* The vCPU that entered last here, with its host state, host CRs and lazy
     * MSRs in place: its next entry skips those checks, which nothing between
     * two of its exits changes (vmx_vcpu_run). Cleared when it leaves the CPU. */
    struct vcpu *entered;
    struct vcpu *dr_owner;         /* whose DR0-3 and DR6 are in the hardware */
};

/* The capabilities, controls and bitmaps, the same on every CPU (the first
 * vmx_cpu_init sets them), and the per-CPU part. */
struct vmx_cpu {
    struct vmx_pcpu pcpu[HOST_MAX_CPUS];
    struct vmx_cap_msrs caps;      /* the control MSRs in force (TRUE_* if offered) */
    struct vmx_controls ctls;
    uint64_t cr0_mask, cr4_mask;   /* guest/host masks: bits whose writes exit */
    uint8_t *io_bitmaps;           /* A and B, 2 pages: every port intercepted */
    uint8_t *msr_bitmap;           /* 1 page */
};
extern struct vmx_cpu vmx_cpu;

static inline struct vmx_pcpu *vmx_here(void) { return &vmx_cpu.pcpu[this_cpu()->index]; }

/* ept.c */
int ept_vm_init(struct vm *vm);
void ept_vm_fini(struct vm *vm);
int ept_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot);
void ept_invalidate(struct vmx_vm *x);

/* vmx_vcpu.c */
int vmx_vcpu_init(struct vcpu *v);
void vmx_vcpu_fini(struct vcpu *v);
void vmx_refresh_host_state(struct vmx_vcpu *x);
/* v runs on this CPU next: if it ran elsewhere last, flush what this CPU may hold
 * of it and write the host state for this CPU (the VMCS must be current). */
void vmx_vcpu_arrive(struct vcpu *v);
uint64_t vmx_get_reg(struct vcpu *v, enum vcpu_reg r);
void vmx_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val);
void vmx_get_seg(struct vcpu *v, enum seg_reg s, struct segment *out);
void vmx_set_seg(struct vcpu *v, enum seg_reg s, const struct segment *in);
bool vmx_can_inject(struct vcpu *v, enum event_type t);
void vmx_request_window(struct vcpu *v, enum event_type t, bool on);
void vmx_watch_tpr(struct vcpu *v, uint8_t class);
void vmx_dr_load(struct vmx_pcpu *here, struct vcpu *v);
void vmx_dr_passthrough(struct vcpu *v);
void vmx_set_tsc_offset(struct vcpu *v, uint64_t offset);

void vmx_v86_update(struct vcpu *v, bool real_mode);
bool vmx_v86_deliver(struct vcpu *v, uint8_t vector, uint64_t return_ip);

/* vmx_exit.c */
void vmx_inject_pending(struct vcpu *v);
/* Fill *e from the exit just taken; false if the backend handled the exit itself
 * and the guest should simply be re-entered. */
bool vmx_translate_exit(struct vcpu *v, struct vm_exit *e);
void vmx_entry_failed(struct vcpu *v, struct vm_exit *e, enum vmx_result r);
bool vmx_check_state(struct vcpu *v, struct vm_exit *e);

/* vmx_entry.S: enter the guest with the current VMCS; returns on the next exit
 * (VMX_OK) or when VMLAUNCH/VMRESUME itself fails. */
enum vmx_result vmx_enter(struct vcpu *v, bool launched, uint64_t *host_rsp);
void vmx_exit_stub(void);
/* The same with the speculative-execution barriers (vmm/spec.h): VERW right
 * before VMLAUNCH/VMRESUME and the RSB filled right after the exit, each if the
 * plan says so. HOST_RIP is vmx_exit_stub_spec while spec_needs_variant(). */
enum vmx_result vmx_enter_spec(struct vcpu *v, bool launched, uint64_t *host_rsp);
void vmx_exit_stub_spec(void);
#endif
