/* The host's COM1: a polled 16550 (PC16550D data sheet). hv86 never takes serial
 * interrupts; output waits for THRE. */
#include "arch/pc.h"
#include "kernel/serial.h"
#include "kernel/x86.h"

#define COM1 0x3f8
#define UART_THR 0   /* transmit holding (DLAB=0) */
#define UART_DLL 0   /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLH 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LCR_8N1  0x03
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_DTR_RTS 0x03
#define FCR_ENABLE_CLEAR 0x07
#define DIVISOR_115200 1

void serial_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DLL, DIVISOR_115200);
    outb(COM1 + UART_DLH, 0);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
    outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

/* Wait until the transmitter is empty (LSR.TEMT): before powering off, or the
 * last characters are lost (Bochs drops them). */
void serial_drain(void)
{
    for (int i = 0; i < 1000000 && !(inb(COM1 + UART_LSR) & LSR_TEMT); i++)
        ;
}

void serial_putc(char c)
{
    /* Bounded wait: a missing UART must not hang the hypervisor. */
    for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
        ;
    outb(COM1 + UART_THR, (uint8_t)c);
}
