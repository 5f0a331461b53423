/* libFuzzer target for dev/virtio_ring.c: a hostile driver's rings in a small
 * guest RAM, taken by the device until the ring is empty or broken.
 *
 * Input (little-endian):
 *   0      size: 1 << (byte % 11)
 *   1      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 racy (below)
 *   2..7   desc, avail, used: u16 offsets from RAM_BASE (any value: most are
 *          misaligned or outside RAM, which check_config must refuse)
 *   8..9   the device's starting last_avail and used_idx (16-bit wraparound)
 *   10..11 the length of the RAM image that follows (at most RAM_SIZE bytes; the
 *          rest of RAM is zero)
 *   then   the RAM image, then pokes: 4 bytes each, u16 offset (mod RAM_SIZE - 1)
 *          and u16 value, the driver's writes. One is applied each time the ring
 *          is found empty, and with "racy" also on every map call, so the ring
 *          changes between the device's own reads, as another vCPU could do it.
 *
 * Checked after every step: every segment returned lies in RAM, is non-empty
 * and has the right direction; nseg <= VIRTQ_MAX_SEGS, the byte counts add up
 * and stay <= VIRTQ_MAX_CHAIN_BYTES; the map callback is never asked for length
 * 0 or a range wrapping past 2^64; once q.error is set, pop keeps returning -1,
 * push and should_notify false, and none of them maps guest memory again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/virtio_ring.h"

#define RAM_BASE   0x10000ull
#define RAM_SIZE   8192u
#define HDR        12u
#define MAX_STEPS  512u

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static const uint8_t *pokes, *pokes_end;
static bool racy;
static unsigned map_calls;

static void poke(void)
{
    if (pokes_end - pokes < 4)
        return;
    unsigned off = (pokes[0] | pokes[1] << 8) % (RAM_SIZE - 1);
    ram[off] = pokes[2];
    ram[off + 1] = pokes[3];
    pokes += 4;
}

static void *fuzz_map(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)ctx;
    map_calls++;
    if (len == 0 || gpa > UINT64_MAX - len)      /* the ring must check first */
        abort();
    if (racy)
        poke();
    if (gpa < RAM_BASE || gpa - RAM_BASE > RAM_SIZE || len > RAM_SIZE - (gpa - RAM_BASE))
        return NULL;
    return ram + (gpa - RAM_BASE);
}

static const struct virtq_mem mem = { fuzz_map, NULL };
static struct virtq q;
static struct virtq_chain c;

static void check_chain(uint16_t last_avail_before)
{
    if (c.nseg == 0 || c.nseg > VIRTQ_MAX_SEGS || c.nread > c.nseg || c.head >= q.size ||
        q.last_avail != (uint16_t)(last_avail_before + 1))
        abort();
    uint64_t rd = 0, wr = 0;
    for (unsigned i = 0; i < c.nseg; i++) {
        const struct virtq_seg *s = &c.seg[i];
        uintptr_t p = (uintptr_t)s->hva, lo = (uintptr_t)ram;
        if (s->len == 0 || p < lo || p - lo > RAM_SIZE || s->len > RAM_SIZE - (p - lo))
            abort();
        if (s->write != (i >= c.nread))
            abort();
        *(s->write ? &wr : &rd) += s->len;
    }
    if (rd != c.read_bytes || wr != c.write_bytes || rd + wr > VIRTQ_MAX_CHAIN_BYTES)
        abort();
}

/* After an error: nothing works and nothing touches guest memory. */
static void check_sticky(void)
{
    const char *err = q.error;
    struct virtq before = q;
    unsigned calls = map_calls;
    if (!err)
        abort();
    for (int i = 0; i < 2; i++) {
        if (virtq_pop(&q, &mem, &c) != -1 || virtq_push(&q, &mem, 0, 0) ||
            virtq_should_notify(&q, &mem))
            abort();
        virtq_enable_notify(&q, &mem, i);
    }
    if (map_calls != calls || q.error != err || q.last_avail != before.last_avail ||
        q.used_idx != before.used_idx)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < HDR)
        return 0;
    size_t ram_len = data[10] | data[11] << 8;
    if (ram_len > RAM_SIZE)
        ram_len = RAM_SIZE;
    if (ram_len > len - HDR)
        ram_len = len - HDR;
    memset(ram, 0, sizeof ram);
    memcpy(ram, data + HDR, ram_len);
    pokes = data + HDR + ram_len;
    pokes_end = data + len;
    racy = false;
    map_calls = 0;

    q = (struct virtq){
        .size = (uint16_t)(1u << (data[0] % 11)),
        .event_idx = data[1] & 1,
        .indirect = data[1] & 2,
        .desc_gpa = RAM_BASE + (data[2] | data[3] << 8),
        .avail_gpa = RAM_BASE + (data[4] | data[5] << 8),
        .used_gpa = RAM_BASE + (data[6] | data[7] << 8),
    };
    virtq_reset(&q);
    if (!virtq_check_config(&q, &mem)) {
        if (!q.error)
            abort();
        return 0;
    }
    q.ready = true;
    q.last_avail = data[8] | data[9] << 8;
    q.used_idx = q.last_avail;
    racy = data[1] & 4;

    for (unsigned step = 0; step < MAX_STEPS; step++) {
        uint16_t before = q.last_avail;
        int r = virtq_pop(&q, &mem, &c);
        if (r == -1) {
            check_sticky();
            break;
        }
        if (r == 1) {
            check_chain(before);
            uint32_t written = (uint32_t)(c.write_bytes ? c.write_bytes - step % 2 : 0);
            if (!virtq_push(&q, &mem, c.head, written))
                abort();                 /* the used ring was checked in RAM */
        } else if (r != 0 || q.error || q.last_avail != before) {
            abort();
        } else if (pokes_end - pokes < 4) {
            break;                       /* empty, and the driver has no more */
        } else {
            poke();
        }
        (void)virtq_should_notify(&q, &mem);
        virtq_enable_notify(&q, &mem, step & 1);
        if (q.error)
            abort();                     /* neither can break on a checked ring */
    }
    /* A reset makes the queue usable again whatever happened. */
    virtq_reset(&q);
    if (q.error || q.ready || q.last_avail || q.used_idx || q.signalled_valid)
        abort();
    return 0;
}
