/* kernel/spinlock.h: the ticket lock that guards hv86's allocator, heap and
 * console across CPUs. A host thread stands in for a second CPU: it waits while
 * the lock is held and gets it on release; trylock fails exactly while the lock
 * is held or wanted; tickets are served in order. */
#include <pthread.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernel/spinlock.h"

static struct spinlock lock = SPINLOCK_INIT;
static volatile int got_it;            /* set by the second thread once it holds the lock */

static void *second_cpu(void *arg)
{
    (void)arg;
    spin_lock(&lock);
    got_it = 1;
    spin_unlock(&lock);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

/* A second thread asking for a held lock waits until it is released, then
 * gets it. (A thread race test is no good here: on a busy host the threads
 * rarely overlap, so a broken lock would pass it too.) */
static void waits_while_held(void **state)
{
    (void)state;
    pthread_t t;
    got_it = 0;
    spin_lock(&lock);
    assert_int_equal(pthread_create(&t, NULL, second_cpu, NULL), 0);
    sleep_ms(100);
    assert_int_equal(got_it, 0);
    assert_int_equal(lock.next, 2);                 /* it has drawn its ticket */
    spin_unlock(&lock);
    pthread_join(t, NULL);
    assert_int_equal(got_it, 1);
    assert_int_equal(lock.next, lock.serving);      /* every ticket served */
}

static void trylock_only_when_free(void **state)
{
    (void)state;
    struct spinlock l = SPINLOCK_INIT;
    assert_true(spin_trylock(&l));
    assert_false(spin_trylock(&l));                 /* held */
    spin_unlock(&l);
    assert_true(spin_trylock(&l));
    spin_unlock(&l);
    l.next++;                                       /* another CPU waits for it */
    assert_false(spin_trylock(&l));
}

/* Tickets are served in the order they were taken. */
static void first_come_first_served(void **state)
{
    (void)state;
    struct spinlock l = SPINLOCK_INIT;
    spin_lock(&l);
    uint32_t waiter = l.next++;                     /* a second CPU queues */
    assert_int_equal(waiter, 1);
    assert_int_equal(l.serving, 0);
    spin_unlock(&l);
    assert_int_equal(l.serving, waiter);            /* now it is its turn */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(waits_while_held),
        cmocka_unit_test(trylock_only_when_free),
        cmocka_unit_test(first_come_first_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
