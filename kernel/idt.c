/* Host IDT: the 32 architectural exceptions (SDM Vol. 3A 6.14.1). hv86 runs with
 * interrupts disabled, so a host exception is a hypervisor bug: report and stop. */
#include <stdint.h>
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/timer.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

#define IDT_TYPE_INTERRUPT_GATE 0x8E   /* P=1, DPL=0, type 0xE */

struct idt_entry {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, reserved;
} __attribute__((packed));

static struct idt_entry idt[256];
extern const uint64_t isr_table[32];
extern char isr_timer[], isr_spurious[], isr_kick[];

#define SPURIOUS_VECTOR 0xFF

static void set_gate(unsigned vector, uint64_t h)
{
    idt[vector] = (struct idt_entry){
        .off_lo = (uint16_t)h, .sel = GDT_KERNEL_CS, .type = IDT_TYPE_INTERRUPT_GATE,
        .off_mid = (uint16_t)(h >> 16), .off_hi = (uint32_t)(h >> 32),
    };
}

void idt_init(void)
{
    for (int i = 0; i < 32; i++)
        set_gate(i, isr_table[i]);
    set_gate(TIMER_VECTOR, (uint64_t)isr_timer);
    set_gate(SPURIOUS_VECTOR, (uint64_t)isr_spurious);
    set_gate(CPU_KICK_VECTOR, (uint64_t)isr_kick);
    for (int i = 0; i < 16; i++)        /* masked 8259 IRQs: only spurious 7 and 15 */
        set_gate(PIC_VECTOR_BASE + i, (uint64_t)isr_spurious);
    idt_load();
}

/* Every CPU uses the one IDT: the handlers find their CPU through this_cpu(). */
void idt_load(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
        sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" :: "m"(idtr));
}

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound", "#UD invalid opcode", "#NM device not available", "#DF double fault",
    "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
    "#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
    "#VE virtualization", "#CP control protection",
};

void trap_handler(struct trap_frame *f)
{
    /* An NMI while a panic stops the CPUs is the stop request (panic.c). */
    if (f->vector == EXC_NMI && panic_stop_requested())
        panic_stop_this_cpu();
    panic_begin();
    const char *name = f->vector < 32 && exception_names[f->vector]
                           ? exception_names[f->vector] : "exception";
    kprintf("hv86: panic: host exception %lu (%s) error=%#lx rip=%#lx cr2=%#lx\n",
            f->vector, name, f->error, f->rip, read_cr2());
    kprintf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    kprintf("  rsi=%016lx rdi=%016lx rbp=%016lx rsp=%016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
    kprintf("  r8 =%016lx r9 =%016lx r10=%016lx r11=%016lx\n", f->r8, f->r9, f->r10, f->r11);
    kprintf("  r12=%016lx r13=%016lx r14=%016lx r15=%016lx\n", f->r12, f->r13, f->r14, f->r15);
    kprintf("  cs=%lx rflags=%lx cr0=%lx cr3=%lx cr4=%lx\n", f->cs, f->rflags, read_cr0(),
            read_cr3(), read_cr4());
    panic_end();
}
