/* libFuzzer target for dev/bus.c: any sequence of claims, moves, removals and
 * accesses, checked against a plain reference list after every step: no two
 * ranges of a space ever overlap, a claim or move is refused exactly when the
 * reference finds an overlap (or a bad range), and every access reaches the one
 * range holding its address at the right offset, or no device. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/bus.h"

struct ref { bool used; enum bus_space space; uint64_t base, size; };

static struct bus bus;
static struct ref ref[BUS_MAX_IDS];
static uint64_t got_offset;
static int got_dev;

static enum bus_result access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                              bool write, uint64_t *val)
{
    (void)v; (void)size; (void)write;
    got_dev = (int)(intptr_t)dev;
    got_offset = offset;
    *val = 0;
    return BUS_OK;
}

static bool ref_overlap(enum bus_space s, uint64_t base, uint64_t size, int except)
{
    for (int i = 0; i < BUS_MAX_IDS; i++)
        if (i != except && ref[i].used && ref[i].space == s &&
            (base < ref[i].base ? ref[i].base - base < size : base - ref[i].base < ref[i].size))
            return true;
    return false;
}

static bool ref_valid(enum bus_space s, uint64_t base, uint64_t size)
{
    uint64_t end = bus_space_end(s);
    return size && base < end && size <= end - base;
}

/* Addresses and sizes drawn so that collisions are common: small numbers, or
 * near the ends of a space. */
static uint64_t draw(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    if (*p >= end)
        return 0;
    uint8_t kind = *(*p)++;
    for (unsigned i = 0; i < (kind & 7) && *p < end; i++)
        v = (v << 8) | *(*p)++;
    if (kind & 0x80)
        v = UINT64_MAX - v;
    else if (kind & 0x40)
        v = 0xFFFFFFFFull - v;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const uint8_t *p = data, *end = data + len;
    bus_init(&bus);
    memset(ref, 0, sizeof ref);
    bus_lock(&bus);                  /* changes are made with the lock held */
    while (p < end) {
        uint8_t op = *p++;
        enum bus_space s = (enum bus_space)(op % BUS_SPACES);
        int id = (op >> 2) % BUS_MAX_IDS;
        switch ((op >> 6) & 3) {
        case 0: {                    /* claim */
            uint64_t base = draw(&p, end), size = draw(&p, end);
            bool ok = ref_valid(s, base, size) && !ref_overlap(s, base, size, -1);
            int free_slot = -1;
            /* ids: space * BUS_MAX_RANGES + the first free slot of the space */
            for (int i = s * BUS_MAX_RANGES; i < (int)(s + 1) * BUS_MAX_RANGES && free_slot < 0; i++)
                if (!ref[i].used)
                    free_slot = i;
            int r = bus_claim(&bus, s, base, size, "f", access, (void *)(intptr_t)free_slot);
            if (ok && free_slot >= 0) {
                if (r != free_slot)
                    abort();
                ref[r] = (struct ref){ true, s, base, size };
            } else if (r >= 0) {
                abort();
            }
            break;
        }
        case 1: {                    /* move */
            uint64_t base = draw(&p, end);
            int r = bus_move(&bus, id, base);
            bool ok = ref[id].used && ref_valid(ref[id].space, base, ref[id].size) &&
                      !ref_overlap(ref[id].space, base, ref[id].size, id);
            if ((r == 0) != ok)
                abort();
            if (ok)
                ref[id].base = base;
            break;
        }
        case 2:                      /* release */
            if ((bus_release(&bus, id) == 0) != ref[id].used)
                abort();
            ref[id].used = false;
            break;
        case 3: {                    /* access */
            uint64_t addr = draw(&p, end), val = 0;
            int want = -1;
            for (int i = 0; i < BUS_MAX_IDS; i++)
                if (ref[i].used && ref[i].space == s && addr >= ref[i].base &&
                    addr - ref[i].base < ref[i].size)
                    want = i;
            bus_unlock(&bus);
            got_dev = -1;
            enum bus_result r = bus_access(&bus, s, NULL, addr, 4, op & 1, &val);
            bus_lock(&bus);
            if ((r == BUS_OK) != (want >= 0) || got_dev != want ||
                (want >= 0 && got_offset != addr - ref[want].base))
                abort();
            break;
        }
        }
    }
    bus_unlock(&bus);
    return 0;
}
