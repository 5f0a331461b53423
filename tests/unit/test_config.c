/* lib/config: good files, every kind of error (each charged to the right entry
 * with the right line and message), other VMs surviving a bad one, and input that
 * is not NUL-terminated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/config.h"

#define MAXV 8
static struct vm_config out[MAXV];

/* Parse s from an exactly sized heap copy with no NUL after it, so ASan catches any
 * read past len. */
static int parse_n(const char *s, size_t len, struct vm_config *o, int max)
{
	char *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	memcpy(buf, s, len);
	memset(o, 0x5a, sizeof(struct vm_config) * (size_t)(max > 0 ? max : 0));
	int n = config_parse(buf, len, o, max);
	free(buf);
	return n;
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s), out, MAXV);
}

/* One VM whose only problem is on the given line with the given message. */
static void expect_err(const struct vm_config *c, int line, const char *msg)
{
	if (c->ok || c->err_line != line || strcmp(c->err, msg) != 0) {
		print_error("expected line %d \"%s\", got ok=%d line %d \"%s\"\n", line, msg,
			    c->ok, c->err_line, c->err);
		fail();
	}
}

static void test_full_example(void **state)
{
	(void)state;
	const char *text =
		"# comment\n"
		"[vm hello]            # a VM section\n"
		"kernel  = hello.elf   # the name of a multiboot module (required)\n"
		"module  = data.bin    # repeatable, up to 8\n"
		"module  = more.bin\n"
		"cmdline = a b c       # rest of line, optional\n"
		"memory  = 64M         # K/M/G suffix\n"
		"cpus    = 2\n"
		"paging  = shadow\n";
	assert_int_equal(parse(text), 1);
	const struct vm_config *c = &out[0];
	assert_true(c->ok);
	assert_string_equal(c->name, "hello");
	assert_string_equal(c->kernel, "hello.elf");
	assert_int_equal(c->nmodules, 2);
	assert_string_equal(c->modules[0], "data.bin");
	assert_string_equal(c->modules[1], "more.bin");
	assert_string_equal(c->cmdline, "a b c");
	assert_int_equal(c->memory, 64ull << 20);
	assert_int_equal(c->cpus, 2);
	assert_int_equal(c->paging, PAGING_SHADOW);
	assert_int_equal(c->line, 2);
}

static void test_defaults_and_two_vms(void **state)
{
	(void)state;
	const char *text =
		"[vm a]\nkernel = a.elf\nmemory = 1M\n"
		"\n\n"
		"  [ vm   b.2-x_Y ]  \n\tkernel=b.elf\n\tmemory=2G\npaging = nested\n";
	assert_int_equal(parse(text), 2);
	assert_true(out[0].ok);
	assert_string_equal(out[0].name, "a");
	assert_int_equal(out[0].cpus, 1);
	assert_int_equal(out[0].paging, PAGING_NESTED);
	assert_int_equal(out[0].nmodules, 0);
	assert_string_equal(out[0].cmdline, "");
	assert_int_equal(out[0].memory, 1ull << 20);
	assert_int_equal(out[0].weight, 256);
	assert_int_equal(out[0].cap, 0);
	assert_true(out[1].ok);
	assert_string_equal(out[1].name, "b.2-x_Y");
	assert_string_equal(out[1].kernel, "b.elf");
	assert_int_equal(out[1].memory, 2ull << 30);
	assert_int_equal(out[1].line, 6);
}

static void test_memory_values(void **state)
{
	(void)state;
	static const struct { const char *v; uint64_t bytes; } good[] = {
		{ "1048576", 1ull << 20 }, { "1024K", 1ull << 20 }, { "1024k", 1ull << 20 },
		{ "1M", 1ull << 20 }, { "3m", 3ull << 20 }, { "1G", 1ull << 30 },
		{ "64G", 64ull << 30 }, { "65536M", 64ull << 30 }, { "1028K", 1028ull << 10 },
	};
	char text[128];
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		snprintf(text, sizeof text, "[vm m]\nkernel = k\nmemory = %s\n", good[i].v);
		assert_int_equal(parse(text), 1);
		assert_true(out[0].ok);
		assert_int_equal(out[0].memory, good[i].bytes);
	}
	static const struct { const char *v; const char *err; } bad[] = {
		{ "64X", "bad value '64X' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "M", "bad value 'M' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "12 M", "bad value '12 M' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "1MB", "bad value '1MB' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "-1M", "bad value '-1M' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "", "bad value '' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "99999999999999999999999", "bad value '99999999999999999999999' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "17179869184G", "bad value '17179869184G' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "18446744073709551616", "bad value '18446744073709551616' for 'memory' (a number with an optional K, M or G suffix)" },
		{ "18446744073709551615", "'memory' 18446744073709551615 out of range (1M..64G)" },
		{ "512K", "'memory' 512K out of range (1M..64G)" },
		{ "0", "'memory' 0 out of range (1M..64G)" },
		{ "65G", "'memory' 65G out of range (1M..64G)" },
		{ "1048577", "'memory' 1048577 is not a multiple of 4K" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(text, sizeof text, "[vm m]\nkernel = k\nmemory = %s\n", bad[i].v);
		assert_int_equal(parse(text), 1);
		expect_err(&out[0], 3, bad[i].err);
	}
}

/* Each kind of error, alone in a VM, with its line and message. */
static void test_weight_and_cap(void **state)
{
	(void)state;
	const char *text =
		"[vm a]\nkernel = a.elf\nmemory = 1M\nweight = 512\ncap = 25\n"
		"[vm b]\nkernel = b.elf\nmemory = 1M\nweight=1\ncap=100\n"
		"[vm c]\nkernel = c.elf\nmemory = 1M\nweight = 65535 # the most\nwatchdog = 30\n";
	assert_int_equal(parse(text), 3);
	assert_true(out[0].ok && out[1].ok && out[2].ok);
	assert_int_equal(out[0].weight, 512);
	assert_int_equal(out[0].cap, 25);
	assert_int_equal(out[1].weight, 1);
	assert_int_equal(out[1].cap, 100);
	assert_int_equal(out[2].weight, 65535);
	assert_int_equal(out[2].cap, 0);
	assert_int_equal(out[0].watchdog, 0);
	assert_int_equal(out[2].watchdog, 30);
}

/* Disks in order, ro, the overlay size; errors at their line. */
static void test_disks(void **state)
{
	(void)state;
	const char *text =
		"[vm a]\nkernel = a.elf\nmemory = 1M\ndisk = root.ext4\ndisk = data.img ro\n"
		"overlay = 8M\n"
		"[vm b]\nkernel = b.elf\nmemory = 1M\n";
	assert_int_equal(parse(text), 2);
	assert_true(out[0].ok && out[1].ok);
	assert_int_equal(out[0].ndisks, 2);
	assert_string_equal(out[0].disks[0].source, "root.ext4");
	assert_false(out[0].disks[0].read_only);
	assert_string_equal(out[0].disks[1].source, "data.img");
	assert_true(out[0].disks[1].read_only);
	assert_int_equal(out[0].overlay, 8ull << 20);
	assert_int_equal(out[1].ndisks, 0);
	assert_int_equal(out[1].overlay, CONFIG_OVERLAY_DEFAULT);
}

/* NICs in order, explicit and default MACs, the network names. */
static void test_nics(void **state)
{
	(void)state;
	const char *text =
		"[vm a]\nkernel = a.elf\nmemory = 1M\nnet = red\nnet = blue mac=52:54:00:12:34:56\n"
		"[vm b]\nkernel = b.elf\nmemory = 1M\nnet = red mac=52:54:00:AB:cd:ef\n";
	assert_int_equal(parse(text), 2);
	assert_true(out[0].ok && out[1].ok);
	assert_int_equal(out[0].nnics, 2);
	assert_string_equal(out[0].nics[0].network, "red");
	assert_false(out[0].nics[0].has_mac);
	assert_string_equal(out[0].nics[1].network, "blue");
	assert_true(out[0].nics[1].has_mac);
	static const uint8_t m1[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	static const uint8_t m2[6] = { 0x52, 0x54, 0, 0xAB, 0xCD, 0xEF };
	assert_memory_equal(out[0].nics[1].mac, m1, 6);
	assert_memory_equal(out[1].nics[0].mac, m2, 6);
	/* The same MAC in a second VM: an error at that line, the first VM runs. */
	const char *dup =
		"[vm a]\nkernel = a.elf\nmemory = 1M\nnet = red mac=52:54:00:12:34:56\n"
		"[vm b]\nkernel = b.elf\nmemory = 1M\nnet = red mac=52:54:00:12:34:56\n";
	assert_int_equal(parse(dup), 2);
	assert_true(out[0].ok);
	assert_false(out[1].ok);
	assert_int_equal(out[1].err_line, 8);
	assert_string_equal(out[1].err,
			    "duplicate MAC address '52:54:00:12:34:56' (first in the VM at line 1)");
}

static void test_each_error(void **state)
{
	(void)state;
	static const struct { const char *body; int line; const char *err; } cases[] = {
		{ "kernel = k\nmemroy = 1M\nmemory = 1M\n", 3, "unknown key 'memroy'" },
		{ "kernel = k\n", 1, "missing required key 'memory'" },
		{ "memory = 4M\ncpus = 2\n", 1, "missing required key 'kernel'" },
		{ "kernel = k\nmemory = 1M\ncpus = 0\n", 4, "bad value '0' for 'cpus' (1..8)" },
		{ "kernel = k\nmemory = 1M\ncpus = 9\n", 4, "bad value '9' for 'cpus' (1..8)" },
		{ "kernel = k\nmemory = 1M\ncpus = 10\n", 4, "bad value '10' for 'cpus' (1..8)" },
		{ "kernel = k\nmemory = 1M\ncpus = two\n", 4, "bad value 'two' for 'cpus' (1..8)" },
		{ "kernel = k\nmemory = 1M\nweight = 0\n", 4, "bad value '0' for 'weight' (1..65535)" },
		{ "kernel = k\nmemory = 1M\nweight = 65536\n", 4,
		  "bad value '65536' for 'weight' (1..65535)" },
		{ "kernel = k\nmemory = 1M\nweight = -5\n", 4, "bad value '-5' for 'weight' (1..65535)" },
		{ "kernel = k\nmemory = 1M\nweight = 2k\n", 4, "bad value '2k' for 'weight' (1..65535)" },
		{ "kernel = k\nmemory = 1M\nweight = 1\nweight = 2\n", 5, "duplicate key 'weight'" },
		{ "kernel = k\nmemory = 1M\ncap = 0\n", 4, "bad value '0' for 'cap' (1..100 percent)" },
		{ "kernel = k\nmemory = 1M\ncap = 101\n", 4, "bad value '101' for 'cap' (1..100 percent)" },
		{ "kernel = k\nmemory = 1M\ncap = 25%\n", 4, "bad value '25%' for 'cap' (1..100 percent)" },
		{ "kernel = k\nmemory = 1M\ncap =\n", 4, "bad value '' for 'cap' (1..100 percent)" },
		{ "kernel = k\nmemory = 1M\nwatchdog = 0\n", 4,
		  "bad value '0' for 'watchdog' (1..86400 seconds)" },
		{ "kernel = k\nmemory = 1M\nwatchdog = 86401\n", 4,
		  "bad value '86401' for 'watchdog' (1..86400 seconds)" },
		{ "kernel = k\nmemory = 1M\nwatchdog = 10s\n", 4,
		  "bad value '10s' for 'watchdog' (1..86400 seconds)" },
		{ "kernel = k\nmemory = 1M\ndisk = a.img rw\n", 4,
		  "bad value 'a.img rw' for 'disk' (a module name, then optionally 'ro')" },
		{ "kernel = k\nmemory = 1M\ndisk =\n", 4, "missing value for 'disk'" },
		{ "kernel = k\nmemory = 1M\ndisk = a\ndisk = b\ndisk = c\ndisk = d\ndisk = e\n"
		  "disk = f\ndisk = g\ndisk = h\ndisk = i\n", 12, "too many disks (max 8)" },
		{ "kernel = k\nmemory = 1M\nnet = red!\n", 4,
		  "bad network name 'red!' (1-31 of A-Z a-z 0-9 _ . -)" },
		{ "kernel = k\nmemory = 1M\nnet = red mac=01:54:00:12:34:56\n", 4,
		  "bad MAC address '01:54:00:12:34:56' (six hex pairs with ':', not multicast or zero)" },
		{ "kernel = k\nmemory = 1M\nnet = red mac=52-54-00-12-34-56\n", 4,
		  "bad MAC address '52-54-00-12-34-56' (six hex pairs with ':', not multicast or zero)" },
		{ "kernel = k\nmemory = 1M\nnet = red hw=52:54:00:12:34:56\n", 4,
		  "bad value 'red hw=52:54:00:12:34:56' for 'net' (a network name, then optionally mac=52:54:00:xx:xx:xx)" },
		{ "kernel = k\nmemory = 1M\nnet = a mac=52:54:00:00:00:01\nnet = b mac=52:54:00:00:00:01\n", 5,
		  "duplicate MAC address '52:54:00:00:00:01' (first in the VM at line 1)" },
		{ "kernel = k\nmemory = 1M\noverlay = 17G\n", 4,
		  "bad value '17G' for 'overlay' (a size up to 16G, K, M or G suffix)" },
		{ "kernel = k\nmemory = 1M\npaging = ept\n", 4,
		  "bad value 'ept' for 'paging' (nested or shadow)" },
		{ "kernel = k\nmemory = 1M\nmemory = 2M\n", 4, "duplicate key 'memory'" },
		{ "kernel = k\nkernel = j\nmemory = 2M\n", 3, "duplicate key 'kernel'" },
		{ "kernel = k\nmemory = 1M\ncmdline = a\ncmdline = b\n", 5, "duplicate key 'cmdline'" },
		{ "kernel = a b\nmemory = 1M\n", 2, "value of 'kernel' must be one word, got 'a b'" },
		{ "kernel =\nmemory = 1M\n", 2, "missing value for 'kernel'" },
		{ "kernel = k\nmodule = \nmemory = 1M\n", 3, "missing value for 'module'" },
		{ "kernel = k\nmemory 1M\n", 3, "expected 'key = value', got 'memory 1M'" },
		{ "kernel = k\n= 1M\n", 3, "expected 'key = value', got '= 1M'" },
		{ "kernel = k\nmem.ory = 1M\n", 3, "expected 'key = value', got 'mem.ory = 1M'" },
		{ "kernel = k\nmemory = 1M\nmodule = a\nmodule = b\nmodule = c\nmodule = d\n"
		  "module = e\nmodule = f\nmodule = g\nmodule = h\nmodule = i\n", 12,
		  "too many modules (max 8)" },
		{ "kernel = k\x01\nmemory = 1M\n", 2, "control character 0x01 in line" },
		{ "kernel = k\nmemory = 1M\ncpu = max\n", 4,
		  "bad value 'max' for 'cpu' (host, then ,-FEATURE to remove one)" },
		{ "kernel = k\nmemory = 1M\ncpu = host,-avx2,-avx9\n", 4,
		  "unknown CPU feature 'avx9' in 'cpu'" },
		{ "kernel = k\nmemory = 1M\ncpu = host,avx2\n", 4,
		  "bad item 'avx2' in 'cpu' (-FEATURE, a name of /proc/cpuinfo)" },
		{ "kernel = k\nmemory = 1M\ncpu = host,\n", 4,
		  "bad item '' in 'cpu' (-FEATURE, a name of /proc/cpuinfo)" },
		{ "kernel = k\nmemory = 1M\ncpu = host,-vmx\n", 4,
		  "unknown CPU feature 'vmx' in 'cpu'" },
		{ "kernel = k\nmemory = 1M\ncpu = host\ncpu = host\n", 5, "duplicate key 'cpu'" },
	};
	char text[1024];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		snprintf(text, sizeof text, "[vm v]\n%s", cases[i].body);
		assert_int_equal(parse(text), 1);
		expect_err(&out[0], cases[i].line, cases[i].err);
		assert_string_equal(out[0].name, "v");
	}
}

/* `cpu = host,-NAME,...`: each name's bit in its CPUID word. */
static void test_cpu_features(void **state)
{
	(void)state;
	assert_int_equal(parse("[vm a]\nkernel = k\nmemory = 1M\n"
			       "[vm b]\nkernel = k\nmemory = 1M\ncpu = host\n"
			       "[vm c]\nkernel = k\nmemory = 1M\n"
			       "cpu = host, -avx2 ,-pcid,-3dnowprefetch,-constant_tsc,-avx2\n"), 3);
	for (int i = 0; i < 3; i++)
		assert_true(out[i].ok);
	for (int w = 0; w < CPUID_WORDS; w++) {
		assert_int_equal(out[0].cpu_clear[w], 0);
		assert_int_equal(out[1].cpu_clear[w], 0);
	}
	assert_int_equal(out[2].cpu_clear[CPUID_W_7_0_EBX], 1u << 5);
	assert_int_equal(out[2].cpu_clear[CPUID_W_1_ECX], 1u << 17);
	assert_int_equal(out[2].cpu_clear[CPUID_W_80000001_ECX], 1u << 8);
	assert_int_equal(out[2].cpu_clear[CPUID_W_80000007_EDX], 1u << 8);
	assert_int_equal(out[2].cpu_clear[CPUID_W_1_EDX], 0);
	/* Every name of the list is found, none twice with different bits. */
	enum cpuid_word w;
	uint32_t mask;
#define CHECK(name, word, bit) \
	assert_true(config_cpu_feature(name, strlen(name), &w, &mask)); \
	assert_int_equal(w, word); \
	assert_int_equal(mask, 1u << (bit));
	CPUID_FEATURES(CHECK)
#undef CHECK
	assert_false(config_cpu_feature("avx", 2, &w, &mask));   /* "av" */
	assert_false(config_cpu_feature("", 0, &w, &mask));
}

static void test_long_values(void **state)
{
	(void)state;
	char text[2048], big[600];
	/* 63 characters fit; 64 do not. */
	memset(big, 'k', 64);
	big[63] = '\0';
	snprintf(text, sizeof text, "[vm v]\nkernel = %s\nmemory = 1M\n", big);
	assert_int_equal(parse(text), 1);
	assert_true(out[0].ok);
	assert_int_equal(strlen(out[0].kernel), 63);
	big[63] = 'k';
	big[64] = '\0';
	snprintf(text, sizeof text, "[vm v]\nkernel = %s\nmemory = 1M\n", big);
	parse(text);
	expect_err(&out[0], 2, "value of 'kernel' too long (max 63 characters)");
	snprintf(text, sizeof text, "[vm v]\nkernel = k\nmodule = %s\nmemory = 1M\n", big);
	parse(text);
	expect_err(&out[0], 3, "value of 'module' too long (max 63 characters)");
	/* cmdline: 255 fit, 256 do not. */
	memset(big, 'c', 256);
	big[255] = '\0';
	snprintf(text, sizeof text, "[vm v]\nkernel = k\ncmdline = %s\nmemory = 1M\n", big);
	parse(text);
	assert_true(out[0].ok);
	assert_int_equal(strlen(out[0].cmdline), 255);
	big[255] = 'c';
	big[256] = '\0';
	snprintf(text, sizeof text, "[vm v]\nkernel = k\ncmdline = %s\nmemory = 1M\n", big);
	parse(text);
	expect_err(&out[0], 3, "value of 'cmdline' too long (max 255 characters)");
	/* A 513-character line (a comment, even) is an error; 512 is fine. */
	memset(big, ' ', 513);
	big[0] = '#';
	big[512] = '\0';
	snprintf(text, sizeof text, "[vm v]\n%s\nkernel = k\nmemory = 1M\n", big);
	parse(text);
	assert_true(out[0].ok);
	big[512] = 'x';
	big[513] = '\0';
	snprintf(text, sizeof text, "[vm v]\nkernel = k\n%s\nmemory = 1M\n", big);
	parse(text);
	expect_err(&out[0], 3, "line too long (max 512 characters)");
	/* A 31-character name is fine, 32 is not. */
	snprintf(text, sizeof text, "[vm %.31s]\nkernel = k\nmemory = 1M\n", "abcdefghijklmnopqrstuvwxyz0123456789");
	parse(text);
	assert_true(out[0].ok);
	assert_int_equal(strlen(out[0].name), 31);
	snprintf(text, sizeof text, "[vm %.32s]\nkernel = k\nmemory = 1M\n", "abcdefghijklmnopqrstuvwxyz0123456789");
	parse(text);
	expect_err(&out[0], 1, "bad VM name 'abcdefghijklmnopqrstuvwxyz012345' (1-31 of A-Z a-z 0-9 _ . -)");
	assert_string_equal(out[0].name, "");
}

static void test_bad_headers(void **state)
{
	(void)state;
	static const struct { const char *hdr; const char *err; } cases[] = {
		{ "[vm a", "section header must end with ']'" },
		{ "[vm]", "missing VM name in [vm NAME]" },
		{ "[vm   ]", "missing VM name in [vm NAME]" },
		{ "[]", "unknown section '[]' (expected [vm NAME])" },
		{ "[net x]", "unknown section '[net x]' (expected [vm NAME])" },
		{ "[VM x]", "unknown section '[VM x]' (expected [vm NAME])" },
		{ "[vm a b]", "bad VM name 'a b' (1-31 of A-Z a-z 0-9 _ . -)" },
		{ "[vm a/b]", "bad VM name 'a/b' (1-31 of A-Z a-z 0-9 _ . -)" },
		{ "[vm x] junk", "section header must end with ']'" },
	};
	char text[256];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		/* The bad header takes the following keys with it; the VM after survives. */
		snprintf(text, sizeof text,
			 "[vm before]\nkernel=k\nmemory=1M\n%s\nkernel = k\nmemory = 1M\n"
			 "[vm after]\nkernel=k\nmemory=1M\n", cases[i].hdr);
		assert_int_equal(parse(text), 3);
		assert_true(out[0].ok);
		expect_err(&out[1], 4, cases[i].err);
		assert_int_equal(out[1].line, 4);
		assert_true(out[2].ok);
		assert_string_equal(out[2].name, "after");
	}
}

static void test_duplicate_name(void **state)
{
	(void)state;
	const char *text =
		"[vm a]\nkernel=k\nmemory=1M\n"
		"[vm b]\nkernel=k\nmemory=1M\n"
		"[vm a]\nkernel=k2\nmemory=2M\n";
	assert_int_equal(parse(text), 3);
	assert_true(out[0].ok);
	assert_true(out[1].ok);
	expect_err(&out[2], 7, "duplicate VM name 'a' (first at line 1)");
	assert_string_equal(out[2].name, "a");
}

static void test_text_outside_section(void **state)
{
	(void)state;
	const char *text =
		"# fine\n\n"
		"kernel = stray.elf\n"
		"memory = 1M\n"
		"[vm a]\nkernel=k\nmemory=1M\n";
	assert_int_equal(parse(text), 2);
	expect_err(&out[0], 3, "text outside a VM section: 'kernel = stray.elf'");
	assert_string_equal(out[0].name, "");
	assert_string_equal(out[0].kernel, ""); /* the stray keys were not applied */
	assert_int_equal(out[0].memory, 0);
	assert_int_equal(out[0].line, 3);
	assert_true(out[1].ok);
	assert_string_equal(out[1].name, "a");

	/* A too-long line before any section also makes the pseudo entry. */
	char big[700];
	memset(big, 'x', sizeof big);
	memcpy(big + 600, "\n[vm a]\nkernel=k\nmemory=1M\n", 27);
	assert_int_equal(parse_n(big, 627, out, MAXV), 2);
	expect_err(&out[0], 1, "line too long (max 512 characters)");
	assert_true(out[1].ok);
}

/* The brief's promise: a bad VM does not take the others down. */
static void test_other_vms_survive(void **state)
{
	(void)state;
	const char *text =
		"[vm one]\nkernel = one.elf\nmemory = 16M\n"
		"[vm two]\nkernel = two.elf\nmemroy = 16M\ncpus = 99\n"
		"[vm three]\nkernel = three.elf\nmemory = 32M\ncpus = 4\n"
		"[vm four]\ncpus = 2\n"
		"[vm five]\nkernel = five.elf\nmemory = 1G\npaging = shadow\n";
	assert_int_equal(parse(text), 5);
	assert_true(out[0].ok);
	expect_err(&out[1], 6, "unknown key 'memroy'"); /* the first error only */
	assert_true(out[2].ok);
	assert_int_equal(out[2].cpus, 4);
	assert_int_equal(out[2].memory, 32ull << 20);
	expect_err(&out[3], 12, "missing required key 'kernel'");
	assert_true(out[4].ok);
	assert_int_equal(out[4].paging, PAGING_SHADOW);
}

static void test_lexical_details(void **state)
{
	(void)state;
	/* CRLF, tabs, a '#' inside words, a comment right after the value, an '=' in the
	 * cmdline, no newline at the end. */
	const char *text =
		"\r\n[vm crlf]\r\n\tkernel\t=\tk#1.elf\t# comment\r\n"
		"cmdline = console=ttyS0 root=/dev/vda a#b #real comment\r\n"
		"memory=8M#not-a-comment-start\r\n"
		"memory2 = x";
	assert_int_equal(parse(text), 1);
	assert_string_equal(out[0].kernel, "k#1.elf");
	assert_string_equal(out[0].cmdline, "console=ttyS0 root=/dev/vda a#b");
	/* "8M#not..." is one word: a bad memory value, on line 5. */
	expect_err(&out[0], 5,
		   "bad value '8M#not-a-comment-start' for 'memory' (a number with an optional K, M or G suffix)");

	/* An empty cmdline is allowed. */
	assert_int_equal(parse("[vm e]\nkernel=k\nmemory=1M\ncmdline =\n"), 1);
	assert_true(out[0].ok);
	assert_string_equal(out[0].cmdline, "");
}

static void test_empty_and_comments(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(parse("\n\n   \n\t\n"), 0);
	assert_int_equal(parse("# only\n   # comments\n"), 0);
	assert_int_equal(config_parse(NULL, 0, out, MAXV), 0);
}

/* len is respected exactly: the text after it is not part of the file, and the
 * buffer needs no NUL (parse_n gives ASan an exactly sized copy). */
static void test_len_bound(void **state)
{
	(void)state;
	const char *text = "[vm a]\nkernel=k\nmemory=1M\n[vm b]\nkernel=k\nmemory=1M\n";
	size_t cut = strlen("[vm a]\nkernel=k\nmemory=1M\n[vm b]\nkernel=k\nmemory=1");
	assert_int_equal(parse_n(text, cut, out, MAXV), 2);
	assert_true(out[0].ok);
	expect_err(&out[1], 6, "'memory' 1 out of range (1M..64G)");
	/* Cut inside the header: "[vm b" is a header without its ']'. */
	cut = strlen("[vm a]\nkernel=k\nmemory=1M\n[vm b");
	assert_int_equal(parse_n(text, cut, out, MAXV), 2);
	expect_err(&out[1], 4, "section header must end with ']'");
	/* Every prefix of the text parses without reading past it. */
	for (size_t n = 0; n <= strlen(text); n++)
		parse_n(text, n, out, MAXV);
	/* A NUL byte inside the text is an ordinary (bad) character, not the end. */
	const char withnul[] = "[vm a]\nkernel=k\0x\nmemory=1M\n[vm b]\nkernel=k\nmemory=1M\n";
	assert_int_equal(parse_n(withnul, sizeof withnul - 1, out, MAXV), 2);
	expect_err(&out[0], 2, "control character 0x00 in line");
	assert_true(out[1].ok);
}

static void test_more_than_max(void **state)
{
	(void)state;
	const char *text =
		"[vm a]\nkernel=k\nmemory=1M\n[vm b]\nkernel=k\nmemory=1M\n"
		"[vm c]\nkernel=k\nmemory=1M\n[vm d]\nkernel=k\n";
	struct vm_config two[3];
	/* Only two slots: four sections are counted, two stored, the third slot untouched. */
	memset(&two[2], 0x77, sizeof two[2]);
	char *buf = malloc(strlen(text));
	memcpy(buf, text, strlen(text));
	assert_int_equal(config_parse(buf, strlen(text), two, 2), 4);
	assert_string_equal(two[0].name, "a");
	assert_string_equal(two[1].name, "b");
	assert_int_equal(((unsigned char *)&two[2])[0], 0x77);
	/* max 0 / NULL out: count only. */
	assert_int_equal(config_parse(buf, strlen(text), NULL, 5), 4);
	assert_int_equal(config_parse(buf, strlen(text), two, 0), 4);
	assert_int_equal(config_parse(buf, strlen(text), two, -3), 4);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_defaults_and_two_vms),
		cmocka_unit_test(test_memory_values),
		cmocka_unit_test(test_weight_and_cap),
		cmocka_unit_test(test_disks),
		cmocka_unit_test(test_nics),
		cmocka_unit_test(test_each_error),
		cmocka_unit_test(test_cpu_features),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_duplicate_name),
		cmocka_unit_test(test_text_outside_section),
		cmocka_unit_test(test_other_vms_survive),
		cmocka_unit_test(test_lexical_details),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_len_bound),
		cmocka_unit_test(test_more_than_max),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
