/* Linux bzImage loader, 64-bit boot protocol (Documentation/arch/x86/boot.rst).
 * Every field taken from the image is checked against the image and against the
 * VM's memory before it is used: a corrupt or hostile image gets an error that
 * names the cause, never an out-of-bounds access. docs/linux.md. */
#include "arch/units.h"
#include "arch/x86.h"
#include "loader/linux_boot.h"

/* Setup header fields: offsets in the image's first sector and in boot_params
 * (boot.rst "THE REAL-MODE KERNEL HEADER"; the header sits at the same offset in
 * both). */
#define HDR_START          0x1F1u
#define HDR_SETUP_SECTS    0x1F1u   /* u8: 512-byte setup sectors after the boot sector; 0 = 4 */
#define HDR_VID_MODE       0x1FAu   /* u16 */
#define HDR_BOOT_FLAG      0x1FEu   /* u16: 0xAA55 */
#define HDR_JUMP_OFFSET    0x201u   /* u8: the 0x200 short jump's offset; the header ends at 0x202 + it */
#define HDR_MAGIC          0x202u   /* u32: "HdrS" */
#define HDR_VERSION        0x206u   /* u16 */
#define HDR_TYPE_OF_LOADER 0x210u   /* u8 */
#define HDR_LOADFLAGS      0x211u   /* u8 */
#define HDR_CODE32_START   0x214u   /* u32 */
#define HDR_RAMDISK_IMAGE  0x218u   /* u32 */
#define HDR_RAMDISK_SIZE   0x21Cu   /* u32 */
#define HDR_CMD_LINE_PTR   0x228u   /* u32 */
#define HDR_INITRD_ADDR_MAX 0x22Cu  /* u32: highest address the initrd may occupy */
#define HDR_KERNEL_ALIGN   0x230u   /* u32 */
#define HDR_RELOCATABLE    0x234u   /* u8 */
#define HDR_XLOADFLAGS     0x236u   /* u16 */
#define HDR_CMDLINE_SIZE   0x238u   /* u32: longest command line, NUL excluded */
#define HDR_PREF_ADDRESS   0x258u   /* u64 */
#define HDR_INIT_SIZE      0x260u   /* u32: memory needed from the load address */
#define HDR_NEEDED_END     0x264u   /* the last field we read ends here */
#define HDR_MAX_END        0x290u   /* boot_params.edd_mbr_sig_buffer follows the header */

#define BOOT_FLAG_MAGIC    0xAA55u
#define HDRS_MAGIC         0x53726448u   /* "HdrS" */
/* 2.12 is the first version with xloadflags, which is the only way to know the
 * image has a 64-bit entry (XLF_KERNEL_64); it also has every other field used
 * here (pref_address and init_size: 2.10, cmdline_size: 2.06). */
#define MIN_VERSION        0x020Cu
#define LOADFLAGS_LOADED_HIGH 0x01u      /* bzImage: protected-mode code at 1 MiB+ */
#define LOADFLAGS_CAN_USE_HEAP 0x80u     /* heap_end_ptr valid: real-mode setup only */
#define XLF_KERNEL_64      0x0001u       /* 64-bit entry at load address + 0x200 */
#define ENTRY64_OFFSET     0x200u
#define TYPE_OF_LOADER_UNDEFINED 0xFFu   /* boot.rst: a loader without an assigned id */
#define VID_MODE_NORMAL    0xFFFFu
#define SECTOR             512u
#define DEFAULT_SETUP_SECTS 4u

/* boot_params ("zero page") fields outside the setup header (zero-page.rst). */
#define BP_SIZE            0x1000u
#define BP_ALT_MEM_K       0x1E0u   /* u32: KiB above 1 MiB */
#define BP_E820_ENTRIES    0x1E8u   /* u8 */
#define BP_E820_TABLE      0x2D0u   /* 128 x { u64 addr, u64 size, u32 type } */
#define E820_ENTRY_SIZE    20u
#define E820_RAM           1u
#define E820_RESERVED      2u

/* The PC memory map below 1 MiB: conventional memory up to the EBDA, the VGA and
 * BIOS holes; hv86 puts the ACPI tables in the BIOS area (dev/acpi.h). */
#define LOW_RAM_TOP        0x9FC00ull
#define VGA_HOLE           0xA0000ull
#define FIRMWARE_GPA       0xE0000ull
#define INITRD_ALIGN       4ull              /* cpio archives are 4-byte aligned (GRUB) */

/* Flat 4 GiB descriptors, accessed bit set so the CPU never writes the GDT (SDM
 * Vol. 3A 3.4.5): 64-bit code (L=1, execute/read) and data (read/write). */
#define GDT_CODE64 0x00AF9B000000FFFFull
#define GDT_DATA   0x00CF93000000FFFFull

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }
static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
static uint64_t str_len(const char *s) { uint64_t n = 0; while (s[n]) n++; return n; }
static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }
/* The end of the RAM from 1 MiB the kernel and initrd may use: below the
 * platform's firmware range (the ACPI tables at the top of RAM), if any. */
static uint64_t usable_top(const struct lb_input *in)
{
    return in->firmware.size ? in->firmware.base : in->ram_size;
}

bool lb_is_boot_image(const uint8_t *data, uint64_t size)
{
    return size >= HDR_BOOT_FLAG + 2 && rd16(data + HDR_BOOT_FLAG) == BOOT_FLAG_MAGIC;
}

/* Choose the load address: pref_address when it fits (a kernel that is not
 * relocatable must fit there, at any kernel_alignment), else (relocatable only) the
 * lowest kernel_alignment boundary from 1 MiB. */
static const char *place_kernel(const struct lb_input *in, const uint8_t *d, uint64_t payload,
                                struct lb_result *res)
{
    uint64_t pref = rd64(d + HDR_PREF_ADDRESS), init = rd32(d + HDR_INIT_SIZE);
    uint64_t align = rd32(d + HDR_KERNEL_ALIGN);
    bool relocatable = d[HDR_RELOCATABLE] != 0;
    if (init < payload)
        return "init_size is smaller than the kernel it has to hold";
    if (relocatable && (!is_pow2(align) || align > GIB))
        return "kernel_alignment is not a power of two up to 1 GiB";
    uint64_t load = pref, ram = usable_top(in);
    bool fits = load >= MIB && load <= ram && init <= ram - load;
    if (!fits && !relocatable)
        return "not relocatable, and its pref_address with init_size does not fit in the "
               "VM's memory";
    /* Only a relocatable kernel moves, and only it has a kernel_alignment to honour
     * (boot.rst: "kernel_alignment ... if relocatable_kernel is true"): a kernel
     * that is not runs where it was linked, its pref_address, whatever that field
     * says (0 in an old or hostile header, which would otherwise put it at GPA 0). */
    if (relocatable && (!fits || (load & (align - 1)))) {
        load = align_up(MIB, align);
        if (load > ram || init > ram - load)
            return "the kernel's init_size does not fit in the VM's memory";
    }
    res->kernel_start = load;
    res->kernel_end = load + init;
    res->entry = load + ENTRY64_OFFSET;
    return 0;
}

/* The initrd pieces, each padded to 4 bytes, as one block at the top of RAM below
 * initrd_addr_max (boot.rst: "as high as possible"), page aligned. */
static const char *place_initrd(const struct lb_input *in, const uint8_t *d, mbg_write_fn write,
                                void *ctx, struct lb_result *res)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < in->ninitrds; i++) {
        uint64_t s = in->initrds[i].size;
        if (s > in->ram_size || total > in->ram_size)
            return "initrd larger than the VM's memory";
        total = align_up(total, INITRD_ALIGN) + s;
    }
    if (!total)
        return 0;
    uint64_t top = (uint64_t)rd32(d + HDR_INITRD_ADDR_MAX) + 1;
    if (top > usable_top(in))
        top = usable_top(in);
    if (total > top || ((top - total) & ~(PAGE_SIZE - 1)) < res->kernel_end)
        return "initrd does not fit in the VM's memory above the kernel (and below "
               "initrd_addr_max)";
    uint64_t at = (top - total) & ~(PAGE_SIZE - 1), off = 0;
    for (unsigned i = 0; i < in->ninitrds; i++) {
        uint64_t pad = align_up(off, INITRD_ALIGN) - off;
        if (!write(ctx, at + off, 0, pad) ||
            !write(ctx, at + off + pad, in->initrds[i].data, in->initrds[i].size))
            return "initrd does not fit in the VM's memory";
        off += pad + in->initrds[i].size;
    }
    res->initrd_start = at;
    res->initrd_size = total;
    return 0;
}

/* e820: low RAM, the EBDA and BIOS areas reserved, RAM from 1 MiB, then the device
 * ranges above RAM (the PCI ECAM window, which Linux checks MCFG against). */
static const char *fill_e820(const struct lb_input *in, uint8_t *bp)
{
    uint64_t map[LB_E820_MAX][3] = {
        { 0, LOW_RAM_TOP, E820_RAM },
        { LOW_RAM_TOP, VGA_HOLE - LOW_RAM_TOP, E820_RESERVED },
        { FIRMWARE_GPA, MIB - FIRMWARE_GPA, E820_RESERVED },
        { MIB, usable_top(in) - MIB, E820_RAM },
    };
    unsigned n = 4;
    const struct mbg_range *fw = &in->firmware;
    if (fw->size) {                     /* the ACPI tables, then any RAM above them */
        map[n][0] = fw->base;
        map[n][1] = fw->size;
        map[n++][2] = E820_RESERVED;
        if (fw->base + fw->size < in->ram_size) {
            map[n][0] = fw->base + fw->size;
            map[n][1] = in->ram_size - map[n][0];
            map[n++][2] = E820_RAM;
        }
    }
    for (unsigned i = 0; i < in->nreserved; i++) {
        const struct mbg_range *r = &in->reserved[i];
        if (n >= LB_E820_MAX)
            return "too many reserved device ranges for the e820 map";
        if (r->base < in->ram_size || r->size > UINT64_MAX - r->base)
            return "a reserved device range overlaps the VM's memory";
        map[n][0] = r->base;
        map[n][1] = r->size;
        map[n++][2] = E820_RESERVED;
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = bp + BP_E820_TABLE + E820_ENTRY_SIZE * i;
        wr64(e, map[i][0]);
        wr64(e + 8, map[i][1]);
        wr32(e + 16, (uint32_t)map[i][2]);
    }
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    return 0;
}

/* The identity map and the GDT the 64-bit entry needs (boot.rst "64-bit BOOT
 * PROTOCOL": the kernel, zero page and command line identity-mapped; __BOOT_CS and
 * __BOOT_DS flat). All of the first 4 GiB is mapped, which covers everything. */
static const char *write_entry_tables(mbg_write_fn write, void *ctx, struct lb_result *res)
{
    static uint8_t pd[PAGE_SIZE], table[PAGE_SIZE];   /* one load at a time; large for a stack */
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        table[i] = 0;
    wr64(table, LB_PDPT_GPA | PTE_P | PTE_W);
    if (!write(ctx, LB_PML4_GPA, table, PAGE_SIZE))
        return "no room for the page tables in the VM's memory";
    for (unsigned i = 0; i < LB_PD_COUNT; i++)
        wr64(table + 8 * i, (LB_PD_GPA + PAGE_SIZE * i) | PTE_P | PTE_W);
    if (!write(ctx, LB_PDPT_GPA, table, PAGE_SIZE))
        return "no room for the page tables in the VM's memory";
    for (unsigned i = 0; i < LB_PD_COUNT; i++) {
        for (unsigned j = 0; j < PAGE_SIZE / 8; j++)
            wr64(pd + 8 * j, (i * GIB + j * SIZE_2M) | PTE_P | PTE_W | PTE_PS);
        if (!write(ctx, LB_PD_GPA + PAGE_SIZE * i, pd, PAGE_SIZE))
            return "no room for the page tables in the VM's memory";
    }
    uint8_t gdt[LB_GDT_LIMIT + 1] = { 0 };
    wr64(gdt + LB_BOOT_CS, GDT_CODE64);
    wr64(gdt + LB_BOOT_DS, GDT_DATA);
    if (!write(ctx, LB_GDT_GPA, gdt, sizeof gdt))
        return "no room for the GDT in the VM's memory";
    res->cr3 = LB_PML4_GPA;
    res->gdt_base = LB_GDT_GPA;
    res->gdt_limit = LB_GDT_LIMIT;
    return 0;
}

static const char *load(const struct lb_input *in, mbg_write_fn write, void *ctx,
                        struct lb_result *res)
{
    static uint8_t bp[BP_SIZE];         /* one load at a time; large for a stack */
    const uint8_t *d = in->kernel.data;
    uint64_t size = in->kernel.size;
    if (in->ram_size < 2 * SIZE_2M || in->ram_size > LB_PD_COUNT * GIB)
        return "VM memory must be between 4 MiB and 4 GiB for a Linux guest";
    if (in->firmware.size && (in->firmware.base < 2 * MIB || in->firmware.base > in->ram_size ||
                              in->firmware.size > in->ram_size - in->firmware.base))
        return "the platform's firmware range lies outside the VM's memory";
    if (size < HDR_NEEDED_END)
        return "truncated: smaller than a bzImage setup header";
    if (rd16(d + HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC)
        return "no 0xAA55 boot flag at 0x1FE: not a bzImage";
    if (rd32(d + HDR_MAGIC) != HDRS_MAGIC)
        return "no 'HdrS' signature at 0x202: not a bzImage";
    res->version = rd16(d + HDR_VERSION);
    if (res->version < MIN_VERSION)
        return "boot protocol older than 2.12 (no xloadflags to show a 64-bit entry)";
    if (!(d[HDR_LOADFLAGS] & LOADFLAGS_LOADED_HIGH))
        return "loadflags LOADED_HIGH clear: a zImage, not a bzImage";
    if (!(rd16(d + HDR_XLOADFLAGS) & XLF_KERNEL_64))
        return "no 64-bit entry point (xloadflags XLF_KERNEL_64 clear)";
    unsigned sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : DEFAULT_SETUP_SECTS;
    uint64_t setup_end = (uint64_t)(sects + 1) * SECTOR;
    if (setup_end >= size)
        return "setup_sects puts the kernel past the end of the file";
    uint64_t hdr_end = HDR_MAGIC + (uint64_t)d[HDR_JUMP_OFFSET];
    if (hdr_end < HDR_NEEDED_END || hdr_end > HDR_MAX_END || hdr_end > setup_end)
        return "setup header length (byte at 0x201) is inconsistent";
    uint64_t payload = size - setup_end;
    const char *err = place_kernel(in, d, payload, res);
    if (err)
        return err;
    uint64_t cmd_len = str_len(in->cmdline);
    if (cmd_len > rd32(d + HDR_CMDLINE_SIZE) || cmd_len >= LB_CMDLINE_MAX)
        return "command line longer than the kernel's cmdline_size";
    if (!write(ctx, res->kernel_start, d + setup_end, payload))
        return "the kernel does not fit in the VM's memory";
    if ((err = place_initrd(in, d, write, ctx, res)) != 0)
        return err;
    if (!write(ctx, LB_CMDLINE_GPA, in->cmdline, cmd_len + 1))
        return "no room for the command line in the VM's memory";

    for (unsigned i = 0; i < BP_SIZE; i++)
        bp[i] = 0;
    for (uint64_t i = HDR_START; i < hdr_end; i++)
        bp[i] = d[i];
    wr16(bp + HDR_VID_MODE, VID_MODE_NORMAL);
    bp[HDR_TYPE_OF_LOADER] = TYPE_OF_LOADER_UNDEFINED;
    bp[HDR_LOADFLAGS] &= (uint8_t)~LOADFLAGS_CAN_USE_HEAP;
    wr32(bp + HDR_CODE32_START, (uint32_t)res->kernel_start);
    wr32(bp + HDR_RAMDISK_IMAGE, (uint32_t)res->initrd_start);
    wr32(bp + HDR_RAMDISK_SIZE, (uint32_t)res->initrd_size);
    wr32(bp + HDR_CMD_LINE_PTR, (uint32_t)LB_CMDLINE_GPA);
    wr32(bp + BP_ALT_MEM_K, (uint32_t)((in->ram_size - MIB) >> 10));
    if ((err = fill_e820(in, bp)) != 0)
        return err;
    if (!write(ctx, LB_ZERO_PAGE_GPA, bp, BP_SIZE))
        return "no room for boot_params in the VM's memory";
    res->boot_params = LB_ZERO_PAGE_GPA;
    return write_entry_tables(write, ctx, res);
}

int lb_load(const struct lb_input *in, mbg_write_fn write, void *ctx, struct lb_result *res)
{
    *res = (struct lb_result){ 0 };
    res->error = load(in, write, ctx, res);
    return res->error ? -1 : 0;
}
