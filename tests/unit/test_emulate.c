/* vmm/emulate/emulate: MMIO instruction emulation against a fake device and a fake
 * register file.
 *
 * - A table of instructions (bytes as GNU as assembles them, text in AT&T syntax),
 *   each decoded with insn_decode and run with given registers and device bytes,
 *   checking registers, flags, device bytes, RIP and the order of accesses.
 * - The arithmetic flags of every ALU kind, for all operand sizes and both operand
 *   orders, compared with the same operation run natively on the host (inline asm,
 *   PUSHF) for many random operands; the bit tests with register offsets reaching
 *   outside the operand are compared with the host's BT on a memory buffer.
 * - String instructions: REP, DF, address sizes, segment overrides, the iteration
 *   limit (EMU_AGAIN), and an access failing in the middle (EMU_ABORT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/emulate/emulate.h"

#define DEV_BASE 0xfee00000ull     /* the fake device: DEV_SIZE bytes here */
#define DEV_SIZE 256
#define RAM_BASE 0x10000ull        /* the fake RAM: RAM_SIZE bytes here */
#define RAM_SIZE 256
#define RIP0     0x401000ull       /* default RIP */
#define FLAG_FIXED 0x2ull          /* EFLAGS bit 1 is always 1 */

#define CF EMU_FLAG_CF
#define PF EMU_FLAG_PF
#define AF EMU_FLAG_AF
#define ZF EMU_FLAG_ZF
#define SF EMU_FLAG_SF
#define OF EMU_FLAG_OF
#define DF EMU_FLAG_DF
#define ARITH EMU_FLAGS_ARITH

/* --- the fake machine ------------------------------------------------------------ */

struct fake {
    uint8_t dev[DEV_SIZE];
    uint8_t ram[RAM_SIZE];
    uint64_t seg_base[6];
    char log[64];           /* 'r'/'w' per device access, 'R'/'W' per RAM access */
    unsigned n;
    int fail_at;            /* the access number (0-based) that fails; -1: none */
    struct emu_access last;
};

static uint8_t *fake_where(struct fake *f, uint64_t linear, unsigned size, bool *is_dev)
{
    if (linear >= DEV_BASE && linear - DEV_BASE <= DEV_SIZE - size) {
        *is_dev = true;
        return &f->dev[linear - DEV_BASE];
    }
    if (linear >= RAM_BASE && linear - RAM_BASE <= RAM_SIZE - size) {
        *is_dev = false;
        return &f->ram[linear - RAM_BASE];
    }
    return NULL;
}

static bool fake_access(void *ctx, const struct emu_access *a, uint64_t *val)
{
    struct fake *f = ctx;
    assert_true(a->size == 1 || a->size == 2 || a->size == 4 || a->size == 8);
    assert_true(a->seg <= INSN_SEG_GS);
    f->last = *a;
    if (f->fail_at >= 0 && f->n == (unsigned)f->fail_at)
        return false;
    bool is_dev;
    uint8_t *p = fake_where(f, f->seg_base[a->seg] + a->offset, a->size, &is_dev);
    if (!p)
        return false;
    if (f->n < sizeof f->log - 1)
        f->log[f->n] = is_dev ? (a->write ? 'w' : 'r') : (a->write ? 'W' : 'R');
    f->n++;
    if (a->write)
        memcpy(p, val, a->size);          /* little-endian host */
    else {
        *val = 0;
        memcpy(val, p, a->size);
    }
    return true;
}

static const struct emu_ops fake_ops = { .access = fake_access };

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof *f);
    for (unsigned i = 0; i < DEV_SIZE; i++)
        f->dev[i] = (uint8_t)(0x80 + i);
    for (unsigned i = 0; i < RAM_SIZE; i++)
        f->ram[i] = (uint8_t)(0x40 + i);
    f->fail_at = -1;
}

/* Default registers: low byte i * 0x11, the rest a5 (so AH..BH are 0xa5 and
 * SPL..DIL are 0x44..0x77); RBX points at the device. */
static void state_init(struct emu_state *st)
{
    for (unsigned i = 0; i < 16; i++)
        st->gpr[i] = 0xa5a5a5a5a5a5a500ull | (i * 0x11);
    st->gpr[INSN_RBX] = DEV_BASE;
    st->rflags = FLAG_FIXED;
    st->rip = RIP0;
}

static void decode_ok(const uint8_t *bytes, size_t n, enum cpu_mode mode, struct insn *in)
{
    int err = insn_decode(bytes, n, mode, in);
    if (err != INSN_OK)
        fail_msg("decode: %s", insn_strerror(err));
    assert_int_equal(in->len, n);
}

static uint64_t dev_q(const struct fake *f, unsigned off)
{
    uint64_t v;
    memcpy(&v, &f->dev[off], 8);
    return v;
}

/* --- the table ------------------------------------------------------------------ */

struct rv { uint8_t r1; uint64_t val; };   /* register number + 1 (0: unused), value */
#define R(reg, v) { (reg) + 1, (v) }

struct row {
    const char *text;
    enum cpu_mode mode;
    uint8_t len;
    uint8_t bytes[INSN_MAX_LEN];
    struct rv set[3];           /* registers before, over the defaults */
    bool dev_set;
    uint64_t dev;               /* device bytes 0-7 before (else the pattern) */
    uint64_t flags_in;          /* besides bit 1 */
    uint8_t seg1;               /* segment + 1 whose base is seg_base (0: none) */
    uint64_t seg_base;
    uint64_t rip;               /* 0: RIP0 */
    enum emu_result result;
    struct rv out[3];           /* registers after that differ from before */
    uint64_t fmask, fval;       /* (flags & fmask) == fval; the rest unchanged */
    bool dev_out_set;
    uint64_t dev_out;           /* device bytes 0-7 after (else unchanged) */
    const char *acc;            /* the accesses in order: r/w device, R/W RAM */
};

#define B(...) .len = sizeof((uint8_t[]){ __VA_ARGS__ }), .bytes = { __VA_ARGS__ }
#define DEV(x) .dev_set = true, .dev = (x)
#define DEVOUT(x) .dev_out_set = true, .dev_out = (x)
#define FL(m, v) .fmask = (m), .fval = (v)
#define SEG(s, b) .seg1 = (s) + 1, .seg_base = (b)
#define L64 MODE_LONG64
#define P32 MODE_PROT32
#define P16 MODE_PROT16
#define RM16 MODE_REAL16
#define UNSUP .result = EMU_UNSUPPORTED, .acc = ""

/* The device pattern: bytes 0x80, 0x81, ... */
#define PAT 0x8786858483828180ull

static const struct row rows[] = {
    /* MOV stores: one write, no read; register sizes and byte registers */
    { "mov %ecx,(%rbx)", L64, B(0x89, 0x0b), DEVOUT(0x87868584a5a5a511ull), .acc = "w" },
    { "mov %rcx,(%rbx)", L64, B(0x48, 0x89, 0x0b), DEVOUT(0xa5a5a5a5a5a5a511ull), .acc = "w" },
    { "mov %cx,(%rbx)", L64, B(0x66, 0x89, 0x0b), DEVOUT(0x878685848382a511ull), .acc = "w" },
    { "mov %cl,(%rbx)", L64, B(0x88, 0x0b), DEVOUT(0x8786858483828111ull), .acc = "w" },
    { "mov %ah,(%rbx)", L64, B(0x88, 0x23), DEVOUT(0x87868584838281a5ull), .acc = "w" },
    { "mov %spl,(%rbx)", L64, B(0x40, 0x88, 0x23), DEVOUT(0x8786858483828144ull), .acc = "w" },
    { "mov %r9b,(%rbx)", L64, B(0x44, 0x88, 0x0b), DEVOUT(0x8786858483828199ull), .acc = "w" },
    { "movb $0x7f,(%rbx)", L64, B(0xc6, 0x03, 0x7f), DEVOUT(0x878685848382817full), .acc = "w" },
    { "movw $0x1234,(%rbx)", L64, B(0x66, 0xc7, 0x03, 0x34, 0x12),
      DEVOUT(0x8786858483821234ull), .acc = "w" },
    { "movl $0x12345678,(%rbx)", L64, B(0xc7, 0x03, 0x78, 0x56, 0x34, 0x12),
      DEVOUT(0x8786858412345678ull), .acc = "w" },
    { "movq $-2,(%rbx)", L64, B(0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff),
      DEVOUT(0xfffffffffffffffeull), .acc = "w" },
    { "xrelease mov %ecx,(%rbx) (F3: a hint)", L64, B(0xf3, 0x89, 0x0b),
      DEVOUT(0x87868584a5a5a511ull), .acc = "w" },

    /* MOV loads: 32-bit zero-extends, 8/16-bit keep the rest */
    { "mov (%rbx),%eax", L64, B(0x8b, 0x03), .out = { R(INSN_RAX, 0x83828180) }, .acc = "r" },
    { "mov (%rbx),%ax", L64, B(0x66, 0x8b, 0x03),
      .out = { R(INSN_RAX, 0xa5a5a5a5a5a58180ull) }, .acc = "r" },
    { "mov (%rbx),%al", L64, B(0x8a, 0x03),
      .out = { R(INSN_RAX, 0xa5a5a5a5a5a5a580ull) }, .acc = "r" },
    { "mov (%rbx),%ch", L64, B(0x8a, 0x2b),
      .out = { R(INSN_RCX, 0xa5a5a5a5a5a58011ull) }, .acc = "r" },
    { "mov (%rbx),%bpl", L64, B(0x40, 0x8a, 0x2b),
      .out = { R(INSN_RBP, 0xa5a5a5a5a5a5a580ull) }, .acc = "r" },
    { "mov (%rbx),%r9", L64, B(0x4c, 0x8b, 0x0b), .out = { R(INSN_R9, PAT) }, .acc = "r" },
    { "mov (%rbx),%r10d", L64, B(0x44, 0x8b, 0x13), .out = { R(INSN_R10, 0x83828180) },
      .acc = "r" },
    { "mov (%rbx),%r12b", L64, B(0x44, 0x8a, 0x23),
      .out = { R(INSN_R12, 0xa5a5a5a5a5a5a580ull) }, .acc = "r" },
    { "mov (%rbx),%rsp", L64, B(0x48, 0x8b, 0x23), .out = { R(INSN_RSP, PAT) }, .acc = "r" },
    { "mov 0x4(%rbx,%rsi,2),%eax (rsi=-2)", L64, B(0x8b, 0x44, 0x73, 0x04),
      .set = { R(INSN_RSI, -2ull) }, .out = { R(INSN_RAX, 0x83828180) }, .acc = "r" },

    /* moffs */
    { "mov 0xfee00000,%eax", L64, B(0xa1, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0),
      .out = { R(INSN_RAX, 0x83828180) }, .acc = "r" },
    { "movabs %rax,0xfee00000", L64, B(0x48, 0xa3, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0),
      DEVOUT(0xa5a5a5a5a5a5a500ull), .acc = "w" },
    { "mov %al,0xfee00001 (32-bit)", P32, B(0xa2, 0x01, 0x00, 0xe0, 0xfe),
      DEVOUT(0x8786858483820080ull), .acc = "w" },
    { "mov 0xfee00004,%al (32-bit)", P32, B(0xa0, 0x04, 0x00, 0xe0, 0xfe),
      .out = { R(INSN_RAX, 0xa5a5a5a5a5a5a584ull) }, .acc = "r" },

    /* MOVZX, MOVSX, MOVSXD */
    { "movzbl (%rbx),%eax", L64, B(0x0f, 0xb6, 0x03), .out = { R(INSN_RAX, 0x80) }, .acc = "r" },
    { "movzwq (%rbx),%rax", L64, B(0x48, 0x0f, 0xb7, 0x03), .out = { R(INSN_RAX, 0x8180) },
      .acc = "r" },
    { "movzbw (%rbx),%ax", L64, B(0x66, 0x0f, 0xb6, 0x03),
      .out = { R(INSN_RAX, 0xa5a5a5a5a5a50080ull) }, .acc = "r" },
    { "movsbl (%rbx),%eax", L64, B(0x0f, 0xbe, 0x03), .out = { R(INSN_RAX, 0xffffff80) },
      .acc = "r" },
    { "movswq (%rbx),%rax", L64, B(0x48, 0x0f, 0xbf, 0x03),
      .out = { R(INSN_RAX, 0xffffffffffff8180ull) }, .acc = "r" },
    { "movsbw (%rbx),%ax", L64, B(0x66, 0x0f, 0xbe, 0x03),
      .out = { R(INSN_RAX, 0xa5a5a5a5a5a5ff80ull) }, .acc = "r" },
    { "movsbq 0x1(%rbx),%r8 (positive)", L64, B(0x4c, 0x0f, 0xbe, 0x43, 0x01), DEV(0x7f00),
      .out = { R(INSN_R8, 0x7f) }, .acc = "r" },
    { "movslq (%rbx),%rax", L64, B(0x48, 0x63, 0x03),
      .out = { R(INSN_RAX, 0xffffffff83828180ull) }, .acc = "r" },
    { "movsxd (%rbx),%eax (no REX.W)", L64, B(0x63, 0x03), UNSUP },
    { "arpl %ax,(%ebx) (32-bit)", P32, B(0x63, 0x03), UNSUP },

    /* ALU with memory */
    { "add %ecx,(%rbx)", L64, B(0x01, 0x0b), DEV(0xffffffff), .set = { R(INSN_RCX, 1) },
      FL(ARITH, CF | ZF | PF | AF), DEVOUT(0), .acc = "rw" },
    { "cmp (%rbx),%eax", L64, B(0x3b, 0x03), DEV(7), .set = { R(INSN_RAX, 5) },
      FL(ARITH, CF | SF | AF), .acc = "r" },
    { "cmp %eax,(%rbx)", L64, B(0x39, 0x03), DEV(7), .set = { R(INSN_RAX, 5) },
      FL(ARITH, 0), .acc = "r" },
    { "lock orl $0x10000,(%rbx)", L64, B(0xf0, 0x81, 0x0b, 0x00, 0x00, 0x01, 0x00),
      FL(ARITH, SF), DEVOUT(0x8786858483838180ull), .acc = "rw" },
    { "andb $0xf,(%rbx)", L64, B(0x80, 0x23, 0x0f), FL(ARITH, ZF | PF),
      DEVOUT(0x8786858483828100ull), .acc = "rw" },
    { "addq $-1,(%rbx)", L64, B(0x48, 0x83, 0x03, 0xff), FL(ARITH, CF | SF),
      DEVOUT(0x878685848382817full), .acc = "rw" },
    { "adcb $0,(%rbx) (CF=1)", L64, B(0x80, 0x13, 0x00), DEV(0xff), .flags_in = CF,
      FL(ARITH, CF | ZF | PF | AF), DEVOUT(0), .acc = "rw" },
    { "sbb %cl,(%rbx) (CF=1)", L64, B(0x18, 0x0b), DEV(0x10), .flags_in = CF,
      FL(ARITH, CF | SF | AF), DEVOUT(0xfe), .acc = "rw" },
    { "xor (%rbx),%rdx", L64, B(0x48, 0x33, 0x13), .flags_in = ARITH,
      .out = { R(INSN_RDX, 0x22232021262724a2ull) }, FL(ARITH, 0), .acc = "r" },
    { "sub %eax,(%rbx)", L64, B(0x29, 0x03), DEV(0x7fffffff), .set = { R(INSN_RAX, 0x80000000) },
      FL(ARITH, CF | OF | SF | PF), DEVOUT(0xffffffff), .acc = "rw" },
    { "sub (%rbx),%ah", L64, B(0x2a, 0x23), DEV(0x25),
      .out = { R(INSN_RAX, 0xa5a5a5a5a5a58000ull) }, FL(ARITH, SF), .acc = "r" },
    { "add 0x8(%rbx),%r11w", L64, B(0x66, 0x44, 0x03, 0x5b, 0x08),
      .out = { R(INSN_R11, 0xa5a5a5a5a5a52f43ull) }, FL(ARITH, CF | OF | AF), .acc = "r" },
    { "subb $1,(%ebx) (32-bit mode, 82 /5)", P32, B(0x82, 0x2b, 0x01), DEV(0x01),
      FL(ARITH, ZF | PF), DEVOUT(0), .acc = "rw" },

    /* TEST */
    { "test %ecx,(%rbx)", L64, B(0x85, 0x0b), DEV(0x100), .set = { R(INSN_RCX, 0x100) },
      .flags_in = CF | OF, FL(ARITH, PF), .acc = "r" },
    { "testb $0x80,(%rbx)", L64, B(0xf6, 0x03, 0x80), FL(ARITH, SF), .acc = "r" },
    { "testl $0x12345678,(%rbx)", L64, B(0xf7, 0x03, 0x78, 0x56, 0x34, 0x12), DEV(0),
      FL(ARITH, ZF | PF), .acc = "r" },
    { "testq $-1,(%rbx)", L64, B(0x48, 0xf7, 0x03, 0xff, 0xff, 0xff, 0xff),
      FL(ARITH, SF), .acc = "r" },

    /* XCHG */
    { "xchg %eax,(%rbx)", L64, B(0x87, 0x03), DEVOUT(0x87868584a5a5a500ull),
      .out = { R(INSN_RAX, 0x83828180) }, .acc = "rw" },
    { "xchg %ah,(%rbx)", L64, B(0x86, 0x23), DEVOUT(0x87868584838281a5ull),
      .out = { R(INSN_RAX, 0xa5a5a5a5a5a58000ull) }, .acc = "rw" },

    /* NOT, NEG, INC, DEC */
    { "notl (%rbx)", L64, B(0xf7, 0x13), .flags_in = ARITH, DEVOUT(0x878685847c7d7e7full),
      .acc = "rw" },
    { "negb (%rbx)", L64, B(0xf6, 0x1b), FL(ARITH, CF | OF | SF), .acc = "rw" },
    { "negq (%rbx) (zero)", L64, B(0x48, 0xf7, 0x1b), DEV(0), .flags_in = CF,
      FL(ARITH, ZF | PF), DEVOUT(0), .acc = "rw" },
    { "incb (%rbx) (CF kept)", L64, B(0xfe, 0x03), DEV(0x7f), .flags_in = CF,
      FL(ARITH, CF | OF | SF | AF), DEVOUT(0x80), .acc = "rw" },
    { "decq (%rbx)", L64, B(0x48, 0xff, 0x0b), DEV(1), FL(ARITH, ZF | PF), DEVOUT(0),
      .acc = "rw" },
    { "incw (%rbx)", L64, B(0x66, 0xff, 0x03), DEV(0xffff), FL(ARITH, ZF | PF | AF),
      DEVOUT(0), .acc = "rw" },
    { "lock decl (%rbx)", L64, B(0xf0, 0xff, 0x0b), DEV(0), FL(ARITH, SF | PF | AF),
      DEVOUT(0xffffffff), .acc = "rw" },

    /* BT, BTS, BTR, BTC */
    { "btl $7,(%rbx)", L64, B(0x0f, 0xba, 0x23, 0x07), .flags_in = ZF, FL(CF, CF), .acc = "r" },
    { "btl $39,(%rbx) (imm mod 32)", L64, B(0x0f, 0xba, 0x23, 0x27), FL(CF, CF), .acc = "r" },
    { "btsl $3,(%rbx)", L64, B(0x0f, 0xba, 0x2b, 0x03), FL(CF, 0),
      DEVOUT(0x8786858483828188ull), .acc = "rw" },
    { "bts %ecx,(%rbx) (ecx=35)", L64, B(0x0f, 0xab, 0x0b), .set = { R(INSN_RCX, 35) },
      FL(CF, 0), DEVOUT(0x8786858c83828180ull), .acc = "rw" },
    { "btr %rcx,(%rbx) (rcx=-1: the qword before)", L64, B(0x48, 0x0f, 0xb3, 0x0b),
      .set = { R(INSN_RCX, -1ull), R(INSN_RBX, DEV_BASE + 8) }, FL(CF, CF),
      DEVOUT(0x0786858483828180ull), .acc = "rw" },
    { "btc %cx,(%rbx) (cx=-1: the word before)", L64, B(0x66, 0x0f, 0xbb, 0x0b),
      .set = { R(INSN_RCX, 0xa5a5a5a5a5a5ffffull), R(INSN_RBX, DEV_BASE + 2) }, FL(CF, CF),
      DEVOUT(0x8786858483820180ull), .acc = "rw" },
    { "btcw $0,(%rbx)", L64, B(0x66, 0x0f, 0xba, 0x3b, 0x00), FL(CF, 0),
      DEVOUT(0x8786858483828181ull), .acc = "rw" },

    /* Segments, address sizes, modes */
    { "mov %ax,(%bx,%si) (real mode)", RM16, B(0x89, 0x00),
      .set = { R(INSN_RBX, 0x10), R(INSN_RSI, 0x20) }, SEG(INSN_SEG_DS, DEV_BASE - 0x30),
      DEVOUT(0x878685848382a500ull), .acc = "w" },
    { "mov %ecx,(%bp,%di) (16-bit, SS, wraps at 64K)", P16, B(0x66, 0x89, 0x0b),
      SEG(INSN_SEG_SS, DEV_BASE - 0x4acc), DEVOUT(0x87868584a5a5a511ull), .acc = "w" },
    { "mov %ecx,%fs:(%rbx)", L64, B(0x64, 0x89, 0x0b), .set = { R(INSN_RBX, DEV_BASE - 0x100) },
      SEG(INSN_SEG_FS, 0x100), DEVOUT(0x87868584a5a5a511ull), .acc = "w" },
    { "mov %ecx,%es:(%ebx) (32-bit)", P32, B(0x26, 0x89, 0x0b),
      .set = { R(INSN_RBX, DEV_BASE - 0x200) }, SEG(INSN_SEG_ES, 0x200),
      DEVOUT(0x87868584a5a5a511ull), .acc = "w" },
    { "mov 0x10(%rip),%eax", L64, B(0x8b, 0x05, 0x10, 0x00, 0x00, 0x00),
      .rip = DEV_BASE + 4 - 0x16, .out = { R(INSN_RAX, 0x87868584) }, .acc = "r" },
    { "mov %ecx,(%ebx) (addr32: rbx's top half ignored)", L64, B(0x67, 0x89, 0x0b),
      .set = { R(INSN_RBX, 0xffffffff00000000ull | DEV_BASE) },
      DEVOUT(0x87868584a5a5a511ull), .acc = "w" },
    { "mov %cx,(%ebx) (32-bit, EIP wraps)", P32, B(0x66, 0x89, 0x0b), .rip = 0xfffffffe,
      DEVOUT(0x878685848382a511ull), .acc = "w" },
    { "mov %r9d,(%rbx)", L64, B(0x44, 0x89, 0x0b),
      DEVOUT(0x87868584a5a5a599ull), .acc = "w" },

    /* Not covered: nothing done */
    { "mull (%rbx)", L64, B(0xf7, 0x23), UNSUP },
    { "cmpxchg %ecx,(%rbx)", L64, B(0x0f, 0xb1, 0x0b), UNSUP },
    { "xadd %ecx,(%rbx)", L64, B(0x0f, 0xc1, 0x0b), UNSUP },
    { "pop (%rbx)", L64, B(0x8f, 0x03), UNSUP },
    { "push (%rbx)", L64, B(0xff, 0x33), UNSUP },
    { "shll (%rbx)", L64, B(0xd1, 0x23), UNSUP },
    { "vmovdqu (%rbx),%xmm0", L64, B(0xc5, 0xfa, 0x6f, 0x03), UNSUP },
    { "movups (%rbx),%xmm0", L64, B(0x0f, 0x10, 0x03), UNSUP },
    { "mov %ecx,%eax (no memory)", L64, B(0x89, 0xc8), UNSUP },
    { "incl %eax (no memory)", L64, B(0xff, 0xc0), UNSUP },
    { "bt %ecx,%eax (no memory)", L64, B(0x0f, 0xa3, 0xc8), UNSUP },
    { "cmpsb", L64, B(0xa6), UNSUP },
    { "scasl", L64, B(0xaf), UNSUP },
    { "lea (%rbx),%eax", L64, B(0x8d, 0x03), UNSUP },
    { "mov %es,(%rbx)", L64, B(0x8c, 0x03), UNSUP },
    { "cpuid", L64, B(0x0f, 0xa2), UNSUP },
};

static void run_row(const struct row *t)
{
    struct fake f;
    struct emu_state st, before;
    struct insn in;
    fake_init(&f);
    state_init(&st);
    for (unsigned i = 0; i < 3; i++)
        if (t->set[i].r1)
            st.gpr[t->set[i].r1 - 1] = t->set[i].val;
    if (t->dev_set)
        memcpy(f.dev, &t->dev, 8);
    if (t->seg1)
        f.seg_base[t->seg1 - 1] = t->seg_base;
    st.rflags |= t->flags_in;
    if (t->rip)
        st.rip = t->rip;
    before = st;
    uint8_t dev0[DEV_SIZE];
    memcpy(dev0, f.dev, sizeof dev0);

    decode_ok(t->bytes, t->len, t->mode, &in);
    enum emu_result r = emu_execute(&in, &st, &fake_ops, &f, 16);
    if (r != t->result)
        fail_msg("%s: result %s, expected %s", t->text, emu_result_name(r),
                 emu_result_name(t->result));

    /* registers */
    struct emu_state want = before;
    for (unsigned i = 0; i < 3; i++)
        if (t->out[i].r1)
            want.gpr[t->out[i].r1 - 1] = t->out[i].val;
    for (unsigned i = 0; i < 16; i++)
        if (st.gpr[i] != want.gpr[i])
            fail_msg("%s: gpr %u = %#llx, expected %#llx", t->text, i,
                     (unsigned long long)st.gpr[i], (unsigned long long)want.gpr[i]);
    uint64_t fwant = (before.rflags & ~t->fmask) | t->fval;
    if (st.rflags != fwant)
        fail_msg("%s: rflags %#llx, expected %#llx", t->text, (unsigned long long)st.rflags,
                 (unsigned long long)fwant);
    uint64_t rip_want = t->result == EMU_DONE ? before.rip + t->len : before.rip;
    if (t->mode != MODE_LONG64)
        rip_want = (uint32_t)rip_want;
    if (st.rip != rip_want)
        fail_msg("%s: rip %#llx, expected %#llx", t->text, (unsigned long long)st.rip,
                 (unsigned long long)rip_want);

    /* device */
    if (t->dev_out_set)
        memcpy(dev0, &t->dev_out, 8);
    if (memcmp(f.dev, dev0, DEV_SIZE) != 0)
        fail_msg("%s: device bytes 0-7 = %#llx (expected %#llx), or a later byte changed",
                 t->text, (unsigned long long)dev_q(&f, 0), (unsigned long long)
                 (dev0[0] | (uint64_t)dev0[1] << 8 | (uint64_t)dev0[2] << 16 |
                  (uint64_t)dev0[3] << 24 | (uint64_t)dev0[4] << 32 |
                  (uint64_t)dev0[5] << 40 | (uint64_t)dev0[6] << 48 |
                  (uint64_t)dev0[7] << 56));
    f.log[f.n < sizeof f.log ? f.n : sizeof f.log - 1] = 0;
    if (strcmp(f.log, t->acc) != 0)
        fail_msg("%s: accesses \"%s\", expected \"%s\"", t->text, f.log, t->acc);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
}

/* --- flags against the host CPU -------------------------------------------------- */

/* x = x OP y natively with EFLAGS *fl in and out. The red zone below RSP is skipped
 * before PUSH (this file is not built with -mno-red-zone). */
#define NATIVE_BIN(name, insn, T)                                                  \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t *fl)                     \
    {                                                                              \
        T x = (T)a, y = (T)b;                                                      \
        uint64_t f = *fl;                                                          \
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"       \
                         insn " %[y], %[x]\n\t"                                    \
                         "pushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"             \
                         : [x] "+r"(x), [f] "+r"(f)                                \
                         : [y] "r"(y)                                              \
                         : "cc", "memory");                                        \
        *fl = f;                                                                   \
        return x;                                                                  \
    }
#define NATIVE_UN(name, insn, T)                                                   \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t *fl)                     \
    {                                                                              \
        (void)b;                                                                   \
        T x = (T)a;                                                                \
        uint64_t f = *fl;                                                          \
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"       \
                         insn " %[x]\n\t"                                          \
                         "pushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"             \
                         : [x] "+r"(x), [f] "+r"(f)                                \
                         :                                                         \
                         : "cc", "memory");                                        \
        *fl = f;                                                                   \
        return x;                                                                  \
    }
#define SIZES(MAC, op)                                                             \
    MAC(n_##op##_1, #op "b", uint8_t) MAC(n_##op##_2, #op "w", uint16_t)            \
    MAC(n_##op##_4, #op "l", uint32_t) MAC(n_##op##_8, #op "q", uint64_t)
#define FNS(op) { n_##op##_1, n_##op##_2, n_##op##_4, n_##op##_8 }

SIZES(NATIVE_BIN, add) SIZES(NATIVE_BIN, or) SIZES(NATIVE_BIN, adc) SIZES(NATIVE_BIN, sbb)
SIZES(NATIVE_BIN, and) SIZES(NATIVE_BIN, sub) SIZES(NATIVE_BIN, xor) SIZES(NATIVE_BIN, cmp)
SIZES(NATIVE_BIN, test)
SIZES(NATIVE_UN, not) SIZES(NATIVE_UN, neg) SIZES(NATIVE_UN, inc) SIZES(NATIVE_UN, dec)

typedef uint64_t (*native_fn)(uint64_t a, uint64_t b, uint64_t *fl);

/* Binary kinds in group-1 order, then TEST. defined: the flags the SDM defines. */
static const struct {
    const char *name;
    native_fn fn[4];
    uint64_t defined;
    bool writes;
} bin_ops[] = {
    { "add", FNS(add), ARITH, true }, { "or", FNS(or), ARITH & ~AF, true },
    { "adc", FNS(adc), ARITH, true }, { "sbb", FNS(sbb), ARITH, true },
    { "and", FNS(and), ARITH & ~AF, true }, { "sub", FNS(sub), ARITH, true },
    { "xor", FNS(xor), ARITH & ~AF, true }, { "cmp", FNS(cmp), ARITH, false },
    { "test", FNS(test), ARITH & ~AF, false },
};

/* F6/F7 /2 /3 and FE/FF /0 /1. */
static const struct {
    const char *name;
    native_fn fn[4];
    uint8_t op8, op, reg;
} un_ops[] = {
    { "not", FNS(not), 0xf6, 0xf7, 2 }, { "neg", FNS(neg), 0xf6, 0xf7, 3 },
    { "inc", FNS(inc), 0xfe, 0xff, 0 }, { "dec", FNS(dec), 0xfe, 0xff, 1 },
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random operands, with the edge values now and then. */
static uint64_t operand(void)
{
    static const uint64_t edges[] = {
        0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
        0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0xf, 0x10,
    };
    uint64_t r = rnd();
    switch (r & 7) {
    case 0: return edges[(r >> 8) % (sizeof edges / sizeof edges[0])];
    case 1: return edges[(r >> 8) % (sizeof edges / sizeof edges[0])] + ((r >> 40) & 3) - 1;
    case 2: return (r >> 20) & 0xff;
    default: return rnd();
    }
}

static uint64_t random_flags(void)
{
    return (rnd() & ARITH) | FLAG_FIXED;
}

static const unsigned sizes[4] = { 1, 2, 4, 8 };

/* Prefixes + opcode for a ModRM instruction of operand size `size`; returns the
 * length so far. */
static unsigned put_prefix(uint8_t *b, unsigned size)
{
    unsigned n = 0;
    if (size == 2)
        b[n++] = 0x66;
    if (size == 8)
        b[n++] = 0x48;
    return n;
}

/* Run one instruction on the device (RBX = DEV_BASE) and check it decoded. */
static enum emu_result run_bytes(const uint8_t *b, unsigned n, struct emu_state *st,
                                 struct fake *f)
{
    struct insn in;
    decode_ok(b, n, MODE_LONG64, &in);
    return emu_execute(&in, st, &fake_ops, f, 16);
}

static uint64_t mask_of(unsigned size)
{
    return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

#define ITER 3000

/* The defined flags as the host's; every flag outside `writes` as it was. */
static void check_flags(const char *what, unsigned size, uint64_t a, uint64_t b,
                        uint64_t fin, uint64_t emu, uint64_t native, uint64_t defined,
                        uint64_t writes)
{
    if ((emu & defined) != (native & defined) || (emu & ~writes) != (fin & ~writes))
        fail_msg("%s size %u a=%#llx b=%#llx flags in %#llx: emulator %#llx, host %#llx "
                 "(defined %#llx)", what, size, (unsigned long long)a, (unsigned long long)b,
                 (unsigned long long)fin, (unsigned long long)emu,
                 (unsigned long long)native, (unsigned long long)defined);
}

/* 00-3B (both operand orders), 80/81/83 and 84/85 against the host. */
static void test_alu_vs_host(void **state)
{
    (void)state;
    for (unsigned k = 0; k < sizeof bin_ops / sizeof bin_ops[0]; k++) {
        for (unsigned s = 0; s < 4; s++) {
            unsigned size = sizes[s];
            uint64_t m = mask_of(size);
            for (unsigned it = 0; it < ITER; it++) {
                /* form 0: OP r, (mem); 1: OP (mem), r; 2: OP imm, (mem) (80/81/83) */
                unsigned form = it % 3;
                if (k == 8 && form == 2)
                    form = 0;                        /* TEST: 84/85 and F6/F7 /0 */
                uint64_t memv = operand() & m, regv = operand(), fin = random_flags();
                uint8_t b[16];
                unsigned n = put_prefix(b, size);
                uint64_t imm = 0;
                bool imm8 = false;
                if (form == 2 || (k == 8 && it % 5 == 0)) {
                    imm8 = size > 1 && k != 8 && (rnd() & 1);
                    imm = rnd();
                    if (k == 8) {
                        b[n++] = size == 1 ? 0xf6 : 0xf7;
                        b[n++] = 0x03;
                    } else {
                        b[n++] = size == 1 ? 0x80 : imm8 ? 0x83 : 0x81;
                        b[n++] = (uint8_t)(0x03 | (k << 3));
                    }
                    unsigned isz = size == 1 || imm8 ? 1 : size == 2 ? 2 : 4;
                    for (unsigned i = 0; i < isz; i++)
                        b[n++] = (uint8_t)(imm >> (8 * i));
                    imm &= mask_of(isz);
                    regv = (isz == 1 ? (uint64_t)(int8_t)imm : isz == 2 ? (uint64_t)(int16_t)imm
                            : (uint64_t)(int32_t)imm);
                    form = 2;
                } else if (k == 8) {
                    b[n++] = size == 1 ? 0x84 : 0x85;
                    b[n++] = 0x0b;                    /* test %ecx,(%rbx) */
                } else {
                    b[n++] = (uint8_t)((k << 3) | (size == 1 ? 0 : 1) | (form == 0 ? 2 : 0));
                    b[n++] = 0x0b;                    /* reg RCX, rm (%rbx) */
                }
                struct fake f;
                struct emu_state st;
                fake_init(&f);
                state_init(&st);
                memcpy(f.dev, &memv, 8);
                st.gpr[INSN_RCX] = regv;
                st.rflags = fin;
                assert_int_equal(run_bytes(b, n, &st, &f), EMU_DONE);

                uint64_t fl = fin, x, y, res;
                if (form == 0) {
                    x = regv, y = memv;
                } else {
                    x = memv, y = regv;
                }
                res = bin_ops[k].fn[s](x, y, &fl) & m;
                check_flags(bin_ops[k].name, size, x, y, fin, st.rflags, fl,
                            bin_ops[k].defined, ARITH);
                uint64_t dev_after = dev_q(&f, 0) & m;
                uint64_t reg_after = st.gpr[INSN_RCX];
                if (form == 0) {
                    assert_int_equal(dev_after, memv);
                    uint64_t want = !bin_ops[k].writes ? regv
                                  : size == 4 ? res
                                  : size == 8 ? res : (regv & ~m) | res;
                    if (reg_after != want)
                        fail_msg("%s size %u: rcx %#llx, expected %#llx", bin_ops[k].name,
                                 size, (unsigned long long)reg_after, (unsigned long long)want);
                } else {
                    assert_int_equal(reg_after, regv);
                    uint64_t want = bin_ops[k].writes ? res : memv;
                    if (dev_after != want)
                        fail_msg("%s size %u form %u: device %#llx, expected %#llx",
                                 bin_ops[k].name, size, form, (unsigned long long)dev_after,
                                 (unsigned long long)want);
                }
            }
        }
    }
}

/* NOT, NEG, INC, DEC on memory against the host. */
static void test_unary_vs_host(void **state)
{
    (void)state;
    for (unsigned k = 0; k < sizeof un_ops / sizeof un_ops[0]; k++) {
        for (unsigned s = 0; s < 4; s++) {
            unsigned size = sizes[s];
            uint64_t m = mask_of(size);
            for (unsigned it = 0; it < ITER; it++) {
                uint64_t memv = operand() & m, fin = random_flags();
                uint8_t b[8];
                unsigned n = put_prefix(b, size);
                b[n++] = size == 1 ? un_ops[k].op8 : un_ops[k].op;
                b[n++] = (uint8_t)(0x03 | (un_ops[k].reg << 3));
                struct fake f;
                struct emu_state st;
                fake_init(&f);
                state_init(&st);
                memcpy(f.dev, &memv, 8);
                st.rflags = fin;
                assert_int_equal(run_bytes(b, n, &st, &f), EMU_DONE);
                uint64_t fl = fin;
                uint64_t res = un_ops[k].fn[s](memv, 0, &fl) & m;
                check_flags(un_ops[k].name, size, memv, 0, fin, st.rflags, fl, ARITH,
                            un_ops[k].reg == 2 ? 0 : ARITH);
                assert_int_equal(dev_q(&f, 0) & m, res);
            }
        }
    }
}

/* BT/BTS/BTR/BTC (bits, ptr) on memory natively: the register offset may reach
 * outside the operand. */
#define NATIVE_BTM(name, insn, T)                                                  \
    static void name(void *p, uint64_t bit, uint64_t *fl)                          \
    {                                                                              \
        T y = (T)bit;                                                              \
        uint64_t f = *fl;                                                          \
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"       \
                         insn " %[y], (%[p])\n\t"                                  \
                         "pushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"             \
                         : [f] "+r"(f)                                             \
                         : [y] "r"(y), [p] "r"(p)                                  \
                         : "cc", "memory");                                        \
        *fl = f;                                                                   \
    }
#define BTSIZES(op)                                                                \
    NATIVE_BTM(n_##op##_2, #op "w", uint16_t) NATIVE_BTM(n_##op##_4, #op "l", uint32_t) \
    NATIVE_BTM(n_##op##_8, #op "q", uint64_t)
BTSIZES(bt) BTSIZES(bts) BTSIZES(btr) BTSIZES(btc)

typedef void (*native_bt_fn)(void *p, uint64_t bit, uint64_t *fl);

static void test_bt_vs_host(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint8_t op, grp8;
        native_bt_fn fn[3];
    } bts[] = {
        { "bt", 0xa3, 4, { n_bt_2, n_bt_4, n_bt_8 } },
        { "bts", 0xab, 5, { n_bts_2, n_bts_4, n_bts_8 } },
        { "btr", 0xb3, 6, { n_btr_2, n_btr_4, n_btr_8 } },
        { "btc", 0xbb, 7, { n_btc_2, n_btc_4, n_btc_8 } },
    };
    for (unsigned k = 0; k < 4; k++) {
        for (unsigned s = 0; s < 3; s++) {
            unsigned size = sizes[s + 1];
            for (unsigned it = 0; it < ITER; it++) {
                uint8_t host[DEV_SIZE];
                struct fake f;
                struct emu_state st;
                fake_init(&f);
                state_init(&st);
                for (unsigned i = 0; i < DEV_SIZE; i++)
                    f.dev[i] = host[i] = (uint8_t)rnd();
                bool imm = it & 1;
                /* Register offsets in [-512, 512) bits: up to 64 bytes either way. */
                uint64_t bit = imm ? rnd() & 0xff : (uint64_t)((int64_t)(rnd() % 1024) - 512);
                uint64_t fin = random_flags();
                uint8_t b[8];
                unsigned n = put_prefix(b, size);
                b[n++] = 0x0f;
                if (imm) {
                    b[n++] = 0xba;
                    b[n++] = (uint8_t)(0x03 | (bts[k].grp8 << 3));
                    b[n++] = (uint8_t)bit;
                } else {
                    b[n++] = bts[k].op;
                    b[n++] = 0x0b;
                }
                st.gpr[INSN_RBX] = DEV_BASE + 128;
                st.gpr[INSN_RCX] = bit;
                st.rflags = fin;
                assert_int_equal(run_bytes(b, n, &st, &f), EMU_DONE);
                uint64_t fl = fin;
                bts[k].fn[s](host + 128, imm ? bit & (8 * size - 1) : bit, &fl);
                check_flags(bts[k].name, size, bit, imm, fin, st.rflags, fl, CF, CF);
                if (memcmp(host, f.dev, DEV_SIZE) != 0)
                    fail_msg("%s size %u bit %lld: memory differs", bts[k].name, size,
                             (long long)bit);
            }
        }
    }
}

/* --- string instructions ----------------------------------------------------------- */

static void test_rep_stos(void **state)
{
    (void)state;
    struct fake f;
    struct emu_state st;
    struct insn in;
    static const uint8_t rep_stosl[] = { 0xf3, 0xab };
    fake_init(&f);
    state_init(&st);
    st.gpr[INSN_RDI] = DEV_BASE + 8;
    st.gpr[INSN_RCX] = 4;
    st.gpr[INSN_RAX] = 0xffffffff11223344ull;
    decode_ok(rep_stosl, 2, MODE_LONG64, &in);

    /* Two iterations per call: the first call leaves RIP for the guest to redo it. */
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 2), EMU_AGAIN);
    assert_int_equal(st.gpr[INSN_RCX], 2);
    assert_int_equal(st.gpr[INSN_RDI], DEV_BASE + 16);
    assert_int_equal(st.rip, RIP0);
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 2), EMU_DONE);
    assert_int_equal(st.gpr[INSN_RCX], 0);
    assert_int_equal(st.gpr[INSN_RDI], DEV_BASE + 24);
    assert_int_equal(st.rip, RIP0 + 2);
    for (unsigned i = 0; i < 4; i++) {
        uint32_t v;
        memcpy(&v, &f.dev[8 + 4 * i], 4);
        assert_int_equal(v, 0x11223344);
    }
    assert_int_equal(f.dev[7], 0x87);
    assert_int_equal(f.dev[24], 0x98);
    assert_string_equal((f.log[f.n] = 0, f.log), "wwww");

    /* Count 0: nothing, next instruction. */
    st.rip = RIP0;
    f.n = 0;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 2), EMU_DONE);
    assert_int_equal(f.n, 0);
    assert_int_equal(st.rip, RIP0 + 2);

    /* STOSB without REP, DF=1: one byte, RDI goes down, RCX untouched. */
    static const uint8_t stosb[] = { 0xaa };
    decode_ok(stosb, 1, MODE_LONG64, &in);
    st.rflags |= DF;
    st.gpr[INSN_RCX] = 7;
    st.gpr[INSN_RDI] = DEV_BASE + 3;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 0), EMU_DONE);
    assert_int_equal(f.dev[3], 0x44);
    assert_int_equal(st.gpr[INSN_RDI], DEV_BASE + 2);
    assert_int_equal(st.gpr[INSN_RCX], 7);

    /* REPNE STOSW (F2 repeats STOS as F3 does), 16-bit stores. */
    static const uint8_t repne_stosw[] = { 0xf2, 0x66, 0xab };
    decode_ok(repne_stosw, 3, MODE_LONG64, &in);
    st.rflags &= ~(uint64_t)DF;
    st.gpr[INSN_RCX] = 3;
    st.gpr[INSN_RDI] = DEV_BASE + 0x40;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 100), EMU_DONE);
    assert_int_equal(st.gpr[INSN_RDI], DEV_BASE + 0x46);
    assert_int_equal(f.dev[0x45], 0x33);
    assert_int_equal(f.dev[0x46], 0xc6);
}

static void test_movs(void **state)
{
    (void)state;
    struct fake f;
    struct emu_state st;
    struct insn in;

    /* RAM -> device, bytes, DF=0. */
    static const uint8_t rep_movsb[] = { 0xf3, 0xa4 };
    fake_init(&f);
    state_init(&st);
    decode_ok(rep_movsb, 2, MODE_LONG64, &in);
    st.gpr[INSN_RSI] = RAM_BASE + 0x10;
    st.gpr[INSN_RDI] = DEV_BASE + 0x20;
    st.gpr[INSN_RCX] = 5;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 64), EMU_DONE);
    assert_memory_equal(&f.dev[0x20], &f.ram[0x10], 5);
    assert_int_equal(f.dev[0x25], 0xa5);
    assert_int_equal(st.gpr[INSN_RSI], RAM_BASE + 0x15);
    assert_int_equal(st.gpr[INSN_RDI], DEV_BASE + 0x25);
    assert_int_equal(st.gpr[INSN_RCX], 0);
    assert_string_equal((f.log[f.n] = 0, f.log), "RwRwRwRwRw");

    /* Device -> RAM, dwords, DF=1 (from the top down). */
    static const uint8_t rep_movsl[] = { 0xf3, 0xa5 };
    fake_init(&f);
    state_init(&st);
    decode_ok(rep_movsl, 2, MODE_LONG64, &in);
    st.rflags |= DF;
    st.gpr[INSN_RSI] = DEV_BASE + 8;
    st.gpr[INSN_RDI] = RAM_BASE + 0x48;
    st.gpr[INSN_RCX] = 3;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 64), EMU_DONE);
    assert_memory_equal(&f.ram[0x40], &f.dev[0], 12);
    assert_int_equal(st.gpr[INSN_RSI], DEV_BASE - 4);
    assert_int_equal(st.gpr[INSN_RDI], RAM_BASE + 0x3c);
    assert_string_equal((f.log[f.n] = 0, f.log), "rWrWrW");

    /* Device -> device, qwords, with an FS override on the source. */
    static const uint8_t fs_movsq[] = { 0x64, 0x48, 0xa5 };
    fake_init(&f);
    state_init(&st);
    decode_ok(fs_movsq, 3, MODE_LONG64, &in);
    f.seg_base[INSN_SEG_FS] = 0x1000;
    st.gpr[INSN_RSI] = DEV_BASE - 0x1000;
    st.gpr[INSN_RDI] = DEV_BASE + 0x80;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 64), EMU_DONE);
    assert_int_equal(dev_q(&f, 0x80), PAT);
    assert_int_equal(f.last.seg, INSN_SEG_ES);
    assert_int_equal(st.gpr[INSN_RCX], 0xa5a5a5a5a5a5a511ull);   /* no REP: untouched */
    assert_string_equal((f.log[f.n] = 0, f.log), "rw");

    /* 32-bit address size in 64-bit mode: ESI/EDI/ECX, written zero-extended. */
    static const uint8_t a32_rep_movsb[] = { 0x67, 0xf3, 0xa4 };
    fake_init(&f);
    state_init(&st);
    decode_ok(a32_rep_movsb, 3, MODE_LONG64, &in);
    st.gpr[INSN_RSI] = 0x1234567800000000ull | (RAM_BASE + 1);
    st.gpr[INSN_RDI] = 0xffffffff00000000ull | DEV_BASE;
    st.gpr[INSN_RCX] = 0x0000000100000002ull;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 64), EMU_DONE);
    assert_int_equal(f.dev[0], 0x41);
    assert_int_equal(f.dev[1], 0x42);
    assert_int_equal(st.gpr[INSN_RSI], RAM_BASE + 3);
    assert_int_equal(st.gpr[INSN_RDI], DEV_BASE + 2);
    assert_int_equal(st.gpr[INSN_RCX], 0);

    /* Real mode: SI/DI/CX, the upper bits kept, DI wraps at 64K. */
    static const uint8_t rm_rep_movsw[] = { 0xf3, 0xa5 };
    fake_init(&f);
    state_init(&st);
    decode_ok(rm_rep_movsw, 2, MODE_REAL16, &in);
    f.seg_base[INSN_SEG_DS] = RAM_BASE;
    f.seg_base[INSN_SEG_ES] = DEV_BASE - 0xfffe;
    st.gpr[INSN_RSI] = 0xabcd0000;
    st.gpr[INSN_RDI] = 0xabcdfffe;
    st.gpr[INSN_RCX] = 0xabcd0001;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 64), EMU_DONE);
    assert_int_equal(f.dev[0], 0x40);
    assert_int_equal(f.dev[1], 0x41);
    assert_int_equal(st.gpr[INSN_RSI], 0xabcd0002);
    assert_int_equal(st.gpr[INSN_RDI], 0xabcd0000);
    assert_int_equal(st.gpr[INSN_RCX], 0xabcd0000);
}

static void test_lods(void **state)
{
    (void)state;
    struct fake f;
    struct emu_state st;
    struct insn in;
    static const uint8_t lodsl[] = { 0xad };
    fake_init(&f);
    state_init(&st);
    decode_ok(lodsl, 1, MODE_LONG64, &in);
    st.gpr[INSN_RSI] = DEV_BASE + 4;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 1), EMU_DONE);
    assert_int_equal(st.gpr[INSN_RAX], 0x87868584);
    assert_int_equal(st.gpr[INSN_RSI], DEV_BASE + 8);

    static const uint8_t rep_lodsb[] = { 0xf3, 0xac };
    decode_ok(rep_lodsb, 2, MODE_LONG64, &in);
    st.gpr[INSN_RCX] = 3;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 10), EMU_DONE);
    assert_int_equal(st.gpr[INSN_RAX], 0x8786858a);
    assert_int_equal(st.gpr[INSN_RSI], DEV_BASE + 11);
}

/* A failing access: nothing of the failed instruction (or REP iteration) is kept. */
static void test_abort(void **state)
{
    (void)state;
    static const struct { const char *text; uint8_t len; uint8_t bytes[8]; int fail_at; } cases[] = {
        { "add %ecx,(%rbx): read fails", 2, { 0x01, 0x0b }, 0 },
        { "add %ecx,(%rbx): write fails", 2, { 0x01, 0x0b }, 1 },
        { "add (%rbx),%ecx: read fails", 2, { 0x03, 0x0b }, 0 },
        { "xchg %ecx,(%rbx): write fails", 2, { 0x87, 0x0b }, 1 },
        { "mov (%rbx),%ecx: read fails", 2, { 0x8b, 0x0b }, 0 },
        { "incl (%rbx): write fails", 2, { 0xff, 0x03 }, 1 },
        { "btsl $1,(%rbx): write fails", 4, { 0x0f, 0xba, 0x2b, 0x01 }, 1 },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake f;
        struct emu_state st, before;
        struct insn in;
        fake_init(&f);
        state_init(&st);
        st.rflags |= ARITH;
        before = st;
        f.fail_at = cases[i].fail_at;
        decode_ok(cases[i].bytes, cases[i].len, MODE_LONG64, &in);
        if (emu_execute(&in, &st, &fake_ops, &f, 1) != EMU_ABORT)
            fail_msg("%s: not aborted", cases[i].text);
        if (memcmp(&st, &before, sizeof st) != 0)
            fail_msg("%s: state changed", cases[i].text);
        assert_int_equal(dev_q(&f, 0), PAT);
    }

    /* REP MOVSB whose third write fails: two iterations done, RIP stays. */
    static const uint8_t rep_movsb[] = { 0xf3, 0xa4 };
    struct fake f;
    struct emu_state st;
    struct insn in;
    fake_init(&f);
    state_init(&st);
    decode_ok(rep_movsb, 2, MODE_LONG64, &in);
    st.gpr[INSN_RSI] = RAM_BASE;
    st.gpr[INSN_RDI] = DEV_BASE;
    st.gpr[INSN_RCX] = 10;
    f.fail_at = 5;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 64), EMU_ABORT);
    assert_int_equal(st.gpr[INSN_RCX], 8);
    assert_int_equal(st.gpr[INSN_RSI], RAM_BASE + 2);
    assert_int_equal(st.gpr[INSN_RDI], DEV_BASE + 2);
    assert_int_equal(st.rip, RIP0);
    assert_int_equal(f.dev[1], 0x41);
    assert_int_equal(f.dev[2], 0x82);
}

/* The access record: operand roles and segments. */
static void test_access_record(void **state)
{
    (void)state;
    struct fake f;
    struct emu_state st;
    struct insn in;
    static const uint8_t bp_load[] = { 0x8b, 0x45, 0x08 };   /* mov 0x8(%rbp),%eax */
    fake_init(&f);
    state_init(&st);
    st.gpr[INSN_RBP] = DEV_BASE;
    decode_ok(bp_load, 3, MODE_PROT32, &in);
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 1), EMU_DONE);
    assert_int_equal(f.last.operand, EMU_OPND_EA);
    assert_int_equal(f.last.seg, INSN_SEG_SS);
    assert_int_equal(f.last.offset, (uint32_t)(DEV_BASE + 8));
    assert_int_equal(f.last.size, 4);
    assert_false(f.last.write);

    static const uint8_t movsw[] = { 0x66, 0xa5 };
    fake_init(&f);
    state_init(&st);
    st.gpr[INSN_RSI] = DEV_BASE;
    st.gpr[INSN_RDI] = RAM_BASE;
    f.fail_at = 0;                     /* stop at the first access to look at it */
    decode_ok(movsw, 2, MODE_LONG64, &in);
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 1), EMU_ABORT);
    assert_int_equal(f.last.operand, EMU_OPND_SRC);
    assert_int_equal(f.last.seg, INSN_SEG_DS);
    assert_int_equal(f.last.size, 2);
    f.fail_at = 1;
    f.n = 0;
    assert_int_equal(emu_execute(&in, &st, &fake_ops, &f, 1), EMU_ABORT);
    assert_int_equal(f.last.operand, EMU_OPND_DST);
    assert_int_equal(f.last.seg, INSN_SEG_ES);
    assert_true(f.last.write);
    assert_int_equal(f.last.offset, RAM_BASE);

    assert_string_equal(emu_result_name(EMU_DONE), "done");
    assert_string_equal(emu_result_name(EMU_UNSUPPORTED), "unsupported");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_alu_vs_host),
        cmocka_unit_test(test_unary_vs_host),
        cmocka_unit_test(test_bt_vs_host),
        cmocka_unit_test(test_rep_stos),
        cmocka_unit_test(test_movs),
        cmocka_unit_test(test_lods),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_access_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
