/* What the boot loader told us, in one form for multiboot v1 and v2. */
#ifndef KERNEL_BOOTINFO_H
#define KERNEL_BOOTINFO_H
#include <stdbool.h>
#include <stdint.h>

#define BOOT_MAX_MODULES 32
#define BOOT_MAX_MMAP    64

struct boot_module { uint64_t start, end; const char *name; };
struct boot_mem { uint64_t addr, len; uint32_t type; };

struct boot_info {
    const char *loader;                 /* "multiboot1" / "multiboot2" */
    const char *cmdline;
    struct boot_module modules[BOOT_MAX_MODULES];
    unsigned nmodules;
    struct boot_mem mmap[BOOT_MAX_MMAP];
    unsigned nmmap;
    uint64_t info_start, info_end;      /* the loader's info block, to keep */
};

extern struct boot_info boot_info;
/* Returns 0, or -1 with a message for an unknown magic. */
int bootinfo_parse(uint32_t magic, uint64_t info);
/* A module by its name: a word of its string or that word's file name. */
const struct boot_module *bootinfo_module(const char *name);
/* "key=value" from the hv86 command line; NULL if absent. */
const char *bootinfo_arg(const char *key, char *buf, unsigned size);
/* "key=N" as a decimal number (its leading digits; 0 if none); false if absent. */
bool bootinfo_arg_uint(const char *key, unsigned *n);
#endif
