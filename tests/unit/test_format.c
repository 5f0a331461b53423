/* lib/format: compared byte for byte, and by return value, with the host C
 * library's snprintf over a generated table of conversions, flags, widths,
 * precisions and length modifiers; plus truncation and the extensions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/format.h"

static unsigned long checks;

/* Run both implementations on the same arguments and compare everything. */
#define SAME(...)                                                             \
	do {                                                                  \
		char a_[512], b_[512];                                        \
		memset(a_, 'A', sizeof a_);                                   \
		memset(b_, 'A', sizeof b_);                                   \
		int ra_ = fmt_snprintf(a_, sizeof a_, __VA_ARGS__);           \
		int rb_ = snprintf(b_, sizeof b_, __VA_ARGS__);               \
		checks++;                                                     \
		if (ra_ != rb_ || strcmp(a_, b_) != 0) {                      \
			print_error("format mismatch at %s:%d\n", __FILE__, __LINE__); \
			print_error("  ours: %d \"%s\"\n  libc: %d \"%s\"\n",  \
				    ra_, a_, rb_, b_);                        \
			fail();                                               \
		}                                                             \
	} while (0)

/* The format strings below are built at run time, so -Wformat cannot check them. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"

enum len { LN, LHH, LH, LL, LLL, LZ, LJ, LT, NLEN };
static const char *const len_str[NLEN] = { "", "hh", "h", "l", "ll", "z", "j", "t" };

/* Pass v with the C type the length modifier expects (for a signed conversion
 * if sgn, else unsigned); stars says how many '*' int arguments come first. */
static void call(const char *f, enum len l, int sgn, int nstar, int s1, int s2, uint64_t v)
{
#define DISPATCH(...)                                                          \
	switch (l) {                                                           \
	case LN:  if (sgn) SAME(f, __VA_ARGS__ (int)v); else SAME(f, __VA_ARGS__ (unsigned)v); break; \
	case LHH: if (sgn) SAME(f, __VA_ARGS__ (int)(signed char)v); else SAME(f, __VA_ARGS__ (unsigned)(unsigned char)v); break; \
	case LH:  if (sgn) SAME(f, __VA_ARGS__ (int)(short)v); else SAME(f, __VA_ARGS__ (unsigned)(unsigned short)v); break; \
	case LL:  if (sgn) SAME(f, __VA_ARGS__ (long)v); else SAME(f, __VA_ARGS__ (unsigned long)v); break; \
	case LLL: if (sgn) SAME(f, __VA_ARGS__ (long long)v); else SAME(f, __VA_ARGS__ (unsigned long long)v); break; \
	case LZ:  if (sgn) SAME(f, __VA_ARGS__ (ptrdiff_t)v); else SAME(f, __VA_ARGS__ (size_t)v); break; \
	case LJ:  if (sgn) SAME(f, __VA_ARGS__ (intmax_t)v); else SAME(f, __VA_ARGS__ (uintmax_t)v); break; \
	case LT:  SAME(f, __VA_ARGS__ (ptrdiff_t)v); break;                  \
	default: break;                                                        \
	}
	if (nstar == 0) {
		DISPATCH()
	} else if (nstar == 1) {
		DISPATCH(s1,)
	} else {
		DISPATCH(s1, s2,)
	}
#undef DISPATCH
}

static const uint64_t values[] = {
	0, 1, 7, 8, 9, 10, 15, 16, 100, 127, 128, 255, 256, 4095, 32767, 32768, 65535,
	65536, 123456789, 0x7fffffff, 0x80000000u, 0xffffffffu, 0x100000000ull,
	0xdeadbeefcafef00dull, 0x7fffffffffffffffull, 0x8000000000000000ull,
	0xffffffffffffffffull, (uint64_t)-1 - 41, (uint64_t)-100, (uint64_t)-129,
	1000000000000000000ull, 10000000000000000000ull,
};

static void test_integers_vs_libc(void **state)
{
	(void)state;
	static const char *const flag_sets[] = {
		"", "-", "0", "+", " ", "#", "-0", "+ ", "-+", "0+", "0 ", "#0", "-#",
		"#-0+ ", "00", "--",
	};
	static const char *const widths[] = { "", "1", "2", "5", "12", "25", "*" };
	static const char *const precs[] = { "", ".", ".0", ".1", ".3", ".10", ".22", ".*" };
	static const char convs[] = "diuxXo";
	static const int star_vals[] = { 0, 3, 9, -6, -1 };
	char f[64];

	checks = 0;
	for (size_t fi = 0; fi < sizeof flag_sets / sizeof *flag_sets; fi++)
	for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
	for (size_t pi = 0; pi < sizeof precs / sizeof *precs; pi++)
	for (int l = 0; l < NLEN; l++)
	for (const char *c = convs; *c; c++) {
		int sgn = *c == 'd' || *c == 'i';
		snprintf(f, sizeof f, "[%%%s%s%s%s%c]", flag_sets[fi], widths[wi], precs[pi],
			 len_str[l], *c);
		int nstar = (widths[wi][0] == '*') + (strchr(precs[pi], '*') != NULL);
		for (size_t vi = 0; vi < sizeof values / sizeof *values; vi++) {
			if (nstar == 0) {
				call(f, (enum len)l, sgn, 0, 0, 0, values[vi]);
				continue;
			}
			for (size_t s = 0; s < sizeof star_vals / sizeof *star_vals; s++)
				call(f, (enum len)l, sgn, nstar, star_vals[s],
				     star_vals[(s + 2) % 5], values[vi]);
		}
	}
	print_message("  %lu integer formats compared with libc\n", checks);
}

static void test_strings_chars_vs_libc(void **state)
{
	(void)state;
	static const char *const strs[] = { "", "a", "hello", "hello, world", "x\ty" };
	static const char *const specs[] = {
		"%s", "%10s", "%-10s", "%.0s", "%.3s", "%.20s", "%8.3s", "%-8.3s", "%1s",
		"%05s", "%*s", "%-*s", "%.*s", "%*.*s",
	};
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
		const char *f = specs[i];
		int nstar = (int)(strchr(f, '*') != NULL) + (int)(strrchr(f, '*') != strchr(f, '*'));
		for (size_t j = 0; j < sizeof strs / sizeof *strs; j++) {
			if (nstar == 0)
				SAME(f, strs[j]);
			else if (nstar == 1) {
				SAME(f, 7, strs[j]);
				SAME(f, -7, strs[j]);
				SAME(f, 2, strs[j]);
			} else {
				SAME(f, 9, 2, strs[j]);
				SAME(f, -9, -2, strs[j]);
			}
		}
	}
	static const char *const cspecs[] = { "%c", "%3c", "%-3c", "[%c%c]" };
	for (size_t i = 0; i < sizeof cspecs / sizeof *cspecs; i++)
		for (int c = 1; c < 256; c += 7)
			SAME(cspecs[i], c, c ^ 0x20);
	SAME("%%");
	SAME("100%% sure");
	SAME("plain text, no conversions");
	const char *empty = "";
	SAME(empty);
	SAME("%s=%d %s=%#x %c%c", "a", -1, "b", 255u, 'o', 'k');
}

static void test_pointers_vs_libc(void **state)
{
	(void)state;
	void *ps[] = { (void *)1, (void *)0x1000, (void *)(uintptr_t)0xdeadbeef,
		       (void *)(uintptr_t)0xffff800000001000ull, (void *)UINTPTR_MAX, &checks };
	for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
		SAME("%p", ps[i]);
		SAME("[%20p]", ps[i]);
		SAME("[%-20p]", ps[i]);
		SAME("[%3p]", ps[i]);
	}
	void *nil = NULL;
	SAME("%p", nil);
	SAME("[%10p]", nil);
	SAME("[%-10p]", nil);
}

static void test_null_string(void **state)
{
	(void)state;
	char buf[32];
	/* volatile: hide the NULL from gcc's -Wformat-overflow, which knows better. */
	const char *volatile nul = NULL;
	assert_int_equal(fmt_snprintf(buf, sizeof buf, "%s", nul), 6);
	assert_string_equal(buf, "(null)");
	assert_int_equal(fmt_snprintf(buf, sizeof buf, "[%8s]", nul), 10);
	assert_string_equal(buf, "[  (null)]");
	assert_int_equal(fmt_snprintf(buf, sizeof buf, "[%-7s]", nul), 9);
	assert_string_equal(buf, "[(null) ]");
}

/* Every buffer size from 0 up past the full length: the prefix must match, the NUL
 * must sit at min(len, size - 1), nothing after it may be written, and the return
 * value is always the full length. */
static void test_truncation(void **state)
{
	(void)state;
	const char *full = "value=-42 hex=0xff str=hello";
	int n = (int)strlen(full);
	for (int size = 0; size <= n + 3; size++) {
		char buf[64];
		memset(buf, '#', sizeof buf);
		int r = fmt_snprintf(buf, (size_t)size, "value=%d hex=%#x str=%s", -42, 255u, "hello");
		assert_int_equal(r, n);
		if (size == 0) {
			assert_true(buf[0] == '#');
			continue;
		}
		int w = size - 1 < n ? size - 1 : n;
		assert_memory_equal(buf, full, (size_t)w);
		assert_int_equal(buf[w], '\0');
		for (int k = w + 1; k < (int)sizeof buf; k++)
			assert_int_equal(buf[k], '#');
	}
	/* size 0 allows a NULL buffer (C99 7.19.6.5p2): used to measure. */
	assert_int_equal(fmt_snprintf(NULL, 0, "%d-%s", 12345, "abc"), 9);
	/* Padding counts too, even when it does not fit. */
	char small[4];
	assert_int_equal(fmt_snprintf(small, sizeof small, "%100d", 1), 100);
	assert_string_equal(small, "   ");
	assert_int_equal(fmt_snprintf(small, 1, "abc"), 3);
	assert_string_equal(small, "");
}

static int via_v(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int via_v(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

static void test_vsnprintf_and_many_args(void **state)
{
	(void)state;
	char a[256], b[256];
	int ra = via_v(a, sizeof a, "%d %u %x %lld %s %c %hhd %zu %jd %td %%", -1, 2u, 0xabcu,
		       -9000000000ll, "s", 'c', (signed char)-5, (size_t)77, (intmax_t)-3,
		       (ptrdiff_t)-4);
	int rb = snprintf(b, sizeof b, "%d %u %x %lld %s %c %hhd %zu %jd %td %%", -1, 2u, 0xabcu,
			  -9000000000ll, "s", 'c', (signed char)-5, (size_t)77, (intmax_t)-3,
			  (ptrdiff_t)-4);
	assert_int_equal(ra, rb);
	assert_string_equal(a, b);
}

/* Not C99 (undefined there): ours copies an unknown spec verbatim, prints no %n,
 * and keeps a trailing lone '%'. Consuming no argument keeps the rest aligned. */
static void test_unknown_and_trailing(void **state)
{
	(void)state;
	char buf[64];
	const char *f1 = "a%qb %d";
	assert_int_equal(fmt_snprintf(buf, sizeof buf, f1, 5), 6);
	assert_string_equal(buf, "a%qb 5");
	const char *f2 = "50%";
	assert_int_equal(fmt_snprintf(buf, sizeof buf, f2), 3);
	assert_string_equal(buf, "50%");
	const char *f3 = "x%-5";
	fmt_snprintf(buf, sizeof buf, f3);
	assert_string_equal(buf, "x%-5");
	int n = 0;
	const char *f4 = "ab%ncd";
	fmt_snprintf(buf, sizeof buf, f4, &n);
	assert_string_equal(buf, "ab%ncd");
	assert_int_equal(n, 0);
}

static void test_extremes(void **state)
{
	(void)state;
	SAME("%d %d", INT32_MIN, INT32_MAX);
	SAME("%lld %lld", (long long)INT64_MIN, (long long)INT64_MAX);
	SAME("%llu %llx %llo", (unsigned long long)UINT64_MAX, (unsigned long long)UINT64_MAX,
	     (unsigned long long)UINT64_MAX);
	SAME("%jd", (intmax_t)INT64_MIN);
	SAME("%hhd %hhu %hd %hu", 300, 300u, 70000, 70000u);
	SAME("%#o %#.0o %.0d %.0x %#.0x|", 0u, 0u, 0, 0u, 0u);
	SAME("%+.0d|% .0d|%5.0d|", 0, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers_vs_libc),
		cmocka_unit_test(test_strings_chars_vs_libc),
		cmocka_unit_test(test_pointers_vs_libc),
		cmocka_unit_test(test_null_string),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_vsnprintf_and_many_args),
		cmocka_unit_test(test_unknown_and_trailing),
		cmocka_unit_test(test_extremes),
	};
	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
