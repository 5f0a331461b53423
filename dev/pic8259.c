/* 8259A registers (Intel 8259A data sheet, "Programming the 8259A"): A0 = 0 takes
 * ICW1 (D4 = 1), OCW2 (D4 = D3 = 0) and OCW3 (D3 = 1) and reads IRR, ISR or the
 * poll word; A0 = 1 takes ICW2-ICW4 during initialization, then OCW1 (the mask),
 * which it also reads back. */
#include "dev/pic8259.h"

#define ICW1_IC4   0x01          /* ICW4 follows */
#define ICW1_SNGL  0x02          /* single: no ICW3 */
#define ICW1_INIT  0x10
#define OCW3_SEL   0x08
#define OCW3_RIS   0x01
#define OCW3_RR    0x02
#define OCW3_POLL  0x04
#define OCW3_SMM   0x20
#define OCW3_ESMM  0x40
#define ICW4_AEOI  0x02
#define POLL_INT   0x80          /* poll word: an interrupt is pending */

/* PIIX4 12.7.5: IRQ 0, 1, 2, 8 and 13 are edge-triggered only; their ELCR bits
 * are reserved and read 0. */
static const uint8_t elcr_writable[2] = { 0xF8, 0xDE };

void pic8259_reset(struct pic8259 *p)
{
    *p = (struct pic8259){ .lowest = 7 };
}

/* The in-service or requested IR with the highest priority, or -1. */
static int highest(const struct pic8259 *p, uint8_t bits)
{
    for (unsigned i = 1; i <= 8; i++) {
        unsigned ir = (p->lowest + i) & 7;
        if (bits & (1u << ir))
            return (int)ir;
    }
    return -1;
}

/* OCW3 P (data sheet, "The Poll Command"): the next read returns I (bit 7) and the
 * highest-priority request W2-W0, and acknowledges it as INTA would. */
static uint8_t poll_word(struct pic8259 *p)
{
    int ir = highest(p, p->irr & ~p->imr);
    p->poll = false;
    if (ir < 0)
        return 0;
    p->irr &= ~(1u << ir);
    p->isr |= 1u << ir;
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
 * without IC4 the ICW4 functions become zero. */
static void icw1(struct pic8259 *p, uint8_t val)
{
    pic8259_reset(p);
    p->icw1 = val;
    p->init_step = 2;
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
    pp->elcr[0] = pp->elcr[1] = 0;
}

uint8_t pic_elcr_read(const struct pic8259_pair *pp, unsigned i)
{
    return pp->elcr[i & 1];
}

void pic_elcr_write(struct pic8259_pair *pp, unsigned i, uint8_t val)
{
    pp->elcr[i & 1] = val & elcr_writable[i & 1];
}
