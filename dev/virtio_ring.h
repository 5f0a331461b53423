/* Split virtqueues, the device side (virtio 1.2, 2.7): chains taken from the
 * available ring, checked, and returned through the used ring, with indirect
 * descriptors (2.7.5.3) and EVENT_IDX notification suppression (2.7.7, 2.7.10).
 *
 * The guest owns the rings and may change them at any time, from any vCPU: every
 * index, address and length read from guest memory is checked before it is used,
 * and read once. Guest memory is reached only through virtq_mem.map, which
 * returns a host pointer only for a range wholly inside the VM's RAM. A ring that
 * breaks a rule the spec gives the driver (an available index more than the queue
 * size ahead, a head or next index out of range, a chain that loops or is longer
 * than the queue, a nested indirect table, a descriptor outside RAM) makes
 * virtq_pop fail with q->error naming the rule: the device then sets
 * DEVICE_NEEDS_RESET (2.1.2) and stops using the queue.
 *
 * Layouts and flags come from Linux's UAPI header <linux/virtio_ring.h>
 * (linux-libc-dev), which builds freestanding. Pure code: no allocation, no host
 * calls; unit-tested in tests/unit/test_virtio_ring.c, fuzzed by
 * tests/fuzz/fuzz_virtio_ring.c. */
#ifndef DEV_VIRTIO_RING_H
#define DEV_VIRTIO_RING_H
#include <stdbool.h>
#include <stdint.h>

#define VIRTQ_MAX_SIZE  1024u    /* the largest queue size a device offers */
#define VIRTQ_MAX_SEGS  256u     /* segments of one chain (direct + indirect) */
#define VIRTQ_MAX_CHAIN_BYTES (64u << 20)   /* a chain's total length, read + write */

/* Guest memory: a host pointer for guest-physical [gpa, gpa + len) if all of it
 * is RAM of this VM, else NULL (len 0 is never asked). */
struct virtq_mem {
    void *(*map)(void *ctx, uint64_t gpa, uint64_t len);
    void *ctx;
};

/* One queue as the driver configured it through the transport, and the device's
 * own progress through it. The transport fills size, the three addresses and
 * the negotiated features, then sets ready; virtq_reset clears the rest. */
struct virtq {
    uint16_t size;               /* a power of 2, 1..VIRTQ_MAX_SIZE */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool ready;
    bool event_idx;              /* VIRTIO_F_EVENT_IDX (29) negotiated */
    bool indirect;               /* VIRTIO_F_INDIRECT_DESC (28) negotiated */
    /* the device's side */
    uint16_t last_avail;         /* the next available entry to take */
    uint16_t used_idx;           /* the used ring's idx as the device wrote it */
    uint16_t signalled_used;     /* used_idx when the driver was last notified */
    bool signalled_valid;        /* signalled_used means something (EVENT_IDX) */
    const char *error;           /* the broken rule, once broken; NULL if none */
};

/* One buffer of a chain: host pointer and length inside the VM's RAM. The
 * device-readable ones come first (2.7.4.2: a driver puts them first). */
struct virtq_seg {
    void *hva;
    uint32_t len;
    bool write;                  /* device-writable (VIRTQ_DESC_F_WRITE) */
};

struct virtq_chain {
    uint16_t head;               /* the id to hand back to virtq_push */
    unsigned nseg;
    unsigned nread;              /* segments [0, nread) are device-readable */
    uint64_t read_bytes, write_bytes;
    struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

/* What virtq_pop promises of a chain, checked again by a device layer that takes
 * one (it may come from a caller that built it): NULL if it keeps every rule,
 * with its device-readable and device-writable byte counts (summed here, not
 * taken from the chain), else the broken rule. */
const char *virtq_chain_check(const struct virtq_chain *c, uint64_t *read_bytes,
                              uint64_t *write_bytes);

/* Drains q (2.7.10): chains are handed to serve one at a time with the driver's
 * notifications off, then notifications are turned on and q looked at once more
 * (a chain added meanwhile would not have notified). serve returns false when
 * the device cannot go on (it has said why). The count of chains served, or -1
 * if serve refused one or the ring broke (q->error). */
int virtq_drain(struct virtq *q, const struct virtq_mem *m, struct virtq_chain *c,
                bool (*serve)(void *ctx, struct virtq_chain *c), void *ctx);

/* Checks the configured queue (size a power of 2 within VIRTQ_MAX_SIZE, ring
 * alignment 16/2/4 (2.7), each ring wholly in RAM): true, or false with q->error. */
bool virtq_check_config(struct virtq *q, const struct virtq_mem *m);
/* Back to the state of a queue no chain was taken from (device reset). */
void virtq_reset(struct virtq *q);

/* The next available chain: 1 and *c filled, 0 if none is available, -1 if the
 * ring breaks a rule (q->error says which; the queue must not be used again). */
int virtq_pop(struct virtq *q, const struct virtq_mem *m, struct virtq_chain *c);

/* Hands chain head back with written bytes written into its device-writable
 * buffers (2.7.8). False (with q->error) if the used ring is gone from RAM. */
bool virtq_push(struct virtq *q, const struct virtq_mem *m, uint16_t head, uint32_t written);

/* After pushes: whether the driver wants an interrupt now (2.7.7.2 without
 * EVENT_IDX: unless VIRTQ_AVAIL_F_NO_INTERRUPT; with it: vring_need_event on the
 * avail ring's used_event). Records what was signalled. */
bool virtq_should_notify(struct virtq *q, const struct virtq_mem *m);

/* Notification suppression on the device's side: with EVENT_IDX, publish in
 * the used ring's avail_event the index after which the device wants the next
 * notification (the current last_avail: "notify me of anything new"); without
 * it, set or clear VIRTQ_USED_F_NO_NOTIFY. A device calls it with enable false
 * while it drains the queue and true before it last checks for more. */
void virtq_enable_notify(struct virtq *q, const struct virtq_mem *m, bool enable);

#endif
