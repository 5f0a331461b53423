/* lib/acpi_cpus: the CPU list hv86 starts its APs from. The tables come from
 * dev/acpi (the same format a BIOS writes), put at the BIOS area as firmware does;
 * the finder must list every enabled CPU, skip disabled ones, take x2APIC
 * entries, and refuse tables whose checksum or length is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dev/acpi.h"
#include "lib/acpi_cpus.h"

#define MEM_SIZE (ACPI_BIOS_AREA + ACPI_BIOS_AREA_LEN)   /* the first MiB */
static uint8_t mem[MEM_SIZE];

static const uint8_t *map(void *ctx, uint64_t pa, uint64_t len)
{
    (void)ctx;
    return pa <= MEM_SIZE && len <= MEM_SIZE - pa ? mem + pa : NULL;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void build(unsigned ncpus)
{
    memset(mem, 0, sizeof mem);
    /* The RSDP at the start of the BIOS area, the tables after it there. */
    struct acpi_config c = { .gpa = ACPI_BIOS_AREA + 0x1000, .ncpus = ncpus, .ioapic_id = 0 };
    assert_true(acpi_build(&c, mem + ACPI_BIOS_AREA + 0x1000, ACPI_BIOS_AREA_LEN - 0x1000,
                           mem + ACPI_BIOS_AREA) > 0);
}

static uint8_t *find_table(const char *sig)
{
    for (uint64_t off = ACPI_BIOS_AREA; off + 36 <= MEM_SIZE; off += 4)
        if (!memcmp(mem + off, sig, 4) && rd32(mem + off + 4) >= 36 &&
            rd32(mem + off + 4) <= MEM_SIZE - off)
            return mem + off;
    fail_msg("no %s table", sig);
    return NULL;
}

static void fix_checksum(uint8_t *t)
{
    uint32_t len = rd32(t + 4);
    t[9] = 0;
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + t[i]);
    t[9] = (uint8_t)-s;
}

static void finds_every_cpu(void **state)
{
    (void)state;
    build(4);
    uint32_t ids[8];
    const char *why = "";
    assert_int_equal(acpi_find_cpus(map, NULL, ids, 8, &why), 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(ids[i], i);
}

static void counts_beyond_max(void **state)
{
    (void)state;
    build(3);
    uint32_t ids[2] = { 99, 99 };
    const char *why = "";
    assert_int_equal(acpi_find_cpus(map, NULL, ids, 2, &why), 3);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 1);
}

/* A processor entry without the Enabled flag is not a CPU to start. */
static void skips_disabled_cpu(void **state)
{
    (void)state;
    build(3);
    uint8_t *madt = find_table("APIC");
    uint8_t *e = madt + 44;
    while (e[0] != 0 || e[3] != 1)      /* the Processor Local APIC entry of ID 1 */
        e += e[1];
    e[4] = 0;
    fix_checksum(madt);
    uint32_t ids[8];
    const char *why = "";
    assert_int_equal(acpi_find_cpus(map, NULL, ids, 8, &why), 2);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 2);
}

/* A Processor Local x2APIC entry (type 9) with a 32-bit ID: rewrite the MADT's
 * last processor entry as one in place (8 bytes become 16: the table grows). */
static void takes_x2apic_entries(void **state)
{
    (void)state;
    build(1);
    uint8_t *madt = find_table("APIC");
    uint32_t len = rd32(madt + 4);
    uint8_t x2[16] = { 9, 16, 0, 0, 0x00, 0x01, 0x00, 0x00, 1, 0, 0, 0, 7, 0, 0, 0 };
    memcpy(madt + len, x2, sizeof x2);       /* ID 0x100, enabled, UID 7 */
    len += sizeof x2;
    memcpy(madt + 4, &len, 4);
    fix_checksum(madt);
    uint32_t ids[8];
    const char *why = "";
    assert_int_equal(acpi_find_cpus(map, NULL, ids, 8, &why), 2);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 0x100);
}

static void bad_madt_checksum_is_no_madt(void **state)
{
    (void)state;
    build(2);
    find_table("APIC")[9] ^= 1;
    uint32_t ids[8];
    const char *why = "";
    assert_int_equal(acpi_find_cpus(map, NULL, ids, 8, &why), -1);
    assert_string_equal(why, "no valid MADT");
}

static void no_rsdp(void **state)
{
    (void)state;
    memset(mem, 0, sizeof mem);
    uint32_t ids[8];
    const char *why = "";
    assert_int_equal(acpi_find_cpus(map, NULL, ids, 8, &why), -1);
    assert_string_equal(why, "no ACPI RSDP in the EBDA or the BIOS area");
}

/* An RSDP in the EBDA (whose segment is at 0x40E) is found first. */
static void rsdp_in_ebda(void **state)
{
    (void)state;
    build(2);
    uint8_t *rsdp = NULL;
    for (uint64_t off = ACPI_BIOS_AREA; off < MEM_SIZE; off += 16)
        if (!memcmp(mem + off, "RSD PTR ", 8)) {
            rsdp = mem + off;
            break;
        }
    assert_non_null(rsdp);
    uint64_t ebda = 0x9FC00;
    memcpy(mem + ebda + 32, rsdp, 36);
    memset(rsdp, 0, 36);
    mem[ACPI_EBDA_SEG_PTR] = (uint8_t)(ebda >> 4);
    mem[ACPI_EBDA_SEG_PTR + 1] = (uint8_t)(ebda >> 12);
    uint32_t ids[8];
    const char *why = "";
    assert_int_equal(acpi_find_cpus(map, NULL, ids, 8, &why), 2);
}

/* An RSDT whose length runs past the readable memory is refused. */
static void truncated_tables_refused(void **state)
{
    (void)state;
    build(2);
    uint8_t *xsdt = find_table("XSDT"), *rsdt = find_table("RSDT");
    uint32_t huge = (uint32_t)(MEM_SIZE - (xsdt - mem)) + 8;
    memcpy(xsdt + 4, &huge, 4);
    huge = (uint32_t)(MEM_SIZE - (rsdt - mem)) + 8;
    memcpy(rsdt + 4, &huge, 4);
    uint32_t ids[8];
    const char *why = "";
    assert_int_equal(acpi_find_cpus(map, NULL, ids, 8, &why), -1);
    assert_string_equal(why, "no valid RSDT or XSDT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_every_cpu),
        cmocka_unit_test(counts_beyond_max),
        cmocka_unit_test(skips_disabled_cpu),
        cmocka_unit_test(takes_x2apic_entries),
        cmocka_unit_test(bad_madt_checksum_is_no_madt),
        cmocka_unit_test(no_rsdp),
        cmocka_unit_test(rsdp_in_ebda),
        cmocka_unit_test(truncated_tables_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
