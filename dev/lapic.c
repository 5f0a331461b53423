/* The local APIC (Intel SDM Vol. 3A ch. 11). One table of register semantics
 * serves both interfaces: the xAPIC page (offset / 16) and the x2APIC MSRs (MSR -
 * 0x800), which differ only where Table 11-6 says so. In xAPIC mode a write drops
 * reserved bits and an access to a register that does not exist reads 0 and logs
 * "illegal register address" in the ESR; in x2APIC mode both raise #GP
 * (11.12.1.2, 11.12.1.3: reserved bits are RsvdZ there). Interrupt acceptance
 * and the timer follow 11.8 and 11.5.4. */
#include "arch/units.h"
#include "dev/bus.h"
#include "dev/lapic.h"

#define BASE_ADDR_BITS  0xFFFFFFFFFFFFF000ull
#define BASE_LOW_RSVD   0x2FFull            /* bits 0-7 and 9 */
#define DFR_RO_ONES     0x0FFFFFFFu         /* DFR bits 27:0 read as ones */
#define LDR_XAPIC_MASK  0xFF000000u
#define DFR_MODEL_MASK  0xF0000000u
#define SVR_WRITABLE    0x3FFu  /* vector, APIC enable, focus check; bit 12 needs VER[24] */
#define ICR_LO_WRITABLE 0x000CCFFFu /* vector, mode, dest mode, level, trigger, shorthand */
#define ICR_HI_XAPIC    0xFF000000u
#define DCR_WRITABLE    0xBu
#define DCR_DIV_LOW     0x3u                /* DCR bits 1:0 and 3 (Figure 11-10) */
#define DCR_DIV_HIGH    0x8u
#define DCR_DIV_BY_1    7u                  /* the encoding 1011b */
#define STATUS_BITS     0x1000u             /* delivery status: read-only, idle */
#define LINT_STATUS     (STATUS_BITS | 0x4000u)  /* and remote IRR */

/* Register indexes: xAPIC offset / 16 = x2APIC MSR - 0x800. */
#define IDX(off) ((off) >> 4)
#define IDX_LVT_FIRST IDX(APIC_LVT_TIMER)

/* Writable and read-only-status bits of each LVT entry (SDM Vol. 3A Figure 11-8).
 * The timer's mode is bits 18:17, TSC-deadline mode among them (CPUID.1:ECX[24]).
 * There is no CMCI entry: the version register says 6 entries (max LVT 5), and
 * CMCI needs IA32_MCG_CAP[10], which hv86 does not offer (11.5.1). */
static const uint32_t lvt_writable[LAPIC_LVT_COUNT] = {
    0x700FFu, 0x107FFu, 0x107FFu, 0x1A7FFu, 0x1A7FFu, 0x100FFu,
};
static const uint32_t lvt_status[LAPIC_LVT_COUNT] = {
    STATUS_BITS, STATUS_BITS, STATUS_BITS, LINT_STATUS, LINT_STATUS, STATUS_BITS,
};

enum access { ACC_OK, ACC_NONE, ACC_GP };

/* Power-up values of everything but the ID and IA32_APIC_BASE (11.4.7.1). It is
 * also the state after the APIC is disabled through IA32_APIC_BASE (11.4.3). */
static void reset_regs(struct lapic *l)
{
    uint32_t id = l->id;
    uint64_t base = l->apic_base, rsvd = l->base_reserved;
    const struct lapic_clock *clock = l->clock;
    *l = (struct lapic){ .id = id, .apic_base = base, .base_reserved = rsvd,
                         .dfr = 0xFFFFFFFFu, .svr = 0xFF, .clock = clock,
                         .timer_next = LAPIC_NEVER, .eoi_level = LAPIC_NO_EOI };
    for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
        l->lvt[i] = APIC_LVT_MASKED;
}

void lapic_init(struct lapic *l, uint32_t id, bool bsp, unsigned phys_bits)
{
    l->id = id;
    l->apic_base = LAPIC_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
    l->base_reserved = BASE_LOW_RSVD;
    if (phys_bits < 64)
        l->base_reserved |= ~0ull << phys_bits;
    l->clock = 0;
    reset_regs(l);
    if (bsp)
        l->lvt[LVT_LINT0] = APIC_LVT_DM_EXTINT;
}

enum apic_mode lapic_mode(const struct lapic *l)
{
    if (!(l->apic_base & APIC_BASE_EN))
        return APIC_MODE_DISABLED;
    return (l->apic_base & APIC_BASE_EXTD) ? APIC_MODE_X2APIC : APIC_MODE_XAPIC;
}

/* The highest vector set in a 256-bit register, or 0. */
static unsigned highest_vector(const uint32_t r[8])
{
    for (int i = 7; i >= 0; i--)
        if (r[i])
            return (unsigned)i * 32 + 31 - (unsigned)__builtin_clz(r[i]);
    return 0;
}

static bool test_bit(const uint32_t r[8], unsigned v) { return r[v / 32] & (1u << (v % 32)); }
static void set_bit(uint32_t r[8], unsigned v) { r[v / 32] |= 1u << (v % 32); }
static void clear_bit(uint32_t r[8], unsigned v) { r[v / 32] &= ~(1u << (v % 32)); }

/* PPR (11.8.3.1): TPR, or the class of the highest in-service vector if that is
 * higher. */
static uint32_t ppr(const struct lapic *l)
{
    unsigned isrv = highest_vector(l->isr);
    return (l->tpr >> 4) >= (isrv >> 4) ? l->tpr : (isrv & 0xF0);
}

uint32_t lapic_ppr(const struct lapic *l) { return ppr(l); }

/* EOI (11.8.5): the highest-priority in-service interrupt is done. If it was
 * level-triggered, the caller broadcasts the EOI to the IOAPIC. */
static void eoi(struct lapic *l)
{
    unsigned v = highest_vector(l->isr);
    if (!test_bit(l->isr, v))
        return;                             /* nothing in service */
    clear_bit(l->isr, v);
    if (test_bit(l->tmr, v))
        l->eoi_level = (int)v;
}

static bool software_enabled(const struct lapic *l)
{
    return lapic_mode(l) != APIC_MODE_DISABLED && (l->svr & APIC_SVR_ENABLE);
}

/* An error (11.5.3): logged for the next ESR write, and the LVT error entry's
 * interrupt unless masked (its own illegal vector is only logged). */
static void error(struct lapic *l, uint32_t bits)
{
    l->esr_pending |= bits;
    uint32_t lvt = l->lvt[LVT_ERROR];
    if (!(lvt & APIC_LVT_MASKED) && (lvt & APIC_VECTOR_MASK) >= APIC_FIRST_VALID_VECTOR)
        lapic_accept(l, lvt & APIC_VECTOR_MASK, false);
}

void lapic_accept(struct lapic *l, uint8_t vector, bool level)
{
    if (!software_enabled(l))
        return;
    if (vector < APIC_FIRST_VALID_VECTOR) {
        error(l, APIC_ESR_RECV_ILLEGAL_VECTOR);
        return;
    }
    if (!test_bit(l->irr, vector)) {
        set_bit(l->irr, vector);
        l->irr_count++;
    }
    if (level)
        set_bit(l->tmr, vector);
    else
        clear_bit(l->tmr, vector);
}

int lapic_highest_irr(const struct lapic *l)
{
    if (!l->irr_count)
        return -1;
    unsigned v = highest_vector(l->irr);
    return test_bit(l->irr, v) ? (int)v : -1;
}

int lapic_highest(const struct lapic *l)
{
    int v = lapic_highest_irr(l);
    if (v < 0 || APIC_PRIO_CLASS((unsigned)v) <= APIC_PRIO_CLASS(ppr(l)))
        return -1;
    return v;
}

void lapic_ack(struct lapic *l, uint8_t vector)
{
    if (test_bit(l->irr, vector)) {
        clear_bit(l->irr, vector);
        l->irr_count--;
    }
    set_bit(l->isr, vector);
}

bool lapic_extint(const struct lapic *l)
{
    uint32_t lint0 = l->lvt[LVT_LINT0];
    return lapic_mode(l) == APIC_MODE_DISABLED ||
           (!(lint0 & APIC_LVT_MASKED) && (lint0 & APIC_LVT_DM) == APIC_LVT_DM_EXTINT);
}

/* Destinations (11.6.2). Physical: the APIC ID, or all. Logical: x2APIC cluster
 * ID and bit (11.12.10.2); xAPIC flat model (DFR 1111b) any common bit of the
 * LDR's bits 31:24, cluster model (DFR 0000b) cluster in bits 7:4 and a common
 * bit in 3:0; and the broadcast address. */
bool lapic_match(const struct lapic *l, uint32_t dest, bool logical)
{
    bool x2 = lapic_mode(l) == APIC_MODE_X2APIC;
    uint32_t all = x2 ? APIC_X2APIC_BROADCAST : APIC_XAPIC_BROADCAST;
    if (dest == all)
        return true;
    if (!logical)
        return dest == l->id;
    if (x2) {
        uint32_t ldr = ((l->id >> 4) << 16) | (1u << (l->id & 0xF));
        return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFF);
    }
    uint32_t ldr = l->ldr >> APIC_XAPIC_DEST_SHIFT;
    if ((l->dfr | DFR_RO_ONES) == 0xFFFFFFFFu)
        return (dest & ldr) != 0;
    return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xF);
}

bool lapic_ipi_reaches(const struct lapic *from, const struct lapic *to)
{
    switch ((enum apic_shorthand)((from->icr_lo & APIC_ICR_SHORTHAND) >> APIC_ICR_SHORTHAND_SHIFT)) {
    case APIC_DEST_SELF: return to == from;
    case APIC_DEST_ALL: return true;
    case APIC_DEST_OTHERS: return to != from;
    case APIC_DEST_NONE: break;
    }
    bool x2 = lapic_mode(from) == APIC_MODE_X2APIC;
    uint32_t dest = x2 ? from->icr_hi : from->icr_hi >> APIC_XAPIC_DEST_SHIFT;
    return lapic_match(to, dest, from->icr_lo & APIC_ICR_LOGICAL);
}

int lapic_lowest_priority(const struct lapic *const *cand, unsigned n)
{
    int best = -1;
    for (unsigned i = 0; i < n; i++)
        if (best < 0 || ppr(cand[i]) < ppr(cand[best]))
            best = (int)i;
    return best;
}

void lapic_init_ipi(struct lapic *l)
{
    reset_regs(l);
}

/* --- the timer (11.5.4) ----------------------------------------------------- */

static uint64_t now_ns(const struct lapic *l) { return l->clock ? l->clock->ns() : 0; }

static enum apic_timer_mode timer_mode(const struct lapic *l)
{
    return (enum apic_timer_mode)((l->lvt[LVT_TIMER] & APIC_TIMER_MODE) >> APIC_TIMER_MODE_SHIFT);
}

/* Nanoseconds per count: DCR's divisor (Figure 11-10) at LAPIC_BUS_HZ. */
static uint64_t ns_per_count(const struct lapic *l)
{
    unsigned code = (l->timer_divide & DCR_DIV_LOW) | ((l->timer_divide & DCR_DIV_HIGH) >> 1);
    uint64_t divisor = code == DCR_DIV_BY_1 ? 1 : 2u << code;
    return divisor * NS_PER_S / LAPIC_BUS_HZ;
}

/* Writing the initial count starts the count-down; 0 stops it (11.5.4). */
static void timer_start(struct lapic *l)
{
    l->timer_next = LAPIC_NEVER;
    if (timer_mode(l) == APIC_TIMER_TSC_DEADLINE || !l->timer_initial)
        return;
    l->timer_period = l->timer_initial * ns_per_count(l);
    if (timer_mode(l) == APIC_TIMER_PERIODIC && l->timer_period < TIMER_MIN_PERIOD_NS)
        l->timer_period = TIMER_MIN_PERIOD_NS;      /* dev/bus.h */
    l->timer_next = now_ns(l) + l->timer_period;
}

/* The guest's TSC, which IA32_TSC_DEADLINE counts in. */
static uint64_t guest_tsc(const struct lapic *l)
{
    return l->clock->tsc() + (l->tsc_offset ? *l->tsc_offset : 0);
}

/* TSC ticks from now to the deadline, in ns (0 if it has passed). */
static uint64_t tsc_delta_ns(const struct lapic *l, uint64_t deadline)
{
    uint64_t tsc = guest_tsc(l), hz = l->clock->tsc_hz();
    if (deadline <= tsc || !hz)
        return 0;
    uint64_t d = deadline - tsc;
    if (d / hz >= UINT64_MAX / NS_PER_S)
        return UINT64_MAX / 2;              /* centuries away: never, in effect */
    return d / hz * NS_PER_S + d % hz * NS_PER_S / hz;
}

static void write_tsc_deadline(struct lapic *l, uint64_t val)
{
    if (timer_mode(l) != APIC_TIMER_TSC_DEADLINE)
        return;                             /* writes are ignored in other modes */
    l->tsc_deadline = val;
    l->timer_next = !val || !l->clock ? LAPIC_NEVER : now_ns(l) + tsc_delta_ns(l, val);
}

void lapic_timer_poll(struct lapic *l)
{
    if (l->timer_next == LAPIC_NEVER)
        return;                             /* idle: no need to read the clock */
    uint64_t now = now_ns(l);
    if (now < l->timer_next)
        return;
    if (timer_mode(l) == APIC_TIMER_TSC_DEADLINE && l->tsc_deadline && l->clock &&
        guest_tsc(l) < l->tsc_deadline) {
        /* ns rounding must never fire it early: the TSC decides (SDM Vol. 3A
         * 11.5.4.1, "when the TSC reaches the deadline"). */
        l->timer_next = now + tsc_delta_ns(l, l->tsc_deadline) + 1;
        return;
    }
    if (!(l->lvt[LVT_TIMER] & APIC_LVT_MASKED))
        lapic_accept(l, l->lvt[LVT_TIMER] & APIC_VECTOR_MASK, false);
    if (timer_mode(l) == APIC_TIMER_PERIODIC && l->timer_period) {
        /* Periods missed while nobody looked fold into this one interrupt. */
        uint64_t late = now - l->timer_next;
        l->timer_next = now + l->timer_period - late % l->timer_period;
        return;
    }
    l->timer_next = LAPIC_NEVER;
    l->tsc_deadline = 0;                    /* TSC-deadline: disarmed once fired */
}

uint64_t lapic_timer_next(const struct lapic *l)
{
    return (l->lvt[LVT_TIMER] & APIC_LVT_MASKED) ? LAPIC_NEVER : l->timer_next;
}

static uint32_t timer_current(struct lapic *l)
{
    lapic_timer_poll(l);
    if (l->timer_next == LAPIC_NEVER || timer_mode(l) == APIC_TIMER_TSC_DEADLINE)
        return 0;
    uint64_t now = now_ns(l);
    if (now >= l->timer_next)
        return 0;
    uint64_t left = (l->timer_next - now) / ns_per_count(l);
    return left < l->timer_initial ? (uint32_t)left : l->timer_initial;  /* a lengthened period */
}

/* Changing the LVT timer's mode to or from TSC-deadline disarms the timer
 * (11.5.4.1); between one-shot and periodic the count goes on. */
static void write_lvt_timer(struct lapic *l, uint32_t val)
{
    bool was_deadline = timer_mode(l) == APIC_TIMER_TSC_DEADLINE;
    lapic_timer_poll(l);
    l->lvt[LVT_TIMER] = val;
    if (was_deadline != (timer_mode(l) == APIC_TIMER_TSC_DEADLINE)) {
        l->timer_initial = 0;
        l->tsc_deadline = 0;
        l->timer_next = LAPIC_NEVER;
    }
}

/* Logical x2APIC ID (11.12.10.2): cluster ID[19:4] in bits 31:16, and the bit
 * ID[3:0] within the cluster. */
static uint32_t x2apic_ldr(const struct lapic *l)
{
    return ((l->id >> 4) << 16) | (1u << (l->id & 0xF));
}

static enum access reg_read(struct lapic *l, unsigned idx, bool x2, uint64_t *val)
{
    if (idx >= IDX(APIC_ISR) && idx < IDX(APIC_ISR) + 8) { *val = l->isr[idx & 7]; return ACC_OK; }
    if (idx >= IDX(APIC_TMR) && idx < IDX(APIC_TMR) + 8) { *val = l->tmr[idx & 7]; return ACC_OK; }
    if (idx >= IDX(APIC_IRR) && idx < IDX(APIC_IRR) + 8) { *val = l->irr[idx & 7]; return ACC_OK; }
    if (idx >= IDX_LVT_FIRST && idx < IDX_LVT_FIRST + LAPIC_LVT_COUNT) {
        *val = l->lvt[idx - IDX_LVT_FIRST];
        return ACC_OK;
    }
    switch (idx) {
    case IDX(APIC_ID): *val = x2 ? l->id : l->id << 24; return ACC_OK;
    case IDX(APIC_VER): *val = APIC_VERSION; return ACC_OK;
    case IDX(APIC_TPR): *val = l->tpr; return ACC_OK;
    case IDX(APIC_APR):
        /* Only P6-family and AMD processors have the APR, and x2APIC has no MSR
         * for it (Table 11-6); it reads 0, as under KVM and QEMU. */
        if (x2)
            return ACC_NONE;
        *val = 0;
        return ACC_OK;
    case IDX(APIC_PPR): *val = ppr(l); return ACC_OK;
    case IDX(APIC_EOI):
        if (x2)
            return ACC_GP;                   /* write-only */
        *val = 0;
        return ACC_OK;
    case IDX(APIC_LDR): *val = x2 ? x2apic_ldr(l) : l->ldr; return ACC_OK;
    case IDX(APIC_DFR):
        if (x2)
            return ACC_NONE;                 /* no MSR 0x80E */
        *val = l->dfr | DFR_RO_ONES;
        return ACC_OK;
    case IDX(APIC_SVR): *val = l->svr; return ACC_OK;
    case IDX(APIC_ESR): *val = l->esr; return ACC_OK;
    case IDX(APIC_ICR_LO):
        *val = x2 ? ((uint64_t)l->icr_hi << 32) | l->icr_lo : l->icr_lo;
        return ACC_OK;
    case IDX(APIC_ICR_HI):
        if (x2)
            return ACC_NONE;                 /* no MSR 0x831: ICR is one MSR */
        *val = l->icr_hi;
        return ACC_OK;
    case IDX(APIC_TIMER_ICR): *val = l->timer_initial; return ACC_OK;
    case IDX(APIC_TIMER_CCR): *val = timer_current(l); return ACC_OK;
    case IDX(APIC_TIMER_DCR): *val = l->timer_divide; return ACC_OK;
    case IDX(APIC_SELF_IPI): return x2 ? ACC_GP : ACC_NONE;   /* write-only */
    }
    return ACC_NONE;
}

/* A fixed or lowest-priority IPI with a vector below 16 is not sent (11.5.3). */
static bool icr_illegal_vector(uint32_t icr_lo)
{
    unsigned mode = (icr_lo & APIC_ICR_DM) >> APIC_ICR_DM_SHIFT;
    return (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) &&
           (icr_lo & APIC_VECTOR_MASK) < APIC_FIRST_VALID_VECTOR;
}

/* x2APIC: any written bit outside writable | ignored is reserved: #GP. */
static bool rsvd_ok(bool x2, uint64_t val, uint32_t writable, uint32_t ignored)
{
    return !x2 || !(val & ~(uint64_t)(writable | ignored));
}

/* Software disable (11.4.7.2): every LVT entry is masked and stays masked. */
static void write_svr(struct lapic *l, uint32_t val)
{
    l->svr = val & SVR_WRITABLE;
    if (!(l->svr & APIC_SVR_ENABLE))
        for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
            l->lvt[i] |= APIC_LVT_MASKED;
}

static enum access reg_write(struct lapic *l, unsigned idx, bool x2, uint64_t val)
{
    uint32_t v = (uint32_t)val;
    if (x2 && idx != IDX(APIC_ICR_LO) && (val >> 32))
        return ACC_GP;                       /* bits 63:32 reserved but in the ICR */
    if (idx >= IDX_LVT_FIRST && idx < IDX_LVT_FIRST + LAPIC_LVT_COUNT) {
        unsigned n = idx - IDX_LVT_FIRST;
        if (!rsvd_ok(x2, val, lvt_writable[n], lvt_status[n]))
            return ACC_GP;
        uint32_t lvt = v & lvt_writable[n];
        if (!(l->svr & APIC_SVR_ENABLE))
            lvt |= APIC_LVT_MASKED;
        if (n == LVT_TIMER)
            write_lvt_timer(l, lvt);
        else
            l->lvt[n] = lvt;
        return ACC_OK;
    }
    switch (idx) {
    case IDX(APIC_TPR):
        if (!rsvd_ok(x2, val, 0xFF, 0))
            return ACC_GP;
        l->tpr = v & 0xFF;
        return ACC_OK;
    case IDX(APIC_EOI):
        if (x2 && val)
            return ACC_GP;                   /* Table 11-6: non-zero EOI writes */
        eoi(l);
        return ACC_OK;
    case IDX(APIC_LDR):
        if (x2)
            return ACC_GP;                   /* read-only in x2APIC mode */
        l->ldr = v & LDR_XAPIC_MASK;
        return ACC_OK;
    case IDX(APIC_DFR):
        if (x2)
            return ACC_NONE;
        l->dfr = v & DFR_MODEL_MASK;
        return ACC_OK;
    case IDX(APIC_SVR):
        if (!rsvd_ok(x2, val, SVR_WRITABLE, 0))
            return ACC_GP;
        write_svr(l, v);
        return ACC_OK;
    case IDX(APIC_ESR):
        /* 11.5.3: a write (of 0 only, in x2APIC mode) makes the errors logged
         * since the previous write readable and starts a new log. */
        if (x2 && val)
            return ACC_GP;
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        return ACC_OK;
    case IDX(APIC_ICR_LO):
        /* Writing the low word sends (11.6.1): the caller delivers the IPI, at
         * once, so delivery status always reads idle. */
        if (!rsvd_ok(x2, (uint32_t)val, ICR_LO_WRITABLE, x2 ? 0 : STATUS_BITS))
            return ACC_GP;
        l->icr_lo = v & ICR_LO_WRITABLE;
        if (x2)
            l->icr_hi = (uint32_t)(val >> 32);
        if (icr_illegal_vector(l->icr_lo))
            error(l, APIC_ESR_SEND_ILLEGAL_VECTOR);
        else
            l->icr_sent = true;
        return ACC_OK;
    case IDX(APIC_ICR_HI):
        if (x2)
            return ACC_NONE;
        l->icr_hi = v & ICR_HI_XAPIC;
        return ACC_OK;
    case IDX(APIC_TIMER_ICR):
        /* Ignored in TSC-deadline mode (11.5.4.1). */
        if (timer_mode(l) != APIC_TIMER_TSC_DEADLINE) {
            l->timer_initial = v;
            timer_start(l);
        }
        return ACC_OK;
    case IDX(APIC_TIMER_DCR):
        if (!rsvd_ok(x2, val, DCR_WRITABLE, 0))
            return ACC_GP;
        l->timer_divide = v & DCR_WRITABLE;
        return ACC_OK;
    case IDX(APIC_SELF_IPI):
        /* x2APIC only (11.12.11): a fixed, edge-triggered IPI to itself. */
        if (!x2)
            return ACC_NONE;
        if (!rsvd_ok(x2, val, APIC_VECTOR_MASK, 0))
            return ACC_GP;
        lapic_accept(l, v & APIC_VECTOR_MASK, false);
        return ACC_OK;
    }
    /* The read-only registers: writes are dropped in xAPIC mode, #GP in x2APIC
     * mode (Table 11-6); the rest do not exist. */
    uint64_t dummy;
    enum access r = reg_read(l, idx, x2, &dummy);
    if (r == ACC_NONE)
        return ACC_NONE;
    return x2 ? ACC_GP : ACC_OK;
}

/* IA32_APIC_BASE writes (11.4.4, 11.12.5 Figure 11-27). The valid states are
 * disabled (EN=0 EXTD=0), xAPIC (EN=1 EXTD=0) and x2APIC (EN=1 EXTD=1); x2APIC
 * is entered only from xAPIC and left only to disabled; anything else, and
 * reserved bits, #GP. Disabling resets the registers (11.4.3). hv86 keeps the
 * APIC at 0xFEE00000: a write that moves the base raises #GP, so that a guest
 * that relocates it fails at once instead of missing its APIC later. */
static bool write_base(struct lapic *l, uint64_t val)
{
    if ((val & l->base_reserved) || (val & BASE_ADDR_BITS & ~l->base_reserved) != LAPIC_BASE)
        return false;
    bool en = val & APIC_BASE_EN, extd = val & APIC_BASE_EXTD;
    enum apic_mode old = lapic_mode(l);
    enum apic_mode new = !en ? APIC_MODE_DISABLED : extd ? APIC_MODE_X2APIC : APIC_MODE_XAPIC;
    if (extd && !en)
        return false;
    if ((old == APIC_MODE_X2APIC && new == APIC_MODE_XAPIC) ||
        (old == APIC_MODE_DISABLED && new == APIC_MODE_X2APIC))
        return false;
    /* BSP is read-only: the written value of bit 8 is ignored. */
    l->apic_base = LAPIC_BASE | (l->apic_base & APIC_BASE_BSP) |
                   (val & (APIC_BASE_EN | APIC_BASE_EXTD));
    if (old != APIC_MODE_DISABLED && new == APIC_MODE_DISABLED)
        reset_regs(l);
    return true;
}

static bool is_x2apic_msr(uint32_t msr)
{
    return msr >= X2APIC_MSR_FIRST && msr - X2APIC_MSR_FIRST < X2APIC_MSR_COUNT;
}

/* x2APIC MSRs exist only in x2APIC mode (11.12.2): #GP otherwise. */
bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val)
{
    if (msr == LAPIC_MSR_BASE) {
        *val = l->apic_base;
        return true;
    }
    if (msr == LAPIC_MSR_TSC_DEADLINE) {
        /* Reads 0 outside TSC-deadline mode and once the deadline fired. */
        lapic_timer_poll(l);
        *val = timer_mode(l) == APIC_TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
        return true;
    }
    if (!is_x2apic_msr(msr) || lapic_mode(l) != APIC_MODE_X2APIC)
        return false;
    return reg_read(l, msr - X2APIC_MSR_FIRST, true, val) == ACC_OK;
}

bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val)
{
    if (msr == LAPIC_MSR_BASE)
        return write_base(l, val);
    if (msr == LAPIC_MSR_TSC_DEADLINE) {
        write_tsc_deadline(l, val);
        return true;
    }
    if (!is_x2apic_msr(msr) || lapic_mode(l) != APIC_MODE_X2APIC)
        return false;
    return reg_write(l, msr - X2APIC_MSR_FIRST, true, val) == ACC_OK;
}

/* 11.4.1: registers are 32 bits wide at 16-byte aligned offsets. */
static bool mmio_register(uint32_t off, unsigned size)
{
    return size == 4 && !(off & 0xF) && off < LAPIC_SIZE;
}

bool lapic_mmio_read(struct lapic *l, uint32_t off, unsigned size, uint32_t *val)
{
    if (lapic_mode(l) != APIC_MODE_XAPIC)
        return false;
    uint64_t v = 0;
    if (mmio_register(off, size) && reg_read(l, IDX(off), false, &v) == ACC_NONE)
        error(l, APIC_ESR_ILLEGAL_REG);
    *val = (uint32_t)v;
    return true;
}

bool lapic_mmio_write(struct lapic *l, uint32_t off, unsigned size, uint32_t val)
{
    if (lapic_mode(l) != APIC_MODE_XAPIC)
        return false;
    if (mmio_register(off, size) && reg_write(l, IDX(off), false, val) == ACC_NONE)
        error(l, APIC_ESR_ILLEGAL_REG);
    return true;
}

uint8_t lapic_get_cr8(const struct lapic *l)
{
    return (uint8_t)((l->tpr >> 4) & 0xF);
}

void lapic_set_cr8(struct lapic *l, uint8_t cr8)
{
    l->tpr = (uint32_t)(cr8 & 0xF) << 4;
}

/* --- for the core's interrupt delivery ---------------------------------------- */

void lapic_set_clock(struct lapic *l, const struct lapic_clock *clock)
{
    l->clock = clock;
}

