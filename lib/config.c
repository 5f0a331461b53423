/* VM configuration parser: see config.h and docs/config.md.
 *
 * One pass, line by line. The parser keeps a "current entry": every error is
 * charged to it, and only its first error is kept, because later errors in a
 * broken section are usually consequences of the first. Any line starting with
 * '[' opens a new entry, even a malformed one, so that the keys under a broken
 * header cannot leak into the previous VM. */
#include "lib/config.h"
#include "lib/mac.h"
#include "lib/format.h"

enum {
	SEEN_KERNEL = 1, SEEN_CMDLINE = 2, SEEN_MEMORY = 4, SEEN_CPUS = 8, SEEN_PAGING = 16,
	SEEN_CPU = 32, SEEN_WEIGHT = 64, SEEN_CAP = 128, SEEN_WATCHDOG = 256, SEEN_OVERLAY = 512,
};

struct parser {
	struct vm_config *out;
	int max;
	int n;                   /* entries so far */
	struct vm_config *cur;   /* NULL before the first entry */
	struct vm_config scratch;/* the current entry when it does not fit in out[] */
	bool is_vm;              /* cur came from a good [vm NAME] header */
	bool pseudo;             /* cur is the pseudo entry for text before any section */
	unsigned seen;           /* SEEN_* of cur */
	int line;                /* current line number */
};

/* A slice of the input: never NUL-terminated. */
struct str {
	const char *p;
	size_t n;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static struct str trim(struct str s)
{
	while (s.n && is_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool eq(struct str s, const char *lit)
{
	size_t i = 0;
	for (; i < s.n; i++)
		if (lit[i] != s.p[i]) /* also stops at lit's NUL */
			return false;
	return lit[i] == '\0';
}

static bool has_space(struct str s)
{
	for (size_t i = 0; i < s.n; i++)
		if (is_space(s.p[i]))
			return true;
	return false;
}

/* Copy a slice into a fixed field; the caller has checked that it fits. */
static void copy(char *dst, struct str s)
{
	for (size_t i = 0; i < s.n; i++)
		dst[i] = s.p[i];
	dst[s.n] = '\0';
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static void set_defaults(struct vm_config *c, int line)
{
	*c = (struct vm_config){ 0 };
	c->cpus = 1;
	c->paging = PAGING_NESTED;
	c->weight = CONFIG_WEIGHT_DEFAULT;
	c->overlay = CONFIG_OVERLAY_DEFAULT;
	c->ok = true;
	c->line = line;
}

static void new_entry(struct parser *ps)
{
	ps->cur = ps->n < ps->max ? &ps->out[ps->n] : &ps->scratch;
	ps->n++;
	set_defaults(ps->cur, ps->line);
	ps->is_vm = false;
	ps->pseudo = false;
	ps->seen = 0;
}

/* Record an error on the current entry (creating the pseudo entry if there is
 * none yet). Only the first error of an entry is kept. */
static void error(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error(struct parser *ps, const char *fmt, ...)
{
	if (!ps->cur) {
		new_entry(ps);
		ps->pseudo = true;
	}
	if (!ps->cur->ok)
		return;
	ps->cur->ok = false;
	ps->cur->err_line = ps->line;
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(ps->cur->err, sizeof ps->cur->err, fmt, ap);
	va_end(ap);
}

/* A section is complete: check what is required. Errors go to its header line. */
static void finish_entry(struct parser *ps)
{
	struct vm_config *c = ps->cur;
	if (!c || !ps->is_vm || !c->ok)
		return;
	const char *missing = !(ps->seen & SEEN_KERNEL) ? "kernel"
			      : !(ps->seen & SEEN_MEMORY) ? "memory" : 0;
	if (missing) {
		c->ok = false;
		c->err_line = c->line;
		fmt_snprintf(c->err, sizeof c->err, "missing required key '%s'", missing);
	}
}

/* How much of a slice goes into a message: enough to recognize it. */
#define SHOW 40
#define S(s) (int)((s).n < SHOW ? (s).n : SHOW), (s).p

static void parse_header(struct parser *ps, struct str line)
{
	finish_entry(ps);
	new_entry(ps);
	if (line.p[line.n - 1] != ']') {
		error(ps, "section header must end with ']'");
		return;
	}
	struct str in = trim((struct str){ line.p + 1, line.n - 2 });
	size_t k = 0;
	while (k < in.n && !is_space(in.p[k]))
		k++;
	struct str type = { in.p, k };
	struct str name = trim((struct str){ in.p + k, in.n - k });
	if (!eq(type, "vm")) {
		error(ps, "unknown section '[%.*s]' (expected [vm NAME])", S(in));
		return;
	}
	if (name.n == 0) {
		error(ps, "missing VM name in [vm NAME]");
		return;
	}
	bool good = name.n <= CONFIG_NAME_MAX;
	for (size_t i = 0; good && i < name.n; i++)
		good = is_name_char(name.p[i]);
	if (!good) {
		error(ps, "bad VM name '%.*s' (1-31 of A-Z a-z 0-9 _ . -)", S(name));
		return;
	}
	copy(ps->cur->name, name);
	/* Only the entries stored so far can be compared (see config.h). */
	int stored = ps->n - 1 < ps->max ? ps->n - 1 : ps->max;
	for (int i = 0; i < stored; i++) {
		if (streq(ps->out[i].name, ps->cur->name)) {
			error(ps, "duplicate VM name '%s' (first at line %d)", ps->cur->name,
			      ps->out[i].line);
			return;
		}
	}
	ps->is_vm = true;
}

/* "64M" -> bytes. false on syntax errors and overflow. */
/* A decimal number lo..hi, without sign or suffix. */
static bool parse_range(struct str v, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t n = 0;
	if (v.n == 0 || v.n > 6)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		n = n * 10 + (unsigned)(v.p[i] - '0');
	}
	if (n < lo || n > hi)
		return false;
	*out = (unsigned)n;
	return true;
}

static bool parse_size(struct str v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i = 0;
	if (v.n == 0)
		return false;
	for (; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++) {
		unsigned d = (unsigned)(v.p[i] - '0');
		/* Constant divisors only: no libgcc 64-bit division call on i386. */
		if (n > UINT64_MAX / 10 || (n == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return false;
		n = n * 10 + d;
	}
	if (i == 0)
		return false;
	unsigned shift = 0;
	if (i < v.n) {
		switch (v.p[i]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		default: return false;
		}
		if (++i != v.n)
			return false;
	}
	if (shift && n > (UINT64_MAX >> shift))
		return false;
	*out = n << shift;
	return true;
}

/* A one-word file name into a fixed field. */
static bool file_value(struct parser *ps, struct str key, struct str v, char *dst)
{
	if (v.n == 0) {
		error(ps, "missing value for '%.*s'", S(key));
		return false;
	}
	if (has_space(v)) {
		error(ps, "value of '%.*s' must be one word, got '%.*s'", S(key), S(v));
		return false;
	}
	if (v.n > CONFIG_FILE_MAX) {
		error(ps, "value of '%.*s' too long (max %d characters)", S(key), CONFIG_FILE_MAX);
		return false;
	}
	copy(dst, v);
	return true;
}

/* `disk = SOURCE [ro]` (docs/config.md). */
static void disk_value(struct parser *ps, struct str v, struct vm_config *c)
{
	struct str src = v, flag = { v.p + v.n, 0 };
	for (size_t i = 0; i < v.n; i++)
		if (is_space(v.p[i])) {
			src.n = i;
			flag = trim((struct str){ v.p + i, v.n - i });
			break;
		}
	if (c->ndisks >= CONFIG_DISKS_MAX) {
		error(ps, "too many disks (max %d)", CONFIG_DISKS_MAX);
		return;
	}
	if (flag.n && !eq(flag, "ro")) {
		error(ps, "bad value '%.*s' for 'disk' (a module name, then optionally 'ro')", S(v));
		return;
	}
	struct str key = { "disk", 4 };
	if (file_value(ps, key, src, c->disks[c->ndisks].source))
		c->disks[c->ndisks++].read_only = flag.n > 0;
}

/* An explicit MAC given earlier in this VM or in another VM stored so far. */
static int mac_first_line(const struct parser *ps, const uint8_t *mac)
{
	int stored = ps->n < ps->max ? ps->n : ps->max;
	for (int i = 0; i < stored; i++) {
		const struct vm_config *o = &ps->out[i];
		for (unsigned k = 0; k < o->nnics; k++)
			if (o->nics[k].has_mac && mac_equal(o->nics[k].mac, mac))
				return o->line;
	}
	if (ps->cur == &ps->scratch)
		for (unsigned k = 0; k < ps->cur->nnics; k++)
			if (ps->cur->nics[k].has_mac && mac_equal(ps->cur->nics[k].mac, mac))
				return ps->cur->line;
	return 0;
}

/* `net = NETWORK [mac=52:54:00:xx:xx:xx]` (docs/config.md). */
static void net_value(struct parser *ps, struct str v, struct vm_config *c)
{
	struct str name = v, rest = { v.p + v.n, 0 };
	for (size_t i = 0; i < v.n; i++)
		if (is_space(v.p[i])) {
			name.n = i;
			rest = trim((struct str){ v.p + i, v.n - i });
			break;
		}
	if (c->nnics >= CONFIG_NICS_MAX) {
		error(ps, "too many network cards (max %d)", CONFIG_NICS_MAX);
		return;
	}
	bool good = name.n > 0 && name.n <= CONFIG_NAME_MAX;
	for (size_t i = 0; good && i < name.n; i++)
		good = is_name_char(name.p[i]);
	if (!good) {
		error(ps, "bad network name '%.*s' (1-31 of A-Z a-z 0-9 _ . -)", S(name));
		return;
	}
	struct nic_config *n = &c->nics[c->nnics];
	*n = (struct nic_config){ 0 };
	if (rest.n) {
		char text[MAC_STR_LEN + 1];
		struct str mac = { rest.p + 4, rest.n - 4 };
		if (rest.n != 4 + MAC_STR_LEN || rest.p[0] != 'm' || rest.p[1] != 'a' ||
		    rest.p[2] != 'c' || rest.p[3] != '=') {
			error(ps, "bad value '%.*s' for 'net' (a network name, then optionally "
			      "mac=52:54:00:xx:xx:xx)", S(v));
			return;
		}
		copy(text, mac);
		if (!mac_parse(text, n->mac)) {
			error(ps, "bad MAC address '%s' (six hex pairs with ':', not multicast "
			      "or zero)", text);
			return;
		}
		int first = mac_first_line(ps, n->mac);
		if (first) {
			error(ps, "duplicate MAC address '%s' (first in the VM at line %d)", text, first);
			return;
		}
		n->has_mac = true;
	}
	copy(n->network, name);
	c->nnics++;
}

static const struct cpu_feature {
	const char *name;
	enum cpuid_word word;
	uint8_t bit;
} cpu_features[] = {
#define CPU_FEATURE(name, word, bit) { name, word, bit },
	CPUID_FEATURES(CPU_FEATURE)
#undef CPU_FEATURE
};

bool config_cpu_feature(const char *name, size_t n, enum cpuid_word *word, uint32_t *mask)
{
	struct str s = { name, n };
	for (size_t i = 0; i < sizeof cpu_features / sizeof cpu_features[0]; i++) {
		if (eq(s, cpu_features[i].name)) {
			*word = cpu_features[i].word;
			*mask = 1u << cpu_features[i].bit;
			return true;
		}
	}
	return false;
}

/* `cpu = host` or `cpu = host,-NAME,-NAME...` (blanks around the commas allowed):
 * the CPUID bits the names stand for are removed from the VM's model. */
static void parse_cpu(struct parser *ps, struct str v)
{
	struct vm_config *c = ps->cur;
	size_t i = 0;
	while (i < v.n && v.p[i] != ',')
		i++;
	struct str model = trim((struct str){ v.p, i });
	if (!eq(model, "host")) {
		error(ps, "bad value '%.*s' for 'cpu' (host, then ,-FEATURE to remove one)", S(v));
		return;
	}
	while (i < v.n) {
		size_t start = ++i;               /* past the comma */
		while (i < v.n && v.p[i] != ',')
			i++;
		struct str item = trim((struct str){ v.p + start, i - start });
		if (item.n < 2 || item.p[0] != '-') {
			error(ps, "bad item '%.*s' in 'cpu' (-FEATURE, a name of /proc/cpuinfo)",
			      S(item));
			return;
		}
		enum cpuid_word w;
		uint32_t mask;
		if (!config_cpu_feature(item.p + 1, item.n - 1, &w, &mask)) {
			struct str name = { item.p + 1, item.n - 1 };
			error(ps, "unknown CPU feature '%.*s' in 'cpu'", S(name));
			return;
		}
		c->cpu_clear[w] |= mask;
	}
}

/* Keys that may appear once: complain about the second. */
static bool once(struct parser *ps, unsigned bit, struct str key)
{
	if (ps->seen & bit) {
		error(ps, "duplicate key '%.*s'", S(key));
		return false;
	}
	ps->seen |= bit;
	return true;
}

static void parse_key(struct parser *ps, struct str line)
{
	if (!ps->cur || ps->pseudo) {
		error(ps, "text outside a VM section: '%.*s'", S(line));
		return;
	}
	size_t k = 0;
	while (k < line.n && (is_name_char(line.p[k]) && line.p[k] != '.' && line.p[k] != '-'))
		k++;
	struct str key = { line.p, k };
	struct str rest = trim((struct str){ line.p + k, line.n - k });
	if (k == 0 || rest.n == 0 || rest.p[0] != '=') {
		error(ps, "expected 'key = value', got '%.*s'", S(line));
		return;
	}
	struct str v = trim((struct str){ rest.p + 1, rest.n - 1 });
	struct vm_config *c = ps->cur;

	if (eq(key, "kernel")) {
		if (once(ps, SEEN_KERNEL, key) && !file_value(ps, key, v, c->kernel))
			ps->seen &= ~(unsigned)SEEN_KERNEL;
	} else if (eq(key, "module")) {
		if (c->nmodules >= CONFIG_MODULES_MAX)
			error(ps, "too many modules (max %d)", CONFIG_MODULES_MAX);
		else if (file_value(ps, key, v, c->modules[c->nmodules]))
			c->nmodules++;
	} else if (eq(key, "cmdline")) {
		if (!once(ps, SEEN_CMDLINE, key))
			return;
		if (v.n > CONFIG_CMDLINE_MAX)
			error(ps, "value of 'cmdline' too long (max %d characters)", CONFIG_CMDLINE_MAX);
		else
			copy(c->cmdline, v);
	} else if (eq(key, "memory")) {
		uint64_t m;
		if (!once(ps, SEEN_MEMORY, key))
			return;
		if (!parse_size(v, &m))
			error(ps, "bad value '%.*s' for 'memory' (a number with an optional K, M or G suffix)", S(v));
		else if (m < CONFIG_MEMORY_MIN || m > CONFIG_MEMORY_MAX)
			error(ps, "'memory' %.*s out of range (1M..64G)", S(v));
		else if (m % 4096)
			error(ps, "'memory' %.*s is not a multiple of 4K", S(v));
		else
			c->memory = m;
	} else if (eq(key, "cpus")) {
		if (!once(ps, SEEN_CPUS, key))
			return;
		if (v.n == 1 && v.p[0] >= '1' && v.p[0] <= '0' + CONFIG_CPUS_MAX)
			c->cpus = (unsigned)(v.p[0] - '0');
		else
			error(ps, "bad value '%.*s' for 'cpus' (1..%d)", S(v), CONFIG_CPUS_MAX);
	} else if (eq(key, "paging")) {
		if (!once(ps, SEEN_PAGING, key))
			return;
		if (eq(v, "nested"))
			c->paging = PAGING_NESTED;
		else if (eq(v, "shadow"))
			c->paging = PAGING_SHADOW;
		else
			error(ps, "bad value '%.*s' for 'paging' (nested or shadow)", S(v));
	} else if (eq(key, "cpu")) {
		if (once(ps, SEEN_CPU, key))
			parse_cpu(ps, v);
	} else if (eq(key, "weight")) {
		if (!once(ps, SEEN_WEIGHT, key))
			return;
		if (!parse_range(v, CONFIG_WEIGHT_MIN, CONFIG_WEIGHT_MAX, &c->weight))
			error(ps, "bad value '%.*s' for 'weight' (%d..%d)", S(v), CONFIG_WEIGHT_MIN,
			      CONFIG_WEIGHT_MAX);
	} else if (eq(key, "cap")) {
		if (!once(ps, SEEN_CAP, key))
			return;
		if (!parse_range(v, 1, 100, &c->cap))
			error(ps, "bad value '%.*s' for 'cap' (1..100 percent)", S(v));
	} else if (eq(key, "watchdog")) {
		if (!once(ps, SEEN_WATCHDOG, key))
			return;
		if (!parse_range(v, 1, CONFIG_WATCHDOG_MAX, &c->watchdog))
			error(ps, "bad value '%.*s' for 'watchdog' (1..%d seconds)", S(v),
			      CONFIG_WATCHDOG_MAX);
	} else if (eq(key, "disk")) {
		disk_value(ps, v, c);
	} else if (eq(key, "net")) {
		net_value(ps, v, c);
	} else if (eq(key, "overlay")) {
		uint64_t m;
		if (!once(ps, SEEN_OVERLAY, key))
			return;
		if (!parse_size(v, &m) || m > CONFIG_OVERLAY_MAX)
			error(ps, "bad value '%.*s' for 'overlay' (a size up to 16G, K, M or G suffix)",
			      S(v));
		else
			c->overlay = m;
	} else {
		error(ps, "unknown key '%.*s'", S(key));
	}
}

static void parse_line(struct parser *ps, struct str line)
{
	/* CRLF files: the CR is not part of the line. */
	if (line.n && line.p[line.n - 1] == '\r')
		line.n--;
	/* A comment starts at a '#' that begins the line or follows a blank, so a '#'
	 * inside a word (a file name, a cmdline argument) is kept. */
	for (size_t i = 0; i < line.n; i++) {
		if (line.p[i] == '#' && (i == 0 || is_space(line.p[i - 1]))) {
			line.n = i;
			break;
		}
	}
	line = trim(line);
	if (line.n == 0)
		return;
	for (size_t i = 0; i < line.n; i++) {
		unsigned char ch = (unsigned char)line.p[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			error(ps, "control character 0x%02x in line", ch);
			return;
		}
	}
	if (line.p[0] == '[')
		parse_header(ps, line);
	else
		parse_key(ps, line);
}

int config_parse(const char *text, size_t len, struct vm_config *out, int max)
{
	struct parser ps = { .out = out, .max = out ? (max > 0 ? max : 0) : 0 };
	size_t pos = 0;

	while (pos < len) {
		ps.line++;
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		struct str line = { text + pos, end - pos };
		pos = end < len ? end + 1 : end;
		if (line.n > CONFIG_LINE_MAX) {
			error(&ps, "line too long (max %d characters)", CONFIG_LINE_MAX);
			continue;
		}
		parse_line(&ps, line);
	}
	finish_entry(&ps);
	return ps.n;
}
