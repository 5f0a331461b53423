/* rio: direct I/O on a block device for the disk benchmark (bench/run.py "Disk",
 * issue 20; busybox has no fio, and its dd does not time). JOBS processes each do
 * their share of COUNT reads or writes of BLOCK bytes, at random block offsets
 * from their own fixed LCG (rand) or one after the other from the start (seq),
 * with O_DIRECT so the page cache does not answer: JOBS is the queue depth the
 * device sees at most. Prints one line:
 *   rio: read rand bs=B jobs=J ops=N ms=T iops=I kbps=K
 * Built static with the host's gcc into the initramfs (scripts/mkinitramfs).
 * Usage: rio DEVICE read|write rand|seq BLOCK COUNT JOBS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ALIGN 4096

static int job(const char *dev, int write, int seq, long block, long ops, unsigned seed,
               long first)
{
    int fd = open(dev, (write ? O_RDWR : O_RDONLY) | O_DIRECT);
    uint64_t bytes;
    void *buf;
    if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes) != 0 || bytes < (uint64_t)block ||
        posix_memalign(&buf, ALIGN, (size_t)block) != 0) {
        perror(dev);
        return 1;
    }
    memset(buf, (int)seed, (size_t)block);
    uint64_t blocks = bytes / (uint64_t)block, x = seed * 2654435761u + 1;
    for (long i = 0; i < ops; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t b = seq ? (uint64_t)(first + i) % blocks : (x >> 17) % blocks;
        off_t at = (off_t)(b * (uint64_t)block);
        ssize_t n = write ? pwrite(fd, buf, (size_t)block, at) : pread(fd, buf, (size_t)block, at);
        if (n != block) {
            perror("rio");
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: rio DEVICE read|write rand|seq BLOCK COUNT JOBS\n");
        return 2;
    }
    int write = !strcmp(argv[2], "write"), seq = !strcmp(argv[3], "seq");
    long block = atol(argv[4]), count = atol(argv[5]), jobs = atol(argv[6]);
    if (jobs < 1 || count < jobs || block < 512 || block % 512)
        return 2;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long j = 0; j < jobs; j++)
        if (fork() == 0)
            _exit(job(argv[1], write, seq, block, count / jobs, (unsigned)j + 1,
                      j * (count / jobs)));
    int bad = 0, st;
    while (wait(&st) > 0)
        bad |= !WIFEXITED(st) || WEXITSTATUS(st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    long ops = count / jobs * jobs;
    printf("rio: %s %s bs=%ld jobs=%ld ops=%ld ms=%ld iops=%ld kbps=%ld\n",
           write ? "write" : "read", seq ? "seq" : "rand", block, jobs, ops, ms,
           ms ? ops * 1000 / ms : 0, ms ? ops * (block / 1024) * 1000 / ms : 0);
    return bad;
}
