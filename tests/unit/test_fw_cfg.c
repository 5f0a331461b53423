/* dev/fw_cfg: the traditional interface as QEMU's docs/specs/fw_cfg.rst describes
 * it: selecting restarts the offset, reads advance it one byte at a time, unknown
 * keys and bytes past an item's end read as zeros, and only the accesses QEMU's
 * x86 device accepts are taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dev/fw_cfg.h"

#define RAM (64ull << 20)

static struct fw_cfg f;

static void setup(void)
{
    fw_cfg_init(&f, RAM, 1, 1);
}

/* n bytes of the item behind key, through the ports. */
static void read_item(uint16_t key, uint8_t *buf, unsigned n)
{
    uint32_t v = key;
    assert_true(fw_cfg_io(&f, 0, 2, false, &v));
    for (unsigned i = 0; i < n; i++) {
        assert_true(fw_cfg_io(&f, 1, 1, true, &v));
        assert_true(v <= 0xFF);
        buf[i] = (uint8_t)v;
    }
}

static uint64_t read_le(uint16_t key, unsigned n)
{
    uint8_t b[8] = { 0 };
    uint64_t v = 0;
    read_item(key, b, n);
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static void test_signature(void **state)
{
    (void)state;
    setup();
    uint8_t b[6];
    read_item(FW_CFG_SIGNATURE, b, sizeof b);
    assert_memory_equal(b, "QEMU\0\0", 6);     /* then zeros past the end */
}

static void test_items(void **state)
{
    (void)state;
    setup();
    assert_int_equal(read_le(FW_CFG_ID, 4), 1);        /* traditional, no DMA */
    assert_int_equal(read_le(FW_CFG_RAM_SIZE, 8), RAM);
    assert_int_equal(read_le(FW_CFG_NB_CPUS, 2), 1);
    assert_int_equal(read_le(FW_CFG_MAX_CPUS, 2), 1);
    fw_cfg_init(&f, 0x123456789ull, 3, 8);
    assert_int_equal(read_le(FW_CFG_RAM_SIZE, 8), 0x123456789ull);
    assert_int_equal(read_le(FW_CFG_NB_CPUS, 2), 3);
    assert_int_equal(read_le(FW_CFG_MAX_CPUS, 2), 8);
}

static void test_unknown_and_past_end(void **state)
{
    (void)state;
    setup();
    static const uint16_t keys[] = { 0x0002, 0x0019, 0x0020, 0x3fff, 0x8000, 0x8003, 0xffff };
    for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(read_le(keys[i], 8), 0);
    /* Past an item's end: zeros, however far. */
    uint8_t b[64];
    read_item(FW_CFG_NB_CPUS, b, sizeof b);
    assert_int_equal(b[0], 1);
    for (unsigned i = 1; i < sizeof b; i++)
        assert_int_equal(b[i], 0);
}

static void test_reselect_restarts(void **state)
{
    (void)state;
    setup();
    uint8_t b[2];
    read_item(FW_CFG_SIGNATURE, b, 2);
    assert_memory_equal(b, "QE", 2);
    read_item(FW_CFG_SIGNATURE, b, 2);             /* selecting again: offset 0 */
    assert_memory_equal(b, "QE", 2);
    /* The write-channel bit (14) no longer matters for reads. */
    assert_int_equal(read_le(0x4000 | FW_CFG_NB_CPUS, 2), 1);
}

static void test_port_rules(void **state)
{
    (void)state;
    setup();
    uint32_t v = FW_CFG_SIGNATURE;
    assert_true(fw_cfg_io(&f, 0, 2, false, &v));
    /* A byte read at the selector port reads data too (QEMU's combined region). */
    assert_true(fw_cfg_io(&f, 0, 1, true, &v));
    assert_int_equal(v, 'Q');
    /* Data writes are accepted and ignored: the offset does not move. */
    v = 0x55;
    assert_true(fw_cfg_io(&f, 1, 1, false, &v));
    assert_true(fw_cfg_io(&f, 1, 1, true, &v));
    assert_int_equal(v, 'E');
    /* Refused: wide reads, 32-bit writes, a 16-bit write at the data port. */
    assert_false(fw_cfg_io(&f, 0, 2, true, &v));
    assert_false(fw_cfg_io(&f, 1, 4, true, &v));
    v = FW_CFG_ID;
    assert_false(fw_cfg_io(&f, 0, 4, false, &v));
    assert_false(fw_cfg_io(&f, 1, 2, false, &v));
    assert_false(fw_cfg_io(&f, 2, 1, true, &v));
    /* None of them changed the selection or the offset. */
    assert_true(fw_cfg_io(&f, 1, 1, true, &v));
    assert_int_equal(v, 'M');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_items),
        cmocka_unit_test(test_unknown_and_past_end),
        cmocka_unit_test(test_reselect_restarts),
        cmocka_unit_test(test_port_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
