/* The PC's interrupt controllers and timers for the test guests (docs/platform.md):
 * the 8259 pair, PIT counter 2 as a clock (the way Linux calibrates with it), the
 * IOAPIC's registers and the CMOS/RTC. Each helper is the plain port or MMIO
 * sequence the data sheets give, so it runs under hv86 and QEMU alike. */
#ifndef GUESTS_RT_PC_H
#define GUESTS_RT_PC_H
#include <stdbool.h>
#include <stdint.h>

/* --- 8259 pair (Intel 8259A data sheet) ------------------------------------ */
#define PC_PIC_MASTER_VECTOR 0x20      /* IRQ n at vector base + n */
#define PC_PIC_SLAVE_VECTOR  0x28
#define PC_PIC_CASCADE_IRQ   2
/* Initialize both (edge, cascade on IR2, 8086 mode) at the vectors above, all
 * IRQs masked. */
void pc_pic_init(void);
/* Unmask exactly the IRQs of mask (bit n = IRQ n); a slave IRQ unmasks IRQ 2.
 * pc_pic_unmask(0) masks them all. */
void pc_pic_unmask(uint16_t mask);
/* The non-specific EOI for irq: to the slave and the master for IRQs 8-15. */
void pc_pic_eoi(unsigned irq);

/* --- PIT (Intel 82C54 data sheet) and port 0x61 ----------------------------- */
#define PC_PIT_HZ       1193182u
#define PC_PIT_COUNTER0 0x40
#define PC_PIT_COUNTER2 0x42
#define PC_PIT_CTRL     0x43
#define PC_PORT61       0x61
#define PC_PORT61_GATE2 0x01
#define PC_PORT61_SPEAKER 0x02
#define PC_PORT61_OUT2  0x20
/* Control words: counter << 6 | access << 4 | mode << 1 (binary counting). */
#define PC_PIT_CW(counter, access, mode) ((uint8_t)((counter) << 6 | (access) << 4 | (mode) << 1))
#define PC_PIT_LSB_MSB  3
#define PC_PIT_LATCH    0
/* Counter 2 counts count clocks in mode 0 (GATE high, speaker off): OUT2 rises
 * at the end. */
void pc_pit2_start(uint16_t count);
bool pc_pit2_out(void);
/* Counter c's count through the counter latch command. */
uint16_t pc_pit_latch(unsigned c);
/* Poll cond(arg) until it holds, for at most ms milliseconds measured with
 * counter 2 (NULL: just wait), which is read after every few polls of cond;
 * interrupts stay as they are. True if it held. */
bool pc_poll(bool (*cond)(void *), void *arg, unsigned ms);
/* The same with interrupts enabled, until *count >= n (NULL: just wait): each
 * poll of port 0x61 is an exit, at which hv86 delivers what is due. */
bool pc_wait(volatile unsigned *count, unsigned n, unsigned ms);

/* --- IOAPIC (Intel 82093AA data sheet) -------------------------------------- */
#define PC_IOAPIC_BASE   0xFEC00000u
#define PC_IOAPIC_ID     0x00
#define PC_IOAPIC_VER    0x01
#define PC_IOAPIC_REDTBL 0x10
#define PC_RTE_LEVEL       (1u << 15)
#define PC_RTE_REMOTE_IRR  (1u << 14)
#define PC_RTE_MASKED      (1u << 16)
#define PC_RTE_DEST_SHIFT  56
uint32_t pc_ioapic_read(unsigned reg);
void pc_ioapic_write(unsigned reg, uint32_t val);
/* Redirection entry pin, both halves (the high half first, so that an unmasked
 * low half never goes out with a stale destination). */
void pc_ioapic_set(unsigned pin, uint64_t rte);
uint64_t pc_ioapic_get(unsigned pin);

/* --- CMOS/RTC (Motorola MC146818A data sheet) ------------------------------- */
#define PC_CMOS_INDEX  0x70
#define PC_CMOS_DATA   0x71
#define PC_RTC_A 0x0A
#define PC_RTC_B 0x0B
#define PC_RTC_C 0x0C
#define PC_RTC_D 0x0D
#define PC_RTC_A_UIP   0x80
#define PC_RTC_B_SET   0x80
#define PC_RTC_B_PIE   0x40
#define PC_RTC_B_UIE   0x10
#define PC_RTC_B_BINARY 0x04
#define PC_RTC_B_24H   0x02
#define PC_RTC_C_IRQF  0x80
#define PC_RTC_C_PF    0x40
#define PC_RTC_C_UF    0x10
#define PC_RTC_IRQ     8
uint8_t pc_cmos_read(unsigned reg);
void pc_cmos_write(unsigned reg, uint8_t val);

/* --- KVM's paravirtual clock, which hv86 offers (Linux msr.rst) ------------ */
#define PC_MSR_KVM_WALL_CLOCK  0x4B564D00u    /* MSR_KVM_WALL_CLOCK_NEW */
#define PC_MSR_KVM_SYSTEM_TIME 0x4B564D01u    /* MSR_KVM_SYSTEM_TIME_NEW */
/* pvclock_vcpu_time_info: packed, 32 bytes; time = ((TSC delta) shifted by
 * shift) * mul / 2^32 ns. */
struct pc_pvclock_time {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags, pad[2];
} __attribute__((packed));
#endif
