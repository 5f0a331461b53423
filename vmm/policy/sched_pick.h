/* Proportional-share scheduling decisions, values in and a decision out (the
 * run loop that applies them is vmm/sched.c; the rules are in docs/smp.md,
 * "Scheduling"). Each VM has a virtual time: the host CPU time it ran, in ns,
 * scaled by SCHED_WEIGHT_UNIT / its weight, so a VM of weight 512 ages half as
 * fast as one of 256 and gets twice the time. The CPU runs the ready VM with
 * the least virtual time (Xen credit2's and Linux EEVDF's rule without the
 * latency terms), for one slice measured from the start of its own turn. A VM
 * is charged for all its vCPUs' time, so its share does not grow with its
 * number of vCPUs; a VM that was not ready (its vCPUs halted) comes back at no
 * less than the CPU's clock (the least virtual time of the VMs that stayed
 * ready), so sleeping banks no credit. A cap is a budget per vCPU that fills at
 * cap percent of real time, up to one slice. Pure code:
 * tests/unit/test_sched_pick.c. */
#ifndef VMM_POLICY_SCHED_PICK_H
#define VMM_POLICY_SCHED_PICK_H
#include <stdbool.h>
#include <stdint.h>

#define SCHED_WEIGHT_UNIT   256u             /* the default weight */
#define SCHED_SLICE_NS      10000000ull      /* one turn: 10 ms from its own start */
#define SCHED_CAP_BURST_NS  SCHED_SLICE_NS   /* a capped vCPU saves at most this */
#define SCHED_CAP_MIN_NS    1000000ull       /* ... and runs only with 1 ms saved */
#define SCHED_NEVER         UINT64_MAX

struct sched_entity {
    uint64_t vtime;     /* virtual time (in: as kept; out: raised if it woke) */
    bool ready;         /* has a vCPU that can run now */
    bool was_ready;     /* was ready at this CPU's previous decision */
};

/* Raises the clock to the least virtual time of the entities ready now and at
 * the previous decision (never lowers it), brings each entity that became ready
 * since up to the clock, then returns the ready entity with the least virtual
 * time, -1 if none. Ties go to the first one after index `after` (the previous
 * pick), so equals take turns. */
int sched_pick(struct sched_entity *e, unsigned n, unsigned after, uint64_t *clock);

/* Virtual time after running ns of host CPU time at weight (0 counts as the
 * default). */
uint64_t sched_charge(uint64_t vtime, uint64_t ns, unsigned weight);

/* A capped vCPU's budget: ns it may still run; at_ns is when it was last filled. */
struct sched_cap {
    int64_t budget_ns;
    uint64_t at_ns;
};

/* Fills the budget with cap_pct percent of the time since at_ns, up to
 * SCHED_CAP_BURST_NS; cap_pct 0 (no cap) leaves it alone. */
void sched_cap_fill(struct sched_cap *c, unsigned cap_pct, uint64_t now);
/* When the vCPU may run: now if uncapped or with SCHED_CAP_MIN_NS saved, else
 * the time its budget reaches that. */
uint64_t sched_cap_ready_at(const struct sched_cap *c, unsigned cap_pct, uint64_t now);
/* The end of a turn starting at start: one slice later, or earlier when the
 * budget runs out; alone (the CPU's only ready vCPU: nobody to share with) and
 * uncapped: SCHED_NEVER. */
uint64_t sched_turn_end(uint64_t start, bool alone, const struct sched_cap *c, unsigned cap_pct);
/* The budget after running ns. */
void sched_cap_charge(struct sched_cap *c, unsigned cap_pct, uint64_t ns);
#endif
