/* Console output: everything hv86 and its guests print goes to COM1. */
#include <stdarg.h>
#include "kernel/console.h"
#include "kernel/serial.h"
#include "lib/format.h"

void console_init(void) { serial_init(); }

void console_putc(char c)
{
    if (c == '\n')
        serial_putc('\r');
    serial_putc(c);
}

void console_write(const char *s, unsigned long len)
{
    while (len--)
        console_putc(*s++);
}

int kvprintf(const char *fmt, va_list ap)
{
    char buf[512];
    int n = fmt_vsnprintf(buf, sizeof buf, fmt, ap);
    console_write(buf, n < (int)sizeof buf ? (unsigned long)n : sizeof buf - 1);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}
