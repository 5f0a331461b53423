/* Interrupt delivery to vCPUs, vendor-neutral: the contract between the
 * interrupt controllers in dev/ (IOAPIC, 8259 pair), the devices that raise
 * lines (PIT, RTC, UART, PCI), the local APICs and the core (vmm/irq.c).
 *
 * Flow: a device changes a line with irq_set_isa() or irq_set_gsi(); that goes
 * to the 8259 pair and the IOAPIC through the VM's hooks (struct irq_hooks,
 * filled by vmm/platform.c). The IOAPIC turns a pin into an APIC message and
 * calls irq_deliver(); the local APIC of each vCPU it names accepts it into its
 * IRR. The 8259 pair is polled: its INT output reaches the BSP's LINT0 (virtual
 * wire, LVT LINT0 in ExtINT mode, or the APIC disabled), and the vector comes
 * from its INTA cycle at injection. Before each entry irq_prepare_entry() picks
 * the event (a pending exception first, then NMI, then the highest-priority
 * interrupt), injects it if the guest can take it, else asks the backend for an
 * interrupt window. A level-triggered vector's EOI calls hooks.ioapic_eoi (the
 * EOI broadcast, SDM Vol. 3A 11.8.5).
 *
 * An IPI (an ICR write) goes to the vCPUs of the sender's VM only; INIT and
 * STARTUP mark the target (vmm/startup.h), which applies them before it runs.
 *
 * Everything runs on the one host CPU with host interrupts off: no locking. */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"
#include "vmm/exit.h"
#include "vmm/vcpu.h"

struct vm;

#define IRQ_NEVER UINT64_MAX       /* "no deadline" for the timer hooks */

/* Delivery modes of an APIC message: ICR bits 10:8 (SDM Vol. 3A 11.6.1), the
 * same encoding as an IOAPIC redirection entry's and MSI data's. */
enum irq_delivery {
    IRQ_DM_FIXED = 0, IRQ_DM_LOWEST = 1, IRQ_DM_SMI = 2, IRQ_DM_NMI = 4,
    IRQ_DM_INIT = 5, IRQ_DM_STARTUP = 6, IRQ_DM_EXTINT = 7,
};

/* An interrupt message on the APIC bus: from an IOAPIC redirection entry, an
 * MSI or an IPI. */
struct irq_msg {
    uint32_t dest;          /* physical: APIC ID (0xFF, x2APIC 0xFFFFFFFF: all);
                             * logical: message destination address (11.6.2.2) */
    bool logical;           /* destination mode */
    uint8_t mode;           /* enum irq_delivery */
    uint8_t vector;
    bool level;             /* level-triggered: TMR set, the EOI is broadcast */
};

/* --- what devices and interrupt controllers call --------------------------- */

/* Deliver m to every local APIC of vm it names (11.6.2); true if one accepted
 * it. Lowest priority goes to one of them: the lowest PPR, ties to the lowest
 * APIC ID (lapic_lowest_priority). Fixed, lowest priority, NMI, INIT and
 * STARTUP are delivered (INIT and SIPI through vmm/startup.h); SMI and ExtINT
 * messages are dropped (no SMM; the 8259 reaches LINT0 by polling). */
bool irq_deliver(struct vm *vm, const struct irq_msg *m);
/* A message-signalled interrupt (MSI, MSI-X): the memory write a PCI device makes,
 * address and data as SDM Vol. 3A 11.11 lays them out. False (and nothing
 * delivered) for an address outside the local APICs' 0xFEExxxxx range. */
bool irq_msi(struct vm *vm, uint64_t address, uint32_t data);
/* A fixed-mode interrupt for v's local APIC (what irq_deliver does per APIC).
 * level: level-triggered (TMR set; its EOI calls hooks.ioapic_eoi). */
void irq_deliver_lapic(struct vcpu *v, uint8_t vector, bool level);
/* An NMI for v: taken once the guest has no NMI in service. */
void irq_nmi(struct vcpu *v);
/* An ISA IRQ line (0-15) changed level: the 8259 pair's IRQ irq and the IOAPIC
 * pin of its GSI (ISA IRQ 0 is GSI 2, by the MADT's interrupt source override;
 * the others are identity-mapped). Edge-triggered devices pulse: high, then low. */
void irq_set_isa(struct vm *vm, unsigned irq, bool high);
/* A GSI (IOAPIC pin) changed level. A GSI that is an ISA IRQ's drives that
 * 8259 line too: GSI 2 is ISA IRQ 0, GSIs 1 and 3-15 the ISA IRQ of the same
 * number; GSI 0 and GSIs from 16 up reach the IOAPIC only. */
void irq_set_gsi(struct vm *vm, unsigned gsi, bool high);

/* The VM's interrupt controllers besides the local APICs, and its device
 * timers: vmm/platform.c fills vm->irq at platform_attach. A NULL hook is a
 * device that is not there. */
struct irq_hooks {
    /* IOAPIC: the input level of pin changed. */
    void (*ioapic_set_irq)(struct vm *vm, unsigned pin, bool high);
    /* IOAPIC: a local APIC took the EOI of level-triggered vector (11.8.5 EOI
     * broadcast): clear Remote IRR of the pins with this vector, and if a pin's
     * line is still high, deliver it again. */
    void (*ioapic_eoi)(struct vm *vm, uint8_t vector);
    /* 8259 pair: the input level of IRQ irq (0-15) changed. */
    void (*pic_set_irq)(struct vm *vm, unsigned irq, bool high);
    /* 8259 pair: the master's INT output, without side effects (polled before
     * each entry and while the vCPU halts). */
    bool (*pic_intr)(struct vm *vm);
    /* 8259 pair: the INTA cycle, called only right after pic_intr returned
     * true: the vector, and the request moves from IRR to ISR. */
    uint8_t (*pic_intack)(struct vm *vm);
    /* Device timers (PIT, RTC): bring the devices up to now_ns (time_ns()),
     * raising their lines for what has expired, and return the next time_ns()
     * they need this call, or IRQ_NEVER. Called before an entry once that time
     * has come, or after irq_timers_changed(). */
    uint64_t (*timers)(struct vm *vm, uint64_t now_ns);
};

/* A guest access changed a device timer (it reprogrammed the PIT, read RTC
 * register C, ...): call hooks.timers again before the next entry, whatever
 * deadline it returned last. */
void irq_timers_changed(struct vm *vm);

/* --- what the core calls ----------------------------------------------------- */

/* Before each entry of v: timers, TPR/CR8, then inject the event the guest can
 * take now (pending exception first, then NMI, then the highest-priority
 * interrupt), and request an interrupt or NMI window for what must wait. */
void irq_prepare_entry(struct vcpu *v);
/* Something reached the VM's interrupt controllers (a line, a message, an INIT
 * or SIPI): every vCPU's next entry looks again (irq_prepare_entry's fast path),
 * and a solo turn ends (vmm/sched.c). */
void irq_event(struct vm *vm);
/* The next irq_prepare_entry(v) makes its full pass (another vCPU ran since, or
 * v's exit touched interrupt state). */
void irq_forget(struct vcpu *v);
/* v exited with kind. Most exits may change what irq_prepare_entry decides (a
 * device access, a CR8 write, the host's interrupt at a guest timer's deadline,
 * a HLT, ...), so the next entry makes its full pass. CPUID, CR accesses and
 * exceptions touch no interrupt state as a rule and keep the fast path; the
 * dispatcher calls irq_forget after one that did after all (a CR8 write, a
 * shadow page fault that reached a device; an exception injected makes a full
 * pass anyway). An exit its instruction did not cause (a host interrupt, a
 * window, a VMX preemption) may have stopped the guest at a HLT
 * (step_over_hlt). Inline: on every exit. */
#define IRQ_KEEPS_QUIET ((1u << EXIT_CPUID) | (1u << EXIT_CR_ACCESS) | (1u << EXIT_EXCEPTION))
#define IRQ_ASYNC_EXITS ((1u << EXIT_EXTINT) | (1u << EXIT_INTR_WINDOW) | (1u << EXIT_PREEMPT))
_Static_assert(EXIT_KIND_COUNT <= 32, "exit kinds as bits of a uint32_t");
static inline void irq_note_exit(struct vcpu *v, enum exit_kind kind)
{
    uint32_t bit = 1u << kind;
    if (!(bit & IRQ_KEEPS_QUIET))
        v->irq_quiet = false;
    v->irq_async_exit = bit & IRQ_ASYNC_EXITS;
}

/* True if v has an NMI or an interrupt its local APIC would present now (HLT
 * wakes up). Brings the timers up to date first. */
bool irq_pending(struct vcpu *v);
/* v executed HLT (RIP is past it): it sleeps (v->halted) until irq_wakes(v).
 * With one vCPU, if nothing can ever wake it (interrupts disabled and no NMI
 * pending, or no timer armed), the VM is stopped with the reason; with several,
 * another vCPU may still send it an IPI, and the scheduler stops the VM once
 * all its vCPUs sleep with nothing armed. */
void irq_hlt(struct vcpu *v, uint64_t rip);
/* Does something end v's HLT now: an NMI, an INIT, or (if it halted with
 * interrupts enabled) an interrupt its local APIC or the 8259 presents. */
bool irq_wakes(struct vcpu *v);
/* The earliest time_ns() at which a timer of v's VM (its LAPIC timer, the
 * device timers) may raise an interrupt; IRQ_NEVER if none is armed. */
uint64_t irq_next_deadline(struct vcpu *v);
/* A guest MOV to CR8 the backend intercepted (the TPR, SDM Vol. 3A 11.8.6):
 * false if reserved bits are set (#GP). */
bool irq_write_cr8(struct vcpu *v, uint64_t val);

/* --- the local APIC glue (vmm/platform.c registers them) -------------------- */

/* The clock of every local APIC model (struct lapic's clock): time_ns() and the
 * guest's TSC. */
struct lapic_clock;
extern const struct lapic_clock irq_lapic_clock;

/* Bus handlers (dev/bus.h) of the xAPIC page and of the APIC MSRs:
 * IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range. Each vCPU reaches its
 * own local APIC; dev is unused. */
enum bus_result irq_lapic_mmio(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val);
enum bus_result irq_lapic_base_msr(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                   bool write, uint64_t *val);
enum bus_result irq_lapic_deadline_msr(void *dev, struct vcpu *v, uint64_t offset,
                                       unsigned size, bool write, uint64_t *val);
enum bus_result irq_x2apic_msr(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val);
#endif
