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
#include "vmm/disks.h"
#include "vmm/fpu.h"
#include "vmm/hv.h"
#include "vmm/irq.h"
#include "vmm/nics.h"
#include "vmm/platform.h"
#include "vmm/shadow.h"
#include "vmm/spec.h"
#include "vmm/startup.h"
#include "vmm/sched.h"
#include "vmm/vm.h"
#include "vmm/vm_create.h"
#include "vmm/vmm_ops.h"

#define HV_VERSION "0.1"
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

/* The first backend whose probe accepts this CPU; with its spec variant of
 * vcpu_run when the CPU needs speculative-execution barriers (vmm/spec.h). */
static struct vmm_ops with_spec;
static void select_backend(void)
{
    const char *why;
    for (unsigned i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (backends[i]->probe(&vmm_caps, &why) == 0) {
            vmm = backends[i];
            break;
        }
    if (!vmm)
        return;
    spec_init();
    if (spec_needs_variant() && vmm->vcpu_run_spec) {
        with_spec = *vmm;
        with_spec.vcpu_run = vmm->vcpu_run_spec;
        vmm = &with_spec;
    }
}

static void load_config(bool bad_entry_test)
{
    const struct boot_module *m = bootinfo_module(HV_CONFIG_MODULE);
    if (!m) {
        kprintf("hv86: no '%s' module: no VMs to run\n", HV_CONFIG_MODULE);
        return;
    }
    int n = config_parse(hva_of(m->start), m->end - m->start, configs, MAX_VMS);
    if (n > MAX_VMS) {
        kprintf("hv86: %s: %d VMs, only the first %d are started\n", HV_CONFIG_MODULE, n,
                MAX_VMS);
        n = MAX_VMS;
    }
    for (int i = 0; i < n; i++) {
        struct vm *vm = vm_create(&configs[i], (unsigned)i, bad_entry_test);
        if (vm)
            vms[nvms++] = vm;
    }
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
        /* CPU time (vmm/sched.c): the VM's, then each vCPU's, in microseconds. */
        /* cpu_pct: its CPU time over its life, in percent of one host CPU. */
        kprintf(" weight=%u cap=%u run_us=%lu cpu_pct=%lu vcpu_run_us=", vm->weight, vm->cap,
                vm->run_ns / 1000, vm->ended_ns ? vm->run_ns * 100 / vm->ended_ns : 0);
        for (unsigned k = 0; k < vm->nvcpus; k++)
            kprintf("%s%lu", k ? "," : "", vm->vcpus[k].run_ns / 1000);
        if (!vm->nvcpus)
            kprintf("-");
        kprintf(" console_dropped=%lu", vm->console.dropped);
        disks_summary(vm);
        nics_summary(vm);
        kprintf(" moves=%lu pcpu=", vm->moves);   /* the host CPUs that ran it */
        print_cpus(vm->ran_on);
        const struct vm_stats *st = &vm->stats;
        if (st->ibpb)               /* only where the CPU offers IBPB (vmm/spec.c) */
            kprintf(" ibpb=%lu", st->ibpb);
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
    unsigned n;
    if (!bootinfo_arg_uint("hv86.cpus", &n))
        return HOST_MAX_CPUS;
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
            smp_boot(&sched_ap_hooks, host_cpus_wanted());
        kprintf("hv86: cpus=%u online\n", ncpus);
        char test[16];
        bool has_test = bootinfo_arg("hv86.test", test, sizeof test);
        load_config(has_test && !strcmp(test, "bad-entry"));
        sched_run(vms, nvms, timer_running, has_test && !strcmp(test, "ap-panic"));
        for (unsigned i = 0; i < nvms; i++)
            vm_destroy(vms[i]);
        summary();
        panic_cleanup = 0;
        vmm->cpu_fini();
        status = nvms ? vms[0]->status : 0;
    } else if (bootinfo_module(HV_CONFIG_MODULE)) {
        kprintf("hv86: cannot run VMs on this CPU\n");
        status = VM_STATUS_STOPPED;
    }
    kprintf("hv86: halt status=%d\n", status);
    power_off();
}
