/* A VMCS and the VMX instructions that manage it (SDM Vol. 3C 25.1, 25.11).
 * Launch state is tracked per VMCS (clear until a VMLAUNCH succeeds: 25.1 fig.
 * 25-1), and which VMCS is current on this CPU, so VMPTRLD runs only when the
 * current one changes. VMREAD/VMWRITE failures are hypervisor bugs: they panic
 * naming the field and the VM-instruction error. */
#ifndef VMM_VMX_VMCS_H
#define VMM_VMX_VMCS_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/vmx/vmx_insn.h"

struct vmcs {
    void *region;          /* 4 KiB, revision identifier in the first word */
    bool launched;         /* VMLAUNCH succeeded since the last VMCLEAR */
    int cpu;               /* the CPU it is active on (VMPTRLD since the last
                              VMCLEAR), VMCS_NO_CPU if clear */
};
#define VMCS_NO_CPU (-1)

int vmcs_alloc(struct vmcs *vmcs, uint32_t revision);
void vmcs_free(struct vmcs *vmcs);
/* VMCLEAR: not active, launch state clear; on the CPU it is active on. */
void vmcs_clear(struct vmcs *vmcs);
/* VMPTRLD unless already current; a VMCS active on another CPU is a bug. */
void vmcs_load(struct vmcs *vmcs);
struct vmcs *vmcs_current(void);
void vmcs_forget_current(void);             /* after VMXOFF */

/* The accessors on every exit path: one instruction and one branch on CF|ZF
 * ("be"); which failure it was is sorted out, out of line, only when one happens. */
void vmcs_access_failed(bool write, uint32_t field, uint64_t val)
    __attribute__((noreturn, cold));

static inline uint64_t vmcs_read(uint32_t field)
{
    uint64_t v;
    bool fail;
    __asm__ volatile("vmread %2, %0" : "=r"(v), "=@ccbe"(fail) : "r"((uint64_t)field));
    if (__builtin_expect(fail, 0))
        vmcs_access_failed(false, field, 0);
    return v;
}

static inline void vmcs_write(uint32_t field, uint64_t val)
{
    bool fail;
    __asm__ volatile("vmwrite %1, %2" : "=@ccbe"(fail) : "r"(val), "r"((uint64_t)field)
                     : "memory");
    if (__builtin_expect(fail, 0))
        vmcs_access_failed(true, field, val);
}

/* The current VMCS's VM-instruction error, by number and name (31.4). */
unsigned vmcs_insn_error(void);
/* A failed VMX instruction as text: "VMfailInvalid" or the named error. */
const char *vmx_result_text(enum vmx_result r);
#endif
