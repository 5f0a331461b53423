/* The ACPI tables (dev/acpi.h). Every table is laid out field by field at the
 * offsets of ACPI 6.5 chapter 5 (and the PCI Firmware Specification 3.2 for MCFG),
 * little-endian; the DSDT's AML follows ACPI 6.5 chapter 20. docs/acpi.md shows
 * the DSDT as ASL next to its bytes. */
#include "arch/pc.h"
#include "dev/acpi.h"
#include "dev/acpi_pm.h"
#include "dev/ioapic.h"
#include "dev/lapic.h"
#include "dev/pci.h"
#include "dev/rtc.h"

/* --- table headers (5.2.6) ---------------------------------------------------- */
#define OEM_ID           "HV86  "      /* 6 bytes */
#define OEM_TABLE_ID     "HV86VM  "    /* 8 bytes */
#define OEM_REVISION     1
#define CREATOR_ID       "HV86"
#define CREATOR_REVISION 1
#define HEADER_LEN       36
#define HDR_LENGTH       4             /* offsets inside the header */
#define HDR_CHECKSUM     9

/* --- RSDP (5.2.5.3) ------------------------------------------------------------ */
#define RSDP_SIGNATURE   "RSD PTR "
#define RSDP_REVISION    2             /* ACPI 2.0 and later: has the XSDT */
#define RSDP_LEN         ACPI_RSDP_LEN

#define XSDT_REVISION    1             /* 5.2.8 */
#define RSDT_REVISION    1             /* 5.2.7 */
#define TABLE_ALIGN      8

/* --- FACS (5.2.10) ------------------------------------------------------------- */
#define FACS_LEN         64
#define FACS_ALIGN       64            /* "64-byte aligned" */
#define FACS_VERSION     2

/* --- FADT (5.2.9), revision 6.5 ------------------------------------------------ */
#define FADT_REVISION    6
#define FADT_MINOR       5
#define FADT_LEN         276
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT        40
#define FADT_SCI_INT     46
#define FADT_PM1A_EVT    56
#define FADT_PM1A_CNT    64
#define FADT_PM_TMR      76
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN  91
#define FADT_P_LVL2_LAT  96
#define FADT_P_LVL3_LAT  98
#define FADT_CENTURY     108
#define FADT_BOOT_ARCH   109
#define FADT_FLAGS       112
#define FADT_RESET_REG   116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VER   131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT      140
#define FADT_X_PM1A_EVT  148
#define FADT_X_PM1A_CNT  172
#define FADT_X_PM_TMR    208
#define P_LVL2_NONE      101           /* > 100: no C2 */
#define P_LVL3_NONE      1001          /* > 1000: no C3 */
/* IA-PC boot architecture flags: ISA-style devices exist (COM1, PIT, RTC, PIC);
 * no 8042 keyboard controller (its ports are unclaimed); no VGA. MSI and the CMOS
 * RTC are not declared absent. */
#define BOOT_LEGACY_DEVICES  (1u << 0)
#define BOOT_VGA_NOT_PRESENT (1u << 2)
#define BOOT_ARCH        (BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT)
/* Fixed feature flags: WBINVD works, C1 (HLT) on every CPU, power and sleep
 * buttons are not fixed hardware (none exist), no RTC wake status, the 32-bit PM
 * timer, the reset register. HW_REDUCED_ACPI is clear: a PC with PM1 and SCI. */
#define FADT_WBINVD      (1u << 0)
#define FADT_PROC_C1     (1u << 2)
#define FADT_PWR_BUTTON  (1u << 4)
#define FADT_SLP_BUTTON  (1u << 5)
#define FADT_FIX_RTC     (1u << 6)
#define FADT_TMR_VAL_EXT (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_FEATURES    (FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | \
                          FADT_FIX_RTC | FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP)

/* Generic Address Structure (5.2.3.2). */
#define GAS_LEN          12
#define GAS_SYSTEM_IO    1
#define GAS_BYTE         1             /* access sizes */
#define GAS_WORD         2
#define GAS_DWORD        3

/* --- MADT (5.2.12) ------------------------------------------------------------- */
#define MADT_REVISION    6
#define MADT_PCAT_COMPAT (1u << 0)     /* dual 8259s present */
#define MADT_LAPIC       0             /* entry types and lengths */
#define MADT_IOAPIC      1
#define MADT_IOAPIC_LEN  12
#define MADT_ISO         2
#define MADT_ISO_LEN     10
#define MADT_LAPIC_NMI   4
#define MADT_LAPIC_NMI_LEN 6
#define MADT_LAPIC_ENABLED (1u << 0)
#define MADT_ALL_CPUS    0xFF          /* LAPIC NMI: every processor */
#define MADT_LINT1       1
#define ISA_BUS          0
#define ISA_IRQ_PIT      0             /* ISA IRQ 0 is IOAPIC pin 2 on a PC */
#define GSI_PIT          2
/* MPS INTI flags (5.2.12.5, "Interrupt Source Override Structure"): polarity
 * 1:0, trigger mode 3:2. */
#define INTI_CONFORMS    0x0
#define INTI_ACTIVE_HIGH 0x1
#define INTI_LEVEL       0xC
#define ISO_COUNT        2

/* --- MCFG (PCI Firmware Specification 3.2, 4.1.2) ------------------------------ */
#define MCFG_REVISION    1
#define MCFG_RESERVED    8
#define MCFG_ENTRY_LEN   16

#define DSDT_REVISION    2             /* 2 and up: 64-bit AML integers */

/* --- AML (chapter 20) ---------------------------------------------------------- */
#define AML_ZERO_OP      0x00
#define AML_ONE_OP       0x01
#define AML_NAME_OP      0x08
#define AML_BYTE_PREFIX  0x0A
#define AML_WORD_PREFIX  0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP     0x10
#define AML_BUFFER_OP    0x11
#define AML_PACKAGE_OP   0x12
#define AML_EXT_OP_PREFIX 0x5B
#define AML_DEVICE_OP    0x82          /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR    '\\'
#define AML_NAME_SEG     4
#define PKG_LEN_1BYTE_MAX 0x3F         /* 20.2.4: 6 bits in the lead byte ... */
#define PKG_LEN_MAX_BYTES 4            /* ... else 4 bits, then up to 3 more bytes */

/* --- resource descriptors (6.4) ------------------------------------------------ */
#define RES_MEMORY32_FIXED 0x86
#define RES_MEMORY32_FIXED_LEN 9       /* bytes after the 3-byte header */
#define RES_DWORD_ADDRESS 0x87
#define RES_DWORD_ADDRESS_LEN 23
#define RES_WORD_ADDRESS 0x88
#define RES_WORD_ADDRESS_LEN 13
#define RES_END_TAG      0x79          /* and a checksum byte: 0 = none */
#define RES_TYPE_MEMORY  0
#define RES_TYPE_IO      1
#define RES_TYPE_BUS     2
#define RES_MIN_FIXED    (1u << 2)     /* general flags */
#define RES_MAX_FIXED    (1u << 3)
#define RES_IO_ENTIRE_RANGE 0x3        /* I/O type-specific: _RNG */
#define RES_MEM_READ_WRITE 0x1         /* memory type-specific: _RW, non-cacheable */
#define PCI_IO_WINDOW1_END 0x0CF7      /* the port space minus CONFIG_ADDRESS/DATA */
#define PCI_IO_WINDOW2_START 0x0D00
#define IO_SPACE_END     0xFFFF

/* EISA IDs as ASL's EISAID() compresses them (chapter 19): three letters of 5 bits
 * each, then four hex digits, stored big-endian. */
#define EISA_PNP0A08 0x080AD041u       /* PCI Express root bridge */
#define EISA_PNP0A03 0x030AD041u       /* PCI root bridge, for older OSes */
#define EISA_PNP0C02 0x020CD041u       /* motherboard resources */

/* The output: tables appended at aligned offsets; full once anything overflowed. */
struct out {
    uint8_t *buf;
    size_t size, used;
    bool full;
};

static void wr(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr_str(uint8_t *p, const char *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)s[i];
}

/* The byte that makes p[0, len) sum to 0. */
static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)-sum;
}

/* Room for len bytes at an aligned offset; NULL (and o->full) if there is none. */
static uint8_t *take(struct out *o, size_t len, size_t align)
{
    size_t at = (o->used + align - 1) & ~(align - 1);
    if (o->full || at > o->size || len > o->size - at) {
        o->full = true;
        return NULL;
    }
    o->used = at + len;
    return o->buf + at;
}

static uint64_t gpa_of(const struct acpi_config *c, const struct out *o, const uint8_t *p)
{
    return c->gpa + (uint64_t)(p - o->buf);
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    wr_str(t, sig, 4);
    wr(t + HDR_LENGTH, len, 4);
    t[8] = rev;
    wr_str(t + 10, OEM_ID, 6);
    wr_str(t + 16, OEM_TABLE_ID, 8);
    wr(t + 24, OEM_REVISION, 4);
    wr_str(t + 28, CREATOR_ID, 4);
    wr(t + 32, CREATOR_REVISION, 4);
}

/* Set the checksum of a finished table (its length is in its header). */
static void seal(uint8_t *t)
{
    uint32_t len = t[HDR_LENGTH] | t[HDR_LENGTH + 1] << 8 | t[HDR_LENGTH + 2] << 16 |
                   (uint32_t)t[HDR_LENGTH + 3] << 24;
    t[HDR_CHECKSUM] = 0;
    t[HDR_CHECKSUM] = checksum(t, len);
}

static void gas_io(uint8_t *p, uint16_t port, unsigned bytes, uint8_t access)
{
    p[0] = GAS_SYSTEM_IO;
    p[1] = (uint8_t)(8 * bytes);     /* register bit width */
    p[2] = 0;                        /* bit offset */
    p[3] = access;
    wr(p + 4, port, 8);
}

/* --- AML ------------------------------------------------------------------------ */

static void put(struct out *o, const void *src, size_t n)
{
    uint8_t *p = take(o, n, 1);
    for (size_t i = 0; p && i < n; i++)
        p[i] = ((const uint8_t *)src)[i];
}

static void put_le(struct out *o, uint64_t v, unsigned n)
{
    uint8_t *p = take(o, n, 1);
    if (p)
        wr(p, v, n);
}

static void put8(struct out *o, uint8_t b)
{
    put(o, &b, 1);
}

/* A NameString: "\\_S5_" (from the root) or "PCI0" (a NameSeg). */
static void aml_name(struct out *o, const char *name)
{
    if (*name == AML_ROOT_CHAR)
        put8(o, (uint8_t)*name++);
    put(o, name, AML_NAME_SEG);
}

/* An Integer as the shortest of ZeroOp, OneOp, ByteConst ... QWordConst. */
static void aml_integer(struct out *o, uint64_t v)
{
    if (v <= 1) {
        put8(o, v ? AML_ONE_OP : AML_ZERO_OP);
        return;
    }
    unsigned n = v <= 0xFF ? 1 : v <= 0xFFFF ? 2 : v <= 0xFFFFFFFFu ? 4 : 8;
    put8(o, n == 1 ? AML_BYTE_PREFIX : n == 2 ? AML_WORD_PREFIX
            : n == 4 ? AML_DWORD_PREFIX : AML_QWORD_PREFIX);
    put_le(o, v, n);
}

/* A construct with a PkgLength (Scope, Device, Package, Buffer): aml_open before
 * its contents, aml_close after; the PkgLength is then inserted at the start, in
 * its shortest encoding (20.2.4), which counts its own bytes. */
static size_t aml_open(const struct out *o)
{
    return o->used;
}

static void aml_close(struct out *o, size_t start)
{
    size_t body = o->used - start, n = 1;
    while (n < PKG_LEN_MAX_BYTES &&
           body + n > (n == 1 ? PKG_LEN_1BYTE_MAX : (1ull << (4 + 8 * (n - 1))) - 1))
        n++;
    size_t len = body + n;
    if (!take(o, n, 1))
        return;
    for (size_t i = body; i-- > 0;)
        o->buf[start + n + i] = o->buf[start + i];
    if (n == 1) {
        o->buf[start] = (uint8_t)len;
        return;
    }
    o->buf[start] = (uint8_t)((n - 1) << 6 | (len & 0xF));
    for (size_t i = 1; i < n; i++)
        o->buf[start + i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
}

/* Name(name, integer) */
static void aml_name_int(struct out *o, const char *name, uint64_t v)
{
    put8(o, AML_NAME_OP);
    aml_name(o, name);
    aml_integer(o, v);
}

/* Device(name) { ... }: returns the start for aml_close. */
static size_t aml_device(struct out *o, const char *name)
{
    put8(o, AML_EXT_OP_PREFIX);
    put8(o, AML_DEVICE_OP);
    size_t s = aml_open(o);
    aml_name(o, name);
    return s;
}

/* Name(_CRS, Buffer() { ... }): returns the start of the buffer for crs_end. */
static size_t crs_begin(struct out *o, size_t *size_at)
{
    put8(o, AML_NAME_OP);
    aml_name(o, "_CRS");
    put8(o, AML_BUFFER_OP);
    size_t s = aml_open(o);
    put8(o, AML_BYTE_PREFIX);            /* BufferSize, patched by crs_end */
    *size_at = o->used;
    put8(o, 0);
    return s;
}

/* The end tag, the buffer's size (a template stays below 256 bytes), its PkgLength. */
static void crs_end(struct out *o, size_t start, size_t size_at)
{
    put8(o, RES_END_TAG);
    put8(o, 0);
    if (!o->full)
        o->buf[size_at] = (uint8_t)(o->used - size_at - 1);
    aml_close(o, start);
}

/* Word Address Space Descriptor (6.4.3.5.3), producer, fixed [min, max]. */
static void res_word(struct out *o, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
    put8(o, RES_WORD_ADDRESS);
    put_le(o, RES_WORD_ADDRESS_LEN, 2);
    put8(o, type);
    put8(o, RES_MIN_FIXED | RES_MAX_FIXED);
    put8(o, type_flags);
    put_le(o, 0, 2);                     /* granularity */
    put_le(o, min, 2);
    put_le(o, max, 2);
    put_le(o, 0, 2);                     /* translation offset */
    put_le(o, (uint32_t)max - min + 1, 2);
}

/* DWord Address Space Descriptor (6.4.3.5.2): a memory window, producer. */
static void res_dword_memory(struct out *o, uint32_t min, uint32_t max)
{
    put8(o, RES_DWORD_ADDRESS);
    put_le(o, RES_DWORD_ADDRESS_LEN, 2);
    put8(o, RES_TYPE_MEMORY);
    put8(o, RES_MIN_FIXED | RES_MAX_FIXED);
    put8(o, RES_MEM_READ_WRITE);
    put_le(o, 0, 4);                     /* granularity */
    put_le(o, min, 4);
    put_le(o, max, 4);
    put_le(o, 0, 4);                     /* translation offset */
    put_le(o, (uint64_t)max - min + 1, 4);
}

/* 32-Bit Fixed Memory Range Descriptor (6.4.3.4), read/write. */
static void res_memory32_fixed(struct out *o, uint32_t base, uint32_t len)
{
    put8(o, RES_MEMORY32_FIXED);
    put_le(o, RES_MEMORY32_FIXED_LEN, 2);
    put8(o, RES_MEM_READ_WRITE);
    put_le(o, base, 4);
    put_le(o, len, 4);
}

/* Name(_PRT, Package() { Package() { (slot << 16) | 0xFFFF, 0, 0, GSI }, ... }):
 * INTA# of slots 1..PCI_PRT_SLOTS to GSIs 16-23 in turn (ACPI 6.4, 6.2.13: a
 * Source of 0 names a global system interrupt, level-triggered, active low). */
static void prt(struct out *o)
{
    put8(o, AML_NAME_OP);
    aml_name(o, "_PRT");
    put8(o, AML_PACKAGE_OP);
    size_t pkg = aml_open(o);
    put8(o, PCI_PRT_SLOTS);
    for (unsigned slot = 1; slot <= PCI_PRT_SLOTS; slot++) {
        put8(o, AML_PACKAGE_OP);
        size_t entry = aml_open(o);
        put8(o, 4);                      /* Address, Pin, Source, Source Index */
        aml_integer(o, (uint64_t)slot << 16 | 0xFFFF);
        aml_integer(o, 0);               /* INTA# */
        aml_integer(o, 0);
        aml_integer(o, PCI_INTX_GSI_BASE + (slot - 1) % PCI_INTX_SLOTS);
        aml_close(o, entry);
    }
    aml_close(o, pkg);
}

/* The DSDT's definition block (docs/acpi.md has it as ASL):
 *   Name(\_S5, Package() { S5, S5 })
 *   Scope(\_SB) {
 *     Device(PCI0) { _HID PNP0A08, _CID PNP0A03, _SEG 0, _BBN 0, _UID 0,
 *                    _CRS: bus 0, I/O 0-0xCF7 and 0xD00-0xFFFF, the memory window,
 *                    _PRT: INTA# of slots 1-16 to GSIs 16-23 }
 *     Device(ECAM) { _HID PNP0C02, _CRS: the ECAM window }   (with the PCI hole)
 *   } */
static void dsdt_body(const struct acpi_config *c, struct out *o)
{
    put8(o, AML_NAME_OP);
    aml_name(o, "\\_S5_");
    put8(o, AML_PACKAGE_OP);
    size_t pkg = aml_open(o);
    put8(o, 2);                          /* NumElements: PM1a, PM1b SLP_TYP */
    aml_integer(o, ACPI_SLP_TYP_S5);
    aml_integer(o, ACPI_SLP_TYP_S5);
    aml_close(o, pkg);

    put8(o, AML_SCOPE_OP);
    size_t sb = aml_open(o);
    aml_name(o, "\\_SB_");

    size_t dev = aml_device(o, "PCI0");
    aml_name_int(o, "_HID", EISA_PNP0A08);
    aml_name_int(o, "_CID", EISA_PNP0A03);
    aml_name_int(o, "_SEG", 0);
    aml_name_int(o, "_BBN", PCI_ECAM_BUS_FIRST);
    aml_name_int(o, "_UID", 0);
    size_t size_at, crs = crs_begin(o, &size_at);
    res_word(o, RES_TYPE_BUS, 0, PCI_ECAM_BUS_FIRST, PCI_ECAM_BUS_LAST);
    res_word(o, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, 0, PCI_IO_WINDOW1_END);
    res_word(o, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, PCI_IO_WINDOW2_START, IO_SPACE_END);
    if (c->pci_hole)
        res_dword_memory(o, PCI_MMIO_BASE, PCI_MMIO_BASE + PCI_MMIO_SIZE - 1);
    crs_end(o, crs, size_at);
    prt(o);
    aml_close(o, dev);

    /* Linux trusts MCFG only if a motherboard device reserves the window. */
    if (c->pci_hole) {
        dev = aml_device(o, "ECAM");
        aml_name_int(o, "_HID", EISA_PNP0C02);
        crs = crs_begin(o, &size_at);
        res_memory32_fixed(o, PCI_ECAM_BASE, PCI_ECAM_SIZE);
        crs_end(o, crs, size_at);
        aml_close(o, dev);
    }
    aml_close(o, sb);
}

/* --- the tables ----------------------------------------------------------------- */

static uint8_t *build_dsdt(const struct acpi_config *c, struct out *o)
{
    uint8_t *t = take(o, HEADER_LEN, TABLE_ALIGN);
    if (!t)
        return NULL;
    dsdt_body(c, o);
    if (o->full)
        return NULL;
    header(t, "DSDT", (uint32_t)(o->buf + o->used - t), DSDT_REVISION);
    seal(t);
    return t;
}

static void build_fadt(uint8_t *t, uint32_t facs, uint32_t dsdt)
{
    header(t, "FACP", FADT_LEN, FADT_REVISION);
    wr(t + FADT_FIRMWARE_CTRL, facs, 4);
    wr(t + FADT_DSDT, dsdt, 4);
    wr(t + FADT_SCI_INT, ACPI_SCI_IRQ, 2);
    /* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE: 0, no SMI mode: always in ACPI mode. */
    wr(t + FADT_PM1A_EVT, ACPI_PM_BASE + ACPI_PM1_STS, 4);
    wr(t + FADT_PM1A_CNT, ACPI_PM_BASE + ACPI_PM1_CNT, 4);
    wr(t + FADT_PM_TMR, ACPI_PM_BASE + ACPI_PM_TMR, 4);
    t[FADT_PM1_EVT_LEN] = ACPI_PM1_EVT_LEN;
    t[FADT_PM1_CNT_LEN] = ACPI_PM1_CNT_LEN;
    t[FADT_PM_TMR_LEN] = ACPI_PM_TMR_LEN;
    wr(t + FADT_P_LVL2_LAT, P_LVL2_NONE, 2);
    wr(t + FADT_P_LVL3_LAT, P_LVL3_NONE, 2);
    t[FADT_CENTURY] = RTC_CENTURY;       /* the CMOS index of the century, as QEMU */
    wr(t + FADT_BOOT_ARCH, BOOT_ARCH, 2);
    wr(t + FADT_FLAGS, FADT_FEATURES, 4);
    gas_io(t + FADT_RESET_REG, PCI_RESET_CONTROL_PORT, 1, GAS_BYTE);
    t[FADT_RESET_VALUE] = PCI_RESET_VALUE;
    t[FADT_MINOR_VER] = FADT_MINOR;
    wr(t + FADT_X_FIRMWARE_CTRL, facs, 8);
    wr(t + FADT_X_DSDT, dsdt, 8);
    gas_io(t + FADT_X_PM1A_EVT, ACPI_PM_BASE + ACPI_PM1_STS, ACPI_PM1_EVT_LEN, GAS_WORD);
    gas_io(t + FADT_X_PM1A_CNT, ACPI_PM_BASE + ACPI_PM1_CNT, ACPI_PM1_CNT_LEN, GAS_WORD);
    gas_io(t + FADT_X_PM_TMR, ACPI_PM_BASE + ACPI_PM_TMR, ACPI_PM_TMR_LEN, GAS_DWORD);
    seal(t);
}

static size_t madt_len(unsigned ncpus)
{
    return HEADER_LEN + 8 + ncpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN +
           ISO_COUNT * MADT_ISO_LEN + MADT_LAPIC_NMI_LEN;
}

static uint8_t *iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    p[0] = MADT_ISO;
    p[1] = MADT_ISO_LEN;
    p[2] = ISA_BUS;
    p[3] = irq;
    wr(p + 4, gsi, 4);
    wr(p + 8, flags, 2);
    return p + MADT_ISO_LEN;
}

static void build_madt(uint8_t *t, const struct acpi_config *c)
{
    header(t, "APIC", (uint32_t)madt_len(c->ncpus), MADT_REVISION);
    wr(t + HEADER_LEN, LAPIC_BASE, 4);
    wr(t + HEADER_LEN + 4, MADT_PCAT_COMPAT, 4);
    uint8_t *p = t + HEADER_LEN + 8;
    for (unsigned i = 0; i < c->ncpus; i++, p += MADT_LAPIC_LEN) {
        p[0] = MADT_LAPIC;
        p[1] = MADT_LAPIC_LEN;
        p[2] = (uint8_t)i;               /* ACPI processor UID */
        p[3] = (uint8_t)i;               /* APIC ID */
        wr(p + 4, MADT_LAPIC_ENABLED, 4);
    }
    p[0] = MADT_IOAPIC;
    p[1] = MADT_IOAPIC_LEN;
    p[2] = c->ioapic_id;
    p[3] = 0;
    wr(p + 4, IOAPIC_BASE, 4);
    wr(p + 8, 0, 4);                     /* its first pin is GSI 0 */
    p += MADT_IOAPIC_LEN;
    p = iso(p, ISA_IRQ_PIT, GSI_PIT, INTI_CONFORMS);
    /* The SCI: level-triggered, active high, as QEMU declares it. */
    p = iso(p, ACPI_SCI_IRQ, ACPI_SCI_IRQ, INTI_LEVEL | INTI_ACTIVE_HIGH);
    p[0] = MADT_LAPIC_NMI;
    p[1] = MADT_LAPIC_NMI_LEN;
    p[2] = MADT_ALL_CPUS;
    wr(p + 3, INTI_CONFORMS, 2);
    p[5] = MADT_LINT1;                   /* NMI on LINT1, as on every PC */
    seal(t);
}

static void build_mcfg(uint8_t *t)
{
    header(t, "MCFG", HEADER_LEN + MCFG_RESERVED + MCFG_ENTRY_LEN, MCFG_REVISION);
    uint8_t *e = t + HEADER_LEN + MCFG_RESERVED;
    wr(e, PCI_ECAM_BASE, 8);
    wr(e + 8, 0, 2);                     /* PCI segment group 0 */
    e[10] = PCI_ECAM_BUS_FIRST;
    e[11] = PCI_ECAM_BUS_LAST;
    seal(t);
}

size_t acpi_build(const struct acpi_config *c, uint8_t *buf, size_t size,
                  uint8_t rsdp[ACPI_RSDP_LEN])
{
    enum { MAX_TABLES = 3 };             /* FADT, MADT, MCFG */
    struct out o = { .buf = buf, .size = size };
    if (c->ncpus == 0 || c->ncpus > ACPI_MAX_CPUS || c->gpa % FACS_ALIGN)
        return 0;
    for (size_t i = 0; i < size; i++)
        buf[i] = 0;
    for (size_t i = 0; i < RSDP_LEN; i++)
        rsdp[i] = 0;
    uint8_t *facs = take(&o, FACS_LEN, FACS_ALIGN);
    uint8_t *dsdt = build_dsdt(c, &o);
    uint8_t *fadt = take(&o, FADT_LEN, TABLE_ALIGN);
    uint8_t *madt = take(&o, madt_len(c->ncpus), TABLE_ALIGN);
    uint8_t *mcfg = c->pci_hole ? take(&o, HEADER_LEN + MCFG_RESERVED + MCFG_ENTRY_LEN,
                                       TABLE_ALIGN) : NULL;
    unsigned n = mcfg ? MAX_TABLES : MAX_TABLES - 1;
    uint8_t *xsdt = take(&o, HEADER_LEN + 8 * n, TABLE_ALIGN);
    uint8_t *rsdt = take(&o, HEADER_LEN + 4 * n, TABLE_ALIGN);
    if (o.full || c->gpa + o.used > UINT32_MAX)  /* the RSDT holds 32-bit addresses */
        return 0;

    wr_str(facs, "FACS", 4);
    wr(facs + HDR_LENGTH, FACS_LEN, 4);
    facs[32] = FACS_VERSION;
    build_fadt(fadt, (uint32_t)gpa_of(c, &o, facs), (uint32_t)gpa_of(c, &o, dsdt));
    build_madt(madt, c);
    if (mcfg)
        build_mcfg(mcfg);

    const uint8_t *tables[MAX_TABLES] = { fadt, madt, mcfg };
    header(xsdt, "XSDT", HEADER_LEN + 8 * n, XSDT_REVISION);
    header(rsdt, "RSDT", HEADER_LEN + 4 * n, RSDT_REVISION);
    for (unsigned i = 0; i < n; i++) {
        wr(xsdt + HEADER_LEN + 8 * i, gpa_of(c, &o, tables[i]), 8);
        wr(rsdt + HEADER_LEN + 4 * i, gpa_of(c, &o, tables[i]), 4);
    }
    seal(xsdt);
    seal(rsdt);

    wr_str(rsdp, RSDP_SIGNATURE, 8);
    wr_str(rsdp + 9, OEM_ID, 6);
    rsdp[15] = RSDP_REVISION;
    wr(rsdp + 16, gpa_of(c, &o, rsdt), 4);
    wr(rsdp + 20, RSDP_LEN, 4);
    wr(rsdp + 24, gpa_of(c, &o, xsdt), 8);
    rsdp[8] = checksum(rsdp, RSDP_V1_LEN);
    rsdp[32] = checksum(rsdp, RSDP_LEN);
    return o.used;
}
