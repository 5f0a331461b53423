/* Guest COM1 (PC16550D data sheet, register map table 2). The transmitter is always
 * ready (LSR.THRE|TEMT), so a polling driver never waits; bytes are collected into
 * lines for the sink. An interrupt-driven driver (Linux's 8250) gets the THRE
 * interrupt: pending while IER.ETBEI is set and the (always empty) holding
 * register has not been refilled since the last IIR read that reported it. */
#include <stdbool.h>
#include "arch/pc.h"
#include "dev/uart16550.h"

enum { REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };
#define LSR_THRE_TEMT 0x60
#define IIR_NO_INT    0x01
#define IIR_THRE      0x02   /* source: transmitter holding register empty */
#define IER_ETBEI     0x02   /* enable THRE interrupt */
#define MCR_OUT2      0x08   /* on the PC, gates the UART's interrupt onto its IRQ line */
#define IIR_FIFO_ON   0xC0
#define FCR_FIFO_EN   0x01
#define MCR_LOOP      0x10
#define MSR_LOOP_MASK 0xF0   /* in loopback, MSR reflects MCR outputs */

void uart16550_init(struct uart16550 *u, uart16550_emit_fn emit, void *ctx)
{
    *u = (struct uart16550){ .emit = emit, .ctx = ctx };
}

static void emit_line(struct uart16550 *u)
{
    if (u->emit)
        u->emit(u->ctx, u->line, u->len);
    u->len = 0;
}

static void put_byte(struct uart16550 *u, uint8_t c)
{
    if (c == '\r')
        return;
    if (c == '\n') {
        emit_line(u);
        return;
    }
    u->line[u->len++] = (char)c;
    if (u->len == UART_LINE_MAX)
        emit_line(u);
}

void uart16550_flush(struct uart16550 *u)
{
    if (u->len)
        emit_line(u);
}

void uart16550_write(struct uart16550 *u, unsigned reg, uint8_t b)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (reg & 7) {
    case REG_DATA:
        if (dlab) {
            u->dll = b;
        } else {
            put_byte(u, b);
            /* Sent at once: the holding register is empty again, which is a new
             * THRE interrupt (data sheet: cleared by writing THR, set when THR
             * empties). */
            u->thre_pending = true;
        }
        break;
    case REG_IER:
        if (dlab) {
            u->dlm = b;
        } else {
            /* Enabling ETBEI while THR is empty raises THRE at once (data sheet
             * 8.5; Linux's 8250 probes exactly this at startup). */
            if ((b & IER_ETBEI) && !(u->ier & IER_ETBEI))
                u->thre_pending = true;
            u->ier = b & 0x0F;
        }
        break;
    case REG_IIR_FCR: u->fcr = b; break;
    case REG_LCR: u->lcr = b; break;
    case REG_MCR: u->mcr = b & 0x1F; break;
    case REG_SCR: u->scr = b; break;
    default: break;                 /* LSR, MSR: read-only */
    }
}

bool uart16550_irq(const struct uart16550 *u)
{
    return (u->mcr & MCR_OUT2) && (u->ier & IER_ETBEI) && u->thre_pending;
}

uint8_t uart16550_read(struct uart16550 *u, unsigned reg)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (reg & 7) {
    case REG_DATA: return dlab ? u->dll : 0;
    case REG_IER: return dlab ? u->dlm : u->ier;
    case REG_IIR_FCR: {
        uint8_t fifo = (u->fcr & FCR_FIFO_EN) ? IIR_FIFO_ON : 0;
        if ((u->ier & IER_ETBEI) && u->thre_pending) {
            u->thre_pending = false;    /* reading IIR with THRE as source clears it */
            return IIR_THRE | fifo;
        }
        return IIR_NO_INT | fifo;
    }
    case REG_LCR: return u->lcr;
    case REG_MCR: return u->mcr;
    case REG_LSR: return LSR_THRE_TEMT;
    case REG_MSR: return (u->mcr & MCR_LOOP) ? (uint8_t)((u->mcr & 0x0F) << 4) & MSR_LOOP_MASK : 0;
    default: return u->scr;
    }
}

enum bus_result uart16550_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                     bool write, uint64_t *val)
{
    struct uart16550 *u = dev;
    (void)v; (void)size;               /* a wider access reaches the one register */
    if (write)
        uart16550_write(u, (unsigned)offset, (uint8_t)*val);
    else
        *val = uart16550_read(u, (unsigned)offset);
    bool level = uart16550_irq(u);
    if (level != u->irq_level && u->host) {
        u->irq_level = level;
        u->host->set_isa_irq(u->host->ctx, UART_COM1_IRQ, level);
    }
    return BUS_OK;
}
