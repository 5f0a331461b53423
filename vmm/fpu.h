#ifndef VMM_FPU_H
#define VMM_FPU_H
#include <stdint.h>
struct vcpu;
/* Host setup, on each CPU: CR4.OSFXSR/OSXSAVE so guest x87/SSE/AVX state can be saved. */
void fpu_host_init(void);
/* Per-vCPU save area (XSAVE, or FXSAVE where XSAVE is absent). */
int fpu_vcpu_init(struct vcpu *v);
void fpu_vcpu_fini(struct vcpu *v);
/* Make v's FPU state the one in the registers: save the previous vCPU's first. */
void fpu_switch_to(struct vcpu *v);
/* v may run on another CPU next: if its state is in this CPU's registers, save it. */
void fpu_unload(struct vcpu *v);
/* Around guest entry: the guest's XCR0 in (it stays after the exit: the full
 * one comes back only for XSAVE/XRSTOR), and after it a guest XSETBV the CPU
 * did not intercept taken over. */
void fpu_enter_guest(struct vcpu *v);
void fpu_leave_guest(struct vcpu *v);
#endif
