/* Ticket spinlock: CPUs get the lock in the order they asked for it, so none
 * starves (the same scheme as Linux's x86 ticket locks). hv86 takes its locks
 * with host interrupts disabled (it runs with IF = 0 outside guest mode and
 * timer_idle), and no interrupt handler takes a lock, so a lock holder is never
 * interrupted by code that wants the same lock. docs/smp.md lists the locks. */
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H
#include <stdbool.h>
#include <stdint.h>

struct spinlock {
    volatile uint32_t next;        /* the ticket the next CPU to ask gets */
    volatile uint32_t serving;     /* the ticket that holds the lock */
};

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_pause(void) { __asm__ volatile("pause" ::: "memory"); }

static inline void spin_lock(struct spinlock *l)
{
    uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != me)
        spin_pause();
}

/* Take the lock only if nobody holds or waits for it. */
static inline bool spin_trylock(struct spinlock *l)
{
    uint32_t s = __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
    uint32_t expect = s;
    return __atomic_compare_exchange_n(&l->next, &expect, s + 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
    __atomic_store_n(&l->serving, l->serving + 1, __ATOMIC_RELEASE);
}
#endif
