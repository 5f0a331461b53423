/* Physical frame allocator over a bitmap: pure logic, it never touches the memory
 * it manages, so the same code runs in the hypervisor and in host unit tests.
 *
 * One bit per 4 KiB frame, 1 = used. Every frame starts used, and the caller
 * frees what the firmware memory map says is usable RAM (add_free) and then
 * reserves what is taken (the hypervisor image, the modules, the bitmap itself).
 * Starting from "all used" means a frame the memory map never mentions can never
 * be handed out.
 *
 * Invariant behind the speed of 1-frame allocation: every frame below `hint` is
 * used. So a scan may start at hint, and the allocator behaves first-fit. */
#ifndef LIB_FRAME_ALLOC_H
#define LIB_FRAME_ALLOC_H
#include <stddef.h>
#include <stdint.h>

#define FRAME_SIZE 4096ull
#define FRAME_SHIFT 12

struct frame_alloc {
	uint64_t base;     /* physical address of frame 0; must be 4 KiB aligned */
	uint64_t nframes;  /* frames managed */
	uint64_t *bitmap;  /* frame_alloc_bitmap_bytes(nframes) bytes, caller-owned */
	uint64_t free;     /* frames currently free */
	uint64_t hint;     /* every frame below this index is used */
};

enum fa_err { FA_OK = 0, FA_ENOMEM = -1, FA_EDOUBLE = -2, FA_ERANGE = -3, FA_EINVAL = -4 };

/* Bytes of bitmap needed for nframes (whole 64-bit words). */
size_t frame_alloc_bitmap_bytes(uint64_t nframes);
/* Every frame starts USED. */
void frame_alloc_init(struct frame_alloc *fa, uint64_t base, uint64_t nframes, uint64_t *bitmap);
/* Mark [addr, addr+len) free, rounded inward to 4 KiB, clipped to the managed range. */
void frame_alloc_add_free(struct frame_alloc *fa, uint64_t addr, uint64_t len);
/* Mark [addr, addr+len) used, rounded outward to 4 KiB, clipped. */
void frame_alloc_reserve(struct frame_alloc *fa, uint64_t addr, uint64_t len);
/* count contiguous frames whose first frame number is a multiple of align_frames
 * (a power of two; 0 or 1 = no alignment). FA_ENOMEM when none, FA_EINVAL for
 * count 0, a bad alignment or a NULL out_addr. */
int frame_alloc_alloc(struct frame_alloc *fa, uint64_t count, uint64_t align_frames,
		      uint64_t *out_addr);
/* FA_EINVAL if addr is not 4 KiB aligned or count is 0, FA_ERANGE if any frame is
 * outside the managed range, FA_EDOUBLE if any frame is already free; on an error
 * nothing changes. */
int frame_alloc_free(struct frame_alloc *fa, uint64_t addr, uint64_t count);
uint64_t frame_alloc_free_frames(const struct frame_alloc *fa);
const char *frame_alloc_strerror(int err);
#endif
