/* The PC's two cascaded 8259A interrupt controllers (Intel 8259A data sheet) and
 * the PIIX edge/level control registers (ELCR, Intel 82371AB PIIX4 data sheet
 * 12.7.5): the registers only, so that a guest can program and mask them.
 * No interrupt is delivered yet: no device raises a line, so IRR and ISR stay
 * zero until the interrupt-delivery work adds IRQ inputs and the INTA cycle. */
#ifndef DEV_PIC8259_H
#define DEV_PIC8259_H
#include <stdbool.h>
#include <stdint.h>

#define PIC_MASTER_PORT 0x20     /* A0 = 0 at 0x20, A0 = 1 at 0x21 */
#define PIC_SLAVE_PORT  0xA0
#define PIC_ELCR_PORT   0x4D0    /* 0x4D0 master, 0x4D1 slave */

/* One 8259A. */
struct pic8259 {
    uint8_t irr, isr, imr;
    uint8_t icw1, vector_base, icw3, icw4;
    uint8_t init_step;           /* next ICW expected at A0 = 1; 0: none (OCW1) */
    uint8_t lowest;              /* IR with the lowest priority (rotation) */
    bool read_isr;               /* OCW3 RR/RIS: A0 = 0 reads ISR, else IRR */
    bool poll;                   /* OCW3 P: the next A0 = 0 read is a poll */
    bool special_mask;           /* OCW3 SMM */
    bool rotate_aeoi;            /* OCW2 rotate in automatic EOI mode */
};

/* The pair and their ELCR bits. */
struct pic8259_pair {
    struct pic8259 chip[2];      /* 0: master (IRQ 0-7), 1: slave (IRQ 8-15) */
    uint8_t elcr[2];
};

void pic8259_reset(struct pic8259 *p);
/* A byte access at A0 = a0 (port base + a0). */
uint8_t pic8259_read(struct pic8259 *p, unsigned a0);
void pic8259_write(struct pic8259 *p, unsigned a0, uint8_t val);

void pic8259_pair_reset(struct pic8259_pair *pp);
/* ELCR byte i (0: 0x4D0, 1: 0x4D1). */
uint8_t pic_elcr_read(const struct pic8259_pair *pp, unsigned i);
void pic_elcr_write(struct pic8259_pair *pp, unsigned i, uint8_t val);
#endif
