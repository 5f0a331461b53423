/* dev/ioapic: the 82093AA data sheet's register window, ID/version/arbitration,
 * the redirection table's writable and read-only bits, edge and level inputs,
 * Remote IRR and the EOI, masking, polarity, and the messages' fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/ioapic.h"

static struct ioapic io;
static struct ioapic_msg sent[16];
static unsigned nsent;
static bool accept = true;

static bool deliver(void *ctx, const struct ioapic_msg *m)
{
    assert_ptr_equal(ctx, &io);
    assert_true(nsent < 16);
    sent[nsent++] = *m;
    return accept;
}

static void setup(void)
{
    ioapic_init(&io, 0, deliver, &io);
    nsent = 0;
    accept = true;
}

static uint32_t rd(uint32_t index)
{
    ioapic_mmio_write(&io, IOAPIC_REGSEL, 4, index);
    return ioapic_mmio_read(&io, IOAPIC_IOWIN, 4);
}

static void wr(uint32_t index, uint32_t val)
{
    ioapic_mmio_write(&io, IOAPIC_REGSEL, 4, index);
    ioapic_mmio_write(&io, IOAPIC_IOWIN, 4, val);
}

static void set_rte(unsigned pin, uint64_t rte)
{
    wr(IOAPIC_REG_REDTBL + 2 * pin + 1, (uint32_t)(rte >> 32));
    wr(IOAPIC_REG_REDTBL + 2 * pin, (uint32_t)rte);
}

static uint64_t get_rte(unsigned pin)
{
    return (uint64_t)rd(IOAPIC_REG_REDTBL + 2 * pin + 1) << 32 | rd(IOAPIC_REG_REDTBL + 2 * pin);
}

static void test_id_version(void **state)
{
    (void)state;
    setup();
    assert_int_equal(rd(IOAPIC_REG_VER), 0x00170011);   /* 24 entries, version 0x11 */
    assert_int_equal(rd(IOAPIC_REG_ID), 0);
    wr(IOAPIC_REG_ID, 0xFFFFFFFF);
    assert_int_equal(rd(IOAPIC_REG_ID), 0x0F000000);
    assert_int_equal(rd(IOAPIC_REG_ARB), 0x0F000000);
    wr(IOAPIC_REG_VER, 0);
    wr(IOAPIC_REG_ARB, 0);
    assert_int_equal(rd(IOAPIC_REG_VER), 0x00170011);
    assert_int_equal(rd(IOAPIC_REG_ARB), 0x0F000000);
    /* IOREGSEL reads back; past the table, registers read 0. */
    ioapic_mmio_write(&io, IOAPIC_REGSEL, 4, 0x140);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_REGSEL, 4), 0x40);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN, 4), 0);
    /* IOWIN is 32 bits wide: narrower accesses do nothing. */
    ioapic_mmio_write(&io, IOAPIC_REGSEL, 4, IOAPIC_REG_VER);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN, 2), 0);
    assert_int_equal(ioapic_mmio_read(&io, 0x20, 4), 0);
}

static void test_rte_bits(void **state)
{
    (void)state;
    setup();
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        assert_int_equal(get_rte(pin), IOAPIC_RTE_MASKED);
    set_rte(5, ~0ull);
    /* Delivery status, Remote IRR and the reserved bits 17-55 stay zero. */
    assert_int_equal(get_rte(5), 0xFF0000000001AFFFull);
    set_rte(5, 0);
    assert_int_equal(get_rte(5), 0);
}

static void test_edge(void **state)
{
    (void)state;
    setup();
    set_rte(2, 0x30 | 3ull << IOAPIC_RTE_DEST_SHIFT);
    ioapic_set_irq(&io, 2, true);
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].vector, 0x30);
    assert_int_equal(sent[0].mode, IOAPIC_DM_FIXED);
    assert_int_equal(sent[0].dest, 3);
    assert_false(sent[0].logical);
    assert_false(sent[0].level);
    ioapic_set_irq(&io, 2, true);           /* no new edge */
    assert_int_equal(nsent, 1);
    ioapic_set_irq(&io, 2, false);
    ioapic_set_irq(&io, 2, true);
    assert_int_equal(nsent, 2);
    assert_int_equal(get_rte(2) & IOAPIC_RTE_REMOTE_IRR, 0);
    /* An edge on a masked pin is lost, also when the pin is unmasked later. */
    ioapic_set_irq(&io, 2, false);
    set_rte(2, 0x30 | IOAPIC_RTE_MASKED);
    ioapic_set_irq(&io, 2, true);
    set_rte(2, 0x30);
    assert_int_equal(nsent, 2);
}

static void test_level_remote_irr(void **state)
{
    (void)state;
    setup();
    set_rte(9, 0x41 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_LOGICAL | 0x0Full << IOAPIC_RTE_DEST_SHIFT);
    ioapic_set_irq(&io, 9, true);
    assert_int_equal(nsent, 1);
    assert_true(sent[0].level);
    assert_true(sent[0].logical);
    assert_int_equal(sent[0].dest, 0x0F);
    assert_true(get_rte(9) & IOAPIC_RTE_REMOTE_IRR);
    ioapic_set_irq(&io, 9, true);           /* waits for the EOI */
    assert_int_equal(nsent, 1);
    ioapic_eoi(&io, 0x42);                  /* another vector: no effect */
    assert_true(get_rte(9) & IOAPIC_RTE_REMOTE_IRR);
    ioapic_eoi(&io, 0x41);                  /* still asserted: again */
    assert_int_equal(nsent, 2);
    assert_true(get_rte(9) & IOAPIC_RTE_REMOTE_IRR);
    ioapic_set_irq(&io, 9, false);
    ioapic_eoi(&io, 0x41);
    assert_int_equal(nsent, 2);
    assert_int_equal(get_rte(9) & IOAPIC_RTE_REMOTE_IRR, 0);
    /* Guest writes do not touch Remote IRR; switching to edge clears it. */
    ioapic_set_irq(&io, 9, true);
    assert_int_equal(nsent, 3);
    set_rte(9, 0x41 | IOAPIC_RTE_LEVEL);
    assert_true(get_rte(9) & IOAPIC_RTE_REMOTE_IRR);
    assert_int_equal(nsent, 3);
    set_rte(9, 0x41 | IOAPIC_RTE_MASKED);
    assert_int_equal(get_rte(9) & IOAPIC_RTE_REMOTE_IRR, 0);
    /* Unmasking a level pin that is asserted interrupts. */
    set_rte(9, 0x41 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
    assert_int_equal(nsent, 3);
    set_rte(9, 0x41 | IOAPIC_RTE_LEVEL);
    assert_int_equal(nsent, 4);
    /* Not accepted by any local APIC: Remote IRR stays clear. */
    ioapic_set_irq(&io, 9, false);
    ioapic_eoi(&io, 0x41);
    accept = false;
    ioapic_set_irq(&io, 9, true);
    assert_int_equal(nsent, 5);
    assert_int_equal(get_rte(9) & IOAPIC_RTE_REMOTE_IRR, 0);
}

static void test_polarity(void **state)
{
    (void)state;
    setup();
    /* Active low, level: a low pin is asserted once sampled. */
    set_rte(16, 0x50 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_ACTIVE_LOW);
    assert_int_equal(nsent, 1);
    ioapic_set_irq(&io, 16, true);          /* deasserted */
    ioapic_eoi(&io, 0x50);
    assert_int_equal(nsent, 1);
    ioapic_set_irq(&io, 16, false);
    assert_int_equal(nsent, 2);
    /* Active low, edge: the falling edge interrupts. */
    set_rte(17, 0x51 | IOAPIC_RTE_ACTIVE_LOW);
    ioapic_set_irq(&io, 17, true);
    assert_int_equal(nsent, 2);
    ioapic_set_irq(&io, 17, false);
    assert_int_equal(nsent, 3);
    assert_int_equal(sent[2].vector, 0x51);
}

static void test_modes(void **state)
{
    (void)state;
    setup();
    /* NMI is always edge, whatever the trigger bit says: no Remote IRR. */
    set_rte(3, (uint64_t)IOAPIC_DM_NMI << IOAPIC_RTE_DELMODE_SHIFT | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(&io, 3, true);
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].mode, IOAPIC_DM_NMI);
    assert_false(sent[0].level);
    assert_int_equal(get_rte(3) & IOAPIC_RTE_REMOTE_IRR, 0);
    set_rte(4, (uint64_t)IOAPIC_DM_LOWEST << IOAPIC_RTE_DELMODE_SHIFT | 0x60 |
               IOAPIC_RTE_LEVEL | 0xFFull << IOAPIC_RTE_DEST_SHIFT);
    ioapic_set_irq(&io, 4, true);
    assert_int_equal(sent[1].mode, IOAPIC_DM_LOWEST);
    assert_int_equal(sent[1].dest, 0xFF);
    assert_true(sent[1].level);
    set_rte(0, (uint64_t)IOAPIC_DM_EXTINT << IOAPIC_RTE_DELMODE_SHIFT);
    ioapic_set_irq(&io, 0, true);
    assert_int_equal(sent[2].mode, IOAPIC_DM_EXTINT);
    ioapic_set_irq(&io, IOAPIC_PINS, true);  /* no such pin */
    assert_int_equal(nsent, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_version),
        cmocka_unit_test(test_rte_bits),
        cmocka_unit_test(test_edge),
        cmocka_unit_test(test_level_remote_irr),
        cmocka_unit_test(test_polarity),
        cmocka_unit_test(test_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
