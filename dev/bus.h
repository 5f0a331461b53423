/* One device bus per VM: the port-I/O, MMIO and MSR ranges its device models
 * claim, and the dispatch of a guest access to the one device that owns it.
 *
 * Every device has one handler shape (bus_access_fn): its own state, the offset
 * of the access in the range it claimed, the size, the direction and the value.
 * Claims that overlap are refused (bus_conflict names the owner); ranges can be
 * added, moved and removed while the VM runs (a PCI BAR follows the guest's
 * writes). The models are Firecracker's and Cloud Hypervisor's BusDevice and
 * bhyve's vmm_ioport.
 *
 * Concurrency: one lock per bus. bus_access holds it from the lookup until the
 * handler returns, so a change (made with the lock held: bus_lock around it, or
 * from inside a handler of the same bus, which already holds it) is atomic for
 * every vCPU of the VM, wherever they run: once the change's bus_unlock returns,
 * no access reaches a removed range or a range's old place, and no handler is
 * still running on one. A VM's device handlers run one at a time (today a VM's
 * vCPUs run on one host CPU at a time anyway: docs/smp.md).
 *
 * Pure code: no allocation, no host calls; unit-tested in tests/unit/test_bus.c. */
#ifndef DEV_BUS_H
#define DEV_BUS_H
#include <stdbool.h>
#include <stdint.h>

struct vcpu;                           /* opaque here: handed through to handlers */

enum bus_space { BUS_PIO, BUS_MMIO, BUS_MSR, BUS_SPACES };

/* What an access came to. */
enum bus_result {
    BUS_OK,           /* done; *val holds what a read returns */
    BUS_UNCLAIMED,    /* no device (or the device declines it, as fw_cfg does for
                       * a width QEMU refuses): the caller treats it as an access
                       * to nothing (a port reads all ones; an MSR raises #GP) */
    BUS_REFUSED,      /* the device refuses it: an MSR access raises #GP; a port or
                       * MMIO handler returns it only after stopping the VM */
};

/* A device's access handler. offset is from the start of the claimed range; size
 * is 1, 2, 4 or 8 bytes (an MSR access is 8); *val is the value written or the
 * place for the value read (zero-extended). v is the vCPU making the access. */
typedef enum bus_result (*bus_access_fn)(void *dev, struct vcpu *v, uint64_t offset,
                                         unsigned size, bool write, uint64_t *val);

#define BUS_MAX_RANGES 32              /* per space of a VM */

struct bus_range {
    enum bus_space space;
    uint64_t base, size;               /* [base, base + size); size 0: a free slot */
    const char *name;                  /* for messages: "uart", "ioapic", ... */
    bus_access_fn access;
    void *dev;
};

/* The ranges of one space: a lookup scans only its own space, and only up to
 * the highest slot ever used. */
struct bus_space_table {
    unsigned top;                      /* slots [top, BUS_MAX_RANGES) are free */
    struct bus_range range[BUS_MAX_RANGES];
};

/* A range's id is space * BUS_MAX_RANGES + its slot. */
struct bus {
    volatile int lock;                 /* 0 free, 1 held (bus_lock) */
    struct bus_space_table space[BUS_SPACES];
};

/* Errors of bus_claim and bus_move. */
#define BUS_E_OVERLAP (-1)             /* an existing range overlaps: see bus_conflict */
#define BUS_E_FULL    (-2)             /* BUS_MAX_RANGES claimed in that space already */
#define BUS_E_RANGE   (-3)             /* empty, or past the end of the space */
#define BUS_E_NOENT   (-4)             /* no such range id */

const char *bus_space_name(enum bus_space space);
/* The first address past the space: 64 KiB of ports, 2^32 MSRs, 2^64 bytes. */
uint64_t bus_space_end(enum bus_space space);

void bus_init(struct bus *b);
void bus_lock(struct bus *b);
void bus_unlock(struct bus *b);

/* --- changes: the caller holds the lock -------------------------------------- */
/* Claim [base, base + size) of space for dev: the range's id (>= 0) or a
 * BUS_E_ error. name must outlive the claim. */
int bus_claim(struct bus *b, enum bus_space space, uint64_t base, uint64_t size,
              const char *name, bus_access_fn access, void *dev);
/* Move range id to base, same size: 0 or a BUS_E_ error (it then stays). */
int bus_move(struct bus *b, int id, uint64_t base);
/* Remove range id: 0, or BUS_E_NOENT. */
int bus_release(struct bus *b, int id);
/* Remove every range of dev (a device going away); how many there were. */
unsigned bus_release_dev(struct bus *b, const void *dev);

/* --- lookups ----------------------------------------------------------------- */
/* The id of a range other than `except` that overlaps [base, base + size) of
 * space, or -1. */
int bus_conflict(const struct bus *b, enum bus_space space, uint64_t base, uint64_t size,
                 int except);
/* Range id, or NULL if the slot is free or out of bounds. */
#define BUS_MAX_IDS (BUS_SPACES * BUS_MAX_RANGES)
const struct bus_range *bus_range_of(const struct bus *b, int id);
/* Is addr some device's? If so, *out (when not NULL) gets a copy of its range. */
bool bus_find(struct bus *b, enum bus_space space, uint64_t addr, struct bus_range *out);

/* --- dispatch ---------------------------------------------------------------- */
/* The access at addr goes to the range holding addr, with the bus locked while
 * the handler runs. An access may run past the range's end: the handler sees
 * the size as given (ISA devices split it byte by byte, bus_bytewise). */
enum bus_result bus_access(struct bus *b, enum bus_space space, struct vcpu *v,
                           uint64_t addr, unsigned size, bool write, uint64_t *val);

/* For byte-wide (ISA) devices: an access of size bytes at offset becomes size
 * one-byte accesses at offset, offset + 1, ..., as the ISA bus splits it. A byte
 * at or past range_size is no device's: it reads 0xFF and its write is dropped.
 * byte() handles one byte of the device. */
typedef void (*bus_byte_fn)(void *dev, unsigned offset, bool write, uint8_t *b);
void bus_bytewise(void *dev, bus_byte_fn byte, uint64_t range_size, uint64_t offset,
                  unsigned size, bool write, uint64_t *val);

/* The shortest period at which a device timer interrupts again and again (a
 * periodic LAPIC timer, PIT counter 0). A guest may program 1.19 MHz (PIT count
 * 1) or a LAPIC period of a few bus clocks; at such rates every VM entry finds an
 * interrupt pending and the guest never runs between them (an exit round trip
 * takes longer than the period). KVM limits periodic timers the same way
 * (min_timer_period_us, 200 us by default). The counters still count every clock. */
#define TIMER_MIN_PERIOD_NS 200000u

/* What a device model asks of the machine it sits in (an interrupt line, the
 * time, the end of the VM): the core fills one per VM (vmm/platform.c) and each
 * model that needs it keeps a pointer. ctx is the core's (the VM). */
struct dev_host {
    void *ctx;
    uint64_t (*now_ns)(void);                            /* monotonic time */
    void (*set_isa_irq)(void *ctx, unsigned irq, bool level);
    void (*timers_changed)(void *ctx);   /* a device timer was reprogrammed */
    void (*end)(void *ctx, int status);  /* the guest ends itself (exit port, S5) */
    void (*stop)(void *ctx, const char *why);            /* hv86 stops the VM */
};
#endif
