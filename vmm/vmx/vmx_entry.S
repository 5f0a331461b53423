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

/* The entry stub, as a macro: plain, and with the spec barriers (VERW just before
 * VMLAUNCH/VMRESUME, after which no host data is read). */
    .macro VMX_ENTER name, spec
    .globl \name
    .type \name, @function
\name:
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
    jbe .Lfail\@                    /* CF or ZF: VMfail */
1:
    .if \spec
    VERW_IF spec_verw_on_entry
    .endif
    test %sil, %sil                 /* launched (a bool: only the low byte is defined) */
    LOAD_GUEST_GPRS %rdi
    mov GPR(0)(%rdi), %rax
    mov GPR(7)(%rdi), %rdi
    jnz 2f
    vmlaunch
    jmp .Lfail\@
2:  vmresume
.Lfail\@:                           /* fell through: CF=1 VMfailInvalid, ZF=1 VMfailValid */
    mov $RESULT_FAIL_INVALID, %eax
    jc .Lreturn
    mov $RESULT_FAIL_VALID, %eax
    jmp .Lreturn
    .size \name, . - \name
    .endm

    .text
    VMX_ENTER vmx_enter_spec, 1
    VMX_ENTER vmx_enter, 0
.Lreturn:                           /* vmx_enter's epilogue, and both exit stubs' */
    add $8, %rsp                    /* vcpu */
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/* HOST_RIP: the CPU arrives here on every VM exit with RSP = HOST_RSP, RFLAGS = 2
 * (interrupts off, DF clear) and the guest's GPRs still in the registers. The spec
 * variant fills the RSB before the RET at .Lreturn. */
    .macro VMX_EXIT_STUB name, spec
    .globl \name
    .type \name, @function
\name:
    push %rdi                       /* guest RDI */
    mov 8(%rsp), %rdi               /* vcpu */
    mov %rax, GPR(0)(%rdi)
    SAVE_GUEST_GPRS %rdi
    popq GPR(7)(%rdi)
    .if \spec
    RSB_FILL_IF spec_rsb_on_exit
    .endif
    mov $RESULT_OK, %eax
    jmp .Lreturn
    .size \name, . - \name
    .endm

    VMX_EXIT_STUB vmx_exit_stub, 0
    VMX_EXIT_STUB vmx_exit_stub_spec, 1
    .section .note.GNU-stack,"",@progbits
