/* x86 instruction emulator for memory-operand instructions (pure logic).
 *
 * When a guest instruction touches a guest-physical address that is a device (MMIO),
 * the CPU exits before the access; the core decodes the instruction (decode.h) and
 * this module carries it out: it computes the operand addresses, does the memory
 * accesses through a callback, and updates the registers, the arithmetic flags and
 * RIP as the instruction would (Intel SDM Vol. 2A-2D, the instruction pages; flags
 * also per Vol. 1 Appendix A, "EFLAGS Cross-Reference").
 *
 * Covered, with 8/16/32/64-bit operands (SDM Vol. 2D Table opcodes):
 *   MOV 88 89 8A 8B, C6/C7 /0, A0-A3 (moffs); MOVZX 0F B6/B7; MOVSX 0F BE/BF;
 *   MOVSXD 63 (REX.W, 64-bit mode); ADD OR ADC SBB AND SUB XOR CMP 00-3B (r/m forms),
 *   80 81 82 83 (group 1); TEST 84 85, F6/F7 /0 (and its alias /1); XCHG 86 87;
 *   NOT NEG F6/F7 /2 /3; INC DEC FE/FF /0 /1; BT BTS BTR BTC 0F A3/AB/B3/BB (register
 *   bit offset: the operand addressed is EA + size * (offset SAR log2(bits)), as the
 *   SDM's BT page gives, so offsets beyond the operand are handled) and 0F BA /4-/7
 *   (immediate offset, taken modulo the operand size); MOVS A4/A5, STOS AA/AB, LODS
 *   AC/AD with REP (F3, or F2, which repeats these as F3 does) and EFLAGS.DF.
 * LOCK, segment overrides, 66/67, REX (SPL/BPL/SIL/DIL vs AH/CH/DH/BH) are honoured;
 * the XACQUIRE/XRELEASE hints are ignored. Everything else, including VEX/EVEX and
 * register-only forms, is EMU_UNSUPPORTED, with no callback made and no state changed.
 *
 * Flags: exactly the defined ones of each instruction. Undefined ones: AF of AND/OR/
 * XOR/TEST is cleared; OF/SF/AF/PF of BT* and all flags not written are left as
 * they were.
 *
 * Register writes follow the SDM (Vol. 1 3.4.1.1): a 32-bit destination zero-extends
 * into bits 63:32, an 8- or 16-bit one keeps the rest. String instructions update
 * rSI/rDI/rCX under the address size: 16-bit keeps bits 63:16, 32-bit zero-extends.
 *
 * Not modelled: segment limit and type checks, alignment checks (#AC), the atomicity
 * of LOCKed read-modify-writes (the device model sees a read and then a write),
 * single-step traps (EFLAGS.TF) and the 16-bit IP wrap (RIP wraps at 4 GiB outside
 * 64-bit mode).
 */
#ifndef VMM_EMULATE_EMULATE_H
#define VMM_EMULATE_EMULATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86.h"
#include "vmm/emulate/decode.h"

/* EFLAGS bits the emulator reads or writes (SDM Vol. 1 3.4.3). */
#define EMU_FLAG_CF RFLAGS_CF
#define EMU_FLAG_PF RFLAGS_PF
#define EMU_FLAG_AF RFLAGS_AF
#define EMU_FLAG_ZF RFLAGS_ZF
#define EMU_FLAG_SF RFLAGS_SF
#define EMU_FLAG_DF RFLAGS_DF
#define EMU_FLAG_OF RFLAGS_OF
#define EMU_FLAGS_ARITH (EMU_FLAG_CF | EMU_FLAG_PF | EMU_FLAG_AF | EMU_FLAG_ZF | \
                         EMU_FLAG_SF | EMU_FLAG_OF)

/* Which memory operand of the instruction an access is for. */
enum emu_operand {
    EMU_OPND_EA,    /* the ModRM or moffs operand, in insn_mem_seg() */
    EMU_OPND_SRC,   /* the source of MOVS/LODS: seg:rSI (DS unless overridden) */
    EMU_OPND_DST,   /* the destination of MOVS/STOS: ES:rDI */
};

/* One memory access. The emulator never decides which access is the MMIO one: it
 * gives the segment and offset of every access, and the caller translates each one
 * (segment base, guest page tables) and sends it to RAM or to a device by the
 * guest-physical address it reaches. So MOVS works whichever side is MMIO (or both),
 * and a REP that walks from a device into RAM or into another device stays right. */
struct emu_access {
    enum emu_operand operand;
    uint8_t seg;            /* enum insn_seg */
    uint64_t offset;        /* the effective address, truncated to the address size */
    uint8_t size;           /* 1, 2, 4 or 8 */
    bool write;
};

struct emu_ops {
    /* Do one access. A write stores the low `size` bytes of *val; a read sets *val
     * (bits above size*8 are ignored). false: the access did not happen (a fault was
     * injected, or the VM stopped): the emulator returns EMU_ABORT. A read-modify-
     * write instruction reads first and writes second; a plain MOV store does not
     * read. */
    bool (*access)(void *ctx, const struct emu_access *a, uint64_t *val);
};

/* The registers the emulator may read and update. gpr[] is indexed by enum
 * insn_gpr and must hold RSP too. rip is the address of the instruction. */
struct emu_state {
    uint64_t gpr[16];
    uint64_t rflags;
    uint64_t rip;
};

enum emu_result {
    EMU_DONE,         /* executed: state updated, rip past the instruction */
    EMU_AGAIN,        /* a REP string instruction did max_iterations of its count:
                         state updated (rSI/rDI/rCX), rip unchanged, so the guest
                         re-executes it for the rest */
    EMU_UNSUPPORTED,  /* not an instruction this emulator covers: nothing done */
    EMU_ABORT,        /* an access callback failed: state reflects what completed
                         (the REP iterations before the failing one; nothing for
                         other instructions), rip unchanged */
};

/* Execute the decoded instruction `in` (insn_decode() must have returned INSN_OK for
 * it) on state `st`. max_iterations bounds the iterations of a REP string
 * instruction in this call (0 counts as 1), so that a long REP stays preemptible. */
enum emu_result emu_execute(const struct insn *in, struct emu_state *st,
                            const struct emu_ops *ops, void *ctx, unsigned max_iterations);

/* A short name for an emu_result. */
const char *emu_result_name(enum emu_result r);

#endif
