/* The file-replay half of the fuzz targets' stand-alone drivers (-DFUZZ_MAIN):
 * feed each file named on the command line to LLVMFuzzerTestOneInput, as
 * libFuzzer does with a corpus. Returns a process exit status. */
#ifndef TESTS_FUZZ_FUZZ_REPLAY_H
#define TESTS_FUZZ_FUZZ_REPLAY_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_replay_files(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        uint8_t buf[4096];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif
