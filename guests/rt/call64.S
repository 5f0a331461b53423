/* rt_call64: run a piece of 64-bit code from the 32-bit runtime and come back.
 *
 *   void rt_call64(uint32_t cr3, void (*fn64)(void), uint32_t arg)
 *
 * Enters IA-32e mode the architectural way (Intel SDM Vol. 3A 9.8.5: CR4.PAE, CR3,
 * EFER.LME, then CR0.PG; AMD APM Vol. 2 14.6), jumps to a 64-bit code segment,
 * calls fn64 (64-bit code ending in ret) with arg zero-extended in RBX, returns to
 * compatibility mode by a far return and leaves long mode by clearing CR0.PG, then
 * EFER.LME and CR4.PAE (SDM 9.8.5.4). cr3 must map this code and the stack 1:1.
 * fn64 may use every register: EBP, EBX, ESI and EDI are saved here. The runtime's
 * IDT has 32-bit gates only: an exception inside fn64 ends in a triple fault. */
#include "guests/rt/rt_defs.h"

    .text
    .code32
    .globl rt_call64
rt_call64:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl 20(%esp), %eax             /* cr3 */
    movl 24(%esp), %esi             /* fn64 */
    movl 28(%esp), %ebx             /* arg */
    movl %eax, %cr3
    movl %cr4, %eax
    orl $RT_CR4_PAE, %eax
    movl %eax, %cr4
    movl $RT_MSR_EFER, %ecx
    rdmsr
    orl $RT_EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $RT_CR0_PG, %eax
    movl %eax, %cr0                 /* IA-32e mode, still compatibility mode */
    ljmp $RT_SEL_CODE64, $1f
    .code64
1:  movl %esp, %esp                 /* upper halves are undefined after the switch */
    movl %esi, %esi
    movl %ebx, %ebx
    call *%rsi
    pushq $RT_SEL_CODE32            /* far return to compatibility mode */
    movl $2f, %eax
    pushq %rax
    lretq
    .code32
2:  movl %cr0, %eax
    andl $~RT_CR0_PG, %eax
    movl %eax, %cr0                 /* paging off: leaves IA-32e mode */
    movl $RT_MSR_EFER, %ecx
    rdmsr
    andl $~RT_EFER_LME, %eax
    wrmsr
    movl %cr4, %eax
    andl $~RT_CR4_PAE, %eax
    movl %eax, %cr4
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
    .section .note.GNU-stack,"",@progbits
