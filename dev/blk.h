/* The block layer: what a disk device model (virtio-blk) asks of storage, and
 * what a storage backend (a copy-on-write overlay in hv86 memory over a shared
 * image today, a durable extent of the machine's NVMe disk next) provides. A
 * device builds a blk_io and submits it; the backend calls io->done exactly once,
 * before or after submit returns. Sectors are 512 bytes whatever the medium.
 * Pure interface: no allocation, no host calls. */
#ifndef DEV_BLK_H
#define DEV_BLK_H
#include <stdbool.h>
#include <stdint.h>

#define BLK_SECTOR_SIZE  512u
#define BLK_SECTOR_SHIFT 9

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD, BLK_WRITE_ZEROES };

enum blk_status {
    BLK_OK,
    BLK_IOERR,        /* the medium failed, or the overlay is full (logged) */
    BLK_UNSUPP,       /* an operation this backend does not do */
};

/* One host buffer of an I/O (a segment of a guest's request, already checked
 * to lie in the VM's RAM). */
struct blk_buf {
    void *p;
    uint32_t len;
};

struct blk_io {
    enum blk_op op;
    uint64_t sector;              /* first sector (not for FLUSH) */
    uint64_t nsectors;            /* sectors (READ/WRITE: the buffers' total / 512) */
    const struct blk_buf *buf;    /* READ and WRITE: data, in order */
    unsigned nbuf;
    void (*done)(struct blk_io *io, enum blk_status status);
    void *owner;                  /* the submitter's, untouched by the backend */
};

struct blk_backend_ops {
    /* Carries out io (bounds already checked by the device against capacity)
     * and calls io->done. */
    void (*submit)(void *backend, struct blk_io *io);
};

/* A disk as a device model sees it. */
struct blk_disk {
    const struct blk_backend_ops *ops;
    void *backend;
    uint64_t capacity;            /* in sectors */
    bool read_only;               /* writes, discards and write-zeroes fail */
    const char *name;             /* for messages: the image's module name */
};

#endif
