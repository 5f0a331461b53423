/* Instructions the core must look at itself: fetched through the guest's own page
 * tables and decoded by vmm/emulate/decode.c. */
#ifndef VMM_INSN_H
#define VMM_INSN_H
#include <stdbool.h>
#include <stdint.h>
#include "vmm/exit.h"
struct vcpu;
struct insn;
struct gpt_regs;
/* The guest's paging state as the walker (vmm/gpt_walk.h) takes it. */
void guest_paging_regs(struct vcpu *v, struct gpt_regs *r);
/* gpt_read_fn over a VM's RAM (ctx: the struct vm). */
bool guest_read_gpa(void *ctx, uint64_t gpa, void *buf, unsigned len);
/* Fetch the instruction at guest RIP rip through the guest's page tables and
 * decode it in the guest's current mode; false if it cannot be fetched or decoded. */
bool insn_fetch_decode(struct vcpu *v, uint64_t rip, struct insn *in);
/* Length of the instruction at guest RIP rip; 0 if it cannot be fetched or decoded. */
unsigned insn_length(struct vcpu *v, uint64_t rip);
/* Length of the instruction at guest RIP rip if it is a HLT the guest may execute
 * (CPL 0), else 0. */
unsigned insn_hlt_length(struct vcpu *v, uint64_t rip);
/* Emulate INS/OUTS (with REP) for an EXIT_IO with io.string set. */
void insn_string_io(struct vcpu *v, const struct vm_exit *e);
/* The value a CR write at rip stores (MOV to CRn, CLTS, LMSW), decoded from the
 * instruction; false if the VM was stopped or a fault injected. */
bool insn_cr_write_value(struct vcpu *v, uint64_t rip, unsigned cr, uint64_t *val, unsigned *len);
/* Complete the CR read at rip (MOV from CRn, or SMSW for CR0) with value val,
 * giving its length; false if the VM was stopped or a fault injected. */
bool insn_cr_read(struct vcpu *v, uint64_t rip, unsigned cr, uint64_t val, unsigned *len);
/* The linear address an INVLPG at rip names (0F 01 /7); false if not decodable. */
bool insn_invlpg_addr(struct vcpu *v, uint64_t rip, uint64_t *linear);
/* LGDT or LIDT (0F 01 /2, /3) outside 64-bit mode, decoded in in at rip: load the descriptor-table
 * register from its memory operand (SDM Vol. 2A LGDT: a 16-bit operand size
 * takes 24 bits of base) and step past it. False if in is neither (nothing
 * done), or the VM was stopped or a fault injected (*done set). */
bool insn_load_dtr(struct vcpu *v, const struct insn *in, uint64_t rip, bool *done);
/* Copy to/from guest-linear memory through the guest's page tables. On a guest
 * page fault, inject #PF and return false; on an address outside RAM, stop the VM. */
bool guest_linear_rw(struct vcpu *v, uint64_t linear, void *buf, unsigned len, bool write);
/* Read guest-linear memory for hv86's own look: false on any failure, nothing
 * injected, the VM not stopped. */
bool guest_linear_rw_quiet(struct vcpu *v, uint64_t linear, void *buf, unsigned len);
/* The GPR and length of the MOV to/from DRn (0F 21 /r, 0F 23 /r) at rip, where the
 * CPU does not name them (AMD without decode assists); false if the VM was stopped. */
bool insn_dr_gpr(struct vcpu *v, uint64_t rip, unsigned *gpr, unsigned *len);
#endif
