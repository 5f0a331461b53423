/* The scheduler: which host CPU runs which vCPU, and when. Each VM is owned by
 * one host CPU at a time, which shares itself among the VMs it owns in
 * proportion to their weights (vmm/policy/sched_pick.h);
 * halted vCPUs sleep until an interrupt, an idle CPU is handed a VM by a busy
 * one (docs/smp.md, docs/interrupts.md). */
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "kernel/x86.h"
#include "vmm/exit.h"
#include "vmm/fpu.h"
#include "vmm/irq.h"
#include "vmm/msr.h"
#include "vmm/nics.h"
#include "vmm/sched.h"
#include "vmm/shadow.h"
#include "vmm/startup.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

/* Set by sched_run before the APs are let go (sched_go, release/acquire). */
static struct vm **vms;
static unsigned nvms;
static bool timer_running;
/* Test only (hv86.test=ap-panic): the last AP panics once the VMs run, to show
 * that a panic on one CPU stops all of them and is reported once. */
static bool test_ap_panic;
static volatile bool sched_go;        /* the VMs exist: the APs may run theirs */
static volatile unsigned aps_done;    /* APs whose VMs all ended */

/* Each VM is owned by one CPU at a time, which runs all its vCPUs: only the
 * owner touches the VM's state (its vCPUs, devices, memory map, shadow tables,
 * statistics), so that needs no lock. VMs start out in config order on the CPUs
 * in turn; ownership moves only by the owner handing the VM over (give_vm), so
 * vm->owner is written by the owner alone (docs/smp.md). */
static void place_vms(void)
{
    for (unsigned i = 0; i < nvms; i++)
        vms[i]->owner = (int)(i % ncpus);
}

/* The CPU that created or ran v is done with it: its FPU state and (VMX) its
 * VMCS leave this CPU, so the next CPU to run it may load it. */
static void vcpu_unload(struct vcpu *v)
{
    fpu_unload(v);
    vmm->vcpu_unload(v);
}

static bool vm_running(struct vm *vm)
{
    return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING;
}

static bool owns(struct vm *vm, int me)
{
    return __atomic_load_n(&vm->owner, __ATOMIC_ACQUIRE) == me;
}

/* Hand vm to CPU to (VM_NO_CPU: to nobody, it has ended): its vCPUs leave this
 * CPU first, then the release store publishes everything this CPU wrote to the
 * VM to the new owner, whose acquire load in owns() sees it; a kick wakes the
 * new owner from its idle HLT at once instead of at its next tick. */
static void give_vm(struct vm *vm, int to)
{
    for (unsigned k = 0; k < vm->nvcpus; k++)
        vcpu_unload(&vm->vcpus[k]);
    __atomic_store_n(&vm->owner, to, __ATOMIC_RELEASE);
    if (to != VM_NO_CPU)
        cpu_kick((unsigned)to);
}

/* An idle CPU other than me (it ran nothing in its last pass), or VM_NO_CPU. */
static int idle_cpu(int me)
{
    for (unsigned i = 0; i < ncpus; i++)
        if ((int)i != me && __atomic_load_n(&cpus[i].idle, __ATOMIC_ACQUIRE))
            return (int)i;
    return VM_NO_CPU;
}

static unsigned running_vms_owned(int me)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nvms; i++)
        n += vm_running(vms[i]) && owns(vms[i], me);
    return n;
}

/* Can v run now? It applies a pending INIT or SIPI first; a vCPU waiting for a
 * SIPI cannot; a halted one can once something wakes it (irq_wakes), else it
 * lowers *wake to its next timer deadline. */
static bool vcpu_runnable(struct vcpu *v, uint64_t *wake)
{
    if (v->init_pending || v->sipi_pending)
        startup_apply(v);
    if (v->wait_sipi)
        return false;
    if (v->halted) {
        uint64_t d = v->halted_if ? irq_next_deadline(v) : IRQ_NEVER;  /* before: see irq_hlt */
        if (!irq_wakes(v)) {
            *wake = d < *wake ? d : *wake;
            return false;
        }
        v->halted = false;
    }
    return true;
}

/* One turn of v, from now to end (time_ns; SCHED_NEVER: no end of its own):
 * its slice, measured from the start of this turn, not from a tick (or, without
 * a working timer, one exit). It also ends when its VM stops or it halts. A solo
 * turn (the only vCPU of the CPU that can run, others asleep, the tick off) ends
 * instead at a host interrupt (a sleeper's timer, a kick) or an interrupt
 * message in its VM, either of which may have woken another vCPU. The time it
 * ran is charged to the vCPU and its VM (vmm/policy/sched_pick.h). */
static void run_turn(struct vcpu *v, struct vcpu **last, bool solo, uint64_t start, uint64_t end)
{
    struct vm *vm = v->vm;
    struct vm_exit e;
    uint64_t events = vm->irq_events;
    vm->ran_on |= 1u << this_cpu()->index;
    this_cpu()->current = v;
    uint64_t t0 = rdtsc();
    fpu_switch_to(v);
    msr_switch_to(v);
    if (v != *last) {           /* the backend's own switch (VMPTRLD) is in vcpu_run */
        vm->switches++;
        vm->switch_cycles += rdtsc() - t0;
        *last = v;
    }
    irq_forget(v);              /* the others' entries re-armed the host timer; a VM
                                   handed over has its timers armed on another CPU */
    do {
        /* The slice's end is a host interrupt, an exit. Asked again before each
         * entry: an earlier wake-up (a guest timer's) that was pending when the
         * turn began has since fired and taken the request with it. */
        if (end != SCHED_NEVER)
            timer_wake_at(end);
        irq_prepare_entry(v);
        shadow_prepare_entry(v);
        fpu_enter_guest(v);
        vmm->vcpu_run(v, &e);
        fpu_leave_guest(v);
        exit_dispatch(v, &e);
    } while (vm->state == VM_RUNNING && !v->halted && !v->init_pending &&
             (end == SCHED_NEVER || time_ns() < end) && timer_running &&
             e.kind != EXIT_PREEMPT &&
             !(solo && (e.kind == EXIT_EXTINT || vm->irq_events != events ||
                        this_cpu()->resched)));
    this_cpu()->current = 0;
    uint64_t ns = time_ns() - start;
    v->run_ns += ns;
    vm->run_ns += ns;
    vm->vtime = sched_charge(vm->vtime, ns, vm->weight);
    sched_cap_charge(&v->cap, vm->cap, ns);
}

/* Can v run now, its cap allowing? If not only because of its cap, *wake is
 * lowered to when it may. */
static bool vcpu_ready(struct vcpu *v, uint64_t now, uint64_t *wake)
{
    if (!vcpu_runnable(v, wake))
        return false;
    struct vm *vm = v->vm;
    if (!vm->cap)
        return true;
    sched_cap_fill(&v->cap, vm->cap, now);
    uint64_t at = sched_cap_ready_at(&v->cap, vm->cap, now);
    if (at <= now)
        return true;
    *wake = at < *wake ? at : *wake;
    return false;
}

/* The proportional-share scheduler of the VMs this CPU owns (docs/smp.md,
 * "Scheduling"). Each decision: which vCPUs can run (a halted one is skipped
 * until something wakes it, vmm/irq.c; one in wait-for-SIPI until a SIPI starts
 * it; a capped one until its budget allows), then the VM with the least virtual
 * time among those that can (vmm/policy/sched_pick.c), then that VM's next
 * vCPU in turn, for one slice from the start of its own turn. When none can
 * run, the CPU sleeps until its next interrupt: the tick, the earliest guest
 * timer or cap refill (timer_wake_at). With one vCPU able to run the tick is
 * off and that vCPU's turn is solo (run_turn). A VM whose vCPUs all sleep with
 * no timer armed can never wake: it is stopped. The end of a VM (exit port,
 * power-off, stop) ends all its vCPUs, since they run only while it is
 * VM_RUNNING; it then leaves its CPU (give_vm to nobody). Load balance: after a
 * VM's turn, a CPU that owns two or more running VMs while another CPU is idle
 * hands that VM to the idle CPU. The loop ends when no VM runs anywhere: until
 * then a CPU without VMs may still be handed one. */
static uint64_t run_start;           /* time_ns() when the VMs started: ended_tick */

static void vm_ended(struct vm *vm)
{
    vm->ended_tick = timer_ticks_since(run_start);
    vm->ended_ns = time_ns() - run_start;
}
#define MAX_SCHED_VMS 64

/* The watchdog (config `watchdog = SECONDS`): progress is a device access, the
 * console's output among them; a VM without one for that long is stopped. The
 * count is looked at between turns, so a turn that made progress restarts the
 * wait from its end, and the turns of a VM with a watchdog end when it is due. */
static bool watchdog_bites(struct vm *vm, uint64_t now)
{
    if (!vm->watchdog_since || vm->stats.device_accesses != vm->watchdog_seen) {
        vm->watchdog_seen = vm->stats.device_accesses;
        vm->watchdog_since = now;
    }
    return now - vm->watchdog_since >= vm->watchdog_ns;
}

static uint64_t watchdog_due(const struct vm *vm)
{
    return vm->watchdog_since + vm->watchdog_ns;
}

static void run_cpu(void)
{
    struct vcpu *last = 0;
    struct cpu *c = this_cpu();
    int me = (int)c->index;
    struct sched_entity ent[MAX_SCHED_VMS];
    uint64_t clock = 0;              /* this CPU's virtual clock (sched_pick) */
    unsigned after = nvms - 1;       /* the VM picked last */
    for (bool any = true; any;) {
        any = false;
        c->resched = false;
        bool changed = false;
        uint64_t wake = IRQ_NEVER, now = time_ns();
        /* Who can run now, and the first timer of those asleep. The tick shares
         * this CPU between vCPUs: with at most one of them able to run it is
         * switched off, which saves that vCPU an exit every tick, and the
         * sleepers' timers are armed as wake-ups instead (a solo turn ends at
         * one: run_turn; docs/interrupts.md). A CPU without VMs keeps the tick,
         * to see the end of the run; one handed a VM is kicked. */
        unsigned owned = 0, ready = 0;
        for (unsigned i = 0; i < nvms; i++) {
            struct vm *vm = vms[i];
            ent[i] = (struct sched_entity){ 0 };
            if (!vm_running(vm))
                continue;
            any = true;
            if (!owns(vm, me))
                continue;
            if (vm->sched_cpu != me) {       /* new here: it starts at this CPU's clock */
                vm->sched_cpu = me;
                vm->vtime = clock;
                vm->sched_ready = false;
            }
            /* Frames other VMs sent it (vmm/nics.h), before it is judged ready: a
             * receive interrupt may wake it. */
            if (__atomic_exchange_n(&vm->net_rx_pending, 0, __ATOMIC_ACQ_REL))
                nics_receive(vm);
            if (vm->watchdog_ns && watchdog_bites(vm, now))
                vm_stop(vm, "watchdog: no console output or device access for %lu s",
                        (unsigned long)(vm->watchdog_ns / 1000000000ull));
            else if (vm->watchdog_ns && watchdog_due(vm) < wake)
                wake = watchdog_due(vm);        /* a solo turn or a sleep ends then */
            vm->sched_wake = IRQ_NEVER;
            unsigned n = 0;
            for (unsigned k = 0; k < vm->nvcpus; k++) {
                struct vcpu *v = &vm->vcpus[k];
                v->ready = vcpu_ready(v, now, &vm->sched_wake);
                n += v->ready;
            }
            if (!n && vm->sched_wake == IRQ_NEVER && vm->state == VM_RUNNING)
                vm_stop(vm, "all %u vCPUs halted or waiting for a SIPI with no interrupt "
                        "source armed to wake them", vm->nvcpus);
            if (vm->state != VM_RUNNING) {
                vm_ended(vm);
                give_vm(vm, VM_NO_CPU);
                changed = true;             /* no sleep: the next pass sees the change */
                continue;
            }
            ent[i] = (struct sched_entity){ vm->vtime, n > 0, vm->sched_ready };
            vm->sched_ready = n > 0;
            owned += vm->nvcpus;
            ready += n;
            wake = vm->sched_wake < wake ? vm->sched_wake : wake;
        }
        bool tick = !owned || ready > 1, solo = ready == 1 && owned > 1;
        timer_tick_enable(tick);
        if (!tick)
            timer_wake_at(wake);
        int pick = nvms ? sched_pick(ent, nvms, after, &clock) : -1;
        if (pick < 0) {
            if (any && !changed) {
                __atomic_store_n(&c->idle, true, __ATOMIC_RELEASE);
                if (timer_running) {
                    timer_wake_at(wake);
                    timer_idle();
                }
            }
            continue;
        }
        __atomic_store_n(&c->idle, false, __ATOMIC_RELEASE);
        after = (unsigned)pick;
        struct vm *vm = vms[pick];
        vm->vtime = ent[pick].vtime;
        struct vcpu *v = 0;
        for (unsigned j = 0; j < vm->nvcpus && !v; j++) {
            unsigned k = (vm->sched_next + j) % vm->nvcpus;
            if (vm->vcpus[k].ready)
                v = &vm->vcpus[k];
        }
        vm->sched_next = (v->id + 1) % vm->nvcpus;
        /* A slice only when another vCPU of this CPU can run: one that runs alone
         * keeps the CPU (no host interrupt for nothing: docs/interrupts.md) until
         * it halts, a sleeper wakes (solo), its cap or its watchdog. */
        uint64_t end = sched_turn_end(now, ready == 1, &v->cap, vm->cap);
        if (vm->watchdog_ns && watchdog_due(vm) < end)
            end = watchdog_due(vm);
        run_turn(v, &last, solo, now, end);
        if (vm->state != VM_RUNNING) {
            vm_ended(vm);
            give_vm(vm, VM_NO_CPU);
            continue;
        }
        int to = idle_cpu(me);
        if (to != VM_NO_CPU && running_vms_owned(me) >= 2) {
            vm->moves++;
            give_vm(vm, to);
            last = 0;
        }
    }
}

/* An AP: virtualization on, as on the BSP. */
static int ap_init(void)
{
    fpu_host_init();
    return vmm->cpu_init();
}

/* An AP: run its VMs once they exist, then leave VMX/SVM operation. */
static void ap_run(void)
{
    while (!sched_go)
        __asm__ volatile("pause");
    if (test_ap_panic && this_cpu()->index == ncpus - 1)
        panic("hv86.test=ap-panic: cpu %u panics while the VMs run", this_cpu()->index);
    run_cpu();
    vmm->cpu_fini();
    __atomic_fetch_add(&aps_done, 1, __ATOMIC_RELEASE);
}

const struct smp_hooks sched_ap_hooks = { .init = ap_init, .run = ap_run };

/* All VMs on all CPUs: the BSP created every vCPU, so it unloads them all first. */
void sched_run(struct vm **all, unsigned n, bool timer, bool ap_panic_test)
{
    if (n > MAX_SCHED_VMS)
        panic("sched: %u VMs, at most %u", n, MAX_SCHED_VMS);
    vms = all;
    nvms = n;
    timer_running = timer;
    test_ap_panic = ap_panic_test;
    run_start = time_ns();
    for (unsigned i = 0; i < nvms; i++)
        for (unsigned k = 0; k < vms[i]->nvcpus; k++)
            vcpu_unload(&vms[i]->vcpus[k]);
    place_vms();
    __atomic_store_n(&sched_go, true, __ATOMIC_RELEASE);
    run_cpu();
    while (__atomic_load_n(&aps_done, __ATOMIC_ACQUIRE) < ncpus - 1)
        __asm__ volatile("pause");
}
