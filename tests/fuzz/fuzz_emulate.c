/* libFuzzer entry point for vmm/emulate/emulate (with the decoder in front).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_emulate.c \
 *       vmm/emulate/emulate.c vmm/emulate/decode.c -o build/fuzz_emulate
 *   build/fuzz_emulate -max_len=40 -max_total_time=60
 *
 * Without libFuzzer, -DFUZZ_MAIN builds a driver that runs each file named on the
 * command line, or N pseudo-random inputs with `-r N`:
 *
 *   gcc -g -O1 -fsanitize=address,undefined -DFUZZ_MAIN -I. tests/fuzz/fuzz_emulate.c \
 *       vmm/emulate/emulate.c vmm/emulate/decode.c -o build/fuzz_emulate_run
 *
 * Input: byte 0 picks the mode (bits 0-1), EFLAGS.DF (bit 2), the iteration limit
 * (bits 3-5) and whether the fake memory refuses an access now and then (bit 6);
 * bytes 1-8 seed the registers; the rest are the instruction bytes, copied to a heap
 * block of exactly their size so that AddressSanitizer catches a read past them.
 * Memory is a 256-byte array that every access lands in by its offset (an access
 * that would run past the array is refused, as a fault would be). Besides "no
 * crash", it checks the contract of emu_execute(): accesses of 1/2/4/8 bytes with
 * offsets inside the address size; EMU_UNSUPPORTED with no access and no change;
 * EMU_DONE with RIP past the instruction; EMU_AGAIN only for a REP with RIP kept and
 * no more iterations than allowed; EMU_ABORT only after a refused access; and a
 * non-string instruction never touches more than two accesses. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/emulate/emulate.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz_emulate: check failed: %s (line %d)\n", #cond, \
                    __LINE__);                                                   \
            abort();                                                             \
        }                                                                        \
    } while (0)

struct fake {
    uint8_t mem[256];
    uint64_t addr_mask;
    unsigned n, refused;
    uint64_t refuse_bits;    /* bit i set: access i is refused (for i < 64) */
};

static bool fake_access(void *ctx, const struct emu_access *a, uint64_t *val)
{
    struct fake *f = ctx;
    CHECK(a->size == 1 || a->size == 2 || a->size == 4 || a->size == 8);
    CHECK(a->seg <= INSN_SEG_GS);
    CHECK(a->operand == EMU_OPND_EA || a->operand == EMU_OPND_SRC ||
          a->operand == EMU_OPND_DST);
    CHECK((a->offset & ~f->addr_mask) == 0);
    unsigned i = f->n++;
    uint64_t off = a->offset & 0xff;
    if ((i < 64 && ((f->refuse_bits >> i) & 1)) || off + a->size > sizeof f->mem) {
        f->refused++;
        return false;
    }
    if (a->write)
        memcpy(&f->mem[off], val, a->size);
    else
        memcpy(val, &f->mem[off], a->size);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 10)
        return 0;
    uint8_t ctl = data[0];
    uint64_t seed;
    memcpy(&seed, data + 1, 8);
    data += 9, size -= 9;

    enum cpu_mode mode = (enum cpu_mode)(ctl & 3);
    uint8_t *copy = malloc(size);
    CHECK(copy != NULL);
    memcpy(copy, data, size);
    struct insn in;
    int err = insn_decode(copy, size, mode, &in);
    free(copy);
    if (err != INSN_OK)
        return 0;

    struct emu_state st, before;
    uint64_t x = seed | 1;
    for (unsigned i = 0; i < 16; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* Small counts now and then, so that REP loops run to their end. */
        st.gpr[i] = (x & 3) == 0 ? (x >> 8) & 0x1f : x;
    }
    st.rflags = 0x2 | (x & EMU_FLAGS_ARITH) | ((ctl & 4) ? EMU_FLAG_DF : 0);
    st.rip = x >> 13;
    if (mode != MODE_LONG64)
        st.rip = (uint32_t)st.rip;
    before = st;

    struct fake f = { .addr_mask = insn_addr_mask(&in) };
    for (unsigned i = 0; i < sizeof f.mem; i++)
        f.mem[i] = (uint8_t)(seed >> (i % 64)) ^ (uint8_t)i;
    if (ctl & 64)
        f.refuse_bits = seed * 0x9e3779b97f4a7c15ull & (seed >> 3);
    unsigned max = 1u << ((ctl >> 3) & 7);      /* 1 .. 128 */
    const struct emu_ops ops = { .access = fake_access };

    enum emu_result r = emu_execute(&in, &st, &ops, &f, max);
    CHECK(emu_result_name(r) != NULL);
    uint64_t next = before.rip + in.len;
    if (mode != MODE_LONG64)
        next = (uint32_t)next;
    bool string = in.map == INSN_MAP_1BYTE && in.op >= 0xa4 && in.op <= 0xad;
    switch (r) {
    case EMU_UNSUPPORTED:
        CHECK(f.n == 0);
        CHECK(memcmp(&st, &before, sizeof st) == 0);
        break;
    case EMU_DONE:
        CHECK(st.rip == next);
        CHECK(f.refused == 0);
        CHECK(string || f.n <= 2);
        CHECK(f.n <= 2 * max);
        break;
    case EMU_AGAIN:
        CHECK(string && (in.rep || in.repne));
        CHECK(st.rip == before.rip);
        CHECK(f.refused == 0);
        CHECK(f.n <= 2 * max);
        break;
    case EMU_ABORT:
        CHECK(st.rip == before.rip);
        CHECK(f.refused == 1);
        if (!string)
            CHECK(memcmp(&st, &before, sizeof st) == 0);
        break;
    default:
        CHECK(!"unknown result");
    }
    /* Flags the emulator never touches. */
    CHECK((st.rflags & ~(uint64_t)EMU_FLAGS_ARITH) == (before.rflags & ~(uint64_t)EMU_FLAGS_ARITH));
    return 0;
}

#ifdef FUZZ_MAIN
#include "tests/fuzz/fuzz_replay.h"
int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "-r") == 0) {
        unsigned long n = strtoul(argv[2], NULL, 0);
        uint64_t x = 88172645463325252ull;
        uint8_t buf[9 + 15];
        /* Opcode bytes the emulator covers, to reach it more often than chance. */
        static const uint8_t ops[] = { 0x01, 0x03, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31,
                                       0x39, 0x3b, 0x63, 0x80, 0x81, 0x83, 0x84, 0x85,
                                       0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0xa0, 0xa1,
                                       0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad,
                                       0xc6, 0xc7, 0xf6, 0xf7, 0xfe, 0xff, 0x0f };
        static const uint8_t ops0f[] = { 0xa3, 0xab, 0xb3, 0xbb, 0xba, 0xb6, 0xb7, 0xbe, 0xbf };
        static const uint8_t pfx[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x64, 0x48, 0x41 };
        for (unsigned long i = 0; i < n; i++) {
            for (size_t k = 0; k < sizeof buf; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[k] = (uint8_t)x;
            }
            size_t k = 9;
            while ((x >> (k * 3)) % 3 == 0 && k < 12) {
                buf[k] = pfx[(x >> (k * 5)) & 7];
                k++;
            }
            buf[k] = ops[(x >> 20) % sizeof ops];
            if (buf[k] == 0x0f)
                buf[k + 1] = ops0f[(x >> 30) % sizeof ops0f];
            size_t len = 9 + 1 + (size_t)(x >> 58) % 15;
            LLVMFuzzerTestOneInput(buf, len);
        }
        printf("fuzz_emulate: %lu random inputs ok\n", n);
        return 0;
    }
    return fuzz_replay_files(argc, argv);
}
#endif
