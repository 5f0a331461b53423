/* The world switch for VT-x (SDM Vol. 3C 27 VM entries, 28.5 host state on exit).
 *
 * enum vmx_result vmx_enter(struct vcpu *v, bool launched, uint64_t *host_rsp)
 *
 * VM entry loads guest RIP/RSP/RFLAGS from the VMCS but no other general register,
 * and VM exit restores only the host RIP and RSP from the VMCS (28.5.1): this stub
 * moves the other GPRs to and from struct vcpu (gpr[16] at offset 0 in encoding
 * order; the RSP slot is unused, RSP lives in the VMCS). HOST_RSP points at this
 * stub's own frame, so the exit "returns" into it: no separate exit stack, and the
 * C caller sees an ordinary call. The frame sits at the same depth on every call
 * from the run loop, so HOST_RSP is rewritten only when it moved.
 *
 * Returns VMX_OK after a VM exit, or the VMfail kind if the instruction itself
 * failed (31.2): the guest state is then untouched and the error is in the VMCS. */
#include "vmm/guest_gprs.h"
#include "vmm/vmx/vmx_defs.h"

/* enum vmx_result (vmm/vmx/vmcs.h) */
#define RESULT_OK           0
#define RESULT_FAIL_VALID   1
#define RESULT_FAIL_INVALID 2

    .text
    .globl vmx_enter
    .type vmx_enter, @function
vmx_enter:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi                       /* vcpu: at (%rsp) == HOST_RSP after an exit */
    cmp %rsp, (%rdx)
    je 1f
    mov %rsp, (%rdx)
    mov $VMCS_HOST_RSP, %eax
    vmwrite %rsp, %rax
    jbe .Lfail                      /* CF or ZF: VMfail */
1:  test %sil, %sil                 /* launched (a bool: only the low byte is defined) */
    LOAD_GUEST_GPRS %rdi
    mov GPR(0)(%rdi), %rax
    mov GPR(7)(%rdi), %rdi
    jnz 2f
    vmlaunch
    jmp .Lfail
2:  vmresume
.Lfail:                             /* fell through: CF=1 VMfailInvalid, ZF=1 VMfailValid */
    mov $RESULT_FAIL_INVALID, %eax
    jc .Lreturn
    mov $RESULT_FAIL_VALID, %eax
.Lreturn:
    add $8, %rsp                    /* vcpu */
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
    .size vmx_enter, . - vmx_enter

/* HOST_RIP: the CPU arrives here on every VM exit with RSP = HOST_RSP, RFLAGS = 2
 * (interrupts off, DF clear) and the guest's GPRs still in the registers. */
    .globl vmx_exit_stub
    .type vmx_exit_stub, @function
vmx_exit_stub:
    push %rdi                       /* guest RDI */
    mov 8(%rsp), %rdi               /* vcpu */
    mov %rax, GPR(0)(%rdi)
    SAVE_GUEST_GPRS %rdi
    popq GPR(7)(%rdi)
    mov $RESULT_OK, %eax
    jmp .Lreturn
    .size vmx_exit_stub, . - vmx_exit_stub
    .section .note.GNU-stack,"",@progbits
