/* World switch for AMD-V (APM Vol. 2 15.5 VMRUN, 15.5.2 VMSAVE/VMLOAD).
 * VMRUN switches only part of the state: FS, GS, TR, LDTR, KernelGSBase, STAR,
 * LSTAR, CSTAR, SFMASK and SYSENTER_* move with VMLOAD/VMSAVE, so the guest's are
 * loaded before and saved after, and the host's reloaded from its own save page.
 *
 * void svm_enter(struct vcpu *v, uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa)
 * struct vcpu starts with gpr[16] in encoding order; RAX and RSP live in the VMCB. */
#include "vmm/guest_gprs.h"
    .text
    .globl svm_enter
svm_enter:
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
    LOAD_GUEST_GPRS %rdi
    mov GPR(7)(%rdi), %rdi
    vmload %rax
    vmrun %rax
    vmsave %rax
    push %rdi                       /* guest RDI */
    mov 8(%rsp), %rdi               /* vcpu */
    SAVE_GUEST_GPRS %rdi
    popq GPR(7)(%rdi)
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
    .section .note.GNU-stack,"",@progbits
