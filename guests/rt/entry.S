/* Guest runtime entry: multiboot v1 header, GDT, exception stubs, rt_try.
 * Multiboot 0.6.96 section 3.2: at entry EAX = 0x2BADB002, EBX = info, flat
 * 32-bit protected mode, paging off, GDTR/IDTR undefined, interrupts off. */

#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00000003      /* page-aligned modules, memory info */

	.section .multiboot, "a"
	.balign 4
	.long MB_HEADER_MAGIC
	.long MB_HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

	.data
	.globl rt_mb_magic, rt_mb_info_addr
rt_mb_magic:     .long 0        /* in .data: .bss is cleared after they are saved */
rt_mb_info_addr: .long 0

	.balign 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff        /* 0x08 code32: base 0, 4 GiB, D=1 */
	.quad 0x00cf92000000ffff        /* 0x10 data32 */
	.quad 0x00009a000000ffff        /* 0x18 code16: base 0, 64 KiB, D=0 */
	.quad 0x000092000000ffff        /* 0x20 data16 */
	.quad 0x00af9a000000ffff        /* 0x28 code64: L=1, D=0 */
gdt_end:
	.balign 4
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.text
	.globl _start
_start:
	cli
	cld
	movl %eax, rt_mb_magic
	movl %ebx, rt_mb_info_addr
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movl $__bss_start, %edi         /* the loader need not clear .bss */
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	movl $rt_stack_top, %esp
	xorl %ebp, %ebp
	call rt_start                   /* does not return */
2:	cli
	hlt
	jmp 2b

/* Exception stubs: the CPU pushes an error code for vectors 8, 10-14, 17, 21,
 * 29, 30 (Intel SDM Vol. 3A 6.15; AMD APM Vol. 2 8.2); the others push a 0 so
 * every frame looks alike: vector, error, eip, cs, eflags. */
.macro TRAP vec
trap\vec:
	pushl $0
	pushl $\vec
	jmp trap_common
.endm
.macro TRAP_ERR vec
trap\vec:
	pushl $\vec
	jmp trap_common
.endm

	TRAP 0
	TRAP 1
	TRAP 2
	TRAP 3
	TRAP 4
	TRAP 5
	TRAP 6
	TRAP 7
	TRAP_ERR 8
	TRAP 9
	TRAP_ERR 10
	TRAP_ERR 11
	TRAP_ERR 12
	TRAP_ERR 13
	TRAP_ERR 14
	TRAP 15
	TRAP 16
	TRAP_ERR 17
	TRAP 18
	TRAP 19
	TRAP 20
	TRAP_ERR 21
	TRAP 22
	TRAP 23
	TRAP 24
	TRAP 25
	TRAP 26
	TRAP 27
	TRAP 28
	TRAP_ERR 29
	TRAP_ERR 30
	TRAP 31

trap_common:
	pushal
	cld
	movw $0x10, %ax                 /* the fault may come mid-way to real mode */
	movw %ax, %ds
	movw %ax, %es
	pushl %esp                      /* struct rt_regs * */
	call rt_trap                    /* returns only for a handled NMI */
	addl $4, %esp
	popal
	addl $8, %esp                   /* vector, error code */
	iret

/* Interrupt stubs for vectors 32-255, RT_IRQ_STUB_SIZE bytes apart (rt.c finds
 * stub v at rt_irq_stubs + (v - 32) * RT_IRQ_STUB_SIZE). External interrupts push
 * no error code (SDM Vol. 3A 6.12.1). The common part keeps every register, so an
 * interrupt may come anywhere, and returns with IRET. */
#define RT_IRQ_STUB_SIZE 16
	.balign RT_IRQ_STUB_SIZE
	.globl rt_irq_stubs
rt_irq_stubs:
	.set vec, 32
	.rept 256 - 32
	.balign RT_IRQ_STUB_SIZE
	pushl $vec
	jmp irq_common
	.set vec, vec + 1
	.endr

irq_common:
	pushal
	cld
	pushl 32(%esp)                  /* the vector, above the 8 saved registers */
	call rt_irq_dispatch
	addl $4, %esp
	popal
	addl $4, %esp                   /* the vector */
	iret

	.section .rodata
	.globl rt_trap_stubs
	.balign 4
rt_trap_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long trap\v
.endr

/* int rt_try(void (*fn)(void *), void *arg, struct rt_fault *f)
 * Keeps ESP (with the callee-saved registers pushed) so rt_trap can come back
 * here through rt_try_resume when fn faults. */
	.text
	.globl rt_try, rt_try_resume
rt_try:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 28(%esp), %eax             /* f */
	movl %eax, rt_try_fault
	movl %esp, rt_try_esp
	pushl 24(%esp)                  /* arg */
	call *24(%esp)                  /* fn, now 4 bytes further */
	addl $4, %esp
	movl $0, rt_try_esp
	xorl %eax, %eax
3:	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

rt_try_resume:                          /* from rt_trap, with *rt_try_fault filled */
	movl rt_try_esp, %esp
	movl $0, rt_try_esp
	movl $1, %eax
	jmp 3b

	.bss
	.globl rt_try_esp, rt_try_fault
	.balign 4
rt_try_esp:   .long 0
rt_try_fault: .long 0
	.balign 16
	.space 16384
rt_stack_top:

	.section .note.GNU-stack, "", @progbits
