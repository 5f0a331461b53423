/* The ACPI fixed hardware registers (ACPI 6.5, chapter 4, "ACPI Hardware
 * Specification") as a pure model: the PM1a
 * event block (status, enable), the PM1a control block and the 32-bit PM timer,
 * at the port block of QEMU's ICH9 (PMBASE 0x600). There is no SMI command port,
 * so the machine is always in ACPI mode (SCI_EN reads 1). Writing SLP_EN with
 * SLP_TYP = ACPI_SLP_TYP_S5 asks for soft-off; vmm/platform.c ends the VM. The
 * timer is computed from the time the caller passes: no state ticks by itself. */
#ifndef DEV_ACPI_PM_H
#define DEV_ACPI_PM_H
#include <stdint.h>
#include "dev/bus.h"

#define ACPI_PM_BASE     0x600
#define ACPI_PM1_STS     0x00      /* PM1a_EVT_BLK: status (16 bits) ... */
#define ACPI_PM1_EN      0x02      /* ... then enable (16 bits) */
#define ACPI_PM1_CNT     0x04      /* PM1a_CNT_BLK (16 bits) */
#define ACPI_PM_TMR      0x08      /* PM_TMR_BLK (32 bits) */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR_LEN  4
#define ACPI_PM_PORTS    (ACPI_PM_TMR + ACPI_PM_TMR_LEN)   /* 0x600-0x60B */

#define ACPI_PM_TIMER_HZ 3579545ull   /* ACPI 6.5, "Power Management Timer" */

/* PM1 status and enable bits (ACPI 6.5, "PM1 Event Grouping"). */
#define ACPI_PM1_TMR        (1u << 0)   /* TMR_STS / TMR_EN */
#define ACPI_PM1_BM_STS     (1u << 4)
#define ACPI_PM1_GBL        (1u << 5)   /* GBL_STS / GBL_EN */
#define ACPI_PM1_PWRBTN     (1u << 8)
#define ACPI_PM1_SLPBTN     (1u << 9)
#define ACPI_PM1_RTC        (1u << 10)
#define ACPI_PM1_PCIEXP_WAKE (1u << 14) /* PCIEXP_WAKE_STS / PCIEXP_WAKE_DIS */
#define ACPI_PM1_WAK_STS    (1u << 15)
#define ACPI_PM1_EN_WRITABLE (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
                              ACPI_PM1_SLPBTN | ACPI_PM1_RTC | ACPI_PM1_PCIEXP_WAKE)

/* PM1 control bits (ACPI 6.5, "PM1 Control Grouping"). */
#define ACPI_PM1_SCI_EN     (1u << 0)
#define ACPI_PM1_BM_RLD     (1u << 1)
#define ACPI_PM1_GBL_RLS    (1u << 2)   /* write-only */
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP    (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN     (1u << 13)  /* write-only */

/* The SLP_TYP of S5 (soft off), as the DSDT's \_S5 object says: 7 is the value of
 * Intel's ICH9 (datasheet, PM1_CNT: SLP_TYP 111b = soft off). Only S5 exists:
 * \_S1-\_S4 are not defined, and SLP_EN with another SLP_TYP does nothing. */
#define ACPI_SLP_TYP_S5 7u

struct acpi_pm {
    uint16_t en;              /* PM1_EN */
    uint16_t cnt;             /* PM1_CNT, the stored bits: BM_RLD, SLP_TYP */
    uint64_t tmr_epoch;       /* timer ticks >> 31 when TMR_STS was last cleared */
    const struct dev_host *host;  /* the time; S5 ends the VM; set after acpi_pm_init */
};

enum acpi_pm_action { ACPI_PM_NONE, ACPI_PM_POWEROFF };

void acpi_pm_init(struct acpi_pm *pm, uint64_t ticks);
/* PM timer ticks (3.579545 MHz) in ns nanoseconds, without overflow for any ns. */
uint64_t acpi_pm_ticks(uint64_t ns);
/* size bytes (1, 2 or 4) at port ACPI_PM_BASE + off (off < ACPI_PM_PORTS), with
 * the timer at ticks. Bytes past the block read all ones. */
uint32_t acpi_pm_read(const struct acpi_pm *pm, unsigned off, unsigned size, uint64_t ticks);
/* A write; ACPI_PM_POWEROFF when it sets SLP_EN with SLP_TYP = S5. */
enum acpi_pm_action acpi_pm_write(struct acpi_pm *pm, unsigned off, unsigned size, uint32_t val,
                                  uint64_t ticks);
/* The bus handler of ports 0x600-0x60B: PM1 and the PM timer at the host's
 * time; entering S5 ends the VM with status 0 (powered off). */
enum bus_result acpi_pm_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                   bool write, uint64_t *val);
#endif
