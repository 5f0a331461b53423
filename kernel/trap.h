#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H
#include <stdint.h>

/* Layout pushed by kernel/isr.S. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

void idt_init(void);
void gdt_init(void);
/* Called on panic before halting: leaves VMX/SVM operation (set by the VMM). */
extern void (*panic_cleanup)(void);
#endif
