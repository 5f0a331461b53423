/* x86 instruction decoder for 16-, 32- and 64-bit code (pure logic).
 *
 * Finds the length of any instruction of the one-byte, 0F, 0F38 and 0F3A opcode maps
 * (legacy, REX, VEX and EVEX encoded) and splits it into its fields: prefixes, opcode,
 * ModRM, SIB, displacement and immediates, with the effective operand and address
 * sizes and, for a memory operand, its base/index/scale. Uses: the length of the
 * instruction behind a VM exit when the CPU does not say (AMD without NRIP save,
 * e.g. QEMU's TCG SVM) and the operand decode for MMIO emulation.
 *
 * References: Intel SDM Vol. 2A ch. 2 (instruction format: 2.1 prefixes, Tables
 * 2-1/2-2/2-3 ModRM and SIB addressing forms, 2.2.1 REX, 2.3 VEX, 2.7 EVEX) and
 * Vol. 2D Appendix A (opcode maps: Table A-2 one-byte, A-3 two-byte, A-4/A-5
 * three-byte, A-6 opcode groups, A-7..A-22 x87 escapes).
 *
 * Decoding is for length and operands, not full validity. INSN_ERR_INVALID (#UD) is
 * given for opcodes undefined in the mode (Table blanks, the "i64" rows in
 * 64-bit mode), undefined group slots (Table A-6), register forms of memory-only
 * opcodes (LEA, LSS/LFS/LGS, far CALL/JMP Ev, LES/LDS/BOUND in real mode) and VEX
 * after 66/F2/F3/F0/REX; but not for LOCK misuse, missing mandatory prefixes, VEX
 * opcodes that do not exist, or instructions the vCPU's CPUID does not offer.
 *
 * Vendor differences: near branches in 64-bit mode ignore 66 as on Intel (an AMD CPU
 * takes a rel16 there; no VM exit is ever caused by a near branch, so this only
 * matters to a disassembler); SYSCALL/SYSRET decode in every mode, and 3DNow! and
 * SSE4a EXTRQ/INSERTQ decode, as on AMD; AMD's XOP is INSN_ERR_UNSUPPORTED.
 */
#ifndef VMM_EMULATE_DECODE_H
#define VMM_EMULATE_DECODE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The decode mode: what CS.D/CS.L, CR0.PE, EFLAGS.VM and EFER.LMA select.
 * Compatibility mode (LMA=1, CS.L=0) decodes as MODE_PROT32 or MODE_PROT16 by CS.D;
 * virtual-8086 mode decodes as MODE_REAL16. */
enum cpu_mode { MODE_REAL16, MODE_PROT16, MODE_PROT32, MODE_LONG64 };

/* The architectural maximum instruction length (SDM Vol. 2A 2.1: more gives #GP). */
#define INSN_MAX_LEN 15

/* insn_decode() results. */
enum insn_error {
    INSN_OK = 0,
    INSN_ERR_TRUNCATED = -1,   /* the bytes end before the instruction does: give more */
    INSN_ERR_TOO_LONG = -2,    /* the instruction would exceed 15 bytes (#GP) */
    INSN_ERR_INVALID = -3,     /* an undefined opcode in this mode (#UD) */
    INSN_ERR_UNSUPPORTED = -4, /* a valid encoding hv86 does not decode: AMD XOP, EVEX
                                  maps 4 and 7 (APX) */
    INSN_ERR_ARG = -5,         /* NULL pointer or unknown mode */
};

/* Opcode maps (SDM Vol. 2D A.3). */
enum insn_map {
    INSN_MAP_1BYTE = 1,   /* Table A-2 */
    INSN_MAP_0F = 2,      /* Table A-3 (also 3DNow!: 0F 0F, op suffix in imm) */
    INSN_MAP_0F38 = 3,    /* Table A-4 */
    INSN_MAP_0F3A = 4,    /* Table A-5 */
    INSN_MAP_5 = 5,       /* EVEX only (AVX512-FP16) */
    INSN_MAP_6 = 6,
};

/* Segment registers, numbered as the Sreg field of MOV Sreg encodes them (ES=0 ...
 * GS=5, the same numbers as enum seg_reg in vmm/vcpu.h); also the targets of the
 * segment-override prefixes. */
enum insn_seg {
    INSN_SEG_ES, INSN_SEG_CS, INSN_SEG_SS, INSN_SEG_DS, INSN_SEG_FS, INSN_SEG_GS,
    INSN_SEG_NONE = 0xff
};

/* General registers in encoding order (RAX=0 ... RDI=7, R8 ... R15), the same numbers
 * as enum gpr in vmm/vcpu.h, so a vCPU's gpr[] array can be passed as it is. */
enum insn_gpr {
    INSN_RAX, INSN_RCX, INSN_RDX, INSN_RBX, INSN_RSP, INSN_RBP, INSN_RSI, INSN_RDI,
    INSN_R8, INSN_R9, INSN_R10, INSN_R11, INSN_R12, INSN_R13, INSN_R14, INSN_R15,
};

#define INSN_NO_REG (-1)

struct insn {
    uint8_t len;            /* total length in bytes, 1..15 */
    enum cpu_mode mode;

    /* Prefixes (SDM Vol. 2A 2.1.1). */
    uint8_t num_prefixes;   /* legacy + REX bytes before the opcode (or VEX) */
    uint8_t seg_override;   /* enum insn_seg; INSN_SEG_NONE if none. In 64-bit mode the
                               ES/CS/SS/DS overrides are ignored, as by the CPU */
    bool opsize_prefix;     /* 66 seen */
    bool addrsize_prefix;   /* 67 seen */
    bool lock;              /* F0 */
    bool rep;               /* F3 (REP/REPE, or a mandatory prefix of an SSE opcode) */
    bool repne;             /* F2 */
    uint8_t rex;            /* the REX byte (0x40-0x4f) in effect, 0 if none */
    bool rex_w, rex_r, rex_x, rex_b; /* REX or VEX bits (VEX ones un-inverted) */

    /* VEX (SDM Vol. 2A 2.3) and EVEX (2.7). vex_size is 0 (neither), 2 (C5), 3 (C4) or
     * 4 (EVEX, 62). EVEX is decoded for length and registers only: its disp8 is
     * kept unscaled (the CPU multiplies it by an operand-dependent N). */
    uint8_t vex_size;
    uint8_t vex_vvvv;       /* un-inverted register specifier (low 4 bits) */
    uint8_t vex_l;          /* VEX.L; EVEX.L'L */
    uint8_t vex_pp;         /* implied prefix: 0 none, 1 66, 2 F3, 3 F2 */

    /* Opcode. opcode[] holds the bytes as in the legacy encoding (0F, 0F 38 ...),
     * also for VEX, where the escape bytes are implied; op is the last one. */
    enum insn_map map;
    uint8_t opcode_bytes;
    uint8_t opcode[3];
    uint8_t op;

    /* ModRM / SIB (Tables 2-1..2-3). reg and rm include REX.R / REX.B. With byte
     * operands and no REX prefix, register numbers 4-7 name AH, CH, DH, BH. */
    bool has_modrm;
    uint8_t modrm, mod, reg, rm;
    bool has_sib;
    uint8_t sib;

    /* The memory operand, if any (ModRM with mod != 3, or moffs of A0-A3).
     * Effective address = base + index * scale + disp (+ next RIP if rip_relative),
     * truncated to addrsize. The implicit operands of string instructions
     * (DS:rSI, ES:rDI) are not described here: see insn_addr_mask(). */
    bool has_mem;
    int base_reg, index_reg; /* enum insn_gpr or INSN_NO_REG */
    uint8_t scale;          /* 1, 2, 4 or 8 */
    bool rip_relative;
    int64_t disp;           /* sign-extended; a moffs is zero-extended */
    uint8_t disp_size;      /* 0, 1, 2, 4 or 8 (moffs in 64-bit mode) */

    /* Immediates, zero-extended raw values. imm2 is the second immediate of ENTER
     * (Ib), far CALL/JMP ptr16:16/32 (the selector) and SSE4a EXTRQ/INSERTQ (Ib). */
    uint64_t imm;
    uint8_t imm_size;
    uint64_t imm2;
    uint8_t imm2_size;
    bool rel;               /* imm is a branch displacement relative to next RIP */

    /* Effective sizes in bytes. opsize is 1 for byte-operand opcodes (88, C6, A4 ...),
     * else 2, 4 or 8 from the mode, 66 and REX.W, with 64-bit defaults in long mode
     * for stack and near-branch instructions (SDM Vol. 1 3.6 / Vol. 2A 2.2.1.7).
     * addrsize is 2, 4 or 8. */
    uint8_t opsize;
    uint8_t addrsize;
};

/* Decode the instruction at bytes[0 .. avail-1]. Never reads at or past bytes[avail]
 * (nor past bytes[14]). Returns INSN_OK or an enum insn_error; *out is filled as far
 * as decoding went, and is complete only on INSN_OK. */
int insn_decode(const uint8_t *bytes, size_t avail, enum cpu_mode mode, struct insn *out);

/* A short name for an insn_decode() result. */
const char *insn_strerror(int err);

/* The effective address (segment offset) of the memory operand, from the guest's
 * general registers (indexed by enum insn_gpr) and the address of the next
 * instruction (RIP + len), truncated to the address size: 16-bit forms wrap at 64K,
 * 32-bit forms at 4G. 0 if the instruction has no memory operand. */
uint64_t insn_effective_addr(const struct insn *in, const uint64_t gpr[16],
                             uint64_t rip_next);

/* The segment of the memory operand: the override if any, else SS for rBP/rSP-based
 * forms and DS otherwise (SDM Vol. 1 3.7.4). For string instructions this is the
 * source segment (DS:rSI); their destination is always ES:rDI. */
enum insn_seg insn_mem_seg(const struct insn *in);

/* The mask of the address size: 0xffff, 0xffffffff or ~0. rSI/rDI/rCX of string
 * instructions are used (and updated) under this mask. */
uint64_t insn_addr_mask(const struct insn *in);
/* Is in a HLT (F4 in the one-byte map, legacy prefixes allowed; not 0F F4, PMULUDQ,
 * nor its VEX form)? */
bool insn_is_hlt(const struct insn *in);

#endif
