/* kvm-clock (vmm/kvmclock.h): MSR_KVM_WALL_CLOCK_NEW and MSR_KVM_SYSTEM_TIME_NEW
 * as KVM's Documentation/virt/kvm/x86/msr.rst describes them. An area is
 * written when the guest names it, and again when its vCPU's TSC offset moves
 * (vmm/kvmclock.h): the reference itself never changes. */
#include "dev/pvclock.h"
#include "vmm/kvmclock.h"

int kvmclock_init(struct kvmclock *k, uint64_t tsc, uint64_t tsc_hz, uint64_t unix_sec)
{
    *k = (struct kvmclock){ .tsc0 = tsc, .wall_sec = (uint32_t)unix_sec };
    return pvclock_scale_of(tsc_hz, &k->mul, &k->shift) ? 0 : -1;
}

/* An address the guest gave: the area must lie whole in this VM's RAM
 * (vm_gpa_to_hva, which maps it contiguously, so crossing a page does not
 * matter). Anything else is ignored, as KVM does: the WRMSR succeeds and reads
 * back, and nothing is written (its kvm_write_wall_clock returns when the guest
 * memory cannot be read; kvm_write_system_time leaves the area inactive when
 * kvm_gpc_activate fails). */
static void write_time_area(struct vcpu *v, const struct kvmclock *k, uint64_t gpa)
{
    volatile struct pvclock_vcpu_time_info *area = vm_gpa_to_hva(v->vm, gpa, sizeof *area);
    if (!area)
        return;
    const struct pvclock_vcpu_time_info t = {
        .tsc_timestamp = k->tsc0 + v->tsc_offset, .system_time = 0, .tsc_to_system_mul = k->mul,
        .tsc_shift = k->shift, .flags = PVCLOCK_TSC_STABLE_BIT,
    };
    pvclock_write_time(area, &t);
}

static void write_wall_clock(struct vm *vm, const struct kvmclock *k, uint64_t gpa)
{
    volatile struct pvclock_wall_clock *area = vm_gpa_to_hva(vm, gpa, sizeof *area);
    if (area)
        pvclock_write_wall(area, k->wall_sec, 0);
}

/* The bus handler of the two MSRs (dev/bus.h). */
static enum bus_result kvmclock_msr(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                    bool write, uint64_t *val)
{
    struct kvmclock *k = dev;
    uint32_t index = MSR_KVM_WALL_CLOCK_NEW + (uint32_t)offset;
    (void)size;
    uint64_t *msr = index == MSR_KVM_WALL_CLOCK_NEW ? &k->wall_msr : &k->time_msr[v->id];
    if (!write) {
        *val = *msr;
        return BUS_OK;
    }
    *msr = *val;
    if (index == MSR_KVM_WALL_CLOCK_NEW)
        write_wall_clock(v->vm, k, *val);
    else if (*val & KVM_SYSTEM_TIME_ENABLE)
        write_time_area(v, k, *val & ~KVM_SYSTEM_TIME_ENABLE);
    return BUS_OK;
}

int kvmclock_attach(struct vm *vm, struct kvmclock *k)
{
    _Static_assert(MSR_KVM_SYSTEM_TIME_NEW == MSR_KVM_WALL_CLOCK_NEW + 1, "one MSR range");
    return vm_claim(vm, BUS_MSR, MSR_KVM_WALL_CLOCK_NEW, 2, "kvmclock", kvmclock_msr, k) < 0 ? -1 : 0;
}
