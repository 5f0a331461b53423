/* Console output: everything hv86 and its guests print goes to COM1. One lock
 * keeps lines whole when several CPUs print: each kprintf holds it, and a caller
 * that builds one line from several pieces holds it around them (console_lock
 * nests on the CPU that holds it). */
#include <stdarg.h>
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/serial.h"
#include "kernel/spinlock.h"
#include "lib/format.h"

#define NO_OWNER (-1)

static struct spinlock lock = SPINLOCK_INIT;
static volatile int owner = NO_OWNER;   /* CPU index holding the lock */
static unsigned depth;                  /* nesting on that CPU */
static volatile bool broken;            /* panic: no more locking */

void console_init(void) { serial_init(); }

void console_lock(void)
{
    if (broken)
        return;
    int me = (int)this_cpu()->index;
    if (owner == me) {
        depth++;
        return;
    }
    spin_lock(&lock);
    owner = me;
    depth = 1;
}

void console_unlock(void)
{
    if (broken)
        return;
    if (--depth == 0) {
        owner = NO_OWNER;
        spin_unlock(&lock);
    }
}

void console_break_lock(void) { broken = true; }

void console_putc(char c)
{
    console_lock();
    if (c == '\n')
        serial_putc('\r');
    serial_putc(c);
    console_unlock();
}

void console_write(const char *s, unsigned long len)
{
    console_lock();
    while (len--) {
        if (*s == '\n')
            serial_putc('\r');
        serial_putc(*s++);
    }
    console_unlock();
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
