/* Host SMP: start every CPU the ACPI MADT lists (INIT-SIPI-SIPI, SDM Vol. 3A
 * 8.4.4.1) through the real-mode trampoline of kernel/ap_boot.S. docs/smp.md. */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

/* Where the trampoline is copied: a 4 KiB page below 1 MiB, whose page number is
 * the SIPI vector (8.4.4.1: the AP starts at CS = vector << 8, IP = 0). */
#define AP_BOOT_PA     0x7000
#define AP_BOOT_VECTOR (AP_BOOT_PA >> 12)
/* The trampoline's own GDT: the kernel's 64-bit code and data (as boot/entry.S),
 * and a 32-bit code segment for the protected-mode step. */
#define AP_BOOT_CS32   0x18

#ifndef __ASSEMBLER__
/* What the VMM does on each AP: init (virtualization on; 0 = success) once the
 * CPU runs on its own GDT, stack, IDT and tick; then run (until it returns, then
 * the CPU halts). */
struct smp_hooks {
    int (*init)(void);
    void (*run)(void);
};
/* Start the APs, one at a time, each up to its init; max_cpus bounds the CPUs
 * online, the BSP included. Needs the calibrated timer (the start-up delays). */
void smp_boot(const struct smp_hooks *hooks, unsigned max_cpus);
#endif
#endif
