/* dev/pic8259: the 8259A programming model (Intel 8259A data sheet): the ICW
 * sequence with and without ICW3/ICW4, OCW1 masks read back, OCW3 read selects,
 * OCW2 EOI and priority commands, the poll word, and the ELCR's fixed bits. */
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
        cmocka_unit_test(test_elcr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
