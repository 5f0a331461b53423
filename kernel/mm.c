/* Host memory: every available frame of the boot memory map, minus what is in use
 * (low 1 MiB, the hv86 image, boot info, modules), goes to one frame allocator
 * (lib/frame_alloc.c); a heap (lib/heap.c) serves small objects. Memory below
 * 4 GiB is identity-mapped by boot/entry.S, so an HPA is a usable pointer.
 * Every CPU allocates: one lock for the frames, one for the heap. */
#include "arch/multiboot.h"
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "lib/frame_alloc.h"
#include "lib/heap.h"

#define MM_LIMIT       (4ull << 30)   /* what the boot page tables map */
#define LOW_RESERVED   (1ull << 20)
#define HEAP_FRAMES    1024           /* 4 MiB for VM structures */

extern char _image_start[], _image_end[];

static struct frame_alloc frames;
/* In BSS, not after the image: loaders put boot info and modules right there. */
static uint64_t frame_bitmap[MM_LIMIT / PAGE_SIZE / 64];
static struct heap heap;
static struct spinlock frames_lock = SPINLOCK_INIT, heap_lock = SPINLOCK_INIT;

void mm_init(void)
{
    uint64_t top = 0;
    for (unsigned i = 0; i < boot_info.nmmap; i++) {
        const struct boot_mem *m = &boot_info.mmap[i];
        if (m->type == MB_MMAP_AVAILABLE && m->addr + m->len > top)
            top = m->addr + m->len;
    }
    if (top > MM_LIMIT)
        top = MM_LIMIT;
    uint64_t nframes = top / PAGE_SIZE;
    frame_alloc_init(&frames, 0, nframes, frame_bitmap);
    for (unsigned i = 0; i < boot_info.nmmap; i++) {
        const struct boot_mem *m = &boot_info.mmap[i];
        if (m->type == MB_MMAP_AVAILABLE)
            frame_alloc_add_free(&frames, m->addr, m->len);
    }
    /* Reserved entries may overlap available ones on real firmware: honour them. */
    for (unsigned i = 0; i < boot_info.nmmap; i++) {
        const struct boot_mem *m = &boot_info.mmap[i];
        if (m->type != MB_MMAP_AVAILABLE)
            frame_alloc_reserve(&frames, m->addr, m->len);
    }
    frame_alloc_reserve(&frames, 0, LOW_RESERVED);
    frame_alloc_reserve(&frames, (uint64_t)_image_start,
                        (uint64_t)_image_end - (uint64_t)_image_start);
    frame_alloc_reserve(&frames, boot_info.info_start, boot_info.info_end - boot_info.info_start);
    for (unsigned i = 0; i < boot_info.nmodules; i++) {
        const struct boot_module *mod = &boot_info.modules[i];
        frame_alloc_reserve(&frames, mod->start, mod->end - mod->start);
        frame_alloc_reserve(&frames, (uint64_t)mod->name, strlen(mod->name) + 1);
    }
    if (boot_info.cmdline)
        frame_alloc_reserve(&frames, (uint64_t)boot_info.cmdline, strlen(boot_info.cmdline) + 1);

    void *h = frames_alloc(HEAP_FRAMES, 1);
    if (!h)
        panic("no memory for the hv86 heap (%lu frames free)", frame_alloc_free_frames(&frames));
    heap_init(&heap, h, HEAP_FRAMES * PAGE_SIZE);
}

void *frames_alloc(uint64_t count, uint64_t align_frames)
{
    uint64_t pa;
    spin_lock(&frames_lock);
    int err = frame_alloc_alloc(&frames, count, align_frames, &pa);
    spin_unlock(&frames_lock);
    if (err != FA_OK)
        return NULL;
    void *p = hva_of(pa);
    memset(p, 0, count * PAGE_SIZE);
    return p;
}

void frames_free(void *p, uint64_t count)
{
    spin_lock(&frames_lock);
    int err = frame_alloc_free(&frames, hpa_of(p), count);
    spin_unlock(&frames_lock);
    if (err != FA_OK)
        panic("frames_free(%p, %lu): %s", p, count, frame_alloc_strerror(err));
}

uint64_t frames_free_count(void)
{
    spin_lock(&frames_lock);
    uint64_t n = frame_alloc_free_frames(&frames);
    spin_unlock(&frames_lock);
    return n;
}

uint64_t mm_used_bytes(void)
{
    struct heap_stats hs;
    spin_lock(&heap_lock);
    heap_get_stats(&heap, &hs);
    spin_unlock(&heap_lock);
    uint64_t used_frames = frames.nframes - frames_free_count();
    return (used_frames - HEAP_FRAMES) * PAGE_SIZE + hs.used_bytes;
}

void *kmalloc(size_t size)
{
    spin_lock(&heap_lock);
    void *p = heap_alloc(&heap, size);
    spin_unlock(&heap_lock);
    if (p)
        memset(p, 0, size);
    return p;
}

void kfree(void *p)
{
    if (!p)
        return;
    spin_lock(&heap_lock);
    int err = heap_free(&heap, p);
    spin_unlock(&heap_lock);
    if (err != 0)
        panic("kfree(%p): heap corruption or double free", p);
}
