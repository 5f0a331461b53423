/* The PC's real-time clock and CMOS RAM (Motorola MC146818A data sheet) at ports
 * 0x70 (index; bit 7 is the NMI mask on a PC, ignored here) and 0x71 (data): the
 * clock and calendar, alarm, registers A-D with the update-in-progress flag, the
 * periodic, alarm and update-ended interrupts on IRQ 8, and 128 bytes of CMOS
 * RAM holding the memory sizes a PC BIOS leaves there. A pure model: time is
 * "now" in nanoseconds, passed in; the clock starts at a calendar time the
 * caller chooses. */
#ifndef DEV_RTC_H
#define DEV_RTC_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"

#define RTC_PORT        0x70
#define RTC_PORTS       2
#define RTC_IRQ         8
#define CMOS_SIZE       128

/* The address map (data sheet, "Address Map"); 0x32 is the IBM PC AT's century
 * byte, the one QEMU's FADT names. */
#define RTC_SECONDS       0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES       0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS         0x04
#define RTC_HOURS_ALARM   0x05
#define RTC_DAY_OF_WEEK   0x06    /* 1-7, Sunday = 1 */
#define RTC_DAY_OF_MONTH  0x07
#define RTC_MONTH         0x08
#define RTC_YEAR          0x09
#define RTC_REG_A         0x0A
#define RTC_REG_B         0x0B
#define RTC_REG_C         0x0C
#define RTC_REG_D         0x0D
#define RTC_CENTURY       0x32

#define RTC_A_UIP       0x80      /* update in progress (read-only) */
#define RTC_A_DV_SHIFT  4         /* divider: 010 = 32.768 kHz time base */
#define RTC_A_DV        0x70
#define RTC_A_RS        0x0F      /* periodic rate select */
#define RTC_B_SET       0x80      /* updates inhibited */
#define RTC_B_PIE       0x40
#define RTC_B_AIE       0x20
#define RTC_B_UIE       0x10
#define RTC_B_SQWE      0x08
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H       0x02
#define RTC_B_DSE       0x01
#define RTC_C_IRQF      0x80
#define RTC_C_PF        0x40
#define RTC_C_AF        0x20
#define RTC_C_UF        0x10
#define RTC_D_VRT       0x80      /* valid RAM and time */
#define RTC_HOUR_PM     0x80      /* 12-hour mode: the PM bit of the hours */

/* A calendar time, binary. */
struct rtc_time {
    uint32_t year;               /* e.g. 2024 */
    uint8_t month, day;          /* 1-12, 1-31 */
    uint8_t hour, min, sec;      /* 0-23, 0-59, 0-59 */
    uint8_t wday;                /* 1-7, Sunday = 1 */
};

struct rtc {
    uint8_t index;
    uint8_t ram[CMOS_SIZE];      /* A, B, C, the alarms and the CMOS bytes */
    struct rtc_time now;         /* the time at the last update taken */
    uint64_t div_start_ns;       /* when the divider chain last started */
    uint64_t div_phase;          /* its 32.768 kHz cycle count then */
    uint64_t cycles;             /* its cycle count up to which we caught up */
    const struct dev_host *host; /* IRQ 8, the time; set after rtc_init */
    bool irq_level;              /* IRQ 8 as last driven */
};

/* Power-up, as a PC BIOS leaves it: 32.768 kHz, 1024 Hz periodic rate (A =
 * 0x26), BCD and 24-hour mode (B = 0x02); the clock shows start at time now; the
 * memory-size bytes describe ram_size bytes of RAM from address 0. */
void rtc_init(struct rtc *r, const struct rtc_time *start, uint64_t ram_size, uint64_t now);
/* A byte access at RTC_PORT + off (off 0 or 1) at time now. */
uint8_t rtc_read(struct rtc *r, unsigned off, uint64_t now);
void rtc_write(struct rtc *r, unsigned off, uint8_t val, uint64_t now);
/* Take the updates and periodic ticks up to now; the level of IRQ 8 (IRQF). */
bool rtc_poll(struct rtc *r, uint64_t now);
/* A calendar time as seconds since 1970-01-01 00:00:00 (Unix time, UTC as a PC
 * keeps its RTC), e.g. the wall clock of the paravirtual clock (vmm/kvmclock.c). */
uint64_t rtc_unix_seconds(const struct rtc_time *t);
/* When IRQF may next be set (an enabled periodic tick or update), as of the
 * last poll or access; UINT64_MAX if none is enabled or IRQF is already set. */
uint64_t rtc_next_event(const struct rtc *r);
/* IRQ 8 follows IRQF (set by an event, dropped by reading register C): bring
 * the RTC up to now and drive the line through r->host. */
void rtc_update_irq(struct rtc *r, uint64_t now);
/* The bus handler of ports 0x70-0x71: byte-wide; the access, then IRQ 8 and the
 * host's timers_changed (it may move the next event). */
enum bus_result rtc_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val);
#endif
