/* The host's own local APIC (SDM Vol. 3A ch. 11), in xAPIC (MMIO at 0xFEE00000)
 * or x2APIC (MSRs 0x800+) mode, whichever the firmware left on. The guests'
 * local APICs are device models (dev/lapic.c); this is the real one. */
#ifndef KERNEL_HOST_APIC_H
#define KERNEL_HOST_APIC_H
#include <stdint.h>

/* Register offsets in the xAPIC page (SDM Vol. 3A Table 11-1). */
#define LAPIC_ID          0x020
#define LAPIC_EOI         0x0B0
#define LAPIC_SVR         0x0F0
#define LAPIC_ICR_LO      0x300
#define LAPIC_ICR_HI      0x310
#define LAPIC_LVT_TIMER   0x320
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_CUR   0x390
#define LAPIC_TIMER_DIV   0x3E0
#define LAPIC_SVR_ENABLE  (1u << 8)
#define LAPIC_SPURIOUS_VECTOR 0xFF
#define LAPIC_LVT_MASKED  (1u << 16)

/* ICR fields (SDM Vol. 3A 11.6.1, Figure 11-12). */
#define ICR_DELIVERY_FIXED   (0u << 8)
#define ICR_DELIVERY_NMI     (4u << 8)
#define ICR_DELIVERY_INIT    (5u << 8)
#define ICR_DELIVERY_STARTUP (6u << 8)
#define ICR_SEND_PENDING     (1u << 12)   /* xAPIC only */
#define ICR_LEVEL_ASSERT     (1u << 14)
#define ICR_TRIGGER_LEVEL    (1u << 15)
#define ICR_ALL_BUT_SELF     (3u << 18)

/* Read whether the firmware left x2APIC mode on; software-enable the APIC. */
void host_apic_init(void);
uint32_t host_apic_read(uint32_t off);
void host_apic_write(uint32_t off, uint32_t v);
/* This CPU's APIC ID (x2APIC: 32 bits; xAPIC: bits 31:24 of the ID register). */
uint32_t host_apic_id(void);
void host_apic_eoi(void);
/* Send an IPI: icr_lo (vector, delivery mode, level, shorthand) to apic_id
 * (ignored with a shorthand); returns once the local APIC accepted it. */
void host_apic_send_ipi(uint32_t apic_id, uint32_t icr_lo);
#endif
