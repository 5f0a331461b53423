/* Freestanding snprintf for hv86 (the hypervisor, the test guests and the host
 * unit tests all use this one implementation).
 *
 * C99 semantics: the output is always NUL-terminated when size > 0, and the
 * return value is the length the full output would have had (so a caller can
 * detect truncation with ret >= size). Supported: %d %i %u %x %X %o %p %s %c %%,
 * flags - 0 + space #, width and precision (also *), length modifiers
 * hh h l ll z j t. No floating point (the hypervisor is built with
 * -mgeneral-regs-only) and no %n (a classic format-string attack vector).
 * %s of NULL prints "(null)"; %p of NULL prints "(nil)" like glibc, so host
 * tests can compare against the C library byte for byte.
 * An unknown conversion is copied to the output verbatim, to make the bug visible. */
#ifndef LIB_FORMAT_H
#define LIB_FORMAT_H
#include <stdarg.h>
#include <stddef.h>

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#endif
