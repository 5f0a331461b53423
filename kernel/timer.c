/* Host tick: local APIC timer (SDM Vol. 3A 11.5.4), one-shot, calibrated with PIT channel 2
 * (Intel 8254 data sheet: mode 0, gate through port 0x61). Each CPU runs its own
 * LAPIC timer with the BSP's calibration (one bus clock) and keeps its own tick
 * state in its struct cpu; the TSC-based clock is shared: the TSCs of the CPUs
 * of one machine run in step (SDM Vol. 3B 17.17, invariant TSC; both emulators
 * give all their CPUs one TSC). */
#include "arch/pc.h"
#include "arch/units.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/host_apic.h"
#include "kernel/timer.h"
#include "kernel/x86.h"

#define TIMER_DIV_16      0x3

#define PIT_CH2_DATA      0x42
#define PIT_CMD           0x43
#define PIT_GATE_PORT     0x61
#define PIT_GATE          0x01
#define PIT_SPEAKER       0x02
#define PIT_OUT2          0x20
#define PIT_CMD_CH2_MODE0 0xB0   /* channel 2, lo/hi byte, mode 0, binary */
#define CALIBRATE_MS      10
#define NS_NEVER          UINT64_MAX
#define TICK_NS           (1000 * NS_PER_MS / TIMER_HZ)

static uint64_t tsc_per_ms;
static uint64_t tsc_at_init;
static uint32_t apic_per_ms;     /* LAPIC timer counts (divide 16) per ms */

/* One-shot (SDM Vol. 3A 11.5.4) for time_ns() == at, rounded up to a count. The
 * same instant in TSC counts is kept too: converted here, once per one-shot, it
 * saves every VM entry the conversion (vmx.c sets its preemption timer from it). */
static void arm(struct cpu_timer *t, uint64_t at)
{
    uint64_t tsc = rdtsc(), now = time_ns(), delta = at > now ? at - now : 0;
    uint64_t count = (delta * apic_per_ms + NS_PER_MS - 1) / NS_PER_MS;
    t->armed_at = at;
    t->armed_tsc = tsc + delta / NS_PER_MS * tsc_per_ms + delta % NS_PER_MS * tsc_per_ms / NS_PER_MS;
    host_apic_write(LAPIC_TIMER_INIT, count > 0xFFFFFFFFu ? 0xFFFFFFFFu : count ? (uint32_t)count : 1);
}

/* The next one-shot: whichever comes first, the tick (if wanted) or a requested
 * wake-up; none if neither. */
static void arm_next(struct cpu_timer *t)
{
    uint64_t at = !t->tick_off && t->next_tick < t->wake_at ? t->next_tick : t->wake_at;
    if (at == NS_NEVER) {
        t->armed_at = NS_NEVER;
        t->armed_tsc = UINT64_MAX;
        host_apic_write(LAPIC_TIMER_INIT, 0);    /* stops the one-shot (11.5.4) */
    } else {
        arm(t, at);
    }
}

/* A tick when its time has come (missed ticks are not made up while the tick
 * runs; while it is off, the ticks count time), and the next one-shot. */
void timer_interrupt(void)
{
    struct cpu *c = this_cpu();
    struct cpu_timer *t = &c->timer;
    uint64_t now = time_ns();
    t->interrupts++;
    if (now >= t->next_tick) {
        uint64_t missed = (now - t->next_tick) / TICK_NS;
        t->ticks += t->tick_off ? missed + 1 : 1;
        t->next_tick += (missed + 1) * TICK_NS;
    }
    if (now >= t->wake_at)
        t->wake_at = NS_NEVER;
    arm_next(t);
    host_apic_eoi();
}

void timer_tick_enable(bool on)
{
    struct cpu_timer *t = &this_cpu()->timer;
    if (!apic_per_ms || on == !t->tick_off)
        return;
    t->tick_off = !on;
    if (on && t->next_tick < t->armed_at) {
        uint64_t now = time_ns();
        arm(t, t->next_tick > now ? t->next_tick : now);
    }
}

uint64_t timer_ticks_since(uint64_t t0)
{
    uint64_t now = time_ns();
    return now > t0 ? (now - t0) / TICK_NS : 0;
}

void timer_wake_at(uint64_t at)
{
    struct cpu_timer *t = &this_cpu()->timer;
    if (!apic_per_ms || at >= t->wake_at)
        return;
    t->wake_at = at;
    if (at < t->armed_at)
        arm(t, at);
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
    host_apic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
    host_apic_write(LAPIC_TIMER_INIT, 0xFFFFFFFFu);
    uint64_t tsc0 = rdtsc();
    for (uint32_t spins = 0; !(inb(PIT_GATE_PORT) & PIT_OUT2); spins++)
        if (spins > 100000000u)
            return 0;
    uint32_t elapsed = 0xFFFFFFFFu - host_apic_read(LAPIC_TIMER_CUR);
    tsc_per_ms = (rdtsc() - tsc0) / CALIBRATE_MS;
    host_apic_write(LAPIC_TIMER_INIT, 0);
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

/* This CPU's one-shot tick, with the calibration timer_init made. */
void timer_cpu_start(void)
{
    struct cpu_timer *t = &this_cpu()->timer;
    t->wake_at = t->armed_at = NS_NEVER;
    t->armed_tsc = UINT64_MAX;
    t->tick_off = false;
    if (!apic_per_ms)
        return;
    host_apic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
    host_apic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);      /* one-shot */
    t->next_tick = time_ns() + TICK_NS;
    arm(t, t->next_tick);
}

int timer_init(void)
{
    pic_disable();
    host_apic_init();
    host_apic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
    uint32_t per_ms = calibrate() / CALIBRATE_MS;
    tsc_at_init = rdtsc();
    if (!per_ms) {
        kprintf("hv86: timer: calibration against the PIT failed\n");
        return -1;
    }
    kprintf("hv86: timer: %u Hz tick, local APIC timer %u/ms, TSC %lu/ms\n", TIMER_HZ,
            per_ms, tsc_per_ms);
    apic_per_ms = per_ms;
    timer_cpu_start();
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
