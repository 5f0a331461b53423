/* Multiboot v1 and v2 constants and layouts (Multiboot Specification 0.6.96 and
 * 1.6): what hv86 is booted with (boot/, kernel/) and what it boots its guests
 * with (loader/multiboot_guest.c). Header only and pure; also included by
 * assembly (boot/multiboot.S). */
#ifndef ARCH_MULTIBOOT_H
#define ARCH_MULTIBOOT_H

#define MB1_HEADER_MAGIC      0x1BADB002
#define MB1_BOOT_MAGIC        0x2BADB002   /* in EAX at entry */
#define MB1_SEARCH_BYTES      8192         /* the header is in the first 8 KiB, 4-aligned */
#define MB1_FLAG_PAGE_ALIGN   (1 << 0)     /* modules page aligned */
#define MB1_FLAG_MEMINFO      (1 << 1)     /* mem_* and mmap wanted */
#define MB1_FLAG_VIDEO        (1 << 2)     /* video mode table wanted */
#define MB1_FLAG_ADDRESSES    (1 << 16)    /* header carries load addresses */
#define MB1_FLAGS (MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMINFO | MB1_FLAG_ADDRESSES)

/* multiboot_info.flags bits */
#define MB1_INFO_MEM          (1 << 0)
#define MB1_INFO_CMDLINE      (1 << 2)
#define MB1_INFO_MODS         (1 << 3)
#define MB1_INFO_MMAP         (1 << 6)
#define MB1_INFO_LOADER       (1 << 9)     /* boot_loader_name */

#define MB2_HEADER_MAGIC      0xE85250D6
#define MB2_BOOT_MAGIC        0x36D76289
#define MB2_ARCH_I386         0
#define MB2_TAG_END           0
#define MB2_TAG_CMDLINE       1
#define MB2_TAG_MODULE        3
#define MB2_TAG_MMAP          6

#define MB_MMAP_AVAILABLE     1
#define MB_MMAP_RESERVED      2

#ifndef __ASSEMBLER__
#include <stdint.h>

struct mb1_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table, boot_loader_name, apm_table;
    uint32_t vbe[6];
} __attribute__((packed));

struct mb1_module {
    uint32_t start, end, string, reserved;
} __attribute__((packed));

/* size is the entry's size without the size field itself. */
struct mb1_mmap_entry {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

struct mb2_tag { uint32_t type, size; };
struct mb2_tag_module { uint32_t type, size, start, end; char string[]; };
struct mb2_tag_mmap { uint32_t type, size, entry_size, entry_version; };
struct mb2_mmap_entry { uint64_t addr, len; uint32_t type, reserved; };
#endif
#endif
