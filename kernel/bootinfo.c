/* Multiboot v1 (spec 0.6.96 section 3.3) and v2 (spec 1.6 section 3.6) boot
 * information, copied into struct boot_info. */
#include <stdbool.h>
#include <stddef.h>
#include "arch/multiboot.h"
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/string.h"

struct boot_info boot_info;

static void add_module(uint64_t start, uint64_t end, const char *name)
{
    if (boot_info.nmodules < BOOT_MAX_MODULES)
        boot_info.modules[boot_info.nmodules++] = (struct boot_module){ start, end, name ? name : "" };
    else
        kprintf("hv86: too many boot modules, ignoring '%s'\n", name ? name : "");
}

static void add_mem(uint64_t addr, uint64_t len, uint32_t type)
{
    if (boot_info.nmmap < BOOT_MAX_MMAP)
        boot_info.mmap[boot_info.nmmap++] = (struct boot_mem){ addr, len, type };
}

static void parse_mb1(const struct mb1_info *mbi)
{
    boot_info.loader = "multiboot1";
    boot_info.info_start = (uint64_t)mbi;
    boot_info.info_end = (uint64_t)mbi + sizeof *mbi;
    if (mbi->flags & MB1_INFO_CMDLINE)
        boot_info.cmdline = (const char *)(uint64_t)mbi->cmdline;
    if (mbi->flags & MB1_INFO_MODS) {
        const struct mb1_module *m = (const void *)(uint64_t)mbi->mods_addr;
        for (uint32_t i = 0; i < mbi->mods_count; i++)
            add_module(m[i].start, m[i].end, (const char *)(uint64_t)m[i].string);
    }
    if (mbi->flags & MB1_INFO_MMAP) {
        uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
        while (p < end) {
            const struct mb1_mmap_entry *e = (const void *)p;
            add_mem(e->addr, e->len, e->type);
            p += e->size + sizeof e->size;
        }
    } else if (mbi->flags & MB1_INFO_MEM) {
        add_mem(0, (uint64_t)mbi->mem_lower << 10, MB_MMAP_AVAILABLE);
        add_mem(1 << 20, (uint64_t)mbi->mem_upper << 10, MB_MMAP_AVAILABLE);
    }
}

static void parse_mb2(uint64_t info)
{
    uint32_t total = *(const uint32_t *)info;
    boot_info.loader = "multiboot2";
    boot_info.info_start = info;
    boot_info.info_end = info + total;
    for (uint64_t p = info + 8; p + 8 <= info + total;) {
        const struct mb2_tag *t = (const void *)p;
        if (t->type == MB2_TAG_END)
            break;
        if (t->type == MB2_TAG_CMDLINE) {
            boot_info.cmdline = (const char *)(p + 8);
        } else if (t->type == MB2_TAG_MODULE) {
            const struct mb2_tag_module *m = (const void *)p;
            add_module(m->start, m->end, m->string);
        } else if (t->type == MB2_TAG_MMAP) {
            const struct mb2_tag_mmap *m = (const void *)p;
            for (uint64_t e = p + sizeof *m; e + m->entry_size <= p + t->size; e += m->entry_size) {
                const struct mb2_mmap_entry *me = (const void *)e;
                add_mem(me->addr, me->len, me->type);
            }
        }
        p += (t->size + 7) & ~7u;
    }
}

int bootinfo_parse(uint32_t magic, uint64_t info)
{
    if (magic == MB1_BOOT_MAGIC)
        parse_mb1((const struct mb1_info *)info);
    else if (magic == MB2_BOOT_MAGIC)
        parse_mb2(info);
    else
        return -1;
    if (!boot_info.cmdline)
        boot_info.cmdline = "";
    return 0;
}

/* Does a word of the module string, or its last path component, equal name?
 * GRUB passes only what follows the file ("module2 /boot/m1 hello.elf" gives
 * "hello.elf"); QEMU's -initrd passes the path too ("build/hello.elf hello.elf"). */
static bool module_named(const char *s, const char *name, size_t n)
{
    while (*s) {
        while (*s == ' ')
            s++;
        const char *w = s, *base = s;
        while (*s && *s != ' ')
            if (*s++ == '/')
                base = s;
        if (((size_t)(s - w) == n && !strncmp(w, name, n)) ||
            ((size_t)(s - base) == n && !strncmp(base, name, n)))
            return true;
    }
    return false;
}

const struct boot_module *bootinfo_module(const char *name)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < boot_info.nmodules; i++)
        if (n && module_named(boot_info.modules[i].name, name, n))
            return &boot_info.modules[i];
    return NULL;
}

const char *bootinfo_arg(const char *key, char *buf, unsigned size)
{
    size_t klen = strlen(key);
    const char *s = boot_info.cmdline;
    while (*s) {
        while (*s == ' ')
            s++;
        const char *w = s;
        while (*s && *s != ' ')
            s++;
        if ((size_t)(s - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
            unsigned n = 0;
            for (const char *v = w + klen + 1; v < s && n + 1 < size; v++)
                buf[n++] = *v;
            buf[n] = 0;
            return buf;
        }
    }
    return NULL;
}

bool bootinfo_arg_uint(const char *key, unsigned *n)
{
    char buf[16];
    if (!bootinfo_arg(key, buf, sizeof buf))
        return false;
    *n = 0;
    for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
        *n = *n * 10 + (unsigned)(*p - '0');
    return true;
}
