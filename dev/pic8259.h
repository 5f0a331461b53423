/* The PC's two cascaded 8259A interrupt controllers (Intel 8259A data sheet) and
 * the PIIX edge/level control registers (ELCR, Intel 82371AB PIIX4 data sheet
 * 12.7.5): the registers, the IR inputs, priority resolution, the cascade of the
 * slave into the master's IR2, and the INTA cycle that hands the CPU a vector.
 * A pure model: vmm/platform.c drives the inputs and takes the master's INT
 * output to the BSP's LINT0 (ExtINT). */
#ifndef DEV_PIC8259_H
#define DEV_PIC8259_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"

#define PIC_MASTER_PORT 0x20     /* A0 = 0 at 0x20, A0 = 1 at 0x21 */
#define PIC_SLAVE_PORT  0xA0
#define PIC_ELCR_PORT   0x4D0    /* 0x4D0 master, 0x4D1 slave */
#define PIC_IRQS        16       /* IRQ 0-7 on the master, 8-15 on the slave */
#define PIC_CASCADE_IR  2        /* the master's IR input the slave drives */

/* One 8259A. */
struct pic8259 {
    uint8_t irr, isr, imr;
    uint8_t line;                /* the IR inputs' levels (not reset by ICW1) */
    uint8_t elcr;                /* PIIX ELCR: level-triggered IRs (ditto) */
    uint8_t icw1, vector_base, icw3, icw4;
    uint8_t init_step;           /* next ICW expected at A0 = 1; 0: none (OCW1) */
    uint8_t lowest;              /* IR with the lowest priority (rotation) */
    bool read_isr;               /* OCW3 RR/RIS: A0 = 0 reads ISR, else IRR */
    bool poll;                   /* OCW3 P: the next A0 = 0 read is a poll */
    bool special_mask;           /* OCW3 SMM */
    bool rotate_aeoi;            /* OCW2 rotate in automatic EOI mode */
};

/* The pair, the slave's INT wired to the master's IR2. */
struct pic8259_pair {
    struct pic8259 chip[2];      /* 0: master (IRQ 0-7), 1: slave (IRQ 8-15) */
};

void pic8259_reset(struct pic8259 *p);
/* A byte access at A0 = a0 (port base + a0) of one chip. */
uint8_t pic8259_read(struct pic8259 *p, unsigned a0);
void pic8259_write(struct pic8259 *p, unsigned a0, uint8_t val);
/* The chip's INT output: an unmasked request beats everything in service. */
bool pic8259_int(const struct pic8259 *p);

void pic8259_pair_reset(struct pic8259_pair *pp);
/* A byte access of chip i (0: ports 0x20/0x21, 1: 0xA0/0xA1), then the cascade
 * follows the slave's output. */
uint8_t pic8259_pair_read(struct pic8259_pair *pp, unsigned i, unsigned a0);
void pic8259_pair_write(struct pic8259_pair *pp, unsigned i, unsigned a0, uint8_t val);
/* IRQ line irq (0-15) is now high or low. Edge-triggered IRs latch a request on
 * the rising edge; level-triggered ones (ELCR) request while the line is high. */
void pic8259_pair_set_irq(struct pic8259_pair *pp, unsigned irq, bool high);
/* The master's INT output, the CPU's INTR (the BSP's LINT0). */
bool pic8259_pair_int(const struct pic8259_pair *pp);
/* The INTA cycle: the vector of the highest-priority request, now in service.
 * With no request left it is the spurious IR7 of the chip that lost it. */
uint8_t pic8259_pair_inta(struct pic8259_pair *pp);
/* ELCR byte i (0: 0x4D0, 1: 0x4D1). */
uint8_t pic_elcr_read(const struct pic8259_pair *pp, unsigned i);
void pic_elcr_write(struct pic8259_pair *pp, unsigned i, uint8_t val);
/* Bus handlers (dev/bus.h) of the pair: the master's two ports, the slave's and
 * the ELCR pair; byte-wide, a wider access split as the ISA bus does. */
#define PIC_PORTS 2
enum bus_result pic8259_master_bus_access(void *dev, struct vcpu *v, uint64_t offset,
                                          unsigned size, bool write, uint64_t *val);
enum bus_result pic8259_slave_bus_access(void *dev, struct vcpu *v, uint64_t offset,
                                         unsigned size, bool write, uint64_t *val);
enum bus_result pic_elcr_bus_access(void *dev, struct vcpu *v, uint64_t offset,
                                    unsigned size, bool write, uint64_t *val);
#endif
