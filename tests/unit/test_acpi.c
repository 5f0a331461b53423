/* dev/acpi: the tables a guest finds the way an OS does (scan for the RSDP on
 * 16-byte boundaries, then XSDT or RSDT) all have the right signature, revision,
 * length and checksum; the FADT, MADT and MCFG carry the platform's values; the
 * DSDT's AML is exactly the hand-encoded bytes below, and a small AML walker finds
 * every PkgLength consistent and \_S5 where the power-off path expects it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dev/acpi.h"
#include "dev/acpi_pm.h"
#include "dev/pci.h"

#define GPA (128ull * 1024 * 1024 - ACPI_TABLES_SIZE)   /* the top of a 128 MiB VM */
static uint8_t buf[ACPI_TABLES_SIZE];
static uint8_t rsdp_buf[ACPI_RSDP_LEN];
static size_t used;

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* The buffer's byte at guest-physical gpa, checking that [gpa, gpa+len) is inside
 * what acpi_build used. */
static const uint8_t *at(uint64_t gpa, size_t len)
{
    assert_true(gpa >= GPA && gpa - GPA + len <= used);
    return buf + (gpa - GPA);
}

static void build(unsigned ncpus, bool hole)
{
    struct acpi_config c = { .gpa = GPA, .ncpus = ncpus, .ioapic_id = 0, .pci_hole = hole };
    memset(buf, 0xA5, sizeof buf);
    memset(rsdp_buf, 0xA5, sizeof rsdp_buf);
    used = acpi_build(&c, buf, sizeof buf, rsdp_buf);
    assert_true(used > 0 && used < 4096);
    for (size_t i = used; i < sizeof buf; i++)    /* the rest is zero-filled */
        assert_int_equal(buf[i], 0);
}

/* What an OS does (ACPI 6.5, 5.2.5.1): the first "RSD PTR " on a 16-byte boundary
 * whose first 20 bytes sum to 0. */
static const uint8_t *find_rsdp(void)
{
    if (!memcmp(rsdp_buf, "RSD PTR ", 8) && sum(rsdp_buf, 20) == 0)
        return rsdp_buf;
    return NULL;
}

/* A table at gpa: signature, a sane length, checksum 0. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
    const uint8_t *t = at(gpa, 36);
    assert_memory_equal(t, sig, 4);
    uint32_t len = rd32(t + 4);
    assert_true(len >= 36);
    at(gpa, len);
    assert_int_equal(sum(t, len), 0);
    assert_memory_equal(t + 10, "HV86  ", 6);
    return t;
}

/* The table with signature sig through the XSDT, checked against the RSDT. */
static const uint8_t *find(const char *sig)
{
    const uint8_t *rsdp = find_rsdp();
    const uint8_t *x = table(rd64(rsdp + 24), "XSDT"), *r = table(rd32(rsdp + 16), "RSDT");
    unsigned n = (rd32(x + 4) - 36) / 8;
    assert_int_equal((rd32(r + 4) - 36) / 4, n);
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = rd64(x + 36 + 8 * i);
        assert_int_equal(rd32(r + 36 + 4 * i), a);
        if (!memcmp(at(a, 4), sig, 4))
            return table(a, sig);
    }
    return NULL;
}

static void test_rsdp(void **state)
{
    (void)state;
    build(1, true);
    const uint8_t *rsdp = find_rsdp();
    assert_non_null(rsdp);                       /* the caller puts it in 0xE0000-0xFFFFF */
    assert_int_equal(rsdp[15], 2);               /* revision 2: XSDT present */
    assert_int_equal(rd32(rsdp + 20), 36);
    assert_int_equal(sum(rsdp, 36), 0);          /* the extended checksum */
    assert_memory_equal(rsdp + 9, "HV86  ", 6);
    assert_true(rd64(rsdp + 24) >= GPA && rd32(rsdp + 16) >= GPA);
    const uint8_t *x = table(rd64(rsdp + 24), "XSDT");
    assert_int_equal(x[8], 1);
    assert_int_equal(rd32(x + 4), 36 + 3 * 8);   /* FADT, MADT, MCFG */
    assert_int_equal(rd32(table(rd32(rsdp + 16), "RSDT") + 4), 36 + 3 * 4);
    /* The tables stay inside their area, which the memory map reserves. */
    assert_true(used <= ACPI_TABLES_SIZE);
}

static void test_fadt(void **state)
{
    (void)state;
    build(1, true);
    const uint8_t *f = find("FACP");
    assert_non_null(f);
    assert_int_equal(rd32(f + 4), 276);
    assert_int_equal(f[8], 6);                   /* FADT 6.5 */
    assert_int_equal(f[131], 5);
    /* FACS: 64 bytes, 64-byte aligned, both pointers equal. */
    uint64_t facs = rd64(f + 132);
    assert_int_equal(rd32(f + 36), facs);
    assert_int_equal(facs % 64, 0);
    assert_memory_equal(at(facs, 64), "FACS", 4);
    assert_int_equal(rd32(at(facs, 64) + 4), 64);
    /* DSDT and X_DSDT agree. */
    assert_int_equal(rd32(f + 40), rd64(f + 140));
    const uint8_t *d = table(rd64(f + 140), "DSDT");
    assert_int_equal(d[8], 2);
    /* SCI 9, no SMI command port (always in ACPI mode). */
    assert_int_equal(rd16(f + 46), ACPI_SCI_IRQ);
    assert_int_equal(rd32(f + 48), 0);
    assert_int_equal(f[52] | f[53], 0);
    /* PM blocks: legacy fields and their 64-bit GAS twins. */
    static const struct { unsigned legacy, len, gas, port, bytes, access; } blk[] = {
        { 56, 88, 148, 0x600, 4, 2 },            /* PM1a_EVT_BLK */
        { 64, 89, 172, 0x604, 2, 2 },            /* PM1a_CNT_BLK */
        { 76, 91, 208, 0x608, 4, 3 },            /* PM_TMR_BLK */
    };
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(rd32(f + blk[i].legacy), blk[i].port);
        assert_int_equal(f[blk[i].len], blk[i].bytes);
        const uint8_t *g = f + blk[i].gas;
        assert_int_equal(g[0], 1);               /* system I/O */
        assert_int_equal(g[1], 8 * blk[i].bytes);
        assert_int_equal(g[2], 0);
        assert_int_equal(g[3], blk[i].access);
        assert_int_equal(rd64(g + 4), blk[i].port);
    }
    assert_int_equal(ACPI_PM_BASE + ACPI_PM1_CNT, 0x604);
    /* PM1b, PM2, GPE0/1: none. */
    assert_int_equal(rd32(f + 60) | rd32(f + 68) | rd32(f + 72) | rd32(f + 80) | rd32(f + 84), 0);
    uint32_t flags = rd32(f + 112);
    assert_true(flags & (1u << 8));              /* TMR_VAL_EXT: 32-bit timer */
    assert_true(flags & (1u << 10));             /* RESET_REG_SUP */
    assert_false(flags & (1u << 20));            /* not HW-reduced */
    assert_int_equal(rd16(f + 109), 0x0005);     /* legacy devices, no 8042, no VGA */
    assert_int_equal(f[108], 0x32);              /* CMOS century index */
    /* The reset register: byte 0x06 to port 0xCF9. */
    assert_int_equal(f[116], 1);
    assert_int_equal(f[117], 8);
    assert_int_equal(f[119], 1);
    assert_int_equal(rd64(f + 120), 0xCF9);
    assert_int_equal(f[128], 0x06);
}

static void test_madt(void **state)
{
    (void)state;
    for (unsigned ncpus = 1; ncpus <= 8; ncpus += 3) {
        build(ncpus, true);
        const uint8_t *m = find("APIC");
        assert_non_null(m);
        assert_int_equal(m[8], 6);
        assert_int_equal(rd32(m + 36), 0xFEE00000);
        assert_int_equal(rd32(m + 40), 1);       /* PCAT_COMPAT */
        unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
        uint32_t len = rd32(m + 4), off = 44;
        while (off < len) {
            const uint8_t *e = m + off;
            assert_true(e[1] >= 2 && off + e[1] <= len);
            switch (e[0]) {
            case 0:
                assert_int_equal(e[1], 8);
                assert_int_equal(e[2], lapics);  /* UID */
                assert_int_equal(e[3], lapics);  /* APIC ID */
                assert_int_equal(rd32(e + 4), 1);/* enabled */
                lapics++;
                break;
            case 1:
                assert_int_equal(e[1], 12);
                assert_int_equal(e[2], 0);
                assert_int_equal(rd32(e + 4), 0xFEC00000);
                assert_int_equal(rd32(e + 8), 0);
                ioapics++;
                break;
            case 2:
                assert_int_equal(e[1], 10);
                assert_int_equal(e[2], 0);       /* ISA */
                if (e[3] == 0) {
                    assert_int_equal(rd32(e + 4), 2);
                    assert_int_equal(rd16(e + 8), 0);
                } else {
                    assert_int_equal(e[3], 9);
                    assert_int_equal(rd32(e + 4), 9);
                    assert_int_equal(rd16(e + 8), 0xD);  /* level, active high */
                }
                isos++;
                break;
            case 4:
                assert_int_equal(e[1], 6);
                assert_int_equal(e[2], 0xFF);
                assert_int_equal(e[5], 1);       /* LINT1 */
                nmis++;
                break;
            default:
                fail_msg("unexpected MADT entry type %u", e[0]);
            }
            off += e[1];
        }
        assert_int_equal(off, len);
        assert_int_equal(lapics, ncpus);
        assert_int_equal(ioapics, 1);
        assert_int_equal(isos, 2);
        assert_int_equal(nmis, 1);
    }
}

static void test_mcfg(void **state)
{
    (void)state;
    build(1, true);
    const uint8_t *m = find("MCFG");
    assert_non_null(m);
    assert_int_equal(rd32(m + 4), 60);
    assert_int_equal(m[8], 1);
    assert_int_equal(rd64(m + 44), PCI_ECAM_BASE);
    assert_int_equal(rd16(m + 52), 0);
    assert_int_equal(m[54], 0);
    assert_int_equal(m[55], 0);
    assert_int_equal(PCI_ECAM_SIZE, (uint64_t)(m[55] - m[54] + 1) << 20);
    /* Without the PCI hole: no MCFG, two tables listed. */
    build(1, false);
    assert_null(find("MCFG"));
    assert_non_null(find("FACP"));
    assert_int_equal(rd32(at(rd64(find_rsdp() + 24), 36) + 4), 36 + 2 * 8);
}

/* The DSDT's AML, byte by byte (ACPI 6.5 chapter 20), with the PCI hole. */
static const uint8_t dsdt_aml[] = {
    /* Name(\_S5, Package(2) { 7, 7 }) */
    0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0A, 0x07, 0x0A, 0x07,
    /* Scope(\_SB) {: PkgLength 0x17C in two bytes (lead 0x4C: one more byte, low
     * nibble C; then 0x17) */
    0x10, 0x4C, 0x17, '\\', '_', 'S', 'B', '_',
    /* Device(PCI0) {: ExtOpPrefix DeviceOp, PkgLength 0x14B */
    0x5B, 0x82, 0x4B, 0x14, 'P', 'C', 'I', '0',
    /* Name(_HID, EisaId("PNP0A08")), Name(_CID, EisaId("PNP0A03")) */
    0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x08,
    0x08, '_', 'C', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03,
    /* Name(_SEG, Zero), Name(_BBN, Zero), Name(_UID, Zero) */
    0x08, '_', 'S', 'E', 'G', 0x00,
    0x08, '_', 'B', 'B', 'N', 0x00,
    0x08, '_', 'U', 'I', 'D', 0x00,
    /* Name(_CRS, Buffer(0x4C) {: PkgLength 0x50 in two bytes, BufferSize 0x4C */
    0x08, '_', 'C', 'R', 'S', 0x11, 0x40, 0x05, 0x0A, 0x4C,
    /* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0, 0, 1) */
    0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00,
    /* WordIO(..., EntireRange, 0, 0x0000, 0x0CF7, 0, 0x0CF8) */
    0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00, 0x00, 0x00, 0xF7, 0x0C, 0x00, 0x00,
    0xF8, 0x0C,
    /* WordIO(..., EntireRange, 0, 0x0D00, 0xFFFF, 0, 0xF300) */
    0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00, 0x00, 0x0D, 0xFF, 0xFF, 0x00, 0x00,
    0x00, 0xF3,
    /* DWordMemory(..., NonCacheable, ReadWrite, 0, 0xC0000000, 0xDFFFFFFF, 0, 0x20000000) */
    0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0,
    0xFF, 0xFF, 0xFF, 0xDF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
    /* EndTag, checksum 0 }) */
    0x79, 0x00,
    /* Name(_PRT, Package(16) {: PkgLength 0xC3 in two bytes, then one entry per
     * slot 1-16: Package(4) { (slot << 16) | 0xFFFF, INTA# 0, Source 0,
     * GSI 16 + (slot - 1) mod 8 } */
    0x08, '_', 'P', 'R', 'T', 0x12, 0x43, 0x0C, 0x10,
#define PRT_ENTRY(slot) 0x12, 0x0B, 0x04, 0x0C, 0xFF, 0xFF, (slot), 0x00, 0x00, 0x00, 0x0A, \
    16 + ((slot) - 1) % 8
    PRT_ENTRY(1), PRT_ENTRY(2), PRT_ENTRY(3), PRT_ENTRY(4),
    PRT_ENTRY(5), PRT_ENTRY(6), PRT_ENTRY(7), PRT_ENTRY(8),
    PRT_ENTRY(9), PRT_ENTRY(10), PRT_ENTRY(11), PRT_ENTRY(12),
    PRT_ENTRY(13), PRT_ENTRY(14), PRT_ENTRY(15), PRT_ENTRY(16),
#undef PRT_ENTRY
    /* }) } */
    /* Device(ECAM) {: PkgLength 0x26 in one byte */
    0x5B, 0x82, 0x26, 'E', 'C', 'A', 'M',
    /* Name(_HID, EisaId("PNP0C02")) */
    0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0C, 0x02,
    /* Name(_CRS, Buffer(0x0E) { Memory32Fixed(ReadWrite, 0xE0000000, 0x100000), EndTag }) } } */
    0x08, '_', 'C', 'R', 'S', 0x11, 0x11, 0x0A, 0x0E,
    0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xE0, 0x00, 0x00, 0x10, 0x00,
    0x79, 0x00,
};

static const uint8_t *dsdt(uint32_t *len)
{
    const uint8_t *f = find("FACP");
    const uint8_t *d = table(rd64(f + 140), "DSDT");
    *len = rd32(d + 4) - 36;
    return d + 36;
}

static void test_dsdt_bytes(void **state)
{
    (void)state;
    build(1, true);
    uint32_t len;
    const uint8_t *aml = dsdt(&len);
    assert_int_equal(len, sizeof dsdt_aml);
    assert_memory_equal(aml, dsdt_aml, sizeof dsdt_aml);
}

/* --- a small AML walker: the subset hv86 emits ---------------------------------- */

static unsigned pkg_length(const uint8_t *p, uint32_t *len)
{
    unsigned follow = p[0] >> 6;
    if (!follow) {
        *len = p[0] & 0x3F;
        return 1;
    }
    assert_int_equal(p[0] & 0x30, 0);            /* bits 5:4 reserved */
    *len = p[0] & 0xF;
    for (unsigned i = 1; i <= follow; i++)
        *len |= (uint32_t)p[i] << (4 + 8 * (i - 1));
    /* The shortest encoding was used. */
    assert_true(*len > (follow == 1 ? 0x3Fu : (1u << (4 + 8 * (follow - 1))) - 1));
    return 1 + follow;
}

static unsigned name_string(const uint8_t *p, char out[6])
{
    unsigned n = p[0] == '\\';
    memcpy(out, p, n + 4);
    out[n + 4] = 0;
    for (unsigned i = n; i < n + 4; i++)
        assert_true((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_');
    return n + 4;
}

/* A DataRefObject: an integer (stored in *v) or a Package or Buffer. */
static unsigned data_object(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint32_t len;
    *v = 0;
    switch (p[0]) {
    case 0x00: return 1;
    case 0x01: *v = 1; return 1;
    case 0x0A: *v = p[1]; return 2;
    case 0x0B: *v = rd16(p + 1); return 3;
    case 0x0C: *v = rd32(p + 1); return 5;
    case 0x0E: *v = rd64(p + 1); return 9;
    case 0x11:                                   /* Buffer: size, then resources */
    case 0x12: {                                 /* Package: count, then elements */
        unsigned h = pkg_length(p + 1, &len);
        const uint8_t *q = p + 1 + h, *stop = p + 1 + len;
        assert_true(stop <= end);
        if (p[0] == 0x12) {
            unsigned count = *q++;
            while (q < stop) {
                uint64_t e;
                q += data_object(q, stop, &e);
                count--;
            }
            assert_int_equal(count, 0);
        } else {
            uint64_t size;
            q += data_object(q, stop, &size);
            assert_int_equal(stop - q, size);
            /* Resource descriptors: large items (bit 7) with a 16-bit length, until the end tag. */
            while (q[0] != 0x79) {
                assert_true(q[0] & 0x80);
                q += 3 + rd16(q + 1);
                assert_true(q < stop);
            }
            assert_int_equal(stop - q, 2);
        }
        return 1 + len;
    }
    default:
        fail_msg("unexpected data object opcode %#x", p[0]);
        return 0;
    }
}

struct found { uint64_t s5[2]; unsigned s5_count, devices, names; };

static void term_list(const uint8_t *p, const uint8_t *end, struct found *f)
{
    char name[6];
    uint32_t len;
    while (p < end) {
        if (p[0] == 0x08) {                      /* NameOp */
            p++;
            p += name_string(p, name);
            if (!strcmp(name, "\\_S5_")) {
                assert_int_equal(p[0], 0x12);
                unsigned h = pkg_length(p + 1, &len);
                f->s5_count = p[1 + h];
                data_object(p + 2 + h, end, &f->s5[0]);
                data_object(p + 2 + h + (p[2 + h] == 0x0A ? 2 : 1), end, &f->s5[1]);
            }
            uint64_t v;
            p += data_object(p, end, &v);
            f->names++;
        } else if (p[0] == 0x10 || (p[0] == 0x5B && p[1] == 0x82)) {   /* Scope, Device */
            unsigned op = p[0] == 0x10 ? 1 : 2;
            unsigned h = pkg_length(p + op, &len);
            const uint8_t *body = p + op + h, *stop = p + op + len;
            assert_true(stop <= end);
            body += name_string(body, name);
            if (op == 2)
                f->devices++;
            term_list(body, stop, f);
            p = stop;
        } else {
            fail_msg("unexpected opcode %#x", p[0]);
        }
    }
    assert_ptr_equal(p, end);
}

static void test_dsdt_walk(void **state)
{
    (void)state;
    for (int hole = 0; hole <= 1; hole++) {
        build(1, hole);
        uint32_t len;
        const uint8_t *aml = dsdt(&len);
        struct found f = { 0 };
        term_list(aml, aml + len, &f);
        assert_int_equal(f.s5_count, 2);
        assert_int_equal(f.s5[0], ACPI_SLP_TYP_S5);
        assert_int_equal(f.s5[1], ACPI_SLP_TYP_S5);
        assert_int_equal(f.devices, hole ? 2 : 1);   /* PCI0, and ECAM with the hole */
        assert_int_equal(f.names, hole ? 10 : 8);   /* _PRT among them */
    }
}

static void test_refusals(void **state)
{
    (void)state;
    struct acpi_config c = { .gpa = GPA, .ncpus = 1, .pci_hole = true };
    static uint8_t small[256];
    assert_int_equal(acpi_build(&c, small, sizeof small, rsdp_buf), 0);
    c.ncpus = 0;
    assert_int_equal(acpi_build(&c, buf, sizeof buf, rsdp_buf), 0);
    c.ncpus = ACPI_MAX_CPUS + 1;
    assert_int_equal(acpi_build(&c, buf, sizeof buf, rsdp_buf), 0);
    c.ncpus = 1;
    c.gpa = 0xFFFFFF00ull;                           /* RSDT addresses would not fit */
    assert_int_equal(acpi_build(&c, buf, sizeof buf, rsdp_buf), 0);
    c.gpa = GPA + 16;                                /* the FACS would not be aligned */
    assert_int_equal(acpi_build(&c, buf, sizeof buf, rsdp_buf), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsdp),
        cmocka_unit_test(test_fadt),
        cmocka_unit_test(test_madt),
        cmocka_unit_test(test_mcfg),
        cmocka_unit_test(test_dsdt_bytes),
        cmocka_unit_test(test_dsdt_walk),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
