/* A copy-on-write block backend (dev/blk.h): a disk image shared read-only by
 * every VM that names it (a multiboot module: host pointer and size), under a
 * private overlay of 4 KiB chunks in hv86 memory, so a VM's writes reach neither
 * the image nor another VM, and vanish with the VM.
 *
 * The overlay is a radix tree of 4 KiB table pages (512 pointers each) over the
 * disk's chunks, allocated on the first write under each: an untouched disk costs
 * no page at all, a 1 GiB disk needs 3 levels. Every page (data and table) comes
 * from the caller's alloc_page and counts against overlay_limit; a write that
 * would need one more page than the limit allows (or that alloc_page refuses)
 * fails with BLK_IOERR, changes nothing the guest can read, and counts in
 * overlay_full, for the caller to log.
 *
 * Capacity: the image's size in 512-byte sectors rounded UP, the tail of the last
 * sector reading as zeros, as QEMU does for a raw image (block.c's
 * refresh_total_sectors takes DIV_ROUND_UP(length, BDRV_SECTOR_SIZE) and
 * file-posix fills a short read with zeros).
 *
 * Operations (all complete before submit returns):
 * - READ: the overlay's chunk if there is one, else the image.
 * - WRITE: each chunk it touches is first copied whole from the image into a new
 *   overlay page (all pages are taken before any byte is written, so a write that
 *   fails for lack of pages leaves the disk as it was), then written.
 * - FLUSH: nothing to do in memory: BLK_OK.
 * - DISCARD: frees the overlay pages of the chunks the range covers entirely
 *   (and table pages left empty); such a chunk then reads as the IMAGE again,
 *   which virtio allows (5.2.6.2: the device MAY deallocate; it promises no
 *   content after a discard). Partly covered chunks keep their data.
 * - WRITE_ZEROES: a chunk the range covers entirely becomes a "zero" entry (its
 *   page, if any, freed: no memory for zeros); partly covered chunks are copied
 *   on write and zeroed in part. A failure (overlay full) may leave the range
 *   partly zeroed.
 * A backend made read-only refuses WRITE, DISCARD and WRITE_ZEROES (BLK_IOERR).
 *
 * Pure code: no allocation of its own, no host calls, not thread-safe (the
 * caller serializes the requests of one disk). Unit-tested in
 * tests/unit/test_blk_cow.c, fuzzed through tests/fuzz/fuzz_virtio_blk.c. */
#ifndef DEV_BLK_COW_H
#define DEV_BLK_COW_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/blk.h"

#define BLK_COW_PAGE_SIZE     4096u
#define BLK_COW_CHUNK_SECTORS (BLK_COW_PAGE_SIZE / BLK_SECTOR_SIZE)

/* Where overlay pages come from. alloc_page returns a 4096-byte, 4096-aligned
 * page or NULL (the backend fills every page it takes, so it need not be zeroed);
 * free_page takes back a page alloc_page returned. */
struct blk_cow_pages {
    void *(*alloc_page)(void *ctx);
    void (*free_page)(void *ctx, void *page);
    void *ctx;
};

struct blk_cow {
    const uint8_t *image;        /* never written */
    uint64_t image_bytes;
    uint64_t capacity;           /* sectors: image_bytes / 512, rounded up */
    uint64_t nchunks;            /* 4 KiB chunks covering the capacity */
    unsigned levels;             /* table levels above the data pages, 1.. */
    void *root;                  /* the top table page; NULL until a write */
    bool read_only;
    uint64_t overlay_limit;      /* bytes of pages (data and tables) allowed */
    uint64_t overlay_bytes;      /* bytes of pages held now */
    uint64_t overlay_full;       /* requests failed for want of a page */
    struct blk_cow_pages pages;
};

struct blk_cow_stats {
    uint64_t overlay_bytes;      /* pages held, data and tables */
    uint64_t overlay_limit;
    uint64_t overlay_full;       /* requests failed: limit reached or no memory */
};

/* Sets up cow over image (image_bytes long, read-only for the backend's whole
 * life; may be NULL only when image_bytes is 0) and fills *disk, the view a
 * device model uses (ops, backend, capacity, read_only, name). No page is taken
 * yet. False if pages lacks a callback or image is NULL with bytes. */
bool blk_cow_init(struct blk_cow *cow, struct blk_disk *disk, const char *name,
                  const void *image, uint64_t image_bytes, bool read_only,
                  uint64_t overlay_limit, const struct blk_cow_pages *pages);

/* Gives every overlay page back (the disk reads as the image again). */
void blk_cow_fini(struct blk_cow *cow);

void blk_cow_get_stats(const struct blk_cow *cow, struct blk_cow_stats *stats);

/* The ops blk_cow_init puts in a blk_disk (backend: the struct blk_cow). */
extern const struct blk_backend_ops blk_cow_ops;

#endif
