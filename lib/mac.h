/* Ethernet MAC addresses (IEEE 802): the text form a VM's configuration gives
 * ("52:54:00:12:34:56"), a stable default for a NIC that has none, and the
 * address classes a receive filter needs. Pure: no allocation, no host calls;
 * lib/config (the `mac =` of a NIC) and dev/virtio_net use it. Unit-tested in
 * tests/unit/test_mac.c.
 *
 * A NIC's own address is an individual (unicast) one that is not all zeros:
 * bit 0 of the first byte (the I/G bit) set means a group (multicast or
 * broadcast) address, which no station may send from (802.3, 3.2.3), and
 * 00:00:00:00:00:00 is what drivers treat as "no address" (Linux's
 * is_valid_ether_addr refuses both). mac_parse refuses them. */
#ifndef LIB_MAC_H
#define LIB_MAC_H
#include <stdbool.h>
#include <stdint.h>

#define MAC_LEN      6
#define MAC_STR_LEN  17      /* "xx:xx:xx:xx:xx:xx", without the NUL */

/* QEMU's OUI (52:54:00, a locally administered prefix: bit 1 of 0x52 set, bit 0
 * clear), which the stock tools and guests know as a virtual NIC's. */
#define MAC_OUI0 0x52
#define MAC_OUI1 0x54
#define MAC_OUI2 0x00

static inline bool mac_is_multicast(const uint8_t *mac)   /* group: multicast or broadcast */
{
    return mac[0] & 1;
}

static inline bool mac_is_broadcast(const uint8_t *mac)
{
    return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xFF;
}

static inline bool mac_is_zero(const uint8_t *mac)
{
    return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

static inline bool mac_equal(const uint8_t *a, const uint8_t *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
           a[5] == b[5];
}

/* A NIC's own address: individual and not all zeros. */
static inline bool mac_is_valid_station(const uint8_t *mac)
{
    return !mac_is_multicast(mac) && !mac_is_zero(mac);
}

/* Parses exactly MAC_STR_LEN characters: six pairs of hex digits (either case)
 * separated by ':' and nothing after them. False, and mac unchanged, on any
 * other text (NULL, shorter, longer, '-' separators, one-digit groups...) and on
 * a multicast, broadcast or all-zero address. */
bool mac_parse(const char *s, uint8_t mac[MAC_LEN]);

/* Writes mac as "xx:xx:xx:xx:xx:xx" (lower case) and a NUL into out. */
void mac_format(const uint8_t mac[MAC_LEN], char out[MAC_STR_LEN + 1]);

/* The default address of NIC nic_index (0, 1, ...) of the VM called vm_name
 * (NULL is taken as ""): 52:54:00 and three bytes of a hash (32-bit FNV-1a over
 * the name, a 0 byte and the index's four little-endian bytes, then Murmur3's
 * finalizer) — the same on every boot, different for other names and indexes
 * but for a 2^-24 chance of a collision (the switch refuses a second port with
 * the same address; a `mac =` line then settles it). Always a valid station
 * address: the 52 prefix is individual and non-zero. */
void mac_default(const char *vm_name, unsigned nic_index, uint8_t mac[MAC_LEN]);

#endif
