/* The local APIC's registers (Intel SDM Vol. 3A ch. 11). One table of register
 * semantics serves both interfaces: the xAPIC page (offset / 16) and the x2APIC
 * MSRs (MSR - 0x800), which differ only where Table 11-6 says so. In xAPIC mode
 * a write drops reserved bits and an access to a register that does not exist
 * reads 0 and logs "illegal register address" in the ESR; in x2APIC mode both
 * raise #GP (11.12.1.2, 11.12.1.3: reserved bits are RsvdZ there). */
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
#define STATUS_BITS     0x1000u             /* delivery status: read-only, idle */
#define LINT_STATUS     (STATUS_BITS | 0x4000u)  /* and remote IRR */

/* Register indexes: xAPIC offset / 16 = x2APIC MSR - 0x800. */
#define IDX(off) ((off) >> 4)
#define IDX_LVT_FIRST IDX(APIC_LVT_TIMER)

/* Writable and read-only-status bits of each LVT entry (SDM Vol. 3A Figure 11-8).
 * The timer has no TSC-deadline mode (bit 18): hv86 does not offer it in CPUID.
 * There is no CMCI entry: the version register says 6 entries (max LVT 5), and
 * CMCI needs IA32_MCG_CAP[10], which hv86 does not offer (11.5.1). */
static const uint32_t lvt_writable[LAPIC_LVT_COUNT] = {
    0x300FFu, 0x107FFu, 0x107FFu, 0x1A7FFu, 0x1A7FFu, 0x100FFu,
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
    *l = (struct lapic){ .id = id, .apic_base = base, .base_reserved = rsvd,
                         .dfr = 0xFFFFFFFFu, .svr = 0xFF };
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
    reset_regs(l);
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

/* PPR (11.8.3.1): TPR, or the class of the highest in-service vector if that is
 * higher. */
static uint32_t ppr(const struct lapic *l)
{
    unsigned isrv = highest_vector(l->isr);
    return (l->tpr >> 4) >= (isrv >> 4) ? l->tpr : (isrv & 0xF0);
}

/* EOI (11.8.5): the highest-priority in-service interrupt is done. */
static void eoi(struct lapic *l)
{
    unsigned v = highest_vector(l->isr);
    l->isr[v / 32] &= ~(1u << (v % 32));
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
    case IDX(APIC_TIMER_CCR):
        *val = 0;                            /* the timer does not count yet */
        return ACC_OK;
    case IDX(APIC_TIMER_DCR): *val = l->timer_divide; return ACC_OK;
    case IDX(APIC_SELF_IPI): return x2 ? ACC_GP : ACC_NONE;   /* write-only */
    }
    return ACC_NONE;
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
        l->lvt[n] = v & lvt_writable[n];
        if (!(l->svr & APIC_SVR_ENABLE))
            l->lvt[n] |= APIC_LVT_MASKED;
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
        /* Stored only: sending the IPI comes with the interrupt-delivery work. */
        if (!rsvd_ok(x2, (uint32_t)val, ICR_LO_WRITABLE, x2 ? 0 : STATUS_BITS))
            return ACC_GP;
        l->icr_lo = v & ICR_LO_WRITABLE;
        if (x2)
            l->icr_hi = (uint32_t)(val >> 32);
        return ACC_OK;
    case IDX(APIC_ICR_HI):
        if (x2)
            return ACC_NONE;
        l->icr_hi = v & ICR_HI_XAPIC;
        return ACC_OK;
    case IDX(APIC_TIMER_ICR):
        /* Stored only: the timer counts with the interrupt-delivery work. */
        l->timer_initial = v;
        return ACC_OK;
    case IDX(APIC_TIMER_DCR):
        if (!rsvd_ok(x2, val, DCR_WRITABLE, 0))
            return ACC_GP;
        l->timer_divide = v & DCR_WRITABLE;
        return ACC_OK;
    case IDX(APIC_SELF_IPI):
        /* x2APIC only (11.12.11); the interrupt is sent once delivery exists. */
        if (!x2)
            return ACC_NONE;
        return rsvd_ok(x2, val, 0xFF, 0) ? ACC_OK : ACC_GP;
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
    if (!is_x2apic_msr(msr) || lapic_mode(l) != APIC_MODE_X2APIC)
        return false;
    return reg_read(l, msr - X2APIC_MSR_FIRST, true, val) == ACC_OK;
}

bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val)
{
    if (msr == LAPIC_MSR_BASE)
        return write_base(l, val);
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
        l->esr_pending |= APIC_ESR_ILLEGAL_REG;
    *val = (uint32_t)v;
    return true;
}

bool lapic_mmio_write(struct lapic *l, uint32_t off, unsigned size, uint32_t val)
{
    if (lapic_mode(l) != APIC_MODE_XAPIC)
        return false;
    if (mmio_register(off, size) && reg_write(l, IDX(off), false, val) == ACC_NONE)
        l->esr_pending |= APIC_ESR_ILLEGAL_REG;
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
