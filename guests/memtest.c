/* memtest: writes a pattern to every word of the RAM the memory map calls
 * available, except page 0 and the guest's own image, then reads all of it back.
 * Each word gets a value derived from its address, so two guest-physical pages
 * backed by the same host page show up as mismatches. Boot information was
 * copied by the runtime at entry, so the loader's structures may be overwritten. */
#include "guests/rt/rt.h"

RT_GUEST("memtest");

#define MAX_REPORTS 8
#define LIMIT_4G 0x100000000ull         /* paging is off: 32-bit addresses only */

struct range { uint32_t lo, hi; };     /* [lo, hi), 4-byte aligned */
static struct range ranges[2 * RT_MMAP_MAX + 2];
static unsigned nranges;

static void add(uint64_t lo, uint64_t hi)
{
	uint64_t img_lo = (uint32_t)__image_start, img_hi = (uint32_t)__image_end;

	if (lo < 0x1000)
		lo = 0x1000;
	if (hi > LIMIT_4G)
		hi = LIMIT_4G;
	if (lo < img_hi && hi > img_lo) {      /* cut the image out */
		add(lo, img_lo);
		add(img_hi, hi);
		return;
	}
	lo = (lo + 3) & ~3ull;
	hi &= ~3ull;
	if (lo < hi && nranges < sizeof ranges / sizeof ranges[0])
		ranges[nranges++] = (struct range){ (uint32_t)lo, (uint32_t)hi };
}

static inline uint32_t pattern(uint32_t addr)
{
	return addr * 0x9e3779b1u ^ 0x5a5a5a5au;
}

void guest_main(void)
{
	uint64_t bytes = 0;
	unsigned bad = 0;

	if (rt_mb_flags & MB_INFO_MMAP) {
		for (unsigned i = 0; i < rt_mmap_count; i++)
			if (rt_mmap[i].type == MB_MMAP_AVAILABLE)
				add(rt_mmap[i].addr, rt_mmap[i].addr + rt_mmap[i].len);
	} else if (rt_mb_flags & MB_INFO_MEM) {
		add(0, rt_mem_lower * 1024ull);
		add(0x100000, 0x100000 + rt_mem_upper * 1024ull);
	}
	if (!nranges)
		rt_fail("no memory map");

	for (unsigned i = 0; i < nranges; i++)
		for (uint32_t a = ranges[i].lo; a < ranges[i].hi; a += 4)
			*(volatile uint32_t *)a = pattern(a);

	for (unsigned i = 0; i < nranges; i++) {
		for (uint32_t a = ranges[i].lo; a < ranges[i].hi; a += 4) {
			uint32_t v = *(volatile uint32_t *)a;
			if (v != pattern(a) && bad++ < MAX_REPORTS)
				rt_printf("mismatch at 0x%08x: 0x%08x, want 0x%08x\n",
					  a, v, pattern(a));
		}
		bytes += ranges[i].hi - ranges[i].lo;
	}
	if (bad)
		rt_fail("%u bad words", bad);
	rt_printf("memtest: %llu KiB ok\n", bytes / 1024);
}
