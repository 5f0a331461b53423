/* XSETBV's checks (vmm/policy/xsetbv.h). */
#include "arch/x86.h"
#include "vmm/policy/xsetbv.h"

bool xcr0_valid(uint64_t val, uint64_t supported)
{
    const uint64_t avx512 = XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM;
    const uint64_t mpx = XCR0_BNDREGS | XCR0_BNDCSR;
    const uint64_t amx = XCR0_XTILECFG | XCR0_XTILEDATA;
    if (val & ~supported)
        return false;                  /* a component the CPU does not support */
    if (!(val & XCR0_X87))
        return false;                  /* x87 state is always enabled */
    if ((val & XCR0_AVX) && !(val & XCR0_SSE))
        return false;                  /* AVX needs SSE */
    /* AVX-512: opmask, ZMM_Hi256 and Hi16_ZMM all or none, and with AVX. */
    if ((val & avx512) && ((val & avx512) != avx512 || !(val & XCR0_AVX)))
        return false;
    /* MPX: BNDREGS and BNDCSR together (13.3: the CPU requires them equal). */
    if ((val & mpx) && (val & mpx) != mpx)
        return false;
    /* AMX: TILECFG and TILEDATA together (13.3). */
    if ((val & amx) && (val & amx) != amx)
        return false;
    return true;
}

enum xsetbv_result xsetbv_check(bool cr4_osxsave, unsigned cpl, uint32_t index, uint64_t val,
                                uint64_t supported)
{
    if (!cr4_osxsave)
        return XSETBV_UD;
    if (cpl != 0 || index != 0 || !xcr0_valid(val, supported))
        return XSETBV_GP;
    return XSETBV_OK;
}
