/* The virtio-blk request layer (virtio 1.2, 5.2), pure: what one chain popped
 * from a request queue asks (5.2.6), carried out on a blk_disk (dev/blk.h), and
 * the device's configuration space and feature bits (5.2.3, 5.2.4). The
 * transport (virtio-pci, queues, notifications) is the device model's; it pops a
 * chain (dev/virtio_ring.h), calls virtio_blk_process and pushes the chain's head
 * back with req->written.
 *
 * A request (5.2.6): a 16-byte struct virtio_blk_outhdr in the device-readable
 * buffers (it may be split across them), the data, and a 1-byte status, the LAST
 * device-writable byte of the chain. Data of IN (read) and GET_ID: the writable
 * bytes before the status; of OUT (write), DISCARD and WRITE_ZEROES: the readable
 * bytes after the header. No byte is copied: the blk_io's buffers point into the
 * chain's (already checked) guest buffers.
 *
 * Answers:
 * - S_IOERR: IN/OUT data not a multiple of 512 bytes; sectors past the capacity
 *   (checked without 64-bit wrap-around); OUT, DISCARD or WRITE_ZEROES on a
 *   read-only disk (5.2.6.2: "A device MUST set the status byte to
 *   VIRTIO_BLK_S_IOERR for a write request if the VIRTIO_BLK_F_RO feature if
 *   offered, and MUST NOT write any data"; QEMU and Cloud Hypervisor do the same,
 *   and count discard and write-zeroes as writes); DISCARD/WRITE_ZEROES data not
 *   1..max segments of 16 bytes, or a segment above max_*_sectors (as QEMU); the
 *   backend's failure (the overlay full).
 * - S_UNSUPP: an unknown type (5.2.6.2), DISCARD with any flag set or
 *   WRITE_ZEROES with a flag other than unmap (5.2.6.2: "MUST set the status byte
 *   to VIRTIO_BLK_S_UNSUPP for discard, secure erase and write zeroes commands if
 *   any unknown flag is set ... for discard commands if the unmap flag is set").
 *   Flags are checked over all segments before any range, so UNSUPP wins.
 * - FLUSH is answered S_OK on a read-only disk too (OVMF flushes read-only
 *   disks; Cloud Hypervisor #7706). Its sector is ignored (as QEMU).
 * - GET_ID: the first min(data, 20) bytes of the ID, zero-padded (5.2.6: no NUL
 *   when it is 20 bytes long), as QEMU.
 *
 * A chain that cannot be answered at all, fewer than 16 readable bytes (no
 * header) or no writable byte (no status), is VIRTIO_BLK_REQ_BROKEN, nothing
 * written, req->broken naming the rule: the driver broke 5.2.6.1 and there is no
 * status to report it in. The device model then treats it as a broken ring:
 * logs the reason, sets DEVICE_NEEDS_RESET (2.1.2) and stops using the queue
 * (the VM runs on; its driver resets the device). So does a chain that is not
 * what dev/virtio_ring.h promises (segment counts, readable-first order, NULL
 * buffers, more than VIRTQ_MAX_CHAIN_BYTES).
 *
 * Completion: the request is carried out through io->done, so an asynchronous
 * backend fits; every backend today completes before submit returns, and
 * virtio_blk_process returns VIRTIO_BLK_REQ_DONE. (An asynchronous backend would
 * make it return VIRTIO_BLK_REQ_PENDING and call vb->complete later; the hand-off
 * through req->submitting must then become atomic.)
 *
 * Not thread-safe: the caller serializes the requests of one struct virtio_blk
 * (the counters and the backend are per disk). Unit-tested in
 * tests/unit/test_virtio_blk.c, fuzzed by tests/fuzz/fuzz_virtio_blk.c. */
#ifndef DEV_VIRTIO_BLK_H
#define DEV_VIRTIO_BLK_H
#include <linux/virtio_blk.h>
#include <stdbool.h>
#include <stdint.h>
#include "dev/blk.h"
#include "dev/virtio_ring.h"

#define VIRTIO_BLK_HDR_BYTES 16u     /* struct virtio_blk_outhdr */
#define VIRTIO_BLK_DWZ_BYTES 16u     /* struct virtio_blk_discard_write_zeroes */

/* What the configuration space offers (5.2.4). */
#define VIRTIO_BLK_SEG_MAX            (VIRTQ_MAX_SEGS - 2)  /* data segments: not header, status */
#define VIRTIO_BLK_MAX_DISCARD_SECTORS      (1u << 22)      /* 2 GiB per segment */
#define VIRTIO_BLK_MAX_DISCARD_SEG          16u
#define VIRTIO_BLK_DISCARD_ALIGNMENT        8u              /* sectors: 4 KiB, the overlay's chunk */
/* Zeroing runs on the vCPU that asked: 32 MiB per segment bounds its time. */
#define VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS (1u << 16)
#define VIRTIO_BLK_MAX_WRITE_ZEROES_SEG     16u
#define VIRTIO_BLK_MAX_DWZ_SEGS             16u             /* the larger of the two _SEG */

/* Per disk, for the caller to print. */
struct virtio_blk_counters {
    /* requests by type (5.2.6) */
    uint64_t in, out, flush, get_id, discard, write_zeroes, unknown;
    uint64_t bytes_read, bytes_written;          /* data of successful IN / OUT */
    uint64_t sectors_discarded, sectors_zeroed;  /* of successful DISCARD / WRITE_ZEROES */
    /* failures by reason */
    uint64_t broken;          /* VIRTIO_BLK_REQ_BROKEN: no header or no status byte */
    uint64_t bad_length;      /* data not sectors, or not 1..max 16-byte segments */
    uint64_t out_of_range;    /* sectors past the capacity, num_sectors above the max */
    uint64_t read_only;       /* OUT, DISCARD or WRITE_ZEROES on a read-only disk */
    uint64_t bad_flags;       /* DISCARD/WRITE_ZEROES flags answered UNSUPP */
    uint64_t backend_ioerr;   /* BLK_IOERR from the backend (the overlay full...) */
    uint64_t backend_unsupp;  /* BLK_UNSUPP from the backend */
};

struct virtio_blk_req;

/* One disk's request layer. */
struct virtio_blk {
    const struct blk_disk *disk;
    const char *id;           /* GET_ID's string (its first 20 bytes); NULL: zeros */
    /* Called when a request that returned VIRTIO_BLK_REQ_PENDING completes
     * (never today: backends complete synchronously). */
    void (*complete)(void *ctx, struct virtio_blk_req *req);
    void *complete_ctx;
    struct virtio_blk_counters counters;
};

enum virtio_blk_result {
    VIRTIO_BLK_REQ_DONE,      /* status written: push req->head with req->written */
    VIRTIO_BLK_REQ_PENDING,   /* asynchronous backend: vb->complete will follow */
    VIRTIO_BLK_REQ_BROKEN,    /* nothing written; req->broken says why */
};

/* One request in flight: the caller's storage (it must live until the request
 * completes), filled by virtio_blk_process. */
struct virtio_blk_req {
    struct virtio_blk *vb;
    uint16_t head;            /* the chain's head, for virtq_push */
    struct virtio_blk_outhdr hdr;   /* the header as read (CPU order) */
    uint8_t *status;          /* the chain's last writable byte */
    uint32_t written;         /* bytes written into writable buffers: the used len */
    uint32_t data_bytes;      /* IN/OUT data, for the counters */
    const char *broken;       /* VIRTIO_BLK_REQ_BROKEN: the rule the chain breaks */
    bool done;                /* the status is written */
    bool submitting;          /* inside the backend's submit */
    struct blk_io io;
    struct blk_buf buf[VIRTQ_MAX_SEGS];
    /* DISCARD / WRITE_ZEROES: the segments, copied once out of guest memory */
    struct virtio_blk_discard_write_zeroes range[VIRTIO_BLK_MAX_DWZ_SEGS];
    unsigned nrange, next_range;
};

/* disk and id must outlive vb; the counters start at zero, complete unset. */
void virtio_blk_init(struct virtio_blk *vb, const struct blk_disk *disk, const char *id);

/* Carries out the request in chain (5.2.6) into req. */
enum virtio_blk_result virtio_blk_process(struct virtio_blk *vb, const struct virtq_chain *chain,
                                          struct virtio_blk_req *req);

/* The device-specific feature bits offered (5.2.3): SEG_MAX, BLK_SIZE, FLUSH,
 * MQ, and RO for a read-only disk, DISCARD and WRITE_ZEROES for a writable one.
 * VIRTIO_F_VERSION_1, INDIRECT_DESC and EVENT_IDX are the transport's to add. */
uint64_t virtio_blk_device_features(const struct blk_disk *disk);

/* The configuration space (5.2.4; little-endian, the CPU's order on x86) for
 * disk with num_queues request queues (1 without MQ negotiated). */
void virtio_blk_fill_config(const struct blk_disk *disk, uint16_t num_queues,
                            struct virtio_blk_config *cfg);

#endif
