/* World switch for AMD-V (APM Vol. 2 15.5 VMRUN, 15.5.2 VMSAVE/VMLOAD).
 * VMRUN switches only part of the state: FS, GS, TR, LDTR, KernelGSBase, STAR,
 * LSTAR, CSTAR, SFMASK and SYSENTER_* move with VMLOAD/VMSAVE, so the guest's are
 * loaded before and saved after, and the host's reloaded from its own save page.
 *
 * void svm_enter(struct vcpu *v, uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa)
 * struct vcpu starts with gpr[16] in encoding order; RAX and RSP live in the VMCB. */
#define GPR(n) (8 * (n))
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
    mov GPR(1)(%rdi), %rcx
    mov GPR(2)(%rdi), %rdx
    mov GPR(3)(%rdi), %rbx
    mov GPR(5)(%rdi), %rbp
    mov GPR(6)(%rdi), %rsi
    mov GPR(8)(%rdi), %r8
    mov GPR(9)(%rdi), %r9
    mov GPR(10)(%rdi), %r10
    mov GPR(11)(%rdi), %r11
    mov GPR(12)(%rdi), %r12
    mov GPR(13)(%rdi), %r13
    mov GPR(14)(%rdi), %r14
    mov GPR(15)(%rdi), %r15
    mov GPR(7)(%rdi), %rdi
    vmload %rax
    vmrun %rax
    vmsave %rax
    push %rdi                       /* guest RDI */
    mov 8(%rsp), %rdi               /* vcpu */
    mov %rcx, GPR(1)(%rdi)
    mov %rdx, GPR(2)(%rdi)
    mov %rbx, GPR(3)(%rdi)
    mov %rbp, GPR(5)(%rdi)
    mov %rsi, GPR(6)(%rdi)
    popq GPR(7)(%rdi)
    mov %r8, GPR(8)(%rdi)
    mov %r9, GPR(9)(%rdi)
    mov %r10, GPR(10)(%rdi)
    mov %r11, GPR(11)(%rdi)
    mov %r12, GPR(12)(%rdi)
    mov %r13, GPR(13)(%rdi)
    mov %r14, GPR(14)(%rdi)
    mov %r15, GPR(15)(%rdi)
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
