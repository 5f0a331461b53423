/* Multiboot v1 guest loader (Multiboot 0.6.96 sections 3.1-3.3). Every offset and
 * size taken from the image is checked against the image and against guest RAM:
 * a corrupt or hostile image gets an error, never an out-of-bounds access. */
#include "arch/multiboot.h"
#include "arch/x86.h"
#include "loader/multiboot_guest.h"

#define ELF_MAGIC    0x464C457Fu       /* "\x7fELF" */
#define ELFCLASS32   1
#define ELFCLASS64   2
#define PT_LOAD      1

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
static uint64_t lo_size(const char *s) { uint64_t n = 0; while (s[n]) n++; return n; }

/* Copy a segment [file_off, +file_len) of the image to gpa and zero up to mem_len. */
static const char *place(const struct mbg_input *in, mbg_write_fn write, void *ctx,
                         uint64_t gpa, uint64_t file_off, uint64_t file_len, uint64_t mem_len,
                         struct mbg_result *res)
{
    const struct mbg_blob *k = &in->kernel;
    if (file_len > mem_len)
        return "segment file size larger than its memory size";
    if (file_off > k->size || file_len > k->size - file_off)
        return "segment lies outside the image file";
    if (gpa < 0x1000 || gpa > in->ram_size || mem_len > in->ram_size - gpa)
        return "segment does not fit in the VM's memory";
    if (gpa < MBG_INFO_GPA + MBG_INFO_MAX && gpa + mem_len > MBG_INFO_GPA)
        return "segment overlaps the boot information area (0x9000-0x10000)";
    if (gpa < MBG_FIRMWARE_END && gpa + mem_len > MBG_FIRMWARE_GPA)
        return "segment overlaps the firmware area (0xE0000-0x100000)";
    if (!write(ctx, gpa, k->data + file_off, file_len) ||
        !write(ctx, gpa + file_len, 0, mem_len - file_len))
        return "segment does not fit in the VM's memory";
    if (!res->image_start || gpa < res->image_start)
        res->image_start = gpa;
    if (gpa + mem_len > res->image_end)
        res->image_end = gpa + mem_len;
    return 0;
}

static const char *load_aout(const struct mbg_input *in, const uint8_t *h, uint64_t h_off,
                             mbg_write_fn write, void *ctx, struct mbg_result *res)
{
    uint32_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
    uint32_t load_end = rd32(h + 20), bss_end = rd32(h + 24);
    if (load_addr > header_addr || header_addr - load_addr > h_off)
        return "multiboot address fields inconsistent (load_addr > header_addr)";
    uint64_t file_off = h_off - (header_addr - load_addr);
    uint64_t file_len = load_end ? (uint64_t)load_end - load_addr : in->kernel.size - file_off;
    if (load_end && load_end < load_addr)
        return "multiboot load_end_addr below load_addr";
    uint64_t mem_len = bss_end ? (uint64_t)bss_end - load_addr : file_len;
    if (bss_end && bss_end < load_addr + file_len)
        return "multiboot bss_end_addr below load_end_addr";
    res->entry = rd32(h + 28);
    return place(in, write, ctx, load_addr, file_off, file_len, mem_len, res);
}

static const char *load_elf(const struct mbg_input *in, mbg_write_fn write, void *ctx,
                            struct mbg_result *res)
{
    const uint8_t *d = in->kernel.data;
    uint64_t size = in->kernel.size;
    if (size < 64 || rd32(d) != ELF_MAGIC)
        return "not an ELF file and no multiboot address fields";
    int is64 = d[4] == ELFCLASS64;
    if (!is64 && d[4] != ELFCLASS32)
        return "unknown ELF class";
    uint64_t phoff = is64 ? rd64(d + 32) : rd32(d + 28);
    uint16_t phentsize = rd16(d + (is64 ? 54 : 42)), phnum = rd16(d + (is64 ? 56 : 44));
    uint64_t entry = is64 ? rd64(d + 24) : rd32(d + 24);
    if (phentsize < (is64 ? 56 : 32) || phoff > size || (uint64_t)phnum * phentsize > size - phoff)
        return "ELF program headers lie outside the file";
    if (entry >> 32)
        return "ELF entry point above 4 GiB";
    unsigned loaded = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = d + phoff + (uint64_t)i * phentsize;
        if (rd32(ph) != PT_LOAD)
            continue;
        uint64_t off, paddr, filesz, memsz;
        if (is64) {
            off = rd64(ph + 8); paddr = rd64(ph + 24); filesz = rd64(ph + 32); memsz = rd64(ph + 40);
        } else {
            off = rd32(ph + 4); paddr = rd32(ph + 12); filesz = rd32(ph + 16); memsz = rd32(ph + 20);
        }
        if (!memsz)
            continue;
        const char *err = place(in, write, ctx, paddr, off, filesz, memsz, res);
        if (err)
            return err;
        loaded++;
    }
    if (!loaded)
        return "ELF file has no loadable segment";
    res->entry = (uint32_t)entry;
    return 0;
}

/* The boot information block, built in a local buffer then written in one piece. */
struct info_builder { uint8_t buf[MBG_INFO_MAX]; uint64_t used; };

static uint64_t info_put(struct info_builder *b, const void *src, uint64_t len, uint64_t align)
{
    uint64_t at = align_up(b->used, align);
    if (at + len > sizeof b->buf)
        return 0;
    for (uint64_t i = 0; i < len; i++)
        b->buf[at + i] = ((const uint8_t *)src)[i];
    b->used = at + len;
    return MBG_INFO_GPA + at;
}

static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

static struct info_builder info;     /* one load at a time; too large for a stack */

int mbg_load(const struct mbg_input *in, mbg_write_fn write, void *ctx, struct mbg_result *res)
{
    const struct mbg_blob *k = &in->kernel;
    *res = (struct mbg_result){ 0 };
    if (in->ram_size < (2ull << 20) || in->ram_size > (4ull << 30)) {
        res->error = "VM memory must be between 2 MiB and 4 GiB for a multiboot guest";
        return -1;
    }
    /* Find the header: 4-byte aligned in the first 8 KiB, magic + flags + checksum == 0. */
    const uint8_t *h = 0;
    uint64_t h_off = 0;
    for (uint64_t o = 0; o + 12 <= k->size && o < MB1_SEARCH_BYTES; o += 4) {
        const uint8_t *p = k->data + o;
        if (rd32(p) == MB1_HEADER_MAGIC && (uint32_t)(rd32(p) + rd32(p + 4) + rd32(p + 8)) == 0) {
            h = p;
            h_off = o;
            break;
        }
    }
    if (!h) {
        res->error = "no multiboot header in the first 8 KiB";
        return -1;
    }
    uint32_t flags = rd32(h + 4);
    const char *err;
    if (flags & MB1_FLAG_ADDRESSES) {
        if (h_off + 32 > k->size)
            err = "multiboot header truncated";
        else
            err = load_aout(in, h, h_off, write, ctx, res);
    } else {
        err = load_elf(in, write, ctx, res);
    }
    if (err) {
        res->error = err;
        return -1;
    }
    if (res->entry < res->image_start || res->entry >= res->image_end) {
        res->error = "entry point outside the loaded image";
        return -1;
    }

    /* Modules go after the image (page aligned, as header flag bit 0 may ask). */
    info.used = 0;
    uint8_t mbi[88] = { 0 }, mods[MBG_MAX_MODULES * 16] = { 0 };
    uint64_t mbi_gpa = info_put(&info, mbi, sizeof mbi, 8);
    uint64_t next = align_up(res->image_end > (1 << 20) ? res->image_end : (1 << 20), PAGE_SIZE);
    for (unsigned i = 0; i < in->nmodules && i < MBG_MAX_MODULES; i++) {
        const struct mbg_blob *m = &in->modules[i];
        if (next > in->ram_size || m->size > in->ram_size - next || !write(ctx, next, m->data, m->size)) {
            res->error = "modules do not fit in the VM's memory";
            return -1;
        }
        uint64_t name = info_put(&info, m->name, lo_size(m->name) + 1, 1);
        if (!name) {
            res->error = "module names too long for the boot information area";
            return -1;
        }
        wr32(mods + 16 * i, (uint32_t)next);
        wr32(mods + 16 * i + 4, (uint32_t)(next + m->size));
        wr32(mods + 16 * i + 8, (uint32_t)name);
        next = align_up(next + m->size, PAGE_SIZE);
    }
    uint64_t mods_gpa = info_put(&info, mods, 16ull * in->nmodules, 4);
    uint64_t cmd_gpa = info_put(&info, in->cmdline, lo_size(in->cmdline) + 1, 1);
    uint64_t name_gpa = info_put(&info, "hv86", 5, 1);
    /* Memory map (section 3.3: size field excludes itself). */
    enum { FIXED = 4, ENTRY = 24 };
    uint64_t ranges[FIXED + MBG_MAX_RESERVED][3] = {
        { 0, MBG_LOW_TOP, MB_MMAP_AVAILABLE },
        { MBG_LOW_TOP, 0xA0000 - MBG_LOW_TOP, MB_MMAP_RESERVED },
        { MBG_FIRMWARE_GPA, MBG_FIRMWARE_END - MBG_FIRMWARE_GPA, MB_MMAP_RESERVED },
        { 1 << 20, in->ram_size - (1 << 20), MB_MMAP_AVAILABLE },
    };
    unsigned nranges = FIXED;
    for (unsigned i = 0; i < in->nreserved; i++) {
        const struct mbg_range *r = &in->reserved[i];
        if (i >= MBG_MAX_RESERVED || r->base < in->ram_size || r->size > UINT64_MAX - r->base) {
            res->error = "a reserved device range overlaps the VM's memory";
            return -1;
        }
        ranges[nranges][0] = r->base;
        ranges[nranges][1] = r->size;
        ranges[nranges++][2] = MB_MMAP_RESERVED;
    }
    uint8_t mm[(FIXED + MBG_MAX_RESERVED) * ENTRY];
    for (unsigned i = 0; i < nranges; i++) {
        wr32(mm + ENTRY * i, ENTRY - 4);
        wr64(mm + ENTRY * i + 4, ranges[i][0]);
        wr64(mm + ENTRY * i + 12, ranges[i][1]);
        wr32(mm + ENTRY * i + 20, (uint32_t)ranges[i][2]);
    }
    uint64_t mmap_gpa = info_put(&info, mm, ENTRY * nranges, 4);
    if (!mods_gpa || !cmd_gpa || !name_gpa || !mmap_gpa) {
        res->error = "command line too long for the boot information area";
        return -1;
    }
    uint8_t *b = info.buf + (mbi_gpa - MBG_INFO_GPA);
    wr32(b + 0, MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP | MB1_INFO_LOADER);
    wr32(b + 4, (uint32_t)(MBG_LOW_TOP >> 10));
    wr32(b + 8, (uint32_t)((in->ram_size - (1 << 20)) >> 10));
    wr32(b + 16, (uint32_t)cmd_gpa);
    wr32(b + 20, in->nmodules);
    wr32(b + 24, (uint32_t)mods_gpa);
    wr32(b + 44, ENTRY * nranges);
    wr32(b + 48, (uint32_t)mmap_gpa);
    wr32(b + 64, (uint32_t)name_gpa);
    if (!write(ctx, MBG_INFO_GPA, info.buf, info.used)) {
        res->error = "boot information does not fit in the VM's memory";
        return -1;
    }
    res->info_gpa = (uint32_t)mbi_gpa;
    return 0;
}
