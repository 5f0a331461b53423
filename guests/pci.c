/* pci: PCI configuration space both ways. Walks bus 0 through 0xCF8/0xCFC
 * (configuration mechanism #1, PCI Local Bus Specification 3.0, 3.2.2.3.2) and
 * through the ECAM window MCFG names (PCI Express Base 4.0, 7.2.2), finds exactly
 * one function, the host bridge 00:00.0, sees every absent function read all
 * ones, and sees both mechanisms agree on every register and on writes. The
 * output is the same on every run. This is hv86's platform (docs/acpi.md): QEMU's
 * pc machine, run directly, has more devices and no MCFG. */
#include "guests/rt/acpi.h"
#include "guests/rt/rt.h"

RT_GUEST("pci");

#define CONFIG_ADDRESS 0xCF8
#define CONFIG_DATA 0xCFC
#define CONFIG_ENABLE 0x80000000u
#define DEVICES 32
#define FUNCTIONS 8
#define CONFIG_SPACE 256
#define ECAM_FN_SPACE 4096
#define HEADER_MULTIFUNCTION 0x80
#define REG_COMMAND 0x04
#define REG_CLASS_REV 0x08
#define REG_HEADER_TYPE 0x0E
#define COMMAND_MEMORY (1u << 1)
#define MMAP_RESERVED 2
#define ABSENT 0xFFFFFFFFu

static uint32_t cf8_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC);
}

static uint32_t cf8_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	outl(CONFIG_ADDRESS, cf8_addr(bus, dev, fn, reg));
	return inl(CONFIG_DATA);
}

static void cf8_write(unsigned bus, unsigned dev, unsigned fn, unsigned reg, uint32_t v)
{
	outl(CONFIG_ADDRESS, cf8_addr(bus, dev, fn, reg));
	outl(CONFIG_DATA, v);
}

static uint32_t ecam_base;
static unsigned ecam_bus_first, ecam_bus_last;

static volatile uint32_t *ecam(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	uint32_t off = (bus - ecam_bus_first) << 20 | dev << 15 | fn << 12 | reg;
	return (volatile uint32_t *)(ecam_base + off);
}

/* Bus 0 through the ports: fn 0 of each device, the others of multi-function ones;
 * every function of an absent device must read all ones too. */
static void walk_ports(void)
{
	unsigned found = 0, absent = 0, bad_absent = 0;
	uint32_t id = 0;
	for (unsigned dev = 0; dev < DEVICES; dev++) {
		uint32_t v = cf8_read(0, dev, 0, 0);
		if (v == ABSENT) {
			for (unsigned fn = 0; fn < FUNCTIONS; fn++, absent++)
				bad_absent += cf8_read(0, dev, fn, 0) != ABSENT ||
					      cf8_read(0, dev, fn, REG_CLASS_REV) != ABSENT;
			continue;
		}
		found++;
		id = v;
		bool multi = (cf8_read(0, dev, 0, REG_HEADER_TYPE) >> 16) & HEADER_MULTIFUNCTION;
		for (unsigned fn = 1; fn < FUNCTIONS; fn++, absent += !multi)
			if (multi && cf8_read(0, dev, fn, 0) != ABSENT)
				found++;
			else if (cf8_read(0, dev, fn, 0) != ABSENT)
				bad_absent++;
	}
	rt_check(found == 1 && cf8_read(0, 0, 0, 0) == 0x29C08086,
		 "bus 0 through 0xCF8: %u function, 00:00.0 %04x:%04x", found, id & 0xFFFF, id >> 16);
	rt_check(bad_absent == 0, "%u absent functions read ffffffff through 0xCF8", absent);
	uint32_t cls = cf8_read(0, 0, 0, REG_CLASS_REV) >> 8;
	uint32_t hdr = (cf8_read(0, 0, 0, REG_HEADER_TYPE) >> 16) & 0xFF;
	rt_check(cls == 0x060000 && hdr == 0, "00:00.0 class %06x (host bridge), header type %02x",
		 cls, hdr);
}

static void port_details(void)
{
	outl(CONFIG_ADDRESS, CONFIG_ENABLE);
	uint32_t a = inl(CONFIG_ADDRESS);
	rt_check(a == CONFIG_ENABLE, "CONFIG_ADDRESS reads back %08x", a);
	/* Narrow accesses at each lane of CONFIG_DATA. */
	uint32_t dw = cf8_read(0, 0, 0, 0);
	bool lanes = true;
	for (unsigned i = 0; i < 4; i++)
		lanes &= inb(CONFIG_DATA + i) == (uint8_t)(dw >> (8 * i));
	lanes &= inw(CONFIG_DATA) == (uint16_t)dw && inw(CONFIG_DATA + 2) == dw >> 16;
	rt_check(lanes, "byte and word reads at 0xCFC-0xCFF match the dword");
	/* Read-only registers ignore writes; the command register keeps its writable bits. */
	cf8_write(0, 0, 0, 0, 0);
	cf8_write(0, 0, 0, REG_CLASS_REV, 0);
	rt_check(cf8_read(0, 0, 0, 0) == dw && cf8_read(0, 0, 0, REG_CLASS_REV) == 0x06000000,
		 "IDs and class code ignore writes");
	cf8_write(0, 0, 0, REG_COMMAND, 0xFFFF);
	uint32_t cmd = cf8_read(0, 0, 0, REG_COMMAND);
	cf8_write(0, 0, 0, REG_COMMAND, 0);
	rt_check(cmd == 0x054F, "command register: writable bits %04x, status %04x", cmd & 0xFFFF,
		 cmd >> 16);
	/* Disabled: CONFIG_DATA is no device's port. */
	outl(CONFIG_ADDRESS, 0);
	uint32_t d = inl(CONFIG_DATA);
	rt_check(d == ABSENT, "CONFIG_DATA with the enable bit clear reads %08x", d);
}

static bool mmap_reserved(uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < rt_mmap_count; i++)
		if (rt_mmap[i].type == MMAP_RESERVED && a >= rt_mmap[i].addr &&
		    a + len <= rt_mmap[i].addr + rt_mmap[i].len)
			return true;
	return false;
}

static void walk_ecam(void)
{
	const uint8_t *mcfg = rt_acpi_table("MCFG");
	if (!rt_check(mcfg != NULL && rt_rd32(mcfg + 4) >= 60, "MCFG found"))
		return;
	uint64_t base = rt_rd64(mcfg + 44);
	ecam_base = (uint32_t)base;
	ecam_bus_first = mcfg[54];
	ecam_bus_last = mcfg[55];
	uint64_t size = (uint64_t)(ecam_bus_last - ecam_bus_first + 1) << 20;
	rt_check(rt_rd16(mcfg + 52) == 0 && ecam_bus_first == 0 && base >> 32 == 0,
		 "MCFG: ECAM at %08x, segment 0, buses %u-%u", ecam_base, ecam_bus_first,
		 ecam_bus_last);
	rt_check(mmap_reserved(base, size), "the ECAM window is reserved in the memory map");

	unsigned functions = 0, found = 0, differ = 0;
	for (unsigned bus = ecam_bus_first; bus <= ecam_bus_last; bus++)
		for (unsigned dev = 0; dev < DEVICES; dev++)
			for (unsigned fn = 0; fn < FUNCTIONS; fn++, functions++) {
				uint32_t v = *ecam(bus, dev, fn, 0);
				differ += v != cf8_read(bus, dev, fn, 0);
				found += v != ABSENT;
				if (v == ABSENT)
					differ += *ecam(bus, dev, fn, CONFIG_SPACE) != ABSENT;
			}
	rt_check(found == 1 && differ == 0,
		 "ECAM: %u functions scanned, %u present, all agree with 0xCF8", functions, found);
	bool same = true;
	for (unsigned reg = 0; reg < CONFIG_SPACE; reg += 4)
		same &= *ecam(0, 0, 0, reg) == cf8_read(0, 0, 0, reg);
	rt_check(same, "00:00.0: its 256 bytes are the same through ECAM and 0xCF8");
	uint32_t ext = 0;
	for (unsigned reg = CONFIG_SPACE; reg < ECAM_FN_SPACE; reg += CONFIG_SPACE)
		ext |= *ecam(0, 0, 0, reg);
	rt_check(ext == 0, "00:00.0: extended space reads 0 (no extended capabilities)");
	*ecam(0, 0, 0, REG_COMMAND) = COMMAND_MEMORY;
	uint32_t through_ports = cf8_read(0, 0, 0, REG_COMMAND);
	cf8_write(0, 0, 0, REG_COMMAND, 0);
	uint32_t through_ecam = *ecam(0, 0, 0, REG_COMMAND);
	rt_check(through_ports == COMMAND_MEMORY && through_ecam == 0,
		 "a write through one mechanism reads back through the other");
}

void guest_main(void)
{
	walk_ports();
	port_details();
	walk_ecam();
}
