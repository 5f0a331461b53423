/* Each CPU's GDT with its own 64-bit TSS. VT-x requires a usable host TR (SDM
 * Vol. 3C 26.2.3: host TR selector must not be 0), and a TSS cannot be shared:
 * LTR marks its descriptor busy, and a second LTR of a busy TSS faults (SDM Vol.
 * 3A 8.2.4). The code and data descriptors are boot/entry.S's. */
#include <stdint.h>
#include "kernel/cpu.h"
#include "kernel/string.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

#define GDT_TSS_TYPE_AVAILABLE 0x89  /* P=1, type 9: 64-bit TSS available */

extern uint64_t boot_gdt[GDT_ENTRIES];

void gdt_init(struct cpu *c)
{
    struct tss64 *tss = &c->tss;
    uint64_t base = (uint64_t)tss, limit = sizeof *tss - 1;
    memset(tss, 0, sizeof *tss);
    tss->iomap_base = sizeof *tss;    /* no I/O bitmap */
    memcpy(c->gdt, boot_gdt, sizeof c->gdt);
    c->gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
                          ((uint64_t)GDT_TSS_TYPE_AVAILABLE << 40) |
                          (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    c->gdt[GDT_TSS / 8 + 1] = base >> 32;
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr = {
        sizeof c->gdt - 1, (uint64_t)c->gdt };
    __asm__ volatile("lgdt %0" :: "m"(gdtr));
    __asm__ volatile("ltr %w0" :: "r"((uint16_t)GDT_TSS));
}
