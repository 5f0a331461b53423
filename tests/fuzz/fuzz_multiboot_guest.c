/* libFuzzer target for loader/multiboot_guest: a hostile multiboot image (ELF32,
 * ELF64 or a.out kludge), with modules and a VM size from the input, must never
 * make the loader read past the image (ASan), write outside the VM's RAM, or
 * write into the platform's range (hv86's ACPI tables at the top of RAM); the boot
 * information and the RSDP slot lie where they may; a refused image always says
 * why. Input: 4 bytes of parameters (RAM in MiB as a 16-bit number, module count,
 * module KiB), then the image. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/multiboot_guest.h"
#include "tests/fuzz/fuzz_loader_mem.h"

#define MIB (1ull << 20)
#define PARAMS 4
#define MODULE_MAX (255u << 10)

static uint8_t module[MODULE_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < PARAMS)
        return 0;
    struct fake_ram ram = { .size = (uint64_t)(data[0] | data[1] << 8) * MIB };
    struct mbg_input in = {
        .kernel = { .name = "fuzz", .data = data + PARAMS, .size = size - PARAMS },
        .cmdline = "fuzz cmdline",
        .nmodules = data[2] % (MBG_MAX_MODULES + 1),
        .ram_size = ram.size,
        .firmware = { ram.size - 0x10000, ram.size >= 0x10000 ? 0x10000 : 0 },
    };
    for (unsigned i = 0; i < in.nmodules; i++)
        in.modules[i] = (struct mbg_blob){ .name = "m", .data = module,
                                           .size = (uint64_t)data[3] << 10 };
    struct mbg_result res;
    int rc = mbg_load(&in, fake_ram_write, &ram, &res);
    if (rc != 0) {
        if (rc != -1 || !res.error || !res.error[0])
            abort();
        return 0;
    }
    /* Loaded: everything in RAM and out of the platform's range; the image where
     * the result says; the boot information in RAM below 4 GiB, off page 0; the
     * RSDP slot in the BIOS area. */
    if (res.error || ram.refused ||
        fake_ram_touched(&ram, in.firmware.base, in.firmware.base + in.firmware.size))
        abort();
    if (res.image_end < res.image_start || res.image_end > ram.size ||
        res.info_gpa < 0x1000 || res.info_gpa + res.info_size > ram.size ||
        res.rsdp_gpa < MBG_BIOS_GPA || res.rsdp_gpa + MBG_RSDP_LEN > MBG_BIOS_END ||
        res.rsdp_gpa % 16)
        abort();
    return 0;
}
