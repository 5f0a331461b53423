/* A virtual CPU: general registers the entry stubs save, plus what the core tracks.
 * Architectural state that lives in the VMCS/VMCB is reached through vcpu_get/set. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H
#include <stdbool.h>
#include <stdint.h>
#include "arch/x86.h"
#include "vmm/exit.h"
#include "vmm/policy/sched_pick.h"

/* General-purpose registers in instruction-encoding order (ModRM reg/rm numbers). */
enum gpr {
    GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
    GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
    GPR_COUNT
};

/* State kept by the backend (VMCS fields / VMCB save area). */
enum vcpu_reg {
    REG_RSP, REG_RIP, REG_RFLAGS,
    REG_CR0, REG_CR2, REG_CR3, REG_CR4, REG_EFER,
    REG_DR7, REG_PAT,
    REG_DR6,            /* SVM: the VMCB's; VMX: kept by the backend, in the
                         * hardware while the vCPU's debug registers are there */
    REG_SYSENTER_CS, REG_SYSENTER_ESP, REG_SYSENTER_EIP,
    REG_CR8,            /* the TPR class as the guest's MOV CR8 sees it: SVM V_TPR,
                         * VMX the virtual-APIC page's VTPR[7:4] */
    REG_COUNT
};

enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR,
               SEG_GDTR, SEG_IDTR, SEG_COUNT };

/* struct segment's attr is the AMD packed form, SEG_ATTR_* in arch/x86.h; VMX
 * converts to and from it. hv86's own addition: */
#define SEG_ATTR_UNUSABLE (1u << 16)  /* VMX "unusable"; on SVM: P clear */

struct segment {
    uint16_t sel;
    uint32_t attr;
    uint32_t limit;
    uint64_t base;
};

enum event_type { EVENT_EXTINT, EVENT_NMI, EVENT_EXCEPTION, EVENT_SOFTINT };

struct event {
    enum event_type type;
    uint8_t vector;
    bool has_error;
    uint32_t error;
};

struct vm;

struct vcpu {
    uint64_t gpr[GPR_COUNT];   /* offsets used by the entry stubs: keep first */
    struct vm *vm;
    unsigned id;
    void *backend;             /* struct svm_vcpu / struct vmx_vcpu */
    uint64_t xcr0;             /* the guest's XCR0, loaded around guest entry */
    void *fpu_area;            /* XSAVE area while another vCPU owns the FPU */
    bool halted;               /* in HLT until an interrupt (vmm/irq.c) */
    bool halted_if;            /* ... with RFLAGS.IF set: an interrupt may wake it */
    bool ready;                /* could run at the start of its CPU's pass (vmm/sched.c) */
    uint64_t run_ns;           /* host CPU time it ran (vmm/sched.c) */
    struct sched_cap cap;      /* its budget when its VM has a cap */
    /* Processor start-up (vmm/startup.c): */
    bool wait_sipi;            /* wait-for-SIPI: not run until a SIPI arrives */
    bool init_pending;         /* an INIT arrived: applied before it runs next */
    bool sipi_pending;         /* a SIPI arrived while waiting: start at sipi_vector */
    uint8_t sipi_vector;
    bool nmi_pending;          /* an NMI waits until the guest can take it */
    bool force_entry;          /* test only: enter even if hv86's checker objects */
    bool event_pending;        /* an exception to inject at the next entry */
    /* irq_prepare_entry's fast path (vmm/irq.c): its last full pass found
     * nothing to do, and the VM's interrupt events it had seen then. */
    bool irq_quiet;
    uint64_t irq_events_seen, irq_timer_seen;
    bool irq_async_exit;       /* the last exit was not the guest's own instruction */
    struct event pending;
    uint64_t exits;            /* total, for statistics */
    uint64_t mtrr_def_type;
    /* Debug registers (docs/security.md): DR0-3 as the guest wrote them. While
     * dr_live is false every MOV DR exits and these are the values; once the
     * guest touched one, MOV DR runs natively and the hardware holds them while
     * this vCPU owns its CPU's debug registers (the backend saves them here when
     * another vCPU takes them). Either way they are loaded before it runs. */
    uint64_t dr[4];
    bool dr_live;
    /* Its TSC minus the host's (mod 2^64): 0 until it writes IA32_TSC (vmm/msr.c);
     * the hardware adds it (vmm_ops.set_tsc_offset), its LAPIC's TSC-deadline and
     * its kvm-clock area follow it. */
    uint64_t tsc_offset;
    /* Its IA32_TSC_AUX (with RDTSCP or RDPID offered): loaded into the hardware
     * for each of its turns (vmm/msr.c, msr_switch_to). */
    uint32_t tsc_aux;
    /* Exception-delivery loop detection (vmm/exit.c): the last reflected #DB/#AC
     * and how often in a row it came at the same RIP. */
    uint64_t loop_rip;
    uint8_t loop_vector;
    uint32_t loop_count;
    /* Shadow paging: the guest-visible control registers and the root in use. */
    struct {
        uint64_t cr0, cr3, cr4, efer;
        int root;                  /* index in the VM's root cache */
        const void *top;           /* that root's top table when the CPU was given it */
        uint64_t fault_addr, fault_rip, fault_exit;   /* the last shadow fault */
        unsigned repeats;          /* how often it came back at once */
        uint64_t tlb_gen;          /* the VM's shadow tlb_gen at its last flush */
    } sh;
};

/* Register access through the backend (vmm/vcpu.c). */
uint64_t vcpu_get(struct vcpu *v, enum vcpu_reg r);
void vcpu_set(struct vcpu *v, enum vcpu_reg r, uint64_t val);
void vcpu_get_seg(struct vcpu *v, enum seg_reg s, struct segment *out);
void vcpu_set_seg(struct vcpu *v, enum seg_reg s, const struct segment *in);
/* The segment state an entry protocol hands over (multiboot, Linux, a SIPI): CS,
 * one data segment for SS, DS, ES, FS and GS, TR, LDTR and the table registers. */
struct seg_state { struct segment cs, data, tr, ldtr, gdtr, idtr; };
void vcpu_set_segs(struct vcpu *v, const struct seg_state *s);
/* Queue an exception for the next entry (error < 0: none). */
void vcpu_inject_exception(struct vcpu *v, uint8_t vector, int64_t error);
#endif
