/* lib/frame_alloc: the API contract, edge cases, and a randomized stress test
 * checked step by step against a one-bool-per-frame model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/frame_alloc.h"

#define PG 4096ull

/* An allocator over nframes at base, with its bitmap on the heap (so ASan sees any
 * write past frame_alloc_bitmap_bytes()). */
static struct frame_alloc *make(uint64_t base, uint64_t nframes)
{
	struct frame_alloc *fa = malloc(sizeof *fa);
	size_t bytes = frame_alloc_bitmap_bytes(nframes);
	uint64_t *bm = malloc(bytes ? bytes : 1);
	assert_non_null(fa);
	assert_non_null(bm);
	frame_alloc_init(fa, base, nframes, bm);
	return fa;
}

static void destroy(struct frame_alloc *fa)
{
	free(fa->bitmap);
	free(fa);
}

static bool is_used(const struct frame_alloc *fa, uint64_t i)
{
	return (fa->bitmap[i / 64] >> (i % 64)) & 1;
}

static uint64_t count_free(const struct frame_alloc *fa)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < fa->nframes; i++)
		n += !is_used(fa, i);
	return n;
}

/* The white-box invariant the fast path relies on: no free frame below hint. */
static void check_hint(const struct frame_alloc *fa)
{
	for (uint64_t i = 0; i < fa->hint && i < fa->nframes; i++)
		assert_true(is_used(fa, i));
}

static void test_bitmap_bytes(void **state)
{
	(void)state;
	assert_int_equal(frame_alloc_bitmap_bytes(0), 0);
	assert_int_equal(frame_alloc_bitmap_bytes(1), 8);
	assert_int_equal(frame_alloc_bitmap_bytes(64), 8);
	assert_int_equal(frame_alloc_bitmap_bytes(65), 16);
	assert_int_equal(frame_alloc_bitmap_bytes(1ull << 20), 1ull << 17);
}

static void test_init_all_used(void **state)
{
	(void)state;
	struct frame_alloc *fa = make(0x100000, 1000);
	uint64_t a = 0;
	assert_int_equal(frame_alloc_free_frames(fa), 0);
	assert_int_equal(count_free(fa), 0);
	assert_int_equal(frame_alloc_alloc(fa, 1, 1, &a), FA_ENOMEM);
	assert_int_equal(frame_alloc_alloc(fa, 3, 4, &a), FA_ENOMEM);
	destroy(fa);
}

static void test_add_free_and_reserve_rounding(void **state)
{
	(void)state;
	const uint64_t base = 0x200000;
	struct frame_alloc *fa = make(base, 100);

	/* Inward: [base+1, base+8193) holds only frame 1 completely. */
	frame_alloc_add_free(fa, base + 1, 8192);
	assert_int_equal(frame_alloc_free_frames(fa), 1);
	assert_false(is_used(fa, 1));
	assert_true(is_used(fa, 0));
	assert_true(is_used(fa, 2));

	/* Less than a frame, or zero length: nothing. */
	frame_alloc_add_free(fa, base + 10 * PG + 1, PG);
	frame_alloc_add_free(fa, base + 20 * PG, 0);
	assert_int_equal(frame_alloc_free_frames(fa), 1);

	/* Clipped: everything from 0 to far past the top frees exactly the range;
	 * doing it twice counts nothing twice. */
	frame_alloc_add_free(fa, 0, 1ull << 40);
	frame_alloc_add_free(fa, 0, 1ull << 40);
	assert_int_equal(frame_alloc_free_frames(fa), 100);
	assert_int_equal(count_free(fa), 100);

	/* Outward: two bytes straddling frames 3 and 4 reserve both. */
	frame_alloc_reserve(fa, base + 4 * PG - 1, 2);
	assert_int_equal(frame_alloc_free_frames(fa), 98);
	assert_true(is_used(fa, 3));
	assert_true(is_used(fa, 4));
	assert_false(is_used(fa, 2));
	assert_false(is_used(fa, 5));
	/* Reserving again, zero-length, or outside: no change. */
	frame_alloc_reserve(fa, base + 4 * PG, 1);
	frame_alloc_reserve(fa, base + 50 * PG, 0);
	frame_alloc_reserve(fa, 0, base);
	frame_alloc_reserve(fa, base + 100 * PG, 1ull << 30);
	assert_int_equal(frame_alloc_free_frames(fa), 98);
	/* Clipped at both ends. */
	frame_alloc_reserve(fa, 0, base + 2 * PG);
	assert_int_equal(frame_alloc_free_frames(fa), 96);
	frame_alloc_reserve(fa, base + 98 * PG + 5, 1ull << 50);
	assert_int_equal(frame_alloc_free_frames(fa), 94);
	assert_int_equal(count_free(fa), 94);
	check_hint(fa);
	destroy(fa);
}

/* Ranges that reach the top of the 64-bit address space must not wrap. */
static void test_top_of_address_space(void **state)
{
	(void)state;
	const uint64_t base = 0xfffffffffff00000ull; /* 255 frames below 2^64 - 4 KiB... */
	struct frame_alloc *fa = make(base, 200);
	frame_alloc_add_free(fa, base + 5, UINT64_MAX);
	assert_int_equal(frame_alloc_free_frames(fa), 199);
	frame_alloc_reserve(fa, UINT64_MAX - 10, 100);
	assert_int_equal(frame_alloc_free_frames(fa), 199);
	frame_alloc_reserve(fa, base + 150 * PG, UINT64_MAX);
	assert_int_equal(frame_alloc_free_frames(fa), 149);
	frame_alloc_add_free(fa, UINT64_MAX - 100, 50);
	assert_int_equal(frame_alloc_free_frames(fa), 149);
	destroy(fa);
}

static void test_alloc_until_enomem(void **state)
{
	(void)state;
	const uint64_t base = 0x40000000, n = 1000; /* not a multiple of 64 */
	struct frame_alloc *fa = make(base, n);
	frame_alloc_add_free(fa, base, n * PG);
	bool *seen = calloc(n, 1);
	for (uint64_t k = 0; k < n; k++) {
		uint64_t a = 0;
		assert_int_equal(frame_alloc_alloc(fa, 1, 0, &a), FA_OK);
		assert_true(a >= base && a < base + n * PG);
		assert_int_equal(a % PG, 0);
		uint64_t i = (a - base) / PG;
		assert_false(seen[i]);
		seen[i] = true;
		assert_int_equal(frame_alloc_free_frames(fa), n - k - 1);
	}
	uint64_t a = 0xabc;
	assert_int_equal(frame_alloc_alloc(fa, 1, 1, &a), FA_ENOMEM);
	assert_int_equal(a, 0xabc); /* untouched on failure */
	/* Free everything; all frames come back. */
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(frame_alloc_free(fa, base + i * PG, 1), FA_OK);
	assert_int_equal(frame_alloc_free_frames(fa), n);
	/* And a single allocation of all of it works. */
	assert_int_equal(frame_alloc_alloc(fa, n, 1, &a), FA_OK);
	assert_int_equal(a, base);
	assert_int_equal(frame_alloc_alloc(fa, 1, 1, &a), FA_ENOMEM);
	free(seen);
	destroy(fa);
}

static void test_alignment(void **state)
{
	(void)state;
	/* A base that is only 4 KiB aligned: alignment is of the physical address. */
	const uint64_t base = 0x103000, n = 4096;
	struct frame_alloc *fa = make(base, n);
	frame_alloc_add_free(fa, base, n * PG);
	static const uint64_t aligns[] = { 2, 4, 8, 16, 512, 1, 0, 64 };
	for (size_t k = 0; k < sizeof aligns / sizeof *aligns; k++) {
		uint64_t a = 0, al = aligns[k] ? aligns[k] : 1;
		assert_int_equal(frame_alloc_alloc(fa, 3, aligns[k], &a), FA_OK);
		assert_int_equal(a % (al * PG), 0);
		assert_true(a >= base && a + 3 * PG <= base + n * PG);
	}
	/* 2 MiB-aligned 2 MiB: fits (the range spans more than two 2 MiB pages). */
	uint64_t a = 0;
	assert_int_equal(frame_alloc_alloc(fa, 512, 512, &a), FA_OK);
	assert_int_equal(a % (2ull << 20), 0);
	/* Alignment bigger than the whole range: no aligned frame exists inside. */
	assert_int_equal(frame_alloc_alloc(fa, 1, 1ull << 30, &a), FA_ENOMEM);
	/* Not a power of two, count 0, NULL out: invalid. */
	assert_int_equal(frame_alloc_alloc(fa, 1, 3, &a), FA_EINVAL);
	assert_int_equal(frame_alloc_alloc(fa, 1, 24, &a), FA_EINVAL);
	assert_int_equal(frame_alloc_alloc(fa, 0, 1, &a), FA_EINVAL);
	assert_int_equal(frame_alloc_alloc(fa, 1, 1, NULL), FA_EINVAL);
	assert_int_equal(count_free(fa), frame_alloc_free_frames(fa));
	check_hint(fa);
	destroy(fa);
}

static void test_contiguous_runs(void **state)
{
	(void)state;
	const uint64_t base = 0, n = 256;
	struct frame_alloc *fa = make(base, n);
	frame_alloc_add_free(fa, base, n * PG);
	uint64_t a;
	/* Take all, then free every other frame: plenty free, but no run of 2. */
	assert_int_equal(frame_alloc_alloc(fa, n, 1, &a), FA_OK);
	for (uint64_t i = 0; i < n; i += 2)
		assert_int_equal(frame_alloc_free(fa, i * PG, 1), FA_OK);
	assert_int_equal(frame_alloc_free_frames(fa), n / 2);
	assert_int_equal(frame_alloc_alloc(fa, 2, 1, &a), FA_ENOMEM);
	/* Free frame 101: now 100..102 is a run of 3, the only one. */
	assert_int_equal(frame_alloc_free(fa, 101 * PG, 1), FA_OK);
	assert_int_equal(frame_alloc_alloc(fa, 3, 1, &a), FA_OK);
	assert_int_equal(a, 100 * PG);
	assert_int_equal(frame_alloc_alloc(fa, 2, 1, &a), FA_ENOMEM);
	/* A run crossing a 64-bit word boundary: free 60..70, ask for 11. */
	for (uint64_t i = 60; i <= 70; i++)
		if (i % 2)
			assert_int_equal(frame_alloc_free(fa, i * PG, 1), FA_OK);
	assert_int_equal(frame_alloc_alloc(fa, 11, 1, &a), FA_OK);
	assert_int_equal(a, 60 * PG);
	/* First fit: the single frame comes from the lowest free one. */
	assert_int_equal(frame_alloc_alloc(fa, 1, 1, &a), FA_OK);
	assert_int_equal(a, 0);
	assert_int_equal(count_free(fa), frame_alloc_free_frames(fa));
	check_hint(fa);
	destroy(fa);
}

static void test_bad_frees_change_nothing(void **state)
{
	(void)state;
	const uint64_t base = 0x10000000, n = 300;
	struct frame_alloc *fa = make(base, n);
	frame_alloc_add_free(fa, base, n * PG);
	uint64_t a, b;
	assert_int_equal(frame_alloc_alloc(fa, 8, 1, &a), FA_OK);
	assert_int_equal(frame_alloc_alloc(fa, 70, 1, &b), FA_OK);
	assert_int_equal(frame_alloc_free(fa, a + 3 * PG, 1), FA_OK);

	size_t bytes = frame_alloc_bitmap_bytes(n);
	uint64_t *snap = malloc(bytes);
	memcpy(snap, fa->bitmap, bytes);
	uint64_t free_before = frame_alloc_free_frames(fa);

	/* Double free of the whole run (one frame in it is already free). */
	assert_int_equal(frame_alloc_free(fa, a, 8), FA_EDOUBLE);
	assert_int_equal(frame_alloc_free(fa, a + 3 * PG, 1), FA_EDOUBLE);
	/* A free frame (never allocated) past the allocations. */
	assert_int_equal(frame_alloc_free(fa, base + 299 * PG, 1), FA_EDOUBLE);
	/* Outside, below, straddling the top, and with a huge count. */
	assert_int_equal(frame_alloc_free(fa, base - PG, 1), FA_ERANGE);
	assert_int_equal(frame_alloc_free(fa, base - PG, 2), FA_ERANGE);
	assert_int_equal(frame_alloc_free(fa, base + n * PG, 1), FA_ERANGE);
	assert_int_equal(frame_alloc_free(fa, base + (n - 1) * PG, 2), FA_ERANGE);
	assert_int_equal(frame_alloc_free(fa, b, UINT64_MAX), FA_ERANGE);
	assert_int_equal(frame_alloc_free(fa, 0, 1), FA_ERANGE);
	/* Unaligned, zero count. */
	assert_int_equal(frame_alloc_free(fa, b + 1, 1), FA_EINVAL);
	assert_int_equal(frame_alloc_free(fa, b + PG / 2, 4), FA_EINVAL);
	assert_int_equal(frame_alloc_free(fa, b, 0), FA_EINVAL);

	assert_memory_equal(snap, fa->bitmap, bytes);
	assert_int_equal(frame_alloc_free_frames(fa), free_before);
	/* The good frees still work afterwards. */
	assert_int_equal(frame_alloc_free(fa, b, 70), FA_OK);
	assert_int_equal(frame_alloc_free_frames(fa), free_before + 70);
	free(snap);
	destroy(fa);
}

static void test_strerror(void **state)
{
	(void)state;
	const int errs[] = { FA_OK, FA_ENOMEM, FA_EDOUBLE, FA_ERANGE, FA_EINVAL };
	for (size_t i = 0; i < 5; i++) {
		assert_non_null(frame_alloc_strerror(errs[i]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(frame_alloc_strerror(errs[i]),
						frame_alloc_strerror(errs[j]));
	}
	assert_non_null(frame_alloc_strerror(-99));
	assert_string_equal(frame_alloc_strerror(FA_EDOUBLE), "frame already free (double free)");
}

/* A large allocator: one million single-frame allocations must be quick (the hint
 * makes each O(1) amortized; a scan from 0 would take minutes here). */
static void test_single_frames_fast(void **state)
{
	(void)state;
	const uint64_t n = 1u << 20;
	struct frame_alloc *fa = make(0x100000000ull, n);
	frame_alloc_add_free(fa, 0, UINT64_MAX);
	uint64_t a, prev = 0;
	for (uint64_t k = 0; k < n; k++) {
		assert_int_equal(frame_alloc_alloc(fa, 1, 1, &a), FA_OK);
		if (k)
			assert_int_equal(a, prev + PG);
		prev = a;
	}
	assert_int_equal(frame_alloc_alloc(fa, 1, 1, &a), FA_ENOMEM);
	destroy(fa);
}

/* --- randomized stress against a model ---------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct blk { uint64_t addr, count; };

/* Does an aligned run of count free frames exist in the model? */
static bool model_has_run(const bool *used, uint64_t n, uint64_t base_pfn, uint64_t count,
			  uint64_t align)
{
	for (uint64_t i = 0; i + count <= n; i++) {
		if ((base_pfn + i) % align)
			continue;
		uint64_t j = 0;
		while (j < count && !used[i + j])
			j++;
		if (j == count)
			return true;
	}
	return false;
}

static void test_random_stress(void **state)
{
	(void)state;
	const uint64_t n = 777, base = 0x5000; /* base pfn 5: alignment is not trivial */
	struct frame_alloc *fa = make(base, n);
	bool *used = malloc(n);
	for (uint64_t i = 0; i < n; i++)
		used[i] = true;
	/* Holes from the "memory map": free most, keep some reserved. */
	frame_alloc_add_free(fa, base, n * PG);
	frame_alloc_reserve(fa, base + 100 * PG + 7, 3 * PG);
	frame_alloc_reserve(fa, base + 500 * PG, 64 * PG);
	for (uint64_t i = 0; i < n; i++)
		used[i] = (i >= 100 && i < 104) || (i >= 500 && i < 564);

	struct blk *live = malloc(n * sizeof *live);
	size_t nlive = 0;
	unsigned long ops = 0, enomem = 0;
	for (int step = 0; step < 200000; step++) {
		uint64_t r = rnd() % 100;
		if (r < 50) {
			uint64_t count = 1 + rnd() % (rnd() % 4 == 0 ? 40 : 4);
			uint64_t align = (rnd() % 3 == 0) ? 1ull << (rnd() % 6) : 1;
			uint64_t a;
			int e = frame_alloc_alloc(fa, count, align, &a);
			if (e == FA_ENOMEM) {
				assert_false(model_has_run(used, n, base / PG, count, align));
				enomem++;
			} else {
				assert_int_equal(e, FA_OK);
				assert_int_equal((a / PG) % align, 0);
				assert_true(a >= base);
				uint64_t i = (a - base) / PG;
				assert_true(i + count <= n);
				for (uint64_t j = 0; j < count; j++) {
					assert_false(used[i + j]);
					used[i + j] = true;
				}
				live[nlive++] = (struct blk){ a, count };
			}
		} else if (r < 90 && nlive) {
			size_t k = rnd() % nlive;
			struct blk b = live[k];
			/* Sometimes free only a part (splitting the block in two). */
			if (b.count > 2 && rnd() % 4 == 0) {
				uint64_t off = 1 + rnd() % (b.count - 2), c = 1;
				assert_int_equal(frame_alloc_free(fa, b.addr + off * PG, c), FA_OK);
				used[(b.addr - base) / PG + off] = false;
				live[k].count = off;
				live[nlive++] = (struct blk){ b.addr + (off + 1) * PG, b.count - off - 1 };
			} else {
				assert_int_equal(frame_alloc_free(fa, b.addr, b.count), FA_OK);
				for (uint64_t j = 0; j < b.count; j++)
					used[(b.addr - base) / PG + j] = false;
				live[k] = live[--nlive];
			}
		} else {
			/* A random free that the model says must fail; check it changes nothing. */
			uint64_t i = rnd() % (n + 10), c = 1 + rnd() % 5;
			uint64_t before = frame_alloc_free_frames(fa);
			int e = frame_alloc_free(fa, base + i * PG, c);
			if (i + c > n) {
				assert_int_equal(e, FA_ERANGE);
			} else {
				bool any_free = false;
				for (uint64_t j = 0; j < c; j++)
					any_free |= !used[i + j];
				if (any_free) {
					assert_int_equal(e, FA_EDOUBLE);
				} else {
					/* All used: a legal free (possibly of a reserved frame).
					 * Undo it to keep the model's bookkeeping simple. */
					assert_int_equal(e, FA_OK);
					for (uint64_t j = 0; j < c; j++)
						frame_alloc_reserve(fa, base + (i + j) * PG, 1);
				}
			}
			assert_int_equal(frame_alloc_free_frames(fa), before);
		}
		ops++;
		if (step % 997 == 0) {
			for (uint64_t i = 0; i < n; i++)
				assert_int_equal(is_used(fa, i), used[i]);
			check_hint(fa);
		}
		uint64_t mf = 0;
		for (uint64_t i = 0; i < n; i++)
			mf += !used[i];
		assert_int_equal(frame_alloc_free_frames(fa), mf);
	}
	print_message("  %lu random operations, %lu correct ENOMEMs\n", ops, enomem);
	free(live);
	free(used);
	destroy(fa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_bytes),
		cmocka_unit_test(test_init_all_used),
		cmocka_unit_test(test_add_free_and_reserve_rounding),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_alloc_until_enomem),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_contiguous_runs),
		cmocka_unit_test(test_bad_frees_change_nothing),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_single_frames_fast),
		cmocka_unit_test(test_random_stress),
	};
	return cmocka_run_group_tests_name("frame_alloc", tests, NULL, NULL);
}
