/* lib/mac.c: the text form of a MAC address (exactly "xx:xx:xx:xx:xx:xx", hex
 * of either case) and every malformed one, refused multicast, broadcast and
 * all-zero addresses, formatting, the address classes, and the default
 * address: QEMU's 52:54:00 prefix, stable, different per name and index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "lib/mac.h"

static void expect_mac(const char *s, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e,
                       uint8_t f)
{
    uint8_t mac[MAC_LEN];
    memset(mac, 0xEE, sizeof mac);
    assert_true(mac_parse(s, mac));
    const uint8_t want[MAC_LEN] = { a, b, c, d, e, f };
    assert_memory_equal(mac, want, MAC_LEN);
}

static void expect_refused(const char *s)
{
    uint8_t mac[MAC_LEN], before[MAC_LEN];
    memset(mac, 0xA7, sizeof mac);
    memcpy(before, mac, sizeof mac);
    assert_false(mac_parse(s, mac));
    assert_memory_equal(mac, before, MAC_LEN);         /* unchanged on failure */
}

static void test_parse_good(void **state)
{
    (void)state;
    expect_mac("52:54:00:12:34:56", 0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
    expect_mac("52:54:00:AB:CD:EF", 0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF);
    expect_mac("52:54:00:ab:Cd:eF", 0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF);
    expect_mac("02:00:00:00:00:01", 0x02, 0, 0, 0, 0, 1);     /* locally administered */
    expect_mac("00:00:00:00:00:01", 0, 0, 0, 0, 0, 1);
    expect_mac("fe:ff:ff:ff:ff:ff", 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
    expect_mac("00:1b:21:0a:0b:0c", 0x00, 0x1B, 0x21, 0x0A, 0x0B, 0x0C);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    expect_refused(NULL);
    expect_refused("");
    expect_refused("52");
    expect_refused("52:");
    expect_refused("52:54:00:12:34:5");                /* 16 characters */
    expect_refused("52:54:00:12:34:567");              /* 18 */
    expect_refused("52:54:00:12:34:56:");
    expect_refused("52:54:00:12:34:56 ");
    expect_refused(" 52:54:00:12:34:56");
    expect_refused("52-54-00-12-34-56");
    expect_refused("52.54.00.12.34.56");
    expect_refused("5254.0012.3456");
    expect_refused("525400123456");
    expect_refused("52:54:00:12:34:5g");
    expect_refused("52:54:00:12:3x:56");
    expect_refused("52:54:0:12:34:56a");               /* a one-digit group */
    expect_refused("2:54:00:12:34:56");
    expect_refused("52::54:00:12:34:56");
    expect_refused("52:54:00:12:34\0:56");
    expect_refused("0x:54:00:12:34:56");
    expect_refused("+2:54:00:12:34:56");
}

static void test_parse_refuses_group_and_zero(void **state)
{
    (void)state;
    expect_refused("00:00:00:00:00:00");
    expect_refused("ff:ff:ff:ff:ff:ff");
    expect_refused("FF:FF:FF:FF:FF:FF");
    expect_refused("01:00:5e:00:00:01");               /* IPv4 multicast */
    expect_refused("33:33:00:00:00:01");               /* IPv6 multicast */
    expect_refused("53:54:00:12:34:56");               /* I/G bit of 0x53 */
    expect_refused("01:80:c2:00:00:0e");               /* LLDP */
}

static void test_format(void **state)
{
    (void)state;
    char s[MAC_STR_LEN + 1];
    memset(s, 'X', sizeof s);
    const uint8_t mac[MAC_LEN] = { 0x52, 0x54, 0x00, 0xAB, 0x0C, 0xF0 };
    mac_format(mac, s);
    assert_string_equal(s, "52:54:00:ab:0c:f0");
    assert_int_equal(strlen(s), MAC_STR_LEN);
    uint8_t back[MAC_LEN];
    assert_true(mac_parse(s, back));
    assert_memory_equal(back, mac, MAC_LEN);
}

static void test_classes(void **state)
{
    (void)state;
    const uint8_t bcast[MAC_LEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    const uint8_t mcast[MAC_LEN] = { 0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB };
    const uint8_t ucast[MAC_LEN] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 };
    const uint8_t almost[MAC_LEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE };
    const uint8_t zero[MAC_LEN] = { 0 };
    assert_true(mac_is_multicast(bcast));
    assert_true(mac_is_broadcast(bcast));
    assert_true(mac_is_multicast(mcast));
    assert_false(mac_is_broadcast(mcast));
    assert_false(mac_is_broadcast(almost));
    assert_false(mac_is_multicast(ucast));
    assert_true(mac_is_zero(zero));
    assert_false(mac_is_zero(ucast));
    assert_true(mac_is_valid_station(ucast));
    assert_false(mac_is_valid_station(zero));
    assert_false(mac_is_valid_station(mcast));
    assert_true(mac_equal(ucast, ucast));
    assert_false(mac_equal(ucast, mcast));
}

static void test_default(void **state)
{
    (void)state;
    static const char *names[] = { "a", "b", "ab", "web", "db", "linux", "linux1", "" };
    uint8_t seen[8 * 4][MAC_LEN];
    unsigned nseen = 0;
    for (unsigned i = 0; i < 8; i++) {
        for (unsigned idx = 0; idx < 4; idx++) {
            uint8_t mac[MAC_LEN], again[MAC_LEN];
            mac_default(names[i], idx, mac);
            mac_default(names[i], idx, again);
            assert_memory_equal(mac, again, MAC_LEN);  /* stable */
            assert_int_equal(mac[0], 0x52);
            assert_int_equal(mac[1], 0x54);
            assert_int_equal(mac[2], 0x00);
            assert_true(mac_is_valid_station(mac));
            /* What it formats to parses back to it: a usable `mac =` value. */
            char s[MAC_STR_LEN + 1];
            uint8_t back[MAC_LEN];
            mac_format(mac, s);
            assert_true(mac_parse(s, back));
            assert_memory_equal(back, mac, MAC_LEN);
            for (unsigned j = 0; j < nseen; j++)
                assert_memory_not_equal(seen[j], mac, MAC_LEN);
            memcpy(seen[nseen++], mac, MAC_LEN);
        }
    }
    uint8_t a[MAC_LEN], b[MAC_LEN];
    mac_default(NULL, 2, a);                           /* NULL is "" */
    mac_default("", 2, b);
    assert_memory_equal(a, b, MAC_LEN);
    /* The index's high bytes count too. */
    mac_default("vm", 0, a);
    mac_default("vm", 1u << 24, b);
    assert_memory_not_equal(a, b, MAC_LEN);
    /* Known values (computed independently): pin the hash, so a NIC keeps its
     * address across releases. */
    char s[MAC_STR_LEN + 1];
    mac_default("hello", 0, a);
    mac_format(a, s);
    assert_string_equal(s, "52:54:00:e0:cb:ea");
    mac_default("vm", 1, a);
    mac_format(a, s);
    assert_string_equal(s, "52:54:00:73:8c:b2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_refuses_group_and_zero),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
