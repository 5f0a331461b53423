/* long64: enters 64-bit long mode on its own (Intel SDM Vol. 3A 9.8.5: PAE, CR3,
 * EFER.LME, then CR0.PG; AMD APM Vol. 2 14.6), prints from 64-bit code, computes
 * with 64-bit registers, and leaves long mode again (SDM 9.8.5.4) so the 32-bit
 * runtime can check the results. The page tables identity-map the first 4 GiB
 * with 2 MiB pages. The runtime's IDT has 32-bit gates only: an exception in
 * 64-bit mode ends in a triple fault. */
#include "guests/rt/rt.h"

RT_GUEST("long64");

#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)               /* 2 MiB page in a page directory */
#define MUL_A 0x0123456789abcdefull
#define MUL_B 0x9e3779b97f4a7c15ull

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));

/* Written by the 64-bit code: EFER as it read it, then MUL_A * MUL_B (low 64). */
uint64_t lm_result[2];
extern const char long64_body[];   /* 64-bit code, below */

#define STR_(x) #x
#define STR(x) STR_(x)

__asm__(
	"	.text\n"
	"	.code64\n"
	"long64_body:\n"
	"	movl $lm_msg, %esi\n"
	"1:	lodsb\n"
	"	testb %al, %al\n"
	"	jz 3f\n"
	"	movb %al, %bl\n"
	"	movw $0x3fd, %dx\n"                /* COM1 LSR: wait for THR empty */
	"2:	inb %dx, %al\n"
	"	testb $0x20, %al\n"
	"	jz 2b\n"
	"	movb %bl, %al\n"
	"	movw $0x3f8, %dx\n"
	"	outb %al, %dx\n"
	"	jmp 1b\n"
	"3:	movl $lm_result, %edi\n"
	"	movl $" STR(MSR_EFER) ", %ecx\n"
	"	rdmsr\n"
	"	shlq $32, %rdx\n"
	"	orq %rdx, %rax\n"
	"	movq %rax, (%rdi)\n"
	"	movabsq $" STR(MUL_A) ", %r8\n"
	"	movabsq $" STR(MUL_B) ", %r15\n"
	"	imulq %r8, %r15\n"
	"	movq %r15, 8(%rdi)\n"
	"	ret\n"
	"	.code32\n"
	"	.section .rodata\n"
	"lm_msg: .asciz \"long mode ok\\n\"\n"
	"	.text\n");

void guest_main(void)
{
	for (uint32_t i = 0; i < 4; i++) {
		pdpt[i] = (uint32_t)pd[i] | PTE_P | PTE_RW;
		for (uint32_t j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
	}
	pml4[0] = (uint32_t)pdpt | PTE_P | PTE_RW;

	rt_printf("entering long mode\n");
	rt_call64((uint32_t)pml4, long64_body, 0);
	rt_printf("back in protected mode\n");
	rt_check(lm_result[0] & EFER_LMA, "EFER.LMA set in 64-bit mode");
	rt_check(lm_result[1] == MUL_A * MUL_B, "64-bit imul: %016llx", lm_result[1]);
	rt_check(!(rdmsr(MSR_EFER) & (EFER_LMA | EFER_LME)), "EFER.LME and LMA clear again");
}
