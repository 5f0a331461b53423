/* PC device helpers for the test guests (guests/rt/pc.h). */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

#define PIC_MASTER 0x20                 /* command; data (mask) at + 1 */
#define PIC_SLAVE  0xA0
#define PIC_ICW1_INIT_ICW4 0x11         /* edge, cascade, ICW4 follows */
#define PIC_ICW4_8086 0x01
#define PIC_OCW2_EOI 0x20               /* non-specific EOI */
#define PIC_SLAVE_ID PC_PIC_CASCADE_IRQ /* the slave's ICW3: its master IR */
#define PIC_IRQS_PER_CHIP 8
#define PIT_MODE0 0
#define PIT_MAX_MS 50                   /* 50 ms = 59659 clocks: fits 16 bits */
#define PIT_PER_MS ((PC_PIT_HZ + 500) / 1000)
#define CONDS_PER_CLOCK_READ 8          /* poll the condition more often than the clock */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_IOWIN  0x10

static void pic_init_chip(uint16_t port, uint8_t vector, uint8_t icw3)
{
	outb(port, PIC_ICW1_INIT_ICW4);
	outb(port + 1, vector);
	outb(port + 1, icw3);
	outb(port + 1, PIC_ICW4_8086);
}

void pc_pic_init(void)
{
	pic_init_chip(PIC_MASTER, PC_PIC_MASTER_VECTOR, 1u << PC_PIC_CASCADE_IRQ);
	pic_init_chip(PIC_SLAVE, PC_PIC_SLAVE_VECTOR, PIC_SLAVE_ID);
	pc_pic_unmask(0);
}

void pc_pic_unmask(uint16_t mask)
{
	if (mask >> PIC_IRQS_PER_CHIP)
		mask |= 1u << PC_PIC_CASCADE_IRQ;
	uint16_t imr = (uint16_t)~mask;
	outb(PIC_MASTER + 1, (uint8_t)imr);
	outb(PIC_SLAVE + 1, (uint8_t)(imr >> PIC_IRQS_PER_CHIP));
}

void pc_pic_eoi(unsigned irq)
{
	if (irq >= PIC_IRQS_PER_CHIP)
		outb(PIC_SLAVE, PIC_OCW2_EOI);
	outb(PIC_MASTER, PIC_OCW2_EOI);
}

void pc_pit2_start(uint16_t count)
{
	outb(PC_PORT61, (uint8_t)((inb(PC_PORT61) & ~PC_PORT61_SPEAKER) | PC_PORT61_GATE2));
	outb(PC_PIT_CTRL, PC_PIT_CW(2, PC_PIT_LSB_MSB, PIT_MODE0));
	outb(PC_PIT_COUNTER2, (uint8_t)count);
	outb(PC_PIT_COUNTER2, (uint8_t)(count >> 8));
}

bool pc_pit2_out(void)
{
	return inb(PC_PORT61) & PC_PORT61_OUT2;
}

uint16_t pc_pit_latch(unsigned c)
{
	outb(PC_PIT_CTRL, PC_PIT_CW(c, PC_PIT_LATCH, 0));
	uint8_t lo = inb((uint16_t)(PC_PIT_COUNTER0 + c));
	return (uint16_t)(lo | inb((uint16_t)(PC_PIT_COUNTER0 + c)) << 8);
}

bool pc_poll(bool (*cond)(void *), void *arg, unsigned ms)
{
	for (unsigned left = ms; left;) {
		unsigned chunk = left < PIT_MAX_MS ? left : PIT_MAX_MS;
		pc_pit2_start((uint16_t)(chunk * PIT_PER_MS));
		for (unsigned i = 1;; i++) {
			if (cond && cond(arg))
				return true;
			if (i % CONDS_PER_CLOCK_READ == 0 && pc_pit2_out())
				break;
		}
		left -= chunk;
	}
	return cond && cond(arg);
}

struct count_goal {
	volatile unsigned *count;
	unsigned n;
};

static bool reached(void *arg)
{
	struct count_goal *g = arg;
	return g->count && *g->count >= g->n;
}

bool pc_wait(volatile unsigned *count, unsigned n, unsigned ms)
{
	struct count_goal g = { count, n };
	bool was_on = rt_eflags() & RT_EFLAGS_IF;
	rt_sti();
	bool ok = pc_poll(reached, &g, ms);
	if (!was_on)
		rt_cli();
	return ok;
}

static volatile uint32_t *ioapic_reg(unsigned off)
{
	return (volatile uint32_t *)(PC_IOAPIC_BASE + off);
}

uint32_t pc_ioapic_read(unsigned reg)
{
	*ioapic_reg(IOAPIC_REGSEL) = reg;
	return *ioapic_reg(IOAPIC_IOWIN);
}

void pc_ioapic_write(unsigned reg, uint32_t val)
{
	*ioapic_reg(IOAPIC_REGSEL) = reg;
	*ioapic_reg(IOAPIC_IOWIN) = val;
}

void pc_ioapic_set(unsigned pin, uint64_t rte)
{
	pc_ioapic_write(PC_IOAPIC_REDTBL + 2 * pin + 1, (uint32_t)(rte >> 32));
	pc_ioapic_write(PC_IOAPIC_REDTBL + 2 * pin, (uint32_t)rte);
}

uint64_t pc_ioapic_get(unsigned pin)
{
	uint32_t lo = pc_ioapic_read(PC_IOAPIC_REDTBL + 2 * pin);
	return (uint64_t)pc_ioapic_read(PC_IOAPIC_REDTBL + 2 * pin + 1) << 32 | lo;
}

uint8_t pc_cmos_read(unsigned reg)
{
	outb(PC_CMOS_INDEX, (uint8_t)reg);
	return inb(PC_CMOS_DATA);
}

void pc_cmos_write(unsigned reg, uint8_t val)
{
	outb(PC_CMOS_INDEX, (uint8_t)reg);
	outb(PC_CMOS_DATA, val);
}
