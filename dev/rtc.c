/* MC146818A RTC (data sheet). The divider chain counts 32.768 kHz cycles from
 * when it started; an update (the clock's second) falls on every 32768th cycle
 * and a periodic tick on every multiple of the rate's period. Nothing ticks in
 * between: each access first catches up to "now". The clock is kept in binary
 * and shown in the format register B selects, so changing DM or 24/12 shows the
 * same time re-encoded (the chip would show the old bytes). */
#include "arch/units.h"
#include "dev/rtc.h"

#define DIV_HZ          32768u    /* the time base; one update per 32768 cycles */
#define DV_NORMAL       (2u << RTC_A_DV_SHIFT)   /* others (11x: reset) stop it */
#define UIP_BEFORE_CYCLES 8       /* tBUC = 244 us: UIP rises before an update */
#define UPDATE_CYCLES   65        /* tUC = 1984 us: the update cycle, UIP still up */
#define ALARM_DONT_CARE 0xC0      /* both top bits set: matches any value */
#define SECS_PER_DAY    86400u
#define DAYS_PER_WEEK   7u
#define POWER_UP_A      (DV_NORMAL | 6u)         /* 1024 Hz */
#define POWER_UP_B      RTC_B_24H
#define REG_A_WRITABLE  (RTC_A_DV | RTC_A_RS)
#define REG_B_IRQ_BITS  (RTC_B_PIE | RTC_B_AIE | RTC_B_UIE)
#define INDEX_BITS      0x7Fu     /* bit 7 of port 0x70 is the PC's NMI mask */

/* Memory sizes in the CMOS RAM, as a PC BIOS (and QEMU's pc machine) fills them:
 * base memory in KiB, memory above 1 MiB in KiB (twice), memory above 16 MiB in
 * 64 KiB units; 16 bits each, little-endian, saturated. */
#define CMOS_BASE_MEM   0x15
#define CMOS_EXT_MEM    0x17
#define CMOS_EXT_MEM_POST 0x30
#define CMOS_MEM_16M    0x34
#define BASE_MEM_KIB    640u
#define HIGH_MEM_START  (16 * MIB)
#define HIGH_MEM_UNIT   (64ull << 10)
#define CMOS_WORD_MAX   0xFFFFu

/* --- calendar arithmetic (days since 0000-03-01, shifted one 400-year era so
 * everything stays unsigned; H. Hinnant's days_from_civil) --------------------- */
#define ERA_YEARS 400u
#define ERA_DAYS  146097u

static uint64_t days_of(uint32_t y, unsigned m, unsigned d)
{
    y += ERA_YEARS - (m <= 2);
    uint64_t era = y / ERA_YEARS, yoe = y % ERA_YEARS;
    uint64_t doy = (153u * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * ERA_DAYS + yoe * 365 + yoe / 4 - yoe / 100 + doy;
}

static void civil_of(uint64_t days, struct rtc_time *t)
{
    uint64_t era = days / ERA_DAYS, doe = days % ERA_DAYS;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / (ERA_DAYS - 1)) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    t->day = (uint8_t)(doy - (153 * mp + 2) / 5 + 1);
    t->month = (uint8_t)(mp < 10 ? mp + 3 : mp - 9);
    t->year = (uint32_t)(yoe + era * ERA_YEARS + (t->month <= 2) - ERA_YEARS);
}

#define UNIX_EPOCH_YEAR 1970u

uint64_t rtc_unix_seconds(const struct rtc_time *t)
{
    uint64_t days = days_of(t->year, t->month, t->day) - days_of(UNIX_EPOCH_YEAR, 1, 1);
    return days * SECS_PER_DAY + t->hour * 3600u + t->min * 60u + t->sec;
}

/* n seconds later. The day of the week counts on by itself, as on the chip. */
static void add_seconds(struct rtc_time *t, uint64_t n)
{
    uint64_t sod = t->hour * 3600u + t->min * 60u + t->sec + n;
    uint64_t days = sod / SECS_PER_DAY;
    sod %= SECS_PER_DAY;
    t->hour = (uint8_t)(sod / 3600);
    t->min = (uint8_t)(sod / 60 % 60);
    t->sec = (uint8_t)(sod % 60);
    if (!days)
        return;
    t->wday = (uint8_t)((t->wday + DAYS_PER_WEEK - 1 + days % DAYS_PER_WEEK) % DAYS_PER_WEEK + 1);
    civil_of(days_of(t->year, t->month, t->day) + days, t);
}

/* --- register formats ----------------------------------------------------- */

static bool binary(const struct rtc *r) { return r->ram[RTC_REG_B] & RTC_B_DM_BINARY; }

static uint8_t encode(const struct rtc *r, unsigned v)
{
    return (uint8_t)(binary(r) ? v : (v / 10 % 10) << 4 | v % 10);
}

static unsigned decode(const struct rtc *r, uint8_t v)
{
    return binary(r) ? v : (v >> 4) * 10 + (v & 0xF);
}

static uint8_t encode_hour(const struct rtc *r, unsigned h)
{
    if (r->ram[RTC_REG_B] & RTC_B_24H)
        return encode(r, h);
    unsigned h12 = h % 12 ? h % 12 : 12;       /* 12 AM is midnight */
    return encode(r, h12) | (h >= 12 ? RTC_HOUR_PM : 0);
}

static unsigned decode_hour(const struct rtc *r, uint8_t v)
{
    if (r->ram[RTC_REG_B] & RTC_B_24H)
        return decode(r, v);
    return decode(r, v & ~RTC_HOUR_PM) % 12 + (v & RTC_HOUR_PM ? 12 : 0);
}

/* --- the divider chain ---------------------------------------------------- */

static bool running(const struct rtc *r)
{
    return (r->ram[RTC_REG_A] & RTC_A_DV) == DV_NORMAL;
}

static uint64_t cycles_at(const struct rtc *r, uint64_t now)
{
    uint64_t ns = now > r->div_start_ns ? now - r->div_start_ns : 0;
    return r->div_phase + ns / NS_PER_S * DIV_HZ + ns % NS_PER_S * DIV_HZ / NS_PER_S;
}

static uint64_t ns_at(const struct rtc *r, uint64_t cycle)
{
    uint64_t c = cycle - r->div_phase;
    return r->div_start_ns + c / DIV_HZ * NS_PER_S + (c % DIV_HZ * NS_PER_S + DIV_HZ - 1) / DIV_HZ;
}

static void start_divider(struct rtc *r, uint64_t now, uint64_t phase)
{
    r->div_start_ns = now;
    r->div_phase = r->cycles = phase;
}

/* The periodic interrupt's period in cycles (data sheet, "Periodic Interrupt
 * Rate" table, 32.768 kHz column): rates 1 and 2 repeat those of 8 and 9;
 * from 3 on, 2^(rate - 1) cycles. 0: none. */
static uint64_t period(const struct rtc *r)
{
    unsigned rs = r->ram[RTC_REG_A] & RTC_A_RS;
    if (!rs)
        return 0;
    return 1ull << (rs <= 2 ? rs + 6 : rs - 1);
}

static uint8_t field(const struct rtc *r, unsigned alarm_index)
{
    switch (alarm_index) {
    case RTC_SECONDS_ALARM: return r->now.sec;
    case RTC_MINUTES_ALARM: return r->now.min;
    default: return r->now.hour;
    }
}

/* The alarm registers against the clock at one update; a "don't care" byte
 * matches anything (data sheet, "Alarm"). */
static bool alarm_matches(const struct rtc *r)
{
    static const uint8_t alarm[] = { RTC_SECONDS_ALARM, RTC_MINUTES_ALARM, RTC_HOURS_ALARM };
    for (unsigned i = 0; i < sizeof alarm; i++) {
        uint8_t a = r->ram[alarm[i]];
        if ((a & ALARM_DONT_CARE) == ALARM_DONT_CARE)
            continue;
        unsigned want = alarm[i] == RTC_HOURS_ALARM ? decode_hour(r, a) : decode(r, a);
        if (want != field(r, alarm[i]))
            return false;
    }
    return true;
}

/* n updates: the clock moves on n seconds, UF is set, and AF if the alarm
 * matched at one of them (a day covers every time of day). */
static void take_updates(struct rtc *r, uint64_t n)
{
    uint64_t first = n > SECS_PER_DAY ? n - SECS_PER_DAY : 0;
    add_seconds(&r->now, first);
    for (uint64_t i = first; i < n; i++) {
        add_seconds(&r->now, 1);
        if (alarm_matches(r))
            r->ram[RTC_REG_C] |= RTC_C_AF;
    }
    r->ram[RTC_REG_C] |= RTC_C_UF;
}

/* IRQF and the IRQ line: any flag whose interrupt is enabled. */
static void update_irqf(struct rtc *r)
{
    uint8_t c = r->ram[RTC_REG_C] & (RTC_C_PF | RTC_C_AF | RTC_C_UF);
    /* Each flag has the bit of its enable in register B. */
    bool irqf = c & r->ram[RTC_REG_B] & REG_B_IRQ_BITS;
    r->ram[RTC_REG_C] = c | (irqf ? RTC_C_IRQF : 0);
}

static void catch_up(struct rtc *r, uint64_t now)
{
    if (running(r)) {
        uint64_t c = cycles_at(r, now), prev = r->cycles, p = period(r);
        if (c > prev) {
            r->cycles = c;
            if (p && c / p != prev / p)
                r->ram[RTC_REG_C] |= RTC_C_PF;
            uint64_t updates = c / DIV_HZ - prev / DIV_HZ;
            if (updates && !(r->ram[RTC_REG_B] & RTC_B_SET))
                take_updates(r, updates);
        }
    }
    update_irqf(r);
}

/* --- registers ------------------------------------------------------------ */

/* UIP (data sheet, "Update Cycle", 32.768 kHz times): up from tBUC before an
 * update to the end of the update cycle, tUC after it began; never while SET
 * inhibits updates. During the cycle the registers here already show the new
 * second (the chip's would not be readable). */
static bool uip(const struct rtc *r, uint64_t now)
{
    if (!running(r) || (r->ram[RTC_REG_B] & RTC_B_SET))
        return false;
    uint64_t c = cycles_at(r, now), in_second = c % DIV_HZ;
    bool updating = in_second < UPDATE_CYCLES && c - in_second > r->div_phase;
    return in_second >= DIV_HZ - UIP_BEFORE_CYCLES || updating;
}

static uint8_t reg_read(struct rtc *r, unsigned i, uint64_t now)
{
    uint8_t v;
    switch (i) {
    case RTC_SECONDS: return encode(r, r->now.sec);
    case RTC_MINUTES: return encode(r, r->now.min);
    case RTC_HOURS: return encode_hour(r, r->now.hour);
    case RTC_DAY_OF_WEEK: return encode(r, r->now.wday);
    case RTC_DAY_OF_MONTH: return encode(r, r->now.day);
    case RTC_MONTH: return encode(r, r->now.month);
    case RTC_YEAR: return encode(r, r->now.year % 100);
    case RTC_CENTURY: return encode(r, r->now.year / 100);
    case RTC_REG_A:
        return r->ram[RTC_REG_A] | (uip(r, now) ? RTC_A_UIP : 0);
    case RTC_REG_C:                          /* reading clears the flags */
        v = r->ram[RTC_REG_C];
        r->ram[RTC_REG_C] = 0;
        return v;
    case RTC_REG_D: return RTC_D_VRT;
    default: return r->ram[i];
    }
}

static void reg_write(struct rtc *r, unsigned i, uint8_t v, uint64_t now)
{
    struct rtc_time *t = &r->now;
    switch (i) {
    case RTC_SECONDS: t->sec = (uint8_t)decode(r, v); break;
    case RTC_MINUTES: t->min = (uint8_t)decode(r, v); break;
    case RTC_HOURS: t->hour = (uint8_t)decode_hour(r, v); break;
    case RTC_DAY_OF_WEEK: t->wday = (uint8_t)decode(r, v); break;
    case RTC_DAY_OF_MONTH: t->day = (uint8_t)decode(r, v); break;
    case RTC_MONTH: t->month = (uint8_t)decode(r, v); break;
    case RTC_YEAR: t->year = t->year / 100 * 100 + decode(r, v); break;
    case RTC_CENTURY: t->year = decode(r, v) * 100 + t->year % 100; break;
    case RTC_REG_A: {
        bool was = running(r);
        r->ram[RTC_REG_A] = v & REG_A_WRITABLE;
        /* Out of reset, the first update comes half a second later. */
        if (!was && running(r))
            start_divider(r, now, DIV_HZ / 2);
        break;
    }
    case RTC_REG_B:
        /* SET stops updates and clears UIE (data sheet, "Register B"). */
        if (v & RTC_B_SET)
            v &= ~RTC_B_UIE;
        r->ram[RTC_REG_B] = v;
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break;                               /* read-only */
    default:
        r->ram[i] = v;
        break;
    }
}

uint8_t rtc_read(struct rtc *r, unsigned off, uint64_t now)
{
    if (!off)
        return 0xFF;                         /* the index port is write-only */
    catch_up(r, now);
    uint8_t v = reg_read(r, r->index, now);
    update_irqf(r);
    return v;
}

void rtc_write(struct rtc *r, unsigned off, uint8_t val, uint64_t now)
{
    if (!off) {
        r->index = val & INDEX_BITS;
        return;
    }
    catch_up(r, now);
    reg_write(r, r->index, val, now);
    update_irqf(r);
}

bool rtc_poll(struct rtc *r, uint64_t now)
{
    catch_up(r, now);
    return r->ram[RTC_REG_C] & RTC_C_IRQF;
}

uint64_t rtc_next_event(const struct rtc *r)
{
    const uint8_t b = r->ram[RTC_REG_B];
    uint64_t next = UINT64_MAX, p = period(r);
    if (!running(r) || (r->ram[RTC_REG_C] & RTC_C_IRQF))
        return UINT64_MAX;
    if ((b & RTC_B_PIE) && p)
        next = (r->cycles / p + 1) * p;
    if ((b & (RTC_B_UIE | RTC_B_AIE)) && !(b & RTC_B_SET)) {
        uint64_t u = (r->cycles / DIV_HZ + 1) * DIV_HZ;
        next = u < next ? u : next;
    }
    return next == UINT64_MAX ? UINT64_MAX : ns_at(r, next);
}

static void put_word(struct rtc *r, unsigned i, uint64_t v)
{
    v = v < CMOS_WORD_MAX ? v : CMOS_WORD_MAX;
    r->ram[i] = (uint8_t)v;
    r->ram[i + 1] = (uint8_t)(v >> 8);
}

void rtc_init(struct rtc *r, const struct rtc_time *start, uint64_t ram_size, uint64_t now)
{
    *r = (struct rtc){ .now = *start };
    r->ram[RTC_REG_A] = POWER_UP_A;
    r->ram[RTC_REG_B] = POWER_UP_B;
    start_divider(r, now, 0);
    uint64_t ext_kib = ram_size > MIB ? (ram_size - MIB) >> 10 : 0;
    put_word(r, CMOS_BASE_MEM, BASE_MEM_KIB);
    put_word(r, CMOS_EXT_MEM, ext_kib);
    put_word(r, CMOS_EXT_MEM_POST, ext_kib);
    put_word(r, CMOS_MEM_16M, ram_size > HIGH_MEM_START ? (ram_size - HIGH_MEM_START) / HIGH_MEM_UNIT : 0);
}

/* --- the bus handler ---------------------------------------------------------- */

void rtc_update_irq(struct rtc *r, uint64_t now)
{
    bool level = rtc_poll(r, now);
    if (level != r->irq_level && r->host)
        r->host->set_isa_irq(r->host->ctx, RTC_IRQ, level);
    r->irq_level = level;
}

static void rtc_byte(void *dev, unsigned off, bool write, uint8_t *b)
{
    struct rtc *r = dev;
    uint64_t now = r->host ? r->host->now_ns() : 0;
    if (write)
        rtc_write(r, off, *b, now);
    else
        *b = rtc_read(r, off, now);
    rtc_update_irq(r, now);
}

enum bus_result rtc_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val)
{
    struct rtc *r = dev;
    (void)v;
    bus_bytewise(r, rtc_byte, RTC_PORTS, offset, size, write, val);
    if (r->host)
        r->host->timers_changed(r->host->ctx);
    return BUS_OK;
}
