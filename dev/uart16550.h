/* A 16550 UART as a guest driver sees it (PC16550D data sheet): a pure register
 * model, transmit only for now (the receiver stays empty), with the THRE
 * interrupt. Complete output lines
 * go to a callback, which the platform glue (vmm/platform.c) prints. */
#ifndef DEV_UART16550_H
#define DEV_UART16550_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"

#define UART_LINE_MAX 160
#define UART_PORTS    8       /* registers at base + 0..7 */
#define UART_COM1_IRQ 4       /* the PC's COM1 ISA IRQ */

/* One line of output, without its '\n' (and with '\r' dropped). */
typedef void (*uart16550_emit_fn)(void *ctx, const char *line, unsigned len);

struct uart16550 {
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thre_pending;        /* THRE interrupt raised and not yet cleared */
    char line[UART_LINE_MAX];
    unsigned len;
    uart16550_emit_fn emit;
    void *ctx;
    const struct dev_host *host;  /* its IRQ line (COM1's IRQ 4); NULL: none */
    bool irq_level;           /* the line as last driven */
};

/* The state after reset, with the line sink. */
void uart16550_init(struct uart16550 *u, uart16550_emit_fn emit, void *ctx);
/* A byte access to register reg (0..7). */
uint8_t uart16550_read(struct uart16550 *u, unsigned reg);
void uart16550_write(struct uart16550 *u, unsigned reg, uint8_t val);
/* The level of the UART's interrupt line (after the PC's OUT2 gate). */
bool uart16550_irq(const struct uart16550 *u);
/* Emit a partial line, if any (when the VM ends). */
void uart16550_flush(struct uart16550 *u);
/* The bus handler (dev/bus.h) of the 8 registers: the access, then IRQ 4 to
 * the level the interrupt conditions give. */
enum bus_result uart16550_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                     bool write, uint64_t *val);
#endif
