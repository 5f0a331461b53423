/* Split virtqueues, the device side (dev/virtio_ring.h; virtio 1.2, 2.7).
 *
 * The rules this file follows, beyond the header's:
 * - Guest memory is reached only through the pointers m->map returns, mapped
 *   again on every call (never cached: the map callback is cheap, and a host
 *   pointer kept across calls would outlive a change of the VM's memory).
 * - Every field the guest can write is read exactly once, through a volatile
 *   access, into a local that is then checked and used: the driver may rewrite
 *   its rings from another vCPU at any moment, and a second read could see a
 *   value the first check never saw.
 * - The layouts are those of <linux/virtio_ring.h>, used through offsetof and
 *   sizeof only, with byte-addressed accessors: an indirect table has no
 *   alignment rule (2.7.5.3), and a misaligned struct pointer would be undefined
 *   behaviour in C. All virtio fields are little-endian (__virtio16/32/64 for a
 *   virtio 1 device, __le* elsewhere) and so is x86: a plain load or store is the
 *   right conversion.
 *
 * Decisions where the spec leaves room:
 * - A zero-length data descriptor is a ring error, as QEMU treats it ("zero
 *   sized buffers are not allowed", virtqueue_map_desc): 2.7.5 has no use for one
 *   and a segment of length 0 would only complicate the device models.
 * - An indirect table holds at most VIRTQ_MAX_SIZE descriptors, whatever the
 *   queue's size. 2.7.5.3.1 bounds a chain by the queue size, but Linux builds
 *   indirect tables longer than a small queue (virtqueue_add_split only refuses
 *   more than the queue size without indirect); the fixed cap keeps the walk
 *   bounded either way, and VIRTQ_MAX_SEGS bounds what a chain may hold.
 * - An indirect descriptor may end a chain of direct ones, as 2.7.5.3.2 requires
 *   the device to accept ("zero or more normal chained descriptors followed by a
 *   single descriptor with flags&VIRTQ_DESC_F_INDIRECT"); its WRITE flag is
 *   ignored (same section).
 * - A queue that is not ready is left alone: pop finds nothing, push and
 *   should_notify return false, enable_notify does nothing, none sets an error
 *   (a completion that arrives after a reset is dropped). */
#include <stddef.h>
#include <linux/virtio_ring.h>
#include "dev/virtio_ring.h"

/* Byte-addressed, alignment-free accessors to guest memory. The volatile access
 * is what makes "read once" hold: the compiler may neither repeat nor drop it.
 * x86 allows misaligned loads and stores, so each is one instruction; a guest
 * that misaligns its own table gets at most a torn value of its own making. */
typedef uint16_t __attribute__((aligned(1))) u16_any;
typedef uint32_t __attribute__((aligned(1))) u32_any;
typedef uint64_t __attribute__((aligned(1))) u64_any;

static inline uint16_t rd16(const uint8_t *p) { return *(const volatile u16_any *)p; }
static inline uint32_t rd32(const uint8_t *p) { return *(const volatile u32_any *)p; }
static inline uint64_t rd64(const uint8_t *p) { return *(const volatile u64_any *)p; }
static inline void wr16(uint8_t *p, uint16_t v) { *(volatile u16_any *)p = v; }
static inline void wr32(uint8_t *p, uint32_t v) { *(volatile u32_any *)p = v; }

/* x86 is TSO (Intel SDM vol. 3A, "Memory Ordering in P6 and More Recent
 * Processor Families"): loads are not reordered with other loads, stores not
 * with other stores, so read-after-read and write-after-write ordering only
 * needs the compiler held back. Only a load after a store may pass it (the
 * store buffer): that needs a full fence. */
#define COMPILER_BARRIER() __asm__ volatile("" : : : "memory")
#define FULL_BARRIER()     __atomic_thread_fence(__ATOMIC_SEQ_CST)

#define DESC_SIZE        sizeof(struct vring_desc)      /* 16 */
#define AVAIL_RING       offsetof(struct vring_avail, ring)
#define USED_RING        offsetof(struct vring_used, ring)
#define EVENT_SIZE       sizeof(__virtio16)             /* used_event, avail_event */

/* A descriptor as read, once, from guest memory. */
struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static struct desc read_desc(const uint8_t *table, unsigned i)
{
    const uint8_t *p = table + (size_t)i * DESC_SIZE;
    return (struct desc){
        .addr = rd64(p + offsetof(struct vring_desc, addr)),
        .len = rd32(p + offsetof(struct vring_desc, len)),
        .flags = rd16(p + offsetof(struct vring_desc, flags)),
        .next = rd16(p + offsetof(struct vring_desc, next)),
    };
}

/* [gpa, gpa + len) through the map callback, refusing first a range whose end
 * does not fit in 64 bits (the callback could otherwise see a wrapped end). */
static uint8_t *map(const struct virtq_mem *m, uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa > UINT64_MAX - len)
        return NULL;
    return m->map(m->ctx, gpa, len);
}

/* The rings' lengths (2.7, the table of queue parts): the event fields after
 * the rings exist only with EVENT_IDX (2.7.7, 2.7.10). size <= VIRTQ_MAX_SIZE,
 * so none of these can overflow. */
static uint64_t desc_len(const struct virtq *q) { return (uint64_t)q->size * DESC_SIZE; }

static uint64_t avail_len(const struct virtq *q)
{
    return AVAIL_RING + (uint64_t)q->size * sizeof(__virtio16) + (q->event_idx ? EVENT_SIZE : 0);
}

static uint64_t used_len(const struct virtq *q)
{
    return USED_RING + (uint64_t)q->size * sizeof(struct vring_used_elem) +
           (q->event_idx ? EVENT_SIZE : 0);
}

static bool size_valid(uint16_t size)
{
    return size >= 1 && size <= VIRTQ_MAX_SIZE && (size & (size - 1)) == 0;
}

static bool fail(struct virtq *q, const char *rule)
{
    q->error = rule;
    return false;
}

static int pop_fail(struct virtq *q, const char *rule)
{
    q->error = rule;
    return -1;
}

bool virtq_check_config(struct virtq *q, const struct virtq_mem *m)
{
    if (!size_valid(q->size))
        return fail(q, "queue size not a power of 2 in 1..VIRTQ_MAX_SIZE");
    /* 2.7: the alignment column of the queue parts' table */
    if (q->desc_gpa & (VRING_DESC_ALIGN_SIZE - 1))
        return fail(q, "descriptor table not 16-byte aligned");
    if (q->avail_gpa & (VRING_AVAIL_ALIGN_SIZE - 1))
        return fail(q, "available ring not 2-byte aligned");
    if (q->used_gpa & (VRING_USED_ALIGN_SIZE - 1))
        return fail(q, "used ring not 4-byte aligned");
    if (!map(m, q->desc_gpa, desc_len(q)))
        return fail(q, "descriptor table outside the VM's RAM");
    if (!map(m, q->avail_gpa, avail_len(q)))
        return fail(q, "available ring outside the VM's RAM");
    if (!map(m, q->used_gpa, used_len(q)))
        return fail(q, "used ring outside the VM's RAM");
    return true;
}

void virtq_reset(struct virtq *q)
{
    /* The configuration (size, addresses, features) is the transport's to
     * rewrite; the device's progress starts again from 0 (2.7.14: the driver
     * starts its own indices at 0 too). */
    q->ready = false;
    q->last_avail = 0;
    q->used_idx = 0;
    q->signalled_used = 0;
    q->signalled_valid = false;
    q->error = NULL;
}

/* Appends one data descriptor to the chain being built: each rule below is one
 * the driver must keep. NULL if all hold, else the broken rule. */
static const char *add_seg(struct virtq_chain *c, const struct desc *d, const struct virtq_mem *m)
{
    bool write = d->flags & VRING_DESC_F_WRITE;
    if (d->len == 0)
        return "zero-length descriptor";
    /* 2.7.4.2: device-writable descriptors come after every device-readable one */
    if (!write && c->nseg > c->nread)
        return "device-readable descriptor after a device-writable one";
    if (c->nseg >= VIRTQ_MAX_SEGS)
        return "more than VIRTQ_MAX_SEGS segments in a chain";
    /* both totals are at most 64 MiB and len < 2^32: no overflow */
    if (c->read_bytes + c->write_bytes + d->len > VIRTQ_MAX_CHAIN_BYTES)
        return "chain longer than VIRTQ_MAX_CHAIN_BYTES";
    uint8_t *hva = map(m, d->addr, d->len);
    if (!hva)
        return "descriptor outside the VM's RAM";
    c->seg[c->nseg++] = (struct virtq_seg){ .hva = hva, .len = d->len, .write = write };
    if (write) {
        c->write_bytes += d->len;
    } else {
        c->nread++;
        c->read_bytes += d->len;
    }
    return NULL;
}

/* Walks the indirect table d refers to (2.7.5.3), whose descriptors' next fields
 * index the table itself. */
static const char *walk_indirect(const struct virtq *q, const struct desc *d,
                                 struct virtq_chain *c, const struct virtq_mem *m)
{
    if (!q->indirect)
        return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
    /* 2.7.5.3.1: INDIRECT and NEXT never together; the table is the chain's end */
    if (d->flags & VRING_DESC_F_NEXT)
        return "indirect descriptor with NEXT set";
    if (d->len == 0 || d->len % DESC_SIZE || d->len > VIRTQ_MAX_SIZE * DESC_SIZE)
        return "indirect table length not a multiple of 16 in 16..16*VIRTQ_MAX_SIZE";
    const uint8_t *table = map(m, d->addr, d->len);
    if (!table)
        return "indirect table outside the VM's RAM";
    unsigned entries = d->len / DESC_SIZE, i = 0;
    for (unsigned n = 1;; n++) {
        /* at most one visit per entry: a longer walk loops (2.7.5.2) */
        if (n > entries)
            return "indirect chain loops";
        struct desc td = read_desc(table, i);
        /* 2.7.5.3.1: one table per descriptor, no table inside a table */
        if (td.flags & VRING_DESC_F_INDIRECT)
            return "nested indirect descriptor";
        const char *err = add_seg(c, &td, m);
        if (err)
            return err;
        if (!(td.flags & VRING_DESC_F_NEXT))
            return NULL;
        if (td.next >= entries)
            return "indirect next index out of range";
        i = td.next;
    }
}

int virtq_pop(struct virtq *q, const struct virtq_mem *m, struct virtq_chain *c)
{
    if (q->error)
        return -1;
    if (!q->ready)
        return 0;
    if (!size_valid(q->size))                /* ready without virtq_check_config */
        return pop_fail(q, "queue size not a power of 2 in 1..VIRTQ_MAX_SIZE");
    const uint8_t *avail = map(m, q->avail_gpa, avail_len(q));
    const uint8_t *desc = map(m, q->desc_gpa, desc_len(q));
    if (!avail || !desc)
        return pop_fail(q, "ring outside the VM's RAM");

    /* 2.7.6, 2.7.13.3: idx counts every chain the driver ever made available,
     * modulo 2^16; it is never more than a queue's worth ahead of the device. */
    uint16_t avail_idx = rd16(avail + offsetof(struct vring_avail, idx));
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending > q->size)
        return pop_fail(q, "available index more than the queue size ahead");
    if (pending == 0)
        return 0;
    /* The driver wrote the ring entry and the descriptors before idx
     * (2.7.13.3.1); read them after it. Loads are ordered on x86: no fence. */
    COMPILER_BARRIER();

    uint16_t slot = q->last_avail & (q->size - 1);
    uint16_t head = rd16(avail + AVAIL_RING + (size_t)slot * sizeof(__virtio16));
    if (head >= q->size)
        return pop_fail(q, "head index out of range");

    c->head = head;
    c->nseg = c->nread = 0;
    c->read_bytes = c->write_bytes = 0;
    const char *err = NULL;
    uint16_t i = head;
    for (unsigned n = 1;; n++) {
        /* A chain is at most the queue size long (2.7.5.3.1); longer loops. */
        if (n > q->size) {
            err = "descriptor chain longer than the queue (a loop)";
            break;
        }
        struct desc d = read_desc(desc, i);
        if (d.flags & VRING_DESC_F_INDIRECT) {
            err = walk_indirect(q, &d, c, m);
            break;
        }
        err = add_seg(c, &d, m);
        if (err || !(d.flags & VRING_DESC_F_NEXT))
            break;
        if (d.next >= q->size) {
            err = "next index out of range";
            break;
        }
        i = d.next;
    }
    if (err)
        return pop_fail(q, err);
    /* With EVENT_IDX, avail_event is virtq_enable_notify's to publish. */
    q->last_avail++;
    return 1;
}

bool virtq_push(struct virtq *q, const struct virtq_mem *m, uint16_t head, uint32_t written)
{
    if (q->error || !q->ready)
        return false;
    if (!size_valid(q->size))
        return fail(q, "queue size not a power of 2 in 1..VIRTQ_MAX_SIZE");
    if (head >= q->size)                     /* the device's own mistake */
        return fail(q, "pushed head index out of range");
    uint8_t *used = map(m, q->used_gpa, used_len(q));
    if (!used)
        return fail(q, "used ring outside the VM's RAM");
    uint8_t *elem = used + USED_RING +
                    (size_t)(q->used_idx & (q->size - 1)) * sizeof(struct vring_used_elem);
    wr32(elem + offsetof(struct vring_used_elem, id), head);
    wr32(elem + offsetof(struct vring_used_elem, len), written);
    /* 2.7.8.2: the element before idx. Stores are not reordered with other
     * stores on x86 (TSO), so holding back the compiler is enough. */
    COMPILER_BARRIER();
    q->used_idx++;
    wr16(used + offsetof(struct vring_used, idx), q->used_idx);
    return true;
}

bool virtq_should_notify(struct virtq *q, const struct virtq_mem *m)
{
    if (q->error || !q->ready)
        return false;
    if (!size_valid(q->size))
        return fail(q, "queue size not a power of 2 in 1..VIRTQ_MAX_SIZE");
    const uint8_t *avail = map(m, q->avail_gpa, avail_len(q));
    if (!avail)
        return fail(q, "available ring outside the VM's RAM");
    /* A memory barrier (2.7.7.2; the device's mirror of the one 2.7.13.4.1 asks
     * of the driver before it reads flags or avail_event): the used idx just
     * stored must be visible before the driver's flags or used_event are read,
     * or a driver re-enabling interrupts in between would be missed (each side
     * stores, then loads the other's field). A load may pass an earlier store on
     * x86: this needs a full fence, not a compiler barrier. */
    FULL_BARRIER();
    if (q->event_idx) {
        uint16_t used_event = rd16(avail + AVAIL_RING + (size_t)q->size * sizeof(__virtio16));
        bool need = !q->signalled_valid ||
                    vring_need_event(used_event, q->used_idx, q->signalled_used);
        q->signalled_used = q->used_idx;
        q->signalled_valid = true;
        return need;
    }
    uint16_t flags = rd16(avail + offsetof(struct vring_avail, flags));
    return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
}

void virtq_enable_notify(struct virtq *q, const struct virtq_mem *m, bool enable)
{
    if (q->error || !q->ready)
        return;
    if (!size_valid(q->size)) {
        fail(q, "queue size not a power of 2 in 1..VIRTQ_MAX_SIZE");
        return;
    }
    uint8_t *used = map(m, q->used_gpa, used_len(q));
    if (!used) {
        fail(q, "used ring outside the VM's RAM");
        return;
    }
    if (q->event_idx) {
        /* 2.7.10: the driver notifies when its idx passes avail_event. Left
         * where it is, the index falls behind and the driver stays quiet. */
        if (enable)
            wr16(used + USED_RING + (size_t)q->size * sizeof(struct vring_used_elem),
                 q->last_avail);
    } else {
        wr16(used + offsetof(struct vring_used, flags), enable ? 0 : VRING_USED_F_NO_NOTIFY);
    }
    /* The caller checks the available idx next: that load must not pass this
     * store, or a chain the driver added without notifying (it saw the old
     * value) would wait for the next one (2.7.10; 2.7.13.4.1 has the driver fence the same way). */
    if (enable)
        FULL_BARRIER();
}

const char *virtq_chain_check(const struct virtq_chain *c, uint64_t *read_bytes,
                              uint64_t *write_bytes)
{
    uint64_t rd = 0, wr = 0;
    if (c->nseg > VIRTQ_MAX_SEGS || c->nread > c->nseg)
        return "chain: segment counts out of range";
    for (unsigned i = 0; i < c->nseg; i++) {
        if (c->seg[i].write != (i >= c->nread))
            return "chain: a device-readable buffer after a device-writable one";
        if (c->seg[i].len && !c->seg[i].hva)
            return "chain: a buffer without memory";
        if (c->seg[i].write)
            wr += c->seg[i].len;
        else
            rd += c->seg[i].len;
    }
    if (rd + wr > VIRTQ_MAX_CHAIN_BYTES)
        return "chain: longer than VIRTQ_MAX_CHAIN_BYTES";
    *read_bytes = rd;
    *write_bytes = wr;
    return NULL;
}

int virtq_drain(struct virtq *q, const struct virtq_mem *m, struct virtq_chain *c,
                bool (*serve)(void *ctx, struct virtq_chain *c), void *ctx)
{
    int served = 0, r;
    for (;;) {
        virtq_enable_notify(q, m, false);
        while ((r = virtq_pop(q, m, c)) == 1) {
            if (!serve(ctx, c))
                return -1;
            served++;
        }
        if (r < 0)
            return -1;
        virtq_enable_notify(q, m, true);
        if ((r = virtq_pop(q, m, c)) != 1)
            return r < 0 ? -1 : served;
        if (!serve(ctx, c))
            return -1;
        served++;
    }
}
