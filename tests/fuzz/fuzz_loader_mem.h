/* Fake guest RAM for the loader fuzz targets: nothing is stored, every write is
 * range-checked against the RAM size, its source read in full (so ASan sees any
 * read past the image or a module) and recorded, and the recorded writes can be
 * checked against the loaders' promises. */
#ifndef TESTS_FUZZ_FUZZ_LOADER_MEM_H
#define TESTS_FUZZ_FUZZ_LOADER_MEM_H
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define FAKE_WRITES_MAX 64

struct fake_ram {
    uint64_t size;
    unsigned n, refused;
    uint64_t base[FAKE_WRITES_MAX], len[FAKE_WRITES_MAX];
    volatile uint8_t sink;
};

static inline bool fake_ram_write(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
    struct fake_ram *r = ctx;
    if (gpa > r->size || len > r->size - gpa) {
        r->refused++;
        return false;
    }
    uint8_t sum = 0;
    for (uint64_t i = 0; src && i < len; i++)
        sum ^= ((const uint8_t *)src)[i];
    r->sink = sum;
    if (len && r->n < FAKE_WRITES_MAX) {
        r->base[r->n] = gpa;
        r->len[r->n++] = len;
    }
    return true;
}

/* Did any recorded write touch [lo, hi)? */
static inline bool fake_ram_touched(const struct fake_ram *r, uint64_t lo, uint64_t hi)
{
    for (unsigned i = 0; i < r->n; i++)
        if (r->base[i] < hi && lo < r->base[i] + r->len[i])
            return true;
    return false;
}

/* Do two recorded writes overlap? */
static inline bool fake_ram_overlap(const struct fake_ram *r)
{
    for (unsigned i = 0; i < r->n; i++)
        for (unsigned j = i + 1; j < r->n; j++)
            if (r->base[i] < r->base[j] + r->len[j] && r->base[j] < r->base[i] + r->len[i])
                return true;
    return false;
}
#endif
