/* The VMCB's intercepts and the MSR permission map; why each is there is in
 * docs/security.md (isolation) and docs/architecture.md (emulation). */
#include <stddef.h>
#include "arch/x86.h"
#include "vmm/svm/vmcb_intercepts_pure.h"

void vmcb_set_intercepts(struct vmcb_control *c, bool shadow)
{
    /* CR0 and CR4 writes go through the core's checks: QEMU's SVM lets reserved
     * bits through and then refuses the next VMRUN, where hardware gives #GP. */
    c->intercept_cr = INTERCEPT_CR_WRITE(0) | INTERCEPT_CR_WRITE(4);
    /* Debug registers: every MOV DR exits until the guest first touches one
     * (svm_dr_passthrough); #DB and #AC are intercepted so that no exception
     * can loop inside the CPU (CVE-2015-8104, CVE-2015-5307), and reflected;
     * INVD is never the guest's to execute (docs/security.md). */
    c->intercept_dr = INTERCEPT_DR0_7;
    c->intercept_exceptions = (1u << EXC_DB) | (1u << EXC_AC);
    c->intercept_misc1 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_SMI | INTERCEPT_INIT |
                         INTERCEPT_CPUID | INTERCEPT_HLT | INTERCEPT_INVLPGA |
                         INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN |
                         INTERCEPT_INVD;
    /* SVM instructions give #UD (no nested virtualization); XSETBV because SVM does
     * not switch XCR0 (the core keeps the guest's); MONITOR/MWAIT are not offered;
     * WBINVD is a no-op for a guest (its RAM is write-back, no DMA; as KVM) and
     * carries INVD on QEMU before 8.1 (svm_exit.c). */
    c->intercept_misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
                         INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI |
                         INTERCEPT_SKINIT | INTERCEPT_XSETBV | INTERCEPT_MONITOR |
                         INTERCEPT_MWAIT | INTERCEPT_WBINVD;
    if (shadow) {
        /* Shadow paging (APM Vol. 2 15.12, 15.13): the guest's paging registers
         * are the core's, its #PF and INVLPG feed the shadow tables. */
        c->intercept_cr |= INTERCEPT_CR_READ(0) | INTERCEPT_CR_READ(3) | INTERCEPT_CR_READ(4) |
                           INTERCEPT_CR_WRITE(3);
        c->intercept_exceptions |= 1u << EXC_PF;
        c->intercept_misc1 |= INTERCEPT_INVLPG;
    }
}

/* MSRs the guest reaches directly: those VMLOAD/VMSAVE switch (APM Vol. 2 15.5.2).
 * Every other MSR is intercepted and goes through the core's MSR policy. */
static const uint32_t msr_passthrough[] = {
    MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
    MSR_SFMASK, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
};

/* The MSR permission map: 2 bits (read, write) per MSR in three 2 KiB ranges
 * (APM Vol. 2 15.11, Table 15-5); an MSR outside them always exits. Returns the
 * bit of the read permission, or -1. */
static long msrpm_bit(uint32_t msr)
{
    uint32_t base;
    if (msr <= 0x1FFF)
        base = 0;
    else if (msr >= 0xC0000000u && msr <= 0xC0001FFFu)
        base = 0x800;
    else if (msr >= 0xC0010000u && msr <= 0xC0011FFFu)
        base = 0x1000;
    else
        return -1;
    return (long)base * 8 + 2 * (msr & 0x1FFF);
}

void svm_msrpm_init(uint8_t *pm)
{
    for (size_t i = 0; i < MSRPM_SIZE; i++)
        pm[i] = 0xFF;
    for (size_t i = 0; i < sizeof msr_passthrough / sizeof msr_passthrough[0]; i++) {
        long bit = msrpm_bit(msr_passthrough[i]);
        pm[bit / 8] &= (uint8_t)~(3u << (bit % 8));
    }
}

bool svm_msrpm_intercepts(const uint8_t *pm, uint32_t msr, bool write)
{
    long bit = msrpm_bit(msr);
    if (bit < 0)
        return true;
    bit += write;
    return pm[bit / 8] >> (bit % 8) & 1;
}
