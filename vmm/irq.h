/* Interrupt delivery to vCPUs, vendor-neutral (the contract between the
 * interrupt controllers in dev/ and the core). Sources call these; the core
 * injects at the next entry when the guest can take the interrupt, or asks the
 * backend for an interrupt-window exit when it cannot yet. */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

/* A fixed-mode interrupt for v's local APIC (IOAPIC message, IPI, LVT).
 * level: level-triggered (TMR set; EOI is broadcast to the IOAPIC). */
void irq_deliver_lapic(struct vcpu *v, uint8_t vector, bool level);
/* A GSI input of the VM changed: IOAPIC pin gsi, and for gsi < 16 also the
 * 8259 pair's IRQ line (PC routing; ISA IRQ 0 is IOAPIC pin 2, by the MADT's
 * interrupt source override). */
void irq_set_gsi(struct vm *vm, unsigned gsi, bool high);
/* An NMI for v. */
void irq_nmi(struct vcpu *v);
/* Called by the run loop before each entry of v: choose the event to inject
 * (pending exception first, then NMI, then the highest-priority interrupt the
 * guest can take), or request an interrupt window. */
void irq_prepare_entry(struct vcpu *v);
/* True if v has an interrupt or NMI it could take (HLT wakes up). */
bool irq_pending(struct vcpu *v);
#endif
