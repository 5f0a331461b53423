/* dev/lapic: the local APIC registers against Intel SDM Vol. 3A ch. 11: power-up
 * values, write masks, software disable, ESR write-then-read, the x2APIC MSR rules
 * (Table 11-6, RsvdZ reserved bits) and the IA32_APIC_BASE transitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/lapic.h"

#define PHYS_BITS 40
#define BASE_XAPIC  (LAPIC_BASE | APIC_BASE_EN)
#define BASE_X2APIC (LAPIC_BASE | APIC_BASE_EN | APIC_BASE_EXTD)

static struct lapic l;

static uint32_t rd(uint32_t off)
{
    uint32_t v = 0xdeadbeef;
    assert_true(lapic_mmio_read(&l, off, 4, &v));
    return v;
}

static void wr(uint32_t off, uint32_t v)
{
    assert_true(lapic_mmio_write(&l, off, 4, v));
}

static uint64_t rdmsr(uint32_t msr)
{
    uint64_t v = 0;
    assert_true(lapic_msr_read(&l, msr, &v));
    return v;
}

static bool rdmsr_gp(uint32_t msr)
{
    uint64_t v;
    return !lapic_msr_read(&l, msr, &v);
}

static void bsp(void) { lapic_init(&l, 0, true, PHYS_BITS); }

static void x2apic(void)
{
    bsp();
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_X2APIC | APIC_BASE_BSP));
}

static void test_power_up(void **state)
{
    (void)state;
    bsp();
    assert_int_equal(rdmsr(LAPIC_MSR_BASE), 0xFEE00900);
    assert_int_equal(lapic_mode(&l), APIC_MODE_XAPIC);
    assert_int_equal(rd(APIC_ID), 0);
    assert_int_equal(rd(APIC_VER), 0x50014);
    assert_int_equal(rd(APIC_TPR), 0);
    assert_int_equal(rd(APIC_APR), 0);
    assert_int_equal(rd(APIC_PPR), 0);
    assert_int_equal(rd(APIC_LDR), 0);
    assert_int_equal(rd(APIC_DFR), 0xFFFFFFFF);
    assert_int_equal(rd(APIC_SVR), 0xFF);
    assert_int_equal(rd(APIC_ESR), 0);
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(rd(APIC_ISR + 16 * i), 0);
        assert_int_equal(rd(APIC_TMR + 16 * i), 0);
        assert_int_equal(rd(APIC_IRR + 16 * i), 0);
    }
    for (uint32_t off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 16)
        assert_int_equal(rd(off), APIC_LVT_MASKED);
    assert_int_equal(rd(APIC_ICR_LO), 0);
    assert_int_equal(rd(APIC_ICR_HI), 0);
    assert_int_equal(rd(APIC_TIMER_ICR), 0);
    assert_int_equal(rd(APIC_TIMER_CCR), 0);
    assert_int_equal(rd(APIC_TIMER_DCR), 0);
    /* An AP: no BSP bit, its index as ID. */
    lapic_init(&l, 3, false, PHYS_BITS);
    assert_int_equal(rdmsr(LAPIC_MSR_BASE), 0xFEE00800);
    assert_int_equal(rd(APIC_ID), 3u << 24);
}

static void test_xapic_write_masks(void **state)
{
    (void)state;
    bsp();
    wr(APIC_ID, 0x05000000);                     /* read-only (Nehalem on) */
    assert_int_equal(rd(APIC_ID), 0);
    wr(APIC_VER, 0);
    assert_int_equal(rd(APIC_VER), 0x50014);
    wr(APIC_TPR, 0xFFFFFF5A);
    assert_int_equal(rd(APIC_TPR), 0x5A);
    assert_int_equal(rd(APIC_PPR), 0x5A);        /* nothing in service */
    wr(APIC_LDR, 0xFFFFFFFF);
    assert_int_equal(rd(APIC_LDR), 0xFF000000);
    wr(APIC_DFR, 0x0);
    assert_int_equal(rd(APIC_DFR), 0x0FFFFFFF);  /* bits 27:0 read as ones */
    wr(APIC_SVR, 0xFFFFFFFF);
    assert_int_equal(rd(APIC_SVR), 0x3FF);
    /* LVTs, software enabled: reserved and status bits dropped. */
    static const uint32_t want[] = { 0x300FF, 0x107FF, 0x107FF, 0x1A7FF, 0x1A7FF, 0x100FF };
    for (unsigned i = 0; i < 6; i++) {
        wr(APIC_LVT_TIMER + 16 * i, 0xFFFFFFFF);
        assert_int_equal(rd(APIC_LVT_TIMER + 16 * i), want[i]);
        wr(APIC_LVT_TIMER + 16 * i, 0x20 + i);   /* unmasked */
        assert_int_equal(rd(APIC_LVT_TIMER + 16 * i), 0x20 + i);
    }
    wr(APIC_ICR_HI, 0xFFFFFFFF);
    assert_int_equal(rd(APIC_ICR_HI), 0xFF000000);
    wr(APIC_ICR_LO, 0xFFFFFFFF);                 /* stored; no IPI is sent yet */
    assert_int_equal(rd(APIC_ICR_LO), 0x000CCFFF);
    wr(APIC_TIMER_ICR, 0x12345678);
    assert_int_equal(rd(APIC_TIMER_ICR), 0x12345678);
    assert_int_equal(rd(APIC_TIMER_CCR), 0);
    wr(APIC_TIMER_CCR, 5);
    assert_int_equal(rd(APIC_TIMER_CCR), 0);
    wr(APIC_TIMER_DCR, 0xFF);
    assert_int_equal(rd(APIC_TIMER_DCR), 0xB);
    wr(APIC_EOI, 0);                             /* nothing in service: no effect */
    assert_int_equal(rd(APIC_EOI), 0);
}

static void test_software_disable_masks_lvt(void **state)
{
    (void)state;
    bsp();
    wr(APIC_LVT_LINT0, 0x700);                   /* SVR.8 = 0: stays masked */
    assert_int_equal(rd(APIC_LVT_LINT0), 0x10700);
    wr(APIC_SVR, 0x1FF);
    wr(APIC_LVT_LINT0, 0x700);
    wr(APIC_LVT_TIMER, 0x20030);
    assert_int_equal(rd(APIC_LVT_LINT0), 0x700);
    assert_int_equal(rd(APIC_LVT_TIMER), 0x20030);
    wr(APIC_SVR, 0xFF);                          /* disable: every LVT masked */
    assert_int_equal(rd(APIC_LVT_LINT0), 0x10700);
    assert_int_equal(rd(APIC_LVT_TIMER), 0x30030);
    assert_int_equal(rd(APIC_SVR), 0xFF);
}

static void test_esr_and_odd_accesses(void **state)
{
    (void)state;
    bsp();
    uint32_t v = 0x1234;
    assert_int_equal(rd(0x040), 0);              /* reserved register */
    assert_int_equal(rd(APIC_ESR), 0);           /* not yet: write first */
    wr(APIC_ESR, 0);
    assert_int_equal(rd(APIC_ESR), APIC_ESR_ILLEGAL_REG);
    wr(APIC_ESR, 0xFFFFFFFF);                    /* the value written is irrelevant */
    assert_int_equal(rd(APIC_ESR), 0);
    /* Not a 32-bit access at a 16-byte boundary: reads 0, writes dropped, no error. */
    assert_true(lapic_mmio_read(&l, APIC_VER, 2, &v));
    assert_int_equal(v, 0);
    assert_true(lapic_mmio_read(&l, APIC_VER + 4, 4, &v));
    assert_int_equal(v, 0);
    assert_true(lapic_mmio_write(&l, APIC_TPR + 4, 4, 0x77));
    assert_true(lapic_mmio_write(&l, APIC_TPR, 1, 0x77));
    assert_int_equal(rd(APIC_TPR), 0);
    /* x2APIC-only and absent registers in xAPIC mode. */
    wr(APIC_SELF_IPI, 0x40);
    assert_int_equal(rd(APIC_SELF_IPI), 0);
    assert_int_equal(rd(APIC_LVT_CMCI), 0);
    wr(APIC_ESR, 0);
    assert_int_equal(rd(APIC_ESR), APIC_ESR_ILLEGAL_REG);
}

static void test_x2apic_registers(void **state)
{
    (void)state;
    lapic_init(&l, 0x25, false, PHYS_BITS);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_X2APIC));
    assert_int_equal(lapic_mode(&l), APIC_MODE_X2APIC);
    assert_int_equal(rdmsr(0x802), 0x25);                  /* 32-bit ID */
    assert_int_equal(rdmsr(0x803), 0x50014);
    assert_int_equal(rdmsr(0x80D), (2u << 16) | (1u << 5)); /* cluster 2, bit 5 */
    assert_int_equal(rdmsr(0x80F), 0xFF);
    assert_int_equal(rdmsr(0x832), APIC_LVT_MASKED);
    assert_true(lapic_msr_write(&l, 0x808, 0x40));
    assert_int_equal(rdmsr(0x808), 0x40);
    assert_int_equal(rdmsr(0x80A), 0x40);
    assert_true(lapic_msr_write(&l, 0x80F, 0x1FF));
    assert_true(lapic_msr_write(&l, 0x835, 0x700));
    assert_int_equal(rdmsr(0x835), 0x700);
    /* The ICR is one 64-bit MSR: destination in bits 63:32. */
    assert_true(lapic_msr_write(&l, 0x830, 0x0000000700004030ull));
    assert_int_equal(rdmsr(0x830), 0x0000000700004030ull);
    assert_true(lapic_msr_write(&l, 0x80B, 0));            /* EOI of 0 */
    assert_true(lapic_msr_write(&l, 0x828, 0));            /* ESR of 0 */
    assert_true(lapic_msr_write(&l, 0x83F, 0x40));         /* SELF IPI */
    assert_true(lapic_msr_write(&l, 0x838, 0xFFFFFFFF));
    assert_int_equal(rdmsr(0x838), 0xFFFFFFFF);
    assert_true(lapic_msr_write(&l, 0x83E, 0xB));
    assert_int_equal(rdmsr(0x83E), 0xB);
}

static void test_x2apic_gp_rules(void **state)
{
    (void)state;
    bsp();
    /* In xAPIC mode every x2APIC MSR faults (11.12.2). */
    assert_true(rdmsr_gp(0x802));
    assert_true(rdmsr_gp(0x803));
    assert_false(lapic_msr_write(&l, 0x808, 0));
    x2apic();
    /* Registers x2APIC does not have: APR, RRD, DFR, ICR high, CMCI, reserved. */
    static const uint32_t none[] = { 0x800, 0x801, 0x804, 0x809, 0x80C, 0x80E, 0x82F,
                                     0x831, 0x83A, 0x840, 0x8FF };
    for (unsigned i = 0; i < sizeof none / sizeof none[0]; i++) {
        assert_true(rdmsr_gp(none[i]));
        assert_false(lapic_msr_write(&l, none[i], 0));
    }
    /* Write-only registers cannot be read; read-only ones cannot be written. */
    assert_true(rdmsr_gp(0x80B));
    assert_true(rdmsr_gp(0x83F));
    static const uint32_t ro[] = { 0x802, 0x803, 0x80A, 0x80D, 0x810, 0x818, 0x820, 0x827,
                                   0x839 };
    for (unsigned i = 0; i < sizeof ro / sizeof ro[0]; i++)
        assert_false(lapic_msr_write(&l, ro[i], 0));
    /* Reserved bits set: #GP, and nothing changes. */
    assert_false(lapic_msr_write(&l, 0x808, 0x100));
    assert_false(lapic_msr_write(&l, 0x808, 1ull << 32));
    assert_false(lapic_msr_write(&l, 0x80B, 1));           /* non-zero EOI */
    assert_false(lapic_msr_write(&l, 0x828, 1));           /* non-zero ESR */
    assert_false(lapic_msr_write(&l, 0x80F, 0x1000));      /* no EOI suppression */
    assert_false(lapic_msr_write(&l, 0x832, 0x40000));     /* no TSC-deadline mode */
    assert_false(lapic_msr_write(&l, 0x837, 0x700));       /* error LVT: no mode */
    assert_false(lapic_msr_write(&l, 0x830, 0x1000));      /* ICR bit 12 */
    assert_false(lapic_msr_write(&l, 0x83E, 0x4));
    assert_false(lapic_msr_write(&l, 0x83F, 0x100));
    assert_int_equal(rdmsr(0x808), 0);
    assert_int_equal(rdmsr(0x832), APIC_LVT_MASKED);
    assert_int_equal(rdmsr(0x830), 0);
    /* Read-only status bits in a write are ignored, not reserved. */
    assert_true(lapic_msr_write(&l, 0x835, 0x15700));
    assert_int_equal(rdmsr(0x835), 0x10700);
    /* The xAPIC page is gone in x2APIC mode. */
    uint32_t v;
    assert_false(lapic_mmio_read(&l, APIC_ID, 4, &v));
    assert_false(lapic_mmio_write(&l, APIC_TPR, 4, 0));
}

static void test_apic_base_transitions(void **state)
{
    (void)state;
    bsp();
    uint32_t v;
    /* Reserved bits, beyond MAXPHYADDR too, and a moved base: #GP. */
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_XAPIC | 1));
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_XAPIC | (1u << 9)));
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_XAPIC | (1ull << PHYS_BITS)));
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, 0xFED00000u | APIC_BASE_EN));
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, APIC_BASE_EN));
    /* EXTD without EN is invalid. */
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, LAPIC_BASE | APIC_BASE_EXTD));
    assert_int_equal(rdmsr(LAPIC_MSR_BASE), 0xFEE00900);
    /* BSP is read-only: writing it as 0 keeps it. */
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_XAPIC));
    assert_int_equal(rdmsr(LAPIC_MSR_BASE), 0xFEE00900);
    /* xAPIC -> disabled resets the registers and turns the page off. */
    wr(APIC_SVR, 0x1FF);
    wr(APIC_TPR, 0x30);
    wr(APIC_LVT_LINT0, 0x700);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, LAPIC_BASE | APIC_BASE_BSP));
    assert_int_equal(lapic_mode(&l), APIC_MODE_DISABLED);
    assert_int_equal(rdmsr(LAPIC_MSR_BASE), 0xFEE00100);
    assert_false(lapic_mmio_read(&l, APIC_VER, 4, &v));
    assert_false(lapic_mmio_write(&l, APIC_TPR, 4, 0));
    assert_true(rdmsr_gp(0x803));
    /* disabled -> x2APIC directly: #GP; disabled -> xAPIC: reset state. */
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_X2APIC));
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_XAPIC));
    assert_int_equal(rd(APIC_SVR), 0xFF);
    assert_int_equal(rd(APIC_TPR), 0);
    assert_int_equal(rd(APIC_LVT_LINT0), APIC_LVT_MASKED);
    assert_int_equal(rd(APIC_ID), 0);
    /* xAPIC -> x2APIC keeps the registers. */
    wr(APIC_TPR, 0x20);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_X2APIC));
    assert_int_equal(rdmsr(LAPIC_MSR_BASE), 0xFEE00D00);
    assert_int_equal(rdmsr(0x808), 0x20);
    /* x2APIC -> xAPIC: #GP; x2APIC -> x2APIC: fine; x2APIC -> disabled: reset. */
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_XAPIC));
    assert_int_equal(lapic_mode(&l), APIC_MODE_X2APIC);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_X2APIC));
    assert_false(lapic_msr_write(&l, LAPIC_MSR_BASE, LAPIC_BASE | APIC_BASE_EXTD));
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, LAPIC_BASE));
    assert_int_equal(lapic_mode(&l), APIC_MODE_DISABLED);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_XAPIC));
    assert_int_equal(rd(APIC_TPR), 0);
    assert_int_equal(rd(APIC_DFR), 0xFFFFFFFF);
}

static void test_cr8(void **state)
{
    (void)state;
    bsp();
    wr(APIC_TPR, 0xA7);
    assert_int_equal(lapic_get_cr8(&l), 0xA);
    lapic_set_cr8(&l, 0x3);
    assert_int_equal(rd(APIC_TPR), 0x30);        /* TPR[3:0] cleared */
    lapic_set_cr8(&l, 0xF5);                     /* CR8[63:4] are not TPR bits */
    assert_int_equal(rd(APIC_TPR), 0x50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_up),
        cmocka_unit_test(test_xapic_write_masks),
        cmocka_unit_test(test_software_disable_masks_lvt),
        cmocka_unit_test(test_esr_and_odd_accesses),
        cmocka_unit_test(test_x2apic_registers),
        cmocka_unit_test(test_x2apic_gp_rules),
        cmocka_unit_test(test_apic_base_transitions),
        cmocka_unit_test(test_cr8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
