/* x86 memory-operand instruction emulator: see emulate.h. Table-driven: one entry
 * per supported opcode of the one-byte and 0F maps (SDM Vol. 2D Tables ),
 * groups resolved by ModRM.reg through small tables (Table A-6); one ALU routine
 * gives results and flags for every arithmetic kind. */
#include "vmm/emulate/emulate.h"

/* What an instruction does with its memory operand. */
enum kind {
    K_NONE,     /* not supported */
    K_GROUP,    /* look up groups[arg][ModRM.reg] */
    K_LOAD,     /* reg = mem */
    K_STORE,    /* mem = reg or imm */
    K_MOVZX,    /* reg = zero-extended mem of arg bytes */
    K_MOVSX,    /* reg = sign-extended mem of arg bytes */
    K_ALU,      /* arg: enum alu; result to mem, or to reg with TO_REG */
    K_TEST,     /* flags of mem AND src */
    K_XCHG,
    K_NOT,
    K_NEG,
    K_INC,
    K_DEC,
    K_BT,       /* arg: enum bt */
    K_MOVS,
    K_STOS,
    K_LODS,
};

/* Group-1 order (ModRM.reg of 80-83) = bits 5:3 of the 00-3F opcodes. */
enum alu { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };
/* Group-8 order minus 4 (ModRM.reg of 0F BA) = bits 4:3 of 0F A3/AB/B3/BB. */
enum bt { BT_BT, BT_BTS, BT_BTR, BT_BTC };

/* Where the other operand comes from. */
enum src { S_NONE, S_REG, S_IMM };

#define TO_REG 1u   /* the register operand is the destination (Gv, Ev forms) */
#define ACC    2u   /* the register operand is rAX (moffs forms), not ModRM.reg */

struct opdef {
    uint8_t kind, arg, src, flags;
};

enum group { GRP1, GRP3, GRP45, GRP11, GRP8, GROUP_COUNT };

#define ALU4(op, a)                                                          \
    [(op)] = { K_ALU, (a), S_REG, 0 }, [(op) + 1] = { K_ALU, (a), S_REG, 0 },  \
    [(op) + 2] = { K_ALU, (a), S_REG, TO_REG }, [(op) + 3] = { K_ALU, (a), S_REG, TO_REG }
#define GRP(g) { K_GROUP, (g), S_NONE, 0 }

static const struct opdef map1[256] = {
    ALU4(0x00, ALU_ADD), ALU4(0x08, ALU_OR), ALU4(0x10, ALU_ADC), ALU4(0x18, ALU_SBB),
    ALU4(0x20, ALU_AND), ALU4(0x28, ALU_SUB), ALU4(0x30, ALU_XOR), ALU4(0x38, ALU_CMP),
    [0x63] = { K_MOVSX, 4, S_NONE, TO_REG },   /* MOVSXD: REX.W only, checked below */
    [0x80] = GRP(GRP1), [0x81] = GRP(GRP1), [0x82] = GRP(GRP1), [0x83] = GRP(GRP1),
    [0x84] = { K_TEST, 0, S_REG, 0 },  [0x85] = { K_TEST, 0, S_REG, 0 },
    [0x86] = { K_XCHG, 0, S_REG, 0 },  [0x87] = { K_XCHG, 0, S_REG, 0 },
    [0x88] = { K_STORE, 0, S_REG, 0 }, [0x89] = { K_STORE, 0, S_REG, 0 },
    [0x8a] = { K_LOAD, 0, S_REG, TO_REG }, [0x8b] = { K_LOAD, 0, S_REG, TO_REG },
    [0xa0] = { K_LOAD, 0, S_REG, TO_REG | ACC }, [0xa1] = { K_LOAD, 0, S_REG, TO_REG | ACC },
    [0xa2] = { K_STORE, 0, S_REG, ACC }, [0xa3] = { K_STORE, 0, S_REG, ACC },
    [0xa4] = { K_MOVS, 0, S_NONE, 0 }, [0xa5] = { K_MOVS, 0, S_NONE, 0 },
    [0xaa] = { K_STOS, 0, S_NONE, 0 }, [0xab] = { K_STOS, 0, S_NONE, 0 },
    [0xac] = { K_LODS, 0, S_NONE, 0 }, [0xad] = { K_LODS, 0, S_NONE, 0 },
    [0xc6] = GRP(GRP11), [0xc7] = GRP(GRP11),
    [0xf6] = GRP(GRP3), [0xf7] = GRP(GRP3),
    [0xfe] = GRP(GRP45), [0xff] = GRP(GRP45),
};

static const struct opdef map0f[256] = {
    [0xa3] = { K_BT, BT_BT, S_REG, 0 },  [0xab] = { K_BT, BT_BTS, S_REG, 0 },
    [0xb3] = { K_BT, BT_BTR, S_REG, 0 }, [0xbb] = { K_BT, BT_BTC, S_REG, 0 },
    [0xba] = GRP(GRP8),
    [0xb6] = { K_MOVZX, 1, S_NONE, TO_REG }, [0xb7] = { K_MOVZX, 2, S_NONE, TO_REG },
    [0xbe] = { K_MOVSX, 1, S_NONE, TO_REG }, [0xbf] = { K_MOVSX, 2, S_NONE, TO_REG },
};

/* By ModRM.reg (SDM Vol. 2D Table A-6). Empty slots: not supported. */
static const struct opdef groups[GROUP_COUNT][8] = {
    [GRP1] = {
        { K_ALU, ALU_ADD, S_IMM, 0 }, { K_ALU, ALU_OR, S_IMM, 0 },
        { K_ALU, ALU_ADC, S_IMM, 0 }, { K_ALU, ALU_SBB, S_IMM, 0 },
        { K_ALU, ALU_AND, S_IMM, 0 }, { K_ALU, ALU_SUB, S_IMM, 0 },
        { K_ALU, ALU_XOR, S_IMM, 0 }, { K_ALU, ALU_CMP, S_IMM, 0 },
    },
    /* F6/F7: TEST Ib/Iz (/1 is an alias of /0 on Intel and AMD CPUs), NOT, NEG;
     * MUL/IMUL/DIV/IDIV are not covered. */
    [GRP3] = { { K_TEST, 0, S_IMM, 0 }, { K_TEST, 0, S_IMM, 0 }, { K_NOT, 0, S_NONE, 0 },
               { K_NEG, 0, S_NONE, 0 } },
    [GRP45] = { { K_INC, 0, S_NONE, 0 }, { K_DEC, 0, S_NONE, 0 } },   /* FE/FF /0 /1 */
    [GRP11] = { { K_STORE, 0, S_IMM, 0 } },                            /* MOV Ev, Iz */
    [GRP8] = { [4] = { K_BT, BT_BT, S_IMM, 0 }, [5] = { K_BT, BT_BTS, S_IMM, 0 },
               [6] = { K_BT, BT_BTR, S_IMM, 0 }, [7] = { K_BT, BT_BTC, S_IMM, 0 } },
};

/* The definition of in's opcode; kind K_NONE if not covered. */
static struct opdef lookup(const struct insn *in)
{
    static const struct opdef none = { K_NONE, 0, S_NONE, 0 };
    if (in->vex_size)
        return none;
    struct opdef d = in->map == INSN_MAP_1BYTE ? map1[in->op]
                   : in->map == INSN_MAP_0F ? map0f[in->op] : none;
    if (d.kind == K_GROUP)
        d = groups[d.arg][(in->modrm >> 3) & 7];
    /* 63 is ARPL outside 64-bit mode; MOVSXD without REX.W is not covered. */
    if (in->map == INSN_MAP_1BYTE && in->op == 0x63 &&
        !(in->mode == MODE_LONG64 && in->rex_w))
        return none;
    return d;
}

/* --- values ------------------------------------------------------------------- */

static uint64_t sign_extend(uint64_t v, unsigned size)
{
    unsigned sh = 64 - 8 * size;
    return (uint64_t)((int64_t)(v << sh) >> sh);
}

/* A general register as an operand of `size` bytes. Without a REX prefix, byte
 * registers 4-7 are AH, CH, DH, BH (SDM Vol. 2A 2.1.5 Table 2-1 note, 2.2.1.2). */
static uint64_t reg_get(const struct insn *in, const struct emu_state *st, unsigned r,
                        unsigned size)
{
    if (size == 1 && !in->rex && r >= 4 && r < 8)
        return (st->gpr[r - 4] >> 8) & 0xff;
    return st->gpr[r & 15] & access_size_mask(size);
}

/* Write a register operand (SDM Vol. 1 3.4.1.1): 32-bit results zero-extend, 8- and
 * 16-bit ones leave the other bits. */
static void reg_set(const struct insn *in, struct emu_state *st, unsigned r, unsigned size,
                    uint64_t val)
{
    if (size == 1 && !in->rex && r >= 4 && r < 8) {
        uint64_t *g = &st->gpr[r - 4];
        *g = (*g & ~0xff00ull) | ((val & 0xff) << 8);
    } else if (size >= 4) {
        st->gpr[r & 15] = val & access_size_mask(size);
    } else {
        uint64_t m = access_size_mask(size);
        st->gpr[r & 15] = (st->gpr[r & 15] & ~m) | (val & m);
    }
}

/* A string pointer or count register updated under the address size: 16-bit forms
 * keep bits 63:16, 32-bit forms write the 32-bit register (zero-extending). */
static void addr_reg_set(struct emu_state *st, unsigned r, unsigned addrsize, uint64_t val)
{
    if (addrsize == 2)
        st->gpr[r] = (st->gpr[r] & ~0xffffull) | (val & 0xffff);
    else
        st->gpr[r] = val & access_size_mask(addrsize);
}

/* --- flags -------------------------------------------------------------------- */

/* ZF, SF and PF of a result (PF: even parity of the low byte). */
static uint64_t flags_szp(uint64_t res, unsigned size)
{
    uint64_t f = 0;
    res &= access_size_mask(size);
    if (!res)
        f |= EMU_FLAG_ZF;
    if ((res >> (8 * size - 1)) & 1)
        f |= EMU_FLAG_SF;
    unsigned low = (unsigned)(res & 0xff);
    low ^= low >> 4;
    if (!((0x6996u >> (low & 0xf)) & 1))       /* 0x6996: odd parity of a nibble */
        f |= EMU_FLAG_PF;
    return f;
}

/* The arithmetic kinds: result and flags of a OP b (with the carry-in for ADC/SBB),
 * operands of `size` bytes. CF is the carry (borrow) out of the top bit, OF the
 * signed overflow, AF the carry (borrow) out of bit 3 (SDM Vol. 1 3.4.3.1). *flags
 * holds EFLAGS; the bits the operation defines are replaced. */
static uint64_t alu(unsigned op, uint64_t a, uint64_t b, unsigned size, uint64_t *flags)
{
    uint64_t m = access_size_mask(size), res, f;
    unsigned top = 8 * size - 1;
    uint64_t carry = *flags & EMU_FLAG_CF;
    a &= m;
    b &= m;
    switch (op) {
    case ALU_ADD:
        carry = 0;
        /* fall through */
    case ALU_ADC:
        res = (a + b + carry) & m;
        f = flags_szp(res, size) |
            ((((a & b) | ((a | b) & ~res)) >> top) & 1 ? EMU_FLAG_CF : 0) |
            ((((a ^ res) & (b ^ res)) >> top) & 1 ? EMU_FLAG_OF : 0) |
            (((a ^ b ^ res) >> 4) & 1 ? EMU_FLAG_AF : 0);
        break;
    case ALU_SUB:
    case ALU_CMP:
        carry = 0;
        /* fall through */
    case ALU_SBB:
        res = (a - b - carry) & m;
        f = flags_szp(res, size) |
            ((((~a & b) | ((~a | b) & res)) >> top) & 1 ? EMU_FLAG_CF : 0) |
            ((((a ^ b) & (a ^ res)) >> top) & 1 ? EMU_FLAG_OF : 0) |
            (((a ^ b ^ res) >> 4) & 1 ? EMU_FLAG_AF : 0);
        break;
    default:                  /* AND, OR, XOR: CF = OF = 0; AF undefined, cleared */
        res = op == ALU_AND ? a & b : op == ALU_OR ? a | b : a ^ b;
        f = flags_szp(res, size);
        break;
    }
    *flags = (*flags & ~(uint64_t)EMU_FLAGS_ARITH) | f;
    return res;
}

/* --- execution ---------------------------------------------------------------- */

struct run {
    const struct insn *in;
    struct emu_state *st;
    const struct emu_ops *ops;
    void *ctx;
};

static bool mem(const struct run *r, enum emu_operand which, unsigned seg, uint64_t off,
                unsigned size, bool write, uint64_t *val)
{
    const struct emu_access a = {
        .operand = which, .seg = (uint8_t)seg, .offset = off & insn_addr_mask(r->in),
        .size = (uint8_t)size, .write = write,
    };
    uint64_t v = write ? *val & access_size_mask(size) : 0;
    if (!r->ops->access(r->ctx, &a, &v))
        return false;
    if (!write)
        *val = v & access_size_mask(size);
    return true;
}

static uint64_t next_rip(const struct insn *in, uint64_t rip)
{
    uint64_t n = rip + in->len;
    return in->mode == MODE_LONG64 ? n : (uint32_t)n;
}

/* MOVS, STOS, LODS (SDM Vol. 2B), with REP (Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ"). */
static enum emu_result string_op(const struct run *r, unsigned kind, unsigned max)
{
    const struct insn *in = r->in;
    struct emu_state *st = r->st;
    unsigned size = in->opsize, as = in->addrsize;
    uint64_t amask = insn_addr_mask(in);
    bool rep = in->rep || in->repne;
    uint64_t count = rep ? st->gpr[INSN_RCX] & amask : 1;
    uint64_t step = (st->rflags & EMU_FLAG_DF) ? -(uint64_t)size : size;
    unsigned src_seg = insn_mem_seg(in);     /* DS or the override */

    for (unsigned n = max ? max : 1; count && n; n--) {
        uint64_t v = st->gpr[INSN_RAX];
        if (kind != K_STOS &&
            !mem(r, EMU_OPND_SRC, src_seg, st->gpr[INSN_RSI], size, false, &v))
            return EMU_ABORT;
        if (kind != K_LODS &&
            !mem(r, EMU_OPND_DST, INSN_SEG_ES, st->gpr[INSN_RDI], size, true, &v))
            return EMU_ABORT;
        if (kind == K_LODS)
            reg_set(in, st, INSN_RAX, size, v);
        if (kind != K_STOS)
            addr_reg_set(st, INSN_RSI, as, st->gpr[INSN_RSI] + step);
        if (kind != K_LODS)
            addr_reg_set(st, INSN_RDI, as, st->gpr[INSN_RDI] + step);
        count--;
        if (rep)
            addr_reg_set(st, INSN_RCX, as, count);
    }
    if (count)
        return EMU_AGAIN;
    st->rip = next_rip(in, st->rip);
    return EMU_DONE;
}

enum emu_result emu_execute(const struct insn *in, struct emu_state *st,
                            const struct emu_ops *ops, void *ctx, unsigned max_iterations)
{
    if (!in || !st || !ops || !ops->access)
        return EMU_UNSUPPORTED;
    const struct opdef d = lookup(in);
    const struct run r = { in, st, ops, ctx };
    if (d.kind == K_MOVS || d.kind == K_STOS || d.kind == K_LODS)
        return string_op(&r, d.kind, max_iterations);
    if (d.kind == K_NONE || !in->has_mem)
        return EMU_UNSUPPORTED;

    const unsigned size = in->opsize;
    const uint64_t m = access_size_mask(size), rip = next_rip(in, st->rip);
    const unsigned reg = (d.flags & ACC) ? INSN_RAX : in->reg;
    const unsigned seg = insn_mem_seg(in);
    uint64_t ea = insn_effective_addr(in, st->gpr, st->rip + in->len);
    uint64_t regv = reg_get(in, st, reg, size);
    uint64_t src = d.src == S_IMM ? sign_extend(in->imm, in->imm_size ? in->imm_size : 1) & m
                                  : regv;
    uint64_t flags = st->rflags, val = 0, res;

    switch (d.kind) {
    case K_STORE:
        if (!mem(&r, EMU_OPND_EA, seg, ea, size, true, &src))
            return EMU_ABORT;
        break;
    case K_LOAD:
        if (!mem(&r, EMU_OPND_EA, seg, ea, size, false, &val))
            return EMU_ABORT;
        reg_set(in, st, reg, size, val);
        break;
    case K_MOVZX:
    case K_MOVSX:
        if (!mem(&r, EMU_OPND_EA, seg, ea, d.arg, false, &val))
            return EMU_ABORT;
        if (d.kind == K_MOVSX)
            val = sign_extend(val, d.arg);
        reg_set(in, st, reg, size, val & m);
        break;
    case K_ALU:
        if (!mem(&r, EMU_OPND_EA, seg, ea, size, false, &val))
            return EMU_ABORT;
        if (d.flags & TO_REG) {
            res = alu(d.arg, regv, val, size, &flags);
            if (d.arg != ALU_CMP)
                reg_set(in, st, reg, size, res);
        } else {
            res = alu(d.arg, val, src, size, &flags);
            if (d.arg != ALU_CMP && !mem(&r, EMU_OPND_EA, seg, ea, size, true, &res))
                return EMU_ABORT;
        }
        break;
    case K_TEST:
        if (!mem(&r, EMU_OPND_EA, seg, ea, size, false, &val))
            return EMU_ABORT;
        alu(ALU_AND, val, src, size, &flags);
        break;
    case K_XCHG:
        if (!mem(&r, EMU_OPND_EA, seg, ea, size, false, &val) ||
            !mem(&r, EMU_OPND_EA, seg, ea, size, true, &regv))
            return EMU_ABORT;
        reg_set(in, st, reg, size, val);
        break;
    case K_NOT:
    case K_NEG:
    case K_INC:
    case K_DEC:
        if (!mem(&r, EMU_OPND_EA, seg, ea, size, false, &val))
            return EMU_ABORT;
        if (d.kind == K_NOT) {
            res = ~val & m;
        } else if (d.kind == K_NEG) {
            res = alu(ALU_SUB, 0, val, size, &flags);
        } else {                    /* INC/DEC leave CF (SDM Vol. 2A INC, DEC) */
            res = alu(d.kind == K_INC ? ALU_ADD : ALU_SUB, val, 1, size, &flags);
            flags = (flags & ~(uint64_t)EMU_FLAG_CF) | (st->rflags & EMU_FLAG_CF);
        }
        if (!mem(&r, EMU_OPND_EA, seg, ea, size, true, &res))
            return EMU_ABORT;
        break;
    case K_BT: {
        /* SDM Vol. 2A BT: with a register bit offset on a memory operand, the offset
         * is signed and of the operand size, and selects the operand at EA +
         * size * (offset SAR log2(bits)); an immediate is taken modulo bits. */
        unsigned bits = 8 * size, shift = size == 2 ? 4 : size == 4 ? 5 : 6;
        uint64_t bit;
        if (d.src == S_REG) {
            int64_t off = (int64_t)sign_extend(regv, size);
            ea += (uint64_t)(off >> shift) * size;
            bit = (uint64_t)off & (bits - 1);
        } else {
            bit = in->imm & (bits - 1);
        }
        if (!mem(&r, EMU_OPND_EA, seg, ea, size, false, &val))
            return EMU_ABORT;
        flags = (flags & ~(uint64_t)EMU_FLAG_CF) | ((val >> bit) & 1);
        res = d.arg == BT_BTS ? val | (1ull << bit)
            : d.arg == BT_BTR ? val & ~(1ull << bit)
            : val ^ (1ull << bit);
        if (d.arg != BT_BT && !mem(&r, EMU_OPND_EA, seg, ea, size, true, &res))
            return EMU_ABORT;
        break;
    }
    default:
        return EMU_UNSUPPORTED;
    }
    st->rflags = flags;
    st->rip = rip;
    return EMU_DONE;
}

const char *emu_result_name(enum emu_result r)
{
    switch (r) {
    case EMU_DONE: return "done";
    case EMU_AGAIN: return "again";
    case EMU_UNSUPPORTED: return "unsupported";
    case EMU_ABORT: return "aborted";
    }
    return "?";
}
