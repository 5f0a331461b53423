/* Guest FPU/SSE/AVX state. hv86 itself never touches these registers (built with
 * -mgeneral-regs-only), so a vCPU's state can stay in the registers while it runs
 * and only moves when another vCPU takes the CPU: then it is saved with XSAVE under
 * the full XCR0 (SDM Vol. 1 13.4), so no register content crosses between VMs.
 * Each CPU has its own owner (struct cpu); a vCPU that leaves a CPU for another
 * takes its state along (fpu_unload). XCR0 is switched lazily too: the guest's
 * stays loaded after an exit (hv86 runs no instruction it enables), and the full
 * XCR0 goes back only for XSAVE/XRSTOR, so an exit round trip costs no XSETBV. */
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/mm.h"
#include "kernel/x86.h"
#include "vmm/fpu.h"
#include "vmm/vcpu.h"

#define FXSAVE_AREA_SIZE 512
#define XSAVE_HEADER_END 576

static bool has_xsave;
static uint64_t xcr0_all;          /* every state component the CPU supports */
static uint32_t area_size;

void fpu_host_init(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    has_xsave = c & CPUID_1_ECX_XSAVE;
    uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (has_xsave)
        cr4 |= CR4_OSXSAVE;
    write_cr4(cr4);
    write_cr0(read_cr0() & ~(uint64_t)(CR0_EM | CR0_TS));
    area_size = FXSAVE_AREA_SIZE;
    if (has_xsave) {
        cpuid(0xD, 0, &a, &b, &c, &d);
        xcr0_all = ((uint64_t)d << 32) | a;
        xsetbv(0, xcr0_all);
        this_cpu()->xcr0 = xcr0_all;
        cpuid(0xD, 0, &a, &b, &c, &d);      /* EBX: size for the XCR0 now set */
        area_size = b > XSAVE_HEADER_END ? b : XSAVE_HEADER_END;
    }
}

int fpu_vcpu_init(struct vcpu *v)
{
    /* A zeroed XSAVE area has XSTATE_BV = 0: XRSTOR loads the init state. */
    v->fpu_area = frames_alloc((area_size + PAGE_SIZE - 1) / PAGE_SIZE, 1);
    v->xcr0 = XCR0_X87;
    if (!v->fpu_area)
        return -1;
    if (!has_xsave) {                       /* FXRSTOR needs a valid image: FCW, MXCSR */
        uint16_t *fcw = v->fpu_area;
        uint32_t *mxcsr = (uint32_t *)((uint8_t *)v->fpu_area + 24);
        *fcw = 0x037F;
        *mxcsr = 0x1F80;
    }
    return 0;
}

void fpu_vcpu_fini(struct vcpu *v)
{
    for (unsigned i = 0; i < HOST_MAX_CPUS; i++)
        if (cpus[i].fpu_owner == v)
            cpus[i].fpu_owner = 0;
    if (v->fpu_area)
        frames_free(v->fpu_area, (area_size + PAGE_SIZE - 1) / PAGE_SIZE);
    v->fpu_area = 0;
}

/* XCR0 as val on this CPU, XSETBV only if it holds something else. */
static void set_xcr0(struct cpu *c, uint64_t val)
{
    if (c->xcr0 != val) {
        xsetbv(0, val);
        c->xcr0 = val;
    }
}

/* XSAVE and XRSTOR act on the components XCR0 enables (SDM Vol. 1 13.8, 13.9):
 * the full set, whichever guest's XCR0 is loaded, or a component the last guest
 * did not enable would keep another vCPU's content in the registers. */
static void save(struct vcpu *v)
{
    if (has_xsave) {
        set_xcr0(this_cpu(), xcr0_all);
        __asm__ volatile("xsave64 (%0)" :: "r"(v->fpu_area), "a"((uint32_t)xcr0_all),
                         "d"((uint32_t)(xcr0_all >> 32)) : "memory");
    } else {
        __asm__ volatile("fxsave64 (%0)" :: "r"(v->fpu_area) : "memory");
    }
}

static void restore(struct vcpu *v)
{
    if (has_xsave) {
        set_xcr0(this_cpu(), xcr0_all);
        __asm__ volatile("xrstor64 (%0)" :: "r"(v->fpu_area), "a"((uint32_t)xcr0_all),
                         "d"((uint32_t)(xcr0_all >> 32)) : "memory");
    } else {
        __asm__ volatile("fxrstor64 (%0)" :: "r"(v->fpu_area) : "memory");
    }
}

/* this_cpu()->fpu_owner: whose state is in this CPU's registers. */
void fpu_switch_to(struct vcpu *v)
{
    struct cpu *c = this_cpu();
    if (c->fpu_owner == v)
        return;
    if (c->fpu_owner)
        save(c->fpu_owner);
    restore(v);
    c->fpu_owner = v;
}

void fpu_unload(struct vcpu *v)
{
    struct cpu *c = this_cpu();
    if (c->fpu_owner != v)
        return;
    save(v);
    c->fpu_owner = 0;
}

void fpu_enter_guest(struct vcpu *v)
{
    if (has_xsave)
        set_xcr0(this_cpu(), v->xcr0);
}

void fpu_leave_guest(struct vcpu *v)
{
    if (!has_xsave)
        return;
    /* The XSETBV intercept (APM Vol. 2 15.9, SDM Vol. 3C 25.1.3) means the guest
     * never writes XCR0 itself, so this reads back v->xcr0 on hardware. QEMU's TCG
     * SVM does not implement that intercept: there the guest's XSETBV reaches
     * XCR0 directly (with the CPU's own checks), and its value has to be kept,
     * or the next entry would put the old one back under the guest's feet. */
    uint64_t now = xgetbv(0);
    if (now != v->xcr0)
        this_cpu()->xcr0 = v->xcr0 = now;
}
