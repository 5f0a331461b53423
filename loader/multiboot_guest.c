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

/* The segments placed so far, to refuse overlaps and find free RAM afterwards. */
struct span { uint64_t base, end; };
static struct span segs[MBG_MAX_SEGMENTS];
static unsigned nsegs;

/* An error naming a segment and its range: "what (0xBASE-0xEND) why". */
static char errbuf[160];
static unsigned err_len;
static void err_str(const char *s) { while (*s && err_len + 1 < sizeof errbuf) errbuf[err_len++] = *s++; }
static void err_hex(uint64_t v)
{
    char d[19] = "0x";
    int n = 0;
    uint64_t t = v;
    do { n++; t >>= 4; } while (t);
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        d[2 + i] = "0123456789abcdef"[v & 15];
    d[2 + n] = 0;
    err_str(d);
}
static const char *seg_error(const char *what, uint64_t gpa, uint64_t len, const char *why,
                             uint64_t a, uint64_t b)
{
    err_len = 0;
    err_str(what);
    err_str(" (");
    err_hex(gpa);
    err_str("-");
    err_hex(gpa + len);
    err_str(") ");
    err_str(why);
    if (b) {
        err_str(" (");
        err_hex(a);
        err_str("-");
        err_hex(b);
        err_str(")");
    }
    errbuf[err_len] = 0;
    return errbuf;
}

static bool overlaps(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
    return a < b_end && b < a_end;
}

/* Copy a segment [file_off, +file_len) of the image to gpa and zero up to mem_len.
 * what names it in errors ("ELF segment 2", "the a.out-kludge image"). */
static const char *place(const struct mbg_input *in, mbg_write_fn write, void *ctx,
                         const char *what, uint64_t gpa, uint64_t file_off, uint64_t file_len,
                         uint64_t mem_len, struct mbg_result *res)
{
    const struct mbg_blob *k = &in->kernel;
    if (file_len > mem_len)
        return "segment file size larger than its memory size";
    if (file_off > k->size || file_len > k->size - file_off)
        return "segment lies outside the image file";
    if (gpa > in->ram_size || mem_len > in->ram_size - gpa)
        return seg_error(what, gpa, mem_len > UINT64_MAX - gpa ? UINT64_MAX - gpa : mem_len,
                         "lies outside the VM's memory", 0, in->ram_size);
    const struct mbg_range *fw = &in->firmware;
    if (fw->size && overlaps(gpa, gpa + mem_len, fw->base, fw->base + fw->size))
        return seg_error(what, gpa, mem_len, "overlaps the ACPI tables at the top of RAM",
                         fw->base, fw->base + fw->size);
    for (unsigned i = 0; i < nsegs; i++)
        if (overlaps(gpa, gpa + mem_len, segs[i].base, segs[i].end))
            return seg_error(what, gpa, mem_len, "overlaps an earlier segment",
                             segs[i].base, segs[i].end);
    if (nsegs == MBG_MAX_SEGMENTS)
        return "more than 32 loadable segments";
    if (!write(ctx, gpa, k->data + file_off, file_len) ||
        !write(ctx, gpa + file_len, 0, mem_len - file_len))
        return seg_error(what, gpa, mem_len, "does not fit in the VM's memory", 0, 0);
    segs[nsegs++] = (struct span){ gpa, gpa + mem_len };
    if (nsegs == 1 || gpa < res->image_start)
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
    return place(in, write, ctx, "the a.out-kludge image", load_addr, file_off, file_len,
                 mem_len, res);
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
        char what[24] = "ELF segment ";
        unsigned n = 12;
        if (i >= 10000) what[n++] = (char)('0' + i / 10000 % 10);
        if (i >= 1000) what[n++] = (char)('0' + i / 1000 % 10);
        if (i >= 100) what[n++] = (char)('0' + i / 100 % 10);
        if (i >= 10) what[n++] = (char)('0' + i / 10 % 10);
        what[n++] = (char)('0' + i % 10);
        what[n] = 0;
        const char *err = place(in, write, ctx, what, paddr, off, filesz, memsz, res);
        if (err)
            return err;
        loaded++;
    }
    if (!loaded)
        return "ELF file has no loadable segment";
    res->entry = (uint32_t)entry;
    return 0;
}

/* The boot information block, built in a local buffer at offsets from its start,
 * then placed in free RAM and its pointers made guest-physical. */
struct info_builder { uint8_t buf[MBG_INFO_MAX]; uint64_t used; bool full; };

static uint64_t info_put(struct info_builder *b, const void *src, uint64_t len, uint64_t align)
{
    uint64_t at = align_up(b->used, align);
    if (at + len > sizeof b->buf) {
        b->full = true;
        return 0;
    }
    for (uint64_t i = 0; i < len; i++)
        b->buf[at + i] = src ? ((const uint8_t *)src)[i] : 0;
    b->used = at + len;
    return at;
}

static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

static struct info_builder info;     /* one load at a time; too large for a stack */

/* What no boot information may cover: page 0 (the real-mode IVT and BIOS data
 * area), the segments, the modules and the platform's own RAM. */
static struct span busy[MBG_MAX_SEGMENTS + MBG_MAX_MODULES + 2];
static unsigned nbusy;

static bool is_free(uint64_t base, uint64_t end)
{
    for (unsigned i = 0; i < nbusy; i++)
        if (overlaps(base, end, busy[i].base, busy[i].end))
            return false;
    return true;
}

/* Does [at, at + len) lie free inside one of the RAM regions the block may use? */
static bool fits_free(uint64_t at, uint64_t len, uint64_t top)
{
    bool low = at >= PAGE_SIZE && at <= MBG_LOW_TOP && len <= MBG_LOW_TOP - at;
    bool high = at >= (1 << 20) && at <= top && len <= top - at;
    return (low || high) && is_free(at, at + len);
}

/* Where the boot information goes when its usual place is taken: as QEMU does,
 * right after the image or a module (the lowest page-aligned end of one where len
 * bytes are free), else the lowest free start of low memory or of RAM from 1 MiB.
 * 0 if there is no room. */
static uint64_t find_free(uint64_t len, uint64_t top)
{
    uint64_t best = 0;
    for (unsigned i = 1; i < nbusy; i++) {       /* busy[0] is page 0 */
        uint64_t at = align_up(busy[i].end, PAGE_SIZE);
        if (fits_free(at, len, top) && (!best || at < best))
            best = at;
    }
    if (!best && fits_free(PAGE_SIZE, len, top))
        best = PAGE_SIZE;
    if (!best && fits_free(1 << 20, len, top))
        best = 1 << 20;
    return best;
}

int mbg_load(const struct mbg_input *in, mbg_write_fn write, void *ctx, struct mbg_result *res)
{
    const struct mbg_blob *k = &in->kernel;
    *res = (struct mbg_result){ 0 };
    nsegs = 0;
    if (in->ram_size < (2ull << 20) || in->ram_size > (4ull << 30)) {
        res->error = "VM memory must be between 2 MiB and 4 GiB for a multiboot guest";
        return -1;
    }
    const struct mbg_range *fw = &in->firmware;
    if (fw->size && (fw->base < (1 << 20) || fw->base > in->ram_size ||
                     fw->size > in->ram_size - fw->base)) {
        res->error = "the platform's firmware range lies outside the VM's memory";
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
    nbusy = 0;
    busy[nbusy++] = (struct span){ 0, PAGE_SIZE };
    for (unsigned i = 0; i < nsegs; i++)
        busy[nbusy++] = segs[i];
    if (fw->size)
        busy[nbusy++] = (struct span){ fw->base, fw->base + fw->size };

    /* The RSDP's slot: the first 16-byte boundary of the BIOS area no segment covers. */
    for (uint64_t at = MBG_BIOS_GPA; !res->rsdp_gpa && at + MBG_RSDP_LEN <= MBG_BIOS_END; at += 16)
        if (is_free(at, at + MBG_RSDP_LEN))
            res->rsdp_gpa = (uint32_t)at;
    if (!res->rsdp_gpa) {
        res->error = "the image covers all of 0xE0000-0x100000: no room for the ACPI RSDP";
        return -1;
    }

    /* Modules go after the image (page aligned, as header flag bit 0 may ask), in
     * free RAM from 1 MiB. */
    uint64_t mod_at[MBG_MAX_MODULES];
    uint64_t next = align_up(res->image_end > (1 << 20) ? res->image_end : (1 << 20), PAGE_SIZE);
    for (unsigned i = 0; i < in->nmodules && i < MBG_MAX_MODULES; i++) {
        const struct mbg_blob *m = &in->modules[i];
        if (next > in->ram_size || m->size > in->ram_size - next || !is_free(next, next + m->size) ||
            !write(ctx, next, m->data, m->size)) {
            res->error = "modules do not fit in the VM's memory";
            return -1;
        }
        mod_at[i] = next;
        busy[nbusy++] = (struct span){ next, align_up(next + m->size, PAGE_SIZE) };
        next = align_up(next + m->size, PAGE_SIZE);
    }

    /* The block: information, module list, names, command line, memory map. */
    info.used = 0;
    info.full = false;
    uint64_t mbi_off = info_put(&info, 0, 88, 8);
    uint64_t mods_off = info_put(&info, 0, 16ull * in->nmodules, 4);
    uint64_t name_off[MBG_MAX_MODULES];
    for (unsigned i = 0; i < in->nmodules && i < MBG_MAX_MODULES; i++)
        name_off[i] = info_put(&info, in->modules[i].name, lo_size(in->modules[i].name) + 1, 1);
    if (info.full) {
        res->error = "module names too long for the boot information area";
        return -1;
    }
    uint64_t cmd_off = info_put(&info, in->cmdline, lo_size(in->cmdline) + 1, 1);
    uint64_t loader_off = info_put(&info, "hv86", 5, 1);
    /* Memory map (section 3.3: size field excludes itself). */
    enum { FIXED = 6, ENTRY = 24 };
    uint64_t upper_end = fw->size ? fw->base : in->ram_size;
    uint64_t ranges[FIXED + MBG_MAX_RESERVED][3] = {
        { 0, MBG_LOW_TOP, MB_MMAP_AVAILABLE },
        { MBG_LOW_TOP, 0xA0000 - MBG_LOW_TOP, MB_MMAP_RESERVED },
        { MBG_BIOS_GPA, MBG_BIOS_END - MBG_BIOS_GPA, MB_MMAP_RESERVED },
        { 1 << 20, upper_end - (1 << 20), MB_MMAP_AVAILABLE },
    };
    unsigned nranges = 4;
    if (fw->size) {
        ranges[nranges][0] = fw->base;
        ranges[nranges][1] = fw->size;
        ranges[nranges++][2] = MB_MMAP_RESERVED;
        if (fw->base + fw->size < in->ram_size) {
            ranges[nranges][0] = fw->base + fw->size;
            ranges[nranges][1] = in->ram_size - (fw->base + fw->size);
            ranges[nranges++][2] = MB_MMAP_AVAILABLE;
        }
    }
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
    uint64_t mmap_off = info_put(&info, 0, ENTRY * nranges, 4);
    if (info.full) {
        res->error = "command line too long for the boot information area";
        return -1;
    }

    /* Where it goes: its usual place if free, else the lowest free pages. */
    uint64_t size = align_up(info.used, PAGE_SIZE);
    uint64_t top = in->ram_size < (4ull << 30) ? in->ram_size : (4ull << 30);
    uint64_t base = is_free(MBG_INFO_GPA, MBG_INFO_GPA + size) ? MBG_INFO_GPA : 0;
    if (!base)
        base = find_free(size, top);
    if (!base) {
        res->error = "no free RAM below 4 GiB for the boot information";
        return -1;
    }
    for (unsigned i = 0; i < nranges; i++) {
        uint8_t *e = info.buf + mmap_off + ENTRY * i;
        wr32(e, ENTRY - 4);
        wr64(e + 4, ranges[i][0]);
        wr64(e + 12, ranges[i][1]);
        wr32(e + 20, (uint32_t)ranges[i][2]);
    }
    for (unsigned i = 0; i < in->nmodules && i < MBG_MAX_MODULES; i++) {
        uint8_t *e = info.buf + mods_off + 16 * i;
        wr32(e, (uint32_t)mod_at[i]);
        wr32(e + 4, (uint32_t)(mod_at[i] + in->modules[i].size));
        wr32(e + 8, (uint32_t)(base + name_off[i]));
    }
    uint8_t *b = info.buf + mbi_off;
    wr32(b + 0, MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP | MB1_INFO_LOADER);
    wr32(b + 4, (uint32_t)(MBG_LOW_TOP >> 10));
    /* As QEMU's: all RAM from 1 MiB, the ACPI tables included (the map has them). */
    wr32(b + 8, (uint32_t)((in->ram_size - (1 << 20)) >> 10));
    wr32(b + 16, (uint32_t)(base + cmd_off));
    wr32(b + 20, in->nmodules);
    wr32(b + 24, (uint32_t)(base + mods_off));
    wr32(b + 44, ENTRY * nranges);
    wr32(b + 48, (uint32_t)(base + mmap_off));
    wr32(b + 64, (uint32_t)(base + loader_off));
    if (!write(ctx, base, info.buf, info.used)) {
        res->error = "boot information does not fit in the VM's memory";
        return -1;
    }
    res->info_gpa = (uint32_t)(base + mbi_off);
    res->info_size = info.used;
    return 0;
}
