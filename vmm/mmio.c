/* MMIO emulation: see mmio.h and docs/architecture.md ("MMIO emulation").
 *
 * Which access is the device's is decided per access, by address, not from the
 * exit: every access the emulator makes (the ModRM operand, or the source and the
 * destination of MOVS) is translated segment -> linear -> guest-physical through
 * the guest's page tables and sent to the device that owns the GPA, or else to RAM
 * through guest_linear_rw(). So MOVS is right whichever side is MMIO (or both), a
 * REP that walks off a device's page into RAM or into another device stays right,
 * and no access kind or guest-linear address from the exit is needed (AMD's NPF
 * gives neither a linear address nor which operand faulted). */
#include "kernel/x86.h"
#include "lib/format.h"
#include "vmm/emulate/decode.h"
#include "vmm/emulate/emulate.h"
#include "vmm/gpt_walk.h"
#include "vmm/insn.h"
#include "vmm/mmio.h"
#include "vmm/vm.h"

struct mmio_ctx {
    struct vcpu *v;
    const struct vm_exit *e;
    const struct bus_range *h;      /* the device the exit's GPA belongs to */
    struct bus_range found;         /* another one an access reached */
    bool long64;                    /* 64-bit mode: only the FS and GS bases count */
    struct gpt_regs regs;           /* the guest's paging state */
    unsigned access;                /* GPT_USER at CPL 3, GPT_AC with EFLAGS.AC */
};

/* Segment offset -> linear address (SDM Vol. 3A 3.4.4: in 64-bit mode the CS, DS,
 * ES and SS bases are taken as 0). Limits are not checked. */
static uint64_t linear_of(const struct mmio_ctx *x, unsigned seg, uint64_t offset)
{
    if (x->long64 && seg != INSN_SEG_FS && seg != INSN_SEG_GS)
        return offset;
    struct segment s;
    vcpu_get_seg(x->v, (enum seg_reg)seg, &s);    /* enum insn_seg == enum seg_reg */
    uint64_t linear = s.base + offset;
    return x->long64 ? linear : (uint32_t)linear;
}

/* One access at a linear address: to the device that owns the GPA it translates
 * to (h first, else whatever bus_find says), else to RAM through guest_linear_rw(). */
static bool linear_access(struct vcpu *v, const struct gpt_regs *regs, unsigned access,
                          const struct bus_range *h, struct bus_range *found, uint64_t linear,
                          uint64_t *val, unsigned size, bool write, uint64_t rip)
{
    const struct gpt_mem mem = { .read = guest_read_gpa, .ctx = v->vm };
    struct gpt_xlat xl;
    /* A fault, or RAM (or nothing at all): guest_linear_rw() walks again and injects
     * the #PF/#GP, does the copy, or stops the VM for an address outside RAM. */
    if (gpt_walk(regs, linear, access | (write ? GPT_WRITE : 0), &mem, &xl) != GPT_OK)
        return guest_linear_rw(v, linear, val, size, write);
    if (!h || xl.gpa < h->base || xl.gpa - h->base >= h->size)
        h = bus_find(&v->vm->bus, BUS_MMIO, xl.gpa, found) ? found : NULL;
    if (!h)
        return guest_linear_rw(v, linear, val, size, write);

    /* A device access must stay in one page and in the device's range. */
    if ((linear & (PAGE_SIZE - 1)) + size > PAGE_SIZE || xl.gpa - h->base + size > h->size) {
        vm_stop(v->vm, "MMIO %s of %u bytes at gpa=%#lx straddles the device's end or a page "
                "(rip=%#lx)", write ? "write" : "read", size, xl.gpa, rip);
        return false;
    }
    /* Dispatched by address: should the range have moved since, the access goes
     * where the bus says now. */
    v->vm->stats.device_accesses++;
    switch (bus_access(&v->vm->bus, BUS_MMIO, v, xl.gpa, size, write, val)) {
    case BUS_OK:
        return v->vm->state == VM_RUNNING;
    case BUS_REFUSED:
        if (v->vm->state == VM_RUNNING)
            vm_stop(v->vm, "%s refused the %u-byte %s at gpa=%#lx (rip=%#lx)", h->name,
                    size, write ? "write" : "read", xl.gpa, rip);
        return false;
    case BUS_UNCLAIMED:
        break;
    }
    return guest_linear_rw(v, linear, val, size, write);
}

/* One access of the emulated instruction. */
static bool mmio_access(void *ctx, const struct emu_access *a, uint64_t *val)
{
    struct mmio_ctx *x = ctx;
    return linear_access(x->v, &x->regs, x->access, x->h, &x->found,
                         linear_of(x, a->seg, a->offset), val, a->size, a->write, x->e->rip);
}

bool mmio_linear_rw(struct vcpu *v, uint64_t linear, uint64_t *val, unsigned size, bool write,
                    uint64_t rip)
{
    struct gpt_regs regs;
    guest_paging_regs(v, &regs);
    struct segment ss;
    vcpu_get_seg(v, SEG_SS, &ss);
    unsigned access = (seg_attr_dpl(ss.attr) == 3 ? GPT_USER : 0) |
                      ((vcpu_get(v, REG_RFLAGS) & RFLAGS_AC) ? GPT_AC : 0);
    struct bus_range found;
    return linear_access(v, &regs, access, NULL, &found, linear, val, size, write, rip);
}

/* "0f b1 0b" for the stop message; "?" if the bytes cannot be read again. */
static void insn_bytes(const struct mmio_ctx *x, unsigned len, char *out, size_t size)
{
    uint8_t b[INSN_MAX_LEN];
    struct segment cs;
    vcpu_get_seg(x->v, SEG_CS, &cs);
    uint64_t linear = x->long64 ? x->e->rip : (uint32_t)(cs.base + x->e->rip);
    const struct gpt_mem mem = { .read = guest_read_gpa, .ctx = x->v->vm };
    unsigned got = 0;
    if (len > INSN_MAX_LEN)
        len = INSN_MAX_LEN;
    gpt_read_virt(&x->regs, linear, b, len, GPT_EXEC | (x->access & GPT_USER), &mem, &got,
                  NULL, NULL);
    out[0] = 0;
    size_t n = 0;
    for (unsigned i = 0; i < got && n < size; i++)
        n += (size_t)fmt_snprintf(out + n, size - n, i ? " %02x" : "%02x", b[i]);
    if (!got)
        fmt_snprintf(out, size, "?");
}

/* 1: done (or a fault injected); 0: the VM was stopped; -1: not an instruction
 * the emulator covers, nothing done, and the VM left running (!stop_unsupported). */
static int emulate(struct vcpu *v, const struct vm_exit *e, const struct bus_range *h,
                   bool stop_unsupported)
{
    const char *kind = e->paging.access & ACCESS_WRITE ? "write" : "read";
    struct insn in;
    if (!insn_fetch_decode(v, e->rip, &in)) {
        if (!stop_unsupported)
            return -1;
        vm_stop(v->vm, "cannot fetch or decode the instruction at rip=%#lx (MMIO %s at "
                "gpa=%#lx)", e->rip, kind, e->paging.gpa);
        return 0;
    }
    struct segment ss;
    vcpu_get_seg(v, SEG_SS, &ss);
    uint64_t rflags = vcpu_get(v, REG_RFLAGS), rsp = vcpu_get(v, REG_RSP);
    struct mmio_ctx x = {
        .v = v, .e = e, .h = h, .long64 = in.mode == MODE_LONG64,
        .access = (((ss.attr >> 5) & 3) == 3 ? GPT_USER : 0) |
                  ((rflags & RFLAGS_AC) ? GPT_AC : 0),
    };
    guest_paging_regs(v, &x.regs);

    struct emu_state st = { .rflags = rflags, .rip = e->rip };
    for (unsigned i = 0; i < GPR_COUNT; i++)
        st.gpr[i] = v->gpr[i];
    st.gpr[GPR_RSP] = rsp;             /* the backend keeps RSP, not gpr[] */
    const struct emu_ops ops = { .access = mmio_access };
    enum emu_result r = emu_execute(&in, &st, &ops, &x, MMIO_REP_BATCH);

    if (r == EMU_UNSUPPORTED && !stop_unsupported)
        return -1;
    if (r == EMU_UNSUPPORTED) {
        char bytes[3 * INSN_MAX_LEN + 1];
        insn_bytes(&x, in.len, bytes, sizeof bytes);
        vm_stop(v->vm, "MMIO %s at gpa=%#lx by an instruction not emulated: %s at rip=%#lx",
                kind, e->paging.gpa, bytes, e->rip);
        return 0;
    }
    if (v->vm->state != VM_RUNNING)
        return 0;
    /* DONE: all of it. AGAIN: some REP iterations, RIP stays to redo the rest.
     * ABORT: a fault was injected; the registers hold the iterations done. */
    for (unsigned i = 0; i < GPR_COUNT; i++)
        if (i != GPR_RSP)
            v->gpr[i] = st.gpr[i];
    if (st.gpr[GPR_RSP] != rsp)
        vcpu_set(v, REG_RSP, st.gpr[GPR_RSP]);
    if (st.rflags != rflags)
        vcpu_set(v, REG_RFLAGS, st.rflags);
    if (r == EMU_DONE)
        vcpu_set(v, REG_RIP, st.rip);
    return 1;
}

bool mmio_emulate(struct vcpu *v, const struct vm_exit *e, const struct bus_range *h)
{
    return emulate(v, e, h, true) == 1;
}

int mmio_emulate_ram(struct vcpu *v, const struct vm_exit *e)
{
    return emulate(v, e, NULL, false);
}
