/* The exit port, as QEMU's isa-debug-exit: the status a test image made for QEMU
 * expects is (V << 1) | 1, truncated to 8 bits like a process exit status. Reads
 * return all ones, as from an unclaimed port. */
#include "arch/x86.h"
#include "dev/debug_exit.h"

int debug_exit_status(uint32_t v)
{
    return (int)(((v << 1) | 1) & 0xff);
}

uint32_t debug_exit_read(unsigned size)
{
    return (uint32_t)access_size_mask(size);
}

enum bus_result debug_exit_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                      bool write, uint64_t *val)
{
    const struct dev_host *host = dev;
    (void)v; (void)offset;
    if (!write)
        *val = debug_exit_read(size);
    else if (host)
        host->end(host->ctx, debug_exit_status((uint32_t)*val));
    return BUS_OK;
}
