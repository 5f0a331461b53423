/* dev/lapic: the local APIC against Intel SDM Vol. 3A ch. 11: power-up values,
 * write masks, software disable, ESR write-then-read, the x2APIC MSR rules (Table
 * 11-6, RsvdZ reserved bits), the IA32_APIC_BASE transitions; interrupt
 * acceptance, priorities and EOI (11.8), destinations (11.6.2), the ICR, and the
 * timer in its three modes (11.5.4) on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/bus.h"
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
    /* Masked, but the BSP's LINT0: ExtINT, the PC's virtual wire. */
    for (uint32_t off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 16)
        assert_int_equal(rd(off), off == APIC_LVT_LINT0 ? APIC_LVT_DM_EXTINT : APIC_LVT_MASKED);
    assert_int_equal(rd(APIC_ICR_LO), 0);
    assert_int_equal(rd(APIC_ICR_HI), 0);
    assert_int_equal(rd(APIC_TIMER_ICR), 0);
    assert_int_equal(rd(APIC_TIMER_CCR), 0);
    assert_int_equal(rd(APIC_TIMER_DCR), 0);
    /* An AP: no BSP bit, its index as ID. */
    lapic_init(&l, 3, false, PHYS_BITS);
    assert_int_equal(rdmsr(LAPIC_MSR_BASE), 0xFEE00800);
    assert_int_equal(rd(APIC_ID), 3u << 24);
    assert_int_equal(rd(APIC_LVT_LINT0), APIC_LVT_MASKED);
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
    static const uint32_t want[] = { 0x700FF, 0x107FF, 0x107FF, 0x1A7FF, 0x1A7FF, 0x100FF };
    for (unsigned i = 0; i < 6; i++) {
        wr(APIC_LVT_TIMER + 16 * i, 0xFFFFFFFF);
        assert_int_equal(rd(APIC_LVT_TIMER + 16 * i), want[i]);
        wr(APIC_LVT_TIMER + 16 * i, 0x20 + i);   /* unmasked */
        assert_int_equal(rd(APIC_LVT_TIMER + 16 * i), 0x20 + i);
    }
    wr(APIC_ICR_HI, 0xFFFFFFFF);
    assert_int_equal(rd(APIC_ICR_HI), 0xFF000000);
    wr(APIC_ICR_LO, 0xFFFFFFFF);                 /* stored, and left to send */
    assert_int_equal(rd(APIC_ICR_LO), 0x000CCFFF);
    assert_true(l.icr_sent);
    wr(APIC_TIMER_ICR, 0x12345678);              /* no clock: time stands still */
    assert_int_equal(rd(APIC_TIMER_ICR), 0x12345678);
    assert_int_equal(rd(APIC_TIMER_CCR), 0x12345678);
    wr(APIC_TIMER_CCR, 5);
    assert_int_equal(rd(APIC_TIMER_CCR), 0x12345678);
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
    assert_false(lapic_msr_write(&l, 0x832, 0x80000));     /* timer LVT bit 19 */
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

/* --- interrupts ------------------------------------------------------------ */

static void enabled(void)
{
    bsp();
    wr(APIC_SVR, APIC_SVR_ENABLE | 0xFF);
}

static bool irr_has(unsigned v) { return rd(APIC_IRR + 16 * (v / 32)) & (1u << (v % 32)); }
static bool isr_has(unsigned v) { return rd(APIC_ISR + 16 * (v / 32)) & (1u << (v % 32)); }

/* 11.8.3.1: a vector is presented if its class beats PPR's; PPR is the TPR or the
 * class of the highest in-service vector. EOI ends the highest in service. */
static void test_priorities(void **state)
{
    (void)state;
    enabled();
    assert_int_equal(lapic_highest(&l), -1);
    lapic_accept(&l, 0x31, false);
    lapic_accept(&l, 0x52, false);
    lapic_accept(&l, 0x40, false);
    assert_true(irr_has(0x31) && irr_has(0x52) && irr_has(0x40));
    assert_int_equal(lapic_highest(&l), 0x52);
    lapic_ack(&l, 0x52);
    assert_false(irr_has(0x52));
    assert_true(isr_has(0x52));
    assert_int_equal(rd(APIC_PPR), 0x50);
    assert_int_equal(lapic_highest(&l), -1);     /* 0x40: class 4 below 5 */
    lapic_accept(&l, 0x5F, false);               /* same class: held too */
    assert_int_equal(lapic_highest(&l), -1);
    lapic_accept(&l, 0x61, false);               /* a higher class nests */
    assert_int_equal(lapic_highest(&l), 0x61);
    lapic_ack(&l, 0x61);
    wr(APIC_EOI, 0);                             /* ends 0x61, the highest */
    assert_false(isr_has(0x61));
    assert_true(isr_has(0x52));
    assert_int_equal(l.eoi_level, -1);           /* edge-triggered: no broadcast */
    wr(APIC_EOI, 0);
    assert_int_equal(rd(APIC_PPR), 0);
    assert_int_equal(lapic_highest(&l), 0x5F);
    /* The TPR holds back its class and below. */
    wr(APIC_TPR, 0x5F);
    assert_int_equal(lapic_highest(&l), -1);
    assert_int_equal(lapic_highest_irr(&l), 0x5F);
    wr(APIC_TPR, 0x4F);
    assert_int_equal(lapic_highest(&l), 0x5F);
    lapic_set_cr8(&l, 0);
    assert_int_equal(lapic_highest(&l), 0x5F);
}

/* A level-triggered vector sets TMR, and its EOI is left for the IOAPIC. */
static void test_level_eoi(void **state)
{
    (void)state;
    enabled();
    lapic_accept(&l, 0x70, true);
    assert_true(rd(APIC_TMR + 0x30) & (1u << 0x10));
    lapic_ack(&l, 0x70);
    wr(APIC_EOI, 0);
    assert_int_equal(l.eoi_level, 0x70);
    l.eoi_level = -1;
    lapic_accept(&l, 0x70, false);               /* edge now: TMR clears */
    assert_false(rd(APIC_TMR + 0x30) & (1u << 0x10));
}

/* Nothing is accepted while disabled (11.4.7.2); vectors 0-15 are illegal and
 * raise the error interrupt if its LVT entry allows (11.5.3). */
static void test_accept_refused(void **state)
{
    (void)state;
    bsp();                                       /* software-disabled */
    lapic_accept(&l, 0x40, false);
    assert_int_equal(lapic_highest_irr(&l), -1);
    enabled();
    lapic_accept(&l, 0x05, false);
    assert_int_equal(lapic_highest_irr(&l), -1);
    wr(APIC_ESR, 0);
    assert_int_equal(rd(APIC_ESR), APIC_ESR_RECV_ILLEGAL_VECTOR);
    wr(APIC_LVT_ERROR, 0xE0);
    lapic_accept(&l, 0x0F, false);
    assert_int_equal(lapic_highest(&l), 0xE0);
}

static void test_extint(void **state)
{
    (void)state;
    bsp();
    assert_true(lapic_extint(&l));               /* the virtual wire at reset */
    wr(APIC_SVR, 0xFF);                          /* software disable masks LINT0 */
    assert_false(lapic_extint(&l));
    lapic_init(&l, 1, false, PHYS_BITS);         /* an AP: masked */
    assert_false(lapic_extint(&l));
    /* The APIC disabled in IA32_APIC_BASE: the pin bypasses it. */
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, LAPIC_BASE));
    assert_true(lapic_extint(&l));
}

/* 11.6.2: physical, flat and cluster logical, x2APIC logical, broadcast. */
static void test_destinations(void **state)
{
    (void)state;
    lapic_init(&l, 2, false, PHYS_BITS);
    assert_true(lapic_match(&l, 2, false));
    assert_false(lapic_match(&l, 3, false));
    assert_true(lapic_match(&l, 0xFF, false));
    wr(APIC_LDR, 0x24000000);                    /* flat: bits 2 and 5 */
    assert_true(lapic_match(&l, 0x04, true));
    assert_true(lapic_match(&l, 0x21, true));
    assert_false(lapic_match(&l, 0x12, true));
    wr(APIC_DFR, 0x0FFFFFFF);                    /* cluster: 2, member bit 2 */
    assert_true(lapic_match(&l, 0x24, true));
    assert_false(lapic_match(&l, 0x14, true));
    assert_false(lapic_match(&l, 0x21, true));
    lapic_init(&l, 0x13, false, PHYS_BITS);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_X2APIC));
    assert_true(lapic_match(&l, 0x13, false));
    assert_true(lapic_match(&l, 0xFFFFFFFF, false));
    assert_true(lapic_match(&l, (1u << 16) | (1u << 3), true));  /* cluster 1, bit 3 */
    assert_false(lapic_match(&l, (1u << 16) | (1u << 2), true));
    assert_false(lapic_match(&l, (2u << 16) | (1u << 3), true));
}

/* An xAPIC, software-enabled, with ID id and flat logical ID bit id. */
static void xapic_cpu(struct lapic *a, uint32_t id)
{
    lapic_init(a, id, id == 0, PHYS_BITS);
    assert_true(lapic_mmio_write(a, APIC_SVR, 4, APIC_SVR_ENABLE | 0xFF));
    assert_true(lapic_mmio_write(a, APIC_LDR, 4, (1u << id) << 24));
}

static void send(struct lapic *from, uint32_t dest, uint32_t lo)
{
    assert_true(lapic_mmio_write(from, APIC_ICR_HI, 4, dest << APIC_XAPIC_DEST_SHIFT));
    assert_true(lapic_mmio_write(from, APIC_ICR_LO, 4, lo));
}

/* 11.6.1: the shorthands, else the destination field in its mode. */
static void test_ipi_reaches(void **state)
{
    (void)state;
    struct lapic c[3];
    for (uint32_t i = 0; i < 3; i++)
        xapic_cpu(&c[i], i);
    send(&c[0], 1, APIC_ICR_ASSERT | 0x40);                    /* physical 1 */
    assert_false(lapic_ipi_reaches(&c[0], &c[0]));
    assert_true(lapic_ipi_reaches(&c[0], &c[1]));
    assert_false(lapic_ipi_reaches(&c[0], &c[2]));
    send(&c[0], 0xFF, APIC_ICR_ASSERT | 0x40);                 /* physical broadcast */
    for (int i = 0; i < 3; i++)
        assert_true(lapic_ipi_reaches(&c[0], &c[i]));
    send(&c[0], 0x6, APIC_ICR_LOGICAL | 0x40);                 /* flat: bits 1, 2 */
    assert_false(lapic_ipi_reaches(&c[0], &c[0]));
    assert_true(lapic_ipi_reaches(&c[0], &c[1]));
    assert_true(lapic_ipi_reaches(&c[0], &c[2]));
    send(&c[1], 2, APIC_DEST_SELF << APIC_ICR_SHORTHAND_SHIFT | 0x40);   /* the field is ignored */
    assert_true(lapic_ipi_reaches(&c[1], &c[1]));
    assert_false(lapic_ipi_reaches(&c[1], &c[2]));
    send(&c[1], 1, APIC_DEST_ALL << APIC_ICR_SHORTHAND_SHIFT | 0x40);
    for (int i = 0; i < 3; i++)
        assert_true(lapic_ipi_reaches(&c[1], &c[i]));
    send(&c[1], 1, APIC_DEST_OTHERS << APIC_ICR_SHORTHAND_SHIFT | 0x40);
    assert_true(lapic_ipi_reaches(&c[1], &c[0]));
    assert_false(lapic_ipi_reaches(&c[1], &c[1]));
    assert_true(lapic_ipi_reaches(&c[1], &c[2]));
    /* x2APIC: a 32-bit physical destination in ICR[63:32], logical from the ID. */
    for (int i = 0; i < 3; i++)
        assert_true(lapic_msr_write(&c[i], LAPIC_MSR_BASE, BASE_X2APIC | (i == 0 ? APIC_BASE_BSP : 0)));
    assert_true(lapic_msr_write(&c[0], X2APIC_MSR_FIRST + APIC_ICR_LO / 16, (2ull << 32) | 0x40));
    assert_false(lapic_ipi_reaches(&c[0], &c[1]));
    assert_true(lapic_ipi_reaches(&c[0], &c[2]));
    assert_true(lapic_msr_write(&c[0], X2APIC_MSR_FIRST + APIC_ICR_LO / 16,
                                (0x2ull << 32) | APIC_ICR_LOGICAL | 0x40));   /* cluster 0, bit 1 */
    assert_true(lapic_ipi_reaches(&c[0], &c[1]));
    assert_false(lapic_ipi_reaches(&c[0], &c[2]));
}

/* 11.6.2.4 as hv86 resolves it: the lowest PPR, ties to the first listed. */
static void test_lowest_priority(void **state)
{
    (void)state;
    struct lapic c[3];
    const struct lapic *cand[3] = { &c[0], &c[1], &c[2] };
    for (uint32_t i = 0; i < 3; i++)
        xapic_cpu(&c[i], i);
    assert_int_equal(lapic_lowest_priority(cand, 0), -1);
    assert_int_equal(lapic_lowest_priority(cand, 3), 0);      /* a tie: the lowest ID */
    assert_true(lapic_mmio_write(&c[0], APIC_TPR, 4, 0x20));
    assert_int_equal(lapic_lowest_priority(cand, 3), 1);
    assert_true(lapic_mmio_write(&c[1], APIC_TPR, 4, 0x30));
    assert_int_equal(lapic_lowest_priority(cand, 3), 2);
    lapic_accept(&c[2], 0x50, false);                         /* in service: PPR 0x50 */
    lapic_ack(&c[2], 0x50);
    assert_int_equal(lapic_lowest_priority(cand, 3), 0);
}

/* 11.4.7.3: INIT resets the registers but the ID and IA32_APIC_BASE; the APIC
 * is software-disabled again and accepts no fixed interrupt. */
static void test_init_ipi(void **state)
{
    (void)state;
    struct lapic a;
    xapic_cpu(&a, 3);
    assert_true(lapic_mmio_write(&a, APIC_TPR, 4, 0x40));
    lapic_accept(&a, 0x60, false);
    lapic_init_ipi(&a);
    uint32_t v;
    assert_true(lapic_mmio_read(&a, APIC_ID, 4, &v));
    assert_int_equal(v, 3u << 24);
    assert_true(lapic_mmio_read(&a, APIC_TPR, 4, &v));
    assert_int_equal(v, 0);
    assert_int_equal(lapic_highest_irr(&a), -1);
    assert_true(lapic_mmio_read(&a, APIC_SVR, 4, &v));
    assert_int_equal(v, 0xFF);
    lapic_accept(&a, 0x60, false);
    assert_int_equal(lapic_highest_irr(&a), -1);
    assert_int_equal(lapic_mode(&a), APIC_MODE_XAPIC);
    assert_true(lapic_msr_write(&a, LAPIC_MSR_BASE, BASE_X2APIC));
    lapic_init_ipi(&a);
    assert_int_equal(lapic_mode(&a), APIC_MODE_X2APIC);       /* kept (11.12.5.1) */
}

/* Writing ICR low sends; a fixed IPI with vector 0-15 is not sent (11.5.3). In
 * x2APIC mode SELF IPI takes the vector itself (11.12.11). */
static void test_icr_and_self_ipi(void **state)
{
    (void)state;
    enabled();
    wr(APIC_ICR_HI, 0x01000000);
    assert_false(l.icr_sent);
    wr(APIC_ICR_LO, 0x00044031);                 /* self shorthand, fixed 0x31 */
    assert_true(l.icr_sent);
    assert_int_equal(l.icr_hi, 0x01000000);
    l.icr_sent = false;
    wr(APIC_ICR_LO, 0x0004400A);
    assert_false(l.icr_sent);
    wr(APIC_ESR, 0);
    assert_int_equal(rd(APIC_ESR), APIC_ESR_SEND_ILLEGAL_VECTOR);
    wr(APIC_ICR_LO, 0x00004402);                 /* NMI: the vector is ignored */
    assert_true(l.icr_sent);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_BASE, BASE_X2APIC | APIC_BASE_BSP));
    assert_true(lapic_msr_write(&l, 0x83F, 0x99));
    assert_int_equal(lapic_highest(&l), 0x99);
}

/* --- the timer, on a fake clock ------------------------------------------- */

static uint64_t fake_ns, fake_tsc;
static uint64_t clk_ns(void) { return fake_ns; }
static uint64_t clk_tsc(void) { return fake_tsc; }
static uint64_t clk_hz(void) { return 2000000000ull; }     /* 2 TSC ticks per ns */
static const struct lapic_clock fake_clock = { clk_ns, clk_tsc, clk_hz };

static void timed(void)
{
    enabled();
    l.clock = &fake_clock;
    fake_ns = 1000000;
    fake_tsc = 5000000;
}

static void test_timer_oneshot(void **state)
{
    (void)state;
    timed();
    wr(APIC_TIMER_DCR, 0xB);                     /* divide by 1: 1 ns per count */
    wr(APIC_LVT_TIMER, 0x30);
    wr(APIC_TIMER_ICR, 1000);
    assert_int_equal(rd(APIC_TIMER_CCR), 1000);
    assert_int_equal(lapic_timer_next(&l), fake_ns + 1000);
    fake_ns += 400;
    assert_int_equal(rd(APIC_TIMER_CCR), 600);
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest_irr(&l), -1);
    fake_ns += 600;
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest(&l), 0x30);
    assert_int_equal(rd(APIC_TIMER_CCR), 0);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
    assert_int_equal(rd(APIC_TIMER_ICR), 1000);
    /* Divide by 16: 16 ns per count; writing 0 stops it. */
    wr(APIC_TIMER_DCR, 0x3);
    wr(APIC_TIMER_ICR, 100);
    assert_int_equal(lapic_timer_next(&l), fake_ns + 1600);
    fake_ns += 160;
    assert_int_equal(rd(APIC_TIMER_CCR), 90);
    wr(APIC_TIMER_ICR, 0);
    assert_int_equal(rd(APIC_TIMER_CCR), 0);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
}

static void test_timer_periodic_and_masked(void **state)
{
    (void)state;
    timed();
    wr(APIC_TIMER_DCR, 0x0);                     /* divide by 2 */
    wr(APIC_LVT_TIMER, 0x20040);                 /* periodic, vector 0x40 */
    wr(APIC_TIMER_ICR, 100000);                  /* 200 us */
    uint64_t t0 = fake_ns;
    fake_ns = t0 + 200000;
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest(&l), 0x40);
    lapic_ack(&l, 0x40);
    wr(APIC_EOI, 0);
    assert_int_equal(lapic_timer_next(&l), t0 + 400000);
    /* Three periods missed: one interrupt, and the count keeps its phase. */
    fake_ns = t0 + 1050000;
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest(&l), 0x40);
    lapic_ack(&l, 0x40);
    wr(APIC_EOI, 0);
    assert_int_equal(lapic_timer_next(&l), t0 + 1200000);
    assert_int_equal(rd(APIC_TIMER_CCR), 75000);
    /* Masked: it counts on and reloads, but raises nothing. */
    wr(APIC_LVT_TIMER, 0x30040);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
    fake_ns = t0 + 1300000;
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest_irr(&l), -1);
    assert_int_equal(rd(APIC_TIMER_CCR), 50000);
    /* One-shot again: the count goes on and ends at the next expiry. */
    wr(APIC_LVT_TIMER, 0x40);
    fake_ns = t0 + 1400000;
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest(&l), 0x40);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
}

/* A periodic timer interrupts at most every TIMER_MIN_PERIOD_NS (dev/bus.h): a
 * period of one bus clock would leave the guest no time between interrupts. The
 * count never reads above the initial count; a one-shot keeps its exact time. */
static void test_timer_min_period(void **state)
{
    (void)state;
    timed();
    wr(APIC_TIMER_DCR, 0xB);                     /* divide by 1: 1 ns per count */
    wr(APIC_LVT_TIMER, 0x20040);                 /* periodic */
    wr(APIC_TIMER_ICR, 1);
    uint64_t t0 = fake_ns;
    assert_int_equal(lapic_timer_next(&l), t0 + TIMER_MIN_PERIOD_NS);
    assert_int_equal(rd(APIC_TIMER_CCR), 1);
    fake_ns = t0 + 1000;
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest_irr(&l), -1);
    fake_ns = t0 + TIMER_MIN_PERIOD_NS;
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest(&l), 0x40);
    assert_int_equal(lapic_timer_next(&l), t0 + 2 * TIMER_MIN_PERIOD_NS);
    lapic_ack(&l, 0x40);
    wr(APIC_EOI, 0);
    wr(APIC_LVT_TIMER, 0x40);                    /* one-shot: as programmed */
    wr(APIC_TIMER_ICR, 5);
    assert_int_equal(lapic_timer_next(&l), fake_ns + 5);
}

/* TSC-deadline mode (11.5.4.1): the MSR arms it, it fires once and reads 0
 * after; outside that mode the MSR reads 0 and ignores writes, and switching
 * modes disarms. */
static void test_timer_tsc_deadline(void **state)
{
    (void)state;
    timed();
    uint64_t v = 1;
    wr(APIC_LVT_TIMER, 0x50);                    /* one-shot */
    assert_true(lapic_msr_write(&l, LAPIC_MSR_TSC_DEADLINE, fake_tsc + 100));
    assert_true(lapic_msr_read(&l, LAPIC_MSR_TSC_DEADLINE, &v));
    assert_int_equal(v, 0);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
    wr(APIC_LVT_TIMER, 0x40050);                 /* TSC-deadline */
    wr(APIC_TIMER_ICR, 100);                     /* ignored in this mode */
    assert_int_equal(rd(APIC_TIMER_ICR), 0);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_TSC_DEADLINE, fake_tsc + 1000));
    assert_int_equal(lapic_timer_next(&l), fake_ns + 500);   /* 2 ticks per ns */
    assert_true(lapic_msr_read(&l, LAPIC_MSR_TSC_DEADLINE, &v));
    assert_int_equal(v, fake_tsc + 1000);
    assert_int_equal(rd(APIC_TIMER_CCR), 0);
    fake_ns += 500;
    fake_tsc += 1000;
    lapic_timer_poll(&l);
    assert_int_equal(lapic_highest(&l), 0x50);
    assert_true(lapic_msr_read(&l, LAPIC_MSR_TSC_DEADLINE, &v));
    assert_int_equal(v, 0);
    /* A deadline already passed fires at once; 0 disarms. */
    assert_true(lapic_msr_write(&l, LAPIC_MSR_TSC_DEADLINE, 1));
    assert_int_equal(lapic_timer_next(&l), fake_ns);
    assert_true(lapic_msr_write(&l, LAPIC_MSR_TSC_DEADLINE, 0));
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
    /* Leaving TSC-deadline mode disarms. */
    assert_true(lapic_msr_write(&l, LAPIC_MSR_TSC_DEADLINE, fake_tsc + 10));
    wr(APIC_LVT_TIMER, 0x50);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
    wr(APIC_LVT_TIMER, 0x40050);
    assert_true(lapic_msr_read(&l, LAPIC_MSR_TSC_DEADLINE, &v));
    assert_int_equal(v, 0);
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
        cmocka_unit_test(test_priorities),
        cmocka_unit_test(test_level_eoi),
        cmocka_unit_test(test_accept_refused),
        cmocka_unit_test(test_extint),
        cmocka_unit_test(test_destinations),
        cmocka_unit_test(test_ipi_reaches),
        cmocka_unit_test(test_lowest_priority),
        cmocka_unit_test(test_init_ipi),
        cmocka_unit_test(test_icr_and_self_ipi),
        cmocka_unit_test(test_timer_oneshot),
        cmocka_unit_test(test_timer_periodic_and_masked),
        cmocka_unit_test(test_timer_min_period),
        cmocka_unit_test(test_timer_tsc_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
