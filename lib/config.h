/* The VM configuration parser: pure logic (no allocation, no libc), fuzzed on the
 * host. The format is described, with an example, in docs/config.md.
 *
 * config_parse() reads text[0..len) (no NUL terminator needed, nothing past len is
 * read) and fills one struct vm_config per VM section, in file order. A bad
 * section is marked ok=false with the line and reason of its FIRST error; the
 * other sections are unaffected. Text before the first section that is not blank
 * or a comment makes a pseudo entry with an empty name and ok=false.
 *
 * The return value counts all entries found (the pseudo entry included), even
 * those that did not fit in out[0..max): like snprintf, a result above max says
 * the array was too small. Entries past max are parsed and counted, not stored
 * (and so not compared for duplicate names). */
#ifndef LIB_CONFIG_H
#define LIB_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/cpuid_features.h"

#define CONFIG_NAME_MAX     31   /* [A-Za-z0-9_.-]{1,31} */
#define CONFIG_FILE_MAX     63   /* a multiboot module name */
#define CONFIG_MODULES_MAX  8
#define CONFIG_CMDLINE_MAX  255
#define CONFIG_LINE_MAX     512  /* longer lines are an error */
#define CONFIG_CPUS_MAX     8    /* 1..9 (one digit); vmm/vm.h: VM_MAX_VCPUS */
#define CONFIG_MEMORY_MIN   (1ull << 20)
#define CONFIG_MEMORY_MAX   (64ull << 30)
#define CONFIG_WEIGHT_MIN   1
#define CONFIG_WEIGHT_MAX   65535
#define CONFIG_WEIGHT_DEFAULT 256
#define CONFIG_WATCHDOG_MAX 86400 /* seconds: a day */
#define CONFIG_DISKS_MAX    8    /* /dev/vda .. /dev/vdh */
#define CONFIG_NICS_MAX     8    /* eth0 .. eth7 */
#define CONFIG_OVERLAY_DEFAULT (64ull << 20)  /* a disk's private writes, per VM */
#define CONFIG_OVERLAY_MAX  (16ull << 30)

enum vm_paging { PAGING_NESTED, PAGING_SHADOW };

/* `disk = SOURCE [ro]`: SOURCE is a boot module holding the image, written
 * through the VM's private copy-on-write overlay unless ro. */
struct disk_config {
	char source[CONFIG_FILE_MAX + 1];
	bool read_only;
};

/* `net = NETWORK [mac=52:54:00:xx:xx:xx]`: a virtio-net NIC on the switch of
 * NETWORK (a name like a VM's); without mac=, one derived from the VM's name
 * and the NIC's index (lib/mac.h mac_default). */
struct nic_config {
	char network[CONFIG_NAME_MAX + 1];
	uint8_t mac[6];
	bool has_mac;
};

struct vm_config {
	char name[CONFIG_NAME_MAX + 1];
	char kernel[CONFIG_FILE_MAX + 1];
	char modules[CONFIG_MODULES_MAX][CONFIG_FILE_MAX + 1];
	unsigned nmodules;
	char cmdline[CONFIG_CMDLINE_MAX + 1];
	uint64_t memory;       /* bytes */
	unsigned cpus;         /* default 1 */
	enum vm_paging paging; /* default PAGING_NESTED */
	uint32_t cpu_clear[CPUID_WORDS]; /* `cpu = host,-NAME...`: the CPUID bits
					    removed from the VM's model (default none) */
	unsigned weight;       /* relative CPU share, default 256 (vmm/sched.c) */
	unsigned cap;          /* at most this percent of one host CPU per vCPU; 0: none */
	unsigned watchdog;     /* seconds without progress; 0: no watchdog */
	struct disk_config disks[CONFIG_DISKS_MAX];   /* in order: vda, vdb, ... */
	unsigned ndisks;
	struct nic_config nics[CONFIG_NICS_MAX];      /* in order: eth0, eth1, ... */
	unsigned nnics;
	uint64_t overlay;      /* bytes of private writes per disk (default 64M) */
	int line;              /* line of the [vm NAME] header (of the first text for
				  the pseudo entry); lines count from 1 */
	bool ok;
	int err_line;          /* when !ok: where the first error is */
	char err[160];         /* when !ok: e.g. "unknown key 'memroy'" */
};

/* A CPUID feature's /proc/cpuinfo name (name[0..n), arch/cpuid_features.h) -> its
 * feature word and bit; false for a name the list does not hold. */
bool config_cpu_feature(const char *name, size_t n, enum cpuid_word *word, uint32_t *mask);

int config_parse(const char *text, size_t len, struct vm_config *out, int max);
#endif
