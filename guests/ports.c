/* ports: I/O ports nothing claims read as all ones, at every width, and writes to
 * them are dropped (docs/platform.md). None of these is decoded by hv86 or by a
 * QEMU pc machine started with -nodefaults. */
#include "guests/rt/rt.h"

RT_GUEST("ports");

static const uint16_t ports[] = { 0x300, 0x310, 0x3a0 };

static bool reads_ones(uint16_t p, const char *when)
{
	uint8_t b = inb(p);
	uint16_t w = inw(p);
	uint32_t l = inl(p);
	return rt_check(b == 0xff && w == 0xffff && l == 0xffffffff,
			"port 0x%x %s: inb %02x inw %04x inl %08x", p, when, b, w, l);
}

void guest_main(void)
{
	for (unsigned i = 0; i < sizeof ports / sizeof ports[0]; i++) {
		uint16_t p = ports[i];
		reads_ones(p, "unwritten");
		outb(p, 0x5a);
		outw(p, 0x1234);
		outl(p, 0);
		reads_ones(p, "after writes");
	}
}
