/* Building a VM from its configuration (vmm/vm_create.c). */
#ifndef VMM_VM_CREATE_H
#define VMM_VM_CREATE_H
#include <stdbool.h>
#include "lib/config.h"
#include "vmm/vm.h"

/* A VM made from c, running at its entry point, or stopped with the reason (a bad
 * config entry, a missing module, a bad image, no memory): the other VMs go on.
 * NULL only when there is not even memory for the struct vm (logged).
 * bad_entry: test only (hv86.test=bad-entry), a guest state both vendors refuse. */
struct vm *vm_create(const struct vm_config *c, unsigned id, bool bad_entry);
/* Free everything the VM holds: vCPUs, RAM, page tables, devices. */
void vm_destroy(struct vm *vm);
#endif
