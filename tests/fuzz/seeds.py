#!/usr/bin/env python3
"""Writes the seed inputs of the loader and page-walk fuzz targets into
tests/fuzz/corpus/ (valid inputs the fuzzer mutates from; run it again after a
change to an input format). Layouts: the headers of tests/fuzz/fuzz_*.c."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(name, seed, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


def bzimage():
    """Protocol 2.15, relocatable, 64-bit entry, one setup sector (boot.rst)."""
    img = bytearray(0x400 + 0x1000)
    img[0x1F1] = 1
    struct.pack_into("<H", img, 0x1FE, 0xAA55)
    img[0x200:0x202] = b"\xeb\x66"
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, 0x020F)
    img[0x211] = 0x01
    struct.pack_into("<I", img, 0x22C, 0x7FFFFFFF)
    struct.pack_into("<I", img, 0x230, 0x200000)
    img[0x234] = 1
    struct.pack_into("<H", img, 0x236, 0x1)
    struct.pack_into("<I", img, 0x238, 2047)
    struct.pack_into("<Q", img, 0x258, 0x1000000)
    struct.pack_into("<I", img, 0x260, 0x100000)
    return bytes(img)


def multiboot_header(flags, extra=b""):
    magic = 0x1BADB002
    return struct.pack("<III", magic, flags, (-(magic + flags)) & 0xFFFFFFFF) + extra


def elf32():
    """One PT_LOAD segment at 1 MiB with the multiboot header in it."""
    ehdr_size, phdr_size = 52, 32
    body = multiboot_header(0x3) + b"\xf4" * 64
    off = ehdr_size + phdr_size
    ehdr = (b"\x7fELF\x01\x01\x01" + b"\0" * 9 +
            struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, 0x100000 + 12, ehdr_size, 0, 0,
                        ehdr_size, phdr_size, 1, 40, 0, 0))
    phdr = struct.pack("<IIIIIIII", 1, off, 0x100000, 0x100000, len(body), len(body) + 4096,
                       5, 0x1000)
    return ehdr + phdr + body


def aout_kludge():
    """Multiboot address fields (flags bit 16): header at 1 MiB, bss after the file."""
    base = 0x100000
    hdr = multiboot_header(0x10003, struct.pack("<IIIII", base, base, base + 256,
                                                base + 4096, base + 32))
    return hdr + b"\x90" * (256 - len(hdr))


def walk_header(cr0, cr3, cr4, efer, gva, access=0, length=8):
    h = struct.pack("<QQQQQ", cr0, cr3, cr4, efer, gva) + bytes([access, length])
    h += bytes(6) + bytes([40, 0, 0])
    return h + bytes(64 - len(h))


def pages(entries):
    """Guest memory from GPA 0: {gpa: (format, value)}."""
    mem = bytearray(6 * 4096)
    for gpa, (fmt, val) in entries.items():
        struct.pack_into(fmt, mem, gpa, val)
    return bytes(mem)


CR0_PG_PE_WP = (1 << 31) | (1 << 16) | 1
P_RW_US = 0x7
put("linux_boot", "bzimage", struct.pack("<HBB", 64, 4, 10) + bzimage())
put("multiboot_guest", "elf32", struct.pack("<HBB", 32, 2, 1) + elf32())
put("multiboot_guest", "aout", struct.pack("<HBB", 32, 1, 4) + aout_kludge())
# 4-level: PML4 at 0x1000, PDPT 0x2000, PD 0x3000 (a 2 MiB page at 0x400000's slot
# 2 and a table for slot 0), PT 0x4000 mapping 0x5000.
put("gpt_walk", "long4k", walk_header(CR0_PG_PE_WP, 0x1000, 1 << 5, (1 << 8) | (1 << 10) | (1 << 11),
                                      0x1234, access=1) +
    pages({0x1000: ("<Q", 0x2000 | P_RW_US), 0x2000: ("<Q", 0x3000 | P_RW_US),
           0x3000: ("<Q", 0x4000 | P_RW_US), 0x3010: ("<Q", 0x200000 | P_RW_US | 0x80),
           0x4008: ("<Q", 0x5000 | P_RW_US)}))
put("gpt_walk", "long2m", walk_header(CR0_PG_PE_WP, 0x1000, 1 << 5, (1 << 8) | (1 << 10),
                                      0x412345, access=2) +
    pages({0x1000: ("<Q", 0x2000 | P_RW_US), 0x2000: ("<Q", 0x3000 | P_RW_US),
           0x3010: ("<Q", 0x200000 | P_RW_US | 0x80)}))
# 32-bit paging with PSE: PD at 0x1000, a 4 MiB page and a PT at 0x2000.
put("gpt_walk", "legacy", walk_header(CR0_PG_PE_WP, 0x1000, 1 << 4, 0, 0x401234, access=4) +
    pages({0x1000: ("<I", 0x2000 | P_RW_US), 0x1004: ("<I", 0x800000 | P_RW_US | 0x80),
           0x2004: ("<I", 0x3000 | P_RW_US)}))
# PAE: PDPT at 0x1000 (CR3 bits 11:5), PD at 0x2000, PT at 0x3000.
put("gpt_walk", "pae", walk_header(CR0_PG_PE_WP, 0x1000, 1 << 5, 1 << 11, 0x1fff, access=0, length=4) +
    pages({0x1000: ("<Q", 0x2000 | 1), 0x2000: ("<Q", 0x3000 | P_RW_US),
           0x3008: ("<Q", 0x4000 | P_RW_US | (1 << 63)), 0x3010: ("<Q", 0x5000 | P_RW_US)}))


# virtio_ring: a queue of 8 with desc at RAM offset 0, avail 0x400, used 0x800
# (RAM_BASE 0x10000), buffers at 0x1000 and above.
VQ_BASE, VQ_DESC, VQ_AVAIL, VQ_USED, VQ_TABLE = 0x10000, 0x0, 0x400, 0x800, 0xC00
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def vq_input(flags, descs, heads, table=(), used_event=0, pokes=()):
    """descs, table: {index: (gpa, len, flags, next)}; heads: the avail ring."""
    ram = bytearray(0xD00)
    for i, d in descs.items():
        struct.pack_into("<QIHH", ram, VQ_DESC + 16 * i, *d)
    for i, d in enumerate(table):
        struct.pack_into("<QIHH", ram, VQ_TABLE + 16 * i, *d)
    struct.pack_into("<HH", ram, VQ_AVAIL, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", ram, VQ_AVAIL + 4 + 2 * i, h)
    struct.pack_into("<H", ram, VQ_AVAIL + 4 + 2 * 8, used_event)
    hdr = struct.pack("<BBHHHHH", 3, flags, VQ_DESC, VQ_AVAIL, VQ_USED, 0, len(ram))
    return hdr + bytes(ram) + b"".join(struct.pack("<HH", o, v) for o, v in pokes)


DATA = VQ_BASE + 0x1000
put("virtio_ring", "chain", vq_input(
    1, {0: (DATA, 16, F_NEXT, 1), 1: (DATA + 0x100, 512, F_WRITE, 0), 2: (DATA + 0x400, 64, F_WRITE, 0)},
    [0, 2], used_event=1,
    pokes=[(VQ_AVAIL + 4 + 2 * 2, 0), (VQ_AVAIL + 2, 3)]))
put("virtio_ring", "indirect", vq_input(
    2, {0: (VQ_BASE + VQ_TABLE, 48, F_INDIRECT, 0), 1: (DATA, 8, F_NEXT, 2),
        2: (VQ_BASE + VQ_TABLE + 48, 16, F_INDIRECT, 0)},
    [0, 1], table=[(DATA, 16, F_NEXT, 2), (DATA + 0x200, 4, F_WRITE, 0),
                   (DATA + 0x100, 256, F_NEXT | F_WRITE, 1), (DATA + 0x300, 32, F_WRITE, 0)]))
put("virtio_ring", "racy", vq_input(
    7, {0: (DATA, 16, F_NEXT, 1), 1: (DATA + 0x100, 512, F_WRITE, 0)}, [0, 0],
    pokes=[(VQ_DESC + 16 + 8, 0x100), (VQ_AVAIL + 4 + 2, 1), (VQ_AVAIL + 2, 3), (VQ_AVAIL + 4, 9)]))
