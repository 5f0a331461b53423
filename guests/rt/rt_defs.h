/* Constants shared by the runtime's C and assembly (so no C syntax here). */
#ifndef GUESTS_RT_RT_DEFS_H
#define GUESTS_RT_RT_DEFS_H

/* GDT selectors (guests/rt/entry.S) */
#define RT_SEL_CODE32 0x08
#define RT_SEL_DATA32 0x10
#define RT_SEL_CODE16 0x18   /* base 0, limit 64 KiB: for the way to real mode */
#define RT_SEL_DATA16 0x20
#define RT_SEL_CODE64 0x28   /* L=1: long mode */

/* For rt_call64 (SDM Vol. 3A 2.5, 2.2.1) */
#define RT_CR0_PG    0x80000000
#define RT_CR4_PAE   0x20
#define RT_MSR_EFER  0xC0000080
#define RT_EFER_LME  0x100
#endif
