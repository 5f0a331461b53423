/* ownership: every I/O port and every MSR a guest might touch, and what answers.
 * Ports that no hv86 device owns must read all ones (their writes vanish): if one
 * did not, the access would have reached the emulator's or the machine's own
 * device. For MSRs the guest prints the indices that do not raise #GP in the three
 * ranges the MSR permission map and bitmap cover; the test compares that list with
 * the documented policy (docs/msr.md), so an MSR passed through by mistake shows. */
#include "guests/rt/rt.h"

RT_GUEST("ownership");

/* The platform's ports (docs/platform.md): skipped, their devices answer. */
static const struct { uint16_t base, count; } owned[] = {
	{ 0x20, 2 }, { 0x40, 4 }, { 0x61, 1 }, { 0x70, 2 }, { 0xA0, 2 }, { 0xF4, 4 },
	{ 0x3F8, 8 }, { 0x4D0, 2 }, { 0x510, 2 }, { 0x600, 12 }, { 0xCF8, 8 },
};

static bool is_owned(uint32_t port)
{
	for (unsigned i = 0; i < sizeof owned / sizeof owned[0]; i++)
		if (port >= owned[i].base && port < owned[i].base + owned[i].count)
			return true;
	return false;
}

static uint64_t msr_value;
static void do_rdmsr(void *arg) { msr_value = rdmsr((uint32_t)arg); }

static const uint32_t msr_ranges[][2] = {
	{ 0x00000000u, 0x2000 }, { 0xC0000000u, 0x2000 }, { 0xC0010000u, 0x2000 },
};

void guest_main(void)
{
	uint32_t unowned = 0, answered = 0, first_bad = 0;
	for (uint32_t port = 0; port < 0x10000; port++) {
		if (is_owned(port))
			continue;
		unowned++;
		if (inb((uint16_t)port) != 0xff) {
			if (!answered++)
				first_bad = port;
		}
	}
	rt_check(answered == 0, "%u unowned ports read all ones (%u answered, first %#x)",
		 (unsigned)unowned, (unsigned)answered, (unsigned)first_bad);

	rt_printf("readable msrs:");
	unsigned readable = 0;
	for (unsigned r = 0; r < sizeof msr_ranges / sizeof msr_ranges[0]; r++)
		for (uint32_t i = 0; i < msr_ranges[r][1]; i++) {
			struct rt_fault f;
			uint32_t msr = msr_ranges[r][0] + i;
			if (rt_try(do_rdmsr, (void *)msr, &f) == 0) {
				rt_printf(" %x", (unsigned)msr);
				readable++;
			} else if (f.vector != 13) {
				rt_printf(" (%x: %s)", (unsigned)msr, rt_vector_name(f.vector));
			}
		}
	rt_printf("\n");
	rt_check(readable > 0, "%u MSRs readable, every other one #GP", readable);
}
