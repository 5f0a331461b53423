/* The 8254 programmable interval timer (Intel 82C54 data sheet, order no.
 * 231244) at ports 0x40-0x43, and the port 0x61 bits that reach counter 2 (Intel
 * 82371AB PIIX4 data sheet, "NMI Status and Control Register", port 61h). A pure
 * model: time is "now" in nanoseconds, passed in by the caller; the counters are
 * computed from it when read, so nothing ticks in between. Counter 0's OUT is
 * the PC's IRQ 0, counter 2's OUT reads back in port 0x61 bit 5, and counter 1
 * (the old DRAM refresh timer) is modelled but drives nothing. Interrupts come
 * from OUT's rising edges while counting (pit_take_edges); the rise a new
 * control word can cause (mode 0's low OUT set high by another mode) is not
 * one. */
#ifndef DEV_PIT_H
#define DEV_PIT_H
#include <stdbool.h>
#include <stdint.h>
#include "arch/pc.h"
#include "dev/bus.h"

#define PIT_PORT        0x40        /* counters 0-2 at +0..+2, control word at +3 */
#define PIT_PORTS       4
#define PIT_PORT_CTRL   3
#define PIT_CHANNELS    3
#define PIT_IRQ_CHANNEL 0           /* OUT0 is ISA IRQ 0 */
#define PIT_IRQ         0
#define PIT_SPEAKER_CHANNEL 2       /* gated and read through port 0x61 */
#define PORT61          0x61
#define PORT61_GATE2    0x01        /* counter 2 GATE */
#define PORT61_SPEAKER  0x02        /* speaker data enable */
#define PORT61_REFRESH  0x10        /* toggles with each refresh request (RO) */
#define PORT61_OUT2     0x20        /* counter 2 OUT (RO) */

struct pit_channel {
    uint8_t ctrl;            /* control word bits 5-0: RW1 RW0 M2 M1 M0 BCD */
    uint32_t count;          /* initial count N: 1-65536 (1-10000 in BCD) */
    bool loaded;             /* a count was written since the control word */
    bool gate;
    bool running;            /* the counting element is counting */
    uint64_t start_ns;       /* when the current run began */
    uint64_t base;           /* clocks counted in earlier runs */
    uint64_t reported;       /* clocks up to which OUT's rising edges were taken */
    uint8_t lsb;             /* the first byte of a two-byte count */
    bool write_msb, read_msb;    /* the byte flip-flops of RW = 3 */
    bool count_latched, status_latched;
    uint16_t latch;
    uint8_t status;
};

struct pit {
    struct pit_channel ch[PIT_CHANNELS];
    uint8_t port61;          /* its writable bits 3-0 */
    const struct dev_host *host;  /* the time, and timers_changed; set after pit_init */
};

/* Power-up. The data sheet leaves mode, count and OUT undefined; here no
 * counter has a count (OUT low, nothing counts) until the guest programs it.
 * Counters 0 and 1 have GATE tied high, counter 2's is port 0x61 bit 0 (clear). */
void pit_init(struct pit *p);
/* A byte access at PIT_PORT + off (off 0-3) at time now. */
uint8_t pit_read(struct pit *p, unsigned off, uint64_t now);
void pit_write(struct pit *p, unsigned off, uint8_t val, uint64_t now);
uint8_t pit_port61_read(struct pit *p, uint64_t now);
void pit_port61_write(struct pit *p, uint8_t val, uint64_t now);

/* Counter c's OUT at time now. */
bool pit_out(const struct pit *p, unsigned c, uint64_t now);
/* The rising edges of counter c's OUT since the last call (or since its count
 * was loaded), up to now: each is an interrupt request on an edge-triggered
 * line. */
uint64_t pit_take_edges(struct pit *p, unsigned c, uint64_t now);
/* When counter c's OUT next rises after now, or UINT64_MAX if it will not
 * without a new count or GATE change. */
uint64_t pit_next_edge(const struct pit *p, unsigned c, uint64_t now);
/* Bus handlers of ports 0x40-0x43 and of port 0x61 (dev is the struct pit):
 * byte-wide; each access may move the next OUT0 edge, so the host's
 * timers_changed follows it. */
enum bus_result pit_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val);
enum bus_result pit_port61_bus_access(void *dev, struct vcpu *v, uint64_t offset,
                                      unsigned size, bool write, uint64_t *val);
#endif
