/* realmode: from 32-bit protected mode down to 16-bit real mode and back (Intel
 * SDM Vol. 3A 9.9.2 and 9.9.1). The 16-bit code is a blob copied below 1 MiB to
 * RM_BASE; in real mode it prints to COM1 by port I/O, computes with 16-bit
 * registers and stores the results through a segment register, ES = 0x0800. */
#include "guests/rt/rt.h"

RT_GUEST("realmode");

#define RM_BASE   0x7000                /* where the blob runs; stack below it */
#define RM_RESULT 0x8000                /* linear address of ES:0 in real mode */
#define RM_VECTOR 0x30                  /* a software interrupt through the IVT */
#define RM_INT_MARK 0x1234

#define STR_(x) #x
#define STR(x) STR_(x)
/* A label's address once the blob is copied to RM_BASE. */
#define RM(label) "(" STR(RM_BASE) " + " #label " - rm_blob)"

extern char rm_blob[], rm_blob_end[], rm_int[];
void rm_call(void);

__asm__(
	"	.text\n"
	"	.code32\n"
	"rm_call:\n"
	"	pushl %ebp\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	pushl %edi\n"
	"	movl %esp, rm_saved_esp\n"
	"	sidt rm_saved_idt\n"
	"	lidt rm_ivt\n"                  /* the real-mode IVT: base 0 */
	"	ljmp $" STR(RT_SEL_CODE16) ", $" RM(rm16_pm) "\n"
	"rm_back32:\n"                          /* protected mode again */
	"	movw $" STR(RT_SEL_DATA32) ", %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %fs\n"
	"	movw %ax, %gs\n"
	"	movw %ax, %ss\n"
	"	movl rm_saved_esp, %esp\n"
	"	lidt rm_saved_idt\n"
	"	popl %edi\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	ret\n"

	"	.data\n"
	"rm_saved_esp: .long 0\n"
	"rm_saved_idt: .word 0\n"
	"	.long 0\n"
	"rm_ivt: .word 0x3ff\n"
	"	.long 0\n"

	"	.section .rodata\n"
	"	.code16\n"
	"rm_blob:\n"
	"rm16_pm:\n"            /* 16-bit protected mode: get 64 KiB segment limits */
	"	movw $" STR(RT_SEL_DATA16) ", %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %fs\n"
	"	movw %ax, %gs\n"
	"	movw %ax, %ss\n"
	"	movl %cr0, %eax\n"
	"	andl $~" STR(CR0_PE) ", %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmp $0, $" RM(rm16_real) "\n"
	"rm16_real:\n"                          /* real mode */
	"	xorw %ax, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %ss\n"
	"	movw $" STR(RM_BASE) ", %sp\n"
	"	cld\n"
	"	movw $" RM(rm_msg) ", %si\n"
	"1:	lodsb\n"
	"	testb %al, %al\n"
	"	jz 3f\n"
	"	movb %al, %bl\n"
	"	movw $0x3fd, %dx\n"             /* COM1 LSR: wait for THR empty */
	"2:	inb %dx, %al\n"
	"	testb $0x20, %al\n"
	"	jz 2b\n"
	"	movb %bl, %al\n"
	"	movw $0x3f8, %dx\n"
	"	outb %al, %dx\n"
	"	jmp 1b\n"
	"3:	xorw %ax, %ax\n"                /* fib(24) by (a, b) = (b, a + b) */
	"	movw $1, %bx\n"
	"	movw $24, %cx\n"
	"4:	movw %ax, %dx\n"
	"	addw %bx, %dx\n"
	"	movw %bx, %ax\n"
	"	movw %dx, %bx\n"
	"	loop 4b\n"
	"	movw $" STR(RM_RESULT) " >> 4, %dx\n"
	"	movw %dx, %es\n"
	"	movw %ax, %es:0\n"
	"	movw $50000, %ax\n"             /* dx:ax = 50000 * 3, then / 7 */
	"	movw $3, %bx\n"
	"	mulw %bx\n"
	"	movw $7, %bx\n"
	"	divw %bx\n"
	"	movw %ax, %es:2\n"
	"	movw %dx, %es:4\n"
	"	int $" STR(RM_VECTOR) "\n"          /* through the IVT: the handler below */
	"	movw %bx, %es:8\n"
	"	movl %cr0, %eax\n"
	"	orl $" STR(CR0_PE) ", %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $" STR(RT_SEL_CODE32) ", $rm_back32\n"
	"rm_int:\n"                             /* INT RM_VECTOR: mark, and back */
	"	movw $" STR(RM_INT_MARK) ", %es:6\n"
	"	iret\n"
	"rm_msg: .asciz \"real mode ok\\n\"\n"
	"rm_blob_end:\n"
	"	.code32\n"
	"	.text\n");

void guest_main(void)
{
	volatile uint16_t *res = (volatile uint16_t *)RM_RESULT;

	memcpy((void *)RM_BASE, rm_blob, (size_t)(rm_blob_end - rm_blob));
	res[0] = res[1] = res[2] = res[3] = res[4] = 0;
	/* IVT entry: offset, then segment 0 (SDM Vol. 3A 20.1.4). */
	uint32_t ivt_addr = RM_VECTOR * 4;
	__asm__("" : "+r"(ivt_addr));          /* a real address, not an object to GCC */
	volatile uint16_t *ivt = (volatile uint16_t *)ivt_addr;
	ivt[0] = (uint16_t)(RM_BASE + (rm_int - rm_blob));
	ivt[1] = 0;
	rt_printf("entering real mode\n");
	rm_call();
	rt_printf("back in protected mode\n");
	rt_check(res[0] == 46368, "real mode fib(24) = %u", res[0]);
	rt_check(res[1] == 21428 && res[2] == 4, "real mode 150000 / 7 = %u rest %u",
		 res[1], res[2]);
	rt_check(res[3] == RM_INT_MARK && res[4] == 7, "real mode INT %#x through the IVT and IRET back",
		 RM_VECTOR);

	/* read=ADDR / write=ADDR: back in protected mode with paging off, touch a
	 * linear (= physical) address, e.g. 0xffffc000, where VT-x under shadow
	 * paging keeps the virtual-8086 TSS it ran the real mode above with. Those
	 * pages are hv86's own: the guest must get what the rest of its address
	 * space gives (outside its RAM: hv86 stops it, status 120). */
	uint32_t rd = rt_arg_uint("read=", 0), wr = rt_arg_uint("write=", 0);
	if (rd) {
		rt_printf("reading 0x%08x\n", rd);
		rt_flush();
		rt_printf("read 0x%08x\n", *(volatile uint32_t *)rd);
		rt_fail("survived");
	}
	if (wr) {
		rt_printf("writing 0x%08x\n", wr);
		rt_flush();
		*(volatile uint32_t *)wr = 0xffffffff;
		rt_printf("wrote, read back 0x%08x\n", *(volatile uint32_t *)wr);
		rt_fail("survived");
	}
}
