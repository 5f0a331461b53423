/* The ACPI PM1a and PM timer registers (dev/acpi_pm.h). Accesses are taken byte by
 * byte, little-endian, so a guest may use any width, as on the ICH9. */
#include "arch/units.h"
#include "dev/acpi_pm.h"

/* TMR_STS is set whenever the timer's top bit (bit 31 of the 32-bit counter, the
 * FADT's TMR_VAL_EXT) changes: every 2^31 ticks ("Power Management Timer"). */
#define TMR_STS_SHIFT 31

void acpi_pm_init(struct acpi_pm *pm, uint64_t ticks)
{
    *pm = (struct acpi_pm){ .tmr_epoch = ticks >> TMR_STS_SHIFT };
}

uint64_t acpi_pm_ticks(uint64_t ns)
{
    /* Whole seconds and the rest apart: (ns % 1e9) * 3579545 < 2^52. */
    return ns / NS_PER_S * ACPI_PM_TIMER_HZ + ns % NS_PER_S * ACPI_PM_TIMER_HZ / NS_PER_S;
}

static uint16_t status(const struct acpi_pm *pm, uint64_t ticks)
{
    return (ticks >> TMR_STS_SHIFT) != pm->tmr_epoch ? ACPI_PM1_TMR : 0;
}

/* One byte of the block; -1 where no register is (0x06-0x07). */
static int reg_byte(const struct acpi_pm *pm, unsigned off, uint64_t ticks)
{
    unsigned lane = 8 * (off & 1);
    switch (off & ~1u) {
    case ACPI_PM1_STS: return (status(pm, ticks) >> lane) & BYTE_MASK;
    case ACPI_PM1_EN: return (pm->en >> lane) & BYTE_MASK;
    case ACPI_PM1_CNT: return ((pm->cnt | ACPI_PM1_SCI_EN) >> lane) & BYTE_MASK;
    case ACPI_PM_TMR:
    case ACPI_PM_TMR + 2: return (uint8_t)(ticks >> (8 * (off - ACPI_PM_TMR)));
    default: return -1;
    }
}

uint32_t acpi_pm_read(const struct acpi_pm *pm, unsigned off, unsigned size, uint64_t ticks)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        int b = off + i < ACPI_PM_PORTS ? reg_byte(pm, off + i, ticks) : -1;
        v |= (uint32_t)(b < 0 ? BYTE_MASK : (unsigned)b) << (8 * i);
    }
    return v;
}

/* The new value of a 16-bit register whose byte at lane (0 or 1) is written. */
static uint16_t merge(uint16_t old, unsigned lane, uint8_t b)
{
    return (uint16_t)((old & ~(BYTE_MASK << lane)) | (unsigned)b << lane);
}

enum acpi_pm_action acpi_pm_write(struct acpi_pm *pm, unsigned off, unsigned size, uint32_t val,
                                  uint64_t ticks)
{
    enum acpi_pm_action act = ACPI_PM_NONE;
    for (unsigned i = 0; i < size && off + i < ACPI_PM_PORTS; i++) {
        unsigned r = off + i, lane = 8 * (r & 1);
        uint8_t b = (uint8_t)(val >> (8 * i));
        switch (r & ~1u) {
        case ACPI_PM1_STS:
            /* Write 1 to clear; TMR_STS is the only status bit that can be set. */
            if (((unsigned)b << lane) & ACPI_PM1_TMR)
                pm->tmr_epoch = ticks >> TMR_STS_SHIFT;
            break;
        case ACPI_PM1_EN:
            pm->en = merge(pm->en, lane, b) & ACPI_PM1_EN_WRITABLE;
            break;
        case ACPI_PM1_CNT: {
            uint16_t cnt = merge(pm->cnt, lane, b);
            pm->cnt = cnt & (ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP);
            if ((cnt & ACPI_PM1_SLP_EN) &&
                (cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT == ACPI_SLP_TYP_S5)
                act = ACPI_PM_POWEROFF;
            break;
        }
        default:
            break;                       /* the timer is read-only */
        }
    }
    return act;
}

enum bus_result acpi_pm_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                   bool write, uint64_t *val)
{
    struct acpi_pm *pm = dev;
    (void)v;
    uint64_t ticks = acpi_pm_ticks(pm->host ? pm->host->now_ns() : 0);
    if (!write)
        *val = acpi_pm_read(pm, (unsigned)offset, size, ticks);
    else if (acpi_pm_write(pm, (unsigned)offset, size, (uint32_t)*val, ticks) == ACPI_PM_POWEROFF &&
             pm->host)
        pm->host->end(pm->host->ctx, 0);
    return BUS_OK;
}
