/* A VM's console output, limited (issue 28): the guest's lines go to the one
 * serial console every VM and hv86 share, so a guest printing without end would
 * slow the others (the console lock, the UART) and bury their lines. A budget
 * of bytes that fills at CONSOLE_RATE bytes per second up to CONSOLE_BURST, and
 * a cap of CONSOLE_CAP bytes over the VM's life (or the struct's own limits): a line that does not fit is
 * dropped, and counted. Values in, a decision out: tests/unit/test_console_limit.c. */
#ifndef VMM_POLICY_CONSOLE_LIMIT_H
#define VMM_POLICY_CONSOLE_LIMIT_H
#include <stdbool.h>
#include <stdint.h>

#define CONSOLE_BURST  (32u << 10)       /* bytes a VM may print at once */
#define CONSOLE_RATE   (8u << 10)        /* bytes per second after that */
#define CONSOLE_CAP    (4u << 20)        /* bytes over its life */

struct console_limit {
    uint64_t burst, rate, cap;  /* its limits; 0 each: the CONSOLE_* defaults */
    uint64_t budget;        /* bytes it may print now */
    uint64_t at_ns;         /* when the budget was last filled; 0: never (full) */
    uint64_t printed;       /* bytes printed over its life */
    uint64_t dropped;       /* lines dropped */
    bool dropping;          /* the last line was dropped */
};

/* May a line of len bytes (its newline and "[NAME] " prefix included) be printed
 * at time now (ns)? Charges it if so, counts it as dropped if not. */
bool console_limit_take(struct console_limit *c, uint64_t len, uint64_t now);
#endif
