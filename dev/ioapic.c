/* 82093AA I/O APIC (data sheet 290566): the register window, the redirection
 * table, and edge/level input semantics with Remote IRR. Delivery is immediate,
 * so the delivery-status bit always reads idle. */
#include "dev/ioapic.h"

/* The bits a guest writes in an entry's low half; delivery status and Remote
 * IRR are read-only (data sheet 3.2.4). */
#define RTE_LOW_WRITABLE (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMODE | IOAPIC_RTE_LOGICAL | \
                          IOAPIC_RTE_ACTIVE_LOW | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED)
#define LOW_HALF 0xFFFFFFFFull
#define REG_WIDTH 4
#define REGSEL_BITS 0xFFu                /* an 8-bit index (data sheet 3.1.1) */

void ioapic_init(struct ioapic *io, uint8_t id, ioapic_deliver_fn deliver, void *ctx)
{
    *io = (struct ioapic){ .id = (uint32_t)id << IOAPIC_ID_SHIFT & IOAPIC_ID_MASK,
                           .deliver = deliver, .ctx = ctx };
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        io->rte[i] = IOAPIC_RTE_MASKED;
}

/* The pin's input as the entry sees it: polarity bit 13 says which level is
 * "asserted" (data sheet 3.2.4, "Interrupt Input Pin Polarity"). */
static bool asserted(const struct ioapic *io, unsigned pin)
{
    bool high = io->line >> pin & 1;
    return high != !!(io->rte[pin] & IOAPIC_RTE_ACTIVE_LOW);
}

/* Only fixed and lowest-priority messages can be level-triggered: the data
 * sheet requires edge for SMI, NMI, INIT and ExtINT. */
static bool is_level(uint64_t rte)
{
    unsigned mode = (unsigned)((rte & IOAPIC_RTE_DELMODE) >> IOAPIC_RTE_DELMODE_SHIFT);
    return (rte & IOAPIC_RTE_LEVEL) && (mode == IOAPIC_DM_FIXED || mode == IOAPIC_DM_LOWEST);
}

/* Send the pin's message if it is asserted, unmasked and, when level-triggered,
 * not still waiting for its EOI. A masked pin's edges are lost, not held
 * pending (data sheet 3.2.4, "Interrupt Mask"). */
static void service(struct ioapic *io, unsigned pin)
{
    uint64_t rte = io->rte[pin];
    if ((rte & IOAPIC_RTE_MASKED) || !asserted(io, pin))
        return;
    bool level = is_level(rte);
    if (level && (rte & IOAPIC_RTE_REMOTE_IRR))
        return;
    struct ioapic_msg m = {
        .mode = (enum ioapic_delivery)((rte & IOAPIC_RTE_DELMODE) >> IOAPIC_RTE_DELMODE_SHIFT),
        .vector = (uint8_t)(rte & IOAPIC_RTE_VECTOR),
        .dest = (uint8_t)(rte >> IOAPIC_RTE_DEST_SHIFT),
        .logical = rte & IOAPIC_RTE_LOGICAL,
        .level = level,
    };
    /* Remote IRR: set when a local APIC accepts a level interrupt. */
    if (io->deliver(io->ctx, &m) && level)
        io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

static uint32_t reg_read(const struct ioapic *io, uint32_t index)
{
    switch (index) {
    case IOAPIC_REG_ID:
        return io->id;
    case IOAPIC_REG_VER:
        return IOAPIC_VERSION | (IOAPIC_PINS - 1) << IOAPIC_MAX_REDIR_SHIFT;
    case IOAPIC_REG_ARB:         /* loaded from the ID whenever the ID is written */
        return io->id;
    }
    unsigned pin = (index - IOAPIC_REG_REDTBL) / 2;
    if (index < IOAPIC_REG_REDTBL || pin >= IOAPIC_PINS)
        return 0;
    return (uint32_t)(index & 1 ? io->rte[pin] >> 32 : io->rte[pin]);
}

static void reg_write(struct ioapic *io, uint32_t index, uint32_t val)
{
    if (index == IOAPIC_REG_ID) {
        io->id = val & IOAPIC_ID_MASK;
        return;
    }
    unsigned pin = (index - IOAPIC_REG_REDTBL) / 2;
    if (index < IOAPIC_REG_REDTBL || pin >= IOAPIC_PINS)
        return;                          /* version, arbitration: read-only */
    uint64_t *rte = &io->rte[pin];
    if (index & 1) {
        *rte = (*rte & LOW_HALF) | ((uint64_t)val << 32 & IOAPIC_RTE_DEST);
        return;
    }
    *rte = (*rte & ~(LOW_HALF & RTE_LOW_WRITABLE)) | (val & RTE_LOW_WRITABLE);
    /* Remote IRR means nothing for an edge entry; switching an entry to edge
     * clears it, which is how OSes unstick a version 0x11 I/O APIC (it has no
     * EOI register, as Linux's io_apic.c notes). */
    if (!(*rte & IOAPIC_RTE_LEVEL))
        *rte &= ~IOAPIC_RTE_REMOTE_IRR;
    /* A level input sampled again: an asserted, newly unmasked pin interrupts. */
    if (is_level(*rte))
        service(io, pin);
}

uint32_t ioapic_mmio_read(struct ioapic *io, uint32_t off, unsigned size)
{
    if (off == IOAPIC_REGSEL)
        return io->regsel;
    if (off == IOAPIC_IOWIN && size == REG_WIDTH)
        return reg_read(io, io->regsel);
    return 0;
}

void ioapic_mmio_write(struct ioapic *io, uint32_t off, unsigned size, uint32_t val)
{
    if (off == IOAPIC_REGSEL)
        io->regsel = val & REGSEL_BITS;
    else if (off == IOAPIC_IOWIN && size == REG_WIDTH)
        reg_write(io, io->regsel, val);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool high)
{
    if (pin >= IOAPIC_PINS)
        return;
    bool was = asserted(io, pin);
    io->line = (io->line & ~(1u << pin)) | (uint32_t)high << pin;
    bool now = asserted(io, pin);
    /* Edge entries interrupt on the assertion; level entries whenever the pin
     * is found asserted. */
    if (now && (!was || is_level(io->rte[pin])))
        service(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t *rte = &io->rte[pin];
        if (!(*rte & IOAPIC_RTE_REMOTE_IRR) || (*rte & IOAPIC_RTE_VECTOR) != vector)
            continue;
        *rte &= ~IOAPIC_RTE_REMOTE_IRR;
        service(io, pin);
    }
}

enum bus_result ioapic_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                  bool write, uint64_t *val)
{
    (void)v;
    if (write)
        ioapic_mmio_write(dev, (uint32_t)offset, size, (uint32_t)*val);
    else
        *val = ioapic_mmio_read(dev, (uint32_t)offset, size);
    return BUS_OK;
}
