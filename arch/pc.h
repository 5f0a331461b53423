/* Facts of the PC platform around the CPU, once, for the device models (dev/),
 * the host drivers (kernel/) and the table readers (lib/): the 8254's input
 * clock, the 16550's register bits, ACPI table layouts. Header only and pure. */
#ifndef ARCH_PC_H
#define ARCH_PC_H

/* 8254 PIT: the PC's 14.31818 MHz crystal / 12 */
#define PIT_HZ          1193182u

/* 16550 UART (NS16550A data sheet): the line control register's divisor latch
 * access bit, which turns registers 0 and 1 into the baud-rate divisor */
#define LCR_DLAB        0x80

/* ACPI (ACPI 6.5): the RSDP (5.2.5) and the MADT's Processor Local APIC entry
 * (5.2.12.2) */
#define RSDP_ALIGN      16          /* on a 16-byte boundary (5.2.5.1) */
#define RSDP_V1_LEN     20          /* what the first checksum covers */
#define MADT_LAPIC_LEN  8
#endif
