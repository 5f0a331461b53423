/* strio: string I/O whose memory operand is a device's MMIO range, which the CPU
 * carries out as a device access (SDM Vol. 2B INS/OUTS: the memory side is an
 * ordinary data access). hv86 routes each iteration's memory access through its
 * MMIO dispatch (vmm/mmio.c, mmio_linear_rw), as it does for MOV or MOVS.
 * - rep outsl from the local APIC's version register to PCI CONFIG_ADDRESS (0xcf8,
 *   which keeps the dword it is given), read back with inl;
 * - rep outsl of two dwords from the APIC page to a port nothing claims: RSI and
 *   RCX move on as for RAM;
 * - outsb from the IOAPIC's IOREGSEL to the COM1 scratch register, read back;
 * - insb from the COM1 scratch register into IOREGSEL, read back with a MOV. */
#include "guests/rt/rt.h"
#include "guests/rt/pc.h"

RT_GUEST("strio");

#define APIC_PAGE       0xFEE00000u
#define PCI_CONFIG_ADDR 0xCF8
#define PCI_ADDR_BITS   0x80FFFFFCu      /* the bits CONFIG_ADDRESS keeps */
#define COM1_SCRATCH    0x3FF
#define UNCLAIMED_PORT  0x300

struct regs { uint32_t si, di, cx; };

static struct regs outsl(uint16_t port, uint32_t src, uint32_t count)
{
	struct regs r;
	__asm__ volatile("cld; rep outsl" : "=S"(r.si), "=c"(r.cx)
			 : "0"(src), "1"(count), "d"(port) : "memory");
	return r;
}

static struct regs outsb(uint16_t port, uint32_t src)
{
	struct regs r;
	__asm__ volatile("cld; outsb" : "=S"(r.si) : "0"(src), "d"(port) : "memory");
	return r;
}

static struct regs insb(uint16_t port, uint32_t dst)
{
	struct regs r;
	__asm__ volatile("cld; insb" : "=D"(r.di) : "0"(dst), "d"(port) : "memory");
	return r;
}

void guest_main(void)
{
	volatile uint32_t *apic_ver = (volatile uint32_t *)(APIC_PAGE + RT_APIC_VER);
	volatile uint32_t *regsel = (volatile uint32_t *)PC_IOAPIC_BASE;
	uint32_t ver = *apic_ver;

	struct regs r = outsl(PCI_CONFIG_ADDR, (uint32_t)apic_ver, 1);
	uint32_t got = inl(PCI_CONFIG_ADDR);
	outl(PCI_CONFIG_ADDR, 0);
	rt_check(got == (ver & PCI_ADDR_BITS) && r.si == (uint32_t)apic_ver + 4 && r.cx == 0,
		 "rep outsl from the APIC version register (%08x): CONFIG_ADDRESS %08x, "
		 "esi +%u, ecx %u", ver, got, r.si - (uint32_t)apic_ver, r.cx);

	r = outsl(UNCLAIMED_PORT, (uint32_t)apic_ver, 2);
	rt_check(r.si == (uint32_t)apic_ver + 8 && r.cx == 0,
		 "rep outsl x2 from the APIC page to an unclaimed port: esi +%u, ecx %u",
		 r.si - (uint32_t)apic_ver, r.cx);

	*regsel = PC_IOAPIC_VER;
	r = outsb(COM1_SCRATCH, PC_IOAPIC_BASE);
	uint8_t scr = inb(COM1_SCRATCH);
	rt_check(scr == PC_IOAPIC_VER && r.si == PC_IOAPIC_BASE + 1,
		 "outsb from IOREGSEL (%02x) to the COM1 scratch register: %02x",
		 PC_IOAPIC_VER, scr);

	outb(COM1_SCRATCH, 0x12);
	r = insb(COM1_SCRATCH, PC_IOAPIC_BASE);
	uint32_t sel = *regsel;
	rt_check(sel == 0x12 && r.di == PC_IOAPIC_BASE + 1,
		 "insb from the COM1 scratch register (12) into IOREGSEL: IOREGSEL %02x", sel);
	*regsel = 0;
}
