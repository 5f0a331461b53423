/* Units of time and size, and the byte mask, once for every layer. Header only
 * and pure. */
#ifndef ARCH_UNITS_H
#define ARCH_UNITS_H

#define NS_PER_US  1000ull
#define NS_PER_MS  1000000ull
#define NS_PER_S   1000000000ull

#define BYTE_MASK  0xFFu            /* the bits of one byte (a byte lane) */

#define MIB        (1ull << 20)
#define GIB        (1ull << 30)
#endif
