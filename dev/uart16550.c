/* Guest COM1 (PC16550D data sheet, register map table 2). The transmitter is always
 * ready (LSR.THRE|TEMT), so a polling driver never waits; bytes go to the host
 * console prefixed with the VM's name. */
#include "dev/uart16550.h"
#include "kernel/console.h"
#include "kernel/mm.h"
#include "vmm/vm.h"

enum { REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };
#define LCR_DLAB      0x80
#define LSR_THRE_TEMT 0x60
#define IIR_NO_INT    0x01
#define IIR_FIFO_ON   0xC0
#define FCR_FIFO_EN   0x01
#define MCR_LOOP      0x10
#define MSR_LOOP_MASK 0xF0   /* in loopback, MSR reflects MCR outputs */

static void emit_line(struct vm *vm, struct uart16550 *u)
{
    kprintf("[%s] ", vm->name);
    console_write(u->line, u->len);
    console_putc('\n');
    u->len = 0;
}

static void put_byte(struct vm *vm, struct uart16550 *u, uint8_t c)
{
    if (c == '\r')
        return;
    if (c == '\n') {
        emit_line(vm, u);
        return;
    }
    u->line[u->len++] = (char)c;
    if (u->len == UART_LINE_MAX)
        emit_line(vm, u);
}

void uart16550_flush(struct vm *vm)
{
    if (vm->uart && vm->uart->len)
        emit_line(vm, vm->uart);
}

static bool uart_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in, uint32_t *val)
{
    struct uart16550 *u = dev;
    unsigned reg = port & 7;
    bool dlab = u->lcr & LCR_DLAB;
    (void)size;
    if (!in) {
        uint8_t b = (uint8_t)*val;
        switch (reg) {
        case REG_DATA: if (dlab) u->dll = b; else put_byte(v->vm, u, b); break;
        case REG_IER: if (dlab) u->dlm = b; else u->ier = b & 0x0F; break;
        case REG_IIR_FCR: u->fcr = b; break;
        case REG_LCR: u->lcr = b; break;
        case REG_MCR: u->mcr = b & 0x1F; break;
        case REG_SCR: u->scr = b; break;
        default: break;                 /* LSR, MSR: read-only */
        }
        return true;
    }
    uint8_t r = 0;
    switch (reg) {
    case REG_DATA: r = dlab ? u->dll : 0; break;
    case REG_IER: r = dlab ? u->dlm : u->ier; break;
    case REG_IIR_FCR: r = IIR_NO_INT | ((u->fcr & FCR_FIFO_EN) ? IIR_FIFO_ON : 0); break;
    case REG_LCR: r = u->lcr; break;
    case REG_MCR: r = u->mcr; break;
    case REG_LSR: r = LSR_THRE_TEMT; break;
    case REG_MSR: r = (u->mcr & MCR_LOOP) ? (uint8_t)((u->mcr & 0x0F) << 4) & MSR_LOOP_MASK : 0; break;
    case REG_SCR: r = u->scr; break;
    }
    *val = r;
    return true;
}

int uart16550_attach(struct vm *vm, uint16_t base)
{
    struct uart16550 *u = kmalloc(sizeof *u);
    if (!u)
        return -1;
    vm->uart = u;
    return vm_register_io(vm, base, 8, uart_io, u);
}
