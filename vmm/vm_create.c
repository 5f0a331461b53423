/* Building a VM from its configuration: guest RAM, nested or shadow paging, the
 * guest image through its loader (multiboot or the Linux boot protocol, chosen by
 * the image), the platform devices and ACPI tables, the vCPUs and the entry state
 * the image's boot protocol asks for; and taking it apart again. */
#include "dev/acpi.h"
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "lib/format.h"
#include "loader/linux_boot.h"
#include "loader/multiboot_guest.h"
#include "vmm/cpuid.h"
#include "vmm/disks.h"
#include "vmm/fpu.h"
#include "vmm/hv.h"
#include "vmm/nics.h"
#include "vmm/platform.h"
#include "vmm/shadow.h"
#include "vmm/vm.h"
#include "vmm/vm_create.h"
#include "vmm/vmm_ops.h"

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
    const struct seg_state segs = {
        .cs = { .sel = 0x08, .attr = flat | SEG_ATTR_TYPE(0xB), .limit = 0xFFFFFFFF },
        .data = { .sel = 0x10, .attr = flat | SEG_ATTR_TYPE(0x3), .limit = 0xFFFFFFFF },
        .tr = { .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0xB), .limit = 0x67 },
        .ldtr = { .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0x2), .limit = 0xFFFF },
        .gdtr = { .limit = 0xFFFF },
        .idtr = { .limit = 0xFFFF },
    };
    vcpu_set_segs(v, &segs);
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
    const struct seg_state segs = {
        .cs = { .sel = LB_BOOT_CS, .attr = flat | SEG_ATTR_L | SEG_ATTR_TYPE(0xB),
                .limit = 0xFFFFFFFF },
        .data = { .sel = LB_BOOT_DS, .attr = flat | SEG_ATTR_DB | SEG_ATTR_TYPE(0x3),
                  .limit = 0xFFFFFFFF },
        .tr = { .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0xB), .limit = 0x67 },
        .ldtr = { .attr = SEG_ATTR_P | SEG_ATTR_TYPE(0x2), .limit = 0xFFFF },
        .gdtr = { .base = r->gdt_base, .limit = r->gdt_limit },
        .idtr = { .limit = 0xFFFF },
    };
    /* Out of reset (real mode) the way a boot loader goes: protected mode first,
     * then PAE, LME and paging. Each step is a consistent state, which matters
     * under shadow paging: VMX without unrestricted guest runs real mode as
     * virtual-8086 mode, and leaving it rewrites the segments (vmx_v86_update),
     * so they are loaded last, once the vCPU is in long mode. */
    vcpu_set(v, REG_CR0, CR0_PE | CR0_ET);
    vcpu_set(v, REG_CR3, r->cr3);
    vcpu_set(v, REG_CR4, CR4_PAE);
    vcpu_set(v, REG_EFER, EFER_LME);
    vcpu_set(v, REG_CR0, CR0_PE | CR0_ET | CR0_PG);       /* LMA follows (9.8.5) */
    vcpu_set_segs(v, &segs);
    vcpu_set(v, REG_RFLAGS, RFLAGS_FIXED);
    vcpu_set(v, REG_RIP, r->entry);
    vcpu_set(v, REG_RSP, 0);
    memset(v->gpr, 0, sizeof v->gpr);
    v->gpr[GPR_RSI] = r->boot_params;
}

/* Test only (hv86.test=bad-entry): long mode without PAE, a state both vendors
 * refuse (SDM Vol. 3C 27.3.1.1, APM Vol. 2 15.5.1). hv86's checker names it, and
 * the entry is tried anyway so the CPU's own verdict shows in the log. */
static void corrupt_entry_state(struct vcpu *v)
{
    vcpu_set(v, REG_EFER, EFER_LME);
    vcpu_set(v, REG_CR4, 0);
    vcpu_set(v, REG_CR0, CR0_PE | CR0_ET | CR0_PG);
    v->force_entry = true;
}

/* Create one VM from its configuration; on failure it is stopped with the reason
 * and the other VMs go on. */
struct vm *vm_create(const struct vm_config *c, unsigned id, bool bad_entry)
{
    uint64_t used_before = mm_used_bytes();
    struct vm *vm = kmalloc(sizeof *vm);
    if (!vm) {
        kprintf("hv86: vm %s stopped: out of hypervisor memory\n", c->name);
        return 0;
    }
    vm->id = id;
    strlcpy(vm->name, c->name[0] ? c->name : "(config)", sizeof vm->name);
    vm->state = VM_CREATED;
    vm->weight = c->weight ? c->weight : SCHED_WEIGHT_UNIT;
    vm->cap = c->cap;
    vm->watchdog_ns = (uint64_t)c->watchdog * 1000000000ull;
    /* hv86.console_kib=N (tests): a burst of N KiB, then N/4 KiB/s. */
    unsigned kib;
    bool small = bootinfo_arg_uint("hv86.console_kib", &kib) && kib;
    vm->console.burst = small ? (uint64_t)kib << 10 : CONSOLE_BURST;
    vm->console.rate = small ? (uint64_t)kib << 8 : CONSOLE_RATE;
    vm->console.cap = CONSOLE_CAP;
    vm->sched_cpu = -1;
    bus_init(&vm->bus);
    if (!c->ok) {
        vm_stop(vm, "%s line %d: %s", HV_CONFIG_MODULE, c->err_line, c->err);
        return vm;
    }
    if (c->cpus < 1 || c->cpus > VM_MAX_VCPUS) {
        vm_stop(vm, "cpus = %u: a VM has 1 to %u vCPUs", c->cpus, VM_MAX_VCPUS);
        return vm;
    }
    bool shadow = c->paging == PAGING_SHADOW;
    if (!shadow && !vmm_caps.nested_paging) {
        kprintf("hv86: vm %s: no nested paging on this CPU: shadow paging\n", vm->name);
        shadow = true;
    }
    if (shadow && shadow_vm_init(vm) != 0) {
        vm_stop(vm, "out of hypervisor memory for its shadow page tables");
        return vm;
    }
    cpuid_vm_init(vm, c);
    if (vmm->vm_init(vm) != 0) {
        vm_stop(vm, "out of hypervisor memory for its nested page tables");
        return vm;
    }
    if (vm_alloc_ram(vm, c->memory) != 0)
        return vm;
    /* As QEMU's -kernel and GRUB Legacy do, the command line starts with the
     * kernel's name, so test images made for QEMU parse it unchanged. */
    static char cmdline[sizeof c->kernel + sizeof c->cmdline + 1];
    fmt_snprintf(cmdline, sizeof cmdline, "%s%s%s", c->kernel, c->cmdline[0] ? " " : "",
                 c->cmdline);
    struct mbg_input in = { .cmdline = cmdline, .ram_size = c->memory };
    in.nreserved = platform_reserved(c->memory, in.reserved, MBG_MAX_RESERVED);
    in.firmware = platform_acpi_range(c->memory);
    if (!find_module(vm, "kernel", c->kernel, &in.kernel))
        return vm;
    for (unsigned i = 0; i < c->nmodules; i++)
        if (!find_module(vm, "module", c->modules[i], &in.modules[in.nmodules++]))
            return vm;
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
                               .nreserved = in.nreserved, .firmware = in.firmware };
        if (lb_load(&li, guest_write, vm, &lres) != 0) {
            vm_stop(vm, "kernel '%s': %s", c->kernel, lres.error);
            return vm;
        }
    } else if (mbg_load(&in, guest_write, vm, &res) != 0) {
        vm_stop(vm, "kernel '%s': %s", c->kernel, res.error);
        return vm;
    }
    if (platform_attach(vm, c->cpus) != 0) {
        vm_stop(vm, "out of hypervisor memory for its devices");
        return vm;
    }
    if (disks_attach(vm, c) != 0 || nics_attach(vm, c) != 0)
        return vm;
    if (platform_acpi(vm, is_linux ? ACPI_RSDP_AREA : res.rsdp_gpa) != 0) {
        vm_stop(vm, "its ACPI tables do not fit in its memory");
        return vm;
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
            return vm;
        }
        v->wait_sipi = i != 0;
    }
    vm->nvcpus = c->cpus;
    struct vcpu *bsp = &vm->vcpus[0];
    if (is_linux)
        set_linux_entry(bsp, &lres);
    else
        set_multiboot_entry(bsp, res.entry, res.info_gpa);
    if (bad_entry)
        corrupt_entry_state(bsp);
    vm->state = VM_RUNNING;
    vm->hv_bytes = mm_used_bytes() - used_before - vm->ram_size;
    return vm;
}

void vm_destroy(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        fpu_vcpu_fini(&vm->vcpus[i]);
        vmm->vcpu_fini(&vm->vcpus[i]);
    }
    vm_free_ram(vm);
    shadow_vm_fini(vm);
    if (vm->backend)
        vmm->vm_fini(vm);
    disks_detach(vm);
    nics_detach(vm);
    platform_detach(vm);
}
