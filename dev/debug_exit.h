/* QEMU's isa-debug-exit (iobase 0xf4, iosize 4) as a pure model: a write of V ends
 * the VM with status (V << 1) | 1. The glue (vmm/platform.c) ends the VM. */
#ifndef DEV_DEBUG_EXIT_H
#define DEV_DEBUG_EXIT_H
#include <stdint.h>

#define DEBUG_EXIT_PORT  0xf4
#define DEBUG_EXIT_WIDTH 4

/* The VM's exit status for a write of v. */
int debug_exit_status(uint32_t v);
/* What a read of size bytes returns. */
uint32_t debug_exit_read(unsigned size);
#endif
