/* The AP start-up trampoline, copied to AP_BOOT_PA (below 1 MiB) by kernel/smp.c.
 * An AP starts here in real mode at CS:IP = AP_BOOT_VECTOR << 8 : 0 (SDM Vol. 3A
 * 8.4.4.1), goes to 32-bit protected mode, then into long mode on the BSP's page
 * tables (9.8.5: PAE, CR3, EFER.LME, then CR0.PG) and calls ap_start(cpu) on its
 * own stack. The BSP fills the data fields of the copy before each SIPI. It
 * runs from the copy, so every address is AP_BOOT_PA + its offset here. */
#include "kernel/smp.h"
#include "kernel/x86.h"

#define AT(label) (AP_BOOT_PA + (label - ap_boot_start))

    .section .rodata
    .balign 16
    .globl ap_boot_start, ap_boot_end, ap_boot_gdtr, ap_boot_cr3, ap_boot_stack
    .globl ap_boot_cpu, ap_boot_alive
    .code16
ap_boot_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    movl $1, AT(ap_boot_alive)          /* the BSP need not send the second SIPI */
    lgdtl AT(ap_boot_gdtr)
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $AP_BOOT_CS32, $AT(ap_boot_pm32)

    .code32
ap_boot_pm32:
    mov $GDT_KERNEL_DS, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $(CR4_PAE | CR4_PGE), %eax
    mov %eax, %cr4
    mov AT(ap_boot_cr3), %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_WP | CR0_NE), %eax
    and $~(CR0_CD | CR0_NW | CR0_EM), %eax
    mov %eax, %cr0
    ljmp $GDT_KERNEL_CS, $AT(ap_boot_long)

    .code64
ap_boot_long:
    mov $GDT_KERNEL_DS, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    mov AT(ap_boot_stack), %rsp
    mov AT(ap_boot_cpu), %rdi
    xor %ebp, %ebp
    movabs $ap_start, %rax
    call *%rax
1:  cli
    hlt
    jmp 1b

    .balign 8
ap_boot_gdt:
    .quad 0                             /* null */
    .quad 0x00af9b000000ffff            /* 0x08: 64-bit code, DPL0 (as boot/entry.S) */
    .quad 0x00cf93000000ffff            /* 0x10: data, DPL0 */
    .quad 0x00cf9b000000ffff            /* 0x18: 32-bit code, DPL0 (AP_BOOT_CS32) */
ap_boot_gdt_end:
    .balign 8
ap_boot_gdtr:                           /* limit and 32-bit base, for LGDTL */
    .word ap_boot_gdt_end - ap_boot_gdt - 1
    .long AT(ap_boot_gdt)
    .balign 8
ap_boot_cr3:   .quad 0                  /* the BSP's PML4 (below 4 GiB) */
ap_boot_stack: .quad 0                  /* top of this AP's stack */
ap_boot_cpu:   .quad 0                  /* its struct cpu */
ap_boot_alive: .long 0                  /* set by the AP as it starts */
ap_boot_end:
    .section .note.GNU-stack,"",@progbits
