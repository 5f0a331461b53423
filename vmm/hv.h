#ifndef VMM_HV_H
#define VMM_HV_H
/* The multiboot module holding the VM configuration (docs/config.md). */
#define HV_CONFIG_MODULE "hv86.cfg"
/* Pick the backend, report the CPU, create the configured VMs, run them, halt. */
void hv_main(void);
#endif
