/* See spec.h. The decision is vmm/policy/spec_ctrl.c's; this file reads the CPU,
 * says what it found, and carries out the MSR writes. */
#include "arch/spec_ctrl.h"
#include "arch/x86.h"
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/string.h"
#include "kernel/cpu.h"
#include "kernel/x86.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

struct spec_plan spec;
uint8_t spec_verw_on_entry, spec_rsb_on_exit;
const uint16_t spec_verw_sel = GDT_KERNEL_DS;   /* VERW's operand (guest_gprs.h) */

/* The VM whose vCPU each host CPU ran last (compared only, never dereferenced). */
static const struct vm *last_vm[HOST_MAX_CPUS];

static const char *yn(bool b) { return b ? "yes" : "no"; }

void spec_init(void)
{
    uint32_t max, ext_max, b, c, d, vendor[3];
    cpuid(0, 0, &max, &vendor[0], &vendor[2], &vendor[1]);
    struct spec_cpu cpu = {
        /* "GenuineIntel" as EBX, EDX, ECX */
        .intel = vendor[0] == 0x756e6547u && vendor[1] == 0x49656e69u &&
                 vendor[2] == 0x6c65746eu,
    };
    uint32_t a;
    if (max >= CPUID_LEAF_EXT_FEATURES)
        cpuid(CPUID_LEAF_EXT_FEATURES, 0, &a, &b, &c, &cpu.leaf7_edx);
    cpuid(CPUID_LEAF_EXT_MAX, 0, &ext_max, &b, &c, &d);
    if (ext_max >= CPUID_LEAF_ADDR_SIZES)
        cpuid(CPUID_LEAF_ADDR_SIZES, 0, &a, &cpu.ext8_ebx, &c, &d);
    if (cpu.leaf7_edx & CPUID_7_EDX_ARCH_CAPS)
        cpu.arch_caps = rdmsr(MSR_IA32_ARCH_CAPABILITIES);
    spec_plan_for(&cpu, &spec);
    /* hv86.spec=barriers: the RSB fill and VERW, which every x86-64 CPU executes,
     * on every exit and entry even where the CPU does not need them, so that the
     * emulators run the spec variants too (tests/system/tests.list: spec-*). */
    char arg[16];
    bool forced = bootinfo_arg("hv86.spec", arg, sizeof arg) && !strcmp(arg, "barriers");
    if (forced) {
        spec.rsb_fill_on_exit = spec.verw_on_entry = spec.entry_exit = true;
    }
    spec_verw_on_entry = spec.verw_on_entry;
    spec_rsb_on_exit = spec.rsb_fill_on_exit;

    kprintf("hv86: spec: cpu ibpb=%s ibrs=%s stibp=%s ssbd=%s l1d_flush=%s md_clear=%s "
            "arch_caps=", yn(spec.has_ibpb), yn(spec.has_ibrs), yn(spec.has_stibp),
            yn(spec.has_ssbd), yn(spec.has_l1d_flush), yn(spec.has_md_clear));
    if (spec.has_arch_caps)
        kprintf("%#lx", cpu.arch_caps);
    else
        kprintf("none");
    kprintf("; hv86 does:%s%s%s%s%s%s", spec.ibpb_on_switch ? " ibpb-on-vm-switch" : "",
            spec.rsb_fill_on_exit ? " rsb-fill-on-exit" : "",
            spec.l1d_flush_on_entry ? " l1d-flush-on-entry" : "",
            spec.verw_on_entry ? " verw-on-entry" : "",
            spec.spec_ctrl_per_vcpu ? " spec-ctrl-per-vcpu" : "",
            spec_needs_variant() ? "" : " nothing");
    if (!spec.has_ibpb && !spec.has_ibrs && !spec.has_stibp && !spec.has_ssbd &&
        !spec.has_l1d_flush && !spec.has_md_clear && !spec.has_arch_caps)
        kprintf(" (the cpu enumerates no speculation control)");
    if (forced)
        kprintf(" (forced by hv86.spec=barriers)");
    if (spec.l1d_flush_missing)
        kprintf(" (L1TF: no IA32_FLUSH_CMD to flush with: update the microcode)");
    kprintf("\n");
}

void spec_vcpu_arrive(struct vcpu *v)
{
    unsigned me = this_cpu()->index;
    if (!spec.ibpb_on_switch || last_vm[me] == v->vm)
        return;
    if (last_vm[me]) {                  /* the first VM on this CPU follows no guest */
        wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
        v->vm->stats.ibpb++;
    }
    last_vm[me] = v->vm;
}

void spec_before_entry(void)
{
    if (spec.l1d_flush_on_entry)
        wrmsr(MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D);
}
