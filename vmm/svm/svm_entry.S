/* World switch for AMD-V (APM Vol. 2 15.5 VMRUN, 15.5.2 VMSAVE/VMLOAD).
 * VMRUN switches only part of the state: FS, GS, TR, LDTR, KernelGSBase, STAR,
 * LSTAR, CSTAR, SFMASK and SYSENTER_* move with VMLOAD/VMSAVE, so the guest's are
 * loaded before and saved after, and the host's reloaded from its own save page.
 *
 * void svm_enter(struct vcpu *v, uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa)
 * struct vcpu starts with gpr[16] in encoding order; RAX and RSP live in the VMCB. */
#include "vmm/guest_gprs.h"
/* As a macro: plain, and with the spec barriers (vmm/spec.h): VERW right before
 * VMRUN, the RSB filled right after the guest's registers are saved, before the
 * first RET. */
    .macro SVM_ENTER name, spec
    .globl \name
    .type \name, @function
\name:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdx                       /* host VMCB */
    push %rdi                       /* vcpu */
    mov %rsi, %rax
    clgi                            /* no interrupt or NMI between here and VMRUN */
    sti                             /* host IF=1 at VMRUN: with V_INTR_MASKING a host
                                       interrupt then exits the guest (APM 15.21.1) */
    .if \spec
    VERW_IF spec_verw_on_entry
    .endif
    LOAD_GUEST_GPRS %rdi
    mov GPR(7)(%rdi), %rdi
    vmload %rax
    vmrun %rax
    vmsave %rax
    push %rdi                       /* guest RDI */
    mov 8(%rsp), %rdi               /* vcpu */
    SAVE_GUEST_GPRS %rdi
    popq GPR(7)(%rdi)
    .if \spec
    RSB_FILL_IF spec_rsb_on_exit
    .endif
    add $8, %rsp
    pop %rax                        /* host VMCB */
    vmload %rax
    cli                             /* a pending host interrupt waits for the core */
    stgi
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
    .size \name, . - \name
    .endm

    .text
    SVM_ENTER svm_enter, 0
    SVM_ENTER svm_enter_spec, 1
    .section .note.GNU-stack,"",@progbits
