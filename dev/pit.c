/* 8254 PIT (82C54 data sheet). Each counter keeps when it started and derives
 * its count and OUT from the clocks elapsed since: d clocks after a count N is
 * loaded, modes 0 and 4 count N - d (mod 2^16), mode 2 counts N..1 and mode 3
 * N..2 twice (by two) every N clocks. Two simplifications, as in QEMU's model:
 * a count is loaded at once (not on the next CLK), and a new count in modes 2
 * and 3 restarts the period instead of waiting for its end. */
#include "arch/units.h"
#include "dev/pit.h"

#define BINARY_RANGE    0x10000u    /* a count of 0 means 2^16 ... */
#define BCD_RANGE       10000u      /* ... or 10^4 in BCD */
#define REFRESH_NS      15085u      /* PIIX4: one refresh request per 15.085 us */
#define PORT61_WRITABLE 0x0Fu

/* Control word (data sheet, "Control Word Format"). */
#define CW_SC_SHIFT     6           /* SC1 SC0: counter, 3 = read-back */
#define CW_READ_BACK    3
#define CW_RW_SHIFT     4           /* RW1 RW0: 0 = latch, 1 LSB, 2 MSB, 3 both */
#define CW_RW_LATCH     0
#define CW_RW_LSB       1
#define CW_RW_MSB       2
#define CW_RW_BOTH      3
#define CW_MODE_SHIFT   1
#define CW_BCD          0x01
#define CW_BITS         0x3F        /* what the status byte echoes */
/* Read-back command: bits clear select (data sheet, "Read-Back Command"). */
#define RB_NO_COUNT     0x20
#define RB_NO_STATUS    0x10
#define RB_SELECT_SHIFT 1
/* Status byte. */
#define ST_OUT          0x80
#define ST_NULL_COUNT   0x40

static unsigned rw(const struct pit_channel *c) { return c->ctrl >> CW_RW_SHIFT & 3; }
static bool bcd(const struct pit_channel *c) { return c->ctrl & CW_BCD; }

/* Modes 6 and 7 are 2 and 3 (M2 is a don't-care for them). */
static unsigned mode(const struct pit_channel *c)
{
    unsigned m = c->ctrl >> CW_MODE_SHIFT & 7;
    return m >= 6 ? m - 4 : m;
}

/* Modes 1 and 5 start on a rising GATE edge; the others count while GATE is
 * high, and modes 2 and 3 also reload on its rising edge (data sheet, "Gate"). */
static bool gate_triggered(unsigned m) { return m == 1 || m == 5; }
static bool gate_reloads(unsigned m) { return m == 2 || m == 3; }

/* Clocks in ns nanoseconds, rounded down, and the nanoseconds until clock t,
 * rounded up (so that clocks(ns_of(t)) >= t); split to avoid overflow. */
static uint64_t clocks(uint64_t ns)
{
    return ns / NS_PER_S * PIT_HZ + ns % NS_PER_S * PIT_HZ / NS_PER_S;
}

static uint64_t ns_of(uint64_t t)
{
    return t / PIT_HZ * NS_PER_S + (t % PIT_HZ * NS_PER_S + PIT_HZ - 1) / PIT_HZ;
}

static uint64_t elapsed(const struct pit_channel *c, uint64_t now)
{
    bool counting = c->running && now > c->start_ns;
    return c->base + (counting ? clocks(now - c->start_ns) : 0);
}

static void start(struct pit_channel *c, uint64_t now, bool restart)
{
    if (restart)
        c->base = c->reported = 0;
    c->start_ns = now;
    c->running = true;
}

static void stop(struct pit_channel *c, uint64_t now)
{
    c->base = elapsed(c, now);
    c->running = false;
}

/* The count, 0-65535 (BCD: 0-9999), d clocks into the run. */
static uint32_t value(const struct pit_channel *c, uint64_t d)
{
    uint32_t range = bcd(c) ? BCD_RANGE : BINARY_RANGE, n = c->count;
    switch (mode(c)) {
    case 2: return (uint32_t)(n - d % n) % range;
    case 3: return (uint32_t)(n - 2 * d % n) % range;
    default: return (uint32_t)(n + range - d % range) % range;
    }
}

static uint16_t to_bcd(uint32_t v)
{
    return (uint16_t)(v / 1000 << 12 | v / 100 % 10 << 8 | v / 10 % 10 << 4 | v % 10);
}

static uint32_t from_bcd(uint32_t v)
{
    return (v >> 12 & 0xF) * 1000 + (v >> 8 & 0xF) * 100 + (v >> 4 & 0xF) * 10 + (v & 0xF);
}

static uint16_t read_value(const struct pit_channel *c, uint64_t now)
{
    uint32_t v = value(c, elapsed(c, now));
    return bcd(c) ? to_bcd(v) : (uint16_t)v;
}

/* Rising edges of OUT in the first d clocks of a run: at N (modes 0, 1), after
 * the one-clock low pulse at N (modes 4, 5), or at every multiple of N (modes 2
 * and 3: low for the last clock of the period, or its second half). */
static uint64_t rises(const struct pit_channel *c, uint64_t d)
{
    uint64_t n = c->count;
    switch (mode(c)) {
    case 0: case 1: return d >= n;
    case 2: case 3: return d / n;
    default: return d > n;
    }
}

bool pit_out(const struct pit *p, unsigned ch, uint64_t now)
{
    const struct pit_channel *c = &p->ch[ch];
    unsigned m = mode(c);
    /* A control word sets OUT low in mode 0, high in the others. */
    if (!c->loaded)
        return m != 0;
    if ((gate_reloads(m) && !c->gate) || (gate_triggered(m) && !c->running))
        return true;                         /* held high, or not yet triggered */
    uint64_t d = elapsed(c, now), n = c->count;
    switch (m) {
    case 0: case 1: return d >= n;
    case 2: return d % n != n - 1;
    case 3: return d % n < (n + 1) / 2;
    default: return d != n;
    }
}

uint64_t pit_take_edges(struct pit *p, unsigned ch, uint64_t now)
{
    struct pit_channel *c = &p->ch[ch];
    if (!c->loaded)
        return 0;
    uint64_t d = elapsed(c, now), n = rises(c, d) - rises(c, c->reported);
    c->reported = d;
    return n;
}

uint64_t pit_next_edge(const struct pit *p, unsigned ch, uint64_t now)
{
    const struct pit_channel *c = &p->ch[ch];
    if (!c->loaded || !c->running)
        return UINT64_MAX;
    uint64_t d = elapsed(c, now), n = c->count, t;
    switch (mode(c)) {
    case 0: case 1: t = n; break;
    case 2: case 3: t = (d / n + 1) * n; break;
    default: t = n + 1; break;
    }
    return t > d ? c->start_ns + ns_of(t - c->base) : UINT64_MAX;
}

static void set_gate(struct pit_channel *c, bool high, uint64_t now)
{
    unsigned m = mode(c);
    bool rising = high && !c->gate;
    if (c->loaded && !high && c->gate && !gate_triggered(m))
        stop(c, now);
    c->gate = high;
    if (c->loaded && rising)
        start(c, now, !(m == 0 || m == 4));     /* modes 0 and 4 resume */
}

/* A complete count: N = 0 means the whole range (data sheet, "Counter
 * Operation"). Counting starts now unless the mode waits for GATE. */
static void load(struct pit_channel *c, uint32_t raw, uint64_t now)
{
    uint32_t n = bcd(c) ? from_bcd(raw) : raw;
    c->count = n ? n : bcd(c) ? BCD_RANGE : BINARY_RANGE;
    c->loaded = true;
    c->base = c->reported = 0;
    c->running = false;
    if (c->gate && !gate_triggered(mode(c)))
        start(c, now, true);
}

static void write_count(struct pit_channel *c, uint8_t val, uint64_t now)
{
    switch (rw(c)) {
    case CW_RW_LSB: load(c, val, now); break;
    case CW_RW_MSB: load(c, (uint32_t)val << 8, now); break;
    default:
        if (c->write_msb) {
            load(c, c->lsb | (uint32_t)val << 8, now);
        } else {
            c->lsb = val;
            /* Mode 0: the first byte stops counting and sets OUT low. */
            if (mode(c) == 0)
                c->loaded = c->running = false;
        }
        c->write_msb = !c->write_msb;
        break;
    }
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
    if (c->count_latched)
        return;                              /* the first latch holds until read */
    c->latch = read_value(c, now);
    c->count_latched = true;
}

static void latch_status(struct pit *p, unsigned ch, uint64_t now)
{
    struct pit_channel *c = &p->ch[ch];
    if (c->status_latched)
        return;
    /* NULL COUNT: the last count written is not yet in the counting element. */
    bool null = !c->loaded || elapsed(c, now) == 0;
    c->status = (uint8_t)((pit_out(p, ch, now) ? ST_OUT : 0) | (null ? ST_NULL_COUNT : 0) |
                          (c->ctrl & CW_BITS));
    c->status_latched = true;
}

static void control_word(struct pit *p, uint8_t val, uint64_t now)
{
    unsigned sc = val >> CW_SC_SHIFT;
    if (sc == CW_READ_BACK) {
        for (unsigned ch = 0; ch < PIT_CHANNELS; ch++) {
            if (!(val >> (RB_SELECT_SHIFT + ch) & 1))
                continue;
            if (!(val & RB_NO_STATUS))
                latch_status(p, ch, now);
            if (!(val & RB_NO_COUNT))
                latch_count(&p->ch[ch], now);
        }
        return;
    }
    struct pit_channel *c = &p->ch[sc];
    if ((val >> CW_RW_SHIFT & 3) == CW_RW_LATCH) {
        latch_count(c, now);
        return;
    }
    /* A new mode resets the counter's control logic; GATE is wiring. */
    *c = (struct pit_channel){ .ctrl = val & CW_BITS, .count = c->count, .gate = c->gate };
}

uint8_t pit_read(struct pit *p, unsigned off, uint64_t now)
{
    if (off >= PIT_CHANNELS)
        return 0;                            /* the control word is write-only */
    struct pit_channel *c = &p->ch[off];
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v = c->count_latched ? c->latch : read_value(c, now);
    bool msb;
    switch (rw(c)) {
    case CW_RW_LSB: msb = false; break;
    case CW_RW_MSB: msb = true; break;
    default:
        msb = c->read_msb;
        c->read_msb = !c->read_msb;
        break;
    }
    if (msb || rw(c) != CW_RW_BOTH)          /* a latch is held until fully read */
        c->count_latched = false;
    return (uint8_t)(msb ? v >> 8 : v);
}

void pit_write(struct pit *p, unsigned off, uint8_t val, uint64_t now)
{
    if (off == PIT_PORT_CTRL)
        control_word(p, val, now);
    else if (off < PIT_CHANNELS)
        write_count(&p->ch[off], val, now);
}

void pit_init(struct pit *p)
{
    *p = (struct pit){ 0 };
    for (unsigned ch = 0; ch < PIT_CHANNELS; ch++)
        p->ch[ch].count = BINARY_RANGE;
    p->ch[0].gate = p->ch[1].gate = true;
}

uint8_t pit_port61_read(struct pit *p, uint64_t now)
{
    bool refresh = now / REFRESH_NS & 1;
    return (uint8_t)(p->port61 | (refresh ? PORT61_REFRESH : 0) |
                     (pit_out(p, PIT_SPEAKER_CHANNEL, now) ? PORT61_OUT2 : 0));
}

void pit_port61_write(struct pit *p, uint8_t val, uint64_t now)
{
    p->port61 = val & PORT61_WRITABLE;
    set_gate(&p->ch[PIT_SPEAKER_CHANNEL], val & PORT61_GATE2, now);
}

/* --- the bus handlers -------------------------------------------------------- */

static uint64_t host_now(const struct pit *p)
{
    return p->host ? p->host->now_ns() : 0;
}

static void pit_byte(void *dev, unsigned off, bool write, uint8_t *b)
{
    struct pit *p = dev;
    if (write)
        pit_write(p, off, *b, host_now(p));
    else
        *b = pit_read(p, off, host_now(p));
}

static void port61_byte(void *dev, unsigned off, bool write, uint8_t *b)
{
    struct pit *p = dev;
    (void)off;
    if (write)
        pit_port61_write(p, *b, host_now(p));
    else
        *b = pit_port61_read(p, host_now(p));
}

static enum bus_result pit_bytes(struct pit *p, bus_byte_fn byte, uint64_t ports,
                                 uint64_t offset, unsigned size, bool write, uint64_t *val)
{
    bus_bytewise(p, byte, ports, offset, size, write, val);
    if (p->host)
        p->host->timers_changed(p->host->ctx);
    return BUS_OK;
}

enum bus_result pit_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val)
{
    (void)v;
    return pit_bytes(dev, pit_byte, PIT_PORTS, offset, size, write, val);
}

enum bus_result pit_port61_bus_access(void *dev, struct vcpu *v, uint64_t offset,
                                      unsigned size, bool write, uint64_t *val)
{
    (void)v;
    return pit_bytes(dev, port61_byte, 1, offset, size, write, val);
}
