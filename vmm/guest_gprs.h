/* Assembler macros shared by the two world-switch stubs (vmm/svm/svm_entry.S,
 * vmm/vmx/vmx_entry.S): move a vCPU's general registers between struct vcpu
 * (gpr[16] at offset 0, in encoding order) and the CPU. RAX, RSP and RDI are left
 * to the stubs: where RAX lives differs by vendor (VMCB or gpr[0]), RSP is in the
 * VMCB/VMCS, and RDI holds the struct vcpu pointer until the last moment. */
#ifndef VMM_GUEST_GPRS_H
#define VMM_GUEST_GPRS_H
#ifdef __ASSEMBLER__

#define GPR(n) (8 * (n))

    .macro LOAD_GUEST_GPRS base
    mov GPR(1)(\base), %rcx
    mov GPR(2)(\base), %rdx
    mov GPR(3)(\base), %rbx
    mov GPR(5)(\base), %rbp
    mov GPR(6)(\base), %rsi
    mov GPR(8)(\base), %r8
    mov GPR(9)(\base), %r9
    mov GPR(10)(\base), %r10
    mov GPR(11)(\base), %r11
    mov GPR(12)(\base), %r12
    mov GPR(13)(\base), %r13
    mov GPR(14)(\base), %r14
    mov GPR(15)(\base), %r15
    .endm

    .macro SAVE_GUEST_GPRS base
    mov %rcx, GPR(1)(\base)
    mov %rdx, GPR(2)(\base)
    mov %rbx, GPR(3)(\base)
    mov %rbp, GPR(5)(\base)
    mov %rsi, GPR(6)(\base)
    mov %r8, GPR(8)(\base)
    mov %r9, GPR(9)(\base)
    mov %r10, GPR(10)(\base)
    mov %r11, GPR(11)(\base)
    mov %r12, GPR(12)(\base)
    mov %r13, GPR(13)(\base)
    mov %r14, GPR(14)(\base)
    mov %r15, GPR(15)(\base)
    .endm

/* Speculative-execution barriers for the stubs' spec variants (vmm/spec.h,
 * docs/security.md), each done only if its flag byte is set. */
#define RSB_ENTRIES 32

    /* After an exit, before the first RET: overwrite the return stack buffer with
     * RSB_ENTRIES entries of hv86's own, so that no RET predicts a return address
     * the guest left there (Intel's "Retpoline" / RSB stuffing guidance). Each CALL
     * pushes a return address that leads only into a speculation trap; then the
     * stack pointer drops them. Clobbers the flags. */
    .macro RSB_FILL_IF flag
    cmpb $0, \flag(%rip)
    je 3f
    .rept RSB_ENTRIES
    call 1f
2:  pause
    lfence
    jmp 2b
1:
    .endr
    add $(8 * RSB_ENTRIES), %rsp
    lfence
3:
    .endm

    /* Right before VM entry: VERW with a memory operand overwrites the CPU's
     * store, fill and load buffers on a CPU with MD_CLEAR (Intel's MDS guidance).
     * The operand is a writable data segment selector (the host's, spec.c).
     * Clobbers the flags. */
    .macro VERW_IF flag
    cmpb $0, \flag(%rip)
    je 4f
    verw spec_verw_sel(%rip)
4:
    .endm

#endif
#endif
