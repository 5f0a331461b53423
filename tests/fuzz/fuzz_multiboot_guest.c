/* libFuzzer target for loader/multiboot_guest: a hostile multiboot image (ELF32,
 * ELF64 or a.out kludge), with modules and a VM size from the input, must never
 * make the loader read past the image (ASan), write outside the VM's RAM, or
 * write into the firmware area (hv86's ACPI tables); a refused image always says
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
    /* Loaded: everything in RAM and out of the firmware area; the image where the
     * result says; the boot information where EBX will point. */
    if (res.error || ram.refused || fake_ram_touched(&ram, MBG_FIRMWARE_GPA, MBG_FIRMWARE_END))
        abort();
    if (res.image_end < res.image_start || res.image_end > ram.size ||
        res.info_gpa != MBG_INFO_GPA)
        abort();
    return 0;
}
