/* XSETBV, as the CPU checks it (SDM Vol. 2B "XSETBV", Vol. 1 13.3 "Enabling the
 * XSAVE feature set and XSAVE-enabled features"): values in, a decision out. The
 * host loads a guest's XCR0 in ring 0 on every entry (vmm/fpu.c), so a value the
 * CPU refuses would be a #GP in hv86 itself: every XCR0 a guest sets passes here
 * first. Pure code, tests/unit/test_xsetbv.c. */
#ifndef VMM_POLICY_XSETBV_H
#define VMM_POLICY_XSETBV_H
#include <stdbool.h>
#include <stdint.h>

enum xsetbv_result { XSETBV_OK, XSETBV_UD, XSETBV_GP };

/* Is val a combination of state components the CPU accepts in XCR0, given the
 * components CPUID.(EAX=0DH,ECX=0):EDX:EAX says it supports? */
bool xcr0_valid(uint64_t val, uint64_t supported);

/* XSETBV with ECX = index and EDX:EAX = val, at privilege level cpl with CR4.OSXSAVE
 * as given: #UD without CR4.OSXSAVE, #GP(0) at CPL > 0, for an index other than 0
 * (XCR0; XINUSE at 1 is read-only and hv86 offers no other XCR) or an XCR0 value
 * xcr0_valid refuses. */
enum xsetbv_result xsetbv_check(bool cr4_osxsave, unsigned cpl, uint32_t index, uint64_t val,
                                uint64_t supported);
#endif
