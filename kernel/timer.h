/* The host's scheduling tick: the local APIC timer, calibrated against the PIT,
 * in one-shot mode, re-armed for each tick and earlier when a guest timer
 * expires first (timer_wake_at). Guests run with host interrupts enabled at the
 * hardware level (VMX external-interrupt exiting, SVM INTR intercept with
 * V_INTR_MASKING), so a tick always ends a guest's turn, whatever the guest
 * does with its own IF. */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H
#include <stdbool.h>
#include <stdint.h>
#include "kernel/cpu.h"

#define TIMER_VECTOR 0x20
#define PIC_VECTOR_BASE 0x30   /* the masked 8259s' vectors: only spurious ones arrive */
#define TIMER_HZ 100

/* Ticks of time since time_ns() == t0, from the clock (the summary's ended_tick:
 * since the VMs started), right whether or not the CPUs' ticks run
 * (timer_tick_enable). */
uint64_t timer_ticks_since(uint64_t t0);
/* This CPU's ticks: a change ends a vCPU's turn on it. Inline, like the two
 * below: the run loop reads them around every VM exit. */
static inline uint64_t timer_cpu_ticks(void) { return this_cpu()->timer.ticks; }
/* Every host timer interrupt of this CPU so far, tick or wake-up (timer_wake_at). */
static inline uint64_t timer_cpu_interrupts(void) { return this_cpu()->timer.interrupts; }
/* Calibrate and start the periodic tick on the BSP; 0 on success. */
int timer_init(void);
/* Start this CPU's tick (an AP, after timer_init succeeded on the BSP). */
void timer_cpu_start(void);
/* Host time since timer_init in nanoseconds, from the TSC calibrated against the
 * PIT (under Bochs the TSC counts instructions: time is emulated time), and the
 * TSC frequency. Both 0 before timer_init. */
uint64_t time_ns(void);
uint64_t time_tsc_hz(void);
/* Let pending host interrupts in (sti; cli): after an exit for an external
 * interrupt, the interrupt is still pending at the local APIC. */
void timer_take_pending(void);
/* A host timer interrupt no later than time_ns() == at (a guest timer's expiry;
 * the guest exits for it): the next one-shot is brought forward if need be.
 * The request holds until that interrupt. */
void timer_wake_at(uint64_t at);
/* Nothing to run: wait for the next host interrupt (sti; hlt; cli). */
void timer_idle(void);
/* The scheduling tick on or off. Off when a single vCPU runs: nobody else needs
 * the CPU, so a tick would only cost the guest an exit; wake-ups for guest timers
 * (timer_wake_at) still come. This CPU's tick count (timer_cpu_ticks) keeps
 * counting time either way. */
void timer_tick_enable(bool on);
/* The TSC value at the next host timer interrupt, UINT64_MAX if none is armed. */
static inline uint64_t timer_next_interrupt_tsc(void) { return this_cpu()->timer.armed_tsc; }
#endif
