/* Host tick: local APIC timer (SDM Vol. 3A 11.5.4), one-shot, calibrated with PIT channel 2
 * (Intel 8254 data sheet: mode 0, gate through port 0x61). */
#include "kernel/console.h"
#include "kernel/timer.h"
#include "kernel/x86.h"

#define LAPIC_BASE        0xFEE00000ull
#define LAPIC_EOI         0x0B0
#define LAPIC_SVR         0x0F0
#define LAPIC_LVT_TIMER   0x320
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_CUR   0x390
#define LAPIC_TIMER_DIV   0x3E0
#define LAPIC_SVR_ENABLE  (1u << 8)
#define LAPIC_SPURIOUS    0xFF
#define LVT_MASKED        (1u << 16)
#define TIMER_DIV_16      0x3
#define APIC_BASE_EXTD    (1ull << 10)
#define X2APIC_MSR(off)   (0x800u + ((off) >> 4))

#define PIT_HZ            1193182u
#define PIT_CH2_DATA      0x42
#define PIT_CMD           0x43
#define PIT_GATE_PORT     0x61
#define PIT_GATE          0x01
#define PIT_SPEAKER       0x02
#define PIT_OUT2          0x20
#define PIT_CMD_CH2_MODE0 0xB0   /* channel 2, lo/hi byte, mode 0, binary */
#define CALIBRATE_MS      10
#define NS_PER_MS         1000000ull
#define NS_NEVER          UINT64_MAX
#define TICK_NS           (1000 * NS_PER_MS / TIMER_HZ)

volatile uint64_t timer_ticks;
volatile uint64_t timer_interrupts;
static int x2apic;
static uint64_t tsc_per_ms;
static uint64_t tsc_at_init;
static uint32_t apic_per_ms;     /* LAPIC timer counts (divide 16) per ms */
static uint64_t next_tick;       /* time_ns() of the next scheduling tick */
static uint64_t wake_at = NS_NEVER;   /* a guest timer's expiry, if earlier */
static uint64_t armed_at = NS_NEVER;  /* when the one-shot fires */
static bool tick_on = true;           /* the scheduling tick is wanted */

static uint32_t lapic_read(uint32_t off)
{
    if (x2apic)
        return (uint32_t)rdmsr(X2APIC_MSR(off));
    return *(volatile uint32_t *)(LAPIC_BASE + off);
}

static void lapic_write(uint32_t off, uint32_t v)
{
    if (x2apic)
        wrmsr(X2APIC_MSR(off), v);
    else
        *(volatile uint32_t *)(LAPIC_BASE + off) = v;
}

/* One-shot (SDM Vol. 3A 11.5.4) for time_ns() == at, rounded up to a count. */
static void arm(uint64_t at)
{
    uint64_t now = time_ns(), delta = at > now ? at - now : 0;
    uint64_t count = (delta * apic_per_ms + NS_PER_MS - 1) / NS_PER_MS;
    armed_at = at;
    lapic_write(LAPIC_TIMER_INIT, count > 0xFFFFFFFFu ? 0xFFFFFFFFu : count ? (uint32_t)count : 1);
}

/* The next one-shot: whichever comes first, the tick (if wanted) or a requested
 * wake-up; none if neither. */
static void arm_next(void)
{
    uint64_t at = tick_on && next_tick < wake_at ? next_tick : wake_at;
    if (at == NS_NEVER) {
        armed_at = NS_NEVER;
        lapic_write(LAPIC_TIMER_INIT, 0);       /* stops the one-shot (11.5.4) */
    } else {
        arm(at);
    }
}

/* A tick when its time has come (missed ticks are not made up, but timer_ticks
 * keeps counting time while the tick is off), and the next one-shot. */
void timer_interrupt(void)
{
    uint64_t now = time_ns();
    timer_interrupts++;
    if (now >= next_tick) {
        uint64_t missed = (now - next_tick) / TICK_NS;
        timer_ticks += tick_on ? 1 : missed + 1;
        next_tick += (missed + 1) * TICK_NS;
    }
    if (now >= wake_at)
        wake_at = NS_NEVER;
    arm_next();
    lapic_write(LAPIC_EOI, 0);
}

void timer_tick_enable(bool on)
{
    if (!apic_per_ms || on == tick_on)
        return;
    tick_on = on;
    if (on && next_tick < armed_at)
        arm(next_tick > time_ns() ? next_tick : time_ns());
}

uint64_t timer_next_interrupt(void)
{
    return armed_at;
}

void timer_wake_at(uint64_t at)
{
    if (!apic_per_ms || at >= wake_at)
        return;
    wake_at = at;
    if (at < armed_at)
        arm(at);
}

void timer_idle(void)
{
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* LAPIC timer counts (divide 16) during CALIBRATE_MS of PIT time. */
static uint32_t calibrate(void)
{
    uint16_t count = PIT_HZ * CALIBRATE_MS / 1000;
    outb(PIT_GATE_PORT, (inb(PIT_GATE_PORT) & ~PIT_SPEAKER) | PIT_GATE);
    outb(PIT_CMD, PIT_CMD_CH2_MODE0);
    outb(PIT_CH2_DATA, count & 0xFF);
    outb(PIT_CH2_DATA, count >> 8);
    /* Restart the count: the gate's rising edge (re)loads it in mode 0. */
    outb(PIT_GATE_PORT, inb(PIT_GATE_PORT) & ~PIT_GATE);
    outb(PIT_GATE_PORT, inb(PIT_GATE_PORT) | PIT_GATE);
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
    lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFFu);
    uint64_t tsc0 = rdtsc();
    for (uint32_t spins = 0; !(inb(PIT_GATE_PORT) & PIT_OUT2); spins++)
        if (spins > 100000000u)
            return 0;
    uint32_t elapsed = 0xFFFFFFFFu - lapic_read(LAPIC_TIMER_CUR);
    tsc_per_ms = (rdtsc() - tsc0) / CALIBRATE_MS;
    lapic_write(LAPIC_TIMER_INIT, 0);
    return elapsed;
}

/* The legacy 8259 pair would deliver the PIT on vector 8 once interrupts are on:
 * move it out of the exception range (ICW1-ICW4, 8259A data sheet) and mask it. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIC_ICW1_INIT_ICW4 0x11
#define PIC_ICW4_8086 0x01
#define PIC_CASCADE_IRQ 2

static void pic_disable(void)
{
    outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC1_DATA, PIC_VECTOR_BASE);
    outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
    outb(PIC1_DATA, 1 << PIC_CASCADE_IRQ);
    outb(PIC2_DATA, PIC_CASCADE_IRQ);
    outb(PIC1_DATA, PIC_ICW4_8086);
    outb(PIC2_DATA, PIC_ICW4_8086);
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
}

int timer_init(void)
{
    pic_disable();
    x2apic = (rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD) != 0;
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    uint32_t per_ms = calibrate() / CALIBRATE_MS;
    tsc_at_init = rdtsc();
    if (!per_ms) {
        kprintf("hv86: timer: calibration against the PIT failed\n");
        return -1;
    }
    kprintf("hv86: timer: %u Hz tick, local APIC timer %u/ms, TSC %lu/ms\n", TIMER_HZ,
            per_ms, tsc_per_ms);
    apic_per_ms = per_ms;
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);      /* one-shot */
    next_tick = time_ns() + TICK_NS;
    arm(next_tick);
    return 0;
}

uint64_t time_ns(void)
{
    if (!tsc_per_ms)
        return 0;
    uint64_t t = rdtsc() - tsc_at_init;
    /* ms * 1e6 + the rest, without overflowing for years of uptime */
    return t / tsc_per_ms * 1000000ull + (t % tsc_per_ms) * 1000000ull / tsc_per_ms;
}

uint64_t time_tsc_hz(void) { return tsc_per_ms * 1000; }

void timer_take_pending(void)
{
    __asm__ volatile("sti; nop; cli" ::: "memory");
}
