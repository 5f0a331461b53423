/* Exception entry stubs: push a uniform frame (SDM Vol. 3A 6.12) and call
 * trap_handler(struct trap_frame *). Host exceptions are fatal in hv86. */
    .text
    .macro ISR_NOERR n
    .globl isr\n
isr\n:
    pushq $0
    pushq $\n
    jmp isr_common
    .endm
    .macro ISR_ERR n
    .globl isr\n
isr\n:
    pushq $\n
    jmp isr_common
    .endm

    ISR_NOERR 0
    ISR_NOERR 1
    ISR_NOERR 2
    ISR_NOERR 3
    ISR_NOERR 4
    ISR_NOERR 5
    ISR_NOERR 6
    ISR_NOERR 7
    ISR_ERR   8
    ISR_NOERR 9
    ISR_ERR   10
    ISR_ERR   11
    ISR_ERR   12
    ISR_ERR   13
    ISR_ERR   14
    ISR_NOERR 15
    ISR_NOERR 16
    ISR_ERR   17
    ISR_NOERR 18
    ISR_NOERR 19
    ISR_NOERR 20
    ISR_ERR   21
    ISR_NOERR 22
    ISR_NOERR 23
    ISR_NOERR 24
    ISR_NOERR 25
    ISR_NOERR 26
    ISR_NOERR 27
    ISR_NOERR 28
    ISR_ERR   29
    ISR_ERR   30
    ISR_NOERR 31

/* A host interrupt handled by one C function: save the registers the C calling
 * convention lets it clobber, call it, return. */
    .macro IRQ_CALL name, handler
    .globl \name
\name:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    cld
    call \handler
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    iretq
    .endm

/* The host tick (kernel/timer.c): count, EOI. */
    IRQ_CALL isr_timer, timer_interrupt
/* A kick from another CPU (cpu_kick): its only job was to end a HLT or a guest's
 * turn, so it just acknowledges the interrupt. */
    IRQ_CALL isr_kick, host_apic_eoi

/* APIC spurious interrupts need no EOI (SDM Vol. 3A 11.9). */
    .globl isr_spurious
isr_spurious:
    iretq

isr_common:
    /* struct trap_frame: r15..rax pushed here, then vector, error, rip, cs, rflags, rsp, ss */
    push %rax
    push %rcx
    push %rdx
    push %rbx
    push %rbp
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call trap_handler
1:  cli
    hlt
    jmp 1b

    .section .rodata
    .globl isr_table
    .balign 8
isr_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr\n
    .endr
    .section .note.GNU-stack,"",@progbits
