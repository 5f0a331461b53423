/* QEMU's isa-debug-exit (iobase 0xf4, iosize 4) as a pure model: a write of V ends
 * the VM with status (V << 1) | 1. The glue (vmm/platform.c) ends the VM. */
#ifndef DEV_DEBUG_EXIT_H
#define DEV_DEBUG_EXIT_H
#include <stdint.h>
#include "dev/bus.h"

#define DEBUG_EXIT_PORT  0xf4
#define DEBUG_EXIT_WIDTH 4

/* The VM's exit status for a write of v. */
int debug_exit_status(uint32_t v);
/* What a read of size bytes returns. */
uint32_t debug_exit_read(unsigned size);
/* The bus handler of the exit port; dev is the VM's struct dev_host: a write
 * ends the VM with debug_exit_status. */
enum bus_result debug_exit_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                      bool write, uint64_t *val);
#endif
