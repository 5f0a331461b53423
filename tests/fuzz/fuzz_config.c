/* libFuzzer target for lib/config: any byte string must parse without reading past
 * its length (ASan: libFuzzer's buffer is exactly sized), without undefined
 * behaviour (UBSan), and must give results that keep the parser's promises. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"

#define MAXV 4

/* Every string field must be NUL-terminated inside its array. */
static void check_str(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config out[MAXV];
	int n = config_parse((const char *)data, size, out, MAXV);
	if (n < 0)
		abort();
	for (int i = 0; i < n && i < MAXV; i++) {
		const struct vm_config *c = &out[i];
		check_str(c->name, sizeof c->name);
		check_str(c->kernel, sizeof c->kernel);
		check_str(c->cmdline, sizeof c->cmdline);
		check_str(c->err, sizeof c->err);
		if (c->nmodules > CONFIG_MODULES_MAX)
			abort();
		for (unsigned m = 0; m < c->nmodules; m++)
			check_str(c->modules[m], sizeof c->modules[m]);
		if (c->ok) {
			/* A good entry is a complete, valid VM. */
			if (!c->name[0] || !c->kernel[0] || c->cpus < 1 || c->cpus > CONFIG_CPUS_MAX ||
			    c->memory < CONFIG_MEMORY_MIN || c->memory > CONFIG_MEMORY_MAX ||
			    (c->paging != PAGING_NESTED && c->paging != PAGING_SHADOW))
				abort();
			for (int j = 0; j < i; j++)
				if (strcmp(out[j].name, c->name) == 0)
					abort(); /* duplicate names are never both good */
		} else {
			/* A bad entry always says where and why. */
			if (!c->err[0] || c->err_line < 1)
				abort();
		}
	}
	/* Counting alone must agree with parsing into an array. */
	if (config_parse((const char *)data, size, NULL, 0) != n)
		abort();
	return 0;
}
