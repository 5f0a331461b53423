/* loader/multiboot_guest: ELF32, ELF64 and a.out-kludge images load where their
 * headers say, the boot information is what the Multiboot spec promises, and
 * corrupt or hostile images are refused with a reason, never loaded out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "loader/multiboot_guest.h"

#define RAM (16u << 20)
static uint8_t *ram;
static uint8_t image[16384];

static bool write_ram(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
    (void)ctx;
    if (gpa > RAM || len > RAM - gpa)
        return false;
    if (src)
        memcpy(ram + gpa, src, len);
    else
        memset(ram + gpa, 0, len);
    return true;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }

static void mb_header(uint8_t *p, uint32_t flags)
{
    put32(p, 0x1BADB002);
    put32(p + 4, flags);
    put32(p + 8, -(0x1BADB002u + flags));
}

/* ELF32 with one PT_LOAD: 0x100 bytes of file at 0x200000, 0x1000 of memory. */
static size_t make_elf32(void)
{
    memset(image, 0, sizeof image);
    memcpy(image, "\x7f" "ELF", 4);
    image[4] = 1;
    put32(image + 24, 0x200010);          /* e_entry */
    put32(image + 28, 52);                /* e_phoff */
    put16(image + 42, 32);                /* e_phentsize */
    put16(image + 44, 1);                 /* e_phnum */
    uint8_t *ph = image + 52;
    put32(ph, 1);                         /* PT_LOAD */
    put32(ph + 4, 0x1000);                /* p_offset */
    put32(ph + 12, 0x200000);             /* p_paddr */
    put32(ph + 16, 0x100);                /* p_filesz */
    put32(ph + 20, 0x1000);               /* p_memsz */
    mb_header(image + 0x100, 0x3);
    memset(image + 0x1000, 0xAB, 0x100);
    return 0x1100;
}

static size_t make_elf64(void)
{
    memset(image, 0, sizeof image);
    memcpy(image, "\x7f" "ELF", 4);
    image[4] = 2;
    put64(image + 24, 0x300000);
    put64(image + 32, 64);
    put16(image + 54, 56);
    put16(image + 56, 1);
    uint8_t *ph = image + 64;
    put32(ph, 1);
    put64(ph + 8, 0x1000);
    put64(ph + 24, 0x300000);
    put64(ph + 32, 0x10);
    put64(ph + 40, 0x20);
    mb_header(image + 0x200, 0x3);
    memset(image + 0x1000, 0xCD, 0x10);
    return 0x1010;
}

/* a.out kludge: header at file offset 0 describes a flat image at 0x100000. */
static size_t make_aout(void)
{
    memset(image, 0, sizeof image);
    mb_header(image, 0x10003);
    put32(image + 12, 0x100000);          /* header_addr */
    put32(image + 16, 0x100000);          /* load_addr */
    put32(image + 20, 0x102000);          /* load_end_addr */
    put32(image + 24, 0x103000);          /* bss_end_addr */
    put32(image + 28, 0x100020);          /* entry_addr */
    memset(image + 0x40, 0xEE, 0x100);
    return 0x2000;
}

static int load(size_t size, const char *cmdline, struct mbg_result *res)
{
    static const uint8_t mod[] = "module-data";
    struct mbg_input in = {
        .kernel = { "k.elf", image, size }, .cmdline = cmdline, .ram_size = RAM,
        .modules = { { "mod.bin", mod, sizeof mod } }, .nmodules = 1,
    };
    memset(ram, 0x5A, RAM);
    return mbg_load(&in, write_ram, NULL, res);
}

static void test_elf32(void **state)
{
    (void)state;
    struct mbg_result r;
    assert_int_equal(load(make_elf32(), "k.elf a=1", &r), 0);
    assert_int_equal(r.entry, 0x200010);
    assert_int_equal(ram[0x200000], 0xAB);
    assert_int_equal(ram[0x2000FF], 0xAB);
    assert_int_equal(ram[0x200100], 0);   /* bss zeroed */
    assert_int_equal(ram[0x200FFF], 0);
    /* Boot information (Multiboot 0.6.96 3.3). */
    uint64_t mbi = r.info_gpa;
    uint32_t flags = get32(mbi);
    assert_true(flags & (1u << 0));       /* mem_lower/upper */
    assert_true(flags & (1u << 2));       /* cmdline */
    assert_true(flags & (1u << 3));       /* mods */
    assert_true(flags & (1u << 6));       /* mmap */
    assert_int_equal(get32(mbi + 4), 639);
    assert_int_equal(get32(mbi + 8), (RAM >> 10) - 1024);
    assert_string_equal((char *)ram + get32(mbi + 16), "k.elf a=1");
    assert_int_equal(get32(mbi + 20), 1);
    uint64_t mods = get32(mbi + 24);
    uint32_t start = get32(mods), end = get32(mods + 4);
    assert_int_equal(start % 4096, 0);
    assert_true(start >= 0x201000);       /* after the image */
    assert_int_equal(end - start, 12);
    assert_string_equal((char *)ram + start, "module-data");
    assert_string_equal((char *)ram + get32(mods + 8), "mod.bin");
    /* The memory map covers RAM: last entry is available up to RAM's end. */
    uint32_t mmap_len = get32(mbi + 44), mmap = get32(mbi + 48);
    assert_int_equal(mmap_len, 4 * 24);
    uint64_t base, len;
    memcpy(&base, ram + mmap + 3 * 24 + 4, 8);
    memcpy(&len, ram + mmap + 3 * 24 + 12, 8);
    assert_int_equal(base + len, RAM);
}

static void test_elf64(void **state)
{
    (void)state;
    struct mbg_result r;
    assert_int_equal(load(make_elf64(), "", &r), 0);
    assert_int_equal(r.entry, 0x300000);
    assert_int_equal(ram[0x30000F], 0xCD);
    assert_int_equal(ram[0x300010], 0);
}

static void test_aout_kludge(void **state)
{
    (void)state;
    struct mbg_result r;
    assert_int_equal(load(make_aout(), "", &r), 0);
    assert_int_equal(r.entry, 0x100020);
    assert_int_equal(ram[0x100040], 0xEE);
    assert_int_equal(ram[0x102000], 0);   /* bss */
    assert_int_equal(ram[0x102FFF], 0);
}

static void expect_error(size_t size, const char *what)
{
    struct mbg_result r;
    assert_int_equal(load(size, "", &r), -1);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, what));
}

static void test_no_header(void **state)
{
    (void)state;
    size_t n = make_elf32();
    memset(image + 0x100, 0, 12);
    expect_error(n, "no multiboot header");
    n = make_elf32();
    put32(image + 0x108, 0);              /* bad checksum */
    expect_error(n, "no multiboot header");
}

static void test_hostile_elf(void **state)
{
    (void)state;
    size_t n = make_elf32();
    put32(image + 28, 0xFFFFFFF0);        /* program headers outside the file */
    expect_error(n, "program headers");
    n = make_elf32();
    put32(image + 52 + 4, 0x7FFFFFFF);    /* segment data outside the file */
    expect_error(n, "outside the image file");
    n = make_elf32();
    put32(image + 52 + 12, RAM - 0x10);   /* segment past the end of RAM, named */
    put32(image + 24, RAM - 0x10);
    expect_error(n, "ELF segment 0 (0xfffff0-0x1000ff0) lies outside the VM's memory "
                    "(0x0-0x1000000)");
    n = make_elf32();
    put32(image + 52 + 16, 0x2000);       /* filesz > memsz */
    expect_error(n, "larger than its memory size");
    n = make_elf32();
    put32(image + 24, 0x500000);          /* entry outside the image */
    expect_error(n, "entry point");
    n = make_elf32();
    put32(image + 52, 0);                 /* no PT_LOAD at all */
    expect_error(n, "no loadable segment");
    expect_error(40, "no multiboot header");  /* truncated file */
}

static void test_hostile_aout(void **state)
{
    (void)state;
    size_t n = make_aout();
    put32(image + 16, 0x100010);          /* load_addr above header_addr */
    expect_error(n, "inconsistent");
    n = make_aout();
    put32(image + 20, 0x200000);          /* more bytes than the file has */
    put32(image + 24, 0x200000);
    expect_error(n, "outside the image file");
    n = make_aout();
    put32(image + 24, 0x100010);          /* bss end below load end */
    expect_error(n, "bss_end_addr");
}

static void test_ram_size_limits(void **state)
{
    (void)state;
    struct mbg_input in = { .kernel = { "k", image, make_elf32() }, .cmdline = "", .ram_size = 1 << 20 };
    struct mbg_result r;
    assert_int_equal(mbg_load(&in, write_ram, NULL, &r), -1);
    assert_non_null(strstr(r.error, "memory"));
}

static void test_module_too_large(void **state)
{
    (void)state;
    size_t n = make_elf32();
    struct mbg_input in = {
        .kernel = { "k", image, n }, .cmdline = "", .ram_size = RAM,
        .modules = { { "big", ram, RAM } }, .nmodules = 1,
    };
    struct mbg_result r;
    assert_int_equal(mbg_load(&in, write_ram, NULL, &r), -1);
    assert_non_null(strstr(r.error, "modules do not fit"));
}

static void test_cmdline_too_long(void **state)
{
    (void)state;
    size_t n = make_elf32();
    char *cmd = malloc(0x8000);
    memset(cmd, 'x', 0x7FFF);
    cmd[0x7FFF] = 0;
    struct mbg_result r;
    assert_int_equal(load(n, cmd, &r), -1);
    assert_non_null(strstr(r.error, "too long"));
    free(cmd);
}

/* The map: the BIOS area 0xE0000-0xFFFFF reserved (the ACPI tables live there),
 * then the caller's device ranges above RAM, reserved too; an image segment in the
 * BIOS area and a device range inside RAM are refused. */
static void test_reserved_ranges(void **state)
{
    (void)state;
    struct mbg_input in = {
        .kernel = { "k", image, make_elf32() }, .cmdline = "", .ram_size = RAM,
        .reserved = { { 0xE0000000, 1 << 20 }, { 0xFEC00000, 0x1000 } }, .nreserved = 2,
    };
    struct mbg_result r;
    memset(ram, 0, RAM);
    assert_int_equal(mbg_load(&in, write_ram, NULL, &r), 0);
    uint32_t mmap_len = get32(r.info_gpa + 44), mmap = get32(r.info_gpa + 48);
    assert_int_equal(mmap_len, 6 * 24);
    static const uint64_t want[6][3] = {
        { 0, 0x9FC00, 1 }, { 0x9FC00, 0x400, 2 }, { 0xE0000, 0x20000, 2 },
        { 0x100000, RAM - 0x100000, 1 }, { 0xE0000000, 1 << 20, 2 }, { 0xFEC00000, 0x1000, 2 },
    };
    for (unsigned i = 0; i < 6; i++) {
        uint64_t base, len;
        memcpy(&base, ram + mmap + 24 * i + 4, 8);
        memcpy(&len, ram + mmap + 24 * i + 12, 8);
        assert_int_equal(get32(mmap + 24 * i), 20);
        assert_int_equal(base, want[i][0]);
        assert_int_equal(len, want[i][1]);
        assert_int_equal(get32(mmap + 24 * i + 20), want[i][2]);
    }
    in.reserved[1].base = RAM - 0x1000;
    assert_int_equal(mbg_load(&in, write_ram, NULL, &r), -1);
    assert_non_null(strstr(r.error, "overlaps the VM's memory"));
    in.nreserved = MBG_MAX_RESERVED + 1;
    in.reserved[1].base = 0xFEC00000;
    assert_int_equal(mbg_load(&in, write_ram, NULL, &r), -1);
    /* A segment in the BIOS area loads; the RSDP's slot is after it. */
    make_elf32();
    put32(image + 52 + 12, 0xE0000);      /* p_paddr: 0xE0000-0xE1000 */
    put32(image + 24, 0xE0010);           /* e_entry */
    in.nreserved = 0;
    assert_int_equal(mbg_load(&in, write_ram, NULL, &r), 0);
    assert_int_equal(r.rsdp_gpa, 0xE1000);
    /* One covering all of it: no room for the RSDP. */
    put32(image + 52 + 20, 0x20000);      /* p_memsz */
    assert_int_equal(mbg_load(&in, write_ram, NULL, &r), -1);
    assert_non_null(strstr(r.error, "RSDP"));
}

/* --- images QEMU boots: segments anywhere in RAM, the boot information moved ---- */

#define FW_BASE (RAM - 0x10000)              /* the platform's ACPI tables */
struct seg { uint32_t paddr, off, filesz, memsz; };

/* ELF32 with the given PT_LOADs (headers at 52, the multiboot header at 0x100,
 * segment data as the file offsets say, 0xAB filled from 0x1000). */
static size_t make_elf32_segs(const struct seg *sg, unsigned n, uint32_t entry)
{
    memset(image, 0, sizeof image);
    memcpy(image, "\x7f" "ELF", 4);
    image[4] = 1;
    put32(image + 24, entry);
    put32(image + 28, 52);
    put16(image + 42, 32);
    put16(image + 44, (uint16_t)n);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *ph = image + 52 + 32 * i;
        put32(ph, 1);
        put32(ph + 4, sg[i].off);
        put32(ph + 12, sg[i].paddr);
        put32(ph + 16, sg[i].filesz);
        put32(ph + 20, sg[i].memsz);
    }
    mb_header(image + 0x100, 0x3);
    memset(image + 0x1000, 0xAB, sizeof image - 0x1000);
    return sizeof image;
}

static int load_fw(size_t size, struct mbg_result *res)
{
    static const uint8_t mod[] = "module-data";
    struct mbg_input in = {
        .kernel = { "k.elf", image, size }, .cmdline = "k.elf x=1", .ram_size = RAM,
        .modules = { { "mod.bin", mod, sizeof mod } }, .nmodules = 1,
        .firmware = { FW_BASE, 0x10000 },
    };
    memset(ram, 0x5A, RAM);
    return mbg_load(&in, write_ram, NULL, res);
}

/* [gpa, gpa+len) is RAM the map calls available, off page 0, and none of the
 * segments covers it. */
static void assert_free(uint64_t gpa, uint64_t len, const struct seg *sg, unsigned n)
{
    assert_true(gpa >= 0x1000 && gpa + len <= 0xFFFFFFFFull);
    assert_true(gpa + len <= 0x9FC00 || (gpa >= 0x100000 && gpa + len <= FW_BASE));
    for (unsigned i = 0; i < n; i++)
        assert_false(gpa < sg[i].paddr + sg[i].memsz && sg[i].paddr < gpa + len);
}

/* EBX's block and everything it points to lie in free RAM; the strings and the
 * module are what was given; the map has the ACPI tables reserved. */
static void check_info(const struct mbg_result *r, const struct seg *sg, unsigned n)
{
    uint64_t mbi = r->info_gpa;
    assert_free(mbi, 88, sg, n);
    uint64_t cmd = get32(mbi + 16), mods = get32(mbi + 24), mmap = get32(mbi + 48);
    uint64_t name = get32(mbi + 64);
    assert_free(cmd, strlen("k.elf x=1") + 1, sg, n);
    assert_string_equal((char *)ram + cmd, "k.elf x=1");
    assert_free(name, 5, sg, n);
    assert_string_equal((char *)ram + name, "hv86");
    assert_int_equal(get32(mbi + 20), 1);
    assert_free(mods, 16, sg, n);
    uint32_t start = get32(mods), end = get32(mods + 4);
    assert_free(start, end - start, sg, n);
    assert_string_equal((char *)ram + start, "module-data");
    assert_free(get32(mods + 8), 8, sg, n);
    assert_string_equal((char *)ram + get32(mods + 8), "mod.bin");
    assert_false(mbi < end && start < mbi + 88);          /* not over the module */
    assert_int_equal(get32(mbi + 44), 5 * 24);
    assert_free(mmap, 5 * 24, sg, n);
    static const uint64_t want[5][3] = {
        { 0, 0x9FC00, 1 }, { 0x9FC00, 0x400, 2 }, { 0xE0000, 0x20000, 2 },
        { 0x100000, FW_BASE - 0x100000, 1 }, { FW_BASE, 0x10000, 2 },
    };
    for (unsigned i = 0; i < 5; i++) {
        uint64_t base, len;
        memcpy(&base, ram + mmap + 24 * i + 4, 8);
        memcpy(&len, ram + mmap + 24 * i + 12, 8);
        assert_int_equal(base, want[i][0]);
        assert_int_equal(len, want[i][1]);
        assert_int_equal(get32(mmap + 24 * i + 20), want[i][2]);
    }
    assert_int_equal(get32(mbi + 8), (RAM >> 10) - 1024);   /* QEMU's: tables included */
    assert_int_equal(r->rsdp_gpa % 16, 0);
    assert_true(r->rsdp_gpa >= 0xE0000 && r->rsdp_gpa + 36 <= 0x100000);
    for (unsigned i = 0; i < n; i++)
        assert_false(r->rsdp_gpa < sg[i].paddr + sg[i].memsz && sg[i].paddr < r->rsdp_gpa + 36);
}

/* ld's default layout: the first segment holds the ELF headers, at 0xFF000. */
static void test_headers_segment_at_ff000(void **state)
{
    (void)state;
    static const struct seg sg[] = {
        { 0xFF000, 0, 0x2000, 0x2000 },              /* headers, then text from 1 MiB */
        { 0x102000, 0x2000, 0x800, 0x3000 },         /* data + bss */
    };
    struct mbg_result r;
    assert_int_equal(load_fw(make_elf32_segs(sg, 2, 0x100010), &r), 0);
    assert_int_equal(r.entry, 0x100010);
    assert_memory_equal(ram + 0xFF000, "\x7f" "ELF", 4);
    assert_int_equal(ram[0x100FFF], 0xAB);
    assert_int_equal(ram[0x102000], 0xAB);
    assert_int_equal(ram[0x104FFF], 0);
    assert_int_equal(r.info_gpa, 0x9000);           /* its usual place is free */
    assert_int_equal(r.rsdp_gpa, 0xE0000);
    check_info(&r, sg, 2);
    /* A segment over 0xE0000-0xFF000: the RSDP goes in the first slot after it. */
    static const struct seg low[] = { { 0xE0000, 0, 0x1000, 0x1F000 } };
    assert_int_equal(load_fw(make_elf32_segs(low, 1, 0xE0010), &r), 0);
    assert_int_equal(r.rsdp_gpa, 0xFF000);
    check_info(&r, low, 1);
}

/* kvm-unit-tests' realmode.flat-style image at 0x8000-0xA86C, over 0x9000. */
static void test_image_at_8000(void **state)
{
    (void)state;
    static const struct seg sg[] = { { 0x8000, 0x1000, 0x2000, 0x286C } };
    struct mbg_result r;
    assert_int_equal(load_fw(make_elf32_segs(sg, 1, 0x8000), &r), 0);
    assert_int_equal(r.entry, 0x8000);
    assert_int_equal(ram[0x8000], 0xAB);
    assert_int_equal(ram[0xA86B], 0);
    assert_int_equal(r.info_gpa, 0xB000);           /* the first free page after it */
    check_info(&r, sg, 1);
}

/* Low memory all taken: the block goes above 1 MiB, after the module. */
static void test_info_above_1mib(void **state)
{
    (void)state;
    static const struct seg sg[] = { { 0x1000, 0x1000, 0x100, 0x9E000 } };
    struct mbg_result r;
    assert_int_equal(load_fw(make_elf32_segs(sg, 1, 0x1000), &r), 0);
    assert_int_equal(r.info_gpa, 0x101000);         /* after the module, at 0x100000 */
    check_info(&r, sg, 1);
}

/* Segments overlapping each other, or the platform's range, are refused. */
static void test_segment_overlaps(void **state)
{
    (void)state;
    struct mbg_result r;
    static const struct seg twice[] = {
        { 0x200000, 0x1000, 0x100, 0x2000 }, { 0x201000, 0x1000, 0x100, 0x1000 },
    };
    assert_int_equal(load_fw(make_elf32_segs(twice, 2, 0x200000), &r), -1);
    assert_string_equal(r.error, "ELF segment 1 (0x201000-0x202000) overlaps an earlier "
                                 "segment (0x200000-0x202000)");
    static const struct seg acpi[] = { { FW_BASE - 0x1000, 0x1000, 0x100, 0x2000 } };
    assert_int_equal(load_fw(make_elf32_segs(acpi, 1, FW_BASE - 0x1000), &r), -1);
    assert_non_null(strstr(r.error, "ELF segment 0"));
    assert_non_null(strstr(r.error, "ACPI tables"));
    static const struct seg out[] = { { RAM - 0x1000, 0x1000, 0x100, 0x2000 } };
    assert_int_equal(load_fw(make_elf32_segs(out, 1, RAM - 0x1000), &r), -1);
    assert_string_equal(r.error, "ELF segment 0 (0xfff000-0x1001000) lies outside the VM's "
                                 "memory (0x0-0x1000000)");
}

static int setup(void **state) { (void)state; ram = malloc(RAM); return ram ? 0 : -1; }
static int teardown(void **state) { (void)state; free(ram); return 0; }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf32),
        cmocka_unit_test(test_elf64),
        cmocka_unit_test(test_aout_kludge),
        cmocka_unit_test(test_no_header),
        cmocka_unit_test(test_hostile_elf),
        cmocka_unit_test(test_hostile_aout),
        cmocka_unit_test(test_ram_size_limits),
        cmocka_unit_test(test_module_too_large),
        cmocka_unit_test(test_cmdline_too_long),
        cmocka_unit_test(test_reserved_ranges),
        cmocka_unit_test(test_headers_segment_at_ff000),
        cmocka_unit_test(test_image_at_8000),
        cmocka_unit_test(test_info_above_1mib),
        cmocka_unit_test(test_segment_overlaps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
