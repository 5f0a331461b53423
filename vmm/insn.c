/* Instructions the core must look at itself. The bytes are fetched through the
 * guest's own page tables (vmm/gpt_walk.c) and decoded by vmm/emulate/decode.c:
 * the length of an exiting instruction where the CPU does not report it (AMD
 * without NRIP save, as QEMU's TCG), and INS/OUTS with their memory operands. */
#include "kernel/x86.h"
#include "vmm/cpuid.h"
#include "vmm/emulate/decode.h"
#include "vmm/gpt_walk.h"
#include "vmm/insn.h"
#include "vmm/mmio.h"
#include "vmm/shadow.h"
#include "vmm/vm.h"

#define STRING_IO_BATCH 4096    /* iterations per exit: a long REP stays preemptible */

bool guest_read_gpa(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
    return vm_read_gpa(ctx, gpa, buf, len);
}

void guest_paging_regs(struct vcpu *v, struct gpt_regs *r)
{
    struct vm *vm = v->vm;
    if (!vm->gpt_maxphyaddr) {      /* its CPUID does not change: ask once per VM */
        uint32_t ext[4], feat[4];
        cpuid_guest(v, CPUID_LEAF_ADDR_SIZES, 0, ext);
        cpuid_guest(v, 0x80000001u, 0, feat);
        vm->gpt_maxphyaddr = cpuid_maxphyaddr(ext[0]);
        vm->gpt_flags = (feat[3] & CPUID_80000001_EDX_PAGE1GB) ? 0 : GPT_F_NO_1G_PAGES;
    }
    *r = (struct gpt_regs){
        .cr0 = vcpu_get(v, REG_CR0), .cr3 = vcpu_get(v, REG_CR3),
        .cr4 = vcpu_get(v, REG_CR4), .efer = vcpu_get(v, REG_EFER),
        .maxphyaddr = vm->gpt_maxphyaddr, .flags = vm->gpt_flags,
    };
}

static unsigned cpl(struct vcpu *v)
{
    struct segment ss;
    vcpu_get_seg(v, SEG_SS, &ss);
    return seg_attr_dpl(ss.attr);
}

/* The decoder's mode from CR0.PE, RFLAGS.VM, EFER.LMA and CS.L/D (SDM Vol. 3A 2.2). */
static enum cpu_mode guest_mode(struct vcpu *v, struct segment *cs)
{
    vcpu_get_seg(v, SEG_CS, cs);
    if (!(vcpu_get(v, REG_CR0) & CR0_PE) || (vcpu_get(v, REG_RFLAGS) & RFLAGS_VM))
        return MODE_REAL16;
    if ((vcpu_get(v, REG_EFER) & EFER_LMA) && (cs->attr & SEG_ATTR_L))
        return MODE_LONG64;
    return (cs->attr & SEG_ATTR_DB) ? MODE_PROT32 : MODE_PROT16;
}

/* Translate and copy, one page at a time. access: GPT_* flags. */
static enum gpt_result linear_copy(struct vcpu *v, uint64_t linear, void *buf, unsigned len,
                                   unsigned access, uint64_t *fault_addr, uint32_t *pf_error)
{
    struct gpt_regs r;
    guest_paging_regs(v, &r);
    if (cpl(v) == 3)
        access |= GPT_USER;
    const struct gpt_mem mem = { .read = guest_read_gpa, .ctx = v->vm };
    uint8_t *p = buf;
    while (len) {
        struct gpt_xlat x;
        unsigned chunk = (unsigned)(PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
        if (chunk > len)
            chunk = len;
        enum gpt_result res = gpt_walk(&r, linear, access, &mem, &x);
        if (res != GPT_OK) {
            *pf_error = x.pf_error;
            *fault_addr = res == GPT_BAD_GPA ? x.fault_gpa : linear;
            return res;
        }
        uint64_t gpa = x.gpa;
        void *h = vm_gpa_to_hva(v->vm, gpa, chunk);
        if (!h) {
            *fault_addr = gpa;
            return GPT_BAD_GPA;
        }
        if (access & GPT_WRITE) {
            __builtin_memcpy(h, p, chunk);
            if (v->vm->shadow)      /* a guest page table, maybe: keep shadows coherent */
                shadow_gpa_written(v->vm, gpa, chunk);
        } else
            __builtin_memcpy(p, h, chunk);
        p += chunk;
        linear += chunk;
        len -= chunk;
    }
    return GPT_OK;
}

bool guest_linear_rw(struct vcpu *v, uint64_t linear, void *buf, unsigned len, bool write)
{
    uint64_t where;
    uint32_t pf_error;
    enum gpt_result res = linear_copy(v, linear, buf, len, write ? GPT_WRITE : 0, &where, &pf_error);
    if (res == GPT_PAGE_FAULT) {
        vcpu_set(v, REG_CR2, where);
        vcpu_inject_exception(v, EXC_PF, pf_error);
        return false;
    }
    if (res == GPT_NON_CANONICAL) {
        vcpu_inject_exception(v, EXC_GP, 0);
        return false;
    }
    if (res != GPT_OK) {
        vm_stop(v->vm, "%s at linear %#lx reaches gpa %#lx outside its memory",
                write ? "write" : "read", linear, where);
        return false;
    }
    return true;
}

bool guest_linear_rw_quiet(struct vcpu *v, uint64_t linear, void *buf, unsigned len)
{
    uint64_t where;
    uint32_t pf_error;
    return linear_copy(v, linear, buf, len, 0, &where, &pf_error) == GPT_OK;
}

bool insn_fetch_decode(struct vcpu *v, uint64_t rip, struct insn *in)
{
    struct segment cs;
    enum cpu_mode mode = guest_mode(v, &cs);
    uint64_t linear = mode == MODE_LONG64 ? rip : (uint32_t)(cs.base + rip);
    uint8_t bytes[INSN_MAX_LEN];
    uint64_t where;
    uint32_t pf_error;
    /* The instruction may end before a page that is not mapped: fetch what the first
     * page holds, and the rest only if the decoder asks for it. */
    unsigned first = (unsigned)(PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
    if (first > INSN_MAX_LEN)
        first = INSN_MAX_LEN;
    if (linear_copy(v, linear, bytes, first, GPT_EXEC, &where, &pf_error) != GPT_OK)
        return false;
    int err = insn_decode(bytes, first, mode, in);
    if (err == INSN_ERR_TRUNCATED && first < INSN_MAX_LEN) {
        if (linear_copy(v, linear + first, bytes + first, INSN_MAX_LEN - first, GPT_EXEC,
                        &where, &pf_error) != GPT_OK)
            return false;
        err = insn_decode(bytes, INSN_MAX_LEN, mode, in);
    }
    return err == INSN_OK;
}

/* The effective address of in's memory operand: RSP lives in the VMCB/VMCS, not
 * in v->gpr, so the address is computed on a copy with the real RSP. */
static uint64_t memory_operand_ea(struct vcpu *v, const struct insn *in, uint64_t rip)
{
    uint64_t gpr[GPR_COUNT];
    __builtin_memcpy(gpr, v->gpr, sizeof gpr);
    gpr[GPR_RSP] = vcpu_get(v, REG_RSP);
    return insn_effective_addr(in, gpr, rip + in->len);
}

/* CLTS (0F 06), LMSW (0F 01 /6) and MOV to CR (0F 22 /r): SDM Vol. 2 and, for
 * LMSW, "only PE, MP, EM and TS are loaded, and PE cannot be cleared". */
#define OP_CLTS 0x06
#define OP_GROUP7 0x01
#define GROUP7_LMSW 6
#define LMSW_BITS (CR0_PE | CR0_MP | CR0_EM | CR0_TS)

bool insn_cr_write_value(struct vcpu *v, uint64_t rip, unsigned cr, uint64_t *val, unsigned *len)
{
    struct insn in;
    if (!insn_fetch_decode(v, rip, &in) || in.map != INSN_MAP_0F) {
        vm_stop(v->vm, "cannot decode the CR%u write at rip=%#lx", cr, rip);
        return false;
    }
    *len = in.len;
    uint64_t old = vcpu_get(v, REG_CR0);
    if (in.op == OP_MOV_TO_CR) {
        *val = in.rm == GPR_RSP ? vcpu_get(v, REG_RSP) : v->gpr[in.rm];
        return true;
    }
    if (in.op == OP_CLTS && cr == 0) {
        *val = old & ~(uint64_t)CR0_TS;
        return true;
    }
    if (in.op == OP_GROUP7 && (in.reg & 7) == GROUP7_LMSW && cr == 0) {
        uint16_t src;
        if (in.mod == 3) {
            src = (uint16_t)v->gpr[in.rm];
        } else {
            struct segment seg;
            enum seg_reg s = (enum seg_reg)insn_mem_seg(&in);
            vcpu_get_seg(v, s, &seg);
            uint64_t ea = memory_operand_ea(v, &in, rip);
            if (!guest_linear_rw(v, seg.base + ea, &src, sizeof src, false))
                return false;
        }
        *val = (old & ~(uint64_t)(LMSW_BITS & ~CR0_PE)) | (src & LMSW_BITS);
        return true;
    }
    vm_stop(v->vm, "unexpected instruction for a CR%u write at rip=%#lx", cr, rip);
    return false;
}

#define GROUP7_LGDT 2
#define GROUP7_LIDT 3
#define DTR_OPERAND 6                    /* 16-bit limit, 32-bit base */
#define DTR_BASE_24 0x00FFFFFFu

bool insn_load_dtr(struct vcpu *v, const struct insn *in, uint64_t rip, bool *done)
{
    *done = false;
    unsigned g = in->reg & 7;
    if (in->map != INSN_MAP_0F || in->op != OP_GROUP7 || in->mod == 3 ||
        (g != GROUP7_LGDT && g != GROUP7_LIDT))
        return false;
    *done = true;
    struct segment seg;
    vcpu_get_seg(v, (enum seg_reg)insn_mem_seg(in), &seg);
    uint8_t b[DTR_OPERAND];
    if (!guest_linear_rw(v, seg.base + memory_operand_ea(v, in, rip), b, sizeof b, false))
        return false;
    uint32_t base = (uint32_t)b[2] | (uint32_t)b[3] << 8 | (uint32_t)b[4] << 16 |
                    (uint32_t)b[5] << 24;
    bool op32 = in->mode != MODE_REAL16 && in->mode != MODE_PROT16 ?
                !in->opsize_prefix : in->opsize_prefix;
    struct segment t = { .limit = (uint32_t)b[0] | (uint32_t)b[1] << 8,
                         .base = op32 ? base : base & DTR_BASE_24 };
    vcpu_set_seg(v, g == GROUP7_LGDT ? SEG_GDTR : SEG_IDTR, &t);
    vcpu_set(v, REG_RIP, rip + in->len);
    return true;
}

#define GROUP7_INVLPG 7

#define GROUP7_SMSW 4

/* MOV from CRn (0F 20 /r) and, for CR0, SMSW (0F 01 /4: the low 16 bits to
 * memory, or CR0 to a register; SDM Vol. 2B SMSW). */
bool insn_cr_read(struct vcpu *v, uint64_t rip, unsigned cr, uint64_t val, unsigned *len)
{
    struct insn in;
    if (!insn_fetch_decode(v, rip, &in) || in.map != INSN_MAP_0F) {
        vm_stop(v->vm, "cannot decode the CR%u read at rip=%#lx", cr, rip);
        return false;
    }
    *len = in.len;
    if (in.op == OP_MOV_FROM_CR || (in.op == OP_GROUP7 && (in.reg & 7) == GROUP7_SMSW &&
                                    cr == 0 && in.mod == 3)) {
        if (in.op == OP_GROUP7 && in.opsize == 2)
            val = (v->gpr[in.rm] & ~0xFFFFull) | (val & 0xFFFF);
        if (in.rm == GPR_RSP)
            vcpu_set(v, REG_RSP, val);
        else
            v->gpr[in.rm] = val;
        return true;
    }
    if (in.op == OP_GROUP7 && (in.reg & 7) == GROUP7_SMSW && cr == 0) {
        struct segment seg;
        enum seg_reg s = (enum seg_reg)insn_mem_seg(&in);
        vcpu_get_seg(v, s, &seg);
        uint64_t ea = memory_operand_ea(v, &in, rip);
        bool long_mode = vcpu_get(v, REG_EFER) & EFER_LMA;
        uint64_t base = long_mode && s != SEG_FS && s != SEG_GS ? 0 : seg.base;
        uint16_t msw = (uint16_t)val;
        return guest_linear_rw(v, long_mode ? base + ea : (uint32_t)(base + ea), &msw,
                               sizeof msw, true);
    }
    vm_stop(v->vm, "unexpected instruction for a CR%u read at rip=%#lx", cr, rip);
    return false;
}

#define OP_MOV_FROM_DR 0x21
#define OP_MOV_TO_DR   0x23
bool insn_dr_gpr(struct vcpu *v, uint64_t rip, unsigned *gpr, unsigned *len)
{
    struct insn in;
    if (!insn_fetch_decode(v, rip, &in) || in.map != INSN_MAP_0F ||
        (in.op != OP_MOV_FROM_DR && in.op != OP_MOV_TO_DR)) {
        vm_stop(v->vm, "cannot decode the MOV DR at rip=%#lx", rip);
        return false;
    }
    *gpr = in.rm;
    *len = in.len;
    return true;
}

bool insn_invlpg_addr(struct vcpu *v, uint64_t rip, uint64_t *linear)
{
    struct insn in;
    if (!insn_fetch_decode(v, rip, &in) || in.map != INSN_MAP_0F || in.op != OP_GROUP7 ||
        (in.reg & 7) != GROUP7_INVLPG || in.mod == 3)
        return false;
    struct segment seg;
    enum seg_reg s = (enum seg_reg)insn_mem_seg(&in);
    vcpu_get_seg(v, s, &seg);
    uint64_t ea = memory_operand_ea(v, &in, rip);
    bool long_mode = vcpu_get(v, REG_EFER) & EFER_LMA;
    /* In 64-bit mode only the FS and GS bases apply (SDM Vol. 3A 3.4.4). */
    uint64_t base = long_mode && s != SEG_FS && s != SEG_GS ? 0 : seg.base;
    *linear = long_mode ? base + ea : (uint32_t)(base + ea);
    return true;
}

unsigned insn_length(struct vcpu *v, uint64_t rip)
{
    struct insn in;
    return insn_fetch_decode(v, rip, &in) ? in.len : 0;
}

unsigned insn_hlt_length(struct vcpu *v, uint64_t rip)
{
    struct insn in;
    if (cpl(v) != 0 || !insn_fetch_decode(v, rip, &in))
        return 0;                       /* HLT at CPL > 0 faults (#GP) instead */
    return insn_is_hlt(&in) ? in.len : 0;
}

/* INS/OUTS (SDM Vol. 2B): ES:rDI is the destination of INS, seg:rSI (DS unless
 * overridden) the source of OUTS; rSI/rDI step by the size, backwards with
 * RFLAGS.DF; REP counts rCX down, all under the address-size mask. */
void insn_string_io(struct vcpu *v, const struct vm_exit *e)
{
    struct insn in;
    if (!insn_fetch_decode(v, e->rip, &in)) {
        vm_stop(v->vm, "cannot decode the string I/O instruction at rip=%#lx", e->rip);
        return;
    }
    uint64_t mask = insn_addr_mask(&in);
    unsigned size = e->io.size;
    unsigned ptr = e->io.in ? GPR_RDI : GPR_RSI;
    struct segment seg;
    enum seg_reg s = e->io.in ? SEG_ES : (enum seg_reg)insn_mem_seg(&in);
    vcpu_get_seg(v, s, &seg);
    bool long_mode = vcpu_get(v, REG_EFER) & EFER_LMA;
    /* In 64-bit mode only the FS and GS bases apply (SDM Vol. 3A 3.4.4). */
    uint64_t base = long_mode && s != SEG_FS && s != SEG_GS ? 0 : seg.base;
    int64_t step = (vcpu_get(v, REG_RFLAGS) & RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
    uint64_t count = e->io.rep ? v->gpr[GPR_RCX] & mask : 1;

    for (unsigned n = 0; count && n < STRING_IO_BATCH; n++) {
        uint64_t off = v->gpr[ptr] & mask;
        uint64_t linear = base + off;
        if (!long_mode)
            linear = (uint32_t)linear;
        /* The memory side goes where the CPU's would: RAM, or a device's MMIO
         * range (the local APIC page as OUTS' source, an IOAPIC register as INS'
         * destination), by guest-physical address like any MMIO access. */
        uint32_t val = 0;
        uint64_t mem = 0;
        if (e->io.in) {
            if (!io_port_access(v, e->io.port, size, true, &val))
                return;
            mem = val;
            if (!mmio_linear_rw(v, linear, &mem, size, true, e->rip))
                return;
        } else {
            if (!mmio_linear_rw(v, linear, &mem, size, false, e->rip))
                return;
            val = (uint32_t)mem;
            if (!io_port_access(v, e->io.port, size, false, &val))
                return;
        }
        v->gpr[ptr] = (v->gpr[ptr] & ~mask) | ((v->gpr[ptr] + step) & mask);
        count--;
        if (e->io.rep)
            v->gpr[GPR_RCX] = (v->gpr[GPR_RCX] & ~mask) | (count & mask);
        if (v->vm->state != VM_RUNNING)
            return;
    }
    if (!count)       /* done: next instruction; else the REP resumes on re-entry */
        vcpu_set(v, REG_RIP, e->rip + in.len);
}
