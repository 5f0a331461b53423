/* loader/linux_boot: a bzImage loads where the boot protocol says, boot_params
 * carries what the kernel reads (header, command line, initrd, e820), the 64-bit
 * entry's page tables and GDT are right, and hostile images are refused with a
 * reason, never loaded out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "loader/linux_boot.h"

#define RAM (64u << 20)
#define PAYLOAD 0x3000u
#define SETUP_END 0x400u        /* setup_sects = 1 */
static uint8_t *ram;
static uint64_t ram_size = RAM;
static uint8_t image[SETUP_END + PAYLOAD];
static unsigned bad_writes;

static bool write_ram(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
    (void)ctx;
    if (gpa > ram_size || len > ram_size - gpa) {
        bad_writes++;
        return false;
    }
    if (src)
        memcpy(ram + gpa, src, len);
    else
        memset(ram + gpa, 0, len);
    return true;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint8_t get8(uint64_t gpa) { return ram[gpa]; }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }
static uint64_t get64(uint64_t gpa) { uint64_t v; memcpy(&v, ram + gpa, 8); return v; }

/* A minimal bzImage: protocol 2.15, relocatable, 64-bit entry, 16 MiB preferred. */
static void make_bzimage(void)
{
    memset(image, 0, sizeof image);
    image[0x1F1] = 1;                         /* setup_sects */
    put16(image + 0x1FE, 0xAA55);
    image[0x200] = 0xEB;                      /* jmp: header ends at 0x202 + 0x66 */
    image[0x201] = 0x66;
    memcpy(image + 0x202, "HdrS", 4);
    put16(image + 0x206, 0x020F);
    image[0x211] = 0x01;                      /* LOADED_HIGH */
    put32(image + 0x22C, 0x7FFFFFFF);         /* initrd_addr_max */
    put32(image + 0x230, 0x200000);           /* kernel_alignment */
    image[0x234] = 1;                         /* relocatable */
    put16(image + 0x236, 0x1);                /* XLF_KERNEL_64 */
    put32(image + 0x238, 2047);               /* cmdline_size */
    put64(image + 0x258, 0x1000000);          /* pref_address */
    put32(image + 0x260, 0x100000);           /* init_size */
    for (unsigned i = 0; i < PAYLOAD; i++)
        image[SETUP_END + i] = (uint8_t)(i * 7 + 3);
}

static int setup(void **state)
{
    (void)state;
    ram_size = RAM;
    ram = calloc(1, RAM);
    bad_writes = 0;
    make_bzimage();
    return ram ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

static struct mbg_range ecam = { 0xE0000000ull, 0x10000000ull };

static struct lb_input input(const char *cmdline, const struct mbg_blob *initrds, unsigned n)
{
    return (struct lb_input){ .kernel = { "vmlinuz", image, sizeof image }, .cmdline = cmdline,
                              .initrds = initrds, .ninitrds = n, .ram_size = ram_size,
                              .reserved = &ecam, .nreserved = 1 };
}

static void test_recognizes_boot_images(void **state)
{
    (void)state;
    assert_true(lb_is_boot_image(image, sizeof image));
    assert_false(lb_is_boot_image(image, 0x1FF));
    uint8_t elf[0x400] = { 0x7f, 'E', 'L', 'F' };
    assert_false(lb_is_boot_image(elf, sizeof elf));
}

static void test_loads_kernel_at_pref_address(void **state)
{
    (void)state;
    struct lb_input in = input("console=ttyS0 quiet", 0, 0);
    struct lb_result r;
    assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
    assert_null(r.error);
    assert_int_equal(r.kernel_start, 0x1000000);
    assert_int_equal(r.kernel_end, 0x1100000);
    assert_int_equal(r.entry, 0x1000200);
    assert_int_equal(r.version, 0x020F);
    assert_memory_equal(ram + 0x1000000, image + SETUP_END, PAYLOAD);
    assert_int_equal(bad_writes, 0);
}

static void test_boot_params(void **state)
{
    (void)state;
    struct lb_input in = input("console=ttyS0 quiet", 0, 0);
    struct lb_result r;
    assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
    uint64_t bp = r.boot_params;
    assert_int_equal(bp, LB_ZERO_PAGE_GPA);
    assert_memory_equal(ram + bp + 0x202, "HdrS", 4);        /* header copied */
    assert_int_equal(get8(bp + 0x210), 0xFF);                 /* type_of_loader */
    assert_int_equal(get32(bp + 0x214), 0x1000000);           /* code32_start */
    assert_int_equal(get32(bp + 0x218), 0);                   /* no initrd */
    assert_int_equal(get32(bp + 0x21C), 0);
    assert_int_equal(get32(bp + 0x228), LB_CMDLINE_GPA);
    assert_string_equal((char *)ram + LB_CMDLINE_GPA, "console=ttyS0 quiet");
    assert_int_equal(get8(bp + 0x1EF), 0);                    /* sentinel left zero */
    /* e820: low RAM, EBDA, BIOS area, RAM from 1 MiB, the ECAM window */
    assert_int_equal(get8(bp + 0x1E8), 5);
    const uint64_t want[5][3] = {
        { 0, 0x9FC00, 1 }, { 0x9FC00, 0x400, 2 }, { 0xE0000, 0x20000, 2 },
        { 0x100000, RAM - 0x100000, 1 }, { 0xE0000000ull, 0x10000000ull, 2 },
    };
    for (unsigned i = 0; i < 5; i++) {
        uint64_t e = bp + 0x2D0 + 20 * i;
        assert_int_equal(get64(e), want[i][0]);
        assert_int_equal(get64(e + 8), want[i][1]);
        assert_int_equal(get32(e + 16), want[i][2]);
    }
}

/* The platform's firmware range (the ACPI tables at the top of RAM): e820 reserves
 * it, and the initrd goes below it. */
static void test_firmware_range(void **state)
{
    (void)state;
    static const uint8_t a[] = "initrd";
    struct mbg_blob rd[] = { { "a", a, sizeof a } };
    struct lb_input in = input("", rd, 1);
    in.firmware = (struct mbg_range){ RAM - 0x10000, 0x10000 };
    struct lb_result r;
    assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
    assert_true(r.initrd_start + r.initrd_size <= RAM - 0x10000);
    assert_true(r.initrd_start >= RAM - 0x10000 - 4096);
    uint64_t bp = r.boot_params;
    assert_int_equal(get8(bp + 0x1E8), 6);
    const uint64_t want[6][3] = {
        { 0, 0x9FC00, 1 }, { 0x9FC00, 0x400, 2 }, { 0xE0000, 0x20000, 2 },
        { 0x100000, RAM - 0x10000 - 0x100000, 1 }, { RAM - 0x10000, 0x10000, 2 },
        { 0xE0000000ull, 0x10000000ull, 2 },
    };
    for (unsigned i = 0; i < 6; i++) {
        uint64_t e = bp + 0x2D0 + 20 * i;
        assert_int_equal(get64(e), want[i][0]);
        assert_int_equal(get64(e + 8), want[i][1]);
        assert_int_equal(get32(e + 16), want[i][2]);
    }
    in.firmware.base = RAM - 0x1000;                      /* past the end of RAM */
    assert_int_equal(lb_load(&in, write_ram, 0, &r), -1);
    assert_non_null(strstr(r.error, "firmware range"));
}

static void test_entry_tables(void **state)
{
    (void)state;
    struct lb_input in = input("", 0, 0);
    struct lb_result r;
    assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
    /* Walk the identity map for the kernel's entry and the zero page. */
    uint64_t addrs[] = { r.entry, r.boot_params, LB_CMDLINE_GPA, RAM - 1, 0xFEE00000ull };
    for (unsigned i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        uint64_t a = addrs[i];
        uint64_t pml4e = get64(r.cr3 + 8 * ((a >> 39) & 511));
        assert_true(pml4e & 1);
        uint64_t pdpte = get64((pml4e & ~0xFFFull) + 8 * ((a >> 30) & 511));
        assert_true(pdpte & 1);
        uint64_t pde = get64((pdpte & ~0xFFFull) + 8 * ((a >> 21) & 511));
        assert_int_equal(pde & 0x83, 0x83);                   /* P, RW, 2 MiB page */
        assert_int_equal((pde & ~0x1FFFFFull) | (a & 0x1FFFFF), a);
    }
    assert_int_equal(r.gdt_base, LB_GDT_GPA);
    assert_int_equal(r.gdt_limit, 0x1F);
    uint64_t cs = get64(r.gdt_base + LB_BOOT_CS), ds = get64(r.gdt_base + LB_BOOT_DS);
    assert_true(cs & (1ull << 53));                            /* L: 64-bit code */
    assert_true(cs & (1ull << 47));                            /* present */
    assert_int_equal((cs >> 40) & 0x1F, 0x1B);                 /* code, execute/read */
    assert_int_equal((ds >> 40) & 0x1F, 0x13);                 /* data, read/write */
}

static void test_initrds_concatenated_high(void **state)
{
    (void)state;
    const uint8_t a[5] = { 1, 2, 3, 4, 5 }, b[7] = { 9, 9, 9, 9, 9, 9, 9 };
    struct mbg_blob mods[2] = { { "a", a, sizeof a }, { "b", b, sizeof b } };
    struct lb_input in = input("", mods, 2);
    struct lb_result r;
    assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
    assert_int_equal(r.initrd_size, 8 + 7);                    /* a padded to 4 bytes */
    assert_int_equal(r.initrd_start % 4096, 0);
    assert_true(r.initrd_start + r.initrd_size <= RAM);
    assert_true(r.initrd_start >= RAM - 4096 - 16);            /* as high as possible */
    assert_memory_equal(ram + r.initrd_start, a, 5);
    assert_int_equal(ram[r.initrd_start + 5], 0);
    assert_memory_equal(ram + r.initrd_start + 8, b, 7);
    assert_int_equal(get32(r.boot_params + 0x218), r.initrd_start);
    assert_int_equal(get32(r.boot_params + 0x21C), 15);
}

static void test_initrd_below_initrd_addr_max(void **state)
{
    (void)state;
    put32(image + 0x22C, 0x1FFFFFF);                           /* 32 MiB - 1 */
    const uint8_t a[100] = { 7 };
    struct mbg_blob mod = { "a", a, sizeof a };
    struct lb_input in = input("", &mod, 1);
    struct lb_result r;
    assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
    assert_true(r.initrd_start + r.initrd_size <= 0x2000000);
    assert_true(r.initrd_start >= r.kernel_end);
}

static void test_relocates_when_pref_does_not_fit(void **state)
{
    (void)state;
    ram_size = 16u << 20;                       /* pref 16 MiB + init_size: no room */
    struct lb_input in = input("", 0, 0);
    struct lb_result r;
    assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
    assert_int_equal(r.kernel_start, 0x200000);  /* 1 MiB rounded up to kernel_alignment */
    assert_int_equal(r.entry, 0x200200);
}

static void test_not_relocatable_loads_at_pref(void **state)
{
    (void)state;
    image[0x234] = 0;
    put32(image + 0x230, 0x12345);                 /* alignment ignored: not relocatable */
    struct lb_input in = input("", 0, 0);
    struct lb_result r;
    assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
    assert_int_equal(r.kernel_start, 0x1000000);
}

/* Found by fuzz_linux_boot (tests/fuzz/corpus/linux_boot/not-relocatable-align0):
 * a kernel that is not relocatable with kernel_alignment 0 (or one its
 * pref_address is not a multiple of) was "aligned" to GPA 0. It stays at its
 * pref_address: only a relocatable kernel moves. */
static void test_not_relocatable_any_alignment(void **state)
{
    (void)state;
    static const uint32_t aligns[] = { 0, 0x200000, 0x3 };
    for (unsigned i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        image[0x234] = 0;
        put64(image + 0x258, 0x860000);          /* pref_address: 8.375 MiB */
        put32(image + 0x230, aligns[i]);
        struct lb_input in = input("", 0, 0);
        struct lb_result r;
        assert_int_equal(lb_load(&in, write_ram, 0, &r), 0);
        assert_int_equal(r.kernel_start, 0x860000);
        assert_int_equal(r.entry, 0x860200);
        assert_int_equal(bad_writes, 0);
    }
}

/* A hostile image: refused, the reason contains `why`, nothing outside RAM. */
static void refused(const struct lb_input *in, const char *why)
{
    struct lb_result r;
    assert_int_equal(lb_load(in, write_ram, 0, &r), -1);
    assert_non_null(r.error);
    if (!strstr(r.error, why))
        fail_msg("error '%s' does not mention '%s'", r.error, why);
    assert_int_equal(bad_writes, 0);
}

static void test_hostile_images(void **state)
{
    (void)state;
    struct lb_input in = input("", 0, 0);
    in.kernel.size = 0x250;
    refused(&in, "truncated");

    in = input("", 0, 0);
    memcpy(image + 0x202, "HdrZ", 4);
    refused(&in, "HdrS");
    make_bzimage();

    put16(image + 0x206, 0x020B);
    refused(&in, "older than 2.12");
    make_bzimage();

    image[0x211] = 0;
    refused(&in, "LOADED_HIGH");
    make_bzimage();

    put16(image + 0x236, 0);
    refused(&in, "XLF_KERNEL_64");
    make_bzimage();

    image[0x1F1] = 200;                         /* setup_sects lying: past the file */
    refused(&in, "setup_sects");
    make_bzimage();

    image[0x201] = 0xF0;                        /* header claims to run past 0x290 */
    refused(&in, "setup header length");
    make_bzimage();

    put32(image + 0x260, 0x1000);               /* init_size smaller than the kernel */
    refused(&in, "init_size");
    make_bzimage();

    put32(image + 0x230, 0x3000);               /* not a power of two */
    refused(&in, "kernel_alignment");
    make_bzimage();

    image[0x234] = 0;                           /* not relocatable, pref beyond RAM */
    put64(image + 0x258, 0x8000000);
    refused(&in, "not relocatable");
    make_bzimage();

    put32(image + 0x260, 0xFFFFFFFF);           /* init_size larger than RAM */
    refused(&in, "init_size");
    make_bzimage();
}

static void test_hostile_inputs(void **state)
{
    (void)state;
    static uint8_t big[RAM];
    struct mbg_blob mod = { "big", big, RAM - 0x1000000 };
    struct lb_input in = input("", &mod, 1);
    refused(&in, "initrd");                     /* does not fit above the kernel */

    struct mbg_blob huge[2] = { { "a", big, RAM }, { "b", big, RAM } };
    in = input("", huge, 2);
    refused(&in, "initrd");

    static char cmd[3000];
    memset(cmd, 'x', sizeof cmd - 1);
    in = input(cmd, 0, 0);
    refused(&in, "cmdline_size");

    struct mbg_range inside = { 0x100000, 0x1000 };
    in = input("", 0, 0);
    in.reserved = &inside;
    refused(&in, "overlaps");

    ram_size = 1u << 20;
    in = input("", 0, 0);
    refused(&in, "VM memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_recognizes_boot_images, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loads_kernel_at_pref_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_firmware_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initrds_concatenated_high, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initrd_below_initrd_addr_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relocates_when_pref_does_not_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_relocatable_loads_at_pref, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_relocatable_any_alignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_images, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_inputs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
