/* The host's local APIC: register access in either mode, and IPIs. */
#include "kernel/host_apic.h"
#include "kernel/x86.h"

#define X2APIC_MSR(off) (0x800u + ((off) >> 4))
#define X2APIC_ICR      0x830u               /* one 64-bit ICR (11.12.9) */
#define XAPIC_ID_SHIFT  24

static int x2apic;

void host_apic_init(void)
{
    x2apic = (rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD) != 0;
    host_apic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
}

uint32_t host_apic_read(uint32_t off)
{
    if (x2apic)
        return (uint32_t)rdmsr(X2APIC_MSR(off));
    return *(volatile uint32_t *)((uintptr_t)LAPIC_BASE + off);
}

void host_apic_write(uint32_t off, uint32_t v)
{
    if (x2apic)
        wrmsr(X2APIC_MSR(off), v);
    else
        *(volatile uint32_t *)((uintptr_t)LAPIC_BASE + off) = v;
}

uint32_t host_apic_id(void)
{
    uint32_t id = host_apic_read(LAPIC_ID);
    return x2apic ? id : id >> XAPIC_ID_SHIFT;
}

void host_apic_eoi(void) { host_apic_write(LAPIC_EOI, 0); }

void host_apic_send_ipi(uint32_t apic_id, uint32_t icr_lo)
{
    if (x2apic) {
        wrmsr(X2APIC_ICR, ((uint64_t)apic_id << 32) | icr_lo);
        return;
    }
    host_apic_write(LAPIC_ICR_HI, apic_id << XAPIC_ID_SHIFT);
    host_apic_write(LAPIC_ICR_LO, icr_lo);        /* this write sends it */
    while (host_apic_read(LAPIC_ICR_LO) & ICR_SEND_PENDING)
        __asm__ volatile("pause");
}
