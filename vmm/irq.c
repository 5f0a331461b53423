/* Interrupt delivery (vmm/irq.h): lines to the 8259 pair and the IOAPIC, APIC
 * messages to the local APICs (dev/lapic.c), and before each entry the choice of
 * the event to inject, through the backend's can_inject / request_window /
 * watch_tpr (vmm/vmm_ops.h). Priorities follow SDM Vol. 3A 6.9: an exception
 * the core queued (or an event an exit cut short) first, then NMI, then the
 * 8259's ExtINT, then the local APIC's highest presentable vector. */
#include "dev/lapic.h"
#include "kernel/timer.h"
#include "kernel/x86.h"
#include "vmm/insn.h"
#include "vmm/irq.h"
#include "vmm/platform.h"
#include "vmm/startup.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

#define ISA_IRQS        16
#define ISA_IRQ_TIMER   0
#define GSI_ISA_TIMER   2              /* the MADT's interrupt source override */
#define CR8_CLASS_MASK  0xFull         /* CR8 bits 3:0; 63:4 reserved (SDM Vol. 3A 2.5) */

static uint64_t clock_tsc(void) { return rdtsc(); }

/* The local APICs' clock: host time and the guest's TSC, which is the host's
 * (no TSC offset, RDTSC not intercepted). */
const struct lapic_clock irq_lapic_clock = { time_ns, clock_tsc, time_tsc_hz };

/* v's local APIC, with its TPR updated from the guest's CR8: MOV to CR8 does not
 * exit (SVM V_TPR, VMX TPR shadow), and hv86 writes the TPR's class to CR8 at
 * every change on its side, so a difference is the guest's write (11.8.6). */
static struct lapic *lapic_of(struct vcpu *v)
{
    struct lapic *l = platform_lapic(v);
    uint8_t cr8 = (uint8_t)vcpu_get(v, REG_CR8);
    if (cr8 != lapic_get_cr8(l))
        lapic_set_cr8(l, cr8);
    return l;
}

/* --- sources ------------------------------------------------------------------ */

void irq_event(struct vm *vm)
{
    vm->irq_events++;
}

void irq_deliver_lapic(struct vcpu *v, uint8_t vector, bool level)
{
    lapic_accept(platform_lapic(v), vector, level);
    irq_event(v->vm);
}

void irq_nmi(struct vcpu *v)
{
    v->nmi_pending = true;
    irq_event(v->vm);
}

static bool deliver_to(struct vcpu *v, const struct irq_msg *m)
{
    switch (m->mode) {
    case IRQ_DM_FIXED:
    case IRQ_DM_LOWEST:
        irq_deliver_lapic(v, m->vector, m->level);
        return true;
    case IRQ_DM_NMI:
        irq_nmi(v);
        return true;
    case IRQ_DM_INIT:
        startup_init(v);
        irq_event(v->vm);
        return true;
    case IRQ_DM_STARTUP:
        return startup_sipi(v, m->vector);
    default:                           /* SMI, ExtINT: no SMM, the 8259 is polled */
        return false;
    }
}

/* The targets are vCPUs of this VM only: a message never leaves its VM. */
static bool deliver_targets(struct vm *vm, const bool *target, const struct irq_msg *m)
{
    if (m->mode == IRQ_DM_LOWEST) {
        const struct lapic *cand[VM_MAX_VCPUS];
        struct vcpu *who[VM_MAX_VCPUS];
        unsigned n = 0;
        for (unsigned i = 0; i < vm->nvcpus; i++)
            if (target[i]) {
                cand[n] = platform_lapic(&vm->vcpus[i]);
                who[n++] = &vm->vcpus[i];
            }
        int k = lapic_lowest_priority(cand, n);
        return k >= 0 && deliver_to(who[k], m);
    }
    bool any = false;
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (target[i])
            any |= deliver_to(&vm->vcpus[i], m);
    return any;
}

bool irq_deliver(struct vm *vm, const struct irq_msg *m)
{
    bool target[VM_MAX_VCPUS];
    for (unsigned i = 0; i < vm->nvcpus; i++)
        target[i] = lapic_match(platform_lapic(&vm->vcpus[i]), m->dest, m->logical);
    return deliver_targets(vm, target, m);
}

/* SDM Vol. 3A 11.11.1-2: address bits 31:20 0xFEE, 19:12 destination ID, 3
 * redirection hint, 2 destination mode (1 logical); data bits 7:0 vector, 10:8
 * delivery mode, 15 trigger mode. PCI MSIs are edge-triggered in practice
 * (Linux never asks for a level MSI); the trigger bit is ignored. */
#define MSI_ADDR_REGION_MASK (~0xFFFFFull)
#define MSI_ADDR_DEST(a)     (((a) >> 12) & 0xFF)
#define MSI_ADDR_LOGICAL     (1u << 2)
#define MSI_DATA_VECTOR(d)   ((d) & 0xFF)
#define MSI_DATA_MODE(d)     (((d) >> 8) & 0x7)

bool irq_msi(struct vm *vm, uint64_t address, uint32_t data)
{
    if ((address & MSI_ADDR_REGION_MASK) != LAPIC_BASE)
        return false;
    struct irq_msg m = { .dest = (uint32_t)MSI_ADDR_DEST(address),
                         .logical = address & MSI_ADDR_LOGICAL,
                         .mode = (uint8_t)MSI_DATA_MODE(data),
                         .vector = (uint8_t)MSI_DATA_VECTOR(data) };
    irq_event(vm);
    irq_deliver(vm, &m);
    return true;
}

void irq_set_isa(struct vm *vm, unsigned irq, bool high)
{
    if (irq >= ISA_IRQS)
        return;
    irq_event(vm);
    if (vm->irq.pic_set_irq)
        vm->irq.pic_set_irq(vm, irq, high);
    if (vm->irq.ioapic_set_irq)
        vm->irq.ioapic_set_irq(vm, irq == ISA_IRQ_TIMER ? GSI_ISA_TIMER : irq, high);
}

void irq_set_gsi(struct vm *vm, unsigned gsi, bool high)
{
    irq_event(vm);
    if (vm->irq.ioapic_set_irq)
        vm->irq.ioapic_set_irq(vm, gsi, high);
    if (!vm->irq.pic_set_irq || gsi == 0 || gsi >= ISA_IRQS)
        return;
    vm->irq.pic_set_irq(vm, gsi == GSI_ISA_TIMER ? ISA_IRQ_TIMER : gsi, high);
}

/* --- the local APIC's registers --------------------------------------------- */

/* An ICR write (11.6.1): to the vCPUs of the sender's VM the ICR names
 * (lapic_ipi_reaches). An INIT level de-assert does nothing (11.6.1, "Level"):
 * only its assert resets the target. Delivery is immediate, so the delivery
 * status bit always reads idle. */
static void send_ipi(struct vcpu *v, struct lapic *l, uint32_t lo)
{
    struct irq_msg m = {
        .mode = (uint8_t)((lo & APIC_ICR_DM) >> APIC_ICR_DM_SHIFT),
        .vector = (uint8_t)(lo & APIC_VECTOR_MASK),
    };
    if (m.mode == IRQ_DM_INIT && !(lo & APIC_ICR_ASSERT))
        return;
    struct vm *vm = v->vm;
    bool target[VM_MAX_VCPUS];
    for (unsigned i = 0; i < vm->nvcpus; i++)
        target[i] = lapic_ipi_reaches(l, platform_lapic(&vm->vcpus[i]));
    deliver_targets(vm, target, &m);
}

/* What an access left for the rest of the machine: an IPI, an EOI broadcast,
 * and the TPR's class for the guest's CR8. */
static void after_access(struct vcpu *v, struct lapic *l)
{
    uint32_t icr_lo;
    if (lapic_take_ipi(l, &icr_lo))
        send_ipi(v, l, icr_lo);
    int eoi = lapic_take_eoi(l);
    if (eoi >= 0 && v->vm->irq.ioapic_eoi)
        v->vm->irq.ioapic_eoi(v->vm, (uint8_t)eoi);
    vcpu_set(v, REG_CR8, lapic_get_cr8(l));
}

/* The xAPIC page. While the APIC is disabled or in x2APIC mode it is no device's
 * (SDM Vol. 3A 11.12.2: as if globally disabled), and an access to it stops the
 * VM like any other address outside RAM and devices (docs/platform.md). */
enum bus_result irq_lapic_mmio(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val)
{
    struct lapic *l = lapic_of(v);
    uint32_t off = (uint32_t)offset, r = 0;
    (void)dev;
    bool ok = write ? lapic_mmio_write(l, off, size, (uint32_t)*val)
                    : lapic_mmio_read(l, off, size, &r);
    if (!ok) {
        vm_stop(v->vm, "%s of the xAPIC page at gpa=%#lx rip=%#lx while the APIC is %s",
                write ? "write" : "read", LAPIC_BASE + offset, vcpu_get(v, REG_RIP),
                lapic_mode(l) == APIC_MODE_DISABLED ? "disabled" : "in x2APIC mode");
        return BUS_REFUSED;
    }
    if (!write)
        *val = r;
    after_access(v, l);
    return BUS_OK;
}

static enum bus_result lapic_msr(struct vcpu *v, uint32_t index, bool write, uint64_t *val)
{
    struct lapic *l = lapic_of(v);
    bool ok = write ? lapic_msr_write(l, index, *val) : lapic_msr_read(l, index, val);
    after_access(v, l);
    return ok ? BUS_OK : BUS_REFUSED;
}

enum bus_result irq_lapic_base_msr(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                   bool write, uint64_t *val)
{
    (void)dev; (void)offset; (void)size;
    return lapic_msr(v, LAPIC_MSR_BASE, write, val);
}

enum bus_result irq_lapic_deadline_msr(void *dev, struct vcpu *v, uint64_t offset,
                                       unsigned size, bool write, uint64_t *val)
{
    (void)dev; (void)offset; (void)size;
    return lapic_msr(v, LAPIC_MSR_TSC_DEADLINE, write, val);
}

enum bus_result irq_x2apic_msr(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                               bool write, uint64_t *val)
{
    (void)dev; (void)size;
    return lapic_msr(v, X2APIC_MSR_FIRST + (uint32_t)offset, write, val);
}

bool irq_write_cr8(struct vcpu *v, uint64_t val)
{
    if (val & ~CR8_CLASS_MASK)
        return false;
    lapic_set_cr8(lapic_of(v), (uint8_t)val);
    vcpu_set(v, REG_CR8, val);         /* the intercepted write did not reach it */
    return true;
}

/* --- choosing what to inject ------------------------------------------------ */

/* The timers of v's VM up to now: the LAPIC timer, and the device timers when
 * their deadline has come or a guest access changed them. Returns the device
 * timers' next deadline. */
static uint64_t poll_timers(struct vcpu *v, struct lapic *l)
{
    lapic_timer_poll(l);
    struct vm *vm = v->vm;
    if (!vm->irq.timers)
        return IRQ_NEVER;
    uint64_t now = time_ns();
    if (now >= vm->timers_due)
        vm->timers_due = vm->irq.timers(vm, now);
    return vm->timers_due;
}

void irq_timers_changed(struct vm *vm)
{
    vm->timers_due = 0;
}

static bool extint_pending(struct vcpu *v, const struct lapic *l)
{
    struct vm *vm = v->vm;
    return lapic_extint(l) && vm->irq.pic_intr && vm->irq.pic_intr(vm);
}

static bool intr_pending(struct vcpu *v, const struct lapic *l)
{
    return extint_pending(v, l) || lapic_highest(l) >= 0;
}

bool irq_pending(struct vcpu *v)
{
    struct lapic *l = lapic_of(v);
    poll_timers(v, l);
    return v->nmi_pending || intr_pending(v, l);
}

uint64_t irq_next_deadline(struct vcpu *v)
{
    struct lapic *l = platform_lapic(v);
    uint64_t dev = poll_timers(v, l), apic = lapic_timer_next(l);
    return dev < apic ? dev : apic;
}

static void inject(struct vcpu *v, enum event_type type, uint8_t vector)
{
    v->pending = (struct event){ .type = type, .vector = vector };
    v->event_pending = true;
}

/* The TPR class to watch: that of the highest IRR vector if the TPR holds it
 * back, so that a MOV to CR8 that lets it through exits. (An in-service vector
 * holding it back ends with an EOI, which always exits.) */
static uint8_t tpr_watch_class(const struct lapic *l)
{
    int irr = lapic_highest_irr(l);
    if (irr < 0 || lapic_highest(l) >= 0)
        return 0;
    unsigned class = APIC_PRIO_CLASS((unsigned)irr);
    return class > APIC_PRIO_CLASS(lapic_tpr(l)) ? 0 : (uint8_t)class;
}

/* An interrupt about to be injected at a HLT, after an exit the guest's own
 * instruction did not cause (a host interrupt, an interrupt window, a VMX
 * preemption), is injected after it: the HLT completes first and ends at once.
 * The guest cannot tell (the interrupt might as well have come just after the
 * HLT began), and it keeps "sti; hlt" atomic (SDM Vol. 3A 6.8.3) where the CPU
 * does not: QEMU's TCG saves the STI shadow in the VMCB at #VMEXIT but does not
 * load it at VMRUN. When a host interrupt exits the guest between its STI and
 * HLT, the shadow is lost on re-entry: the VINTR exit (or the next host
 * interrupt) comes before the HLT, the interrupt was injected at the HLT and its
 * handler returned to it, and the guest slept with the interrupt it waited for
 * already taken: "halted ... with no interrupt source armed" (apictimer-x2[svm]:
 * the host interrupt was the guest timer's own wake-up). */
static void step_over_hlt(struct vcpu *v)
{
    if (!v->irq_async_exit)
        return;                        /* RIP follows an instruction that exited */
    uint64_t rip = vcpu_get(v, REG_RIP);
    unsigned len = insn_hlt_length(v, rip);
    if (len)
        vcpu_set(v, REG_RIP, rip + len);
}

void irq_forget(struct vcpu *v)
{
    v->irq_quiet = false;
}

/* The full pass, out of line so that the fast path below costs no register
 * saves. */
static __attribute__((noinline)) void prepare_entry_full(struct vcpu *v)
{
    v->irq_events_seen = v->vm->irq_events;
    v->irq_timer_seen = timer_cpu_interrupts();
    struct lapic *l = platform_lapic(v);
    uint64_t next = poll_timers(v, l);
    if (!lapic_irr_empty(l))           /* the TPR matters only for what is in IRR */
        lapic_of(v);
    bool intr = intr_pending(v, l);
    if (!v->event_pending) {
        if (v->nmi_pending && vmm->can_inject(v, EVENT_NMI)) {
            inject(v, EVENT_NMI, EXC_NMI);
            v->nmi_pending = false;
        } else if (intr && vmm->can_inject(v, EVENT_EXTINT)) {
            step_over_hlt(v);
            /* The 8259's INTA, else the APIC's: IRR to ISR (11.8.4). */
            if (extint_pending(v, l)) {
                inject(v, EVENT_EXTINT, v->vm->irq.pic_intack(v->vm));
            } else {
                uint8_t vector = (uint8_t)lapic_highest(l);
                lapic_ack(l, vector);
                inject(v, EVENT_EXTINT, vector);
            }
            intr = intr_pending(v, l);
        }
    }
    vmm->request_window(v, EVENT_NMI, v->nmi_pending);
    vmm->request_window(v, EVENT_EXTINT, intr);
    uint8_t watch = intr ? 0 : tpr_watch_class(l);
    vmm->watch_tpr(v, watch);
    v->irq_quiet = !v->event_pending && !v->nmi_pending && !intr && !watch;
    /* The host's timer comes back for the next expiry while the guest runs. */
    uint64_t apic = lapic_timer_next(l);
    timer_wake_at(next < apic ? next : apic);
}

/* The fast path: when the last full pass found nothing to inject, no window to
 * ask for and no TPR to watch, and since then v's exits touched no interrupt
 * state (CPUID, CR0/CR3/CR4, shadow page faults: irq_note_exit), no
 * interrupt line or message reached its VM and no host timer interrupt came, the
 * result would be the same: the backend's window and TPR settings hold, and the
 * host timer is still armed for the earliest guest timer. A host interrupt that
 * came is an exit of its own (EXIT_EXTINT, which makes a full pass); the
 * timer_cpu_interrupts check keeps that true should one ever be taken inside
 * another exit's handling, where it would use up a guest timer's wake-up. */
void irq_prepare_entry(struct vcpu *v)
{
    if (!v->irq_quiet || v->irq_events_seen != v->vm->irq_events ||
        v->irq_timer_seen != timer_cpu_interrupts() || v->event_pending)
        prepare_entry_full(v);
}

void irq_hlt(struct vcpu *v, uint64_t rip)
{
    if (v->nmi_pending)
        return;                        /* an NMI wakes it at once */
    bool smp = v->vm->nvcpus > 1;
    v->halted_if = vcpu_get(v, REG_RFLAGS) & RFLAGS_IF;
    if (!v->halted_if) {
        /* Only an NMI, INIT or SMI ends this HLT: with one vCPU none can come;
         * with several, another vCPU may send one (an AP parked by "cli; hlt"). */
        if (smp) {
            v->halted = true;
            return;
        }
        vm_stop(v->vm, "halted at rip=%#lx with interrupts disabled", rip);
        return;
    }
    /* The deadline first: a timer that expires between the two calls is then
     * pending, not forgotten. */
    uint64_t next = irq_next_deadline(v);
    if (irq_pending(v))
        return;
    if (next == IRQ_NEVER && !smp) {
        vm_stop(v->vm, "halted at rip=%#lx with no interrupt source armed to wake it", rip);
        return;
    }
    v->halted = true;
}

bool irq_wakes(struct vcpu *v)
{
    if (v->nmi_pending || v->init_pending)
        return true;
    if (!v->halted_if)
        return false;
    return irq_pending(v);
}
