#ifndef VMM_HV_H
#define VMM_HV_H
/* Pick the backend, report the CPU, create the configured VMs, run them, halt. */
void hv_main(void);
#endif
