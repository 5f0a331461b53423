/* Bitmap frame allocator: see frame_alloc.h. All scans go 64 frames at a time. */
#include "lib/frame_alloc.h"
#include <stdbool.h>

#define ALL_ONES (~0ull)

/* Own popcount: __builtin_popcountll may become a call into libgcc
 * (__popcountdi2) without -mpopcnt, and the hypervisor links no libgcc. */
static unsigned popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/* x != 0. Built from 32-bit halves: on x86-64 gcc still emits one BSF/TZCNT per
 * half, and on -m32 __builtin_ctzll would call libgcc's __ctzdi2. */
static unsigned ctz64(uint64_t x)
{
	uint32_t lo = (uint32_t)x;
	return lo ? (unsigned)__builtin_ctz(lo) : 32u + (unsigned)__builtin_ctz((uint32_t)(x >> 32));
}

/* Bits [lo, hi) of a word, 0 <= lo < hi <= 64. */
static uint64_t word_mask(unsigned lo, unsigned hi)
{
	uint64_t m = ALL_ONES << lo;
	if (hi < 64)
		m &= ~(ALL_ONES << hi);
	return m;
}

size_t frame_alloc_bitmap_bytes(uint64_t nframes)
{
	return (size_t)((nframes + 63) / 64 * 8);
}

void frame_alloc_init(struct frame_alloc *fa, uint64_t base, uint64_t nframes, uint64_t *bitmap)
{
	uint64_t words = (nframes + 63) / 64;
	fa->base = base;
	fa->nframes = nframes;
	fa->bitmap = bitmap;
	fa->free = 0;
	fa->hint = nframes; /* nothing is free, so "all below hint are used" holds */
	/* Also the padding bits past nframes: they stay set forever, so scans never
	 * find a free frame that does not exist. */
	for (uint64_t i = 0; i < words; i++)
		bitmap[i] = ALL_ONES;
}

/* Set (used=true) or clear bits [first, last); returns how many bits changed. */
static uint64_t mark(struct frame_alloc *fa, uint64_t first, uint64_t last, bool used)
{
	uint64_t changed = 0;
	while (first < last) {
		uint64_t w = first / 64;
		unsigned lo = (unsigned)(first % 64);
		unsigned hi = last - w * 64 >= 64 ? 64 : (unsigned)(last - w * 64);
		uint64_t m = word_mask(lo, hi);
		uint64_t old = fa->bitmap[w];
		fa->bitmap[w] = used ? old | m : old & ~m;
		changed += popcount64((used ? ~old : old) & m);
		first = w * 64 + hi;
	}
	return changed;
}

/* First free frame in [i, nframes), or nframes. */
static uint64_t next_free(const struct frame_alloc *fa, uint64_t i)
{
	if (i >= fa->nframes)
		return fa->nframes;
	uint64_t w = i / 64, words = (fa->nframes + 63) / 64;
	uint64_t bits = ~fa->bitmap[w] & (ALL_ONES << (i % 64));
	while (!bits) {
		if (++w >= words)
			return fa->nframes;
		bits = ~fa->bitmap[w];
	}
	uint64_t r = w * 64 + ctz64(bits);
	return r < fa->nframes ? r : fa->nframes; /* padding bits are set; belt and braces */
}

/* First used frame in [i, limit), or limit; limit <= nframes. */
static uint64_t next_used(const struct frame_alloc *fa, uint64_t i, uint64_t limit)
{
	if (i >= limit)
		return limit;
	uint64_t w = i / 64;
	uint64_t bits = fa->bitmap[w] & (ALL_ONES << (i % 64));
	while (!bits) {
		if (++w * 64 >= limit)
			return limit;
		bits = fa->bitmap[w];
	}
	uint64_t r = w * 64 + ctz64(bits);
	return r < limit ? r : limit;
}

/* Clip the frame-index range of [start, end) physical bytes to what we manage;
 * start/end are already frame aligned. Returns false if nothing remains. */
static bool clip(const struct frame_alloc *fa, uint64_t start, uint64_t end,
		 uint64_t *first, uint64_t *last)
{
	uint64_t top = fa->base + fa->nframes * FRAME_SIZE;
	if (start < fa->base)
		start = fa->base;
	if (end > top)
		end = top;
	if (start >= end)
		return false;
	*first = (start - fa->base) >> FRAME_SHIFT;
	*last = (end - fa->base) >> FRAME_SHIFT;
	return true;
}

/* addr + len, saturated: a memory map entry may reach the top of the address space. */
static uint64_t end_of(uint64_t addr, uint64_t len)
{
	return addr + len < addr ? ALL_ONES : addr + len;
}

void frame_alloc_add_free(struct frame_alloc *fa, uint64_t addr, uint64_t len)
{
	/* Inward: a partial frame at either end is not wholly RAM, so do not use it. */
	uint64_t end = end_of(addr, len) & ~(FRAME_SIZE - 1);
	if (addr > ALL_ONES - (FRAME_SIZE - 1))
		return;
	uint64_t start = (addr + FRAME_SIZE - 1) & ~(FRAME_SIZE - 1);
	uint64_t first, last;
	if (start >= end || !clip(fa, start, end, &first, &last))
		return;
	fa->free += mark(fa, first, last, false);
	if (first < fa->hint)
		fa->hint = first;
}

void frame_alloc_reserve(struct frame_alloc *fa, uint64_t addr, uint64_t len)
{
	if (len == 0)
		return;
	/* Outward: anything touching a frame makes the whole frame unusable. */
	uint64_t start = addr & ~(FRAME_SIZE - 1);
	uint64_t end = end_of(addr, len);
	end = end > ALL_ONES - (FRAME_SIZE - 1) ? ALL_ONES & ~(FRAME_SIZE - 1)
						: (end + FRAME_SIZE - 1) & ~(FRAME_SIZE - 1);
	/* (A range reaching the very top loses its last frame here; no managed range
	 * can include that frame, since base + nframes * 4 KiB must not wrap.) */
	uint64_t first, last;
	if (start >= end || !clip(fa, start, end, &first, &last))
		return;
	fa->free -= mark(fa, first, last, true);
	/* The hint stays valid: reserving only makes frames used. */
}

int frame_alloc_alloc(struct frame_alloc *fa, uint64_t count, uint64_t align_frames,
		      uint64_t *out_addr)
{
	if (count == 0 || !out_addr || (align_frames & (align_frames - 1)))
		return FA_EINVAL;
	if (align_frames == 0)
		align_frames = 1;
	if (count > fa->free)
		return FA_ENOMEM;

	if (count == 1 && align_frames == 1) {
		/* Fast path: the first free bit at or after the hint. */
		uint64_t i = next_free(fa, fa->hint);
		if (i >= fa->nframes)
			return FA_ENOMEM; /* cannot happen while free > 0 and the invariant holds */
		fa->bitmap[i / 64] |= 1ull << (i % 64);
		fa->free--;
		fa->hint = i + 1;
		*out_addr = fa->base + i * FRAME_SIZE;
		return FA_OK;
	}

	/* Alignment is of the physical frame number, not of the index, because
	 * callers want e.g. 2 MiB-aligned physical memory. */
	uint64_t base_pfn = fa->base >> FRAME_SHIFT;
	uint64_t amask = align_frames - 1;
	uint64_t i = fa->hint;
	for (;;) {
		i = next_free(fa, i);
		/* Round the frame number up to the alignment. */
		uint64_t pfn = base_pfn + i;
		uint64_t apfn = (pfn + amask) & ~amask;
		if (apfn < pfn)
			return FA_ENOMEM; /* wrapped around the address space */
		i = apfn - base_pfn;
		if (i >= fa->nframes || count > fa->nframes - i)
			return FA_ENOMEM;
		uint64_t u = next_used(fa, i, i + count);
		if (u == i + count)
			break;
		i = u + 1; /* the run is broken at u: try after it */
	}
	mark(fa, i, i + count, true);
	fa->free -= count;
	/* No free frame existed in [hint, i) either if the first free frame was at i;
	 * advancing the hint is only safe in that case, so recompute it cheaply. */
	if (i == fa->hint)
		fa->hint = next_free(fa, i + count);
	*out_addr = fa->base + i * FRAME_SIZE;
	return FA_OK;
}

int frame_alloc_free(struct frame_alloc *fa, uint64_t addr, uint64_t count)
{
	if ((addr & (FRAME_SIZE - 1)) || count == 0)
		return FA_EINVAL;
	if (addr < fa->base)
		return FA_ERANGE;
	uint64_t i = (addr - fa->base) >> FRAME_SHIFT;
	if (i >= fa->nframes || count > fa->nframes - i)
		return FA_ERANGE;
	/* Check the whole range first, so a bad free changes nothing. */
	if (next_free(fa, i) < i + count)
		return FA_EDOUBLE;
	mark(fa, i, i + count, false);
	fa->free += count;
	if (i < fa->hint)
		fa->hint = i;
	return FA_OK;
}

uint64_t frame_alloc_free_frames(const struct frame_alloc *fa)
{
	return fa->free;
}

const char *frame_alloc_strerror(int err)
{
	switch (err) {
	case FA_OK:      return "ok";
	case FA_ENOMEM:  return "out of memory";
	case FA_EDOUBLE: return "frame already free (double free)";
	case FA_ERANGE:  return "address outside the managed range";
	case FA_EINVAL:  return "invalid argument";
	default:         return "unknown error";
	}
}
