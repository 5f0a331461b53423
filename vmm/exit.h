/* The common exit record: each backend translates its vendor exit (VMCS exit
 * reason + qualification, VMCB EXITCODE + EXITINFO) into one of these, and the core
 * dispatches on .kind alone. */
#ifndef VMM_EXIT_H
#define VMM_EXIT_H
#include <stdbool.h>
#include <stdint.h>

enum exit_kind {
    EXIT_IO,              /* IN/OUT/INS/OUTS */
    EXIT_PAGING,          /* EPT violation / NPT fault: a GPA with no mapping allowing the access */
    EXIT_CPUID,
    EXIT_MSR_READ,
    EXIT_MSR_WRITE,
    EXIT_CR_ACCESS,
    EXIT_XSETBV,
    EXIT_INVLPG,
    EXIT_INVPCID,         /* shadow paging only (VMX: INVLPG exiting covers it) */
    EXIT_EXCEPTION,       /* an intercepted guest exception */
    EXIT_HLT,
    EXIT_HYPERCALL,       /* VMCALL / VMMCALL */
    EXIT_INIT,
    EXIT_SIPI,
    EXIT_SHUTDOWN,        /* triple fault */
    EXIT_INVALID_STATE,   /* VM entry refused the guest state */
    EXIT_EXTINT,          /* a host interrupt arrived while the guest ran */
    EXIT_PREEMPT,         /* the host's time slice for this vCPU ended */
    EXIT_INTR_WINDOW,     /* the guest can take an interrupt now */
    EXIT_UD,              /* an instruction hv86 does not offer (VMRUN, VMXON, ...): #UD */
    EXIT_DR_ACCESS,       /* MOV to/from DR0-7 while the vCPU's debug registers are intercepted */
    EXIT_INVD,            /* INVD: completed as a no-op, never executed */
    EXIT_WBINVD,          /* WBINVD (SVM): completed as a no-op */
    EXIT_UNKNOWN,
    EXIT_KIND_COUNT
};

/* Access kinds, for EXIT_PAGING. */
#define ACCESS_READ  1u
#define ACCESS_WRITE 2u
#define ACCESS_EXEC  4u

/* For EXIT_CR_ACCESS when the CPU does not name the register (AMD without decode
 * assists, or CLTS/LMSW): the core decodes the instruction. */
#define CR_GPR_DECODE 0xff

struct vm_exit {
    enum exit_kind kind;
    uint64_t rip;          /* guest RIP of the exiting instruction */
    uint8_t insn_len;      /* 0: unknown, the core decodes the instruction */
    uint64_t hw_reason;    /* the vendor's own code, for logs and statistics */
    union {
        struct { uint16_t port; uint8_t size; bool in, string, rep; } io;
        struct { uint64_t gpa; unsigned access; bool gla_valid; uint64_t gla; } paging;
        struct { uint32_t index; } msr;
        struct { uint8_t cr; uint8_t gpr; bool write; } cr;   /* gpr CR_GPR_DECODE: the core decodes */
        /* dr6: for #DB, the DR6 bits the CPU reported without writing DR6 (VMX
         * exit qualification, SDM Vol. 3C 28.2.1); 0 where the CPU wrote them
         * into the guest's DR6 itself (SVM: the VMCB's). */
        struct { uint8_t vector; bool has_error; uint32_t error; uint64_t cr2; uint64_t dr6;
                 bool in_delivery; /* raised while delivering an event */ } exc;
        struct { uint8_t dr; uint8_t gpr; bool write; } dr;   /* gpr CR_GPR_DECODE: the core decodes */
        struct { const char *field; const char *rule; } invalid;
        struct { uint32_t vector; } sipi;
        struct { bool valid; uint64_t gva; } invlpg;   /* !valid: the core decodes */
        struct { uint64_t type, desc; } invpcid;       /* desc: linear address */
    };
};

const char *exit_kind_name(enum exit_kind k);

struct vcpu;
/* Handle one exit of v (vmm/exit.c). */
void exit_dispatch(struct vcpu *v, const struct vm_exit *e);
/* One guest port access through the VM's devices; false if the VM stopped. */
bool io_port_access(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *val);
#endif
