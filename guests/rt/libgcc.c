/* 64-bit division for 32-bit guests: gcc -m32 calls these libgcc routines for
 * uint64_t '/' and '%', and no 32-bit libgcc is linked. Division by zero raises
 * #DE, like the DIV instruction. */
#include "guests/rt/rt.h"

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t q = 0, r = 0;

	if (d == 0) {
		uint32_t zero = 0, eax = 1, edx = 0;
		__asm__ volatile("divl %2" : "+a"(eax), "+d"(edx) : "r"(zero));
	}
	if ((n >> 32) == 0 && (d >> 32) == 0) {         /* one DIV does it */
		q = (uint32_t)n / (uint32_t)d;
		r = (uint32_t)n % (uint32_t)d;
	} else {
		for (int i = 63; i >= 0; i--) {          /* shift and subtract */
			bool carry = r >> 63;
			r = (r << 1) | ((n >> i) & 1);
			if (carry || r >= d) {
				r -= d;
				q |= 1ull << i;
			}
		}
	}
	if (rem)
		*rem = r;
	return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
	return __udivmoddi4(n, d, NULL);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
	uint64_t r;
	__udivmoddi4(n, d, &r);
	return r;
}

static uint64_t magnitude(int64_t v)
{
	return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

int64_t __divdi3(int64_t n, int64_t d)
{
	uint64_t q = __udivmoddi4(magnitude(n), magnitude(d), NULL);
	return (int64_t)((n < 0) != (d < 0) ? 0 - q : q);
}

int64_t __moddi3(int64_t n, int64_t d)
{
	uint64_t r;
	__udivmoddi4(magnitude(n), magnitude(d), &r);
	return (int64_t)(n < 0 ? 0 - r : r);   /* the sign of the dividend, as C says */
}
