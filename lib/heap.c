/* First-fit heap with coalescing and header canaries: see heap.h. */
#include "lib/heap.h"
#include <stdbool.h>

/* 16 bytes on both x86-64 and i386 (uint64_t is 4-aligned in i386 structs), so
 * payloads after it stay 16-byte aligned. */
struct heap_block {
	uint32_t canary;
	uint32_t state;
	uint64_t size; /* whole block, header included; a multiple of 16 */
};
_Static_assert(sizeof(struct heap_block) == HEAP_ALIGN, "header must be 16 bytes");

#define HDR ((size_t)sizeof(struct heap_block))
#define MIN_BLOCK (HDR + HEAP_ALIGN) /* a free block must hold the list link */

/* Distinct, unlikely bit patterns, so a zeroed or ASCII-filled header never
 * passes for a valid one. */
#define ST_USED 0x55a11c0cu
#define ST_FREE 0xf7eeb10cu
#define ST_DEAD 0xdeadb10cu /* a header absorbed by coalescing */
#define CANARY_SEED 0x68763836u /* "hv86" */

static uint32_t canary_of(const struct heap_block *b)
{
	uint64_t a = (uint64_t)(uintptr_t)b;
	return CANARY_SEED ^ b->state ^ (uint32_t)b->size ^ (uint32_t)(b->size >> 32) ^
	       (uint32_t)a ^ (uint32_t)(a >> 32);
}

static void seal(struct heap_block *b, uint32_t state, uint64_t size)
{
	b->state = state;
	b->size = size;
	b->canary = canary_of(b);
}

/* The free-list link lives in the first payload bytes of a free block. */
static struct heap_block **link_of(struct heap_block *b)
{
	return (struct heap_block **)(void *)((uint8_t *)b + HDR);
}

static struct heap_block *phys_next(struct heap_block *b)
{
	return (struct heap_block *)(void *)((uint8_t *)b + b->size);
}

static int report(struct heap *h, int err, const void *ptr)
{
	h->nerrors++;
	if (h->on_error)
		h->on_error(h->err_ctx, err, ptr);
	return err;
}

/* A header we may trust: right canary, a known state, and a sane size that stays
 * inside the heap. */
static bool header_ok(const struct heap *h, const struct heap_block *b)
{
	if (b->canary != canary_of(b))
		return false;
	if (b->state != ST_USED && b->state != ST_FREE)
		return false;
	uint64_t room = (uint64_t)(h->end - (const uint8_t *)b);
	return b->size >= MIN_BLOCK && b->size % HEAP_ALIGN == 0 && b->size <= room;
}

void heap_init(struct heap *h, void *base, size_t size)
{
	uintptr_t lo = ((uintptr_t)base + HEAP_ALIGN - 1) & ~(uintptr_t)(HEAP_ALIGN - 1);
	uintptr_t hi = ((uintptr_t)base + size) & ~(uintptr_t)(HEAP_ALIGN - 1);
	if (size == 0 || hi < lo || (uintptr_t)base + size < (uintptr_t)base)
		hi = lo; /* too small (or wrapping): an empty heap */

	h->start = (uint8_t *)lo;
	h->end = (uint8_t *)hi;
	h->free_list = 0;
	h->on_error = 0;
	h->err_ctx = 0;
	h->used_bytes = h->used_blocks = 0;
	h->nallocs = h->nfrees = h->nfailed = h->nerrors = 0;
	if (hi - lo >= MIN_BLOCK) {
		struct heap_block *b = (struct heap_block *)lo;
		seal(b, ST_FREE, hi - lo);
		*link_of(b) = 0;
		h->free_list = b;
	} else {
		h->end = h->start;
	}
}

void heap_set_error_handler(struct heap *h, heap_error_fn fn, void *ctx)
{
	h->on_error = fn;
	h->err_ctx = ctx;
}

void *heap_alloc(struct heap *h, size_t size)
{
	if (size > (size_t)(h->end - h->start)) { /* also keeps the rounding below from wrapping */
		h->nfailed++;
		return 0;
	}
	uint64_t need = HDR + (((uint64_t)size + HEAP_ALIGN - 1) & ~(uint64_t)(HEAP_ALIGN - 1));
	if (need < MIN_BLOCK)
		need = MIN_BLOCK;

	struct heap_block **pp = &h->free_list;
	for (struct heap_block *b = *pp; b; pp = link_of(b), b = *pp) {
		if (!header_ok(h, b) || b->state != ST_FREE) {
			report(h, HEAP_ECORRUPT, b);
			h->nfailed++;
			return 0;
		}
		if (b->size < need)
			continue;
		if (b->size - need >= MIN_BLOCK) {
			/* Split: the tail stays free and takes b's place in the list. */
			struct heap_block *rest = (struct heap_block *)(void *)((uint8_t *)b + need);
			seal(rest, ST_FREE, b->size - need);
			*link_of(rest) = *link_of(b);
			*pp = rest;
			seal(b, ST_USED, need);
		} else {
			*pp = *link_of(b); /* the slack is too small to be a block: keep it */
			seal(b, ST_USED, b->size);
		}
		h->used_bytes += b->size - HDR;
		h->used_blocks++;
		h->nallocs++;
		return (uint8_t *)b + HDR;
	}
	h->nfailed++;
	return 0;
}

/* Walk blocks in address order to the one holding address p. On success *found is
 * that block and *prev_free the last free block before it (NULL if none). */
static int locate(struct heap *h, const void *p, struct heap_block **found,
		  struct heap_block **prev_free)
{
	const uint8_t *q = p;
	*prev_free = 0;
	for (uint8_t *cur = h->start; cur < h->end;) {
		struct heap_block *b = (struct heap_block *)(void *)cur;
		if (!header_ok(h, b))
			return report(h, HEAP_ECORRUPT, b);
		if (q < cur + b->size) {
			*found = b;
			return HEAP_OK;
		}
		if (b->state == ST_FREE)
			*prev_free = b;
		cur += b->size;
	}
	return report(h, HEAP_EINVAL, p);
}

int heap_free(struct heap *h, void *p)
{
	if (!p)
		return HEAP_OK;
	uint8_t *q = p;
	if (q < h->start + HDR || q >= h->end || ((uintptr_t)q % HEAP_ALIGN) != 0)
		return report(h, HEAP_EINVAL, p);

	struct heap_block *b = 0, *prev = 0;
	int err = locate(h, q - HDR, &b, &prev);
	if (err)
		return err;
	if (b->state == ST_FREE) /* its own header, or inside a coalesced free block */
		return report(h, HEAP_EDOUBLE, p);
	if ((uint8_t *)b + HDR != q) /* interior pointer of a live block */
		return report(h, HEAP_EINVAL, p);

	/* The next block must be sound before we merge with it. */
	struct heap_block *next = phys_next(b);
	if ((uint8_t *)next < h->end && !header_ok(h, next))
		return report(h, HEAP_ECORRUPT, next);

	h->used_bytes -= b->size - HDR;
	h->used_blocks--;
	h->nfrees++;

	/* Insert after prev in the address-ordered list. */
	struct heap_block **pp = prev ? link_of(prev) : &h->free_list;
	uint64_t size = b->size;
	struct heap_block *after = *pp;
	if ((uint8_t *)next < h->end && next->state == ST_FREE) {
		/* Coalesce forward: next is necessarily the list successor. */
		after = *link_of(next);
		size += next->size;
		seal(next, ST_DEAD, next->size);
	}
	if (prev && phys_next(prev) == b) {
		/* Coalesce backward: prev grows over b. */
		seal(b, ST_DEAD, b->size);
		seal(prev, ST_FREE, prev->size + size);
		*link_of(prev) = after;
	} else {
		seal(b, ST_FREE, size);
		*link_of(b) = after;
		*pp = b;
	}
	return HEAP_OK;
}

size_t heap_usable_size(const struct heap *h, const void *p)
{
	const uint8_t *q = p;
	if (!q || q < h->start + HDR || q >= h->end || ((uintptr_t)q % HEAP_ALIGN) != 0)
		return 0;
	const struct heap_block *b = (const struct heap_block *)(const void *)(q - HDR);
	if (!header_ok(h, b) || b->state != ST_USED)
		return 0;
	return (size_t)(b->size - HDR);
}

int heap_check(struct heap *h)
{
	struct heap_block *expect = h->free_list; /* the list must visit free blocks in order */
	size_t used_bytes = 0, used_blocks = 0;
	bool prev_was_free = false;
	uint8_t *cur = h->start;
	while (cur < h->end) {
		struct heap_block *b = (struct heap_block *)(void *)cur;
		if (!header_ok(h, b))
			return report(h, HEAP_ECORRUPT, b);
		if (b->state == ST_FREE) {
			if (prev_was_free || b != expect) /* uncoalesced, or the list is broken */
				return report(h, HEAP_ECORRUPT, b);
			expect = *link_of(b);
			prev_was_free = true;
		} else {
			used_bytes += b->size - HDR;
			used_blocks++;
			prev_was_free = false;
		}
		cur += b->size;
	}
	if (cur != h->end || expect != 0 || used_bytes != h->used_bytes ||
	    used_blocks != h->used_blocks)
		return report(h, HEAP_ECORRUPT, cur);
	return HEAP_OK;
}

void heap_get_stats(const struct heap *h, struct heap_stats *out)
{
	out->total = (size_t)(h->end - h->start);
	out->used_bytes = h->used_bytes;
	out->used_blocks = h->used_blocks;
	out->free_bytes = 0;
	out->free_blocks = 0;
	out->largest_free = 0;
	/* Walks the list without validating it (stats must not report; heap_check
	 * does), but bounded, so a corrupted link cannot make it loop forever. */
	size_t limit = out->total / MIN_BLOCK;
	for (struct heap_block *b = h->free_list; b && limit--; b = *link_of(b)) {
		out->free_bytes += b->size - HDR;
		out->free_blocks++;
		if (b->size - HDR > out->largest_free)
			out->largest_free = b->size - HDR;
	}
	out->nallocs = h->nallocs;
	out->nfrees = h->nfrees;
	out->nfailed = h->nfailed;
	out->nerrors = h->nerrors;
}

const char *heap_strerror(int err)
{
	switch (err) {
	case HEAP_OK:       return "ok";
	case HEAP_EINVAL:   return "not a heap block";
	case HEAP_EDOUBLE:  return "double free";
	case HEAP_ECORRUPT: return "heap corrupted (bad block header)";
	default:            return "unknown error";
	}
}
