/* vmm/emulate/decode: instruction lengths and fields in 16-, 32- and 64-bit code.
 *
 * The length table was made by assembling each instruction with GNU as (--64, --32,
 * .code16) and reading the bytes back with objdump -d; the bytes and lengths are
 * written out literally below. The decoder was also compared with objdump over the
 * code of libc and cc1 and over random bytes, in all three modes; the differences
 * left are where objdump decodes what the CPU rejects (LOCK/66/REX before VEX, MOV
 * to test registers, PadLock) and objdump's habit of printing FWAIT and a redundant
 * REX as separate lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/emulate/decode.h"

struct len_case {
    enum cpu_mode mode;
    unsigned len;
    uint8_t bytes[INSN_MAX_LEN];
    const char *text;
};

/* mode, length, bytes, objdump's text. MODE_REAL16 rows are also run as MODE_PROT16. */
static const struct len_case len_cases[] = {
    { MODE_LONG64,  1, { 0x90 }, "nop" },
    { MODE_LONG64,  1, { 0xc3 }, "ret" },
    { MODE_LONG64,  3, { 0xc2, 0x08, 0x00 }, "ret $0x8" },
    { MODE_LONG64,  1, { 0xcb }, "lret" },
    { MODE_LONG64,  4, { 0x48, 0xca, 0x10, 0x00 }, "lretq $0x10" },
    { MODE_LONG64,  1, { 0xcc }, "int3" },
    { MODE_LONG64,  2, { 0xcd, 0x80 }, "int $0x80" },
    { MODE_LONG64,  2, { 0x48, 0xcf }, "iretq" },
    { MODE_LONG64,  1, { 0xcf }, "iret" },
    { MODE_LONG64,  1, { 0xf4 }, "hlt" },
    { MODE_LONG64,  2, { 0x0f, 0xa2 }, "cpuid" },
    { MODE_LONG64,  2, { 0x0f, 0x32 }, "rdmsr" },
    { MODE_LONG64,  2, { 0x0f, 0x30 }, "wrmsr" },
    { MODE_LONG64,  2, { 0x0f, 0x31 }, "rdtsc" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xf9 }, "rdtscp" },
    { MODE_LONG64,  2, { 0x0f, 0x33 }, "rdpmc" },
    { MODE_LONG64,  2, { 0x0f, 0x08 }, "invd" },
    { MODE_LONG64,  2, { 0x0f, 0x09 }, "wbinvd" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xc8 }, "monitor %rax,%ecx,%edx" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xc9 }, "mwait %eax,%ecx" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xd1 }, "xsetbv" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xd0 }, "xgetbv" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xc1 }, "vmcall" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xd9 }, "vmmcall" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xd8 }, "vmrun" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xda }, "vmload" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xdb }, "vmsave" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xdc }, "stgi" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xdd }, "clgi" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xde }, "skinit" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xdf }, "invlpga" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xc2 }, "vmlaunch" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xc3 }, "vmresume" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xc4 }, "vmxoff" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0x38 }, "invlpg (%rax)" },
    { MODE_LONG64,  5, { 0x0f, 0x01, 0x7c, 0x8b, 0x10 }, "invlpg 0x10(%rbx,%rcx,4)" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0x10 }, "lgdt (%rax)" },
    { MODE_LONG64,  5, { 0x0f, 0x01, 0x5c, 0x24, 0x08 }, "lidt 0x8(%rsp)" },
    { MODE_LONG64,  7, { 0x0f, 0x01, 0x05, 0x00, 0x01, 0x00, 0x00 }, "sgdt 0x100(%rip)" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0x0f }, "sidt (%rdi)" },
    { MODE_LONG64,  3, { 0x0f, 0x00, 0xd0 }, "lldt %ax" },
    { MODE_LONG64,  3, { 0x0f, 0x00, 0xd8 }, "ltr %ax" },
    { MODE_LONG64,  3, { 0x0f, 0x00, 0xc8 }, "str %eax" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xe0 }, "smsw %eax" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xf0 }, "lmsw %ax" },
    { MODE_LONG64,  3, { 0x0f, 0x20, 0xc0 }, "mov %cr0,%rax" },
    { MODE_LONG64,  3, { 0x0f, 0x22, 0xd8 }, "mov %rax,%cr3" },
    { MODE_LONG64,  3, { 0x0f, 0x20, 0xe3 }, "mov %cr4,%rbx" },
    { MODE_LONG64,  4, { 0x44, 0x0f, 0x22, 0xc0 }, "mov %rax,%cr8" },
    { MODE_LONG64,  4, { 0x41, 0x0f, 0x20, 0xd1 }, "mov %cr2,%r9" },
    { MODE_LONG64,  3, { 0x0f, 0x21, 0xf8 }, "mov %db7,%rax" },
    { MODE_LONG64,  3, { 0x0f, 0x23, 0xc0 }, "mov %rax,%db0" },
    { MODE_LONG64,  2, { 0x0f, 0x06 }, "clts" },
    { MODE_LONG64,  2, { 0xe4, 0x60 }, "in $0x60,%al" },
    { MODE_LONG64,  2, { 0xe5, 0x71 }, "in $0x71,%eax" },
    { MODE_LONG64,  2, { 0xe6, 0x80 }, "out %al,$0x80" },
    { MODE_LONG64,  2, { 0xe7, 0xf4 }, "out %eax,$0xf4" },
    { MODE_LONG64,  1, { 0xec }, "in (%dx),%al" },
    { MODE_LONG64,  2, { 0x66, 0xed }, "in (%dx),%ax" },
    { MODE_LONG64,  1, { 0xed }, "in (%dx),%eax" },
    { MODE_LONG64,  1, { 0xee }, "out %al,(%dx)" },
    { MODE_LONG64,  2, { 0x66, 0xef }, "out %ax,(%dx)" },
    { MODE_LONG64,  1, { 0xef }, "out %eax,(%dx)" },
    { MODE_LONG64,  1, { 0x6c }, "insb (%dx),%es:(%rdi)" },
    { MODE_LONG64,  2, { 0x66, 0x6d }, "insw (%dx),%es:(%rdi)" },
    { MODE_LONG64,  1, { 0x6d }, "insl (%dx),%es:(%rdi)" },
    { MODE_LONG64,  1, { 0x6e }, "outsb %ds:(%rsi),(%dx)" },
    { MODE_LONG64,  2, { 0x66, 0x6f }, "outsw %ds:(%rsi),(%dx)" },
    { MODE_LONG64,  1, { 0x6f }, "outsl %ds:(%rsi),(%dx)" },
    { MODE_LONG64,  2, { 0xf3, 0x6c }, "rep insb (%dx),%es:(%rdi)" },
    { MODE_LONG64,  3, { 0x66, 0xf3, 0x6f }, "rep outsw %ds:(%rsi),(%dx)" },
    { MODE_LONG64,  2, { 0xf3, 0x6f }, "rep outsl %ds:(%rsi),(%dx)" },
    { MODE_LONG64,  1, { 0x9c }, "pushf" },
    { MODE_LONG64,  1, { 0x9d }, "popf" },
    { MODE_LONG64,  2, { 0x66, 0x9c }, "pushfw" },
    { MODE_LONG64,  1, { 0xfa }, "cli" },
    { MODE_LONG64,  1, { 0xfb }, "sti" },
    { MODE_LONG64,  2, { 0x0f, 0x05 }, "syscall" },
    { MODE_LONG64,  3, { 0x48, 0x0f, 0x07 }, "sysretq" },
    { MODE_LONG64,  2, { 0x0f, 0x34 }, "sysenter" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xf8 }, "swapgs" },
    { MODE_LONG64, 10, { 0x48, 0xb8, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12 }, "movabs $0x123456789abcdef0,%rax" },
    { MODE_LONG64, 10, { 0x49, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, "movabs $0x1122334455667788,%r11" },
    { MODE_LONG64,  5, { 0xb8, 0x78, 0x56, 0x34, 0x12 }, "mov $0x12345678,%eax" },
    { MODE_LONG64,  4, { 0x66, 0xb8, 0x34, 0x12 }, "mov $0x1234,%ax" },
    { MODE_LONG64,  2, { 0xb0, 0x12 }, "mov $0x12,%al" },
    { MODE_LONG64,  3, { 0x41, 0xb2, 0x12 }, "mov $0x12,%r10b" },
    { MODE_LONG64,  7, { 0x49, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff }, "mov $0xffffffffffffffff,%r15" },
    { MODE_LONG64,  9, { 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, "movabs 0x1122334455667788,%al" },
    { MODE_LONG64,  9, { 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, "movabs %eax,0x1122334455667788" },
    { MODE_LONG64,  6, { 0x67, 0xa1, 0x44, 0x33, 0x22, 0x11 }, "addr32 mov 0x11223344,%eax" },
    { MODE_LONG64,  2, { 0x89, 0x07 }, "mov %eax,(%rdi)" },
    { MODE_LONG64,  2, { 0x8b, 0x0e }, "mov (%rsi),%ecx" },
    { MODE_LONG64,  6, { 0x88, 0x05, 0x00, 0x10, 0x00, 0x00 }, "mov %al,0x1000(%rip)" },
    { MODE_LONG64,  7, { 0x48, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12 }, "mov 0x12345678(%rip),%rax" },
    { MODE_LONG64,  4, { 0x4d, 0x89, 0x04, 0x24 }, "mov %r8,(%r12)" },
    { MODE_LONG64,  4, { 0x4d, 0x8b, 0x4d, 0x00 }, "mov 0x0(%r13),%r9" },
    { MODE_LONG64,  3, { 0x8b, 0x45, 0x00 }, "mov 0x0(%rbp),%eax" },
    { MODE_LONG64,  3, { 0x8b, 0x04, 0x24 }, "mov (%rsp),%eax" },
    { MODE_LONG64,  5, { 0x48, 0x8b, 0x54, 0xc4, 0x08 }, "mov 0x8(%rsp,%rax,8),%rdx" },
    { MODE_LONG64,  7, { 0x8b, 0x04, 0x8d, 0x78, 0x56, 0x34, 0x12 }, "mov 0x12345678(,%rcx,4),%eax" },
    { MODE_LONG64,  7, { 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12 }, "mov 0x12345678,%eax" },
    { MODE_LONG64,  4, { 0x47, 0x8b, 0x34, 0x6c }, "mov (%r12,%r13,2),%r14d" },
    { MODE_LONG64,  4, { 0x64, 0x66, 0x89, 0x03 }, "mov %ax,%fs:(%rbx)" },
    { MODE_LONG64,  9, { 0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00 }, "mov %gs:0x28,%rax" },
    { MODE_LONG64,  4, { 0x26, 0x66, 0x89, 0x07 }, "es mov %ax,(%rdi)" },
    { MODE_LONG64,  6, { 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12 }, "movl $0x12345678,(%rax)" },
    { MODE_LONG64,  5, { 0x66, 0xc7, 0x00, 0x34, 0x12 }, "movw $0x1234,(%rax)" },
    { MODE_LONG64,  3, { 0xc6, 0x00, 0x12 }, "movb $0x12,(%rax)" },
    { MODE_LONG64,  8, { 0x48, 0xc7, 0x45, 0x10, 0xff, 0xff, 0xff, 0xff }, "movq $0xffffffffffffffff,0x10(%rbp)" },
    { MODE_LONG64, 11, { 0x48, 0xc7, 0x05, 0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0x7f }, "movq $0x7fffffff,0x12345678(%rip)" },
    { MODE_LONG64,  3, { 0x40, 0x88, 0x37 }, "mov %sil,(%rdi)" },
    { MODE_LONG64,  2, { 0x8a, 0x27 }, "mov (%rdi),%ah" },
    { MODE_LONG64,  3, { 0x0f, 0xb6, 0x00 }, "movzbl (%rax),%eax" },
    { MODE_LONG64,  3, { 0x0f, 0xb7, 0x0f }, "movzwl (%rdi),%ecx" },
    { MODE_LONG64,  4, { 0x0f, 0xbe, 0x42, 0x01 }, "movsbl 0x1(%rdx),%eax" },
    { MODE_LONG64,  4, { 0x48, 0x0f, 0xbf, 0x00 }, "movswq (%rax),%rax" },
    { MODE_LONG64,  3, { 0x48, 0x63, 0x00 }, "movslq (%rax),%rax" },
    { MODE_LONG64,  8, { 0x4c, 0x0f, 0xb6, 0x15, 0x34, 0x12, 0x00, 0x00 }, "movzbq 0x1234(%rip),%r10" },
    { MODE_LONG64,  1, { 0xaa }, "stos %al,%es:(%rdi)" },
    { MODE_LONG64,  2, { 0x66, 0xab }, "stos %ax,%es:(%rdi)" },
    { MODE_LONG64,  1, { 0xab }, "stos %eax,%es:(%rdi)" },
    { MODE_LONG64,  2, { 0x48, 0xab }, "stos %rax,%es:(%rdi)" },
    { MODE_LONG64,  3, { 0xf3, 0x48, 0xab }, "rep stos %rax,%es:(%rdi)" },
    { MODE_LONG64,  2, { 0xf3, 0xaa }, "rep stos %al,%es:(%rdi)" },
    { MODE_LONG64,  1, { 0xa4 }, "movsb %ds:(%rsi),%es:(%rdi)" },
    { MODE_LONG64,  2, { 0x48, 0xa5 }, "movsq %ds:(%rsi),%es:(%rdi)" },
    { MODE_LONG64,  2, { 0xf3, 0xa5 }, "rep movsl %ds:(%rsi),%es:(%rdi)" },
    { MODE_LONG64,  1, { 0xac }, "lods %ds:(%rsi),%al" },
    { MODE_LONG64,  2, { 0x66, 0xaf }, "scas %es:(%rdi),%ax" },
    { MODE_LONG64,  2, { 0xf2, 0xae }, "repnz scas %es:(%rdi),%al" },
    { MODE_LONG64,  2, { 0xf3, 0xa6 }, "repz cmpsb %es:(%rdi),%ds:(%rsi)" },
    { MODE_LONG64,  2, { 0x21, 0x07 }, "and %eax,(%rdi)" },
    { MODE_LONG64,  3, { 0x80, 0x08, 0x01 }, "orb $0x1,(%rax)" },
    { MODE_LONG64,  6, { 0x81, 0x08, 0x78, 0x56, 0x34, 0x12 }, "orl $0x12345678,(%rax)" },
    { MODE_LONG64,  3, { 0x48, 0x31, 0x02 }, "xor %rax,(%rdx)" },
    { MODE_LONG64,  2, { 0x85, 0x01 }, "test %eax,(%rcx)" },
    { MODE_LONG64,  3, { 0xf6, 0x00, 0x01 }, "testb $0x1,(%rax)" },
    { MODE_LONG64,  6, { 0xf7, 0x00, 0x00, 0x01, 0x00, 0x00 }, "testl $0x100,(%rax)" },
    { MODE_LONG64,  5, { 0x66, 0xf7, 0x00, 0x00, 0x01 }, "testw $0x100,(%rax)" },
    { MODE_LONG64,  8, { 0x48, 0xf7, 0x40, 0x08, 0x00, 0x01, 0x00, 0x00 }, "testq $0x100,0x8(%rax)" },
    { MODE_LONG64,  2, { 0xa8, 0x01 }, "test $0x1,%al" },
    { MODE_LONG64,  5, { 0xa9, 0x34, 0x12, 0x00, 0x00 }, "test $0x1234,%eax" },
    { MODE_LONG64,  2, { 0xf7, 0x10 }, "notl (%rax)" },
    { MODE_LONG64,  4, { 0x48, 0xf7, 0x5b, 0x08 }, "negq 0x8(%rbx)" },
    { MODE_LONG64,  2, { 0xf7, 0x21 }, "mull (%rcx)" },
    { MODE_LONG64,  2, { 0xf7, 0x39 }, "idivl (%rcx)" },
    { MODE_LONG64,  2, { 0x39, 0x0f }, "cmp %ecx,(%rdi)" },
    { MODE_LONG64,  3, { 0x80, 0x38, 0x00 }, "cmpb $0x0,(%rax)" },
    { MODE_LONG64,  6, { 0x48, 0x83, 0x7c, 0x24, 0x10, 0x05 }, "cmpq $0x5,0x10(%rsp)" },
    { MODE_LONG64,  3, { 0x01, 0x4b, 0x40 }, "add %ecx,0x40(%rbx)" },
    { MODE_LONG64,  7, { 0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00 }, "sub $0x1000,%rsp" },
    { MODE_LONG64,  2, { 0x28, 0x06 }, "sub %al,(%rsi)" },
    { MODE_LONG64,  4, { 0xf0, 0x83, 0x00, 0x01 }, "lock addl $0x1,(%rax)" },
    { MODE_LONG64,  4, { 0xf0, 0x0f, 0xc1, 0x02 }, "lock xadd %eax,(%rdx)" },
    { MODE_LONG64,  4, { 0xf0, 0x0f, 0xb1, 0x0a }, "lock cmpxchg %ecx,(%rdx)" },
    { MODE_LONG64,  5, { 0xf0, 0x48, 0x0f, 0xc7, 0x0f }, "lock cmpxchg16b (%rdi)" },
    { MODE_LONG64,  3, { 0x0f, 0xc7, 0x0e }, "cmpxchg8b (%rsi)" },
    { MODE_LONG64,  3, { 0xf0, 0xff, 0x00 }, "lock incl (%rax)" },
    { MODE_LONG64,  5, { 0xf0, 0x48, 0xff, 0x4f, 0x08 }, "lock decq 0x8(%rdi)" },
    { MODE_LONG64,  2, { 0x87, 0x07 }, "xchg %eax,(%rdi)" },
    { MODE_LONG64,  2, { 0x49, 0x90 }, "xchg %rax,%r8" },
    { MODE_LONG64,  3, { 0x0f, 0xa3, 0x07 }, "bt %eax,(%rdi)" },
    { MODE_LONG64,  4, { 0x0f, 0xba, 0x28, 0x05 }, "btsl $0x5,(%rax)" },
    { MODE_LONG64,  4, { 0x48, 0x0f, 0xb3, 0x0a }, "btr %rcx,(%rdx)" },
    { MODE_LONG64,  4, { 0x0f, 0xba, 0xf8, 0x03 }, "btc $0x3,%eax" },
    { MODE_LONG64,  1, { 0x50 }, "push %rax" },
    { MODE_LONG64,  2, { 0x41, 0x54 }, "push %r12" },
    { MODE_LONG64,  1, { 0x5b }, "pop %rbx" },
    { MODE_LONG64,  2, { 0x41, 0x5f }, "pop %r15" },
    { MODE_LONG64,  2, { 0x6a, 0x12 }, "push $0x12" },
    { MODE_LONG64,  5, { 0x68, 0x78, 0x56, 0x34, 0x12 }, "push $0x12345678" },
    { MODE_LONG64,  4, { 0x66, 0x68, 0x34, 0x12 }, "pushw $0x1234" },
    { MODE_LONG64,  2, { 0xff, 0x30 }, "push (%rax)" },
    { MODE_LONG64,  4, { 0x8f, 0x44, 0x24, 0x08 }, "pop 0x8(%rsp)" },
    { MODE_LONG64,  2, { 0x0f, 0xa0 }, "push %fs" },
    { MODE_LONG64,  2, { 0x0f, 0xa9 }, "pop %gs" },
    { MODE_LONG64,  4, { 0xc8, 0x10, 0x00, 0x00 }, "enter $0x10,$0x0" },
    { MODE_LONG64,  4, { 0xc8, 0x00, 0x10, 0x03 }, "enter $0x1000,$0x3" },
    { MODE_LONG64,  1, { 0xc9 }, "leave" },
    { MODE_LONG64,  5, { 0xe8, 0xfb, 0x00, 0x00, 0x00 }, "call 0x342" },
    { MODE_LONG64,  5, { 0xe9, 0xfb, 0x0f, 0x00, 0x00 }, "jmp 0x1247" },
    { MODE_LONG64,  2, { 0xeb, 0x0e }, "jmp 0x25c" },
    { MODE_LONG64,  2, { 0x75, 0x0e }, "jne 0x25e" },
    { MODE_LONG64,  6, { 0x0f, 0x84, 0xfa, 0x0f, 0x00, 0x00 }, "je 0x1250" },
    { MODE_LONG64,  2, { 0xe2, 0x0e }, "loop 0x266" },
    { MODE_LONG64,  2, { 0xe3, 0x0e }, "jrcxz 0x268" },
    { MODE_LONG64,  2, { 0xff, 0xd0 }, "call *%rax" },
    { MODE_LONG64,  2, { 0xff, 0x10 }, "call *(%rax)" },
    { MODE_LONG64,  6, { 0xff, 0x25, 0x10, 0x00, 0x00, 0x00 }, "jmp *0x10(%rip)" },
    { MODE_LONG64,  3, { 0x41, 0xff, 0xe3 }, "jmp *%r11" },
    { MODE_LONG64,  2, { 0xff, 0x28 }, "ljmp *(%rax)" },
    { MODE_LONG64,  2, { 0xff, 0x1b }, "lcall *(%rbx)" },
    { MODE_LONG64,  5, { 0x66, 0x0f, 0x1f, 0x04, 0x00 }, "nopw (%rax,%rax,1)" },
    { MODE_LONG64,  3, { 0x0f, 0x1f, 0x00 }, "nopl (%rax)" },
    { MODE_LONG64,  6, { 0x2e, 0x66, 0x0f, 0x1f, 0x04, 0x00 }, "cs nopw (%rax,%rax,1)" },
    { MODE_LONG64, 11, { 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 }, "data16 cs nopw 0x0(%rax,%rax,1)" },
    { MODE_LONG64,  2, { 0x66, 0x90 }, "xchg %ax,%ax" },
    { MODE_LONG64,  2, { 0xf3, 0x90 }, "pause" },
    { MODE_LONG64,  3, { 0x0f, 0xae, 0xe8 }, "lfence" },
    { MODE_LONG64,  3, { 0x0f, 0xae, 0xf0 }, "mfence" },
    { MODE_LONG64,  3, { 0x0f, 0xae, 0xf8 }, "sfence" },
    { MODE_LONG64,  3, { 0x0f, 0xae, 0x38 }, "clflush (%rax)" },
    { MODE_LONG64,  3, { 0x0f, 0x18, 0x08 }, "prefetcht0 (%rax)" },
    { MODE_LONG64,  4, { 0x0f, 0x0d, 0x4f, 0x40 }, "prefetchw 0x40(%rdi)" },
    { MODE_LONG64,  3, { 0xc1, 0xe0, 0x04 }, "shl $0x4,%eax" },
    { MODE_LONG64,  2, { 0xd3, 0x2a }, "shrl %cl,(%rdx)" },
    { MODE_LONG64,  2, { 0xd1, 0x00 }, "roll (%rax)" },
    { MODE_LONG64,  3, { 0x48, 0xd1, 0xf8 }, "sar %rax" },
    { MODE_LONG64,  4, { 0xc0, 0x5b, 0x10, 0x03 }, "rcrb $0x3,0x10(%rbx)" },
    { MODE_LONG64,  6, { 0x69, 0xc8, 0x78, 0x56, 0x34, 0x12 }, "imul $0x12345678,%eax,%ecx" },
    { MODE_LONG64,  3, { 0x6b, 0xc8, 0x03 }, "imul $0x3,%eax,%ecx" },
    { MODE_LONG64,  3, { 0x0f, 0xaf, 0x08 }, "imul (%rax),%ecx" },
    { MODE_LONG64,  4, { 0x0f, 0xa4, 0xc1, 0x03 }, "shld $0x3,%eax,%ecx" },
    { MODE_LONG64,  3, { 0x0f, 0xad, 0x02 }, "shrd %cl,%eax,(%rdx)" },
    { MODE_LONG64,  4, { 0xf2, 0x0f, 0x10, 0x00 }, "movsd (%rax),%xmm0" },
    { MODE_LONG64,  3, { 0x0f, 0x28, 0xd1 }, "movaps %xmm1,%xmm2" },
    { MODE_LONG64,  5, { 0x66, 0x0f, 0x70, 0xc8, 0x1b }, "pshufd $0x1b,%xmm0,%xmm1" },
    { MODE_LONG64,  5, { 0x66, 0x0f, 0x73, 0xd0, 0x03 }, "psrlq $0x3,%xmm0" },
    { MODE_LONG64,  4, { 0x0f, 0xc2, 0xc1, 0x01 }, "cmpltps %xmm1,%xmm0" },
    { MODE_LONG64,  5, { 0x66, 0x0f, 0xc4, 0xc0, 0x02 }, "pinsrw $0x2,%eax,%xmm0" },
    { MODE_LONG64,  5, { 0x66, 0x0f, 0xc5, 0xc0, 0x03 }, "pextrw $0x3,%xmm0,%eax" },
    { MODE_LONG64,  4, { 0x0f, 0xc6, 0xc1, 0x44 }, "shufps $0x44,%xmm1,%xmm0" },
    { MODE_LONG64,  6, { 0x66, 0x0f, 0x3a, 0x0a, 0xc1, 0x04 }, "roundss $0x4,%xmm1,%xmm0" },
    { MODE_LONG64,  5, { 0x66, 0x0f, 0x38, 0x00, 0xc1 }, "pshufb %xmm1,%xmm0" },
    { MODE_LONG64,  5, { 0xf2, 0x0f, 0x38, 0xf0, 0xc0 }, "crc32 %al,%eax" },
    { MODE_LONG64,  6, { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x00 }, "crc32q (%rax),%rax" },
    { MODE_LONG64,  4, { 0xf3, 0x0f, 0xb8, 0xc8 }, "popcnt %eax,%ecx" },
    { MODE_LONG64,  5, { 0xf3, 0x48, 0x0f, 0xbd, 0xd8 }, "lzcnt %rax,%rbx" },
    { MODE_LONG64,  4, { 0xf3, 0x0f, 0xbc, 0x08 }, "tzcnt (%rax),%ecx" },
    { MODE_LONG64,  4, { 0x0f, 0x38, 0xf0, 0x00 }, "movbe (%rax),%eax" },
    { MODE_LONG64,  7, { 0x66, 0x0f, 0x3a, 0x63, 0x4f, 0x10, 0x0c }, "pcmpistri $0xc,0x10(%rdi),%xmm1" },
    { MODE_LONG64,  6, { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08 }, "palignr $0x8,%xmm1,%xmm0" },
    { MODE_LONG64,  6, { 0x66, 0x0f, 0x3a, 0x17, 0x00, 0x01 }, "extractps $0x1,%xmm0,(%rax)" },
    { MODE_LONG64,  3, { 0x0f, 0x6f, 0xc8 }, "movq %mm0,%mm1" },
    { MODE_LONG64,  2, { 0x0f, 0x77 }, "emms" },
    { MODE_LONG64,  3, { 0xc5, 0xf8, 0x77 }, "vzeroupper" },
    { MODE_LONG64,  3, { 0xc5, 0xfc, 0x77 }, "vzeroall" },
    { MODE_LONG64,  4, { 0xc5, 0xf4, 0x58, 0xd0 }, "vaddps %ymm0,%ymm1,%ymm2" },
    { MODE_LONG64,  5, { 0xc5, 0xf9, 0x70, 0xc8, 0x1b }, "vpshufd $0x1b,%xmm0,%xmm1" },
    { MODE_LONG64,  6, { 0xc4, 0xe3, 0xfd, 0x00, 0xc8, 0x4e }, "vpermq $0x4e,%ymm0,%ymm1" },
    { MODE_LONG64,  5, { 0xc4, 0xe2, 0x7d, 0x58, 0xc8 }, "vpbroadcastd %xmm0,%ymm1" },
    { MODE_LONG64,  5, { 0xc4, 0xe2, 0x60, 0xf2, 0xc8 }, "andn %eax,%ebx,%ecx" },
    { MODE_LONG64,  5, { 0xc4, 0xe2, 0xf8, 0xf7, 0x1f }, "bextr %rax,(%rdi),%rbx" },
    { MODE_LONG64,  4, { 0xc5, 0xfe, 0x6f, 0x00 }, "vmovdqu (%rax),%ymm0" },
    { MODE_LONG64,  6, { 0xc4, 0x41, 0x7e, 0x7f, 0x41, 0x20 }, "vmovdqu %ymm8,0x20(%r9)" },
    { MODE_LONG64,  6, { 0xc4, 0xe3, 0xf9, 0x16, 0xc0, 0x01 }, "vpextrq $0x1,%xmm0,%rax" },
    { MODE_LONG64,  6, { 0xc4, 0xe3, 0x7d, 0x39, 0xc1, 0x01 }, "vextracti128 $0x1,%ymm0,%xmm1" },
    { MODE_LONG64,  5, { 0xc5, 0xed, 0x73, 0xd1, 0x05 }, "vpsrlq $0x5,%ymm1,%ymm2" },
    { MODE_LONG64,  5, { 0xc5, 0xec, 0xc2, 0xd9, 0x02 }, "vcmpleps %ymm1,%ymm2,%ymm3" },
    { MODE_LONG64,  6, { 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x06 }, "vmovups (%rsi),%zmm0" },
    { MODE_LONG64,  7, { 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x4e, 0x01 }, "vmovups 0x40(%rsi),%zmm1" },
    { MODE_LONG64,  8, { 0x62, 0xf3, 0x75, 0x20, 0x25, 0x67, 0x03, 0xde }, "vpternlogd $0xde,0x60(%rdi),%ymm17,%ymm4" },
    { MODE_LONG64,  6, { 0x62, 0x01, 0x75, 0x20, 0xef, 0xc8 }, "vpxord %ymm24,%ymm17,%ymm25" },
    { MODE_LONG64,  4, { 0x0f, 0x0f, 0xc1, 0x9e }, "pfadd %mm1,%mm0" },
    { MODE_LONG64,  5, { 0x0f, 0x0f, 0x50, 0x08, 0xb4 }, "pfmul 0x8(%rax),%mm2" },
    { MODE_LONG64,  2, { 0x0f, 0x0e }, "femms" },
    { MODE_LONG64,  2, { 0xd9, 0xe8 }, "fld1" },
    { MODE_LONG64,  2, { 0xdd, 0x00 }, "fldl (%rax)" },
    { MODE_LONG64,  2, { 0xdd, 0xd9 }, "fstp %st(1)" },
    { MODE_LONG64,  2, { 0xdf, 0xe0 }, "fnstsw %ax" },
    { MODE_LONG64,  4, { 0xd9, 0x7c, 0x24, 0x10 }, "fnstcw 0x10(%rsp)" },
    { MODE_LONG64,  2, { 0xdb, 0xe3 }, "fninit" },
    { MODE_LONG64,  3, { 0x0f, 0xae, 0x00 }, "fxsave (%rax)" },
    { MODE_LONG64,  4, { 0x48, 0x0f, 0xae, 0x08 }, "fxrstor64 (%rax)" },
    { MODE_LONG64,  3, { 0x0f, 0xae, 0x20 }, "xsave (%rax)" },
    { MODE_LONG64,  4, { 0x0f, 0xae, 0x6f, 0x40 }, "xrstor 0x40(%rdi)" },
    { MODE_LONG64,  3, { 0x0f, 0xc7, 0xf0 }, "rdrand %eax" },
    { MODE_LONG64,  4, { 0x48, 0x0f, 0xc7, 0xf8 }, "rdseed %rax" },
    { MODE_LONG64,  4, { 0xf3, 0x0f, 0xc7, 0xf8 }, "rdpid %rax" },
    { MODE_LONG64,  2, { 0x0f, 0x0b }, "ud2" },
    { MODE_LONG64,  1, { 0x98 }, "cwtl" },
    { MODE_LONG64,  2, { 0x48, 0x98 }, "cltq" },
    { MODE_LONG64,  2, { 0x66, 0x99 }, "cwtd" },
    { MODE_LONG64,  2, { 0x48, 0x99 }, "cqto" },
    { MODE_LONG64,  1, { 0x9f }, "lahf" },
    { MODE_LONG64,  1, { 0x9e }, "sahf" },
    { MODE_LONG64,  1, { 0xd7 }, "xlat %ds:(%rbx)" },
    { MODE_LONG64,  2, { 0x0f, 0xc8 }, "bswap %eax" },
    { MODE_LONG64,  3, { 0x49, 0x0f, 0xc9 }, "bswap %r9" },
    { MODE_LONG64,  3, { 0x0f, 0x95, 0xc0 }, "setne %al" },
    { MODE_LONG64,  3, { 0x0f, 0x9f, 0x00 }, "setg (%rax)" },
    { MODE_LONG64,  3, { 0x0f, 0x45, 0xc8 }, "cmovne %eax,%ecx" },
    { MODE_LONG64,  4, { 0x66, 0x0f, 0x02, 0xd8 }, "lar %ax,%bx" },
    { MODE_LONG64,  3, { 0x0f, 0x03, 0xc8 }, "lsl %eax,%ecx" },
    { MODE_LONG64,  3, { 0x0f, 0x00, 0xe0 }, "verr %ax" },
    { MODE_LONG64,  4, { 0xf3, 0x0f, 0x1e, 0xfa }, "endbr64" },
    { MODE_LONG64,  6, { 0x66, 0x0f, 0x78, 0xc0, 0x08, 0x04 }, "extrq $0x4,$0x8,%xmm0" },
    { MODE_LONG64,  6, { 0xf2, 0x0f, 0x78, 0xc1, 0x08, 0x04 }, "insertq $0x4,$0x8,%xmm1,%xmm0" },
    { MODE_LONG64,  3, { 0x0f, 0x78, 0xc3 }, "vmread %rax,%rbx" },
    { MODE_LONG64,  3, { 0x0f, 0x79, 0x18 }, "vmwrite (%rax),%rbx" },
    { MODE_LONG64,  3, { 0x0f, 0xc7, 0x30 }, "vmptrld (%rax)" },
    { MODE_LONG64,  6, { 0x66, 0x0f, 0xc7, 0x74, 0x24, 0x08 }, "vmclear 0x8(%rsp)" },
    { MODE_LONG64,  5, { 0x66, 0x0f, 0x38, 0x80, 0x00 }, "invept (%rax),%rax" },
    { MODE_LONG64,  5, { 0x66, 0x0f, 0x38, 0x81, 0x11 }, "invvpid (%rcx),%rdx" },
    { MODE_LONG64,  3, { 0xc6, 0xf8, 0x12 }, "xabort $0x12" },
    { MODE_LONG64,  6, { 0xc7, 0xf8, 0xfa, 0x00, 0x00, 0x00 }, "xbegin 0x4ff" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xd5 }, "xend" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xd6 }, "xtest" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xcb }, "stac" },
    { MODE_LONG64,  3, { 0x0f, 0x01, 0xca }, "clac" },
    { MODE_LONG64,  5, { 0xf3, 0x48, 0x0f, 0xae, 0xc0 }, "rdfsbase %rax" },
    { MODE_LONG64,  5, { 0xf3, 0x48, 0x0f, 0xae, 0xdb }, "wrgsbase %rbx" },
    { MODE_LONG64,  1, { 0xf1 }, "int1" },
    { MODE_LONG64,  1, { 0xf5 }, "cmc" },
    { MODE_LONG64,  1, { 0xf8 }, "clc" },
    { MODE_LONG64,  1, { 0xf9 }, "stc" },
    { MODE_LONG64,  1, { 0xfc }, "cld" },
    { MODE_LONG64,  1, { 0xfd }, "std" },
    { MODE_PROT32,  1, { 0x40 }, "inc %eax" },
    { MODE_PROT32,  1, { 0x49 }, "dec %ecx" },
    { MODE_PROT32,  1, { 0x06 }, "push %es" },
    { MODE_PROT32,  1, { 0x1f }, "pop %ds" },
    { MODE_PROT32,  1, { 0x0e }, "push %cs" },
    { MODE_PROT32,  1, { 0x16 }, "push %ss" },
    { MODE_PROT32,  1, { 0x17 }, "pop %ss" },
    { MODE_PROT32,  1, { 0x60 }, "pusha" },
    { MODE_PROT32,  1, { 0x61 }, "popa" },
    { MODE_PROT32,  1, { 0x27 }, "daa" },
    { MODE_PROT32,  1, { 0x2f }, "das" },
    { MODE_PROT32,  1, { 0x37 }, "aaa" },
    { MODE_PROT32,  1, { 0x3f }, "aas" },
    { MODE_PROT32,  2, { 0xd4, 0x0a }, "aam $0xa" },
    { MODE_PROT32,  2, { 0xd5, 0x0a }, "aad $0xa" },
    { MODE_PROT32,  2, { 0x62, 0x01 }, "bound %eax,(%ecx)" },
    { MODE_PROT32,  2, { 0x63, 0x03 }, "arpl %ax,(%ebx)" },
    { MODE_PROT32,  1, { 0xce }, "into" },
    { MODE_PROT32,  2, { 0xc4, 0x00 }, "les (%eax),%eax" },
    { MODE_PROT32,  3, { 0xc5, 0x4b, 0x10 }, "lds 0x10(%ebx),%ecx" },
    { MODE_PROT32,  7, { 0x9a, 0x78, 0x56, 0x34, 0x12, 0x10, 0x00 }, "lcall $0x10,$0x12345678" },
    { MODE_PROT32,  7, { 0xea, 0x00, 0x00, 0x10, 0x00, 0x08, 0x00 }, "ljmp $0x8,$0x100000" },
    { MODE_PROT32,  6, { 0x66, 0x9a, 0x34, 0x12, 0x10, 0x00 }, "lcallw $0x10,$0x1234" },
    { MODE_PROT32,  5, { 0xa1, 0x78, 0x56, 0x34, 0x12 }, "mov 0x12345678,%eax" },
    { MODE_PROT32,  5, { 0xa2, 0x78, 0x56, 0x34, 0x12 }, "mov %al,0x12345678" },
    { MODE_PROT32,  4, { 0x67, 0xa1, 0x34, 0x12 }, "addr16 mov 0x1234,%eax" },
    { MODE_PROT32,  2, { 0x8b, 0x08 }, "mov (%eax),%ecx" },
    { MODE_PROT32,  7, { 0x8b, 0x8c, 0xb3, 0x78, 0x56, 0x34, 0x12 }, "mov 0x12345678(%ebx,%esi,4),%ecx" },
    { MODE_PROT32,  3, { 0x8b, 0x45, 0x00 }, "mov 0x0(%ebp),%eax" },
    { MODE_PROT32,  7, { 0x8b, 0x84, 0x24, 0x34, 0x12, 0x00, 0x00 }, "mov 0x1234(%esp),%eax" },
    { MODE_PROT32,  6, { 0x8b, 0x1d, 0x78, 0x56, 0x34, 0x12 }, "mov 0x12345678,%ebx" },
    { MODE_PROT32,  3, { 0x67, 0x8b, 0x00 }, "mov (%bx,%si),%eax" },
    { MODE_PROT32,  5, { 0x67, 0x66, 0x89, 0x43, 0x10 }, "mov %ax,0x10(%bp,%di)" },
    { MODE_PROT32,  5, { 0xe9, 0xfb, 0x0f, 0x00, 0x00 }, "jmp 0x105e" },
    { MODE_PROT32,  5, { 0xe8, 0xfb, 0x0f, 0x00, 0x00 }, "call 0x1063" },
    { MODE_PROT32,  6, { 0x0f, 0x84, 0xfa, 0x0f, 0x00, 0x00 }, "je 0x1068" },
    { MODE_PROT32,  5, { 0x66, 0x0f, 0x84, 0xfb, 0x00 }, "je 0x16e" },
    { MODE_PROT32,  2, { 0xeb, 0x0e }, "jmp 0x83" },
    { MODE_PROT32,  2, { 0xe2, 0x0e }, "loop 0x85" },
    { MODE_PROT32,  2, { 0xe3, 0x0e }, "jecxz 0x87" },
    { MODE_PROT32,  3, { 0x0f, 0x20, 0xc0 }, "mov %cr0,%eax" },
    { MODE_PROT32,  3, { 0x0f, 0x22, 0xd8 }, "mov %eax,%cr3" },
    { MODE_PROT32,  3, { 0x0f, 0x20, 0xe2 }, "mov %cr4,%edx" },
    { MODE_PROT32,  3, { 0x0f, 0x21, 0xf0 }, "mov %db6,%eax" },
    { MODE_PROT32,  3, { 0x0f, 0x23, 0xf8 }, "mov %eax,%db7" },
    { MODE_PROT32,  2, { 0xe4, 0x60 }, "in $0x60,%al" },
    { MODE_PROT32,  2, { 0x66, 0xed }, "in (%dx),%ax" },
    { MODE_PROT32,  1, { 0xef }, "out %eax,(%dx)" },
    { MODE_PROT32,  2, { 0xf3, 0x6d }, "rep insl (%dx),%es:(%edi)" },
    { MODE_PROT32,  2, { 0xf3, 0x6e }, "rep outsb %ds:(%esi),(%dx)" },
    { MODE_PROT32,  2, { 0x66, 0x6d }, "insw (%dx),%es:(%edi)" },
    { MODE_PROT32,  2, { 0x0f, 0xa2 }, "cpuid" },
    { MODE_PROT32,  2, { 0x0f, 0x32 }, "rdmsr" },
    { MODE_PROT32,  2, { 0x0f, 0x30 }, "wrmsr" },
    { MODE_PROT32,  1, { 0xf4 }, "hlt" },
    { MODE_PROT32,  3, { 0x0f, 0x01, 0xc1 }, "vmcall" },
    { MODE_PROT32,  3, { 0x0f, 0x01, 0xd9 }, "vmmcall" },
    { MODE_PROT32,  3, { 0x0f, 0x01, 0xd8 }, "vmrun" },
    { MODE_PROT32,  3, { 0x0f, 0x01, 0xdf }, "invlpga" },
    { MODE_PROT32,  3, { 0x0f, 0x01, 0x38 }, "invlpg (%eax)" },
    { MODE_PROT32,  2, { 0xcd, 0x10 }, "int $0x10" },
    { MODE_PROT32,  1, { 0xcf }, "iret" },
    { MODE_PROT32,  2, { 0x66, 0xcf }, "iretw" },
    { MODE_PROT32,  1, { 0x9c }, "pushf" },
    { MODE_PROT32,  1, { 0x9d }, "popf" },
    { MODE_PROT32,  2, { 0x66, 0x9c }, "pushfw" },
    { MODE_PROT32,  5, { 0xb8, 0x78, 0x56, 0x34, 0x12 }, "mov $0x12345678,%eax" },
    { MODE_PROT32,  4, { 0x66, 0xb8, 0x34, 0x12 }, "mov $0x1234,%ax" },
    { MODE_PROT32,  2, { 0xb4, 0x12 }, "mov $0x12,%ah" },
    { MODE_PROT32,  5, { 0x68, 0x78, 0x56, 0x34, 0x12 }, "push $0x12345678" },
    { MODE_PROT32,  4, { 0x66, 0x68, 0x34, 0x12 }, "pushw $0x1234" },
    { MODE_PROT32,  2, { 0x6a, 0x12 }, "push $0x12" },
    { MODE_PROT32,  4, { 0xc8, 0x08, 0x00, 0x01 }, "enter $0x8,$0x1" },
    { MODE_PROT32,  3, { 0xc2, 0x04, 0x00 }, "ret $0x4" },
    { MODE_PROT32,  3, { 0xca, 0x04, 0x00 }, "lret $0x4" },
    { MODE_PROT32,  1, { 0xcb }, "lret" },
    { MODE_PROT32,  7, { 0xc7, 0x45, 0x10, 0x78, 0x56, 0x34, 0x12 }, "movl $0x12345678,0x10(%ebp)" },
    { MODE_PROT32,  5, { 0x66, 0xc7, 0x00, 0x34, 0x12 }, "movw $0x1234,(%eax)" },
    { MODE_PROT32,  4, { 0xc6, 0x04, 0x08, 0x01 }, "movb $0x1,(%eax,%ecx,1)" },
    { MODE_PROT32,  3, { 0x0f, 0xb6, 0x06 }, "movzbl (%esi),%eax" },
    { MODE_PROT32,  4, { 0x66, 0x0f, 0xbe, 0x06 }, "movsbw (%esi),%ax" },
    { MODE_PROT32,  1, { 0xab }, "stos %eax,%es:(%edi)" },
    { MODE_PROT32,  3, { 0x66, 0xf3, 0xab }, "rep stos %ax,%es:(%edi)" },
    { MODE_PROT32,  2, { 0xf3, 0xa4 }, "rep movsb %ds:(%esi),%es:(%edi)" },
    { MODE_PROT32,  3, { 0x67, 0xf3, 0xa4 }, "rep movsb %ds:(%si),%es:(%di)" },
    { MODE_PROT32,  2, { 0x21, 0x07 }, "and %eax,(%edi)" },
    { MODE_PROT32,  6, { 0x81, 0x08, 0x78, 0x56, 0x34, 0x12 }, "orl $0x12345678,(%eax)" },
    { MODE_PROT32,  5, { 0x66, 0x81, 0x31, 0x34, 0x12 }, "xorw $0x1234,(%ecx)" },
    { MODE_PROT32,  6, { 0xf7, 0x00, 0x00, 0x00, 0x00, 0x80 }, "testl $0x80000000,(%eax)" },
    { MODE_PROT32,  4, { 0xf6, 0x40, 0x03, 0x80 }, "testb $0x80,0x3(%eax)" },
    { MODE_PROT32,  5, { 0x66, 0xf7, 0x00, 0x00, 0x80 }, "testw $0x8000,(%eax)" },
    { MODE_PROT32,  2, { 0x39, 0x0f }, "cmp %ecx,(%edi)" },
    { MODE_PROT32,  5, { 0xf0, 0x0f, 0xba, 0x28, 0x00 }, "lock btsl $0x0,(%eax)" },
    { MODE_PROT32,  2, { 0x87, 0x07 }, "xchg %eax,(%edi)" },
    { MODE_PROT32,  3, { 0x0f, 0xa3, 0x07 }, "bt %eax,(%edi)" },
    { MODE_PROT32,  3, { 0x0f, 0x01, 0x10 }, "lgdtl (%eax)" },
    { MODE_PROT32,  5, { 0x0f, 0x01, 0x5c, 0x24, 0x06 }, "lidtl 0x6(%esp)" },
    { MODE_PROT32,  3, { 0x0f, 0x00, 0xd8 }, "ltr %ax" },
    { MODE_PROT32,  3, { 0x0f, 0x00, 0xd0 }, "lldt %ax" },
    { MODE_PROT32,  2, { 0x0f, 0x34 }, "sysenter" },
    { MODE_PROT32,  2, { 0x0f, 0x35 }, "sysexit" },
    { MODE_PROT32,  1, { 0xd6 }, "(bad)" },
    { MODE_PROT32,  1, { 0xd7 }, "xlat %ds:(%ebx)" },
    { MODE_PROT32,  4, { 0xc5, 0xf4, 0x58, 0xd0 }, "vaddps %ymm0,%ymm1,%ymm2" },
    { MODE_PROT32,  6, { 0xc4, 0xe3, 0xfd, 0x00, 0xc8, 0x4e }, "vpermq $0x4e,%ymm0,%ymm1" },
    { MODE_PROT32,  5, { 0xc5, 0xf9, 0x70, 0xc8, 0x1b }, "vpshufd $0x1b,%xmm0,%xmm1" },
    { MODE_PROT32,  6, { 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x06 }, "vmovups (%esi),%zmm0" },
    { MODE_PROT32,  4, { 0xdd, 0x44, 0x24, 0x08 }, "fldl 0x8(%esp)" },
    { MODE_PROT32,  2, { 0xdf, 0xe0 }, "fnstsw %ax" },
    { MODE_PROT32,  4, { 0xf2, 0x0f, 0x10, 0x00 }, "movsd (%eax),%xmm0" },
    { MODE_PROT32,  5, { 0x66, 0x0f, 0x70, 0x08, 0x1b }, "pshufd $0x1b,(%eax),%xmm1" },
    { MODE_PROT32,  2, { 0x0f, 0x31 }, "rdtsc" },
    { MODE_PROT32,  3, { 0x0f, 0x01, 0xc9 }, "mwait %eax,%ecx" },
    { MODE_PROT32,  3, { 0x0f, 0x01, 0xd1 }, "xsetbv" },
    { MODE_PROT32,  2, { 0x0f, 0x09 }, "wbinvd" },
    { MODE_PROT32,  2, { 0x0f, 0x06 }, "clts" },
    { MODE_PROT32,  2, { 0x0f, 0x0b }, "ud2" },
    { MODE_PROT32,  5, { 0x66, 0x0f, 0x1f, 0x04, 0x00 }, "nopw (%eax,%eax,1)" },
    { MODE_PROT32,  4, { 0x8d, 0x74, 0x26, 0x00 }, "lea 0x0(%esi,%eiz,1),%esi" },
    { MODE_REAL16,  3, { 0xb8, 0x34, 0x12 }, "mov $0x1234,%ax" },
    { MODE_REAL16,  6, { 0x66, 0xb8, 0x78, 0x56, 0x34, 0x12 }, "mov $0x12345678,%eax" },
    { MODE_REAL16,  2, { 0x8b, 0x00 }, "mov (%bx,%si),%ax" },
    { MODE_REAL16,  3, { 0x8b, 0x46, 0x10 }, "mov 0x10(%bp),%ax" },
    { MODE_REAL16,  3, { 0xa1, 0x34, 0x12 }, "mov 0x1234,%ax" },
    { MODE_REAL16,  4, { 0x8b, 0x8f, 0x34, 0x12 }, "mov 0x1234(%bx),%cx" },
    { MODE_REAL16,  3, { 0x8b, 0x46, 0x00 }, "mov 0x0(%bp),%ax" },
    { MODE_REAL16,  2, { 0x8a, 0x04 }, "mov (%si),%al" },
    { MODE_REAL16,  3, { 0x8b, 0x53, 0xfe }, "mov -0x2(%bp,%di),%dx" },
    { MODE_REAL16,  4, { 0x89, 0x80, 0x34, 0x12 }, "mov %ax,0x1234(%bx,%si)" },
    { MODE_REAL16,  4, { 0x67, 0x66, 0x8b, 0x18 }, "mov (%eax),%ebx" },
    { MODE_REAL16,  9, { 0x67, 0x66, 0x8b, 0x94, 0x88, 0x78, 0x56, 0x34, 0x12 }, "mov 0x12345678(%eax,%ecx,4),%edx" },
    { MODE_REAL16,  3, { 0x26, 0x8a, 0x05 }, "mov %es:(%di),%al" },
    { MODE_REAL16,  2, { 0x8e, 0xd8 }, "mov %ax,%ds" },
    { MODE_REAL16,  2, { 0x8c, 0xc8 }, "mov %cs,%ax" },
    { MODE_REAL16,  2, { 0xcd, 0x10 }, "int $0x10" },
    { MODE_REAL16,  1, { 0xcc }, "int3" },
    { MODE_REAL16,  1, { 0xcf }, "iret" },
    { MODE_REAL16,  2, { 0x66, 0xcf }, "iretl" },
    { MODE_REAL16,  1, { 0xf4 }, "hlt" },
    { MODE_REAL16,  1, { 0xfa }, "cli" },
    { MODE_REAL16,  1, { 0xfb }, "sti" },
    { MODE_REAL16,  3, { 0xe9, 0xfd, 0x0f }, "jmp 0x103e" },
    { MODE_REAL16,  3, { 0xe8, 0xfd, 0x0f }, "call 0x1041" },
    { MODE_REAL16,  2, { 0xeb, 0x0e }, "jmp 0x54" },
    { MODE_REAL16,  2, { 0x74, 0x0e }, "je 0x56" },
    { MODE_REAL16,  4, { 0x0f, 0x84, 0xfc, 0x0f }, "je 0x1048" },
    { MODE_REAL16,  6, { 0x66, 0xe9, 0xfa, 0xff, 0x0f, 0x00 }, "jmpl 0x10004c" },
    { MODE_REAL16,  5, { 0xea, 0x5b, 0xe0, 0x00, 0xf0 }, "ljmp $0xf000,$0xe05b" },
    { MODE_REAL16,  5, { 0x9a, 0x78, 0x56, 0x34, 0x12 }, "lcall $0x1234,$0x5678" },
    { MODE_REAL16,  8, { 0x66, 0xea, 0x00, 0x00, 0x10, 0x00, 0x08, 0x00 }, "ljmpl $0x8,$0x100000" },
    { MODE_REAL16,  2, { 0xe4, 0x60 }, "in $0x60,%al" },
    { MODE_REAL16,  2, { 0xe6, 0x80 }, "out %al,$0x80" },
    { MODE_REAL16,  1, { 0xec }, "in (%dx),%al" },
    { MODE_REAL16,  1, { 0xef }, "out %ax,(%dx)" },
    { MODE_REAL16,  1, { 0x6c }, "insb (%dx),%es:(%di)" },
    { MODE_REAL16,  2, { 0xf3, 0x6f }, "rep outsw %ds:(%si),(%dx)" },
    { MODE_REAL16,  3, { 0x68, 0x34, 0x12 }, "push $0x1234" },
    { MODE_REAL16,  2, { 0x6a, 0x12 }, "push $0x12" },
    { MODE_REAL16,  1, { 0x9c }, "pushf" },
    { MODE_REAL16,  1, { 0x9d }, "popf" },
    { MODE_REAL16,  2, { 0x66, 0x9c }, "pushfl" },
    { MODE_REAL16,  4, { 0xc8, 0x04, 0x00, 0x00 }, "enter $0x4,$0x0" },
    { MODE_REAL16,  3, { 0xc2, 0x02, 0x00 }, "ret $0x2" },
    { MODE_REAL16,  1, { 0xc3 }, "ret" },
    { MODE_REAL16,  1, { 0xcb }, "lret" },
    { MODE_REAL16,  3, { 0x0f, 0x01, 0x17 }, "lgdtw (%bx)" },
    { MODE_REAL16,  4, { 0x0f, 0x01, 0x5c, 0x10 }, "lidtw 0x10(%si)" },
    { MODE_REAL16,  4, { 0x66, 0x0f, 0x01, 0x17 }, "lgdtl (%bx)" },
    { MODE_REAL16,  3, { 0x0f, 0x01, 0xf0 }, "lmsw %ax" },
    { MODE_REAL16,  3, { 0x0f, 0x01, 0xe0 }, "smsw %ax" },
    { MODE_REAL16,  3, { 0x0f, 0x20, 0xc0 }, "mov %cr0,%eax" },
    { MODE_REAL16,  3, { 0x0f, 0x22, 0xc0 }, "mov %eax,%cr0" },
    { MODE_REAL16,  3, { 0x0f, 0x22, 0xe0 }, "mov %eax,%cr4" },
    { MODE_REAL16,  2, { 0x0f, 0xa2 }, "cpuid" },
    { MODE_REAL16,  2, { 0x0f, 0x32 }, "rdmsr" },
    { MODE_REAL16,  2, { 0x0f, 0x30 }, "wrmsr" },
    { MODE_REAL16,  2, { 0x0f, 0x31 }, "rdtsc" },
    { MODE_REAL16,  3, { 0x0f, 0xb6, 0x07 }, "movzbw (%bx),%ax" },
    { MODE_REAL16,  4, { 0x66, 0x0f, 0xb6, 0x07 }, "movzbl (%bx),%eax" },
    { MODE_REAL16,  2, { 0xc4, 0x07 }, "les (%bx),%ax" },
    { MODE_REAL16,  3, { 0xc5, 0x76, 0x04 }, "lds 0x4(%bp),%si" },
    { MODE_REAL16,  1, { 0xab }, "stos %ax,%es:(%di)" },
    { MODE_REAL16,  2, { 0xf3, 0xaa }, "rep stos %al,%es:(%di)" },
    { MODE_REAL16,  1, { 0xa5 }, "movsw %ds:(%si),%es:(%di)" },
    { MODE_REAL16,  3, { 0x66, 0xf3, 0xa5 }, "rep movsl %ds:(%si),%es:(%di)" },
    { MODE_REAL16,  3, { 0x25, 0x00, 0xff }, "and $0xff00,%ax" },
    { MODE_REAL16,  4, { 0x81, 0x07, 0x34, 0x12 }, "addw $0x1234,(%bx)" },
    { MODE_REAL16,  7, { 0x66, 0x81, 0x07, 0x78, 0x56, 0x34, 0x12 }, "addl $0x12345678,(%bx)" },
    { MODE_REAL16,  4, { 0xf7, 0x05, 0x01, 0x00 }, "testw $0x1,(%di)" },
    { MODE_REAL16,  3, { 0xf6, 0x05, 0x01 }, "testb $0x1,(%di)" },
    { MODE_REAL16,  2, { 0x38, 0x04 }, "cmp %al,(%si)" },
    { MODE_REAL16,  1, { 0x93 }, "xchg %ax,%bx" },
    { MODE_REAL16,  4, { 0x0f, 0xba, 0xe0, 0x03 }, "bt $0x3,%ax" },
    { MODE_REAL16,  3, { 0x0f, 0x01, 0xc1 }, "vmcall" },
    { MODE_REAL16,  3, { 0x0f, 0x01, 0xd9 }, "vmmcall" },
    { MODE_REAL16,  1, { 0x1e }, "push %ds" },
    { MODE_REAL16,  1, { 0x07 }, "pop %es" },
    { MODE_REAL16,  1, { 0x60 }, "pusha" },
    { MODE_REAL16,  1, { 0x61 }, "popa" },
    { MODE_REAL16,  3, { 0xbc, 0x34, 0x12 }, "mov $0x1234,%sp" },
    { MODE_REAL16,  2, { 0x31, 0xc0 }, "xor %ax,%ax" },
    { MODE_REAL16,  8, { 0x67, 0x66, 0x8b, 0x1d, 0x78, 0x56, 0x34, 0x12 }, "addr32 mov 0x12345678,%ebx" },
    { MODE_REAL16,  7, { 0x67, 0x66, 0xa1, 0x78, 0x56, 0x34, 0x12 }, "addr32 mov 0x12345678,%eax" },
};

static const char *mode_name(enum cpu_mode m)
{
    static const char *const names[] = { "real16", "prot16", "prot32", "long64" };
    return m <= MODE_LONG64 ? names[m] : "?";
}

/* Decode from a heap block of exactly `avail` bytes, so that AddressSanitizer
 * catches any read past the end. */
static int decode_exact(const uint8_t *bytes, size_t avail, enum cpu_mode mode,
                        struct insn *out)
{
    uint8_t *copy = malloc(avail ? avail : 1);
    assert_non_null(copy);
    if (avail)
        memcpy(copy, bytes, avail);
    int r = insn_decode(copy, avail, mode, out);
    free(copy);
    return r;
}

static void check_len_case(const struct len_case *c, enum cpu_mode mode)
{
    struct insn in;
    uint8_t padded[INSN_MAX_LEN];

    /* Exactly the instruction's bytes. */
    int r = decode_exact(c->bytes, c->len, mode, &in);
    if (r != INSN_OK || in.len != c->len) {
        print_error("%s [%s]: got %d (%s) len %u, want len %u\n", c->text,
                    mode_name(mode), r, insn_strerror(r), in.len, c->len);
        fail();
    }
    /* Followed by other bytes (INT3s): the length must not change. */
    memset(padded, 0xcc, sizeof padded);
    memcpy(padded, c->bytes, c->len);
    r = decode_exact(padded, sizeof padded, mode, &in);
    if (r != INSN_OK || in.len != c->len) {
        print_error("%s [%s] padded: got %d len %u, want %u\n", c->text,
                    mode_name(mode), r, in.len, c->len);
        fail();
    }
    /* One byte short: more bytes are needed. */
    r = decode_exact(c->bytes, c->len - 1, mode, &in);
    if (r != INSN_ERR_TRUNCATED) {
        print_error("%s [%s] short by one: got %d, want truncated\n", c->text,
                    mode_name(mode), r);
        fail();
    }
}

static void test_lengths(void **state)
{
    (void)state;
    unsigned n = 0;
    for (size_t i = 0; i < sizeof len_cases / sizeof len_cases[0]; i++) {
        const struct len_case *c = &len_cases[i];
        check_len_case(c, c->mode);
        n++;
        if (c->mode == MODE_REAL16) {
            check_len_case(c, MODE_PROT16);
            n++;
        }
    }
    print_message("    %u length checks\n", n);
}

/* Decode a byte string given as a literal. */
#define DECODE(mode, out, ...)                                                  \
    ({                                                                          \
        static const uint8_t b_[] = { __VA_ARGS__ };                            \
        decode_exact(b_, sizeof b_, (mode), (out));                             \
    })

static void test_fields_mov(void **state)
{
    (void)state;
    struct insn in;

    /* mov %eax,(%rdi) */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x89, 0x07), INSN_OK);
    assert_int_equal(in.map, INSN_MAP_1BYTE);
    assert_int_equal(in.op, 0x89);
    assert_int_equal(in.opsize, 4);
    assert_int_equal(in.addrsize, 8);
    assert_true(in.has_modrm);
    assert_true(in.has_mem);
    assert_int_equal(in.reg, INSN_RAX);
    assert_int_equal(in.base_reg, INSN_RDI);
    assert_int_equal(in.index_reg, INSN_NO_REG);
    assert_int_equal(in.disp_size, 0);
    assert_int_equal(insn_mem_seg(&in), INSN_SEG_DS);

    /* mov %r8,(%r12): REX.WRB, SIB required for r12 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x4d, 0x89, 0x04, 0x24), INSN_OK);
    assert_int_equal(in.len, 4);
    assert_int_equal(in.rex, 0x4d);
    assert_true(in.rex_w && in.rex_r && in.rex_b && !in.rex_x);
    assert_int_equal(in.opsize, 8);
    assert_int_equal(in.reg, INSN_R8);
    assert_true(in.has_sib);
    assert_int_equal(in.base_reg, INSN_R12);
    assert_int_equal(in.index_reg, INSN_NO_REG);

    /* mov 0x8(%rsp,%rax,8),%rdx */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x48, 0x8b, 0x54, 0xc4, 0x08), INSN_OK);
    assert_int_equal(in.reg, INSN_RDX);
    assert_int_equal(in.base_reg, INSN_RSP);
    assert_int_equal(in.index_reg, INSN_RAX);
    assert_int_equal(in.scale, 8);
    assert_int_equal(in.disp, 8);
    assert_int_equal(in.disp_size, 1);
    assert_int_equal(insn_mem_seg(&in), INSN_SEG_SS);

    /* mov %gs:0x28,%rax: SIB with neither base nor index */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x65, 0x48, 0x8b, 0x04, 0x25,
                            0x28, 0x00, 0x00, 0x00), INSN_OK);
    assert_int_equal(in.len, 9);
    assert_int_equal(in.num_prefixes, 2);
    assert_int_equal(in.seg_override, INSN_SEG_GS);
    assert_int_equal(insn_mem_seg(&in), INSN_SEG_GS);
    assert_int_equal(in.base_reg, INSN_NO_REG);
    assert_int_equal(in.index_reg, INSN_NO_REG);
    assert_false(in.rip_relative);
    assert_int_equal(in.disp, 0x28);

    /* movb $0x12,(%rax) / movw $0x1234,(%rax) / movq $-1,0x10(%rbp) */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc6, 0x00, 0x12), INSN_OK);
    assert_int_equal(in.opsize, 1);
    assert_int_equal(in.imm, 0x12);
    assert_int_equal(in.imm_size, 1);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0xc7, 0x00, 0x34, 0x12), INSN_OK);
    assert_int_equal(in.opsize, 2);
    assert_true(in.opsize_prefix);
    assert_int_equal(in.imm, 0x1234);
    assert_int_equal(in.imm_size, 2);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x48, 0xc7, 0x45, 0x10,
                            0xff, 0xff, 0xff, 0xff), INSN_OK);
    assert_int_equal(in.opsize, 8);
    assert_int_equal(in.imm_size, 4);
    assert_int_equal(in.imm, 0xffffffffu);
    assert_int_equal(in.disp, 0x10);
    assert_int_equal(in.base_reg, INSN_RBP);

    /* movabs 0x1122334455667788,%al: moffs of the address size, zero-extended */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44,
                            0x33, 0x22, 0x11), INSN_OK);
    assert_true(in.has_mem);
    assert_false(in.has_modrm);
    assert_int_equal(in.opsize, 1);
    assert_int_equal(in.disp_size, 8);
    assert_int_equal((uint64_t)in.disp, 0x1122334455667788ull);
    /* mov 0x89abcdef,%eax in 32-bit code: not sign-extended */
    assert_int_equal(DECODE(MODE_PROT32, &in, 0xa1, 0xef, 0xcd, 0xab, 0x89), INSN_OK);
    assert_int_equal((uint64_t)in.disp, 0x89abcdefull);
    assert_int_equal(in.opsize, 4);

    /* mov -0x2(%bp,%di),%dx in 16-bit code */
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x8b, 0x53, 0xfe), INSN_OK);
    assert_int_equal(in.opsize, 2);
    assert_int_equal(in.addrsize, 2);
    assert_int_equal(in.base_reg, INSN_RBP);
    assert_int_equal(in.index_reg, INSN_RDI);
    assert_int_equal(in.disp, -2);
    assert_int_equal(insn_mem_seg(&in), INSN_SEG_SS);
    /* 66 67 in 16-bit code: 32-bit operand and address */
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x67, 0x66, 0x8b, 0x18), INSN_OK);
    assert_int_equal(in.opsize, 4);
    assert_int_equal(in.addrsize, 4);
    assert_int_equal(in.base_reg, INSN_RAX);

    /* movzbl (%rax),%eax; movsbw (%esi),%ax */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x0f, 0xb6, 0x00), INSN_OK);
    assert_int_equal(in.map, INSN_MAP_0F);
    assert_int_equal(in.opcode_bytes, 2);
    assert_int_equal(in.opcode[0], 0x0f);
    assert_int_equal(in.op, 0xb6);
    assert_int_equal(in.opsize, 4);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x66, 0x0f, 0xbe, 0x06), INSN_OK);
    assert_int_equal(in.opsize, 2);

    /* xchg %eax,(%rdi); btsl $5,(%rax); testw $0x100,(%rax) */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x87, 0x07), INSN_OK);
    assert_int_equal(in.opsize, 4);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x0f, 0xba, 0x28, 0x05), INSN_OK);
    assert_int_equal(in.reg, 5);
    assert_int_equal(in.imm, 5);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0xf7, 0x00, 0x00, 0x01), INSN_OK);
    assert_int_equal(in.len, 5);
    assert_int_equal(in.imm, 0x100);
    /* notl (%rax): group 3 /2 has no immediate */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xf7, 0x10), INSN_OK);
    assert_int_equal(in.len, 2);
    assert_int_equal(in.imm_size, 0);
}

static void test_fields_other(void **state)
{
    (void)state;
    struct insn in;

    /* rep stosq; repne scasb */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xf3, 0x48, 0xab), INSN_OK);
    assert_true(in.rep);
    assert_false(in.repne);
    assert_int_equal(in.opsize, 8);
    assert_false(in.has_mem);
    assert_int_equal(insn_addr_mask(&in), ~0ull);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xf2, 0xae), INSN_OK);
    assert_true(in.repne);
    assert_int_equal(in.opsize, 1);
    /* addr16 rep movsb in 32-bit code */
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x67, 0xf3, 0xa4), INSN_OK);
    assert_int_equal(insn_addr_mask(&in), 0xffff);

    /* HLT (vmm/irq.c steps over one it injects an interrupt at): F4 in every mode,
     * with prefixes too; not PMULUDQ (0F F4, 66 0F F4) nor VPMULUDQ (C5 F9 F4 /r). */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xf4), INSN_OK);
    assert_true(insn_is_hlt(&in));
    assert_int_equal(in.len, 1);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0xf4), INSN_OK);
    assert_true(insn_is_hlt(&in));
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x66, 0xf4), INSN_OK);
    assert_true(insn_is_hlt(&in));
    assert_int_equal(in.len, 2);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x0f, 0xf4, 0xc1), INSN_OK);
    assert_false(insn_is_hlt(&in));
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0x0f, 0xf4, 0xc1), INSN_OK);
    assert_false(insn_is_hlt(&in));
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc5, 0xf9, 0xf4, 0xc1), INSN_OK);
    assert_false(insn_is_hlt(&in));
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xfa), INSN_OK);      /* cli */
    assert_false(insn_is_hlt(&in));

    /* MOV CR/DR ignore ModRM.mod: 0F 22 05 is "mov %rbp,%cr0", 3 bytes, and not
     * a RIP-relative memory operand. */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x0f, 0x22, 0x05), INSN_OK);
    assert_int_equal(in.len, 3);
    assert_false(in.has_mem);
    assert_int_equal(in.reg, 0);
    assert_int_equal(in.rm, 5);
    assert_int_equal(in.opsize, 8);
    /* mov %rax,%cr8 (REX.R), mov %cr4,%ebx in 32-bit code */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x44, 0x0f, 0x22, 0xc0), INSN_OK);
    assert_int_equal(in.reg, 8);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x0f, 0x20, 0xe3), INSN_OK);
    assert_int_equal(in.reg, 4);
    assert_int_equal(in.rm, INSN_RBX);
    assert_int_equal(in.opsize, 4);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x66, 0x0f, 0x20, 0x84), INSN_OK);
    assert_int_equal(in.len, 4);

    /* Port I/O: out %al,$0x80; REX.W in %eax: still 32 bits; 66 ed: 16 bits */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xe6, 0x80), INSN_OK);
    assert_int_equal(in.imm, 0x80);
    assert_int_equal(in.opsize, 1);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x48, 0xe5, 0x71), INSN_OK);
    assert_int_equal(in.opsize, 4);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x66, 0xed), INSN_OK);
    assert_int_equal(in.opsize, 2);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0xf3, 0x6f), INSN_OK);
    assert_true(in.rep);
    assert_int_equal(in.opsize, 2);

    /* Branches: call rel32 (64-bit operand size), jmp rel8, 16-bit jcc rel16 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xe8, 0xfb, 0x00, 0x00, 0x00), INSN_OK);
    assert_true(in.rel);
    assert_int_equal(in.opsize, 8);
    assert_int_equal(in.imm_size, 4);
    assert_int_equal(in.imm, 0xfb);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x0f, 0x84, 0xfc, 0x0f), INSN_OK);
    assert_true(in.rel);
    assert_int_equal(in.imm_size, 2);
    /* 66 before a near branch in 64-bit mode: ignored (Intel), still rel32 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0xe9, 0, 0, 0, 0), INSN_OK);
    assert_int_equal(in.len, 6);

    /* Stack: push $imm16 with 66, pushq (%rax), pushfw, push %r12 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0x68, 0x34, 0x12), INSN_OK);
    assert_int_equal(in.opsize, 2);
    assert_int_equal(in.imm_size, 2);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x68, 0x78, 0x56, 0x34, 0x12), INSN_OK);
    assert_int_equal(in.opsize, 8);
    assert_int_equal(in.imm_size, 4);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xff, 0x30), INSN_OK);
    assert_int_equal(in.opsize, 8);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0x9c), INSN_OK);
    assert_int_equal(in.opsize, 2);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x41, 0x54), INSN_OK);
    assert_int_equal(in.opsize, 8);

    /* Two immediates: enter $0x1000,$3; ljmp $0xf000,$0xe05b; lcall in 32-bit;
     * extrq $4,$8 (SSE4a) */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc8, 0x00, 0x10, 0x03), INSN_OK);
    assert_int_equal(in.imm, 0x1000);
    assert_int_equal(in.imm2, 3);
    assert_int_equal(in.imm2_size, 1);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0xea, 0x5b, 0xe0, 0x00, 0xf0), INSN_OK);
    assert_int_equal(in.imm, 0xe05b);
    assert_int_equal(in.imm2, 0xf000);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x9a, 0x78, 0x56, 0x34, 0x12, 0x10, 0x00),
                     INSN_OK);
    assert_int_equal(in.imm, 0x12345678);
    assert_int_equal(in.imm2, 0x10);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0x0f, 0x78, 0xc0, 0x08, 0x04), INSN_OK);
    assert_int_equal(in.len, 6);
    assert_int_equal(in.imm, 8);
    assert_int_equal(in.imm2, 4);
    /* ...while 0F 78 without a prefix is VMREAD, no immediate */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x0f, 0x78, 0xc3), INSN_OK);
    assert_int_equal(in.len, 3);

    /* 3DNow!: the opcode is the trailing imm8 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x0f, 0x0f, 0x50, 0x08, 0xb4), INSN_OK);
    assert_int_equal(in.len, 5);
    assert_int_equal(in.imm, 0xb4);

    /* 0F 38 / 0F 3A maps */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0x0f, 0x38, 0x80, 0x00), INSN_OK);
    assert_int_equal(in.map, INSN_MAP_0F38);
    assert_int_equal(in.opcode_bytes, 3);
    assert_int_equal(in.op, 0x80);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0x0f, 0x3a, 0x0a, 0xc1, 0x04), INSN_OK);
    assert_int_equal(in.map, INSN_MAP_0F3A);
    assert_int_equal(in.imm, 4);
}

static void test_prefix_rules(void **state)
{
    (void)state;
    struct insn in;

    /* A REX followed by a legacy prefix is ignored (SDM Vol. 2A 2.2.1) */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x48, 0x66, 0x89, 0x07), INSN_OK);
    assert_int_equal(in.rex, 0);
    assert_int_equal(in.opsize, 2);
    /* Of two REX prefixes the last counts */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x41, 0x48, 0x89, 0x07), INSN_OK);
    assert_int_equal(in.rex, 0x48);
    assert_int_equal(in.base_reg, INSN_RDI);
    assert_int_equal(in.opsize, 8);
    /* REX.W beats 66 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8),
                     INSN_OK);
    assert_int_equal(in.len, 11);
    assert_int_equal(in.imm, 0x0807060504030201ull);
    /* 40-4F are INC/DEC outside 64-bit mode */
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x48, 0x89, 0x07), INSN_OK);
    assert_int_equal(in.len, 1);
    assert_int_equal(in.op, 0x48);

    /* ES/CS/SS/DS overrides are null in 64-bit mode; FS/GS are not */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x2e, 0x8b, 0x07), INSN_OK);
    assert_int_equal(in.seg_override, INSN_SEG_NONE);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x64, 0x3e, 0x8b, 0x07), INSN_OK);
    assert_int_equal(in.seg_override, INSN_SEG_FS);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x26, 0x8b, 0x07), INSN_OK);
    assert_int_equal(in.seg_override, INSN_SEG_ES);
    assert_int_equal(insn_mem_seg(&in), INSN_SEG_ES);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x36, 0x2e, 0x8b, 0x07), INSN_OK);
    assert_int_equal(in.seg_override, INSN_SEG_CS);
    /* Last of F2/F3 wins; LOCK recorded */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xf2, 0xf3, 0xf0, 0x0f, 0xc7, 0x0f), INSN_OK);
    assert_true(in.rep);
    assert_false(in.repne);
    assert_true(in.lock);

    /* 14 prefixes + NOP = 15 bytes: fine */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                            0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x90), INSN_OK);
    assert_int_equal(in.len, 15);
    assert_int_equal(in.num_prefixes, 14);
}

static void test_vex_evex(void **state)
{
    (void)state;
    struct insn in;

    /* vpermq $0x4e,%ymm0,%ymm1: VEX3, map 0F3A, W1, L1 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc4, 0xe3, 0xfd, 0x00, 0xc8, 0x4e), INSN_OK);
    assert_int_equal(in.vex_size, 3);
    assert_int_equal(in.map, INSN_MAP_0F3A);
    assert_int_equal(in.opcode_bytes, 3);
    assert_int_equal(in.opcode[1], 0x3a);
    assert_true(in.rex_w);
    assert_int_equal(in.vex_l, 1);
    assert_int_equal(in.imm, 0x4e);
    /* vmovdqu %ymm8,0x20(%r9): VEX2 can't say B, so VEX3 with R and B */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc4, 0x41, 0x7e, 0x7f, 0x41, 0x20), INSN_OK);
    assert_int_equal(in.reg, 8);
    assert_int_equal(in.base_reg, INSN_R9);
    assert_int_equal(in.vex_pp, 2);
    /* vaddps %ymm0,%ymm1,%ymm2: VEX2, vvvv = 1 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc5, 0xf4, 0x58, 0xd0), INSN_OK);
    assert_int_equal(in.vex_size, 2);
    assert_int_equal(in.vex_vvvv, 1);
    /* vzeroupper: no ModRM */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc5, 0xf8, 0x77), INSN_OK);
    assert_int_equal(in.len, 3);
    assert_false(in.has_modrm);

    /* 32-bit mode: C5 with a memory ModRM is LDS, with mod=11 VEX */
    assert_int_equal(DECODE(MODE_PROT32, &in, 0xc5, 0x00), INSN_OK);
    assert_int_equal(in.len, 2);
    assert_int_equal(in.vex_size, 0);
    assert_int_equal(in.op, 0xc5);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0xc5, 0xf4, 0x58, 0xd0), INSN_OK);
    assert_int_equal(in.vex_size, 2);
    /* ...also in 16-bit protected mode, but real mode has no VEX */
    assert_int_equal(DECODE(MODE_PROT16, &in, 0xc5, 0xf8, 0x77), INSN_OK);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0xc5, 0xf8, 0x77), INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0xc4, 0x07), INSN_OK);  /* les (%bx),%ax */

    /* EVEX: vmovups (%rsi),%zmm0; vpternlogd with imm8; BOUND in 32-bit code */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x06), INSN_OK);
    assert_int_equal(in.vex_size, 4);
    assert_int_equal(in.map, INSN_MAP_0F);
    assert_int_equal(in.vex_l, 2);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x62, 0xf3, 0x75, 0x20, 0x25, 0x67, 0x03,
                            0xde), INSN_OK);
    assert_int_equal(in.len, 8);
    assert_int_equal(in.imm, 0xde);
    assert_int_equal(in.disp, 3);           /* unscaled disp8 */
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x62, 0x01), INSN_OK);
    assert_int_equal(in.len, 2);
    assert_int_equal(in.vex_size, 0);
    /* EVEX map 5 (FP16): vaddph %zmm1,%zmm2,%zmm3 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x62, 0xf5, 0x6c, 0x48, 0x58, 0xd9), INSN_OK);
    assert_int_equal(in.map, INSN_MAP_5);
    assert_int_equal(in.opcode_bytes, 1);
}

static void test_effective_addr(void **state)
{
    (void)state;
    struct insn in;
    uint64_t g[16];
    for (unsigned i = 0; i < 16; i++)
        g[i] = 0x1111111111111111ull * i;

    /* 16-bit: (%bx,%si) wraps at 64K */
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x8b, 0x00), INSN_OK);
    g[INSN_RBX] = 0xffff;
    g[INSN_RSI] = 0x0002;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x0001);
    /* -2(%bp) with BP = 0 */
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x8b, 0x46, 0xfe), INSN_OK);
    g[INSN_RBP] = 0;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0xfffe);
    /* [disp16]: mod=0 rm=6, no BP */
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x8b, 0x0e, 0x34, 0x12), INSN_OK);
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x1234);
    assert_int_equal(insn_mem_seg(&in), INSN_SEG_DS);
    /* 0x1234(%bx,%si) with upper register bits set: ignored */
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x89, 0x80, 0x34, 0x12), INSN_OK);
    g[INSN_RBX] = 0xabcd0010;
    g[INSN_RSI] = 0x5;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x1249);

    /* 32-bit: 0x10(%eax) wraps at 4G; negative disp8 */
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x8b, 0x48, 0x10), INSN_OK);
    g[INSN_RAX] = 0xfffffff8;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x8);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x8b, 0x40, 0xfc), INSN_OK);
    g[INSN_RAX] = 2;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0xfffffffe);
    /* 0x12345678(%ebx,%esi,4) */
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x8b, 0x8c, 0xb3, 0x78, 0x56, 0x34, 0x12),
                     INSN_OK);
    g[INSN_RBX] = 0x1000;
    g[INSN_RSI] = 0x10;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x12345678 + 0x1000 + 0x40);
    /* addr16 in 32-bit code: 16-bit forms */
    assert_int_equal(DECODE(MODE_PROT32, &in, 0x67, 0x8b, 0x00), INSN_OK);
    g[INSN_RBX] = 0x1fff0;
    g[INSN_RSI] = 0x20;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x10);

    /* 64-bit: RIP-relative, forwards and backwards */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x48, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12),
                     INSN_OK);
    assert_true(in.rip_relative);
    assert_int_equal(insn_effective_addr(&in, g, 0x1000), 0x12346678);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff), INSN_OK);
    assert_int_equal(insn_effective_addr(&in, g, 0xffffffff80001000ull),
                     0xffffffff80000ff0ull);
    /* REX.B does not turn mod=0 rm=5 into (%r13): still RIP-relative */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x41, 0x8b, 0x05, 0x10, 0, 0, 0), INSN_OK);
    assert_true(in.rip_relative);
    assert_int_equal(insn_effective_addr(&in, g, 0x2000), 0x2010);
    /* 67 + RIP-relative: EIP-relative, truncated to 32 bits */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x67, 0x8b, 0x05, 0x10, 0, 0, 0), INSN_OK);
    assert_int_equal(insn_effective_addr(&in, g, 0x1fffffff8ull), 0x8);
    /* 67: (%edi) with high RDI bits */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x67, 0x8b, 0x07), INSN_OK);
    g[INSN_RDI] = 0x100000010ull;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x10);
    /* SIB base=101 mod=0 with REX.B: no base, disp32 (not %r13) */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x41, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34,
                            0x12), INSN_OK);
    assert_int_equal(in.base_reg, INSN_NO_REG);
    assert_int_equal(insn_effective_addr(&in, g, 0x5000), 0x12345678);
    /* (%r13): needs disp8 0; DS, not SS */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x41, 0x8b, 0x45, 0x00), INSN_OK);
    assert_int_equal(in.base_reg, INSN_R13);
    assert_int_equal(insn_mem_seg(&in), INSN_SEG_DS);
    g[INSN_R13] = 0xdead0000;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0xdead0000);
    /* (%rax,%r12,1): index 12 is a real index (only 100 without REX.X is "none") */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x4a, 0x8b, 0x04, 0x20), INSN_OK);
    assert_int_equal(in.index_reg, INSN_R12);
    g[INSN_RAX] = 0x1000;
    g[INSN_R12] = 0x234;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x1234);
    /* 0x12345678(,%rcx,4): sign-extended disp32 with a 64-bit address */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x8b, 0x04, 0x8d, 0xf0, 0xff, 0xff, 0xff),
                     INSN_OK);
    g[INSN_RCX] = 0x100;
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x400 - 0x10);
    /* moffs64 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44,
                            0x33, 0x22, 0x11), INSN_OK);
    assert_int_equal(insn_effective_addr(&in, g, 0), 0x1122334455667788ull);
    /* No memory operand: 0 */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x89, 0xc0), INSN_OK);
    assert_false(in.has_mem);
    assert_int_equal(insn_effective_addr(&in, g, 0x1234), 0);
}

static void test_errors(void **state)
{
    (void)state;
    struct insn in;
    static const uint8_t nop = 0x90;

    /* Arguments */
    assert_int_equal(insn_decode(NULL, 1, MODE_LONG64, &in), INSN_ERR_ARG);
    assert_int_equal(insn_decode(&nop, 1, MODE_LONG64, NULL), INSN_ERR_ARG);
    assert_int_equal(insn_decode(&nop, 1, (enum cpu_mode)7, &in), INSN_ERR_ARG);
    assert_int_equal(decode_exact(&nop, 0, MODE_LONG64, &in), INSN_ERR_TRUNCATED);

    /* Truncated in every part of an instruction */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66), INSN_ERR_TRUNCATED);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x48), INSN_ERR_TRUNCATED);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x0f), INSN_ERR_TRUNCATED);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x0f, 0x38), INSN_ERR_TRUNCATED);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x89), INSN_ERR_TRUNCATED);           /* ModRM */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x89, 0x04), INSN_ERR_TRUNCATED);     /* SIB */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x89, 0x80, 0x00), INSN_ERR_TRUNCATED);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc7, 0x00, 1, 2, 3), INSN_ERR_TRUNCATED);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc4, 0xe2), INSN_ERR_TRUNCATED);
    assert_int_equal(DECODE(MODE_PROT32, &in, 0xc5), INSN_ERR_TRUNCATED);  /* VEX or LDS? */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x62, 0xf1, 0x7c), INSN_ERR_TRUNCATED);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0xea, 0x5b, 0xe0, 0x00), INSN_ERR_TRUNCATED);

    /* 15 prefixes + NOP: 16 bytes */
    static const uint8_t p16[16] = { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                     0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90 };
    assert_int_equal(decode_exact(p16, 16, MODE_LONG64, &in), INSN_ERR_TOO_LONG);
    assert_int_equal(decode_exact(p16, 15, MODE_LONG64, &in), INSN_ERR_TOO_LONG);
    assert_int_equal(decode_exact(p16, 14, MODE_LONG64, &in), INSN_ERR_TRUNCATED);
    /* 10 prefixes + mov $imm32,%eax = 15: fine; 11 = 16: too long however many
     * bytes are there, even before the immediate is available */
    static const uint8_t p11[16] = { 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
                                     0x2e, 0x2e, 0x2e, 0xb8, 1, 2, 3, 4 };
    assert_int_equal(decode_exact(p11 + 1, 15, MODE_PROT32, &in), INSN_OK);
    assert_int_equal(in.len, 15);
    assert_int_equal(decode_exact(p11, 16, MODE_PROT32, &in), INSN_ERR_TOO_LONG);
    assert_int_equal(decode_exact(p11, 13, MODE_PROT32, &in), INSN_ERR_TOO_LONG);

    /* Invalid in 64-bit mode, valid elsewhere */
    static const uint8_t inv64[][2] = {
        { 0x06 }, { 0x07 }, { 0x0e }, { 0x16 }, { 0x17 }, { 0x1e }, { 0x1f }, { 0x27 },
        { 0x2f }, { 0x37 }, { 0x3f }, { 0x60 }, { 0x61 }, { 0xce }, { 0xd6 },
        { 0xd4, 0x0a }, { 0xd5, 0x0a }, { 0x82, 0xc0 },
    };
    for (size_t i = 0; i < sizeof inv64 / sizeof inv64[0]; i++) {
        uint8_t b[4] = { inv64[i][0], inv64[i][1], 0, 0 };
        assert_int_equal(insn_decode(b, sizeof b, MODE_LONG64, &in), INSN_ERR_INVALID);
        assert_int_equal(insn_decode(b, sizeof b, MODE_PROT32, &in), INSN_OK);
    }
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x9a, 1, 2, 3, 4, 5, 6), INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xea, 1, 2, 3, 4, 5, 6), INSN_ERR_INVALID);

    /* Undefined everywhere */
    static const uint8_t inv[][3] = {
        { 0x0f, 0x04 }, { 0x0f, 0x0a }, { 0x0f, 0x0c }, { 0x0f, 0x24, 0xc0 },
        { 0x0f, 0x26, 0xc0 }, { 0x0f, 0x36 }, { 0x0f, 0x39 }, { 0x0f, 0x3b },
        { 0x0f, 0x3f }, { 0x0f, 0x7a }, { 0x0f, 0x7b }, { 0x0f, 0xa6 }, { 0x0f, 0xa7 },
        { 0xfe, 0xd0 },         /* Grp4 /2 */
        { 0xff, 0xf8 },         /* Grp5 /7 */
        { 0xff, 0xd8 },         /* far call through a register */
        { 0xff, 0xe8 },         /* far jmp through a register */
        { 0x8d, 0xc0 },         /* lea of a register */
        { 0xc6, 0xc8, 0x00 },   /* Grp11 /1 */
        { 0xc7, 0x08, 0x00 },
        { 0x0f, 0xba, 0xc0 },   /* Grp8 /0 */
        { 0x0f, 0x00, 0xf0 },   /* Grp6 /6 */
        { 0x0f, 0xb2, 0xc0 },   /* lss of a register */
        { 0x8f, 0x20 },         /* Grp1A /4 (not XOP: map 0) */
    };
    for (size_t i = 0; i < sizeof inv / sizeof inv[0]; i++) {
        uint8_t b[8] = { inv[i][0], inv[i][1], inv[i][2] };
        for (int m = MODE_REAL16; m <= MODE_LONG64; m++)
            assert_int_equal(insn_decode(b, sizeof b, (enum cpu_mode)m, &in),
                             INSN_ERR_INVALID);
    }

    /* VEX: forbidden prefixes, reserved map; EVEX fixed bits, unsupported maps */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x66, 0xc5, 0xf8, 0x77), INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xf3, 0xc5, 0xf8, 0x77), INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xf0, 0xc5, 0xf8, 0x77), INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x48, 0xc5, 0xf8, 0x77), INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xc4, 0xe0, 0x7d, 0x00, 0xc0),
                     INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x62, 0xf9, 0x7c, 0x48, 0x10, 0x06),
                     INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x62, 0xf1, 0x78, 0x48, 0x10, 0x06),
                     INSN_ERR_INVALID);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x62, 0xf4, 0x7c, 0x08, 0x01, 0xc0),
                     INSN_ERR_UNSUPPORTED);
    assert_int_equal(DECODE(MODE_REAL16, &in, 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x06),
                     INSN_ERR_INVALID);
    /* AMD XOP: vpcmov; known as such from its first two bytes */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x8f, 0xe8, 0x78, 0xa2, 0xc0, 0x10),
                     INSN_ERR_UNSUPPORTED);
    assert_int_equal(DECODE(MODE_LONG64, &in, 0x8f, 0xe8), INSN_ERR_UNSUPPORTED);
    /* an undefined group slot is reported before its SIB/displacement arrive */
    assert_int_equal(DECODE(MODE_LONG64, &in, 0xfe, 0x94), INSN_ERR_INVALID);

    /* Names */
    assert_string_equal(insn_strerror(INSN_OK), "ok");
    assert_string_equal(insn_strerror(INSN_ERR_TRUNCATED), "truncated");
    assert_string_equal(insn_strerror(INSN_ERR_TOO_LONG), "longer than 15 bytes");
    assert_string_equal(insn_strerror(INSN_ERR_INVALID), "invalid opcode");
    assert_string_equal(insn_strerror(INSN_ERR_UNSUPPORTED), "unsupported encoding");
    assert_string_equal(insn_strerror(INSN_ERR_ARG), "bad argument");
    assert_string_equal(insn_strerror(42), "unknown error");
}

/* Properties over pseudo-random bytes: the length never exceeds 15 or the bytes
 * given, decoding is prefix-closed (the instruction's own bytes are enough, one
 * fewer is "truncated"), and more bytes than needed change nothing. */
static void test_random_properties(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned ok = 0;
    for (unsigned iter = 0; iter < 200000; iter++) {
        uint8_t b[INSN_MAX_LEN];
        for (unsigned i = 0; i < sizeof b; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[i] = (uint8_t)x;
        }
        enum cpu_mode mode = (enum cpu_mode)(iter & 3);
        struct insn in, in2;
        int r = insn_decode(b, sizeof b, mode, &in);
        if (r != INSN_OK)
            continue;
        ok++;
        assert_in_range(in.len, 1, INSN_MAX_LEN);
        assert_int_equal(decode_exact(b, in.len, mode, &in2), INSN_OK);
        assert_int_equal(in2.len, in.len);
        assert_int_equal(in2.op, in.op);
        assert_int_equal(in2.map, in.map);
        assert_int_equal(in2.modrm, in.modrm);
        assert_int_equal(in2.sib, in.sib);
        assert_int_equal(in2.disp, in.disp);
        assert_int_equal(in2.imm, in.imm);
        assert_int_equal(in2.imm2, in.imm2);
        assert_int_equal(in2.opsize, in.opsize);
        assert_int_equal(in2.base_reg, in.base_reg);
        assert_int_equal(in2.index_reg, in.index_reg);
        assert_int_equal(decode_exact(b, in.len - 1, mode, &in2), INSN_ERR_TRUNCATED);
        assert_true(in.num_prefixes < in.len);
        assert_true(in.disp_size == 0 || in.disp_size == 1 || in.disp_size == 2 ||
                    in.disp_size == 4 || in.disp_size == 8);
        assert_true(in.opsize == 1 || in.opsize == 2 || in.opsize == 4 || in.opsize == 8);
    }
    assert_true(ok > 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_fields_mov),
        cmocka_unit_test(test_fields_other),
        cmocka_unit_test(test_prefix_rules),
        cmocka_unit_test(test_vex_evex),
        cmocka_unit_test(test_effective_addr),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_random_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
