/* Finding the CPUs in the MADT. Every table is checked (signature, length within
 * what the map gives, checksum) before a field of it is believed. */
#include <stdbool.h>
#include <stddef.h>
#include "arch/pc.h"
#include "lib/acpi_cpus.h"

#define RSDP_REVISION_OFF   15       
#define RSDP_RSDT           16
#define RSDP_LENGTH         20
#define RSDP_XSDT           24
#define RSDP_V2_MIN_LEN     36
#define SDT_HEADER_LEN      36
#define SDT_LENGTH          4
#define MADT_ENTRIES        44        /* after the header, local APIC address and flags */
#define MADT_TYPE_LAPIC     0
#define MADT_TYPE_X2APIC    9
#define MADT_X2APIC_LEN     16
#define MADT_ENABLED        1u        /* Local APIC Flags bit 0 (Table 5.23) */
#define SDT_MAX_LEN         (1u << 20)   /* sanity bound for a table hv86 reads */

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static bool sums_to_zero(const uint8_t *p, uint64_t len)
{
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *p++);
    return s == 0;
}

static bool sig_is(const uint8_t *p, const char *sig, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (p[i] != (uint8_t)sig[i])
            return false;
    return true;
}

/* The physical address of the RSDP in [pa, pa+len), or 0. */
static uint64_t scan_rsdp(acpi_map_fn map, void *ctx, uint64_t pa, uint64_t len)
{
    const uint8_t *area = map(ctx, pa, len);
    if (!area)
        return 0;
    for (uint64_t off = 0; off + RSDP_V1_LEN <= len; off += RSDP_ALIGN)
        if (sig_is(area + off, "RSD PTR ", 8) && sums_to_zero(area + off, RSDP_V1_LEN))
            return pa + off;
    return 0;
}

/* The table at pa with signature sig, whole and with a good checksum, or NULL. */
static const uint8_t *map_table(acpi_map_fn map, void *ctx, uint64_t pa, const char *sig)
{
    const uint8_t *h = map(ctx, pa, SDT_HEADER_LEN);
    if (!h || !sig_is(h, sig, 4))
        return NULL;
    uint32_t len = rd32(h + SDT_LENGTH);
    if (len < SDT_HEADER_LEN || len > SDT_MAX_LEN)
        return NULL;
    const uint8_t *t = map(ctx, pa, len);
    return t && sums_to_zero(t, len) ? t : NULL;
}

static int madt_cpus(const uint8_t *madt, uint32_t *ids, unsigned max)
{
    uint32_t len = rd32(madt + SDT_LENGTH);
    int n = 0;
    for (uint32_t off = MADT_ENTRIES; off + 2 <= len;) {
        uint8_t type = madt[off], elen = madt[off + 1];
        if (elen < 2 || off + elen > len)
            break;                      /* a malformed entry ends the list */
        uint32_t id = 0, flags = 0;
        bool cpu = false;
        if (type == MADT_TYPE_LAPIC && elen >= MADT_LAPIC_LEN) {
            id = madt[off + 3];
            flags = rd32(madt + off + 4);
            cpu = true;
        } else if (type == MADT_TYPE_X2APIC && elen >= MADT_X2APIC_LEN) {
            id = rd32(madt + off + 4);
            flags = rd32(madt + off + 8);
            cpu = true;
        }
        if (cpu && (flags & MADT_ENABLED)) {
            if ((unsigned)n < max)
                ids[n] = id;
            n++;
        }
        off += elen;
    }
    return n;
}

int acpi_find_cpus(acpi_map_fn map, void *ctx, uint32_t *apic_ids, unsigned max,
                   const char **why)
{
    uint64_t rsdp_pa = 0;
    const uint8_t *bda = map(ctx, ACPI_EBDA_SEG_PTR, 2);
    if (bda) {
        uint64_t ebda = (uint64_t)(bda[0] | bda[1] << 8) << 4;
        if (ebda)
            rsdp_pa = scan_rsdp(map, ctx, ebda, ACPI_EBDA_SCAN_LEN);
    }
    if (!rsdp_pa)
        rsdp_pa = scan_rsdp(map, ctx, ACPI_BIOS_AREA, ACPI_BIOS_AREA_LEN);
    const uint8_t *rsdp = rsdp_pa ? map(ctx, rsdp_pa, RSDP_V1_LEN) : NULL;
    if (!rsdp) {
        *why = "no ACPI RSDP in the EBDA or the BIOS area";
        return -1;
    }
    /* ACPI 2.0+: the XSDT (64-bit entries) if the extended checksum holds. */
    const uint8_t *sdt = NULL;
    unsigned entry_size = 4;
    const uint8_t *rsdp2 = rsdp[RSDP_REVISION_OFF] >= 2 ? map(ctx, rsdp_pa, RSDP_V2_MIN_LEN) : NULL;
    if (rsdp2) {
        uint32_t rlen = rd32(rsdp2 + RSDP_LENGTH);
        rsdp2 = rlen >= RSDP_V2_MIN_LEN && rlen <= SDT_MAX_LEN ? map(ctx, rsdp_pa, rlen) : NULL;
        if (rsdp2 && sums_to_zero(rsdp2, rlen) && rd64(rsdp2 + RSDP_XSDT)) {
            sdt = map_table(map, ctx, rd64(rsdp2 + RSDP_XSDT), "XSDT");
            entry_size = 8;
        }
    }
    if (!sdt) {
        sdt = map_table(map, ctx, rd32(rsdp + RSDP_RSDT), "RSDT");
        entry_size = 4;
    }
    if (!sdt) {
        *why = "no valid RSDT or XSDT";
        return -1;
    }
    uint32_t len = rd32(sdt + SDT_LENGTH);
    for (uint32_t off = SDT_HEADER_LEN; off + entry_size <= len; off += entry_size) {
        uint64_t pa = entry_size == 8 ? rd64(sdt + off) : rd32(sdt + off);
        const uint8_t *madt = map_table(map, ctx, pa, "APIC");
        if (madt && rd32(madt + SDT_LENGTH) >= MADT_ENTRIES)
            return madt_cpus(madt, apic_ids, max);
    }
    *why = "no valid MADT";
    return -1;
}
