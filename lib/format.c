/* Freestanding snprintf: see format.h for the contract.
 *
 * No libc calls at all, and no 64-bit division either: on -m32 (the test guests)
 * gcc would turn a uint64_t '/' into a call to libgcc's __udivdi3, which the guest
 * runtime does not link. Digits come from divmod_small() instead, which only uses
 * 32-bit operations; the host tests run the same code path. */
#include "lib/format.h"
#include <stdint.h>
#include <stdbool.h>

/* Where the characters go: buf[0..size-1]; len counts every character produced,
 * including those that did not fit, because that is what we must return. */
struct sink {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct sink *s, char c)
{
	if (s->len + 1 < s->size) /* keep the last byte for the NUL */
		s->buf[s->len] = c;
	s->len++;
}

static void put_n(struct sink *s, char c, int n)
{
	while (n-- > 0)
		put(s, c);
}

static void put_str(struct sink *s, const char *p, int n)
{
	while (n-- > 0)
		put(s, *p++);
}

/* Length of p, but never look at more than max bytes: with "%.3s" the argument
 * need not be NUL-terminated at all (C99 7.19.6.1p8). */
static int bounded_strlen(const char *p, int max)
{
	int n = 0;
	while ((max < 0 || n < max) && p[n])
		n++;
	return n;
}

/* *v /= base, returning the remainder, for base <= 16, with 32-bit operations only
 * (schoolbook long division in 32/16/16-bit digits; each partial dividend is below
 * base * 2^16, so it fits in 32 bits). */
static unsigned divmod_small(uint64_t *v, unsigned base)
{
	uint32_t hi = (uint32_t)(*v >> 32), lo = (uint32_t)*v;
	uint32_t qhi = hi / base, r = hi % base;
	uint32_t t = (r << 16) | (lo >> 16);
	uint32_t q1 = t / base;
	r = t % base;
	t = (r << 16) | (lo & 0xffffu);
	uint32_t q0 = t / base;
	r = t % base;
	*v = ((uint64_t)qhi << 32) | (q1 << 16) | q0;
	return r;
}

enum {
	F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16,
};

enum length { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_J, L_T };

/* One integer conversion. prec < 0 means "no precision given". */
static void put_int(struct sink *s, uint64_t mag, bool neg, unsigned base,
		    bool upper, unsigned flags, int width, int prec, bool is_signed)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24]; /* 2^64 in octal is 22 digits */
	int nd = 0;
	uint64_t v = mag;

	/* "The result of converting a zero value with a precision of zero is no
	 * characters" (C99 7.19.6.1p8). */
	if (!(mag == 0 && prec == 0)) {
		do
			tmp[nd++] = digits[divmod_small(&v, base)];
		while (v);
	}

	char sign = 0;
	if (is_signed) {
		if (neg)
			sign = '-';
		else if (flags & F_PLUS)
			sign = '+';
		else if (flags & F_SPACE)
			sign = ' ';
	}

	const char *prefix = "";
	int plen = 0;
	if ((flags & F_ALT) && base == 16 && mag != 0) {
		prefix = upper ? "0X" : "0x";
		plen = 2;
	}

	int zeros = prec > nd ? prec - nd : 0;
	/* '#' with 'o' raises the precision just enough for a leading 0. */
	if ((flags & F_ALT) && base == 8 && zeros == 0 && (nd == 0 || tmp[nd - 1] != '0'))
		zeros = 1;

	int total = (sign ? 1 : 0) + plen + zeros + nd;
	int pad = width > total ? width - total : 0;

	/* '0' pads after the sign and prefix, and is ignored when a precision is
	 * given or '-' is present (C99 7.19.6.1p6). */
	if ((flags & F_ZERO) && !(flags & F_LEFT) && prec < 0) {
		zeros += pad;
		pad = 0;
	}
	if (!(flags & F_LEFT))
		put_n(s, ' ', pad);
	if (sign)
		put(s, sign);
	put_str(s, prefix, plen);
	put_n(s, '0', zeros);
	while (nd > 0)
		put(s, tmp[--nd]);
	if (flags & F_LEFT)
		put_n(s, ' ', pad);
}

/* A string (or a %c) padded to width; '0' does not apply to strings. */
static void put_padded(struct sink *s, const char *p, int n, unsigned flags, int width)
{
	int pad = width > n ? width - n : 0;
	if (!(flags & F_LEFT))
		put_n(s, ' ', pad);
	put_str(s, p, n);
	if (flags & F_LEFT)
		put_n(s, ' ', pad);
}

/* Read a decimal number, saturating instead of overflowing int. */
static int read_num(const char **fmt)
{
	int n = 0;
	while (**fmt >= '0' && **fmt <= '9') {
		int d = *(*fmt)++ - '0';
		n = n > (INT32_MAX - d) / 10 ? INT32_MAX : n * 10 + d;
	}
	return n;
}

/* Fetch a signed argument of the given length as a sign and a magnitude. The
 * magnitude is computed in unsigned arithmetic so INT64_MIN does not overflow. */
static uint64_t arg_signed(va_list *ap, enum length len, bool *neg)
{
	int64_t v;
	switch (len) {
	case L_HH: v = (signed char)va_arg(*ap, int); break;
	case L_H:  v = (short)va_arg(*ap, int); break;
	case L_L:  v = va_arg(*ap, long); break;
	case L_LL: v = va_arg(*ap, long long); break;
	case L_Z:  v = va_arg(*ap, ptrdiff_t); break; /* the signed twin of size_t */
	case L_J:  v = va_arg(*ap, intmax_t); break;
	case L_T:  v = va_arg(*ap, ptrdiff_t); break;
	default:   v = va_arg(*ap, int); break;
	}
	*neg = v < 0;
	return *neg ? 0 - (uint64_t)v : (uint64_t)v;
}

static uint64_t arg_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case L_HH: return (unsigned char)va_arg(*ap, unsigned);
	case L_H:  return (unsigned short)va_arg(*ap, unsigned);
	case L_L:  return va_arg(*ap, unsigned long);
	case L_LL: return va_arg(*ap, unsigned long long);
	case L_Z:  return va_arg(*ap, size_t);
	case L_J:  return va_arg(*ap, uintmax_t);
	/* The unsigned twin of ptrdiff_t has its size. */
	case L_T:  return (size_t)va_arg(*ap, ptrdiff_t);
	default:   return va_arg(*ap, unsigned);
	}
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct sink s = { buf, size, 0 };
	va_list ap;

	/* Work on a copy so helpers can take its address portably (va_list is an
	 * array type on x86-64, a pointer on i386). */
	va_copy(ap, ap_in);
	while (*fmt) {
		if (*fmt != '%') {
			put(&s, *fmt++);
			continue;
		}
		const char *start = fmt++;

		unsigned flags = 0;
		for (;; fmt++) {
			if (*fmt == '-') flags |= F_LEFT;
			else if (*fmt == '0') flags |= F_ZERO;
			else if (*fmt == '+') flags |= F_PLUS;
			else if (*fmt == ' ') flags |= F_SPACE;
			else if (*fmt == '#') flags |= F_ALT;
			else break;
		}

		int width = 0;
		if (*fmt == '*') {
			fmt++;
			width = va_arg(ap, int);
			if (width < 0) { /* a negative '*' width is a '-' flag */
				flags |= F_LEFT;
				width = width == INT32_MIN ? INT32_MAX : -width;
			}
		} else {
			width = read_num(&fmt);
		}

		int prec = -1;
		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				fmt++;
				prec = va_arg(ap, int);
				if (prec < 0) /* "taken as if the precision were omitted" */
					prec = -1;
			} else {
				prec = read_num(&fmt);
			}
		}

		enum length len = L_NONE;
		switch (*fmt) {
		case 'h':
			fmt++;
			len = L_H;
			if (*fmt == 'h') { fmt++; len = L_HH; }
			break;
		case 'l':
			fmt++;
			len = L_L;
			if (*fmt == 'l') { fmt++; len = L_LL; }
			break;
		case 'z': fmt++; len = L_Z; break;
		case 'j': fmt++; len = L_J; break;
		case 't': fmt++; len = L_T; break;
		default: break;
		}

		char conv = *fmt;
		if (conv == '\0') { /* a lone '%' at the end: print what we saw */
			put_str(&s, start, (int)(fmt - start));
			break;
		}
		fmt++;

		bool neg = false;
		uint64_t v;
		switch (conv) {
		case 'd':
		case 'i':
			v = arg_signed(&ap, len, &neg);
			put_int(&s, v, neg, 10, false, flags, width, prec, true);
			break;
		case 'u':
			put_int(&s, arg_unsigned(&ap, len), false, 10, false, flags, width, prec, false);
			break;
		case 'x':
		case 'X':
			put_int(&s, arg_unsigned(&ap, len), false, 16, conv == 'X', flags, width,
				prec, false);
			break;
		case 'o':
			put_int(&s, arg_unsigned(&ap, len), false, 8, false, flags, width, prec, false);
			break;
		case 'p': {
			void *p = va_arg(ap, void *);
			if (!p)
				put_padded(&s, "(nil)", 5, flags, width);
			else
				put_int(&s, (uintptr_t)p, false, 16, false, flags | F_ALT, width,
					prec, false);
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			put_padded(&s, str, bounded_strlen(str, prec), flags, width);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			put_padded(&s, &c, 1, flags, width);
			break;
		}
		case '%':
			put(&s, '%');
			break;
		default: /* unknown (or %n): copy the whole spec, consume no argument */
			put_str(&s, start, (int)(fmt - start));
			break;
		}
	}
	va_end(ap);

	if (size > 0)
		buf[s.len < size ? s.len : size - 1] = '\0';
	/* C99 wants a negative value when the length does not fit in an int. */
	return s.len > (size_t)INT32_MAX ? -1 : (int)s.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
