/* dev/pic8259: the 8259A programming model (Intel 8259A data sheet): the ICW
 * sequence with and without ICW3/ICW4, OCW1 masks read back, OCW3 read selects,
 * OCW2 EOI and priority commands, the poll word, and the ELCR's fixed bits; and
 * the pair's interrupts: edge and level inputs, nesting, masks, special mask
 * mode, the cascade, INTA vectors, spurious IR7/IRQ 15 and automatic EOI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/pic8259.h"

static struct pic8259_pair pp;

/* The sequence a PC BIOS or Linux uses: edge, cascade, ICW4, 8086 mode. */
static void init_chip(struct pic8259 *p, uint8_t base, uint8_t icw3)
{
    pic8259_write(p, 0, 0x11);
    pic8259_write(p, 1, base);
    pic8259_write(p, 1, icw3);
    pic8259_write(p, 1, 0x01);
}

static void test_init_sequence(void **state)
{
    (void)state;
    pic8259_pair_reset(&pp);
    struct pic8259 *m = &pp.chip[0], *s = &pp.chip[1];
    pic8259_write(m, 1, 0xAA);
    init_chip(m, 0x20, 0x04);
    init_chip(s, 0x28, 0x02);
    assert_int_equal(m->vector_base, 0x20);
    assert_int_equal(s->vector_base, 0x28);
    assert_int_equal(m->icw3, 0x04);
    assert_int_equal(s->icw3, 0x02);
    assert_int_equal(m->icw4, 0x01);
    assert_int_equal(m->init_step, 0);
    /* ICW1 cleared the mask; the next A0=1 write is OCW1. */
    assert_int_equal(pic8259_read(m, 1), 0x00);
    pic8259_write(m, 1, 0xFB);
    pic8259_write(s, 1, 0xFF);
    assert_int_equal(pic8259_read(m, 1), 0xFB);
    assert_int_equal(pic8259_read(s, 1), 0xFF);
    assert_int_equal(m->vector_base, 0x20);       /* untouched by OCW1 */
}

static void test_single_without_icw4(void **state)
{
    (void)state;
    struct pic8259 p;
    pic8259_reset(&p);
    pic8259_write(&p, 0, 0x12);                   /* SNGL, no IC4 */
    pic8259_write(&p, 1, 0x47);                   /* ICW2: low bits ignored */
    assert_int_equal(p.vector_base, 0x40);
    assert_int_equal(p.init_step, 0);
    pic8259_write(&p, 1, 0x3C);                   /* already OCW1 */
    assert_int_equal(pic8259_read(&p, 1), 0x3C);
    assert_int_equal(p.icw4, 0);
    /* SNGL with IC4: ICW3 is skipped. */
    pic8259_write(&p, 0, 0x13);
    pic8259_write(&p, 1, 0x08);
    pic8259_write(&p, 1, 0x03);                   /* ICW4: AEOI, 8086 */
    assert_int_equal(p.icw4, 0x03);
    assert_int_equal(p.icw3, 0);
    assert_int_equal(pic8259_read(&p, 1), 0x00);
}

static void test_ocw3_read_select(void **state)
{
    (void)state;
    struct pic8259 p;
    pic8259_reset(&p);
    init_chip(&p, 0x08, 0x04);
    p.irr = 0x81;
    p.isr = 0x02;
    assert_int_equal(pic8259_read(&p, 0), 0x81);  /* IRR after ICW1 */
    pic8259_write(&p, 0, 0x0B);                   /* OCW3: read ISR */
    assert_int_equal(pic8259_read(&p, 0), 0x02);
    assert_int_equal(pic8259_read(&p, 0), 0x02);  /* the selection stays */
    pic8259_write(&p, 0, 0x08);                   /* RR=0: no change */
    assert_int_equal(pic8259_read(&p, 0), 0x02);
    pic8259_write(&p, 0, 0x0A);                   /* read IRR */
    assert_int_equal(pic8259_read(&p, 0), 0x81);
    pic8259_write(&p, 0, 0x68);                   /* ESMM|SMM: special mask mode */
    assert_true(p.special_mask);
    pic8259_write(&p, 0, 0x48);
    assert_false(p.special_mask);
    /* ICW1 goes back to IRR. */
    pic8259_write(&p, 0, 0x0B);
    init_chip(&p, 0x08, 0x04);
    assert_int_equal(pic8259_read(&p, 0), p.irr);
}

static void test_ocw2_eoi_and_priority(void **state)
{
    (void)state;
    struct pic8259 p;
    pic8259_reset(&p);
    init_chip(&p, 0x08, 0x04);
    p.isr = 0x24;                                 /* IR2 and IR5 in service */
    pic8259_write(&p, 0, 0x20);                   /* non-specific EOI: IR2 first */
    assert_int_equal(p.isr, 0x20);
    p.isr = 0x24;
    pic8259_write(&p, 0, 0x65);                   /* specific EOI, level 5 */
    assert_int_equal(p.isr, 0x04);
    pic8259_write(&p, 0, 0xC3);                   /* set priority: IR3 lowest */
    assert_int_equal(p.lowest, 3);
    p.isr = 0x24;                                 /* now IR5 beats IR2 */
    pic8259_write(&p, 0, 0xA0);                   /* rotate on non-specific EOI */
    assert_int_equal(p.isr, 0x04);
    assert_int_equal(p.lowest, 5);
    pic8259_write(&p, 0, 0xE2);                   /* rotate on specific EOI, 2 */
    assert_int_equal(p.isr, 0x00);
    assert_int_equal(p.lowest, 2);
    pic8259_write(&p, 0, 0x80);
    assert_true(p.rotate_aeoi);
    pic8259_write(&p, 0, 0x00);
    assert_false(p.rotate_aeoi);
    pic8259_write(&p, 0, 0x40);                   /* no operation */
    assert_int_equal(p.lowest, 2);
}

static void test_poll(void **state)
{
    (void)state;
    struct pic8259 p;
    pic8259_reset(&p);
    init_chip(&p, 0x08, 0x04);
    pic8259_write(&p, 0, 0x0C);                   /* poll, nothing pending */
    assert_int_equal(pic8259_read(&p, 0), 0x00);
    assert_int_equal(pic8259_read(&p, 1), 0x00);  /* back to the mask */
    p.irr = 0x50;
    pic8259_write(&p, 1, 0x10);                   /* IR4 masked */
    pic8259_write(&p, 0, 0x0C);
    assert_int_equal(pic8259_read(&p, 1), 0x86);  /* either A0 reads the poll word */
    assert_int_equal(p.irr, 0x10);
    assert_int_equal(p.isr, 0x40);
}

/* A pair set up as a PC BIOS does: vectors 0x20 and 0x28, slave on IR2. */
static void init_pair(uint8_t icw4)
{
    pic8259_pair_reset(&pp);
    uint8_t icw[2][4] = { { 0x11, 0x20, 0x04, icw4 }, { 0x11, 0x28, 0x02, icw4 } };
    for (unsigned i = 0; i < 2; i++)
        for (unsigned j = 0; j < 4; j++)
            pic8259_pair_write(&pp, i, j > 0, icw[i][j]);
}

static void eoi(unsigned chip)
{
    pic8259_pair_write(&pp, chip, 0, 0x20);     /* OCW2 non-specific EOI */
}

static void test_edge_inta_eoi(void **state)
{
    (void)state;
    init_pair(0x01);
    assert_false(pic8259_pair_int(&pp));
    pic8259_pair_set_irq(&pp, 0, true);
    assert_true(pic8259_pair_int(&pp));
    pic8259_pair_set_irq(&pp, 0, false);         /* the edge stays latched */
    assert_true(pic8259_pair_int(&pp));
    assert_int_equal(pic8259_pair_inta(&pp), 0x20);
    assert_int_equal(pp.chip[0].isr, 0x01);
    assert_int_equal(pp.chip[0].irr, 0x00);
    assert_false(pic8259_pair_int(&pp));
    /* A new edge of the same IR waits for the EOI; a higher IR would not. */
    pic8259_pair_set_irq(&pp, 0, true);
    assert_false(pic8259_pair_int(&pp));
    pic8259_pair_set_irq(&pp, 0, false);
    eoi(0);
    assert_true(pic8259_pair_int(&pp));
    assert_int_equal(pic8259_pair_inta(&pp), 0x20);
    eoi(0);
    /* A line held high gives no second edge. */
    pic8259_pair_set_irq(&pp, 3, true);
    assert_int_equal(pic8259_pair_inta(&pp), 0x23);
    eoi(0);
    pic8259_pair_set_irq(&pp, 3, true);
    assert_false(pic8259_pair_int(&pp));
}

static void test_priority_and_mask(void **state)
{
    (void)state;
    init_pair(0x01);
    pic8259_pair_set_irq(&pp, 4, true);
    pic8259_pair_set_irq(&pp, 1, true);
    assert_int_equal(pic8259_pair_inta(&pp), 0x21);   /* IR1 before IR4 */
    assert_false(pic8259_pair_int(&pp));               /* IR4 is lower than IR1 */
    pic8259_pair_set_irq(&pp, 0, true);
    assert_int_equal(pic8259_pair_inta(&pp), 0x20);   /* IR0 nests above IR1 */
    assert_int_equal(pp.chip[0].isr, 0x03);
    pic8259_pair_write(&pp, 0, 0, 0x61);               /* specific EOI, IR1 */
    assert_int_equal(pp.chip[0].isr, 0x01);
    eoi(0);
    pic8259_pair_write(&pp, 0, 1, 0x10);               /* mask IR4 */
    assert_false(pic8259_pair_int(&pp));
    pic8259_pair_write(&pp, 0, 1, 0x00);
    assert_int_equal(pic8259_pair_inta(&pp), 0x24);
    /* Special mask mode: IR4 masked while in service lets IR6 through. */
    pic8259_pair_set_irq(&pp, 6, true);
    assert_false(pic8259_pair_int(&pp));
    pic8259_pair_write(&pp, 0, 1, 0x10);
    pic8259_pair_write(&pp, 0, 0, 0x68);               /* OCW3 set SMM */
    assert_int_equal(pic8259_pair_inta(&pp), 0x26);
    pic8259_pair_write(&pp, 0, 0, 0x48);               /* clear SMM */
}

static void test_cascade(void **state)
{
    (void)state;
    init_pair(0x01);
    pic8259_pair_set_irq(&pp, 8, true);
    pic8259_pair_set_irq(&pp, 12, true);
    assert_true(pic8259_pair_int(&pp));
    assert_int_equal(pic8259_pair_inta(&pp), 0x28);
    assert_int_equal(pp.chip[0].isr, 0x04);
    assert_int_equal(pp.chip[1].isr, 0x01);
    assert_false(pic8259_pair_int(&pp));
    /* The slave's EOI lets IRQ 12 show on its INT, but the master's IR2 is
     * still in service until the master's EOI too. */
    eoi(1);
    assert_false(pic8259_pair_int(&pp));
    eoi(0);
    assert_true(pic8259_pair_int(&pp));
    assert_int_equal(pic8259_pair_inta(&pp), 0x2C);
    eoi(1);
    eoi(0);
    /* Master IR1 beats the cascade, IR3 loses to it. */
    pic8259_pair_set_irq(&pp, 3, true);
    pic8259_pair_set_irq(&pp, 10, true);
    pic8259_pair_set_irq(&pp, 1, true);
    assert_int_equal(pic8259_pair_inta(&pp), 0x21);
    eoi(0);
    assert_int_equal(pic8259_pair_inta(&pp), 0x2A);
    eoi(1);
    eoi(0);
    assert_int_equal(pic8259_pair_inta(&pp), 0x23);
}

static void test_level_and_spurious(void **state)
{
    (void)state;
    init_pair(0x01);
    pic_elcr_write(&pp, 0, 0x20);                      /* IRQ 5 level */
    pic_elcr_write(&pp, 1, 0x02);                      /* IRQ 9 level */
    pic8259_pair_set_irq(&pp, 5, true);
    assert_int_equal(pic8259_pair_inta(&pp), 0x25);
    assert_int_equal(pp.chip[0].irr, 0x20);            /* follows the line */
    eoi(0);
    assert_true(pic8259_pair_int(&pp));                /* still high: again */
    pic8259_pair_set_irq(&pp, 5, false);
    assert_false(pic8259_pair_int(&pp));
    /* The request vanishes between INT and INTA: IR7, nothing in service. */
    pic8259_pair_set_irq(&pp, 5, true);
    assert_true(pic8259_pair_int(&pp));
    pic8259_pair_set_irq(&pp, 5, false);
    assert_int_equal(pic8259_pair_inta(&pp), 0x27);
    assert_int_equal(pp.chip[0].isr, 0x00);
    /* On the slave: IRQ 15's vector, the master's IR2 in service. */
    pic8259_pair_set_irq(&pp, 9, true);
    assert_true(pic8259_pair_int(&pp));
    pic8259_pair_write(&pp, 1, 1, 0x02);               /* masked after INT: */
    assert_int_equal(pp.chip[0].irr, 0x04);            /* the IR2 edge is latched */
    assert_int_equal(pic8259_pair_inta(&pp), 0x2F);
    assert_int_equal(pp.chip[1].isr, 0x00);
    assert_int_equal(pp.chip[0].isr, 0x04);
    /* Nothing at all: the master's IR7. */
    eoi(0);
    pic8259_pair_write(&pp, 0, 1, 0xFF);
    assert_int_equal(pic8259_pair_inta(&pp), 0x27);
}

static void test_auto_eoi_and_poll(void **state)
{
    (void)state;
    init_pair(0x03);                                   /* ICW4 AEOI */
    pic8259_pair_set_irq(&pp, 6, true);
    assert_int_equal(pic8259_pair_inta(&pp), 0x26);
    assert_int_equal(pp.chip[0].isr, 0x00);
    pic8259_pair_write(&pp, 0, 0, 0x80);               /* rotate in AEOI mode */
    pic8259_pair_set_irq(&pp, 6, false);
    pic8259_pair_set_irq(&pp, 6, true);
    assert_int_equal(pic8259_pair_inta(&pp), 0x26);
    assert_int_equal(pp.chip[0].lowest, 6);
    /* A poll acknowledges the slave's request and the cascade follows. */
    init_pair(0x01);
    pic8259_pair_set_irq(&pp, 11, true);
    pic8259_pair_write(&pp, 1, 0, 0x0C);
    assert_int_equal(pic8259_pair_read(&pp, 1, 0), 0x83);
    assert_int_equal(pp.chip[1].isr, 0x08);
    assert_false(pic8259_int(&pp.chip[1]));
    /* ICW1 keeps a level request whose line is still high. */
    pic_elcr_write(&pp, 0, 0x08);
    pic8259_pair_set_irq(&pp, 3, true);
    pic8259_pair_write(&pp, 0, 0, 0x11);
    assert_int_equal(pp.chip[0].irr, 0x08);
}

static void test_elcr(void **state)
{
    (void)state;
    pic8259_pair_reset(&pp);
    pic_elcr_write(&pp, 0, 0xFF);
    pic_elcr_write(&pp, 1, 0xFF);
    assert_int_equal(pic_elcr_read(&pp, 0), 0xF8);   /* IRQ 0-2 edge only */
    assert_int_equal(pic_elcr_read(&pp, 1), 0xDE);   /* IRQ 8 and 13 edge only */
    pic_elcr_write(&pp, 0, 0x20);
    assert_int_equal(pic_elcr_read(&pp, 0), 0x20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_sequence),
        cmocka_unit_test(test_single_without_icw4),
        cmocka_unit_test(test_ocw3_read_select),
        cmocka_unit_test(test_ocw2_eoi_and_priority),
        cmocka_unit_test(test_poll),
        cmocka_unit_test(test_edge_inta_eoi),
        cmocka_unit_test(test_priority_and_mask),
        cmocka_unit_test(test_cascade),
        cmocka_unit_test(test_level_and_spurious),
        cmocka_unit_test(test_auto_eoi_and_poll),
        cmocka_unit_test(test_elcr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
