/* The hypervisor's top level: choose the backend by probing (never by vendor
 * name), print the banner, start the other CPUs, create the VMs of the
 * configuration module, run them on the CPUs until all have ended, print a
 * summary, and leave VMX/SVM operation on every CPU. docs/smp.md has the
 * placement of VMs on CPUs and the locking. */
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/smp.h"
#include "kernel/serial.h"
#include "kernel/string.h"
#include "kernel/timer.h"
#include "kernel/trap.h"
#include "kernel/x86.h"
#include "lib/config.h"
#include "lib/format.h"
#include "loader/linux_boot.h"
#include "loader/multiboot_guest.h"
#include "vmm/exit.h"
#include "vmm/fpu.h"
#include "vmm/hv.h"
#include "vmm/irq.h"
#include "vmm/platform.h"
#include "vmm/shadow.h"
#include "vmm/startup.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

#define HV_VERSION "0.1"
#define CONFIG_MODULE "hv86.cfg"
#define MAX_VMS 16
#define BOCHS_SHUTDOWN_PORT 0x8900   /* Bochs/old QEMU: writing "Shutdown" powers off */
#define QEMU_DEBUG_EXIT_PORT 0xf4

const struct vmm_ops *vmm;
struct vmm_caps vmm_caps;

static const struct vmm_ops *const backends[] = { &svm_ops, &vmx_ops };
static struct vm *vms[MAX_VMS];
static unsigned nvms;
static struct vm_config configs[MAX_VMS];
static bool timer_running;
static volatile bool sched_go;        /* the VMs exist: the APs may run theirs */
static volatile unsigned aps_done;    /* APs whose VMs all ended */

static const char *yes(bool b) { return b ? "yes" : "no"; }

/* One parseable line: every backend's view, so tests can check what the CPU offers. */
static void banner(void)
{
    uint32_t a, vendor[3];
    cpuid(0, 0, &a, &vendor[0], &vendor[2], &vendor[1]);
    char name[13];
    memcpy(name, vendor, 12);
    name[12] = 0;
    struct vmm_caps svm = { 0 }, vmx = { 0 };
    const char *why_svm = "", *why_vmx = "";
    bool has_svm = svm_ops.probe(&svm, &why_svm) == 0;
    bool has_vmx = vmx_ops.probe(&vmx, &why_vmx) == 0;
    kprintf("hv86 " HV_VERSION ": cpu=%s svm=%s npt=%s asids=%u nrip=%s decode=%s "
            "vmx=%s ept=%s vpid=%s ug=%s\n", name, yes(has_svm), yes(svm.nested_paging),
            svm.tlb_tags, yes(svm.next_rip), yes(svm.decode_assists), yes(has_vmx),
            yes(vmx.nested_paging), yes(vmx.tagged_tlb), yes(vmx.unrestricted));
    if (!has_svm && !has_vmx)
        kprintf("hv86: no virtualization extension: %s; %s\n", why_svm, why_vmx);
}

/* The first backend whose probe accepts this CPU. */
static void select_backend(void)
{
    const char *why;
    for (unsigned i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (backends[i]->probe(&vmm_caps, &why) == 0) {
            vmm = backends[i];
            return;
        }
}

static bool guest_write(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
    return vm_write_gpa(ctx, gpa, src, len);
}

static bool find_module(struct vm *vm, const char *what, const char *name, struct mbg_blob *b)
{
    const struct boot_module *m = bootinfo_module(name);
    if (!m) {
        vm_stop(vm, "%s '%s': no boot module has that name", what, name);
        return false;
    }
    *b = (struct mbg_blob){ .name = m->name, .data = hva_of(m->start), .size = m->end - m->start };
    return true;
}

/* The entry state of a multiboot v1 guest (Multiboot 0.6.96 3.2): flat 32-bit
 * protected mode, paging off, EAX = magic, EBX = info. */
static void set_multiboot_entry(struct vcpu *v, uint32_t entry, uint32_t info)
{
    const uint32_t flat = SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    struct segment code = { .sel = 0x08, .attr = flat | SEG_ATTR_TYPE(0xB), .limit = 0xFFFFFFFF };
    struct segment data = { .sel = 0x10, .attr = flat | SEG_ATTR_TYPE(0x3), .limit = 0xFFFFFFFF };
    struct segment tr = { .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0xB), .limit = 0x67 };
    struct segment ldtr = { .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0x2), .limit = 0xFFFF };
    struct segment table = { .limit = 0xFFFF };
    vcpu_set_seg(v, SEG_CS, &code);
    vcpu_set_seg(v, SEG_SS, &data);
    vcpu_set_seg(v, SEG_DS, &data);
    vcpu_set_seg(v, SEG_ES, &data);
    vcpu_set_seg(v, SEG_FS, &data);
    vcpu_set_seg(v, SEG_GS, &data);
    vcpu_set_seg(v, SEG_TR, &tr);
    vcpu_set_seg(v, SEG_LDTR, &ldtr);
    vcpu_set_seg(v, SEG_GDTR, &table);
    vcpu_set_seg(v, SEG_IDTR, &table);
    vcpu_set(v, REG_CR0, CR0_PE | CR0_ET);
    vcpu_set(v, REG_CR3, 0);
    vcpu_set(v, REG_CR4, 0);
    vcpu_set(v, REG_EFER, 0);
    vcpu_set(v, REG_RFLAGS, RFLAGS_FIXED);
    vcpu_set(v, REG_RIP, entry);
    vcpu_set(v, REG_RSP, 0);
    memset(v->gpr, 0, sizeof v->gpr);
    v->gpr[GPR_RAX] = 0x2BADB002;          /* MB1_BOOT_MAGIC */
    v->gpr[GPR_RBX] = info;
}

/* The entry state of the 64-bit Linux boot protocol (boot.rst "64-bit BOOT
 * PROTOCOL"): long mode with the loader's identity map, a GDT with flat __BOOT_CS
 * and __BOOT_DS, CS = __BOOT_CS, DS = ES = SS = __BOOT_DS, interrupts off, RSI =
 * boot_params. */
static void set_linux_entry(struct vcpu *v, const struct lb_result *r)
{
    const uint32_t flat = SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_G;
    struct segment code = { .sel = LB_BOOT_CS, .attr = flat | SEG_ATTR_L | SEG_ATTR_TYPE(0xB),
                            .limit = 0xFFFFFFFF };
    struct segment data = { .sel = LB_BOOT_DS, .attr = flat | SEG_ATTR_DB | SEG_ATTR_TYPE(0x3),
                            .limit = 0xFFFFFFFF };
    struct segment tr = { .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0xB), .limit = 0x67 };
    struct segment ldtr = { .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0x2), .limit = 0xFFFF };
    struct segment gdtr = { .base = r->gdt_base, .limit = r->gdt_limit };
    struct segment idtr = { .limit = 0xFFFF };
    vcpu_set_seg(v, SEG_CS, &code);
    vcpu_set_seg(v, SEG_SS, &data);
    vcpu_set_seg(v, SEG_DS, &data);
    vcpu_set_seg(v, SEG_ES, &data);
    vcpu_set_seg(v, SEG_FS, &data);
    vcpu_set_seg(v, SEG_GS, &data);
    vcpu_set_seg(v, SEG_TR, &tr);
    vcpu_set_seg(v, SEG_LDTR, &ldtr);
    vcpu_set_seg(v, SEG_GDTR, &gdtr);
    vcpu_set_seg(v, SEG_IDTR, &idtr);
    vcpu_set(v, REG_CR3, r->cr3);
    vcpu_set(v, REG_CR4, CR4_PAE);
    vcpu_set(v, REG_EFER, EFER_LME | EFER_LMA);
    vcpu_set(v, REG_CR0, CR0_PE | CR0_ET | CR0_PG);
    vcpu_set(v, REG_RFLAGS, RFLAGS_FIXED);
    vcpu_set(v, REG_RIP, r->entry);
    vcpu_set(v, REG_RSP, 0);
    memset(v->gpr, 0, sizeof v->gpr);
    v->gpr[GPR_RSI] = r->boot_params;
}

/* Test only (hv86.test=bad-entry): long mode without PAE, a state both vendors
 * refuse (SDM Vol. 3C 27.3.1.1, APM Vol. 2 15.5.1). hv86's checker names it, and
 * the entry is tried anyway so the CPU's own verdict shows in the log. */
static bool test_bad_entry;
/* Test only (hv86.test=ap-panic): the last AP panics once the VMs run, to show
 * that a panic on one CPU stops all of them and is reported once. */
static bool test_ap_panic;

static void corrupt_entry_state(struct vcpu *v)
{
    vcpu_set(v, REG_EFER, EFER_LME);
    vcpu_set(v, REG_CR4, 0);
    vcpu_set(v, REG_CR0, CR0_PE | CR0_ET | CR0_PG);
    v->force_entry = true;
}

/* Create one VM from its configuration; on failure it is stopped with the reason
 * and the other VMs go on. */
static void vm_create(const struct vm_config *c, unsigned id)
{
    uint64_t used_before = mm_used_bytes();
    struct vm *vm = kmalloc(sizeof *vm);
    if (!vm) {
        kprintf("hv86: vm %s stopped: out of hypervisor memory\n", c->name);
        return;
    }
    vms[nvms++] = vm;
    vm->id = id;
    strlcpy(vm->name, c->name[0] ? c->name : "(config)", sizeof vm->name);
    vm->state = VM_CREATED;
    if (!c->ok) {
        vm_stop(vm, "%s line %d: %s", CONFIG_MODULE, c->err_line, c->err);
        return;
    }
    if (c->cpus < 1 || c->cpus > VM_MAX_VCPUS) {
        vm_stop(vm, "cpus = %u: a VM has 1 to %u vCPUs", c->cpus, VM_MAX_VCPUS);
        return;
    }
    bool shadow = c->paging == PAGING_SHADOW;
    if (!shadow && !vmm_caps.nested_paging) {
        kprintf("hv86: vm %s: no nested paging on this CPU: shadow paging\n", vm->name);
        shadow = true;
    }
    if (shadow && shadow_vm_init(vm) != 0) {
        vm_stop(vm, "out of hypervisor memory for its shadow page tables");
        return;
    }
    if (vmm->vm_init(vm) != 0) {
        vm_stop(vm, "out of hypervisor memory for its nested page tables");
        return;
    }
    if (vm_alloc_ram(vm, c->memory) != 0)
        return;
    /* As QEMU's -kernel and GRUB Legacy do, the command line starts with the
     * kernel's name, so test images made for QEMU parse it unchanged. */
    static char cmdline[sizeof c->kernel + sizeof c->cmdline + 1];
    fmt_snprintf(cmdline, sizeof cmdline, "%s%s%s", c->kernel, c->cmdline[0] ? " " : "",
                 c->cmdline);
    struct mbg_input in = { .cmdline = cmdline, .ram_size = c->memory };
    in.nreserved = platform_reserved(c->memory, in.reserved, MBG_MAX_RESERVED);
    if (!find_module(vm, "kernel", c->kernel, &in.kernel))
        return;
    for (unsigned i = 0; i < c->nmodules; i++)
        if (!find_module(vm, "module", c->modules[i], &in.modules[in.nmodules++]))
            return;
    /* A bzImage (0xAA55 boot flag) boots through the Linux boot protocol, with
     * the modules as its initrd and the command line as given; anything else is
     * a multiboot image. */
    bool is_linux = lb_is_boot_image(in.kernel.data, in.kernel.size);
    struct mbg_result res;
    struct lb_result lres;
    if (is_linux) {
        struct lb_input li = { .kernel = in.kernel, .cmdline = c->cmdline,
                               .initrds = in.modules, .ninitrds = in.nmodules,
                               .ram_size = in.ram_size, .reserved = in.reserved,
                               .nreserved = in.nreserved };
        if (lb_load(&li, guest_write, vm, &lres) != 0) {
            vm_stop(vm, "kernel '%s': %s", c->kernel, lres.error);
            return;
        }
    } else if (mbg_load(&in, guest_write, vm, &res) != 0) {
        vm_stop(vm, "kernel '%s': %s", c->kernel, res.error);
        return;
    }
    if (platform_attach(vm, c->cpus) != 0) {
        vm_stop(vm, "out of hypervisor memory for its devices");
        return;
    }
    if (platform_acpi(vm) != 0) {
        vm_stop(vm, "its ACPI tables do not fit in its memory");
        return;
    }
    /* Each vCPU with its backend state, FPU area and local APIC (APIC ID = its
     * index, platform_attach). The BSP starts at the loader's entry; the APs wait
     * for a SIPI (SDM Vol. 3A 9.4, APM Vol. 2 16.5), as after power-up. */
    for (unsigned i = 0; i < c->cpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        v->vm = vm;
        v->id = i;
        if (vmm->vcpu_init(v) != 0 || fpu_vcpu_init(v) != 0) {
            vm->nvcpus = i + 1;        /* vm_destroy frees what was made */
            vm_stop(vm, "out of hypervisor memory for vCPU %u", i);
            return;
        }
        v->wait_sipi = i != 0;
    }
    vm->nvcpus = c->cpus;
    struct vcpu *bsp = &vm->vcpus[0];
    if (is_linux)
        set_linux_entry(bsp, &lres);
    else
        set_multiboot_entry(bsp, res.entry, res.info_gpa);
    if (test_bad_entry)
        corrupt_entry_state(bsp);
    vm->state = VM_RUNNING;
    vm->hv_bytes = mm_used_bytes() - used_before - vm->ram_size;
}

static void vm_destroy(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        fpu_vcpu_fini(&vm->vcpus[i]);
        vmm->vcpu_fini(&vm->vcpus[i]);
    }
    vm_free_ram(vm);
    shadow_vm_fini(vm);
    if (vm->backend)
        vmm->vm_fini(vm);
    platform_detach(vm);
}

static void load_config(void)
{
    const struct boot_module *m = bootinfo_module(CONFIG_MODULE);
    if (!m) {
        kprintf("hv86: no '%s' module: no VMs to run\n", CONFIG_MODULE);
        return;
    }
    int n = config_parse(hva_of(m->start), m->end - m->start, configs, MAX_VMS);
    if (n > MAX_VMS) {
        kprintf("hv86: %s: %d VMs, only the first %d are started\n", CONFIG_MODULE, n, MAX_VMS);
        n = MAX_VMS;
    }
    for (int i = 0; i < n; i++)
        vm_create(&configs[i], (unsigned)i);
}

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

/* One turn of v: it runs until this CPU's tick ends its turn (or, without a
 * working timer, for one exit), its VM stops or it halts. */
static void run_turn(struct vcpu *v, struct vcpu **last)
{
    struct vm *vm = v->vm;
    struct vm_exit e;
    vm->ran_on |= 1u << this_cpu()->index;
    this_cpu()->current = v;
    uint64_t t0 = rdtsc();
    fpu_switch_to(v);
    if (v != *last) {           /* the backend's own switch (VMPTRLD) is in vcpu_run */
        vm->switches++;
        vm->switch_cycles += rdtsc() - t0;
        *last = v;
    }
    uint64_t turn = timer_cpu_ticks();
    irq_forget(v);              /* the others' entries re-armed the host timer; a VM
                                   handed over has its timers armed on another CPU */
    do {
        irq_prepare_entry(v);
        shadow_prepare_entry(v);
        fpu_enter_guest(v);
        vmm->vcpu_run(v, &e);
        fpu_leave_guest(v);
        exit_dispatch(v, &e);
    } while (vm->state == VM_RUNNING && !v->halted && !v->init_pending &&
             timer_cpu_ticks() == turn && timer_running && e.kind != EXIT_PREEMPT);
    this_cpu()->current = 0;
}

/* Round-robin over every runnable vCPU of the VMs this CPU owns. A halted vCPU
 * is skipped until something wakes it (vmm/irq.c), a vCPU in wait-for-SIPI until
 * a SIPI starts it; when none can run, the CPU sleeps until its next interrupt:
 * the tick, or the earliest guest timer (timer_wake_at). A VM whose vCPUs all
 * sleep with no timer armed can never wake: it is stopped. The end of a VM (exit
 * port, power-off, stop) ends all its vCPUs, since they run only while it is
 * VM_RUNNING; it then leaves its CPU (give_vm to nobody). Load balance: after a
 * VM's turns, a CPU that owns two or more running VMs while another CPU is idle
 * hands that VM to the idle CPU. The loop ends when no VM runs anywhere: until
 * then a CPU without VMs may still be handed one. */
static uint64_t run_start;           /* time_ns() when the VMs started: ended_tick */

static void run_cpu(void)
{
    struct vcpu *last = 0;
    struct cpu *c = this_cpu();
    int me = (int)c->index;
    for (bool any = true; any;) {
        any = false;
        bool ran = false;
        uint64_t wake = IRQ_NEVER;
        /* The tick shares this CPU between vCPUs: with exactly one vCPU among the
         * VMs it owns it is switched off, which saves that vCPU an exit every tick
         * (docs/interrupts.md). A CPU without VMs keeps it, to see the end of
         * the run; one handed a VM is kicked. */
        unsigned vcpus = 0;
        for (unsigned i = 0; i < nvms; i++)
            if (vm_running(vms[i]) && owns(vms[i], me))
                vcpus += vms[i]->nvcpus;
        timer_tick_enable(vcpus != 1);
        for (unsigned i = 0; i < nvms; i++) {
            struct vm *vm = vms[i];
            if (!vm_running(vm))
                continue;
            any = true;
            if (!owns(vm, me))
                continue;
            bool live = false;
            uint64_t vm_wake = IRQ_NEVER;
            for (unsigned k = 0; k < vm->nvcpus && vm->state == VM_RUNNING; k++) {
                struct vcpu *v = &vm->vcpus[k];
                if (!vcpu_runnable(v, &vm_wake))
                    continue;
                ran = live = true;
                __atomic_store_n(&c->idle, false, __ATOMIC_RELEASE);
                run_turn(v, &last);
            }
            if (vm->state == VM_RUNNING && !live && vm_wake == IRQ_NEVER)
                vm_stop(vm, "all %u vCPUs halted or waiting for a SIPI with no interrupt "
                        "source armed to wake them", vm->nvcpus);
            wake = vm_wake < wake ? vm_wake : wake;
            if (vm->state != VM_RUNNING) {
                vm->ended_tick = timer_ticks_since(run_start);
                give_vm(vm, VM_NO_CPU);
                continue;
            }
            int to = live ? idle_cpu(me) : VM_NO_CPU;
            if (to != VM_NO_CPU && running_vms_owned(me) >= 2) {
                vm->moves++;
                give_vm(vm, to);
                last = 0;
            }
        }
        if (any && !ran) {
            __atomic_store_n(&c->idle, true, __ATOMIC_RELEASE);
            if (timer_running) {
                timer_wake_at(wake);
                timer_idle();
            }
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

static const struct smp_hooks ap_hooks = { .init = ap_init, .run = ap_run };

/* All VMs on all CPUs: the BSP created every vCPU, so it unloads them all first. */
static void run_all(void)
{
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

/* The CPU bits of a VM's ran_on mask, as "0" or "0,1". */
static void print_cpus(uint32_t mask)
{
    const char *sep = "";
    for (unsigned i = 0; i < HOST_MAX_CPUS; i++)
        if (mask & (1u << i)) {
            kprintf("%s%u", sep, i);
            sep = ",";
        }
    if (!mask)
        kprintf("-");
}

static void summary(void)
{
    for (unsigned i = 0; i < nvms; i++) {
        struct vm *vm = vms[i];
        uint64_t total = 0;
        for (int k = 0; k < EXIT_KIND_COUNT; k++)
            total += vm->stats.exits[k];
        console_lock();             /* one line, whatever else prints */
        kprintf("hv86: summary vm=%s status=%d exits=%lu", vm->name, vm->status, total);
        for (int k = 0; k < EXIT_KIND_COUNT; k++)
            if (vm->stats.exits[k])
                kprintf(" %s=%lu", exit_kind_name(k), vm->stats.exits[k]);
        kprintf(" unclaimed_io=%lu/%lu ended_tick=%lu hv_bytes=%lu switches=%lu"
                " switch_cycles=%lu", vm->stats.io_unclaimed_reads,
                vm->stats.io_unclaimed_writes, vm->ended_tick, vm->hv_bytes, vm->switches,
                vm->switches ? vm->switch_cycles / vm->switches : 0);
        kprintf(" moves=%lu pcpu=", vm->moves);   /* the host CPUs that ran it */
        print_cpus(vm->ran_on);
        const struct vm_stats *st = &vm->stats;
        if (vm->shadow)
            kprintf(" paging=shadow sh_roots_built=%lu sh_roots_reused=%lu sh_resyncs=%lu"
                    " sh_faults=%lu sh_invlpg=%lu sh_pt_writes=%lu sh_unprotects=%lu"
                    " sh_prefetched=%lu sh_large=%lu sh_reclaimed_pages=%lu sh_peak_bytes=%lu"
                    " sh_bound_bytes=%lu", st->sh_built, st->sh_reused, st->sh_resyncs,
                    st->sh_faults, st->sh_invlpg, st->sh_pt_writes, st->sh_unprotects,
                    st->sh_prefetched, st->sh_large, st->sh_reclaimed, st->sh_peak_bytes,
                    (uint64_t)vm->shadow->max_pages * PAGE_SIZE);
        else
            kprintf(" paging=nested");
        kprintf("\n");
        console_unlock();
    }
}

/* hv86.cpus=N: at most N CPUs (default: every CPU the MADT lists). */
static unsigned host_cpus_wanted(void)
{
    char buf[8];
    unsigned n = 0;
    if (!bootinfo_arg("hv86.cpus", buf, sizeof buf))
        return HOST_MAX_CPUS;
    for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (unsigned)(*p - '0');
    return n ? n : 1;
}

static void cleanup_on_panic(void)
{
    if (vmm)
        vmm->cpu_fini();
}

static void power_off(void)
{
    char buf[8];
    if (!bootinfo_arg("hv86.poweroff", buf, sizeof buf) || strcmp(buf, "1"))
        return;
    serial_drain();
    for (const char *s = "Shutdown"; *s; s++)
        outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
    outb(QEMU_DEBUG_EXIT_PORT, 0);
}

void hv_main(void)
{
    banner();
    select_backend();
    int status = 0;
    if (vmm && vmm->cpu_init() == 0) {
        panic_cleanup = cleanup_on_panic;
        fpu_host_init();
        timer_running = timer_init() == 0;
        if (timer_running)          /* the start-up delays need the clock */
            smp_boot(&ap_hooks, host_cpus_wanted());
        kprintf("hv86: cpus=%u online\n", ncpus);
        char test[16];
        bool has_test = bootinfo_arg("hv86.test", test, sizeof test);
        test_bad_entry = has_test && !strcmp(test, "bad-entry");
        test_ap_panic = has_test && !strcmp(test, "ap-panic");
        load_config();
        run_all();
        for (unsigned i = 0; i < nvms; i++)
            vm_destroy(vms[i]);
        summary();
        panic_cleanup = 0;
        vmm->cpu_fini();
        status = nvms ? vms[0]->status : 0;
    } else if (bootinfo_module(CONFIG_MODULE)) {
        kprintf("hv86: cannot run VMs on this CPU\n");
        status = VM_STATUS_STOPPED;
    }
    kprintf("hv86: halt status=%d\n", status);
    power_off();
}
