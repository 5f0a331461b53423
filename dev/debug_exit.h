#ifndef DEV_DEBUG_EXIT_H
#define DEV_DEBUG_EXIT_H
struct vm;
#define DEBUG_EXIT_PORT 0xf4
/* QEMU's isa-debug-exit: a write of V ends the VM with status (V << 1) | 1. */
int debug_exit_attach(struct vm *vm);
#endif
