/* The VMX instructions as C functions (SDM Vol. 3C ch. 31). Each reports the
 * outcome from the flags (31.2): CF=1 VMfailInvalid, ZF=1 VMfailValid. Memory
 * operands hold physical addresses (VMXON, VMCLEAR, VMPTRLD) or 128-bit
 * descriptors (INVEPT, INVVPID, 31.3). */
#ifndef VMM_VMX_VMX_INSN_H
#define VMM_VMX_VMX_INSN_H
#include <stdbool.h>
#include <stdint.h>

/* VMX instructions signal failure in the flags (31.2): CF=1 VMfailInvalid (no
 * current VMCS to hold an error number), ZF=1 VMfailValid (error in the VMCS). */
enum vmx_result { VMX_OK = 0, VMX_FAIL_VALID = 1, VMX_FAIL_INVALID = 2 };

static inline enum vmx_result vmx_flags(bool cf, bool zf)
{
    return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

#define VMX_PA_INSN(name)                                                       \
    static inline enum vmx_result name(uint64_t pa)                             \
    {                                                                           \
        bool cf, zf;                                                            \
        __asm__ volatile(#name " %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(pa)       \
                         : "memory");                                           \
        return vmx_flags(cf, zf);                                               \
    }
VMX_PA_INSN(vmxon)
VMX_PA_INSN(vmclear)
VMX_PA_INSN(vmptrld)
#undef VMX_PA_INSN

static inline enum vmx_result vmxoff(void)
{
    bool cf, zf;
    __asm__ volatile("vmxoff" : "=@ccc"(cf), "=@ccz"(zf) :: "memory");
    return vmx_flags(cf, zf);
}

static inline enum vmx_result vmread(uint32_t field, uint64_t *val)
{
    bool cf, zf;
    uint64_t v = 0;
    __asm__ volatile("vmread %3, %0" : "=r"(v), "=@ccc"(cf), "=@ccz"(zf)
                     : "r"((uint64_t)field));
    *val = v;
    return vmx_flags(cf, zf);
}

static inline enum vmx_result vmwrite(uint32_t field, uint64_t val)
{
    bool cf, zf;
    __asm__ volatile("vmwrite %2, %3" : "=@ccc"(cf), "=@ccz"(zf)
                     : "r"(val), "r"((uint64_t)field) : "memory");
    return vmx_flags(cf, zf);
}

struct inv_desc { uint64_t lo, hi; };

static inline enum vmx_result invept(uint64_t type, uint64_t eptp)
{
    struct inv_desc d = { eptp, 0 };
    bool cf, zf;
    __asm__ volatile("invept %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(d), "r"(type)
                     : "memory");
    return vmx_flags(cf, zf);
}

static inline enum vmx_result invvpid(uint64_t type, uint16_t vpid, uint64_t gla)
{
    struct inv_desc d = { vpid, gla };
    bool cf, zf;
    __asm__ volatile("invvpid %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(d), "r"(type)
                     : "memory");
    return vmx_flags(cf, zf);
}
#endif
