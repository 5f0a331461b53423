/* One device bus per VM (dev/bus.h). A handful of ranges per space: a linear
 * scan of the access's own space finds the owner faster than any tree would at
 * this size. */
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
    for (unsigned s = 0; s < BUS_SPACES; s++) {
        b->space[s].top = 0;
        for (unsigned i = 0; i < BUS_MAX_RANGES; i++)
            b->space[s].range[i] = (struct bus_range){ 0 };
    }
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
    if ((unsigned)space >= BUS_SPACES)
        return false;
    uint64_t end = bus_space_end(space);
    return size != 0 && base < end && size <= end - base;
}

static int id_of(enum bus_space space, unsigned slot)
{
    return (int)(space * BUS_MAX_RANGES + slot);
}

/* The slot of range id, or NULL if id is out of bounds (free or not). */
static struct bus_range *slot_of(struct bus *b, int id)
{
    if (id < 0 || id >= BUS_MAX_IDS)
        return 0;
    return &b->space[id / BUS_MAX_RANGES].range[id % BUS_MAX_RANGES];
}

int bus_conflict(const struct bus *b, enum bus_space space, uint64_t base, uint64_t size,
                 int except)
{
    if ((unsigned)space >= BUS_SPACES)
        return -1;
    const struct bus_space_table *t = &b->space[space];
    for (unsigned i = 0; i < t->top; i++) {
        const struct bus_range *r = &t->range[i];
        if (id_of(space, i) == except || !r->size)
            continue;
        /* [base, base + size) and [r->base, r->base + r->size) meet, without
         * computing an end that could wrap. */
        if (base < r->base ? r->base - base < size : base - r->base < r->size)
            return id_of(space, i);
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
    struct bus_space_table *t = &b->space[space];
    for (unsigned i = 0; i < BUS_MAX_RANGES; i++) {
        if (t->range[i].size)
            continue;
        t->range[i] = (struct bus_range){ .space = space, .base = base, .size = size,
                                          .name = name, .access = access, .dev = dev };
        if (i >= t->top)
            t->top = i + 1;
        return id_of(space, i);
    }
    return BUS_E_FULL;
}

const struct bus_range *bus_range_of(const struct bus *b, int id)
{
    const struct bus_range *r = slot_of((struct bus *)b, id);
    return r && r->size ? r : 0;
}

int bus_move(struct bus *b, int id, uint64_t base)
{
    struct bus_range *r = slot_of(b, id);
    if (!r || !r->size)
        return BUS_E_NOENT;
    if (!valid(r->space, base, r->size))
        return BUS_E_RANGE;
    if (bus_conflict(b, r->space, base, r->size, id) >= 0)
        return BUS_E_OVERLAP;
    r->base = base;
    return 0;
}

int bus_release(struct bus *b, int id)
{
    struct bus_range *r = slot_of(b, id);
    if (!r || !r->size)
        return BUS_E_NOENT;
    *r = (struct bus_range){ 0 };
    return 0;
}

unsigned bus_release_dev(struct bus *b, const void *dev)
{
    unsigned n = 0;
    for (int id = 0; id < BUS_MAX_IDS; id++) {
        struct bus_range *r = slot_of(b, id);
        if (r->size && r->dev == dev) {
            *r = (struct bus_range){ 0 };
            n++;
        }
    }
    return n;
}

static const struct bus_range *owner(const struct bus *b, enum bus_space space, uint64_t addr)
{
    if ((unsigned)space >= BUS_SPACES)
        return 0;
    const struct bus_space_table *t = &b->space[space];
    for (unsigned i = 0; i < t->top; i++) {
        const struct bus_range *r = &t->range[i];
        if (addr - r->base < r->size)      /* a free slot has size 0: never */
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
