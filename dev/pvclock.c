/* The paravirtual clock ABI (dev/pvclock.h): the TSC scale and the version
 * protocol, pure so that the unit tests check them on the host. */
#include "arch/units.h"
#include "dev/pvclock.h"

#define U32_LIMIT     (1ull << 32)
#define LOW32         0xFFFFFFFFull

/* Only the compiler could reorder the stores (dev/pvclock.h). */
#define STORE_ORDER() __asm__ volatile("" : : : "memory")

bool pvclock_scale_of(uint64_t tsc_hz, uint32_t *mul, int8_t *shift)
{
    if (!tsc_hz)
        return false;
    /* ns per tick = num / den * 2^s, kept so that num < den < 2^32 and
     * num >= den / 2: then mul = num * 2^32 / den fits 32 bits and has its top
     * bit set. Halving den by a shift right loses a bit of a TSC faster than
     * 4 GHz, far below the 2^-31 of mul itself. */
    uint64_t num = NS_PER_S, den = tsc_hz;
    int s = 0;
    while (den >= U32_LIMIT) {
        den >>= 1;
        s--;
    }
    while (num >= den) {
        den <<= 1;
        s++;
    }
    while (2 * num < den) {
        num <<= 1;
        s--;
    }
    *mul = (uint32_t)((num << 32) / den);
    *shift = (int8_t)s;
    return true;
}

uint64_t pvclock_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    /* (delta * mul) >> 32 as the guest's 64 x 32 -> 96-bit multiply has it: the
     * high half's product is already in units of 2^32. */
    return (delta >> 32) * mul + (((delta & LOW32) * mul) >> 32);
}

/* The first odd version above the guest's (KVM does the same: a guest that
 * zeroed the area sees 1, then 2). */
static uint32_t odd_after(uint32_t v)
{
    return (v + 1) | 1;
}

void pvclock_write_time(volatile struct pvclock_vcpu_time_info *area,
                        const struct pvclock_vcpu_time_info *t)
{
    uint32_t v = odd_after(area->version);
    area->version = v;
    STORE_ORDER();
    area->tsc_timestamp = t->tsc_timestamp;
    area->system_time = t->system_time;
    area->tsc_to_system_mul = t->tsc_to_system_mul;
    area->tsc_shift = t->tsc_shift;
    area->flags = t->flags;
    STORE_ORDER();
    area->version = v + 1;
}

void pvclock_write_wall(volatile struct pvclock_wall_clock *area, uint32_t sec, uint32_t nsec)
{
    uint32_t v = odd_after(area->version);
    area->version = v;
    STORE_ORDER();
    area->sec = sec;
    area->nsec = nsec;
    STORE_ORDER();
    area->version = v + 1;
}
