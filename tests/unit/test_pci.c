/* dev/pci: bus 0 holds exactly the host bridge 00:00.0 (8086:29C0, class 060000,
 * header type 0); every other function reads all ones; the ports follow PCI
 * configuration mechanism #1 (only dword accesses reach CONFIG_ADDRESS, CONFIG_DATA
 * answers at every byte lane, nothing while disabled); RST_CNT at 0xCF9 asks for a
 * reset; ECAM reaches the same space plus the extended 4 KiB; only the command
 * register's writable bits take writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/pci.h"

#define DATA (PCI_CONFIG_DATA_PORT - PCI_CONFIG_ADDRESS_PORT)
#define RST  (PCI_RESET_CONTROL_PORT - PCI_CONFIG_ADDRESS_PORT)

static struct pci_host h;

static uint32_t cfg_address(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg;
}

static uint64_t ecam_off(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return (uint64_t)bus << 20 | dev << 15 | fn << 12 | reg;
}

/* A read through the ports: select, then size bytes at CONFIG_DATA + (reg & 3). */
static uint32_t port_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
    uint32_t v = cfg_address(bus, dev, fn, reg & 0xFC);
    assert_int_equal(pci_io(&h, 0, 4, false, &v), PCI_IO_DONE);
    assert_int_equal(pci_io(&h, DATA + (reg & 3), size, true, &v), PCI_IO_DONE);
    return v;
}

static void port_write(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size,
                       uint32_t val)
{
    uint32_t v = cfg_address(bus, dev, fn, reg & 0xFC);
    assert_int_equal(pci_io(&h, 0, 4, false, &v), PCI_IO_DONE);
    assert_int_equal(pci_io(&h, DATA + (reg & 3), size, false, &val), PCI_IO_DONE);
}

static void test_host_bridge(void **state)
{
    (void)state;
    pci_host_init(&h);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_VENDOR_ID, 2), 0x8086);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_DEVICE_ID, 2), 0x29C0);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_VENDOR_ID, 4), 0x29C08086);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_CLASS_REV, 4), 0x06000000);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_HEADER_TYPE, 1), 0x00);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_COMMAND, 2), 0);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_STATUS, 2), 0);   /* no capabilities */
    for (unsigned reg = 0x10; reg < PCI_CONFIG_SPACE; reg += 4)         /* BARs and the rest */
        assert_int_equal(pci_config_read(&h, 0, 0, 0, reg, 4), 0);
    /* Unaligned and byte reads give the same little-endian bytes. */
    assert_int_equal(pci_config_read(&h, 0, 0, 0, 1, 2), 0xC080);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, 0x0B, 1), 0x06);
}

static void test_absent_functions(void **state)
{
    (void)state;
    pci_host_init(&h);
    for (unsigned bus = 0; bus < 256; bus += 85)
        for (unsigned dev = 0; dev < 32; dev++)
            for (unsigned fn = 0; fn < 8; fn++) {
                if (bus == 0 && dev == 0 && fn == 0)
                    continue;
                assert_int_equal(pci_config_read(&h, bus, dev, fn, 0, 4), 0xFFFFFFFFu);
                assert_int_equal(pci_config_read(&h, bus, dev, fn, 2, 2), 0xFFFF);
                assert_int_equal(pci_config_read(&h, bus, dev, fn, 0x3C, 1), 0xFF);
                pci_config_write(&h, bus, dev, fn, PCI_COMMAND, 2, 0xFFFF);
            }
    /* None of those writes reached the host bridge. */
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_COMMAND, 2), 0);
}

static void test_writes(void **state)
{
    (void)state;
    pci_host_init(&h);
    pci_config_write(&h, 0, 0, 0, PCI_VENDOR_ID, 4, 0);
    pci_config_write(&h, 0, 0, 0, PCI_CLASS_REV, 4, 0x12345678);
    pci_config_write(&h, 0, 0, 0, 0x10, 4, 0xFFFFFFFF);               /* no BAR */
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_VENDOR_ID, 4), 0x29C08086);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_CLASS_REV, 4), 0x06000000);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, 0x10, 4), 0);
    /* Command: only IO MEM MASTER SPECIAL PARITY SERR INTX_DISABLE; status untouched. */
    pci_config_write(&h, 0, 0, 0, PCI_COMMAND, 4, 0xFFFFFFFF);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_COMMAND, 4), 0x0000054F);
    pci_config_write(&h, 0, 0, 0, PCI_COMMAND + 1, 1, 0);           /* the high byte alone */
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_COMMAND, 2), 0x004F);
    pci_config_write(&h, 0, 0, 0, PCI_COMMAND, 1, PCI_COMMAND_MEMORY);
    assert_int_equal(pci_config_read(&h, 0, 0, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
}

static void test_ports(void **state)
{
    (void)state;
    pci_host_init(&h);
    uint32_t v = 0xFFFFFFFF;
    /* CONFIG_ADDRESS: dword only; reserved bits 30:24 and 1:0 read 0. */
    assert_int_equal(pci_io(&h, 0, 4, false, &v), PCI_IO_DONE);
    assert_int_equal(pci_io(&h, 0, 4, true, &v), PCI_IO_DONE);
    assert_int_equal(v, 0x80FFFFFC);
    v = 0x80000000;
    assert_int_equal(pci_io(&h, 0, 4, false, &v), PCI_IO_DONE);
    assert_int_equal(pci_io(&h, 0, 4, true, &v), PCI_IO_DONE);
    assert_int_equal(v, 0x80000000);
    assert_int_equal(pci_io(&h, 0, 2, true, &v), PCI_IO_UNCLAIMED);
    assert_int_equal(pci_io(&h, 0, 1, false, &v), PCI_IO_UNCLAIMED);
    assert_int_equal(pci_io(&h, 2, 2, true, &v), PCI_IO_UNCLAIMED);
    assert_int_equal(pci_io(&h, 3, 1, true, &v), PCI_IO_UNCLAIMED);

    /* CONFIG_DATA, every lane and width. */
    assert_int_equal(port_read(0, 0, 0, 0, 4), 0x29C08086);
    assert_int_equal(port_read(0, 0, 0, 0, 2), 0x8086);
    assert_int_equal(port_read(0, 0, 0, 2, 2), 0x29C0);
    assert_int_equal(port_read(0, 0, 0, 1, 1), 0x80);
    assert_int_equal(port_read(0, 0, 0, 3, 1), 0x29);
    assert_int_equal(port_read(0, 0, 0, 0x0B, 1), 0x06);
    assert_int_equal(port_read(0, 1, 0, 0, 4), 0xFFFFFFFF);
    assert_int_equal(port_read(0, 0, 1, 0, 2), 0xFFFF);
    assert_int_equal(port_read(1, 0, 0, 0, 4), 0xFFFFFFFF);
    port_write(0, 0, 0, PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY);
    assert_int_equal(port_read(0, 0, 0, PCI_COMMAND, 2), 0x6);
    /* A wide access past 0xCFF is not the bridge's. */
    assert_int_equal(pci_io(&h, DATA + 2, 4, true, &v), PCI_IO_UNCLAIMED);

    /* Disabled (bit 31 clear): CONFIG_DATA is an ordinary unclaimed port. */
    v = 0;
    assert_int_equal(pci_io(&h, 0, 4, false, &v), PCI_IO_DONE);
    assert_int_equal(pci_io(&h, DATA, 4, true, &v), PCI_IO_UNCLAIMED);
    assert_int_equal(pci_io(&h, DATA, 2, false, &v), PCI_IO_UNCLAIMED);
}

static void test_reset_control(void **state)
{
    (void)state;
    pci_host_init(&h);
    uint32_t v = PCI_RST_CNT_SYS_RST;
    assert_int_equal(pci_io(&h, RST, 1, false, &v), PCI_IO_DONE);
    assert_int_equal(pci_io(&h, RST, 1, true, &v), PCI_IO_DONE);
    assert_int_equal(v, PCI_RST_CNT_SYS_RST);
    v = PCI_RESET_VALUE;
    assert_int_equal(pci_io(&h, RST, 1, false, &v), PCI_IO_RESET);
    /* Only the byte access is RST_CNT. */
    assert_int_equal(pci_io(&h, RST, 2, false, &v), PCI_IO_UNCLAIMED);
    /* Selecting through CONFIG_ADDRESS does not reset, whatever byte 1 holds. */
    v = cfg_address(0, 0, 0, 0) | PCI_RST_CNT_RST_CPU << 8;
    assert_int_equal(pci_io(&h, 0, 4, false, &v), PCI_IO_DONE);
}

static void test_ecam(void **state)
{
    (void)state;
    pci_host_init(&h);
    assert_int_equal(PCI_ECAM_SIZE, 1u << 20);
    assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, 0), 4), 0x29C08086);
    assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, 2), 2), 0x29C0);
    assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, 0x0B), 1), 0x06);
    assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, 0), 8), 0x0000000029C08086ull);
    assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, 8), 8), 0x06000000ull);
    /* The extended space of the host bridge: an empty capability list. */
    assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, 0x100), 4), 0);
    assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, 0xFFC), 4), 0);
    for (unsigned dev = 0; dev < 32; dev++)
        for (unsigned fn = dev ? 0 : 1; fn < 8; fn++) {
            assert_int_equal(pci_ecam_read(&h, ecam_off(0, dev, fn, 0), 4), 0xFFFFFFFFu);
            assert_int_equal(pci_ecam_read(&h, ecam_off(0, dev, fn, 0x100), 8), ~0ull);
            assert_int_equal(pci_ecam_read(&h, ecam_off(0, dev, fn, 0xE), 1), 0xFF);
        }
    /* Both ways reach one register. */
    pci_ecam_write(&h, ecam_off(0, 0, 0, PCI_COMMAND), 2, PCI_COMMAND_IO);
    assert_int_equal(port_read(0, 0, 0, PCI_COMMAND, 2), PCI_COMMAND_IO);
    pci_ecam_write(&h, ecam_off(0, 0, 0, 0), 8, ~0ull);          /* IDs, command, status */
    assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, 0), 8), 0x0000054F29C08086ull);
    /* Every dword of the conventional space is the same through both. */
    for (unsigned reg = 0; reg < PCI_CONFIG_SPACE; reg += 4)
        assert_int_equal(pci_ecam_read(&h, ecam_off(0, 0, 0, reg), 4), port_read(0, 0, 0, reg, 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_bridge),
        cmocka_unit_test(test_absent_functions),
        cmocka_unit_test(test_writes),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_reset_control),
        cmocka_unit_test(test_ecam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
