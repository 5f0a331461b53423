/* VMCS lifetime and field access (SDM Vol. 3C 25.1 states, 25.11 software use).
 * Each CPU has its current VMCS; a VMCS is active on at most one CPU, and must be
 * VMCLEARed on that CPU before another one loads it (25.11.1): the processor may
 * keep VMCS data cached, and only its own VMCLEAR writes it back. */
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/mm.h"
#include "vmm/vmx/vmcs.h"
#include "vmm/vmx/vmcs_check.h"
#include "vmm/vmx/vmx_defs.h"
#include "vmm/vmx/vmx_insn.h"

static struct vmcs *current_on[HOST_MAX_CPUS];    /* per CPU: its current VMCS */
#define current_vmcs (current_on[this_cpu()->index])

int vmcs_alloc(struct vmcs *vmcs, uint32_t revision)
{
    uint32_t *r = page_alloc();
    if (!r)
        return -1;
    r[0] = revision;            /* bit 31 clear: an ordinary VMCS, not a shadow (25.2) */
    vmcs->region = r;
    vmcs->launched = false;
    vmcs->cpu = VMCS_NO_CPU;
    return 0;
}

void vmcs_free(struct vmcs *vmcs)
{
    if (!vmcs->region)
        return;
    /* Current or merely active, the CPU may hold its data: VMCLEAR before the
     * memory is reused (25.11.1). */
    vmcs_clear(vmcs);
    page_free(vmcs->region);
    vmcs->region = 0;
}

const char *vmx_result_text(enum vmx_result r)
{
    if (r == VMX_FAIL_INVALID)
        return "VMfailInvalid (no current VMCS)";
    if (r == VMX_FAIL_VALID)
        return vmx_insn_error_name(vmcs_insn_error());
    return "ok";
}

/* VMCLEAR writes the VMCS's cached data back to memory and makes it clear and
 * not current (31.3 VMCLEAR): required before freeing it or launching it anew. */
void vmcs_clear(struct vmcs *vmcs)
{
    int me = (int)this_cpu()->index;
    if (vmcs->cpu != VMCS_NO_CPU && vmcs->cpu != me)
        panic("vmx: VMCLEAR of VMCS %#lx on cpu %d, active on cpu %d", hpa_of(vmcs->region),
              me, vmcs->cpu);
    enum vmx_result r = vmclear(hpa_of(vmcs->region));
    if (r != VMX_OK)
        panic("vmx: VMCLEAR %#lx failed: %s", hpa_of(vmcs->region), vmx_result_text(r));
    vmcs->launched = false;
    vmcs->cpu = VMCS_NO_CPU;
    if (current_vmcs == vmcs)
        current_vmcs = 0;
}

void vmcs_load(struct vmcs *vmcs)
{
    if (current_vmcs == vmcs)
        return;
    int me = (int)this_cpu()->index;
    if (vmcs->cpu != VMCS_NO_CPU && vmcs->cpu != me)
        panic("vmx: VMPTRLD of VMCS %#lx on cpu %d, still active on cpu %d",
              hpa_of(vmcs->region), me, vmcs->cpu);
    enum vmx_result r = vmptrld(hpa_of(vmcs->region));
    if (r != VMX_OK)
        panic("vmx: VMPTRLD %#lx failed: %s", hpa_of(vmcs->region), vmx_result_text(r));
    current_vmcs = vmcs;
    vmcs->cpu = me;
}

struct vmcs *vmcs_current(void) { return current_vmcs; }
void vmcs_forget_current(void) { current_vmcs = 0; }

unsigned vmcs_insn_error(void)
{
    uint64_t e;
    if (vmread(VMCS_INSN_ERROR, &e) != VMX_OK)
        return 0;
    return (unsigned)e;
}

void vmcs_access_failed(bool write, uint32_t field, uint64_t val)
{
    /* With no current VMCS the failure was VMfailInvalid, else VMfailValid. */
    enum vmx_result r = current_vmcs ? VMX_FAIL_VALID : VMX_FAIL_INVALID;
    if (write)
        panic("vmx: VMWRITE %s (%#x) = %#lx failed: %s", vmcs_field_name(field), field, val,
              vmx_result_text(r));
    panic("vmx: VMREAD %s (%#x) failed: %s", vmcs_field_name(field), field, vmx_result_text(r));
}
