/* fw_cfg, traditional interface (QEMU docs/specs/fw_cfg.rst). Items are made on
 * the fly from the VM's configuration; nothing is writable (writes to the data
 * register are ignored since QEMU 2.4, and there is no DMA interface, as the ID
 * item says). */
#include "dev/fw_cfg.h"

/* Selector bit 14 asked for write access before QEMU 2.4 and no longer matters;
 * bit 15 picks the architecture-specific items, of which hv86 has none. */
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL    0x8000

void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t nb_cpus, uint16_t max_cpus)
{
    *f = (struct fw_cfg){ .ram_size = ram_size, .nb_cpus = nb_cpus, .max_cpus = max_cpus };
}

void fw_cfg_select(struct fw_cfg *f, uint16_t key)
{
    f->key = key;
    f->offset = 0;
}

/* Byte i of the value v, little-endian, of an item n bytes long; 0 past the end. */
static uint8_t le_byte(uint64_t v, unsigned n, uint32_t i)
{
    return i < n ? (uint8_t)(v >> (8 * i)) : 0;
}

static uint8_t item_byte(const struct fw_cfg *f, uint32_t i)
{
    static const char signature[4] = { 'Q', 'E', 'M', 'U' };
    if (f->key & FW_CFG_ARCH_LOCAL)
        return 0;
    switch (f->key & ~FW_CFG_WRITE_CHANNEL) {
    case FW_CFG_SIGNATURE: return i < 4 ? (uint8_t)signature[i] : 0;
    case FW_CFG_ID: return le_byte(FW_CFG_ID_TRADITIONAL, 4, i);
    case FW_CFG_RAM_SIZE: return le_byte(f->ram_size, 8, i);
    case FW_CFG_NB_CPUS: return le_byte(f->nb_cpus, 2, i);
    case FW_CFG_MAX_CPUS: return le_byte(f->max_cpus, 2, i);
    default: return 0;              /* unknown keys read as zeros, as in QEMU */
    }
}

uint8_t fw_cfg_read_byte(struct fw_cfg *f)
{
    uint8_t b = item_byte(f, f->offset);
    if (f->offset != UINT32_MAX)
        f->offset++;
    return b;
}

/* QEMU's x86 fw_cfg is one 2-byte region (fw_cfg_comb_valid in hw/nvram/fw_cfg.c):
 * byte reads at either port read data, 16-bit writes select, byte writes go to the
 * (ignored) data register; it refuses every other access. */
bool fw_cfg_io(struct fw_cfg *f, unsigned off, unsigned size, bool in, uint32_t *val)
{
    if (off > 1)
        return false;
    if (in) {
        if (size != 1)
            return false;
        *val = fw_cfg_read_byte(f);
        return true;
    }
    if (size == 2 && off == 0) {
        fw_cfg_select(f, (uint16_t)*val);
        return true;
    }
    return size == 1;               /* a data write: ignored */
}

enum bus_result fw_cfg_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                  bool write, uint64_t *val)
{
    uint32_t v32 = (uint32_t)*val;
    (void)v;
    if (!fw_cfg_io(dev, (unsigned)offset, size, !write, &v32))
        return BUS_UNCLAIMED;
    if (!write)
        *val = v32;
    return BUS_OK;
}
