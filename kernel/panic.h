/* Stopping the machine when hv86 itself is broken, on any CPU: the first CPU to
 * panic stops the others with an NMI IPI (each leaves VMX/SVM operation and
 * halts), then prints its report once and halts with status 118. A CPU that
 * panics while another one already does just stops. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H
#include <stdbool.h>

/* Called on panic before halting, on each CPU that stops: leaves VMX/SVM
 * operation on that CPU (set by the VMM). */
extern void (*panic_cleanup)(void);
/* Claim the panic for this CPU and stop the others; returns on the CPU that
 * reports (a second panic on the same CPU included), never on the others. */
void panic_begin(void);
/* Cleanup, the halt line, halt. */
__attribute__((noreturn)) void panic_end(void);
/* A stop request is out (the NMI handler's question). */
bool panic_stop_requested(void);
/* Leave VMX/SVM operation on this CPU and halt for good. */
__attribute__((noreturn)) void panic_stop_this_cpu(void);
#endif
