/* Loading a multiboot v1 guest (Multiboot 0.6.96): ELF32, ELF64 or a.out-kludge
 * image, boot information with a memory map, command line and modules. Pure logic:
 * guest memory is written through a callback that checks every range. */
#ifndef LOADER_MULTIBOOT_GUEST_H
#define LOADER_MULTIBOOT_GUEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MBG_MAX_MODULES 8
#define MBG_MAX_SEGMENTS 32           /* loadable (non-empty) segments of an image */
/* The boot information block (information, module list, strings, memory map): at
 * MBG_INFO_GPA when no segment or module covers it, else in free page-aligned RAM
 * below 4 GiB (0x1000-0x9FC00 or from 1 MiB), right after the image or a module
 * where it can (as QEMU puts it after the image). */
#define MBG_INFO_GPA    0x9000ull
#define MBG_INFO_MAX    0x7000ull
#define MBG_LOW_TOP     0x9FC00ull    /* end of conventional memory given to the guest */
/* The BIOS area, where a guest searches for the ACPI RSDP (dev/acpi.h): reserved in
 * the map. Segments may cover it; the loader picks a 16-byte RSDP slot none covers. */
#define MBG_BIOS_GPA    0xE0000ull
#define MBG_BIOS_END    0x100000ull
#define MBG_RSDP_LEN    36u
#define MBG_MAX_RESERVED 4

/* Copy len bytes into guest-physical gpa (src NULL: zero fill). False if outside RAM. */
typedef bool (*mbg_write_fn)(void *ctx, uint64_t gpa, const void *src, uint64_t len);

struct mbg_blob { const char *name; const uint8_t *data; uint64_t size; };
struct mbg_range { uint64_t base, size; };

struct mbg_input {
    struct mbg_blob kernel;
    const char *cmdline;                 /* never NULL: "" if none */
    struct mbg_blob modules[MBG_MAX_MODULES];
    unsigned nmodules;
    uint64_t ram_size;                   /* guest RAM [0, ram_size) */
    /* Device ranges above RAM the memory map marks reserved (type 2), after the
     * RAM entries: e.g. the PCI ECAM window, which Linux looks for there. */
    struct mbg_range reserved[MBG_MAX_RESERVED];
    unsigned nreserved;
    /* RAM the platform keeps for itself (the ACPI tables, at the top of RAM): no
     * segment, module or boot information may lie there; the map marks it reserved.
     * Size 0: none. */
    struct mbg_range firmware;
};

struct mbg_result {
    uint32_t entry;                      /* EIP at entry */
    uint32_t info_gpa;                   /* EBX at entry */
    uint64_t info_size;                  /* bytes of boot information at info_gpa */
    uint32_t rsdp_gpa;                   /* a 16-byte slot in the BIOS area no segment covers */
    uint64_t image_start, image_end;     /* guest-physical span of the kernel */
    const char *error;                   /* set when loading failed */
};

/* 0 on success; -1 with res->error naming the reason. */
int mbg_load(const struct mbg_input *in, mbg_write_fn write, void *ctx, struct mbg_result *res);
#endif
