/* Guest runtime: boot information, IDT, serial output, exit, checks, arguments. */
#include "guests/rt/rt.h"
#include "lib/format.h"

/* COM1 16550 (docs/platform.md; National Semiconductor PC16550D data sheet). */
#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_DLL 0                      /* the divisor, while LCR.DLAB = 1 */
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE_CLEAR 0x07
#define UART_MCR_DTR_RTS 0x03
#define UART_LSR_THRE 0x20              /* transmit holding register empty */
#define UART_LSR_TEMT 0x40              /* transmitter empty: all sent */
#define EXIT_PORT 0xf4
#define BOCHS_SHUTDOWN_PORT 0x8900      /* Bochs ends when "Shutdown" is written */

uint32_t rt_mb_flags, rt_mem_lower, rt_mem_upper, rt_mods_count;
struct rt_mmap rt_mmap[RT_MMAP_MAX];
unsigned rt_mmap_count;
unsigned rt_failures;

extern uint32_t rt_mb_info_addr;                 /* entry.S */
extern const uint32_t rt_trap_stubs[32];
extern uint32_t rt_try_esp;
extern struct rt_fault *rt_try_fault;
__attribute__((noreturn)) void rt_try_resume(void);
__attribute__((noreturn)) void rt_start(void);

static char cmdline[512], loader_name[32];

/* --- serial and exit ------------------------------------------------------ */

/* 115200 8N1, FIFOs on, no interrupts. QEMU and hv86 would print without this,
 * but a UART after reset sends 5-bit characters (Bochs does so). */
static void uart_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DLL, 1);               /* divisor 1: 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	outb(COM1 + UART_FCR, UART_FCR_ENABLE_CLEAR);
	outb(COM1 + UART_MCR, UART_MCR_DTR_RTS);
}

void rt_putc(char c)
{
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
		;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

void rt_vprintf(const char *fmt, va_list ap)
{
	char buf[256];
	fmt_vsnprintf(buf, sizeof buf, fmt, ap);
	rt_puts(buf);
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
}

void rt_flush(void)
{
	while (!(inb(COM1 + UART_LSR) & UART_LSR_TEMT))
		;
}

void rt_exit(uint32_t v)
{
	rt_flush();
	outl(EXIT_PORT, v);
	/* Still here: no exit device. Bochs (run without hv86, as a reference)
	 * stops on this; elsewhere the port is unclaimed and the write dropped. */
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
	for (;;)
		__asm__ volatile("cli; hlt");
}

bool rt_check(bool ok, const char *fmt, ...)
{
	va_list ap;
	rt_puts(ok ? "ok  " : "BAD ");
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
	rt_putc('\n');
	if (!ok)
		rt_failures++;
	return ok;
}

void rt_fail(const char *fmt, ...)
{
	va_list ap;
	rt_printf("FAIL %s: ", rt_guest_name);
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
	rt_putc('\n');
	rt_exit(RT_EXIT_FAIL);
}

/* --- exceptions ----------------------------------------------------------- */

struct rt_regs {                        /* as trap_common leaves the stack */
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector, error, eip, cs, eflags;
};

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "#09", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

const char *rt_vector_name(uint32_t vector)
{
	return vector < 32 ? vector_names[vector] : "#??";
}

static void (*irq_handlers[256])(uint32_t vector);

/* An exception: back to rt_try if one is running, else the guest fails. An NMI
 * with a handler (rt_set_irq_handler(2, fn)) is handled and returns. */
void rt_trap(struct rt_regs *r);
void rt_trap(struct rt_regs *r)
{
	static int nested;

	if (r->vector == RT_NMI_VECTOR && irq_handlers[RT_NMI_VECTOR]) {
		irq_handlers[RT_NMI_VECTOR](RT_NMI_VECTOR);
		return;
	}
	if (rt_try_esp) {
		rt_try_fault->vector = r->vector;
		rt_try_fault->error = r->error;
		rt_try_fault->eip = r->eip;
		rt_try_resume();
	}
	if (nested++)
		rt_exit(RT_EXIT_TRAP);
	rt_printf("FAIL %s: unexpected %s(%x) at eip 0x%08x\n", rt_guest_name,
		  rt_vector_name(r->vector), r->error, r->eip);
	rt_exit(RT_EXIT_TRAP);
}

/* --- interrupts ----------------------------------------------------------- */

#define RT_IRQ_STUB_SIZE 16                     /* as in entry.S */
extern const char rt_irq_stubs[];

void rt_set_irq_handler(uint8_t vector, void (*fn)(uint32_t vector))
{
	irq_handlers[vector] = fn;
}

void rt_irq_dispatch(uint32_t vector);          /* from entry.S */
void rt_irq_dispatch(uint32_t vector)
{
	if (vector < RT_IRQ_FIRST || vector > 255 || !irq_handlers[vector])
		rt_fail("unexpected interrupt, vector %u", vector);
	irq_handlers[vector](vector);
}

/* A 32-bit interrupt gate, DPL 0, present (SDM Vol. 3A 6.11, Figure 6-2). */
#define IDT_GATE_INT32 0x8e00u
static uint64_t idt_gate(uint32_t a)
{
	return (a & 0xffff) | ((uint64_t)RT_SEL_CODE32 << 16) |
	       ((uint64_t)IDT_GATE_INT32 << 32) | ((uint64_t)(a >> 16) << 48);
}

static void idt_init(void)
{
	static uint64_t idt[256];
	for (unsigned v = 0; v < RT_IRQ_FIRST; v++)
		idt[v] = idt_gate(rt_trap_stubs[v]);
	for (unsigned v = RT_IRQ_FIRST; v < 256; v++)
		idt[v] = idt_gate((uint32_t)rt_irq_stubs + (v - RT_IRQ_FIRST) * RT_IRQ_STUB_SIZE);
	struct rt_dtr d = { sizeof idt - 1, (uint32_t)idt };
	lidt(&d);
}

/* --- local APIC ------------------------------------------------------------ */

bool rt_x2apic;

bool rt_apic_enable(bool x2apic, uint8_t spurious)
{
	if (x2apic && !(cpuid(1, 0).ecx & RT_CPUID1_ECX_X2APIC))
		return false;
	uint64_t base = rdmsr(RT_MSR_APIC_BASE);
	/* x2APIC back to xAPIC only through disabled (SDM Vol. 3A 11.12.5). */
	if ((base & RT_APIC_BASE_EXTD) && !x2apic) {
		base &= ~(uint64_t)(RT_APIC_BASE_EXTD | RT_APIC_BASE_EN);
		wrmsr(RT_MSR_APIC_BASE, base);
	}
	base |= RT_APIC_BASE_EN;
	wrmsr(RT_MSR_APIC_BASE, base);
	if (x2apic)
		wrmsr(RT_MSR_APIC_BASE, base | RT_APIC_BASE_EXTD);
	rt_x2apic = x2apic;
	rt_apic_write(RT_APIC_SVR, RT_APIC_SVR_ENABLE | spurious);
	return true;
}

uint32_t rt_apic_read(uint32_t reg)
{
	if (rt_x2apic)
		return (uint32_t)rdmsr(RT_MSR_X2APIC_FIRST + reg / 16);
	return *(volatile uint32_t *)(RT_APIC_PAGE + reg);
}

void rt_apic_write(uint32_t reg, uint32_t val)
{
	if (rt_x2apic)
		wrmsr(RT_MSR_X2APIC_FIRST + reg / 16, val);
	else
		*(volatile uint32_t *)(RT_APIC_PAGE + reg) = val;
}

void rt_apic_eoi(void)
{
	rt_apic_write(RT_APIC_EOI, 0);
}

void rt_apic_ipi(uint32_t dest, uint32_t icr_lo)
{
	if (rt_x2apic) {
		wrmsr(RT_MSR_X2APIC_ICR, (uint64_t)dest << 32 | icr_lo);
		return;
	}
	/* xAPIC: the destination is ICR[63:56]; writing the low word sends. */
	rt_apic_write(RT_APIC_ICR_HI, dest << 24);
	rt_apic_write(RT_APIC_ICR_LO, icr_lo);
}

/* --- boot information ----------------------------------------------------- */

struct mb_mmap_entry {                  /* size excludes the size field itself */
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

static void copy_string(char *dst, size_t size, uint32_t src)
{
	const char *s = (const char *)src;
	size_t i;
	for (i = 0; i < size - 1 && s[i]; i++)
		dst[i] = s[i];
	dst[i] = 0;
}

static void copy_boot_info(const struct mb_info *mb)
{
	rt_mb_flags = mb->flags;
	if (mb->flags & MB_INFO_MEM) {
		rt_mem_lower = mb->mem_lower;
		rt_mem_upper = mb->mem_upper;
	}
	if (mb->flags & MB_INFO_CMDLINE)
		copy_string(cmdline, sizeof cmdline, mb->cmdline);
	if (mb->flags & MB_INFO_LOADER_NAME)
		copy_string(loader_name, sizeof loader_name, mb->boot_loader_name);
	if (mb->flags & MB_INFO_MODS)
		rt_mods_count = mb->mods_count;
	if (mb->flags & MB_INFO_MMAP) {
		uint32_t p = mb->mmap_addr, end = mb->mmap_addr + mb->mmap_length;
		while (p < end && rt_mmap_count < RT_MMAP_MAX) {
			const struct mb_mmap_entry *e = (const void *)p;
			rt_mmap[rt_mmap_count++] =
				(struct rt_mmap){ e->addr, e->len, e->type };
			p += e->size + 4;
		}
	}
}

void rt_start(void)
{
	idt_init();
	uart_init();
	if (rt_mb_magic != MB_BOOT_MAGIC) {
		rt_printf("FAIL %s: EAX 0x%08x at entry, not the multiboot magic\n",
			  rt_guest_name, rt_mb_magic);
		rt_exit(RT_EXIT_BOOT);
	}
	copy_boot_info((const struct mb_info *)rt_mb_info_addr);
	guest_main();
	if (rt_failures)
		rt_fail("%u check(s) failed", rt_failures);
	rt_printf("PASS %s\n", rt_guest_name);
	rt_exit(RT_EXIT_PASS);
}

/* --- command line --------------------------------------------------------- */

const char *rt_cmdline(void)
{
	return cmdline;
}

const char *rt_args(void)
{
	const char *s = cmdline;
	while (*s == ' ')
		s++;
	if (strncmp(loader_name, "GRUB 2", 6) != 0) {
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
	}
	return s;
}

const char *rt_arg(const char *key)
{
	size_t n = strlen(key);
	for (const char *s = rt_args(); *s;) {
		if (strncmp(s, key, n) == 0)
			return s + n;
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
	}
	return NULL;
}

uint32_t rt_arg_uint(const char *key, uint32_t def)
{
	const char *s = rt_arg(key);
	uint32_t v = 0, base = 10;
	if (!s || !*s || *s == ' ')
		return def;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s && *s != ' '; s++) {
		uint32_t d;
		if (*s >= '0' && *s <= '9')
			d = (uint32_t)(*s - '0');
		else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			d = (uint32_t)((*s | 0x20) - 'a' + 10);
		else
			return def;
		v = v * base + d;
	}
	return v;
}
