/* VMCS lifetime and field access (SDM Vol. 3C 25.1 states, 25.11 software use).
 * hv86 runs one CPU for now, so "current on this CPU" is one pointer; with SMP it
 * becomes per-CPU, and a VMCS must be VMCLEARed before another CPU loads it. */
#include "kernel/console.h"
#include "kernel/mm.h"
#include "vmm/vmx/vmcs.h"
#include "vmm/vmx/vmcs_check.h"
#include "vmm/vmx/vmx_defs.h"
#include "vmm/vmx/vmx_insn.h"

static struct vmcs *current_vmcs;

int vmcs_alloc(struct vmcs *vmcs, uint32_t revision)
{
    uint32_t *r = page_alloc();
    if (!r)
        return -1;
    r[0] = revision;            /* bit 31 clear: an ordinary VMCS, not a shadow (25.2) */
    vmcs->region = r;
    vmcs->launched = false;
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
    enum vmx_result r = vmclear(hpa_of(vmcs->region));
    if (r != VMX_OK)
        panic("vmx: VMCLEAR %#lx failed: %s", hpa_of(vmcs->region), vmx_result_text(r));
    vmcs->launched = false;
    if (current_vmcs == vmcs)
        current_vmcs = 0;
}

void vmcs_load(struct vmcs *vmcs)
{
    if (current_vmcs == vmcs)
        return;
    enum vmx_result r = vmptrld(hpa_of(vmcs->region));
    if (r != VMX_OK)
        panic("vmx: VMPTRLD %#lx failed: %s", hpa_of(vmcs->region), vmx_result_text(r));
    current_vmcs = vmcs;
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
