/* vmm/policy/sched_pick.c: the least virtual time runs, ties take turns, weights
 * divide the time, sleeping banks no credit, caps hold; and a small simulation
 * of the rules of vmm/sched.c with the attacks of issue 28. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "vmm/policy/sched_pick.h"

#define MS 1000000ull

static void test_least_vtime_and_ties(void **state)
{
    (void)state;
    uint64_t clock = 0;
    struct sched_entity e[3] = { { 30, true, true }, { 10, true, true }, { 20, false, false } };
    assert_int_equal(sched_pick(e, 3, 0, &clock), 1);
    assert_int_equal(clock, 10);
    e[1].vtime = 30;
    /* 0 and 1 tie at 30: the one after the previous pick (1) goes first. */
    assert_int_equal(sched_pick(e, 3, 1, &clock), 0);
    assert_int_equal(sched_pick(e, 3, 0, &clock), 1);
    e[0].ready = e[1].ready = false;
    assert_int_equal(sched_pick(e, 3, 0, &clock), -1);
}

static void test_woken_not_below_clock(void **state)
{
    (void)state;
    uint64_t clock = 0;
    struct sched_entity e[2] = { { 500, true, true }, { 100, true, false } };
    /* Entity 1 slept while 0 ran to 500: it comes back at 500, not 100 (and
     * ties with 0, which ran last). */
    assert_int_equal(sched_pick(e, 2, 0, &clock), 1);
    assert_int_equal(e[1].vtime, 500);
    assert_int_equal(clock, 500);
    /* The clock never goes back. */
    e[0].vtime = 400;
    sched_pick(e, 2, 0, &clock);
    assert_int_equal(clock, 500);
    /* One ahead of the clock keeps its own time. */
    struct sched_entity f[2] = { { 100, true, true }, { 900, true, false } };
    clock = 0;
    assert_int_equal(sched_pick(f, 2, 1, &clock), 0);
    assert_int_equal(f[1].vtime, 900);
}

static void test_charge_weights(void **state)
{
    (void)state;
    assert_int_equal(sched_charge(0, 10 * MS, 256), 10 * MS);
    assert_int_equal(sched_charge(0, 10 * MS, 512), 5 * MS);
    assert_int_equal(sched_charge(7, 10 * MS, 128), 20 * MS + 7);
    assert_int_equal(sched_charge(0, 10 * MS, 0), 10 * MS);
}

static void test_cap_budget(void **state)
{
    (void)state;
    struct sched_cap c = { 0, 0 };
    /* Uncapped: always ready, turns of one slice or solo without end. */
    assert_int_equal(sched_cap_ready_at(&c, 0, 5), 5);
    assert_int_equal(sched_turn_end(100, false, &c, 0), 100 + SCHED_SLICE_NS);
    assert_int_equal(sched_turn_end(100, true, &c, 0), SCHED_NEVER);
    /* 25%: 1 ms saved after 4 ms. */
    assert_int_equal(sched_cap_ready_at(&c, 25, 0), 4 * MS);
    sched_cap_fill(&c, 25, 4 * MS);
    assert_int_equal(c.budget_ns, (int64_t)MS);
    assert_int_equal(sched_cap_ready_at(&c, 25, 4 * MS), 4 * MS);
    assert_int_equal(sched_turn_end(4 * MS, true, &c, 25), 5 * MS);
    /* Overrun by 0.5 ms: 6 ms to wait for 1.5 ms at 25%. */
    sched_cap_charge(&c, 25, 1500000);
    assert_int_equal(c.budget_ns, -500000);
    assert_int_equal(sched_cap_ready_at(&c, 25, 10 * MS), 16 * MS);
    /* A long sleep saves no more than a burst. */
    sched_cap_fill(&c, 25, 1000 * MS);
    assert_int_equal(c.budget_ns, (int64_t)SCHED_CAP_BURST_NS);
    assert_int_equal(sched_turn_end(0, false, &c, 25), SCHED_SLICE_NS);
}

/* A simulation of one host CPU under the rules of vmm/sched.c: the ready entity
 * with the least vtime runs until its slice ends or it halts; a solo turn ends
 * when another entity wakes. Entity 0 is the victim (always ready); entity 1
 * the neighbour, whose behaviour the callback decides: how long it runs before
 * it halts (given when its turn starts), and when it wakes. Returns the
 * victim's share of the CPU in permille over `total` ns. */
struct neighbour {
    unsigned weight;
    uint64_t halt_ns;      /* it halts this long ... */
    uint64_t period_ns;    /* ... just before each multiple of this; 0: never halts */
};

static uint64_t next_halt(const struct neighbour *nb, uint64_t now)
{
    if (!nb->period_ns)
        return SCHED_NEVER;
    uint64_t p = (now / nb->period_ns + 1) * nb->period_ns - nb->halt_ns / 2;
    return p > now ? p : p + nb->period_ns;
}

static unsigned simulate(const struct neighbour *nb, unsigned victim_weight, uint64_t total)
{
    struct sched_entity e[2] = { { 0, true, false }, { 0, true, false } };
    unsigned weight[2] = { victim_weight, nb->weight };
    uint64_t now = 0, clock = 0, ran[2] = { 0, 0 }, wake = 0;
    unsigned after = 1;
    while (now < total) {
        e[1].ready = now >= wake;
        int p = sched_pick(e, 2, after, &clock);
        e[0].was_ready = e[0].ready;
        e[1].was_ready = e[1].ready;
        assert_true(p >= 0);
        after = (unsigned)p;
        bool solo = !e[1].ready;
        uint64_t end = solo ? wake : now + SCHED_SLICE_NS;
        if (p == 1) {
            uint64_t h = next_halt(nb, now);
            if (h < end) {
                end = h;
                wake = h + nb->halt_ns;
            }
        }
        ran[p] += end - now;
        e[p].vtime = sched_charge(e[p].vtime, end - now, weight[p]);
        now = end;
    }
    return (unsigned)(ran[0] * 1000 / (ran[0] + ran[1]));
}

static void test_sim_spinner_fair(void **state)
{
    (void)state;
    struct neighbour spin = { 256, 0, 0 };
    unsigned share = simulate(&spin, 256, 2000 * MS);
    assert_in_range(share, 480, 520);
}

static void test_sim_tick_cheater_fair(void **state)
{
    (void)state;
    /* Halts 0.2 ms around each 10 ms boundary (the old tick), runs otherwise. */
    struct neighbour cheat = { 256, 200000, 10 * MS };
    unsigned share = simulate(&cheat, 256, 2000 * MS);
    assert_in_range(share, 470, 530);
    /* And other periods: the victim keeps at least its half. */
    for (uint64_t period = 3 * MS; period <= 25 * MS; period += 7 * MS) {
        struct neighbour c2 = { 256, 100000, period };
        assert_in_range(simulate(&c2, 256, 2000 * MS), 460, 1000);
    }
}

static void test_sim_weights(void **state)
{
    (void)state;
    struct neighbour heavy = { 512, 0, 0 };
    assert_in_range(simulate(&heavy, 256, 3000 * MS), 320, 347);
    struct neighbour light = { 128, 0, 0 };
    assert_in_range(simulate(&light, 256, 3000 * MS), 653, 680);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_least_vtime_and_ties),
        cmocka_unit_test(test_woken_not_below_clock),
        cmocka_unit_test(test_charge_weights),
        cmocka_unit_test(test_cap_budget),
        cmocka_unit_test(test_sim_spinner_fair),
        cmocka_unit_test(test_sim_tick_cheater_fair),
        cmocka_unit_test(test_sim_weights),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
