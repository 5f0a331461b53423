#ifndef DEV_UART16550_H
#define DEV_UART16550_H
#include <stdint.h>
struct vm;
#define UART_LINE_MAX 160
/* A 16550 as a guest driver sees it (PC16550D data sheet): transmit only for now;
 * the receiver stays empty. Output is printed line by line as "[VM] line". */
struct uart16550 {
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    char line[UART_LINE_MAX];
    unsigned len;
};
int uart16550_attach(struct vm *vm, uint16_t base);
void uart16550_flush(struct vm *vm);
#endif
