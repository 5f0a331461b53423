/* MMIO: a guest data access to a device's guest-physical range exits as a nested
 * paging fault (EXIT_PAGING); the core fetches and decodes the instruction, runs it
 * in the instruction emulator (vmm/emulate/emulate.h) and hands each of its memory
 * accesses to the device model that owns the address, or to guest RAM. */
#ifndef VMM_MMIO_H
#define VMM_MMIO_H
#include <stdbool.h>
#include "vmm/exit.h"

struct vcpu;
struct bus_range;

/* REP iterations done per exit; the rest run when the guest re-executes the
 * instruction (it exits again), so a long REP stays preemptible. */
#define MMIO_REP_BATCH 256

/* Emulate the instruction behind EXIT_PAGING e, whose GPA is in device range h
 * (a copy from bus_find).
 * true: the instruction (or a batch of its REP iterations) was carried out, or a
 * fault was injected into the guest; false: the VM was stopped (an instruction the
 * emulator does not cover, a device that refused the access, an access straddling
 * a device's end), with a reason naming the instruction bytes, the GPA and RIP. */
bool mmio_emulate(struct vcpu *v, const struct vm_exit *e, const struct bus_range *h);

/* Emulate the instruction behind e, a write to guest RAM that hv86 must see (a
 * guest page table that shadow paging write-protects, docs/shadow.md); its RAM
 * writes go through guest_linear_rw(), which tells the shadow MMU. 1: done, or a
 * fault injected; 0: the VM was stopped; -1: an instruction that cannot be fetched
 * or is not emulated: nothing done, the VM still running. */
int mmio_emulate_ram(struct vcpu *v, const struct vm_exit *e);

/* One data access of size bytes at guest-linear address linear, as the CPU would
 * make it: translated through the guest's page tables, then to the device that
 * owns the guest-physical address (bus_access, BUS_MMIO) or else to RAM through
 * guest_linear_rw() (which injects a #PF/#GP or stops the VM outside its memory).
 * For the memory operands of instructions the core carries out itself (INS/OUTS).
 * rip names the instruction in a stop message. false: a fault was injected or the
 * VM was stopped. */
bool mmio_linear_rw(struct vcpu *v, uint64_t linear, uint64_t *val, unsigned size, bool write,
                    uint64_t rip);

#endif
