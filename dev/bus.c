/* One device bus per VM (dev/bus.h). A handful of ranges per VM: a linear scan
 * finds the owner faster than any tree would at this size. */
#include "dev/bus.h"

const char *bus_space_name(enum bus_space space)
{
    switch (space) {
    case BUS_PIO: return "port";
    case BUS_MMIO: return "mmio";
    case BUS_MSR: return "msr";
    default: return "?";
    }
}

uint64_t bus_space_end(enum bus_space space)
{
    switch (space) {
    case BUS_PIO: return 0x10000;          /* 16-bit port addresses */
    case BUS_MSR: return 0x100000000ull;   /* ECX: 32-bit MSR indices */
    default: return UINT64_MAX;            /* [base, base + size) must not wrap */
    }
}

void bus_init(struct bus *b)
{
    b->lock = 0;
    b->top = 0;
    for (unsigned i = 0; i < BUS_MAX_RANGES; i++)
        b->range[i] = (struct bus_range){ 0 };
}

void bus_lock(struct bus *b)
{
    while (__atomic_exchange_n(&b->lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&b->lock, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

void bus_unlock(struct bus *b)
{
    __atomic_store_n(&b->lock, 0, __ATOMIC_RELEASE);
}

static bool valid(enum bus_space space, uint64_t base, uint64_t size)
{
    uint64_t end = bus_space_end(space);
    return (unsigned)space < BUS_SPACES && size != 0 && base < end && size <= end - base;
}

int bus_conflict(const struct bus *b, enum bus_space space, uint64_t base, uint64_t size,
                 int except)
{
    for (int i = 0; i < (int)b->top; i++) {
        const struct bus_range *r = &b->range[i];
        if (i == except || !r->size || r->space != space)
            continue;
        /* [base, base + size) and [r->base, r->base + r->size) meet, without
         * computing an end that could wrap. */
        if (base < r->base ? r->base - base < size : base - r->base < r->size)
            return i;
    }
    return -1;
}

int bus_claim(struct bus *b, enum bus_space space, uint64_t base, uint64_t size,
              const char *name, bus_access_fn access, void *dev)
{
    if (!valid(space, base, size) || !access)
        return BUS_E_RANGE;
    if (bus_conflict(b, space, base, size, -1) >= 0)
        return BUS_E_OVERLAP;
    for (int i = 0; i < BUS_MAX_RANGES; i++) {
        if (b->range[i].size)
            continue;
        b->range[i] = (struct bus_range){ .space = space, .base = base, .size = size,
                                          .name = name, .access = access, .dev = dev };
        if ((unsigned)i >= b->top)
            b->top = (unsigned)i + 1;
        return i;
    }
    return BUS_E_FULL;
}

const struct bus_range *bus_range_of(const struct bus *b, int id)
{
    if (id < 0 || id >= BUS_MAX_RANGES || !b->range[id].size)
        return 0;
    return &b->range[id];
}

int bus_move(struct bus *b, int id, uint64_t base)
{
    const struct bus_range *r = bus_range_of(b, id);
    if (!r)
        return BUS_E_NOENT;
    if (!valid(r->space, base, r->size))
        return BUS_E_RANGE;
    if (bus_conflict(b, r->space, base, r->size, id) >= 0)
        return BUS_E_OVERLAP;
    b->range[id].base = base;
    return 0;
}

int bus_release(struct bus *b, int id)
{
    if (!bus_range_of(b, id))
        return BUS_E_NOENT;
    b->range[id] = (struct bus_range){ 0 };
    return 0;
}

unsigned bus_release_dev(struct bus *b, const void *dev)
{
    unsigned n = 0;
    for (int i = 0; i < BUS_MAX_RANGES; i++)
        if (b->range[i].size && b->range[i].dev == dev) {
            b->range[i] = (struct bus_range){ 0 };
            n++;
        }
    return n;
}

static const struct bus_range *owner(const struct bus *b, enum bus_space space, uint64_t addr)
{
    for (unsigned i = 0; i < b->top; i++) {
        const struct bus_range *r = &b->range[i];
        if (r->size && r->space == space && addr >= r->base && addr - r->base < r->size)
            return r;
    }
    return 0;
}

bool bus_find(struct bus *b, enum bus_space space, uint64_t addr, struct bus_range *out)
{
    bus_lock(b);
    const struct bus_range *r = owner(b, space, addr);
    if (r && out)
        *out = *r;
    bus_unlock(b);
    return r != 0;
}

enum bus_result bus_access(struct bus *b, enum bus_space space, struct vcpu *v,
                           uint64_t addr, unsigned size, bool write, uint64_t *val)
{
    bus_lock(b);
    const struct bus_range *r = owner(b, space, addr);
    enum bus_result res = r ? r->access(r->dev, v, addr - r->base, size, write, val)
                            : BUS_UNCLAIMED;
    bus_unlock(b);
    return res;
}

void bus_bytewise(void *dev, bus_byte_fn byte, uint64_t range_size, uint64_t offset,
                  unsigned size, bool write, uint64_t *val)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = write ? (uint8_t)(*val >> (8 * i)) : 0xFF;
        if (offset + i < range_size)
            byte(dev, (unsigned)(offset + i), write, &b);
        r |= (uint64_t)b << (8 * i);
    }
    if (!write)
        *val = r;
}
