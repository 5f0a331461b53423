/* 32-bit entry from a multiboot loader to 64-bit C.
 * At entry (both specs): protected mode, paging off, EAX = boot magic, EBX = info.
 * We clear BSS, identity-map the first 4 GiB with 2 MiB pages (SDM Vol. 3A 4.5),
 * enable long mode (SDM Vol. 3A 9.8.5) and jump to kmain(magic, info). */
#include "kernel/x86.h"

#define BOOT_STACK_SIZE 16384

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    mov %eax, %esi                  /* boot magic: BSS clear below keeps ESI/EBX */
    /* clear BSS (page tables and stacks live there) */
    mov $__bss_start_sym, %edi
    mov $_image_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    push %edi
    rep stosb
    pop %edi
    mov $(boot_stack + BOOT_STACK_SIZE), %esp

    /* PML4[0] -> PDPT, PDPT[0..3] -> PD0..3, PDn = 512 x 2 MiB. */
    mov $boot_pdpt, %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, boot_pml4
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $12, %eax
    add $boot_pd, %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, boot_pdpt(,%ecx,8)
    inc %ecx
    cmp $4, %ecx
    jne 1b
    xor %ecx, %ecx                  /* 2048 PDEs: 4 GiB */
2:  mov %ecx, %eax
    shl $21, %eax
    or $(PTE_P | PTE_W | PTE_PS), %eax
    cmp $1536, %ecx                 /* 3..4 GiB: MMIO (LAPIC, IOAPIC), uncached */
    jb 3f
    or $(PTE_PCD | PTE_PWT), %eax
3:  mov %eax, boot_pd(,%ecx,8)
    movl $0, boot_pd+4(,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jne 2b

    mov %cr4, %eax
    or $(CR4_PAE | CR4_PGE), %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE | CR0_WP | CR0_NE), %eax
    and $~(CR0_CD | CR0_NW | CR0_EM), %eax
    mov %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $GDT_KERNEL_CS, $long_entry

    .code64
long_entry:
    mov $GDT_KERNEL_DS, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    mov $(boot_stack + BOOT_STACK_SIZE), %rsp
    xor %ebp, %ebp
    mov %esi, %edi                  /* arg0: magic */
    mov %ebx, %esi                  /* arg1: info (physical = virtual) */
    call kmain
4:  cli
    hlt
    jmp 4b

    .section .data
    .balign 16
    .globl boot_gdt
boot_gdt:
    .quad 0                         /* null */
    .quad 0x00af9b000000ffff        /* 0x08: 64-bit code, DPL0 */
    .quad 0x00cf93000000ffff        /* 0x10: data, DPL0 */
    .quad 0, 0                      /* 0x18: TSS (filled by kernel/gdt.c) */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .bss
    .balign 4096
    .globl boot_pml4, boot_pdpt, boot_pd, boot_stack
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4 * 4096
boot_stack: .skip BOOT_STACK_SIZE
    .section .note.GNU-stack,"",@progbits
