/* The host GDT with a 64-bit TSS. VT-x requires a usable host TR (SDM Vol. 3C
 * 26.2.3: host TR selector must not be 0), and the TSS gives the stacks for traps. */
#include <stdint.h>
#include "kernel/string.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));

#define GDT_TSS_TYPE_AVAILABLE 0x89  /* P=1, type 9: 64-bit TSS available */

extern uint64_t boot_gdt[5];
static struct tss64 host_tss;

void gdt_init(void)
{
    uint64_t base = (uint64_t)&host_tss, limit = sizeof host_tss - 1;
    memset(&host_tss, 0, sizeof host_tss);
    host_tss.iomap_base = sizeof host_tss;    /* no I/O bitmap */
    boot_gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
                            ((uint64_t)GDT_TSS_TYPE_AVAILABLE << 40) |
                            (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    boot_gdt[GDT_TSS / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" :: "r"((uint16_t)GDT_TSS));
}
