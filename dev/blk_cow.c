/* The copy-on-write block backend: see dev/blk_cow.h for what it promises. */
#include "dev/blk_cow.h"

#include <stddef.h>

#define CHUNK_SHIFT  12                              /* 4 KiB chunks */
#define FANOUT_SHIFT 9                               /* 512 pointers per table page */
#define FANOUT       (1u << FANOUT_SHIFT)

_Static_assert(sizeof(void *) << FANOUT_SHIFT == BLK_COW_PAGE_SIZE,
               "a table is one page of pointers");
_Static_assert(1u << CHUNK_SHIFT == BLK_COW_PAGE_SIZE, "a chunk is one page");

/* A leaf entry that stands for a chunk of zeros with no page behind it (what
 * WRITE_ZEROES leaves over whole chunks). Never dereferenced. */
static uint8_t zero_chunk_marker;
#define ZERO_CHUNK ((void *)&zero_chunk_marker)

/* Copies and fills go 8 bytes at a time (no libc here): an 8-byte access that
 * may alias anything and sit at any address (x86 allows it). */
typedef uint64_t __attribute__((may_alias, aligned(1))) any_u64;

static void copy_bytes(uint8_t *dst, const uint8_t *src, uint64_t n)
{
    for (; n >= 8; n -= 8, dst += 8, src += 8)
        *(any_u64 *)dst = *(const any_u64 *)src;
    for (; n; n--)
        *dst++ = *src++;
}

static void zero_bytes(uint8_t *dst, uint64_t n)
{
    for (; n >= 8; n -= 8, dst += 8)
        *(any_u64 *)dst = 0;
    for (; n; n--)
        *dst++ = 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* --- pages, counted against the limit ------------------------------------- */

static void *take_page(struct blk_cow *cow)
{
    if (cow->overlay_limit - cow->overlay_bytes < BLK_COW_PAGE_SIZE)
        return NULL;
    void *page = cow->pages.alloc_page(cow->pages.ctx);
    if (page)
        cow->overlay_bytes += BLK_COW_PAGE_SIZE;
    return page;
}

static void give_page(struct blk_cow *cow, void *page)
{
    cow->pages.free_page(cow->pages.ctx, page);
    cow->overlay_bytes -= BLK_COW_PAGE_SIZE;
}

/* --- the radix tree --------------------------------------------------------- */

/* The leaf entry of chunk: NULL if a table on the way is missing and create is
 * false, or a table could not be had. The root is the entry above the top table. */
static void **chunk_slot(struct blk_cow *cow, uint64_t chunk, bool create)
{
    void **entry = &cow->root;
    for (unsigned level = cow->levels; level > 0; level--) {
        if (!*entry) {
            if (!create)
                return NULL;
            void **table = take_page(cow);
            if (!table)
                return NULL;
            for (unsigned i = 0; i < FANOUT; i++)
                table[i] = NULL;
            *entry = table;
        }
        void **table = *entry;
        entry = &table[(chunk >> (FANOUT_SHIFT * (level - 1))) & (FANOUT - 1)];
    }
    return entry;
}

/* What backs chunk now: a page, ZERO_CHUNK, or NULL (the image). */
static const uint8_t *chunk_data(struct blk_cow *cow, uint64_t chunk)
{
    void **slot = chunk_slot(cow, chunk, false);
    return slot ? *slot : NULL;
}

/* Bytes [pos, pos + n) of the image, zeros past its end (the last sector's tail). */
static void image_read(const struct blk_cow *cow, uint64_t pos, uint8_t *dst, uint64_t n)
{
    uint64_t have = pos < cow->image_bytes ? min_u64(n, cow->image_bytes - pos) : 0;
    if (have)
        copy_bytes(dst, cow->image + pos, have);
    zero_bytes(dst + have, n - have);
}

/* The overlay page of chunk, made on first use with the chunk's current content
 * (the image's, or zeros); NULL if no page can be had. */
static uint8_t *chunk_page(struct blk_cow *cow, uint64_t chunk)
{
    void **slot = chunk_slot(cow, chunk, true);
    if (!slot)
        return NULL;
    if (*slot && *slot != ZERO_CHUNK)
        return *slot;
    uint8_t *page = take_page(cow);
    if (!page)
        return NULL;
    if (*slot == ZERO_CHUNK)
        zero_bytes(page, BLK_COW_PAGE_SIZE);
    else
        image_read(cow, chunk << CHUNK_SHIFT, page, BLK_COW_PAGE_SIZE);
    *slot = page;
    return page;
}

/* Drops the chunks [first, last] under the table at *entry (level levels above
 * the data, its first chunk base), and the table itself once empty. */
static void drop_chunks(struct blk_cow *cow, void **entry, unsigned level, uint64_t base,
                        uint64_t first, uint64_t last)
{
    void **table = *entry;
    uint64_t span = 1ull << (FANOUT_SHIFT * (level - 1));    /* chunks per entry */
    bool empty = true;
    for (unsigned i = 0; i < FANOUT; i++) {
        uint64_t lo = base + i * span, hi = lo + (span - 1);
        if (table[i] && hi >= first && lo <= last) {
            if (level > 1) {
                drop_chunks(cow, &table[i], level - 1, lo, first, last);
            } else {
                if (table[i] != ZERO_CHUNK)
                    give_page(cow, table[i]);
                table[i] = NULL;
            }
        }
        if (table[i])
            empty = false;
    }
    if (empty) {
        give_page(cow, table);
        *entry = NULL;
    }
}

/* --- the operations ----------------------------------------------------------- */

/* Walks an I/O's buffers piece by piece. */
struct buf_cursor {
    const struct blk_buf *buf;
    unsigned nbuf, i;
    uint32_t off;
};

/* The next piece of the buffers, at most max bytes (the caller has checked that
 * the buffers hold all it asks for). */
static uint8_t *cursor_next(struct buf_cursor *c, uint64_t max, uint64_t *len)
{
    while (c->off == c->buf[c->i].len) {
        c->i++;
        c->off = 0;
    }
    uint64_t n = min_u64(c->buf[c->i].len - c->off, max);
    uint8_t *p = (uint8_t *)c->buf[c->i].p + c->off;
    c->off += (uint32_t)n;
    *len = n;
    return p;
}

/* The buffers of a READ or WRITE: present, and exactly nsectors * 512 bytes. */
static bool buffers_fit(const struct blk_io *io)
{
    uint64_t want = io->nsectors << BLK_SECTOR_SHIFT, total = 0;
    if (io->nbuf && !io->buf)
        return false;
    for (unsigned i = 0; i < io->nbuf; i++) {
        if (io->buf[i].len && !io->buf[i].p)
            return false;
        total += io->buf[i].len;
        if (total > want)
            return false;
    }
    return total == want;
}

static enum blk_status cow_read(struct blk_cow *cow, const struct blk_io *io)
{
    struct buf_cursor cur = { io->buf, io->nbuf, 0, 0 };
    uint64_t pos = io->sector << BLK_SECTOR_SHIFT;
    uint64_t end = pos + (io->nsectors << BLK_SECTOR_SHIFT);
    while (pos < end) {
        uint64_t in_chunk = pos & (BLK_COW_PAGE_SIZE - 1), n;
        uint8_t *dst = cursor_next(&cur, min_u64(end - pos, BLK_COW_PAGE_SIZE - in_chunk), &n);
        const uint8_t *data = chunk_data(cow, pos >> CHUNK_SHIFT);
        if (data == ZERO_CHUNK)
            zero_bytes(dst, n);
        else if (data)
            copy_bytes(dst, data + in_chunk, n);
        else
            image_read(cow, pos, dst, n);
        pos += n;
    }
    return BLK_OK;
}

static enum blk_status overlay_full(struct blk_cow *cow)
{
    cow->overlay_full++;
    return BLK_IOERR;
}

static enum blk_status cow_write(struct blk_cow *cow, const struct blk_io *io)
{
    uint64_t pos = io->sector << BLK_SECTOR_SHIFT;
    uint64_t end = pos + (io->nsectors << BLK_SECTOR_SHIFT);
    if (pos == end)
        return BLK_OK;
    /* Every page first, so that a write the overlay cannot hold changes no
     * byte the guest can read (the new pages hold what the disk held). */
    for (uint64_t chunk = pos >> CHUNK_SHIFT; chunk <= (end - 1) >> CHUNK_SHIFT; chunk++)
        if (!chunk_page(cow, chunk))
            return overlay_full(cow);
    struct buf_cursor cur = { io->buf, io->nbuf, 0, 0 };
    while (pos < end) {
        uint64_t in_chunk = pos & (BLK_COW_PAGE_SIZE - 1), n;
        const uint8_t *src = cursor_next(&cur, min_u64(end - pos, BLK_COW_PAGE_SIZE - in_chunk), &n);
        void **slot = chunk_slot(cow, pos >> CHUNK_SHIFT, false);
        copy_bytes((uint8_t *)*slot + in_chunk, src, n);
        pos += n;
    }
    return BLK_OK;
}

static enum blk_status cow_write_zeroes(struct blk_cow *cow, const struct blk_io *io)
{
    uint64_t pos = io->sector << BLK_SECTOR_SHIFT;
    uint64_t end = pos + (io->nsectors << BLK_SECTOR_SHIFT);
    uint64_t disk_end = cow->capacity << BLK_SECTOR_SHIFT;
    while (pos < end) {
        uint64_t chunk = pos >> CHUNK_SHIFT;
        uint64_t chunk_start = chunk << CHUNK_SHIFT;
        uint64_t chunk_end = min_u64(chunk_start + BLK_COW_PAGE_SIZE, disk_end);
        uint64_t stop = min_u64(end, chunk_end);
        if (pos == chunk_start && stop == chunk_end) {
            /* The whole chunk: zeros need no page. */
            void **slot = chunk_slot(cow, chunk, true);
            if (!slot)
                return overlay_full(cow);
            if (*slot && *slot != ZERO_CHUNK)
                give_page(cow, *slot);
            *slot = ZERO_CHUNK;
        } else {
            uint8_t *page = chunk_page(cow, chunk);
            if (!page)
                return overlay_full(cow);
            zero_bytes(page + (pos - chunk_start), stop - pos);
        }
        pos = stop;
    }
    return BLK_OK;
}

static enum blk_status cow_discard(struct blk_cow *cow, const struct blk_io *io)
{
    uint64_t pos = io->sector << BLK_SECTOR_SHIFT;
    uint64_t end = pos + (io->nsectors << BLK_SECTOR_SHIFT);
    uint64_t first = (pos + BLK_COW_PAGE_SIZE - 1) >> CHUNK_SHIFT;
    uint64_t stop = end >> CHUNK_SHIFT;            /* chunks [first, stop) are covered */
    if (end == cow->capacity << BLK_SECTOR_SHIFT)
        stop = cow->nchunks;                       /* and the last, short chunk */
    if (cow->root && first < stop)
        drop_chunks(cow, &cow->root, cow->levels, 0, first, stop - 1);
    return BLK_OK;
}

static enum blk_status cow_do(struct blk_cow *cow, const struct blk_io *io)
{
    if (io->op == BLK_FLUSH)
        return BLK_OK;                 /* nothing volatile: the overlay is memory */
    /* The device has checked the range; a backend trusts nobody with memory. */
    if (io->sector > cow->capacity || io->nsectors > cow->capacity - io->sector)
        return BLK_IOERR;
    switch (io->op) {
    case BLK_READ:
        return buffers_fit(io) ? cow_read(cow, io) : BLK_IOERR;
    case BLK_WRITE:
        if (cow->read_only || !buffers_fit(io))
            return BLK_IOERR;
        return cow_write(cow, io);
    case BLK_WRITE_ZEROES:
        return cow->read_only ? BLK_IOERR : cow_write_zeroes(cow, io);
    case BLK_DISCARD:
        return cow->read_only ? BLK_IOERR : cow_discard(cow, io);
    default:
        return BLK_UNSUPP;
    }
}

static void cow_submit(void *backend, struct blk_io *io)
{
    enum blk_status status = cow_do(backend, io);
    if (io->done)
        io->done(io, status);
}

const struct blk_backend_ops blk_cow_ops = { .submit = cow_submit };

bool blk_cow_init(struct blk_cow *cow, struct blk_disk *disk, const char *name,
                  const void *image, uint64_t image_bytes, bool read_only,
                  uint64_t overlay_limit, const struct blk_cow_pages *pages)
{
    if (!pages || !pages->alloc_page || !pages->free_page || (!image && image_bytes))
        return false;
    cow->image = image;
    cow->image_bytes = image_bytes;
    cow->capacity = image_bytes / BLK_SECTOR_SIZE + (image_bytes % BLK_SECTOR_SIZE != 0);
    cow->nchunks = cow->capacity / BLK_COW_CHUNK_SECTORS +
                   (cow->capacity % BLK_COW_CHUNK_SECTORS != 0);
    cow->levels = 1;
    for (uint64_t span = FANOUT; span < cow->nchunks; span <<= FANOUT_SHIFT)
        cow->levels++;
    cow->root = NULL;
    cow->read_only = read_only;
    cow->overlay_limit = overlay_limit;
    cow->overlay_bytes = 0;
    cow->overlay_full = 0;
    cow->pages = *pages;

    disk->ops = &blk_cow_ops;
    disk->backend = cow;
    disk->capacity = cow->capacity;
    disk->read_only = read_only;
    disk->name = name;
    return true;
}

void blk_cow_fini(struct blk_cow *cow)
{
    if (cow->root)
        drop_chunks(cow, &cow->root, cow->levels, 0, 0, UINT64_MAX);
}

void blk_cow_get_stats(const struct blk_cow *cow, struct blk_cow_stats *stats)
{
    stats->overlay_bytes = cow->overlay_bytes;
    stats->overlay_limit = cow->overlay_limit;
    stats->overlay_full = cow->overlay_full;
}
