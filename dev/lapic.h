/* A local APIC register model for one vCPU (Intel SDM Vol. 3A ch. 11): the xAPIC
 * page at 0xFEE00000, the x2APIC MSRs 0x800-0x8FF and IA32_APIC_BASE. A pure
 * model; vmm/platform.c wires it to the VM. Registers only: the timer does not
 * count and the ICR sends no IPI yet (both come with the interrupt-delivery
 * work), and no interrupt is accepted, so IRR, ISR and TMR stay zero. */
#ifndef DEV_LAPIC_H
#define DEV_LAPIC_H
#include <stdbool.h>
#include <stdint.h>

#define LAPIC_BASE        0xFEE00000u
#define LAPIC_SIZE        0x1000u
#define LAPIC_MSR_BASE    0x1Bu        /* IA32_APIC_BASE */
#define X2APIC_MSR_FIRST  0x800u
#define X2APIC_MSR_COUNT  0x100u

/* IA32_APIC_BASE bits (SDM Vol. 3A 11.4.4, 11.12.1). */
#define APIC_BASE_BSP     (1ull << 8)
#define APIC_BASE_EXTD    (1ull << 10)
#define APIC_BASE_EN      (1ull << 11)

/* Register offsets in the xAPIC page (SDM Vol. 3A Table 11-1); offset / 16 is
 * the x2APIC MSR minus 0x800 (Table 11-6). */
#define APIC_ID     0x020
#define APIC_VER    0x030
#define APIC_TPR    0x080
#define APIC_APR    0x090
#define APIC_PPR    0x0A0
#define APIC_EOI    0x0B0
#define APIC_LDR    0x0D0
#define APIC_DFR    0x0E0
#define APIC_SVR    0x0F0
#define APIC_ISR    0x100     /* 8 registers, 16 bytes apart */
#define APIC_TMR    0x180
#define APIC_IRR    0x200
#define APIC_ESR    0x280
#define APIC_LVT_CMCI 0x2F0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER   0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF    0x340
#define APIC_LVT_LINT0   0x350
#define APIC_LVT_LINT1   0x360
#define APIC_LVT_ERROR   0x370
#define APIC_TIMER_ICR   0x380
#define APIC_TIMER_CCR   0x390
#define APIC_TIMER_DCR   0x3E0
#define APIC_SELF_IPI    0x3F0   /* x2APIC only */

#define APIC_VERSION     0x00050014u  /* version 0x14, max LVT entry 5 */
#define APIC_SVR_ENABLE  (1u << 8)
#define APIC_LVT_MASKED  (1u << 16)
#define APIC_ESR_ILLEGAL_REG (1u << 7)
#define LAPIC_LVT_COUNT  6            /* timer, thermal, perf, LINT0, LINT1, error */

enum apic_mode { APIC_MODE_DISABLED, APIC_MODE_XAPIC, APIC_MODE_X2APIC };

struct lapic {
    uint32_t id;                /* x2APIC ID: the vCPU's index */
    uint64_t apic_base;         /* IA32_APIC_BASE */
    uint64_t base_reserved;     /* its reserved bits (beyond MAXPHYADDR too) */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t esr, esr_pending;  /* visible ESR, errors since the last ESR write */
    uint32_t isr[8], tmr[8], irr[8];
    uint32_t lvt[LAPIC_LVT_COUNT];
    uint32_t icr_lo, icr_hi;
    uint32_t timer_initial, timer_divide;
};

/* Power-up state (SDM Vol. 3A 11.4.7.1): xAPIC mode, enabled, at 0xFEE00000.
 * phys_bits is the guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]). */
void lapic_init(struct lapic *l, uint32_t id, bool bsp, unsigned phys_bits);
enum apic_mode lapic_mode(const struct lapic *l);

/* IA32_APIC_BASE and the x2APIC MSRs: false means #GP(0). */
bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val);
bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val);

/* An access to the xAPIC page at offset off (0..0xFFF). False: the xAPIC page is
 * switched off (the APIC is disabled or in x2APIC mode) and the access reaches
 * no device. Only 32-bit accesses at 16-byte aligned offsets reach a register;
 * other reads return 0 and other writes are dropped. */
bool lapic_mmio_read(struct lapic *l, uint32_t off, unsigned size, uint32_t *val);
bool lapic_mmio_write(struct lapic *l, uint32_t off, unsigned size, uint32_t val);

/* CR8 is TPR[7:4] (SDM Vol. 3A 11.8.6): for the backends to keep them in step. */
uint8_t lapic_get_cr8(const struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint8_t cr8);
#endif
