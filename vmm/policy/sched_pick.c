/* Proportional-share scheduling decisions (vmm/policy/sched_pick.h). */
#include "vmm/policy/sched_pick.h"

int sched_pick(struct sched_entity *e, unsigned n, unsigned after, uint64_t *clock)
{
    bool seen = false;
    uint64_t least = 0;
    for (unsigned i = 0; i < n; i++)
        if (e[i].ready && e[i].was_ready && (!seen || e[i].vtime < least)) {
            least = e[i].vtime;
            seen = true;
        }
    if (seen && least > *clock)
        *clock = least;
    for (unsigned i = 0; i < n; i++)
        if (e[i].ready && !e[i].was_ready && e[i].vtime < *clock)
            e[i].vtime = *clock;
    int pick = -1;
    for (unsigned j = 1; j <= n; j++) {
        unsigned i = (after + j) % n;
        if (e[i].ready && (pick < 0 || e[i].vtime < e[pick].vtime))
            pick = (int)i;
    }
    return pick;
}

uint64_t sched_charge(uint64_t vtime, uint64_t ns, unsigned weight)
{
    if (!weight)
        weight = SCHED_WEIGHT_UNIT;
    return vtime + ns * SCHED_WEIGHT_UNIT / weight;
}

void sched_cap_fill(struct sched_cap *c, unsigned cap_pct, uint64_t now)
{
    if (!cap_pct)
        return;
    if (now > c->at_ns) {
        uint64_t add = (now - c->at_ns) * cap_pct / 100;
        int64_t room = (int64_t)SCHED_CAP_BURST_NS - c->budget_ns;
        c->budget_ns = room <= 0 ? c->budget_ns
                     : add >= (uint64_t)room ? (int64_t)SCHED_CAP_BURST_NS
                     : c->budget_ns + (int64_t)add;
    }
    c->at_ns = now;
}

uint64_t sched_cap_ready_at(const struct sched_cap *c, unsigned cap_pct, uint64_t now)
{
    if (!cap_pct || c->budget_ns >= (int64_t)SCHED_CAP_MIN_NS)
        return now;
    uint64_t missing = (uint64_t)((int64_t)SCHED_CAP_MIN_NS - c->budget_ns);
    return now + (missing * 100 + cap_pct - 1) / cap_pct;
}

uint64_t sched_turn_end(uint64_t start, bool alone, const struct sched_cap *c, unsigned cap_pct)
{
    uint64_t len = alone ? SCHED_NEVER : SCHED_SLICE_NS;
    if (cap_pct) {
        uint64_t left = c->budget_ns > 0 ? (uint64_t)c->budget_ns : 0;
        len = left < len ? left : len;
    }
    return len == SCHED_NEVER ? SCHED_NEVER : start + len;
}

void sched_cap_charge(struct sched_cap *c, unsigned cap_pct, uint64_t ns)
{
    if (cap_pct)
        c->budget_ns -= (int64_t)ns;
}
