/* cr8: CR8 is the TPR's priority class (Intel SDM Vol. 3A 11.8.6, 10.8.6.1 in
 * older editions; AMD APM Vol. 2 15.21.1): MOV CR8 in 64-bit mode and the xAPIC
 * TPR register see each other's writes, PPR follows CR8, and lowering CR8 below a
 * held-back interrupt's class lets it through. The 64-bit part runs with
 * interrupts off (the runtime's IDT has 32-bit gates only) and records what it
 * reads; the 32-bit part checks it and takes the interrupt. Paging as in long64. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("cr8");

#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)
#define VEC_HELD 0x45
#define VEC_SPURIOUS 0xFF
#define NREAD 6

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static volatile unsigned hits;

/* out[0] TPR after CR8 = 5, out[1] CR8 after TPR = 0x30, out[2] PPR with CR8 = 5
 * and 0x45 pending, out[3] IRR[2] then, out[4] PPR after CR8 = 0, out[5] CR8. */
uint32_t cr8_out[NREAD];
extern const char cr8_body[];      /* 64-bit code, below */

#define STR_(x) #x
#define STR(x) STR_(x)
#define APIC(off) STR(off) "(%rbx)"   /* %rbx holds the xAPIC page */

__asm__(
	"	.text\n"
	"	.code64\n"
	"cr8_body:\n"
	"	movl $cr8_out, %edi\n"
	"	movl $0xFEE00000, %ebx\n"              /* RT_APIC_PAGE */
	"	movq $5, %rax\n"
	"	movq %rax, %cr8\n"
	"	movl " APIC(RT_APIC_TPR) ", %eax\n"
	"	movl %eax, 0(%rdi)\n"
	"	movl $0x30, " APIC(RT_APIC_TPR) "\n"
	"	movq %cr8, %rax\n"
	"	movl %eax, 4(%rdi)\n"
	"	movq $5, %rax\n"
	"	movq %rax, %cr8\n"
	"	movl $0x44045, " APIC(RT_APIC_ICR_LO) "\n"   /* self, assert, fixed 0x45 */
	"	movl " APIC(RT_APIC_PPR) ", %eax\n"
	"	movl %eax, 8(%rdi)\n"
	"	movl 0x20+" APIC(RT_APIC_IRR) ", %eax\n"
	"	movl %eax, 12(%rdi)\n"
	"	xorl %eax, %eax\n"
	"	movq %rax, %cr8\n"
	"	movl " APIC(RT_APIC_PPR) ", %eax\n"
	"	movl %eax, 16(%rdi)\n"
	"	movq %cr8, %rax\n"
	"	movl %eax, 20(%rdi)\n"
	"	ret\n"
	"	.code32\n");

static void on_held(uint32_t v)
{
	(void)v;
	hits++;
	rt_apic_eoi();
}

void guest_main(void)
{
	/* Firmware may leave the 8259s unmasked with the PIT running (SeaBIOS does,
	 * under QEMU alone): mask them, so only the local APIC interrupts. */
	pc_pic_unmask(0);
	for (uint32_t i = 0; i < 4; i++) {
		pdpt[i] = (uint32_t)pd[i] | PTE_P | PTE_RW;
		for (uint32_t j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
	}
	pml4[0] = (uint32_t)pdpt | PTE_P | PTE_RW;
	rt_set_irq_handler(VEC_HELD, on_held);
	rt_apic_enable(false, VEC_SPURIOUS);
	rt_call64((uint32_t)pml4, cr8_body, 0);
	rt_check(cr8_out[0] == 0x50, "mov cr8, 5: TPR reads %02x", cr8_out[0]);
	rt_check(cr8_out[1] == 3, "TPR = 0x30: CR8 reads %u", cr8_out[1]);
	rt_check(cr8_out[2] == 0x50 && (cr8_out[3] & (1u << (VEC_HELD % 32))),
		 "CR8 5 holds 0x%x in IRR: PPR %02x", VEC_HELD, cr8_out[2]);
	rt_check(cr8_out[4] == 0 && cr8_out[5] == 0, "mov cr8, 0: PPR %02x, CR8 %u",
		 cr8_out[4], cr8_out[5]);
	rt_check(hits == 0, "nothing taken with interrupts off");
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	rt_check(hits == 1, "0x%x taken once interrupts are on", VEC_HELD);
}
