/* Loading a Linux bzImage through the 64-bit boot protocol (Linux
 * Documentation/arch/x86/boot.rst, "THE LINUX/x86 BOOT PROTOCOL" and "64-bit BOOT
 * PROTOCOL"): setup-header checks, the protected-mode kernel at its preferred
 * address, the initrd high in RAM, boot_params (the "zero page") with an e820 map
 * and the command line, and identity page tables + a GDT for the 64-bit entry.
 * Pure logic: guest memory is written through a callback that checks every range,
 * so nothing is ever written outside the VM's RAM. docs/linux.md. */
#ifndef LOADER_LINUX_BOOT_H
#define LOADER_LINUX_BOOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "loader/multiboot_guest.h"   /* mbg_write_fn, mbg_blob, mbg_range */

/* Where the loader puts its own structures: below 1 MiB, which Linux reserves
 * for itself from the start (arch/x86/realmode: the whole first MiB is kept out
 * of the allocator), and away from the 8 KiB under 0x9F000 that the
 * decompressor borrows for its 32-bit trampoline (its find_trampoline_placement).
 * The kernel copies boot_params and the command line before it uses low memory. */
#define LB_GDT_GPA        0x1000ull   /* GDT: null, null, __BOOT_CS, __BOOT_DS */
#define LB_ZERO_PAGE_GPA  0x7000ull   /* struct boot_params, 4 KiB */
#define LB_PML4_GPA       0x9000ull   /* identity map: PML4, PDPT, 4 PDs of 2 MiB pages */
#define LB_PDPT_GPA       0xA000ull
#define LB_PD_GPA         0xB000ull
#define LB_PD_COUNT       4u          /* 4 GiB: all of a VM's RAM (at most 4 GiB) */
#define LB_CMDLINE_GPA    0x20000ull
#define LB_CMDLINE_MAX    0x10000ull  /* our own bound on the command line area */

/* Selectors of the 64-bit boot protocol's GDT (boot.rst: __BOOT_CS, __BOOT_DS). */
#define LB_BOOT_CS 0x10u
#define LB_BOOT_DS 0x18u
#define LB_GDT_LIMIT 0x1Fu

#define LB_E820_MAX 16

/* The image looks like an x86 boot image (0xAA55 boot flag at 0x1FE): give it to
 * lb_load, whose errors then say what is wrong with it as a bzImage. */
bool lb_is_boot_image(const uint8_t *data, uint64_t size);

struct lb_input {
    struct mbg_blob kernel;
    const char *cmdline;                 /* never NULL: "" if none */
    const struct mbg_blob *initrds;      /* concatenated into one initrd (as GRUB) */
    unsigned ninitrds;
    uint64_t ram_size;                   /* guest RAM [0, ram_size) */
    const struct mbg_range *reserved;    /* device ranges above RAM: e820 reserved */
    unsigned nreserved;
    struct mbg_range firmware;           /* RAM kept by the platform (ACPI tables): e820
                                            reserved, no kernel or initrd there; size 0:
                                            none */
};

struct lb_result {
    uint64_t entry;                      /* RIP: load address + 0x200 */
    uint64_t boot_params;                /* RSI */
    uint64_t cr3;                        /* PML4 of the identity map */
    uint64_t gdt_base;
    uint16_t gdt_limit;
    uint64_t kernel_start, kernel_end;   /* load address .. + init_size */
    uint64_t initrd_start, initrd_size;
    uint16_t version;                    /* boot protocol version, e.g. 0x020f */
    const char *error;                   /* set when loading failed */
};

/* 0 on success; -1 with res->error naming the reason. */
int lb_load(const struct lb_input *in, mbg_write_fn write, void *ctx, struct lb_result *res);
#endif
