/* The host console: COM1, shared by hv86's own messages and the guests' output. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H
#include <stdarg.h>

void console_init(void);
void console_putc(char c);
/* Hold the console across several prints that make one line (nests). */
void console_lock(void);
void console_unlock(void);
/* Panic: stop locking (a stopped CPU may hold the lock). */
void console_break_lock(void);
void console_write(const char *s, unsigned long len);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* Print a message and stop this CPU: "hv86: panic: ..." plus registers. */
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#endif
