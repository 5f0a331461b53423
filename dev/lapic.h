/* A local APIC model for one vCPU (Intel SDM Vol. 3A ch. 11): the xAPIC page at
 * 0xFEE00000, the x2APIC MSRs 0x800-0x8FF, IA32_APIC_BASE and IA32_TSC_DEADLINE;
 * interrupt acceptance (IRR, ISR, TMR, PPR), EOI, the timer (one-shot, periodic,
 * TSC-deadline) and the error register. A pure model: time comes from a clock
 * the caller gives, and what concerns other APICs (an IPI to send, the EOI of a
 * level-triggered vector) is left in the struct for the caller (vmm/irq.c). */
#ifndef DEV_LAPIC_H
#define DEV_LAPIC_H
#include <stdbool.h>
#include <stdint.h>
#include "arch/x86.h"     /* LAPIC_BASE, APIC_BASE_* (IA32_APIC_BASE bits) */

#define LAPIC_SIZE        0x1000u
#define LAPIC_MSR_BASE    MSR_APIC_BASE
#define LAPIC_MSR_TSC_DEADLINE 0x6E0u  /* IA32_TSC_DEADLINE (11.5.4.1) */
#define X2APIC_MSR_FIRST  0x800u
#define X2APIC_MSR_COUNT  0x100u

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
#define APIC_VECTOR_MASK 0xFFu
#define APIC_PRIO_CLASS(v) ((v) >> 4)  /* priority class of a vector (11.8.3) */
#define APIC_FIRST_VALID_VECTOR 16     /* 0-15 are illegal (11.5.2) */
/* LVT entries (Figure 11-8). */
#define APIC_LVT_DM_SHIFT 8
#define APIC_LVT_DM      (7u << APIC_LVT_DM_SHIFT)
#define APIC_LVT_DM_NMI  (4u << APIC_LVT_DM_SHIFT)
#define APIC_LVT_DM_EXTINT (7u << APIC_LVT_DM_SHIFT)
#define APIC_LVT_MASKED  (1u << 16)
#define APIC_TIMER_MODE_SHIFT 17
#define APIC_TIMER_MODE  (3u << APIC_TIMER_MODE_SHIFT)
enum apic_timer_mode { APIC_TIMER_ONESHOT, APIC_TIMER_PERIODIC, APIC_TIMER_TSC_DEADLINE };
/* ICR (Figure 11-12). */
#define APIC_ICR_DM_SHIFT 8
#define APIC_ICR_DM      (7u << APIC_ICR_DM_SHIFT)
#define APIC_DM_FIXED    0u            /* delivery modes, ICR bits 10:8 */
#define APIC_DM_LOWEST   1u
#define APIC_ICR_LOGICAL (1u << 11)
#define APIC_ICR_ASSERT  (1u << 14)
#define APIC_ICR_LEVEL   (1u << 15)
#define APIC_ICR_SHORTHAND_SHIFT 18
#define APIC_ICR_SHORTHAND (3u << APIC_ICR_SHORTHAND_SHIFT)
enum apic_shorthand { APIC_DEST_NONE, APIC_DEST_SELF, APIC_DEST_ALL, APIC_DEST_OTHERS };
#define APIC_XAPIC_DEST_SHIFT 24      /* ICR high: bits 63:56 */
#define APIC_XAPIC_BROADCAST 0xFFu
#define APIC_X2APIC_BROADCAST 0xFFFFFFFFu
/* ESR (Figure 11-9). */
#define APIC_ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define APIC_ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define APIC_ESR_ILLEGAL_REG (1u << 7)
#define LAPIC_LVT_COUNT  6            /* timer, thermal, perf, LINT0, LINT1, error */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

/* The timer counts at the bus clock divided by DCR: hv86's bus runs at 1 GHz,
 * like QEMU's and KVM's, so one count is DCR's divisor in nanoseconds. */
#define LAPIC_BUS_HZ     1000000000ull
#define LAPIC_NEVER      UINT64_MAX

/* Where the model's time comes from: monotonic nanoseconds, and the guest's TSC
 * with its rate (for IA32_TSC_DEADLINE). */
struct lapic_clock {
    uint64_t (*ns)(void);
    uint64_t (*tsc)(void);
    uint64_t (*tsc_hz)(void);
};

enum apic_mode { APIC_MODE_DISABLED, APIC_MODE_XAPIC, APIC_MODE_X2APIC };

struct lapic {
    uint32_t id;                /* x2APIC ID: the vCPU's index */
    uint64_t apic_base;         /* IA32_APIC_BASE */
    uint64_t base_reserved;     /* its reserved bits (beyond MAXPHYADDR too) */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t esr, esr_pending;  /* visible ESR, errors since the last ESR write */
    uint32_t isr[8], tmr[8], irr[8];
    unsigned irr_count;         /* bits set in IRR: a quick "nothing pending" */
    uint32_t lvt[LAPIC_LVT_COUNT];
    uint32_t icr_lo, icr_hi;
    uint32_t timer_initial, timer_divide;
    const struct lapic_clock *clock;   /* NULL: time stands still at 0 */
    const uint64_t *tsc_offset; /* the guest's TSC is clock->tsc() plus this; NULL: 0 */
    uint64_t timer_next;        /* ns of the next expiry; LAPIC_NEVER: idle */
    uint64_t timer_period;      /* ns from start to expiry (periodic reload) */
    uint64_t tsc_deadline;      /* IA32_TSC_DEADLINE as written; 0: disarmed */
    /* For the caller, after each access: */
    bool icr_sent;              /* the ICR was written: send the IPI it holds */
    int eoi_level;              /* >= 0: a level-triggered vector got its EOI */
#define LAPIC_NO_EOI (-1)
};

/* Power-up state (SDM Vol. 3A 11.4.7.1): xAPIC mode, enabled, at 0xFEE00000,
 * LVT entries masked; but the BSP's LINT0 is in ExtINT mode, unmasked: the
 * "virtual wire" a PC BIOS leaves for the 8259 (MP spec 3.6.2.2; QEMU's APIC
 * resets so, too). phys_bits is the guest's MAXPHYADDR (CPUID 0x80000008
 * EAX[7:0]). The clock is set apart (l->clock). */
void lapic_init(struct lapic *l, uint32_t id, bool bsp, unsigned phys_bits);
enum apic_mode lapic_mode(const struct lapic *l);

/* IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs: false means #GP(0). */
bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val);
bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val);

/* An access to the xAPIC page at offset off (0..0xFFF). False: the xAPIC page is
 * switched off (the APIC is disabled or in x2APIC mode) and the access reaches
 * no device. Only 32-bit accesses at 16-byte aligned offsets reach a register;
 * other reads return 0 and other writes are dropped. */
bool lapic_mmio_read(struct lapic *l, uint32_t off, unsigned size, uint32_t *val);
bool lapic_mmio_write(struct lapic *l, uint32_t off, unsigned size, uint32_t val);

/* --- interrupts (11.8) --- */
/* A fixed interrupt arrives (11.8.4): into IRR, and TMR set if level-triggered.
 * Dropped while the APIC is disabled, in hardware or software (11.4.7.2, as
 * KVM does); vectors 0-15 are dropped and logged in the ESR (11.5.3). */
void lapic_accept(struct lapic *l, uint8_t vector, bool level);
/* The interrupt the APIC presents to the processor: the highest IRR vector whose
 * priority class is above PPR's (11.8.3.1), or -1. */
int lapic_highest(const struct lapic *l);
/* The highest IRR vector, presentable or not; -1 if IRR is empty. */
int lapic_highest_irr(const struct lapic *l);
/* The processor took vector (INTA): it moves from IRR to ISR (11.8.4). */
void lapic_ack(struct lapic *l, uint8_t vector);
uint32_t lapic_ppr(const struct lapic *l);
/* LINT0 lets the 8259's INTR through as ExtINT: LVT LINT0 unmasked in ExtINT
 * mode, or the APIC disabled in IA32_APIC_BASE (the pin then bypasses it). */
bool lapic_extint(const struct lapic *l);
/* Does destination dest (physical APIC ID or logical MDA, 11.6.2) name it? */
bool lapic_match(const struct lapic *l, uint32_t dest, bool logical);

/* --- IPIs and processor start-up (11.6, 9.4) --- */
/* Does the IPI in from's ICR (just written) reach `to`, an APIC of the same VM?
 * The destination shorthand (self, all including self, all excluding self),
 * else the destination field (8 bits in xAPIC mode, 32 in x2APIC mode) in the
 * ICR's destination mode (lapic_match). from == to is the sender itself. */
bool lapic_ipi_reaches(const struct lapic *from, const struct lapic *to);
/* Lowest-priority delivery (11.6.2.4) among n candidate APICs: the index of the
 * one with the lowest processor priority (PPR, the TPR as the model last saw
 * it, or the in-service class if higher); ties go to the lowest index (the
 * lowest APIC ID, as the caller lists them in ID order). hv86's choice is
 * deterministic: no focus processor, no rotation. -1 if n is 0. */
int lapic_lowest_priority(const struct lapic *const *cand, unsigned n);
/* An INIT (11.4.7.3): every register as at power-up but the APIC ID and
 * IA32_APIC_BASE (xAPIC or x2APIC mode is kept, 11.12.5.1); LINT0 masked. */
void lapic_init_ipi(struct lapic *l);

/* --- the timer (11.5.4) --- */
/* Fire what has expired by now (the LVT timer vector into IRR unless masked;
 * periodic reloads, missed periods coalescing as in IRR). */
void lapic_timer_poll(struct lapic *l);
/* When the timer raises its interrupt next (clock ns); LAPIC_NEVER if it is
 * idle or masked. */
uint64_t lapic_timer_next(const struct lapic *l);

/* CR8 is TPR[7:4] (SDM Vol. 3A 11.8.6): for the backends to keep them in step. */
uint8_t lapic_get_cr8(const struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint8_t cr8);

/* --- for the core's interrupt delivery (vmm/irq.c): the model's state through
 * these functions only, never its fields (inline: they run at every APIC
 * access) --- */
void lapic_set_clock(struct lapic *l, const struct lapic_clock *clock);
/* The TPR as the model last saw it (11.8.3.1). */
static inline uint32_t lapic_tpr(const struct lapic *l)
{
    return l->tpr;
}
/* Nothing in IRR: nothing to present, whatever the TPR (a quick test). */
static inline bool lapic_irr_empty(const struct lapic *l)
{
    return l->irr_count == 0;
}
/* An ICR write left an IPI to send: true once per write, with the ICR's low
 * half (delivery mode, vector, destination mode and shorthand) in *icr_lo. The
 * destination is matched with lapic_ipi_reaches, before the next ICR write. */
static inline bool lapic_take_ipi(struct lapic *l, uint32_t *icr_lo)
{
    if (!l->icr_sent)
        return false;
    l->icr_sent = false;
    *icr_lo = l->icr_lo;
    return true;
}
/* A level-triggered vector took its EOI (the EOI broadcast to the IOAPICs,
 * 11.8.5): its vector once, else LAPIC_NO_EOI (-1). */
static inline int lapic_take_eoi(struct lapic *l)
{
    int vector = l->eoi_level;
    l->eoi_level = LAPIC_NO_EOI;
    return vector;
}
#endif
