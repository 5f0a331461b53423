/* Multiboot headers: v1 for QEMU's -kernel, v2 for GRUB (multiboot2).
 * Multiboot 0.6.96 section 3.1; Multiboot2 1.6 section 3.1. */
#include "arch/multiboot.h"

    .section .multiboot1, "a"
    .balign 4
mb1_header:
    .long MB1_HEADER_MAGIC
    .long MB1_FLAGS
    .long -(MB1_HEADER_MAGIC + MB1_FLAGS)
    /* Address fields (flag bit 16): QEMU loads the file flat from these. */
    .long mb1_header            /* header_addr */
    .long _image_start          /* load_addr */
    .long _data_end             /* load_end_addr */
    .long _image_end            /* bss_end_addr */
    .long _start                /* entry_addr */

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_HEADER_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    .balign 8                   /* end tag */
    .word 0
    .word 0
    .long 8
mb2_header_end:
    .section .note.GNU-stack,"",@progbits
