/* A small first-fit heap over a caller-given region: pure logic, used by the
 * hypervisor's kmalloc and unit-tested on the host.
 *
 * Layout: the region is a sequence of blocks, each a 16-byte header followed by
 * its payload; payloads are 16-byte aligned and block sizes are multiples of 16.
 * Free blocks are also on a singly linked list in address order (the link lives
 * in the free block's payload), and are coalesced with free neighbours on free,
 * so two free blocks are never adjacent.
 *
 * Every header carries a canary derived from its address, size and state. A
 * write past the end of a payload that reaches the next header, a free of a
 * pointer that is not a block, and a double free are all detected and reported:
 * heap_free returns an error code, and the optional error handler is called
 * (the hypervisor makes that a panic). Nothing is silently ignored.
 *
 * Cost: alloc is first-fit over the free list; free walks the blocks up to the
 * pointer, which validates it exactly and finds its neighbours. Both are O(blocks),
 * which is fine for a hypervisor's few hundred long-lived objects. Not thread-safe:
 * the caller locks. */
#ifndef LIB_HEAP_H
#define LIB_HEAP_H
#include <stddef.h>
#include <stdint.h>

enum heap_err {
	HEAP_OK = 0,
	HEAP_EINVAL = -1,   /* not a block start: outside the heap, misaligned or interior */
	HEAP_EDOUBLE = -2,  /* the pointer is in memory that is already free */
	HEAP_ECORRUPT = -3, /* a header's canary or size is wrong: something overwrote it */
};

/* Called on every error before the function returns it; ptr is the pointer being
 * freed, or the damaged header. */
typedef void (*heap_error_fn)(void *ctx, int err, const void *ptr);

struct heap_block; /* private: see heap.c */

struct heap {
	uint8_t *start, *end;          /* the 16-byte aligned region actually used */
	struct heap_block *free_list;  /* address order */
	heap_error_fn on_error;
	void *err_ctx;
	/* running counters, for heap_get_stats */
	size_t used_bytes;             /* payload bytes of used blocks (rounded to 16) */
	size_t used_blocks;
	uint64_t nallocs, nfrees, nfailed, nerrors;
};

struct heap_stats {
	size_t total;          /* bytes managed, headers included */
	size_t used_bytes;     /* payload bytes in used blocks */
	size_t free_bytes;     /* payload bytes in free blocks */
	size_t used_blocks, free_blocks;
	size_t largest_free;   /* the largest single allocation that would succeed now */
	uint64_t nallocs, nfrees, nfailed, nerrors;
};

#define HEAP_ALIGN 16

void heap_init(struct heap *h, void *base, size_t size);
void heap_set_error_handler(struct heap *h, heap_error_fn fn, void *ctx);
/* A 16-byte aligned block of at least size bytes (not zeroed), or NULL. size 0
 * gives a minimal block, so a non-NULL result always means success. */
void *heap_alloc(struct heap *h, size_t size);
/* HEAP_OK (also for NULL, like free(NULL)), or an error as above; on an error the
 * heap is left unchanged. */
int heap_free(struct heap *h, void *p);
/* Usable size of an allocated block (>= the size asked for), 0 if p is not one. */
size_t heap_usable_size(const struct heap *h, const void *p);
/* Walk and validate the whole heap: canaries, sizes, free list order, coalescing. */
int heap_check(struct heap *h);
void heap_get_stats(const struct heap *h, struct heap_stats *out);
const char *heap_strerror(int err);
#endif
