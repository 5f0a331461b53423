/* isolate: run as two (or more) VMs with different id=N. Each writes its own
 * pattern at the same guest-physical page, maps the same guest-virtual address to
 * it, and checks in a loop, with an exit (and so a chance of a world switch) every
 * iteration, that it only ever sees its own data: a TLB entry or a nested mapping
 * that leaked from another VM would show that VM's pattern. */
#include "guests/rt/rt.h"

RT_GUEST("isolate");

#define DATA_GPA   0x00800000u     /* 8 MiB: the same in every VM */
#define DATA_GVA   0x40000000u     /* 1 GiB: mapped to DATA_GPA by a 4 MiB page */
#define PDE_P      0x001u
#define PDE_W      0x002u
#define PDE_PS     0x080u
#define CR4_PSE    (1u << 4)
#define IDLE_PORT  0x2f0           /* unclaimed: every access exits */
#define WORDS      1024

static uint32_t page_dir[1024] __attribute__((aligned(4096)));

void guest_main(void)
{
	uint32_t id = rt_arg_uint("id=", 1), rounds = rt_arg_uint("rounds=", 2000);
	uint32_t pattern = 0x15000000u | (id << 16) | id;
	volatile uint32_t *phys = (volatile uint32_t *)DATA_GPA;
	volatile uint32_t *virt = (volatile uint32_t *)DATA_GVA;

	for (uint32_t i = 0; i < WORDS; i++)
		phys[i] = pattern ^ i;
	/* Identity-map the first 16 MiB (image, stack, data), and DATA_GVA. */
	for (uint32_t i = 0; i < 4; i++)
		page_dir[i] = (i << 22) | PDE_P | PDE_W | PDE_PS;
	page_dir[DATA_GVA >> 22] = DATA_GPA | PDE_P | PDE_W | PDE_PS;
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)page_dir);
	write_cr0(read_cr0() | CR0_PG);

	uint32_t bad = 0;
	for (uint32_t r = 0; r < rounds; r++) {
		uint32_t i = (r * 7) % WORDS;
		if (virt[i] != (pattern ^ i) || phys[i] != (pattern ^ i))
			bad++;
		(void)inb(IDLE_PORT);
	}
	rt_check(bad == 0, "vm id=%u saw only its own data in %u rounds (%u wrong)",
		 (unsigned)id, (unsigned)rounds, (unsigned)bad);
	write_cr0(read_cr0() & ~CR0_PG);
}
