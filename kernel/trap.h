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

struct cpu;
/* Build the IDT and load it on this CPU; idt_load: load it (the other CPUs). */
void idt_init(void);
void idt_load(void);
/* Load c's GDT (with its own TSS) and TR on this CPU. */
void gdt_init(struct cpu *c);
#endif
