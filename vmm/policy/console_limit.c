/* A VM's console output, limited (vmm/policy/console_limit.h). */
#include "vmm/policy/console_limit.h"

#include "arch/units.h"

bool console_limit_take(struct console_limit *c, uint64_t len, uint64_t now)
{
    uint64_t burst = c->burst ? c->burst : CONSOLE_BURST;
    uint64_t rate = c->rate ? c->rate : CONSOLE_RATE, cap = c->cap ? c->cap : CONSOLE_CAP;
    if (!c->at_ns) {
        c->budget = burst;
        c->at_ns = now ? now : 1;
    } else if (now > c->at_ns) {
        uint64_t dt = now - c->at_ns;
        /* Whole seconds and the rest apart: no overflow however long it was. */
        uint64_t add = dt / NS_PER_S * rate + dt % NS_PER_S * rate / NS_PER_S;
        c->budget = add >= burst - c->budget ? burst : c->budget + add;
        c->at_ns = now;
    }
    if (len > c->budget || c->printed + len > cap) {
        c->dropped++;
        c->dropping = true;
        return false;
    }
    c->budget -= len;
    c->printed += len;
    c->dropping = false;
    return true;
}
