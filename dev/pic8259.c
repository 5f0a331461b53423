/* 8259A (Intel 8259A data sheet). Registers ("Programming the 8259A"): A0 = 0
 * takes ICW1 (D4 = 1), OCW2 (D4 = D3 = 0) and OCW3 (D3 = 1) and reads IRR, ISR or
 * the poll word; A0 = 1 takes ICW2-ICW4 during initialization, then OCW1 (the
 * mask), which it also reads back. Interrupts: the IR inputs set IRR, priority
 * resolution against ISR drives INT, and INTA (or a poll) moves the winner from
 * IRR to ISR; the PC wires the slave's INT to the master's IR2. */
#include "dev/pic8259.h"

#define ICW1_IC4   0x01          /* ICW4 follows */
#define ICW1_SNGL  0x02          /* single: no ICW3 */
#define ICW1_LTIM  0x08          /* level-triggered mode, all IRs */
#define ICW1_INIT  0x10
#define OCW3_SEL   0x08
#define OCW3_RIS   0x01
#define OCW3_RR    0x02
#define OCW3_POLL  0x04
#define OCW3_SMM   0x20
#define OCW3_ESMM  0x40
#define ICW4_AEOI  0x02
#define POLL_INT   0x80          /* poll word: an interrupt is pending */
#define SPURIOUS_IR 7            /* what INTA reports when the request is gone */
#define IRS        8

/* PIIX4 12.7.5: IRQ 0, 1, 2, 8 and 13 are edge-triggered only; their ELCR bits
 * are reserved and read 0. */
static const uint8_t elcr_writable[2] = { 0xF8, 0xDE };

void pic8259_reset(struct pic8259 *p)
{
    *p = (struct pic8259){ .lowest = IRS - 1 };
}

static uint8_t level_irs(const struct pic8259 *p)
{
    return (p->icw1 & ICW1_LTIM) ? 0xFF : p->elcr;
}

/* A level-triggered IR requests exactly while its input is high. */
static void sample_levels(struct pic8259 *p)
{
    uint8_t lvl = level_irs(p);
    p->irr = (uint8_t)((p->irr & ~lvl) | (p->line & lvl));
}

/* Position of ir in the priority order: 0 is served first. */
static unsigned rank(const struct pic8259 *p, unsigned ir)
{
    return (ir - p->lowest - 1) & (IRS - 1);
}

/* The in-service or requested IR with the highest priority, or -1. */
static int highest(const struct pic8259 *p, uint8_t bits)
{
    if (!bits)                      /* the common case, polled before every entry */
        return -1;
    for (unsigned i = 1; i <= IRS; i++) {
        unsigned ir = (p->lowest + i) & (IRS - 1);
        if (bits & (1u << ir))
            return (int)ir;
    }
    return -1;
}

/* The request INT stands for (data sheet, "Interrupt Sequence" and "Fully
 * Nested Mode"): the highest unmasked one, if nothing of equal or higher
 * priority is in service. In special mask mode a masked IR's in-service bit
 * blocks nothing. (Special fully nested mode, ICW4 SFNM, is not modelled.) */
static int request(const struct pic8259 *p)
{
    int ir = highest(p, p->irr & ~p->imr);
    if (ir < 0)
        return -1;
    uint8_t blocking = p->isr;
    if (p->special_mask)
        blocking &= ~p->imr;
    int cur = highest(p, blocking);
    return cur >= 0 && rank(p, (unsigned)cur) <= rank(p, (unsigned)ir) ? -1 : ir;
}

bool pic8259_int(const struct pic8259 *p)
{
    return request(p) >= 0;
}

/* The INTA (or poll) of ir: an edge request is consumed, a level one stays as
 * long as its input is high; in automatic EOI mode nothing goes in service. */
static void ack(struct pic8259 *p, unsigned ir)
{
    if (!(level_irs(p) & (1u << ir)))
        p->irr &= ~(1u << ir);
    if (!(p->icw4 & ICW4_AEOI))
        p->isr |= 1u << ir;
    else if (p->rotate_aeoi)
        p->lowest = (uint8_t)ir;
}

/* OCW3 P (data sheet, "The Poll Command"): the next read returns I (bit 7) and the
 * highest-priority request W2-W0, and acknowledges it as INTA would. */
static uint8_t poll_word(struct pic8259 *p)
{
    int ir = request(p);
    p->poll = false;
    if (ir < 0)
        return 0;
    ack(p, (unsigned)ir);
    return POLL_INT | (uint8_t)ir;
}

uint8_t pic8259_read(struct pic8259 *p, unsigned a0)
{
    if (p->poll)
        return poll_word(p);
    if (a0)
        return p->imr;
    return p->read_isr ? p->isr : p->irr;
}

/* ICW1 (data sheet, "Initialization Command Words"): the mask is cleared, IR7 gets
 * the lowest priority, special mask mode is cleared, status reads select IRR, and
 * without IC4 the ICW4 functions become zero. The IR inputs and the ELCR are
 * wiring, not chip state: they stay. */
static void icw1(struct pic8259 *p, uint8_t val)
{
    uint8_t line = p->line, elcr = p->elcr;
    pic8259_reset(p);
    p->line = line;
    p->elcr = elcr;
    p->icw1 = val;
    p->init_step = 2;
    sample_levels(p);
}

/* OCW2: R (bit 7), SL (bit 6), EOI (bit 5), L2-L0. */
static void ocw2(struct pic8259 *p, uint8_t val)
{
    unsigned level = val & 7;
    int ir;
    switch (val >> 5) {
    case 1:                                  /* non-specific EOI */
    case 5:                                  /* rotate on non-specific EOI */
        ir = highest(p, p->isr);
        if (ir < 0)
            break;
        p->isr &= ~(1u << ir);
        if (val >> 5 == 5)
            p->lowest = (uint8_t)ir;
        break;
    case 3:                                  /* specific EOI */
        p->isr &= ~(1u << level);
        break;
    case 7:                                  /* rotate on specific EOI */
        p->isr &= ~(1u << level);
        p->lowest = (uint8_t)level;
        break;
    case 6:                                  /* set priority */
        p->lowest = (uint8_t)level;
        break;
    case 4: p->rotate_aeoi = true; break;    /* rotate in AEOI mode (set) */
    case 0: p->rotate_aeoi = false; break;   /* rotate in AEOI mode (clear) */
    default: break;                          /* 2: no operation */
    }
}

static void ocw3(struct pic8259 *p, uint8_t val)
{
    if (val & OCW3_POLL)
        p->poll = true;
    if (val & OCW3_RR)
        p->read_isr = val & OCW3_RIS;
    if (val & OCW3_ESMM)
        p->special_mask = val & OCW3_SMM;
}

/* After ICW2 come ICW3 (unless SNGL) and ICW4 (if IC4). */
static void next_icw(struct pic8259 *p, uint8_t step)
{
    if (step == 3 && (p->icw1 & ICW1_SNGL))
        step = 4;
    if (step == 4 && !(p->icw1 & ICW1_IC4))
        step = 0;
    p->init_step = step;
}

void pic8259_write(struct pic8259 *p, unsigned a0, uint8_t val)
{
    if (!a0) {
        p->poll = false;
        if (val & ICW1_INIT)
            icw1(p, val);
        else if (val & OCW3_SEL)
            ocw3(p, val);
        else
            ocw2(p, val);
        return;
    }
    switch (p->init_step) {
    case 2:
        p->vector_base = val & 0xF8;     /* x86 mode: T7-T3; the IR fills 2-0 */
        next_icw(p, 3);
        break;
    case 3:
        p->icw3 = val;
        next_icw(p, 4);
        break;
    case 4:
        p->icw4 = val;
        p->init_step = 0;
        break;
    default:
        p->imr = val;                    /* OCW1 */
        break;
    }
}

void pic8259_pair_reset(struct pic8259_pair *pp)
{
    pic8259_reset(&pp->chip[0]);
    pic8259_reset(&pp->chip[1]);
}

/* The slave's INT is the master's IR2 input. */
static void cascade(struct pic8259_pair *pp)
{
    pic8259_pair_set_irq(pp, PIC_CASCADE_IR, pic8259_int(&pp->chip[1]));
}

uint8_t pic8259_pair_read(struct pic8259_pair *pp, unsigned i, unsigned a0)
{
    uint8_t v = pic8259_read(&pp->chip[i & 1], a0);
    cascade(pp);                            /* a poll acknowledges */
    return v;
}

void pic8259_pair_write(struct pic8259_pair *pp, unsigned i, unsigned a0, uint8_t val)
{
    pic8259_write(&pp->chip[i & 1], a0, val);
    cascade(pp);
}

uint8_t pic_elcr_read(const struct pic8259_pair *pp, unsigned i)
{
    return pp->chip[i & 1].elcr;
}

void pic_elcr_write(struct pic8259_pair *pp, unsigned i, uint8_t val)
{
    struct pic8259 *p = &pp->chip[i & 1];
    p->elcr = val & elcr_writable[i & 1];
    sample_levels(p);
    cascade(pp);
}

/* An edge request stays latched until acknowledged even if the line falls
 * first, as in QEMU's model: the data sheet wants the input held until INTA,
 * which a device model sampled between guest exits cannot promise. */
void pic8259_pair_set_irq(struct pic8259_pair *pp, unsigned irq, bool high)
{
    if (irq >= PIC_IRQS)
        return;
    struct pic8259 *p = &pp->chip[irq / IRS];
    uint8_t bit = (uint8_t)(1u << (irq % IRS));
    bool rising = high && !(p->line & bit);
    p->line = high ? p->line | bit : p->line & ~bit;
    if (rising)
        p->irr |= bit;
    sample_levels(p);
    if (irq / IRS)
        cascade(pp);
}

bool pic8259_pair_int(const struct pic8259_pair *pp)
{
    return pic8259_int(&pp->chip[0]);
}

/* Data sheet, "Interrupt Sequence" and "Cascade Mode": the master answers the
 * first INTA; for its cascade IR the slave supplies the vector. A request gone
 * by then gives IR7 of that chip without setting its in-service bit (the
 * master's IR2 stays in service for a slave's spurious IR7). */
uint8_t pic8259_pair_inta(struct pic8259_pair *pp)
{
    struct pic8259 *m = &pp->chip[0], *s = &pp->chip[1];
    int ir = request(m);
    uint8_t vector;
    if (ir < 0) {
        vector = m->vector_base + SPURIOUS_IR;
    } else if (ir != PIC_CASCADE_IR) {
        ack(m, (unsigned)ir);
        vector = m->vector_base + (uint8_t)ir;
    } else {
        ack(m, PIC_CASCADE_IR);
        int sir = request(s);
        if (sir >= 0)
            ack(s, (unsigned)sir);
        vector = s->vector_base + (uint8_t)(sir >= 0 ? sir : SPURIOUS_IR);
    }
    cascade(pp);
    return vector;
}

/* --- the bus handlers -------------------------------------------------------- */

static void master_byte(void *dev, unsigned a0, bool write, uint8_t *b)
{
    if (write)
        pic8259_pair_write(dev, 0, a0, *b);
    else
        *b = pic8259_pair_read(dev, 0, a0);
}

static void slave_byte(void *dev, unsigned a0, bool write, uint8_t *b)
{
    if (write)
        pic8259_pair_write(dev, 1, a0, *b);
    else
        *b = pic8259_pair_read(dev, 1, a0);
}

static void elcr_byte(void *dev, unsigned i, bool write, uint8_t *b)
{
    if (write)
        pic_elcr_write(dev, i, *b);
    else
        *b = pic_elcr_read(dev, i);
}

enum bus_result pic8259_master_bus_access(void *dev, struct vcpu *v, uint64_t offset,
                                          unsigned size, bool write, uint64_t *val)
{
    (void)v;
    bus_bytewise(dev, master_byte, PIC_PORTS, offset, size, write, val);
    return BUS_OK;
}

enum bus_result pic8259_slave_bus_access(void *dev, struct vcpu *v, uint64_t offset,
                                         unsigned size, bool write, uint64_t *val)
{
    (void)v;
    bus_bytewise(dev, slave_byte, PIC_PORTS, offset, size, write, val);
    return BUS_OK;
}

enum bus_result pic_elcr_bus_access(void *dev, struct vcpu *v, uint64_t offset,
                                    unsigned size, bool write, uint64_t *val)
{
    (void)v;
    bus_bytewise(dev, elcr_byte, PIC_PORTS, offset, size, write, val);
    return BUS_OK;
}
