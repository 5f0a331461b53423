/* x86 instruction decoder: see decode.h. Table-driven: one flags word per opcode of
 * the one-byte and 0F maps (SDM Vol. 2D Tables ), rows of 16 as in the
 * SDM's map; the 0F38 map is all "ModRM, no immediate" and the 0F3A map all "ModRM +
 * imm8" (Tables ). A handful of opcodes whose length depends on more than
 * the opcode byte are handled in code and marked "special" below. */
#include "vmm/emulate/decode.h"

/* Immediate kinds (low 4 bits of a table entry). */
enum {
    I_NONE,
    I_B,      /* Ib / Jb: 1 byte */
    I_W,      /* Iw: 2 bytes */
    I_Z,      /* Iz / Jz: 2 bytes with 16-bit operand size, else 4 */
    I_V,      /* Iv: the operand size, 2, 4 or 8 (only MOV r, imm: B8+r) */
    I_MOFFS,  /* Ob / Ov: an offset of the address size (A0-A3) */
    I_ENTER,  /* Iw, Ib (C8) */
    I_FAR,    /* Ap: Iz offset, then a 16-bit selector (9A, EA) */
    I_GRP3,   /* F6/F7: Ib/Iz for /0 and /1 (TEST) only */
};

#define F_IMM   0x000f
#define F_MODRM 0x0010  /* a ModRM byte follows the opcode */
#define F_BYTE  0x0020  /* byte operand size */
#define F_I64   0x0040  /* invalid in 64-bit mode */
#define F_BAD   0x0080  /* undefined in every mode */
#define F_D64   0x0100  /* 64-bit mode: operand size defaults to 64 (66: 16) */
#define F_F64   0x0200  /* 64-bit mode: operand size is 64, 66 is ignored (Intel) */
#define F_REL   0x0400  /* the immediate is a relative branch target */
#define F_PFX   0x0800  /* a prefix: consumed before the table is consulted */
#define F_ESC   0x1000  /* 0F: escape to the two-byte map */
#define F_MEM   0x2000  /* the ModRM must name memory (mod != 3), else #UD */

/* Short names for the tables only, after the SDM's operand codes (A.2): M = has
 * ModRM, B = byte operands, NL = invalid in 64-bit mode ("i64"), D = "d64", X =
 * undefined, P = prefix, MM = ModRM naming memory only. */
#define _   0
#define M   F_MODRM
#define MB  (F_MODRM | F_BYTE)
#define B   F_BYTE
#define Ib  I_B
#define Iw  I_W
#define Iz  I_Z
#define Jb  (I_B | F_REL | F_F64)
#define Jz  (I_Z | F_REL | F_F64)
#define X   F_BAD
#define NL  F_I64
#define D   F_D64
#define P   F_PFX
#define MM  (F_MODRM | F_MEM)
#define Ob  I_MOFFS
#define Ap  I_FAR
#define G3  I_GRP3
#define En  I_ENTER
#define Iv  I_V
#define F64 F_F64
#define ESC F_ESC

/* One-byte opcode map, SDM Vol. 2D Table A-2, each row in two halves as there. */
static const uint16_t map1[256] = {
    /* 00: ADD x6, PUSH ES, POP ES */
    MB,       M,        MB,       M,        B|Ib,     Iz,       NL,       NL,
    /* 08: OR x6, PUSH CS, 0F escape */
    MB,       M,        MB,       M,        B|Ib,     Iz,       NL,       ESC,
    /* 10: ADC x6, PUSH SS, POP SS */
    MB,       M,        MB,       M,        B|Ib,     Iz,       NL,       NL,
    /* 18: SBB x6, PUSH DS, POP DS */
    MB,       M,        MB,       M,        B|Ib,     Iz,       NL,       NL,
    /* 20: AND x6, ES:, DAA */
    MB,       M,        MB,       M,        B|Ib,     Iz,       P,        NL,
    /* 28: SUB x6, CS:, DAS */
    MB,       M,        MB,       M,        B|Ib,     Iz,       P,        NL,
    /* 30: XOR x6, SS:, AAA */
    MB,       M,        MB,       M,        B|Ib,     Iz,       P,        NL,
    /* 38: CMP x6, DS:, AAS */
    MB,       M,        MB,       M,        B|Ib,     Iz,       P,        NL,
    /* 40: INC r */
    _,        _,        _,        _,        _,        _,        _,        _,
    /* 48: DEC r (REX prefixes in 64-bit mode) */
    _,        _,        _,        _,        _,        _,        _,        _,
    /* 50: PUSH r */
    D,        D,        D,        D,        D,        D,        D,        D,
    /* 58: POP r */
    D,        D,        D,        D,        D,        D,        D,        D,
    /* 60: PUSHA POPA BOUND(special: EVEX) ARPL/MOVSXD FS: GS: 66 67 */
    NL,       NL,       M|NL,     M,        P,        P,        P,        P,
    /* 68: PUSH Iz, IMUL Iz, PUSH Ib, IMUL Ib, INS, OUTS */
    Iz|D,     M|Iz,     Ib|D,     M|Ib,     B,        _,        B,        _,
    /* 70: Jcc rel8 */
    Jb,       Jb,       Jb,       Jb,       Jb,       Jb,       Jb,       Jb,
    Jb,       Jb,       Jb,       Jb,       Jb,       Jb,       Jb,       Jb,
    /* 80: Grp1 x4, TEST, XCHG */
    MB|Ib,    M|Iz,     MB|Ib|NL, M|Ib,     MB,       M,        MB,       M,
    /* 88: MOV x4, MOV Ev,Sreg, LEA, MOV Sreg,Ew, Grp1A POP Ev (special: XOP) */
    MB,       M,        MB,       M,        M,        MM,       M,        M|D,
    /* 90: XCHG r,rAX (NOP) */
    _,        _,        _,        _,        _,        _,        _,        _,
    /* 98: CBW CWD CALLF FWAIT PUSHF POPF SAHF LAHF */
    _,        _,        Ap|NL,    _,        D,        D,        _,        _,
    /* A0: MOV AL/rAX,moffs, MOV moffs,AL/rAX, MOVS, CMPS */
    Ob|B,     Ob,       Ob|B,     Ob,       B,        _,        B,        _,
    /* A8: TEST AL,Ib, TEST rAX,Iz, STOS, LODS, SCAS */
    B|Ib,     Iz,       B,        _,        B,        _,        B,        _,
    /* B0: MOV r8,imm8 */
    B|Ib,     B|Ib,     B|Ib,     B|Ib,     B|Ib,     B|Ib,     B|Ib,     B|Ib,
    /* B8: MOV r,imm16/32/64 */
    Iv,       Iv,       Iv,       Iv,       Iv,       Iv,       Iv,       Iv,
    /* C0: Grp2 Ib, RET Iw, RET, LES/VEX3, LDS/VEX2 (special), Grp11 MOV */
    MB|Ib,    M|Ib,     Iw|F64,   F64,      M|NL,     M|NL,     MB|Ib,    M|Iz,
    /* C8: ENTER, LEAVE, RETF Iw, RETF, INT3, INT Ib, INTO, IRET */
    En|D,     D,        Iw,       _,        _,        Ib,       NL,       _,
    /* D0: Grp2 1/CL, AAM, AAD, SALC, XLAT */
    MB,       M,        MB,       M,        Ib|NL,    Ib|NL,    NL,       B,
    /* D8: x87 escapes */
    M,        M,        M,        M,        M,        M,        M,        M,
    /* E0: LOOPNE LOOPE LOOP JrCXZ, IN/OUT imm8 */
    Jb,       Jb,       Jb,       Jb,       B|Ib,     Ib,       B|Ib,     Ib,
    /* E8: CALL, JMP, JMPF, JMP rel8, IN/OUT DX */
    Jz,       Jz,       Ap|NL,    Jb,       B,        _,        B,        _,
    /* F0: LOCK INT1 REPNE REP HLT CMC Grp3 Grp3 */
    P,        _,        P,        P,        _,        _,        MB|G3,    M|G3,
    /* F8: CLC STC CLI STI CLD STD Grp4 Grp5 */
    _,        _,        _,        _,        _,        _,        MB,       M,
};

/* Two-byte opcode map (0F xx), SDM Vol. 2D Table A-3. */
static const uint16_t map0f[256] = {
    /* 00: Grp6 Grp7 LAR LSL - SYSCALL CLTS SYSRET */
    M,        M,        M,        M,        X,        _,        _,        _,
    /* 08: INVD WBINVD - UD2 - PREFETCH FEMMS 3DNow! (imm8 = opcode) */
    _,        _,        X,        _,        X,        M,        _,        M|Ib,
    /* 10: SSE moves */
    M,        M,        M,        M,        M,        M,        M,        M,
    /* 18: Grp16 prefetch, hint NOPs, ENDBR */
    M,        M,        M,        M,        M,        M,        M,        M,
    /* 20: MOV r,CR  MOV r,DR  MOV CR,r  MOV DR,r (special: mod ignored), - x4 */
    M,        M,        M,        M,        X,        X,        X,        X,
    /* 28: SSE */
    M,        M,        M,        M,        M,        M,        M,        M,
    /* 30: WRMSR RDTSC RDMSR RDPMC SYSENTER SYSEXIT - GETSEC */
    _,        _,        _,        _,        _,        _,        X,        _,
    /* 38: 0F38 - 0F3A - x5 */
    ESC,      X,        ESC,      X,        X,        X,        X,        X,
    /* 40: CMOVcc */
    M,        M,        M,        M,        M,        M,        M,        M,
    M,        M,        M,        M,        M,        M,        M,        M,
    /* 50: SSE */
    M,        M,        M,        M,        M,        M,        M,        M,
    M,        M,        M,        M,        M,        M,        M,        M,
    /* 60: MMX/SSE */
    M,        M,        M,        M,        M,        M,        M,        M,
    M,        M,        M,        M,        M,        M,        M,        M,
    /* 70: PSHUF, Grp12-14 (imm8), PCMPEQ x3, EMMS */
    M|Ib,     M|Ib,     M|Ib,     M|Ib,     M,        M,        M,        _,
    /* 78: VMREAD/EXTRQ (special), VMWRITE, -, -, SSE */
    M,        M,        X,        X,        M,        M,        M,        M,
    /* 80: Jcc rel16/32 */
    Jz,       Jz,       Jz,       Jz,       Jz,       Jz,       Jz,       Jz,
    Jz,       Jz,       Jz,       Jz,       Jz,       Jz,       Jz,       Jz,
    /* 90: SETcc */
    MB,       MB,       MB,       MB,       MB,       MB,       MB,       MB,
    MB,       MB,       MB,       MB,       MB,       MB,       MB,       MB,
    /* A0: PUSH FS, POP FS, CPUID, BT, SHLD Ib, SHLD CL, -, - */
    D,        D,        _,        M,        M|Ib,     M,        X,        X,
    /* A8: PUSH GS, POP GS, RSM, BTS, SHRD Ib, SHRD CL, Grp15, IMUL */
    D,        D,        _,        M,        M|Ib,     M,        M,        M,
    /* B0: CMPXCHG x2, LSS, BTR, LFS, LGS, MOVZX x2 */
    MB,       M,        MM,       M,        MM,       MM,       M,        M,
    /* B8: POPCNT, UD1, Grp8 (imm8), BTC, BSF, BSR, MOVSX x2 */
    M,        M,        M|Ib,     M,        M,        M,        M,        M,
    /* C0: XADD x2, CMPPS, MOVNTI, PINSRW, PEXTRW, SHUFPS (imm8), Grp9 */
    MB,       M,        M|Ib,     M,        M|Ib,     M|Ib,     M|Ib,     M,
    /* C8: BSWAP */
    _,        _,        _,        _,        _,        _,        _,        _,
    /* D0: MMX/SSE */
    M,        M,        M,        M,        M,        M,        M,        M,
    M,        M,        M,        M,        M,        M,        M,        M,
    /* E0: MMX/SSE */
    M,        M,        M,        M,        M,        M,        M,        M,
    M,        M,        M,        M,        M,        M,        M,        M,
    /* F0: MMX/SSE, UD0 */
    M,        M,        M,        M,        M,        M,        M,        M,
    M,        M,        M,        M,        M,        M,        M,        M,
};

#undef _
#undef M
#undef MB
#undef B
#undef Ib
#undef Iw
#undef Iz
#undef Jb
#undef Jz
#undef X
#undef NL
#undef D
#undef P
#undef MM
#undef Ob
#undef Ap
#undef G3
#undef En
#undef Iv
#undef F64
#undef ESC

/* A read cursor over the caller's bytes: every read goes through take(). */
struct cursor {
    const uint8_t *b;
    size_t avail;
    unsigned pos;
};

/* Read n (1..8) little-endian bytes. The 15-byte limit is checked first so that a
 * too-long instruction is reported as such however many bytes the caller has. */
static int take(struct cursor *c, unsigned n, uint64_t *val)
{
    *val = 0;
    if (c->pos + n > INSN_MAX_LEN)
        return INSN_ERR_TOO_LONG;
    if (c->pos + n > c->avail)
        return INSN_ERR_TRUNCATED;
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)c->b[c->pos + i] << (8 * i);
    c->pos += n;
    *val = v;
    return INSN_OK;
}

static int take8(struct cursor *c, uint8_t *val)
{
    uint64_t v;
    int err = take(c, 1, &v);
    *val = (uint8_t)v;
    return err;
}

/* Look at the next byte without consuming it. */
static int peek8(const struct cursor *c, uint8_t *val)
{
    struct cursor t = *c;
    return take8(&t, val);
}

static int64_t sign_extend(uint64_t v, unsigned bytes)
{
    if (bytes == 0 || bytes >= 8)
        return (int64_t)v;
    unsigned shift = 64 - 8 * bytes;
    return (int64_t)(v << shift) >> shift;
}

/* ModRM, SIB and displacement: SDM Vol. 2A Table 2-1 (16-bit addressing), Tables 2-2
 * and 2-3 (32-bit), 2.2.1.3-2.2.1.6 (REX.X/B extensions, RIP-relative in 64-bit mode).
 * no_mem: the mod field is ignored and the operand is a register (MOV CR/DR). */
static int decode_modrm(struct cursor *c, struct insn *in, bool no_mem)
{
    int err = take8(c, &in->modrm);
    if (err)
        return err;
    in->has_modrm = true;
    in->mod = in->modrm >> 6;
    in->reg = (uint8_t)(((in->modrm >> 3) & 7) | (in->rex_r ? 8 : 0));
    uint8_t rm = in->modrm & 7;
    in->rm = (uint8_t)(rm | (in->rex_b ? 8 : 0));
    if (in->mod == 3 || no_mem)
        return INSN_OK;

    in->has_mem = true;
    in->scale = 1;
    unsigned dsize;

    if (in->addrsize == 2) {
        /* BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (disp16 if mod=0), BX */
        static const int8_t base16[8] = { INSN_RBX, INSN_RBX, INSN_RBP, INSN_RBP,
                                          INSN_RSI, INSN_RDI, INSN_RBP, INSN_RBX };
        static const int8_t index16[8] = { INSN_RSI, INSN_RDI, INSN_RSI, INSN_RDI,
                                           INSN_NO_REG, INSN_NO_REG, INSN_NO_REG,
                                           INSN_NO_REG };
        in->base_reg = base16[rm];
        in->index_reg = index16[rm];
        if (in->mod == 0 && rm == 6) {       /* [disp16] */
            in->base_reg = INSN_NO_REG;
            dsize = 2;
        } else {
            dsize = in->mod == 1 ? 1 : in->mod == 2 ? 2 : 0;
        }
    } else {
        in->base_reg = in->rm;
        in->index_reg = INSN_NO_REG;
        if (rm == 4) {                       /* SIB follows */
            err = take8(c, &in->sib);
            if (err)
                return err;
            in->has_sib = true;
            unsigned idx = ((in->sib >> 3) & 7) | (in->rex_x ? 8 : 0);
            in->index_reg = idx == 4 ? INSN_NO_REG : (int)idx;   /* no index */
            in->scale = (uint8_t)(1u << (in->sib >> 6));
            in->base_reg = (in->sib & 7) | (in->rex_b ? 8 : 0);
            if ((in->sib & 7) == 5 && in->mod == 0)
                in->base_reg = INSN_NO_REG;  /* [index*scale + disp32] */
        } else if (rm == 5 && in->mod == 0) {
            in->base_reg = INSN_NO_REG;      /* disp32, RIP-relative in 64-bit mode */
            in->rip_relative = in->mode == MODE_LONG64;
        }
        if (in->mod == 1)
            dsize = 1;
        else if (in->mod == 2 || in->base_reg == INSN_NO_REG)
            dsize = 4;
        else
            dsize = 0;
    }

    if (dsize) {
        uint64_t v;
        err = take(c, dsize, &v);
        if (err)
            return err;
        in->disp = sign_extend(v, dsize);
        in->disp_size = (uint8_t)dsize;
    }
    return INSN_OK;
}

static int take_imm(struct cursor *c, unsigned size, uint64_t *val, uint8_t *size_out)
{
    *size_out = (uint8_t)size;
    return take(c, size, val);
}

/* VEX prefix (SDM Vol. 2A 2.3.5): C5 = R vvvv L pp; C4 = R X B mmmmm, W vvvv L pp.
 * The caller has consumed C4/C5. Fills the REX-equivalent bits and the map. */
static int decode_vex(struct cursor *c, struct insn *in, uint8_t first)
{
    uint8_t p1, p2;
    int err = take8(c, &p1);
    if (err)
        return err;
    bool x64 = in->mode == MODE_LONG64;
    in->vex_size = first == 0xc5 ? 2 : 3;
    in->rex_r = x64 && !(p1 & 0x80);
    if (first == 0xc5) {
        p2 = p1;
        in->map = INSN_MAP_0F;
    } else {
        in->rex_x = x64 && !(p1 & 0x40);
        in->rex_b = x64 && !(p1 & 0x20);
        switch (p1 & 0x1f) {
        case 1: in->map = INSN_MAP_0F; break;
        case 2: in->map = INSN_MAP_0F38; break;
        case 3: in->map = INSN_MAP_0F3A; break;
        default: return INSN_ERR_INVALID;   /* reserved map: #UD */
        }
        err = take8(c, &p2);
        if (err)
            return err;
        in->rex_w = (p2 & 0x80) != 0;
    }
    in->vex_vvvv = (uint8_t)((~p2 >> 3) & (x64 ? 0xf : 0x7));
    in->vex_l = (p2 >> 2) & 1;
    in->vex_pp = p2 & 3;
    return INSN_OK;
}

/* EVEX prefix (SDM Vol. 2A 2.7.1): 62, P0 = R X B R' 0 mmm, P1 = W vvvv 1 pp,
 * P2 = z L'L b V' aaa. Decoded for length and registers only: a disp8 is stored
 * unscaled (EVEX multiplies it by an operand-dependent N, 2.7.5). */
static int decode_evex(struct cursor *c, struct insn *in)
{
    uint64_t p;
    int err = take(c, 3, &p);
    if (err)
        return err;
    uint8_t p0 = (uint8_t)p, p1 = (uint8_t)(p >> 8), p2 = (uint8_t)(p >> 16);
    bool x64 = in->mode == MODE_LONG64;
    if ((p0 & 0x08) || !(p1 & 0x04))
        return INSN_ERR_INVALID;            /* fixed bits wrong: #UD */
    switch (p0 & 7) {
    case 1: in->map = INSN_MAP_0F; break;
    case 2: in->map = INSN_MAP_0F38; break;
    case 3: in->map = INSN_MAP_0F3A; break;
    case 5: in->map = INSN_MAP_5; break;
    case 6: in->map = INSN_MAP_6; break;
    default: return INSN_ERR_UNSUPPORTED;   /* map 4 (APX), 7: not decoded */
    }
    in->vex_size = 4;
    in->rex_r = x64 && !(p0 & 0x80);
    in->rex_x = x64 && !(p0 & 0x40);
    in->rex_b = x64 && !(p0 & 0x20);
    in->rex_w = (p1 & 0x80) != 0;
    in->vex_vvvv = (uint8_t)((~p1 >> 3) & (x64 ? 0xf : 0x7));
    in->vex_pp = p1 & 3;
    in->vex_l = (p2 >> 5) & 3;
    return INSN_OK;
}

static bool is_16bit_mode(enum cpu_mode m)
{
    return m == MODE_REAL16 || m == MODE_PROT16;
}

/* Legacy prefixes (SDM Vol. 2A 2.1.1), in any number and order up to the 15-byte
 * limit, and REX (2.2.1), which counts only directly before the opcode: a legacy
 * prefix after it cancels it. Leaves the first byte after them in *first. */
static int decode_prefixes(struct cursor *c, struct insn *in, uint8_t *first)
{
    bool x64 = in->mode == MODE_LONG64;
    for (;;) {
        uint8_t b;
        int err = take8(c, &b);
        if (err)
            return err;
        switch (b) {
        case 0x26: case 0x2e: case 0x36: case 0x3e:  /* ES CS SS DS */
            if (!x64)                               /* null prefixes in 64-bit mode */
                in->seg_override = (uint8_t)((b >> 3) & 3);
            break;
        case 0x64: case 0x65:                       /* FS GS */
            in->seg_override = (uint8_t)(INSN_SEG_FS + (b & 1));
            break;
        case 0x66: in->opsize_prefix = true; break;
        case 0x67: in->addrsize_prefix = true; break;
        case 0xf0: in->lock = true; break;
        case 0xf2: in->repne = true; in->rep = false; break;   /* the last of F2/F3 */
        case 0xf3: in->rep = true; in->repne = false; break;   /* counts */
        default:
            if (x64 && (b & 0xf0) == 0x40) {
                in->rex = b;
                continue;
            }
            in->num_prefixes = (uint8_t)(c->pos - 1);
            in->rex_w = (in->rex & 8) != 0;
            in->rex_r = (in->rex & 4) != 0;
            in->rex_x = (in->rex & 2) != 0;
            in->rex_b = (in->rex & 1) != 0;
            *first = b;
            return INSN_OK;
        }
        in->rex = 0;
    }
}

/* The rest of a VEX or EVEX instruction after its prefix: opcode, ModRM (all have
 * one but VZEROUPPER/VZEROALL), imm8 (the whole 0F3A map, and in the 0F map the
 * opcodes that take one in legacy form too: 70-73, C2, C4-C6). */
static int decode_vex_body(struct cursor *c, struct insn *in)
{
    uint8_t o;
    int err = take8(c, &o);
    if (err)
        return err;
    in->op = o;
    /* opcode[] spells the legacy escapes the map stands for (none for the
     * EVEX-only maps 5 and 6). */
    static const uint8_t esc[][2] = { { 0x0f, 0 }, { 0x0f, 0x38 }, { 0x0f, 0x3a } };
    unsigned ne = in->map == INSN_MAP_0F ? 1 : in->map <= INSN_MAP_0F3A ? 2 : 0;
    for (unsigned i = 0; i < ne; i++)
        in->opcode[i] = esc[in->map - INSN_MAP_0F][i];
    in->opcode[ne] = o;
    in->opcode_bytes = (uint8_t)(ne + 1);
    in->opsize = in->mode == MODE_LONG64 && in->rex_w ? 8 : 4;

    if (!(in->vex_size != 4 && in->map == INSN_MAP_0F && o == 0x77)) {
        err = decode_modrm(c, in, false);
        if (err)
            return err;
    }
    if (in->map == INSN_MAP_0F3A || (in->map == INSN_MAP_0F && (map0f[o] & F_IMM) == I_B))
        return take_imm(c, 1, &in->imm, &in->imm_size);
    return INSN_OK;
}

/* Operand size (SDM Vol. 1 3.6; Vol. 2A 2.2.1.7 for the 64-bit defaults). */
static uint8_t operand_size(const struct insn *in, uint16_t f)
{
    bool x64 = in->mode == MODE_LONG64;
    if (f & F_BYTE)
        return 1;
    if (x64 && (in->rex_w || (f & F_F64)))
        return 8;
    if (x64 && (f & F_D64))
        return in->opsize_prefix ? 2 : 8;
    if (x64)
        return in->opsize_prefix ? 2 : 4;
    return is_16bit_mode(in->mode) != in->opsize_prefix ? 2 : 4;
}

/* Opcode-extension slots (ModRM.reg) that are undefined or mean something else, and
 * forms that need a memory operand (SDM Vol. 2D Table A-6). Needs only the ModRM
 * byte, so that an invalid instruction is reported as such before its SIB and
 * displacement arrive. */
static int check_group(enum insn_map map, uint8_t o, uint8_t modrm, uint16_t f)
{
    bool one = map == INSN_MAP_1BYTE, two = map == INSN_MAP_0F;
    unsigned greg = (modrm >> 3) & 7, mod = modrm >> 6;

    if ((f & F_MEM) && mod == 3)
        return INSN_ERR_INVALID;                /* LEA, LSS/LFS/LGS of a register */
    if (one && o == 0x8f && greg != 0)          /* POP Ev is /0; else AMD XOP */
        return (modrm & 0x1f) >= 8 ? INSN_ERR_UNSUPPORTED : INSN_ERR_INVALID;
    if (one && (o == 0xc6 || o == 0xc7) && greg != 0 && modrm != 0xf8)
        return INSN_ERR_INVALID;                /* Grp11: MOV /0, XABORT/XBEGIN F8 */
    if (one && o == 0xfe && greg >= 2)
        return INSN_ERR_INVALID;                /* Grp4: INC/DEC only */
    if (one && o == 0xff && (greg == 7 || ((greg == 3 || greg == 5) && mod == 3)))
        return INSN_ERR_INVALID;                /* Grp5 /7; far CALL/JMP need m16:xx */
    if (two && o == 0x00 && greg >= 6)
        return INSN_ERR_INVALID;                /* Grp6 /6 /7 */
    if (two && o == 0xba && greg < 4)
        return INSN_ERR_INVALID;                /* Grp8: BT/BTS/BTR/BTC are /4-/7 */
    return INSN_OK;
}

/* The immediate operands of a legacy-encoded instruction. */
static int decode_imm(struct cursor *c, struct insn *in, uint16_t f)
{
    unsigned zsize = in->opsize == 2 ? 2 : 4;   /* Iz: 16 or 32 bits, never 64 */
    int err = INSN_OK;

    switch (f & F_IMM) {
    case I_NONE:
        break;
    case I_B:
        err = take_imm(c, 1, &in->imm, &in->imm_size);
        break;
    case I_W:
        err = take_imm(c, 2, &in->imm, &in->imm_size);
        break;
    case I_Z:
        err = take_imm(c, zsize, &in->imm, &in->imm_size);
        break;
    case I_V:                                   /* MOV r, imm64 with REX.W */
        err = take_imm(c, in->opsize, &in->imm, &in->imm_size);
        break;
    case I_MOFFS: {                             /* SDM Vol. 2A 2.2.1.4 */
        uint64_t v;
        err = take(c, in->addrsize, &v);
        in->disp = (int64_t)v;
        in->disp_size = in->addrsize;
        in->has_mem = true;
        break;
    }
    case I_ENTER:
        err = take_imm(c, 2, &in->imm, &in->imm_size);
        if (!err)
            err = take_imm(c, 1, &in->imm2, &in->imm2_size);
        break;
    case I_FAR:
        err = take_imm(c, zsize, &in->imm, &in->imm_size);
        if (!err)
            err = take_imm(c, 2, &in->imm2, &in->imm2_size);
        break;
    case I_GRP3:                                /* TEST Eb,Ib / Ev,Iz are /0 and /1 */
        if (((in->modrm >> 3) & 7) < 2)
            err = take_imm(c, in->opsize == 1 ? 1 : zsize, &in->imm, &in->imm_size);
        break;
    }
    if (err)
        return err;
    in->rel = (f & F_REL) != 0;

    /* SSE4a EXTRQ/INSERTQ with imm8, imm8: 66 0F 78 /0 and F2 0F 78 (AMD APM Vol. 4);
     * without a prefix 0F 78 is VMREAD. */
    if (in->map == INSN_MAP_0F && in->op == 0x78 && (in->opsize_prefix || in->repne)) {
        err = take_imm(c, 1, &in->imm, &in->imm_size);
        if (!err)
            err = take_imm(c, 1, &in->imm2, &in->imm2_size);
    }
    return err;
}

int insn_decode(const uint8_t *bytes, size_t avail, enum cpu_mode mode, struct insn *out)
{
    if (!out)
        return INSN_ERR_ARG;
    *out = (struct insn){ 0 };
    struct insn *in = out;
    in->mode = mode;
    in->seg_override = INSN_SEG_NONE;
    in->base_reg = INSN_NO_REG;
    in->index_reg = INSN_NO_REG;
    in->scale = 1;
    if (!bytes || mode > MODE_LONG64)
        return INSN_ERR_ARG;

    struct cursor cur = { bytes, avail, 0 };
    struct cursor *c = &cur;
    bool x64 = mode == MODE_LONG64;
    uint8_t b;
    int err = decode_prefixes(c, in, &b);
    if (err)
        return err;

    /* Address size (SDM Vol. 1 3.6). */
    if (x64)
        in->addrsize = in->addrsize_prefix ? 4 : 8;
    else if (is_16bit_mode(mode))
        in->addrsize = in->addrsize_prefix ? 4 : 2;
    else
        in->addrsize = in->addrsize_prefix ? 2 : 4;

    in->opcode[0] = b;
    in->opcode_bytes = 1;
    in->map = INSN_MAP_1BYTE;

    /* C4/C5: VEX in 64-bit mode, and in 16/32-bit protected mode when the next byte
     * would be a register-form ModRM (LES/LDS take only memory operands). 62 likewise
     * is EVEX (BOUND takes only memory) (2.3, 2.7). In real mode these are #UD. */
    if (b == 0xc4 || b == 0xc5 || b == 0x62) {
        uint8_t next = 0;
        if (!x64) {
            err = peek8(c, &next);
            if (err)
                return err;
        }
        if (x64 || next >= 0xc0) {
            if (mode == MODE_REAL16)
                return INSN_ERR_INVALID;
            if (in->rex || in->opsize_prefix || in->rep || in->repne || in->lock)
                return INSN_ERR_INVALID;         /* prefixes forbidden with VEX/EVEX */
            err = b == 0x62 ? decode_evex(c, in) : decode_vex(c, in, b);
            if (!err)
                err = decode_vex_body(c, in);
            if (err)
                return err;
            in->len = (uint8_t)c->pos;
            return INSN_OK;
        }
    }

    /* Opcode: one byte, 0F xx, 0F 38 xx or 0F 3A xx. */
    uint8_t o = b;
    uint16_t f = map1[o];
    if (f & F_ESC) {
        err = take8(c, &o);
        if (err)
            return err;
        in->opcode[1] = o;
        in->opcode_bytes = 2;
        in->map = INSN_MAP_0F;
        f = map0f[o];
        if (f & F_ESC) {
            in->map = o == 0x38 ? INSN_MAP_0F38 : INSN_MAP_0F3A;
            err = take8(c, &o);
            if (err)
                return err;
            in->opcode[2] = o;
            in->opcode_bytes = 3;
            f = F_MODRM | (in->map == INSN_MAP_0F3A ? I_B : I_NONE);
        }
    }
    in->op = o;
    if ((f & F_BAD) || ((f & F_I64) && x64))
        return INSN_ERR_INVALID;

    in->opsize = operand_size(in, f);
    bool one = in->map == INSN_MAP_1BYTE, two = in->map == INSN_MAP_0F;

    if (f & F_MODRM) {
        uint8_t modrm;
        err = peek8(c, &modrm);
        if (!err)
            err = check_group(in->map, o, modrm, f);
        if (err)
            return err;
        /* MOV to/from CR/DR: "the mod field is ignored" (SDM Vol. 2B, MOV CR). */
        bool no_mem = two && o >= 0x20 && o <= 0x23;
        err = decode_modrm(c, in, no_mem);
        if (err)
            return err;
        if (no_mem)
            in->opsize = x64 ? 8 : 4;
    }

    /* Operand sizes the table cannot express. */
    unsigned greg = (in->modrm >> 3) & 7;
    if (one && o == 0xff && x64 && (greg == 2 || greg == 4))
        in->opsize = 8;                         /* near CALL/JMP Ev: f64 */
    else if (one && o == 0xff && x64 && greg == 6)
        in->opsize = in->opsize_prefix && !in->rex_w ? 2 : 8;  /* PUSH Ev: d64 */
    if (one && (o == 0x6d || o == 0x6f || o == 0xe5 || o == 0xe7 || o == 0xed ||
                o == 0xef) && in->opsize == 8)
        in->opsize = 4;                         /* port I/O is at most 32 bits */

    err = decode_imm(c, in, f);
    if (err)
        return err;
    in->len = (uint8_t)c->pos;
    return INSN_OK;
}

const char *insn_strerror(int err)
{
    switch (err) {
    case INSN_OK: return "ok";
    case INSN_ERR_TRUNCATED: return "truncated";
    case INSN_ERR_TOO_LONG: return "longer than 15 bytes";
    case INSN_ERR_INVALID: return "invalid opcode";
    case INSN_ERR_UNSUPPORTED: return "unsupported encoding";
    case INSN_ERR_ARG: return "bad argument";
    default: return "unknown error";
    }
}

uint64_t insn_addr_mask(const struct insn *in)
{
    return in->addrsize == 2 ? 0xffffull : in->addrsize == 4 ? 0xffffffffull : ~0ull;
}

bool insn_is_hlt(const struct insn *in)
{
    return in->map == INSN_MAP_1BYTE && !in->vex_size && in->op == 0xf4;
}

uint64_t insn_effective_addr(const struct insn *in, const uint64_t gpr[16],
                             uint64_t rip_next)
{
    if (!in->has_mem)
        return 0;
    uint64_t ea = (uint64_t)in->disp;
    if (in->base_reg != INSN_NO_REG)
        ea += gpr[in->base_reg];
    if (in->index_reg != INSN_NO_REG)
        ea += gpr[in->index_reg] * in->scale;
    if (in->rip_relative)
        ea += rip_next;
    return ea & insn_addr_mask(in);
}

enum insn_seg insn_mem_seg(const struct insn *in)
{
    if (in->seg_override != INSN_SEG_NONE)
        return (enum insn_seg)in->seg_override;
    if (in->has_mem && !in->rip_relative &&
        (in->base_reg == INSN_RSP || in->base_reg == INSN_RBP))
        return INSN_SEG_SS;
    return INSN_SEG_DS;
}
