/* lib/heap: alignment, first fit, splitting and coalescing, error reporting for
 * double frees, bad pointers and overwritten headers, and a randomized stress test
 * with heap_check() after every step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/heap.h"

#define HDR 16

struct errlog {
	int count;
	int last_err;
	const void *last_ptr;
};

static void on_err(void *ctx, int err, const void *ptr)
{
	struct errlog *log = ctx;
	log->count++;
	log->last_err = err;
	log->last_ptr = ptr;
}

struct fixture {
	struct heap h;
	struct errlog log;
	uint8_t *mem;
	size_t size;
};

static struct fixture *setup_heap(size_t size, size_t misalign)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->mem = malloc(size + misalign);
	assert_non_null(f->mem);
	f->size = size;
	heap_init(&f->h, f->mem + misalign, size);
	heap_set_error_handler(&f->h, on_err, &f->log);
	return f;
}

static void teardown_heap(struct fixture *f)
{
	free(f->mem);
	free(f);
}

static struct heap_stats stats(const struct heap *h)
{
	struct heap_stats s;
	heap_get_stats(h, &s);
	return s;
}

static void test_init_and_alignment(void **state)
{
	(void)state;
	/* A misaligned base and size: the heap shrinks to the aligned part. */
	struct fixture *f = setup_heap(4099, 3);
	struct heap_stats s = stats(&f->h);
	assert_int_equal(s.total % 16, 0);
	assert_true(s.total >= 4096 - 16 && s.total <= 4099);
	assert_int_equal(s.free_blocks, 1);
	assert_int_equal(s.largest_free, s.total - HDR);
	assert_int_equal(heap_check(&f->h), HEAP_OK);

	for (size_t sz = 0; sz <= 100; sz++) {
		void *p = heap_alloc(&f->h, sz);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		assert_true(heap_usable_size(&f->h, p) >= sz);
		assert_true(heap_usable_size(&f->h, p) < sz + 32);
		memset(p, 0xab, sz); /* ASan would see a write outside the region */
		assert_int_equal(heap_free(&f->h, p), HEAP_OK);
		assert_int_equal(heap_check(&f->h), HEAP_OK);
	}
	s = stats(&f->h);
	assert_int_equal(s.free_blocks, 1);
	assert_int_equal(s.used_blocks, 0);
	assert_int_equal(s.nallocs, 101);
	assert_int_equal(s.nfrees, 101);
	assert_int_equal(f->log.count, 0);
	teardown_heap(f);
}

static void test_tiny_and_huge(void **state)
{
	(void)state;
	struct heap h;
	uint8_t buf[64];
	heap_init(&h, buf, 0);
	assert_null(heap_alloc(&h, 1));
	heap_init(&h, buf, 20); /* smaller than a header plus a minimal payload */
	assert_null(heap_alloc(&h, 0));
	assert_int_equal(heap_check(&h), HEAP_OK);

	struct fixture *f = setup_heap(1024, 0);
	assert_null(heap_alloc(&f->h, SIZE_MAX));
	assert_null(heap_alloc(&f->h, SIZE_MAX - 8));
	assert_null(heap_alloc(&f->h, 1024));
	assert_int_equal(stats(&f->h).nfailed, 3);
	/* Exactly the whole heap. */
	size_t max = stats(&f->h).largest_free;
	void *p = heap_alloc(&f->h, max);
	assert_non_null(p);
	assert_null(heap_alloc(&f->h, 0));
	assert_int_equal(heap_free(&f->h, p), HEAP_OK);
	assert_int_equal(f->log.count, 0);
	teardown_heap(f);
}

static void test_fill_until_null_then_coalesce(void **state)
{
	(void)state;
	struct fixture *f = setup_heap(64 * 1024, 0);
	void *ptrs[4096];
	size_t n = 0;
	while ((ptrs[n] = heap_alloc(&f->h, 24 + (n % 5) * 16)) != NULL) {
		memset(ptrs[n], (int)n, 24);
		n++;
	}
	assert_true(n > 100);
	assert_int_equal(heap_check(&f->h), HEAP_OK);
	/* Contents intact: blocks do not overlap. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(((uint8_t *)ptrs[i])[23], (uint8_t)i);
	/* Free in an interleaved order: evens then odds, which forces both
	 * forward and backward merges. */
	for (size_t i = 0; i < n; i += 2)
		assert_int_equal(heap_free(&f->h, ptrs[i]), HEAP_OK);
	assert_int_equal(heap_check(&f->h), HEAP_OK);
	for (size_t i = 1; i < n; i += 2)
		assert_int_equal(heap_free(&f->h, ptrs[i]), HEAP_OK);
	struct heap_stats s = stats(&f->h);
	assert_int_equal(s.free_blocks, 1);
	assert_int_equal(s.largest_free, s.total - HDR);
	assert_int_equal(s.used_bytes, 0);
	assert_int_equal(heap_check(&f->h), HEAP_OK);
	assert_int_equal(f->log.count, 0);
	teardown_heap(f);
}

static void test_coalesce_all_orders(void **state)
{
	(void)state;
	static const int orders[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	for (int o = 0; o < 6; o++) {
		struct fixture *f = setup_heap(4096, 0);
		void *p[4];
		for (int i = 0; i < 4; i++)
			p[i] = heap_alloc(&f->h, 100);
		/* p[3] stays, so the tail free block is not adjacent to p[2]. */
		for (int k = 0; k < 3; k++) {
			assert_int_equal(heap_free(&f->h, p[orders[o][k]]), HEAP_OK);
			assert_int_equal(heap_check(&f->h), HEAP_OK);
		}
		struct heap_stats s = stats(&f->h);
		assert_int_equal(s.free_blocks, 2);
		/* The three merged blocks make one hole that fits 3 * 112 - 16. */
		void *big = heap_alloc(&f->h, 3 * 112 - HDR);
		assert_ptr_equal(big, p[0]);
		teardown_heap(f);
	}
}

static void test_first_fit_and_split(void **state)
{
	(void)state;
	struct fixture *f = setup_heap(8192, 0);
	void *a = heap_alloc(&f->h, 256);
	void *b = heap_alloc(&f->h, 64);
	void *c = heap_alloc(&f->h, 256);
	(void)c;
	assert_int_equal(heap_free(&f->h, a), HEAP_OK);
	/* The first hole that fits is a's: a small block lands there, split off. */
	void *d = heap_alloc(&f->h, 32);
	assert_ptr_equal(d, a);
	void *e = heap_alloc(&f->h, 100);
	assert_ptr_equal(e, (uint8_t *)a + 48);
	/* What is left of the hole (272 - 48 - 128 = 96 bytes) fits exactly 80. */
	void *e2 = heap_alloc(&f->h, 80);
	assert_ptr_equal(e2, (uint8_t *)a + 176);
	/* Too big for the rest of the hole: goes past c. */
	void *g = heap_alloc(&f->h, 200);
	assert_true((uint8_t *)g > (uint8_t *)c);
	/* Slack too small to split stays in the block. */
	assert_int_equal(heap_free(&f->h, b), HEAP_OK);
	void *h2 = heap_alloc(&f->h, 56); /* b's block has 64 payload bytes */
	assert_ptr_equal(h2, b);
	assert_int_equal(heap_usable_size(&f->h, h2), 64);
	assert_int_equal(heap_check(&f->h), HEAP_OK);
	teardown_heap(f);
}

static void test_double_free_reported(void **state)
{
	(void)state;
	struct fixture *f = setup_heap(4096, 0);
	void *a = heap_alloc(&f->h, 40);
	void *b = heap_alloc(&f->h, 40);
	void *c = heap_alloc(&f->h, 40);
	assert_int_equal(heap_free(&f->h, b), HEAP_OK);

	/* The plain case: b's header says free. */
	struct heap_stats before = stats(&f->h);
	assert_int_equal(heap_free(&f->h, b), HEAP_EDOUBLE);
	assert_int_equal(f->log.count, 1);
	assert_int_equal(f->log.last_err, HEAP_EDOUBLE);
	assert_ptr_equal(f->log.last_ptr, b);

	/* After coalescing b into a's block, b's old header is inside a free block. */
	assert_int_equal(heap_free(&f->h, a), HEAP_OK);
	assert_int_equal(heap_free(&f->h, b), HEAP_EDOUBLE);
	assert_int_equal(heap_free(&f->h, a), HEAP_EDOUBLE);
	assert_int_equal(f->log.count, 3);
	assert_int_equal(heap_check(&f->h), HEAP_OK);
	struct heap_stats s = stats(&f->h);
	assert_int_equal(s.nerrors, 3);
	assert_int_equal(s.nfrees, before.nfrees + 1);
	/* And c is still perfectly freeable. */
	assert_int_equal(heap_free(&f->h, c), HEAP_OK);
	assert_int_equal(stats(&f->h).free_blocks, 1);
	/* NULL is fine, like free(NULL). */
	assert_int_equal(heap_free(&f->h, NULL), HEAP_OK);
	assert_int_equal(f->log.count, 3);
	teardown_heap(f);
}

static void test_bad_pointers(void **state)
{
	(void)state;
	struct fixture *f = setup_heap(4096, 0);
	uint8_t *a = heap_alloc(&f->h, 100);
	int local;
	assert_int_equal(heap_free(&f->h, &local), HEAP_EINVAL);       /* outside */
	assert_int_equal(heap_free(&f->h, a + 1), HEAP_EINVAL);        /* misaligned */
	assert_int_equal(heap_free(&f->h, a + 32), HEAP_EINVAL);       /* interior */
	assert_int_equal(heap_free(&f->h, f->mem), HEAP_EINVAL);       /* the first header */
	assert_int_equal(heap_free(&f->h, f->mem + 4096), HEAP_EINVAL); /* the end */
	assert_int_equal(f->log.count, 5);
	assert_int_equal(heap_usable_size(&f->h, a + 32), 0);
	assert_int_equal(heap_usable_size(&f->h, &local), 0);
	assert_int_equal(heap_free(&f->h, a), HEAP_OK);
	assert_int_equal(heap_check(&f->h), HEAP_OK);
	teardown_heap(f);
}

static void test_overflow_detected(void **state)
{
	(void)state;
	struct fixture *f = setup_heap(4096, 0);
	uint8_t *a = heap_alloc(&f->h, 32);
	uint8_t *b = heap_alloc(&f->h, 32);
	/* Write 8 bytes past a's payload: into b's header. */
	memset(a, 'x', 32 + 8);
	assert_int_equal(heap_check(&f->h), HEAP_ECORRUPT);
	assert_int_equal(f->log.last_err, HEAP_ECORRUPT);
	assert_ptr_equal(f->log.last_ptr, b - HDR);
	/* Freeing a would merge with its neighbour: refused. Freeing b: its header is bad. */
	assert_int_equal(heap_free(&f->h, a), HEAP_ECORRUPT);
	assert_int_equal(heap_free(&f->h, b), HEAP_ECORRUPT);
	assert_int_equal(heap_usable_size(&f->h, b), 0);
	teardown_heap(f);

	/* A smashed free block's header: the next allocation walking over it reports it. */
	f = setup_heap(4096, 0);
	a = heap_alloc(&f->h, 32);
	memset(a + 32, 0, 4); /* the tail free block's canary */
	assert_null(heap_alloc(&f->h, 16));
	assert_int_equal(f->log.count, 1);
	assert_int_equal(f->log.last_err, HEAP_ECORRUPT);
	teardown_heap(f);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(heap_strerror(HEAP_EDOUBLE), "double free");
	assert_string_equal(heap_strerror(HEAP_OK), "ok");
	assert_non_null(heap_strerror(HEAP_EINVAL));
	assert_non_null(heap_strerror(HEAP_ECORRUPT));
	assert_non_null(heap_strerror(12345));
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_random_stress(void **state)
{
	(void)state;
	enum { N = 300 };
	struct fixture *f = setup_heap(96 * 1024, 0);
	void *ptr[N] = { 0 };
	size_t sz[N] = { 0 };
	unsigned fails = 0;
	for (int step = 0; step < 40000; step++) {
		int k = (int)(rnd() % N);
		if (ptr[k]) {
			/* The pattern written at allocation must have survived. */
			for (size_t i = 0; i < sz[k]; i++)
				assert_int_equal(((uint8_t *)ptr[k])[i], (uint8_t)(k + i));
			assert_int_equal(heap_free(&f->h, ptr[k]), HEAP_OK);
			ptr[k] = NULL;
		} else {
			size_t s = rnd() % 4 ? rnd() % 128 : rnd() % 3000;
			ptr[k] = heap_alloc(&f->h, s);
			if (!ptr[k]) {
				fails++;
				continue;
			}
			assert_int_equal((uintptr_t)ptr[k] % 16, 0);
			sz[k] = s;
			for (size_t i = 0; i < s; i++)
				((uint8_t *)ptr[k])[i] = (uint8_t)(k + i);
		}
		if (step % 16 == 0)
			assert_int_equal(heap_check(&f->h), HEAP_OK);
	}
	for (int k = 0; k < N; k++)
		assert_int_equal(heap_free(&f->h, ptr[k]), HEAP_OK);
	struct heap_stats s = stats(&f->h);
	assert_int_equal(s.free_blocks, 1);
	assert_int_equal(s.used_blocks, 0);
	assert_int_equal(heap_check(&f->h), HEAP_OK);
	assert_int_equal(f->log.count, 0);
	print_message("  40000 random steps, %u allocations refused (full)\n", fails);
	teardown_heap(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_and_alignment),
		cmocka_unit_test(test_tiny_and_huge),
		cmocka_unit_test(test_fill_until_null_then_coalesce),
		cmocka_unit_test(test_coalesce_all_orders),
		cmocka_unit_test(test_first_fit_and_split),
		cmocka_unit_test(test_double_free_reported),
		cmocka_unit_test(test_bad_pointers),
		cmocka_unit_test(test_overflow_detected),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_random_stress),
	};
	return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
