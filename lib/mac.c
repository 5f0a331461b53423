/* MAC addresses: see lib/mac.h. */
#include "lib/mac.h"

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool mac_parse(const char *s, uint8_t mac[MAC_LEN])
{
    uint8_t m[MAC_LEN];
    if (!s)
        return false;
    for (unsigned i = 0; i < MAC_LEN; i++) {
        /* s[3i], s[3i+1]: digits; s[3i+2]: ':' (or the end after the last pair).
         * A NUL anywhere earlier fails one of the tests before the next read. */
        int hi = hex_digit(s[3 * i]);
        if (hi < 0)
            return false;
        int lo = hex_digit(s[3 * i + 1]);
        if (lo < 0)
            return false;
        char sep = s[3 * i + 2];
        if (i < MAC_LEN - 1 ? sep != ':' : sep != '\0')
            return false;
        m[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!mac_is_valid_station(m))
        return false;
    for (unsigned i = 0; i < MAC_LEN; i++)
        mac[i] = m[i];
    return true;
}

void mac_format(const uint8_t mac[MAC_LEN], char out[MAC_STR_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < MAC_LEN; i++) {
        out[3 * i] = digits[mac[i] >> 4];
        out[3 * i + 1] = digits[mac[i] & 15];
        out[3 * i + 2] = i < MAC_LEN - 1 ? ':' : '\0';
    }
}

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME  16777619u

static uint32_t fnv1a_byte(uint32_t h, uint8_t b)
{
    return (h ^ b) * FNV32_PRIME;
}

void mac_default(const char *vm_name, unsigned nic_index, uint8_t mac[MAC_LEN])
{
    uint32_t h = FNV32_OFFSET;
    for (const char *p = vm_name ? vm_name : ""; *p; p++)
        h = fnv1a_byte(h, (uint8_t)*p);
    h = fnv1a_byte(h, 0);                    /* "ab" + 1 and "a" + ... never meet */
    for (unsigned i = 0; i < 4; i++)
        h = fnv1a_byte(h, (uint8_t)(nic_index >> (8 * i)));
    /* Murmur3's fmix32: every input bit reaches the three bytes kept. */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    mac[0] = MAC_OUI0;
    mac[1] = MAC_OUI1;
    mac[2] = MAC_OUI2;
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}
