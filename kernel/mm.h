/* Host memory: physical frames (identity-mapped, so HPA == host virtual address)
 * and a small heap. */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H
#include <stddef.h>
#include <stdint.h>

/* count contiguous zeroed frames aligned to align_frames frames; NULL if none. */
void *frames_alloc(uint64_t count, uint64_t align_frames);
void frames_free(void *p, uint64_t count);
static inline void *page_alloc(void) { return frames_alloc(1, 1); }
static inline void page_free(void *p) { frames_free(p, 1); }
static inline uint64_t hpa_of(const void *p) { return (uint64_t)(uintptr_t)p; }
static inline void *hva_of(uint64_t pa) { return (void *)(uintptr_t)pa; }
uint64_t frames_free_count(void);
/* Host memory in use: frames outside the heap plus heap payload, in bytes. */
uint64_t mm_used_bytes(void);

void *kmalloc(size_t size);          /* zeroed; NULL if out of memory */
void kfree(void *p);
#endif
