/* The I/O APIC (Intel 82093AA I/O Advanced Programmable Interrupt Controller
 * data sheet, order no. 290566): 24 interrupt input pins, each routed by a
 * redirection-table entry to an interrupt message for the local APICs. A pure
 * model: the messages go to a callback that vmm/platform.c gives, which finds the
 * destination vCPUs of the VM; the EOI of a level-triggered vector comes back
 * through ioapic_eoi. */
#ifndef DEV_IOAPIC_H
#define DEV_IOAPIC_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"

#define IOAPIC_BASE     0xFEC00000u
#define IOAPIC_SIZE     0x1000u     /* the page QEMU and the chipsets decode */
#define IOAPIC_PINS     24

/* The two memory-mapped registers (data sheet 3.1): an index, and a window onto
 * the indexed 32-bit register. */
#define IOAPIC_REGSEL   0x00
#define IOAPIC_IOWIN    0x10

/* Indexed registers (data sheet 3.2). Entry n's low half is at REDTBL + 2n. */
#define IOAPIC_REG_ID   0x00
#define IOAPIC_REG_VER  0x01
#define IOAPIC_REG_ARB  0x02
#define IOAPIC_REG_REDTBL 0x10
#define IOAPIC_ID_SHIFT 24          /* ID and arbitration ID: bits 27:24 */
#define IOAPIC_ID_MASK  0x0F000000u
#define IOAPIC_VERSION  0x11u       /* version register bits 7:0 */
#define IOAPIC_MAX_REDIR_SHIFT 16   /* bits 23:16: entries - 1 */

/* Redirection-table entry bits (data sheet 3.2.4). */
#define IOAPIC_RTE_VECTOR      0xFFull
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DELMODE     (7ull << IOAPIC_RTE_DELMODE_SHIFT)
#define IOAPIC_RTE_LOGICAL     (1ull << 11)
#define IOAPIC_RTE_DELIVS      (1ull << 12)   /* delivery status, read-only */
#define IOAPIC_RTE_ACTIVE_LOW  (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR  (1ull << 14)   /* read-only */
#define IOAPIC_RTE_LEVEL       (1ull << 15)
#define IOAPIC_RTE_MASKED      (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT  56
#define IOAPIC_RTE_DEST        (0xFFull << IOAPIC_RTE_DEST_SHIFT)

enum ioapic_delivery {
    IOAPIC_DM_FIXED = 0, IOAPIC_DM_LOWEST = 1, IOAPIC_DM_SMI = 2,
    IOAPIC_DM_NMI = 4, IOAPIC_DM_INIT = 5, IOAPIC_DM_EXTINT = 7,
};

/* One interrupt message, as the 82093AA sends it on the APIC bus. */
struct ioapic_msg {
    enum ioapic_delivery mode;
    uint8_t vector;
    uint8_t dest;                /* APIC ID, or a logical destination */
    bool logical;
    bool level;                  /* level-triggered: the EOI must come back */
};

/* Deliver m to its destinations; true if a local APIC accepted it. */
typedef bool (*ioapic_deliver_fn)(void *ctx, const struct ioapic_msg *m);

struct ioapic {
    uint32_t id;                 /* ID register (bits 27:24) */
    uint32_t regsel;
    uint64_t rte[IOAPIC_PINS];
    uint32_t line;               /* the pins' electrical levels, bit n = pin n */
    ioapic_deliver_fn deliver;
    void *ctx;
};

/* Reset state (data sheet 3.2.4: every entry masked, the rest zero). */
void ioapic_init(struct ioapic *io, uint8_t id, ioapic_deliver_fn deliver, void *ctx);
/* An access at offset off of the register page; only 32-bit accesses reach
 * IOWIN (other reads return 0, other writes are dropped). */
uint32_t ioapic_mmio_read(struct ioapic *io, uint32_t off, unsigned size);
void ioapic_mmio_write(struct ioapic *io, uint32_t off, unsigned size, uint32_t val);
/* Pin pin's input is now high (true) or low. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool high);
/* A local APIC's EOI for a level-triggered vector (the EOI message of the APIC
 * bus): Remote IRR clears on the entries with that vector, and a pin that is
 * still asserted interrupts again. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* The bus handler of its page (IOREGSEL, IOWIN). */
enum bus_result ioapic_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                  bool write, uint64_t *val);
#endif
