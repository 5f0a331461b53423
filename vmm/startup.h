/* Processor start-up of a vCPU (Intel SDM Vol. 3A 9.4 and 11.6.1, AMD APM Vol. 2
 * 16.5): INIT puts it into the wait-for-SIPI state, where it does not run; a
 * STARTUP IPI (SIPI) then starts it in real mode at CS:IP = vector << 8 : 0.
 *
 * An IPI only marks the target (it may be another vCPU, whose backend state the
 * sender must not touch); the target's own turn applies it (startup_apply),
 * before it runs. One SIPI is enough; a SIPI to a vCPU that is not waiting for
 * one is ignored, as on hardware. */
#ifndef VMM_STARTUP_H
#define VMM_STARTUP_H
#include <stdbool.h>
#include <stdint.h>
struct vcpu;

/* An INIT arrived (level assert). */
void startup_init(struct vcpu *v);
/* A SIPI arrived; false if v was not waiting for one (ignored). */
bool startup_sipi(struct vcpu *v, uint8_t vector);
/* Before v runs: apply a pending INIT, then a pending SIPI. */
void startup_apply(struct vcpu *v);
#endif
