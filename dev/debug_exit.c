/* The exit port, as QEMU's isa-debug-exit (iobase 0xf4, iosize 4): the status a
 * test image made for QEMU expects is (V << 1) | 1, truncated to 8 bits like a
 * process exit status. Reads return all ones, as from an unclaimed port. */
#include "dev/debug_exit.h"
#include "vmm/vm.h"

#define DEBUG_EXIT_WIDTH 4

static bool debug_exit_io(struct vcpu *v, void *dev, uint16_t port, unsigned size, bool in,
                          uint32_t *val)
{
    (void)dev; (void)port;
    if (in) {
        *val = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
        return true;
    }
    vm_exit_status(v->vm, (int)(((*val << 1) | 1) & 0xff));
    return true;
}

int debug_exit_attach(struct vm *vm)
{
    return vm_register_io(vm, DEBUG_EXIT_PORT, DEBUG_EXIT_WIDTH, debug_exit_io, 0);
}
