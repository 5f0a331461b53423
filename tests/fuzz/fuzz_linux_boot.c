/* libFuzzer target for loader/linux_boot: a hostile bzImage (or the VM's size, its
 * initrd and command line) must never make the loader read past the image or an
 * initrd (ASan), write outside the VM's RAM, or write where it promised not to;
 * a refused image always says why. Input: 4 bytes of parameters (RAM in MiB as a
 * 16-bit number, initrd KiB, command-line length), then the image. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/linux_boot.h"
#include "tests/fuzz/fuzz_loader_mem.h"

#define MIB (1ull << 20)
#define PARAMS 4
#define INITRD_MAX (255u << 10)
#define VGA_BIOS_LO 0xA0000ull          /* the VGA hole and BIOS area: hv86's ACPI */
#define ENTRY64_OFFSET 0x200ull         /* boot.rst: the 64-bit entry */

static uint8_t initrd[INITRD_MAX];
static char cmdline[256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < PARAMS)
        return 0;
    struct fake_ram ram = { .size = (uint64_t)(data[0] | data[1] << 8) * MIB };
    unsigned initrd_kib = data[2], cmd_len = data[3];
    memset(cmdline, 'x', cmd_len);
    cmdline[cmd_len] = 0;
    struct mbg_blob rd = { .name = "initrd", .data = initrd, .size = (uint64_t)initrd_kib << 10 };
    struct mbg_range ecam = { .base = 0xE0000000ull, .size = 256 * MIB };
    struct lb_input in = {
        .kernel = { .name = "fuzz", .data = data + PARAMS, .size = size - PARAMS },
        .cmdline = cmdline,
        .initrds = &rd,
        .ninitrds = initrd_kib ? 1 : 0,
        .ram_size = ram.size,
        .reserved = &ecam,
        .nreserved = 1,
    };
    struct lb_result res;
    int rc = lb_load(&in, fake_ram_write, &ram, &res);
    if (rc != 0) {
        if (rc != -1 || !res.error || !res.error[0])
            abort();
        return 0;
    }
    /* Loaded: the kernel, initrd, boot_params, command line and tables each in
     * RAM, none over another, none in the VGA/BIOS area where hv86 keeps its ACPI
     * tables, and the registers as the 64-bit boot protocol wants them. */
    if (res.error || ram.refused || fake_ram_overlap(&ram) ||
        fake_ram_touched(&ram, VGA_BIOS_LO, MIB))
        abort();
    if (res.kernel_start < MIB || res.kernel_end > ram.size ||
        res.kernel_end < res.kernel_start || res.entry != res.kernel_start + ENTRY64_OFFSET)
        abort();
    if (res.initrd_size && (res.initrd_start < res.kernel_end ||
                            res.initrd_start + res.initrd_size > ram.size))
        abort();
    if (res.boot_params != LB_ZERO_PAGE_GPA || res.cr3 != LB_PML4_GPA ||
        res.gdt_base != LB_GDT_GPA)
        abort();
    return 0;
}
