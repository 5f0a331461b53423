/* libFuzzer entry point for vmm/emulate/decode.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *       tests/fuzz/fuzz_decode.c vmm/emulate/decode.c -o build/fuzz_decode
 *   build/fuzz_decode -max_len=20 -max_total_time=60
 *
 * Without libFuzzer, -DFUZZ_MAIN builds a driver that runs each file named on the
 * command line, or N pseudo-random inputs with `-r N`:
 *
 *   gcc -g -O1 -fsanitize=address,undefined -DFUZZ_MAIN -I. \
 *       tests/fuzz/fuzz_decode.c vmm/emulate/decode.c -o build/fuzz_decode_run
 *
 * The first input byte picks the mode; the rest are the instruction bytes, copied to
 * a heap block of exactly their size so that AddressSanitizer catches a read past
 * `avail`. Besides "no crash", it checks what every caller relies on: a decoded
 * length is 1..15 and within the bytes given, the instruction's own bytes decode
 * the same way, and one byte fewer is "truncated". */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/emulate/decode.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz_decode: check failed: %s (line %d)\n", #cond,  \
                    __LINE__);                                                   \
            abort();                                                             \
        }                                                                        \
    } while (0)

static int decode_copy(const uint8_t *data, size_t n, enum cpu_mode mode, struct insn *in)
{
    uint8_t *copy = malloc(n ? n : 1);
    CHECK(copy != NULL);
    if (n)
        memcpy(copy, data, n);
    int r = insn_decode(copy, n, mode, in);
    free(copy);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum cpu_mode mode = (enum cpu_mode)(data[0] & 3);
    data++, size--;

    struct insn in, again;
    int r = decode_copy(data, size, mode, &in);
    CHECK(r == INSN_OK || r == INSN_ERR_TRUNCATED || r == INSN_ERR_TOO_LONG ||
          r == INSN_ERR_INVALID || r == INSN_ERR_UNSUPPORTED);
    CHECK(insn_strerror(r) != NULL);
    if (r == INSN_ERR_TRUNCATED)
        CHECK(size < INSN_MAX_LEN);
    if (r != INSN_OK)
        return 0;

    CHECK(in.len >= 1 && in.len <= INSN_MAX_LEN && in.len <= size);
    CHECK(in.num_prefixes < in.len);
    CHECK(in.opsize == 1 || in.opsize == 2 || in.opsize == 4 || in.opsize == 8);
    CHECK(in.addrsize == 2 || in.addrsize == 4 || in.addrsize == 8);
    CHECK(in.disp_size <= 8 && in.imm_size <= 8 && in.imm2_size <= 2);
    CHECK(in.base_reg >= INSN_NO_REG && in.base_reg < 16);
    CHECK(in.index_reg >= INSN_NO_REG && in.index_reg < 16);
    CHECK(in.scale == 1 || in.scale == 2 || in.scale == 4 || in.scale == 8);
    CHECK(in.has_mem || in.base_reg == INSN_NO_REG);

    /* Prefix-closed: the instruction's own bytes suffice, one fewer does not. */
    CHECK(decode_copy(data, in.len, mode, &again) == INSN_OK);
    CHECK(again.len == in.len && again.op == in.op && again.imm == in.imm &&
          again.disp == in.disp && again.modrm == in.modrm);
    CHECK(decode_copy(data, in.len - 1u, mode, &again) == INSN_ERR_TRUNCATED);

    /* The helpers accept whatever the decoder produced. */
    uint64_t gpr[16];
    for (unsigned i = 0; i < 16; i++)
        gpr[i] = 0x0123456789abcdefull * (i + 1);
    uint64_t ea = insn_effective_addr(&in, gpr, 0xfffffffffffffff0ull);
    CHECK((ea & ~insn_addr_mask(&in)) == 0);
    CHECK(insn_mem_seg(&in) <= INSN_SEG_GS);
    return 0;
}

#ifdef FUZZ_MAIN
#include "tests/fuzz/fuzz_replay.h"
int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "-r") == 0) {
        unsigned long n = strtoul(argv[2], NULL, 0);
        uint64_t x = 88172645463325252ull;
        uint8_t buf[1 + 18];
        for (unsigned long i = 0; i < n; i++) {
            for (size_t k = 0; k < sizeof buf; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[k] = (uint8_t)x;
            }
            /* Vary the length too, and favour prefix bytes now and then. */
            size_t len = 1 + (size_t)(x >> 59) % (sizeof buf);
            if ((x >> 40) % 4 == 0)
                for (size_t k = 1; k < len && k < 8; k++)
                    buf[k] = (uint8_t[]){ 0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x48, 0x0f,
                                          0xc4 }[(x >> (3 * k)) & 7];
            LLVMFuzzerTestOneInput(buf, len);
        }
        printf("fuzz_decode: %lu random inputs ok\n", n);
        return 0;
    }
    return fuzz_replay_files(argc, argv);
}
#endif
