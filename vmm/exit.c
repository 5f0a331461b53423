/* The exit dispatcher: one handler per kind of the common exit record. Handlers
 * give the guest what the hardware would (a fault for a bad MSR or CR value), or
 * stop this VM alone with a logged reason. */
#include "kernel/console.h"
#include "kernel/timer.h"
#include "kernel/x86.h"
#include "vmm/cpuid.h"
#include "vmm/exit.h"
#include "vmm/insn.h"
#include "vmm/irq.h"
#include "vmm/mmio.h"
#include "vmm/msr.h"
#include "vmm/policy/xsetbv.h"
#include "vmm/shadow.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

static const char *const kind_names[EXIT_KIND_COUNT] = {
    [EXIT_IO] = "io", [EXIT_PAGING] = "paging", [EXIT_CPUID] = "cpuid",
    [EXIT_MSR_READ] = "rdmsr", [EXIT_MSR_WRITE] = "wrmsr", [EXIT_CR_ACCESS] = "cr",
    [EXIT_XSETBV] = "xsetbv", [EXIT_INVLPG] = "invlpg", [EXIT_INVPCID] = "invpcid", [EXIT_EXCEPTION] = "exception",
    [EXIT_HLT] = "hlt", [EXIT_HYPERCALL] = "hypercall", [EXIT_INIT] = "init",
    [EXIT_SIPI] = "sipi", [EXIT_SHUTDOWN] = "shutdown", [EXIT_INVALID_STATE] = "invalid",
    [EXIT_EXTINT] = "extint", [EXIT_PREEMPT] = "preempt", [EXIT_INTR_WINDOW] = "intwin",
    [EXIT_UD] = "ud", [EXIT_DR_ACCESS] = "dr", [EXIT_INVD] = "invd", [EXIT_WBINVD] = "wbinvd", [EXIT_UNKNOWN] = "unknown",
};

const char *exit_kind_name(enum exit_kind k)
{
    return k < EXIT_KIND_COUNT ? kind_names[k] : "?";
}

/* Move RIP past the instruction at rip, len bytes long (0: unknown, decode it). */
static bool skip_len(struct vcpu *v, uint64_t rip, unsigned len)
{
    if (!len)
        len = insn_length(v, rip);
    if (!len) {
        vm_stop(v->vm, "cannot decode the instruction at rip=%#lx", rip);
        return false;
    }
    vmm->set_reg(v, REG_RIP, rip + len);   /* never the shadow MMU's (shadow_owns_reg) */
    return true;
}

/* Move RIP past the exiting instruction. */
static bool skip(struct vcpu *v, const struct vm_exit *e)
{
    return skip_len(v, e->rip, e->insn_len);
}

static unsigned guest_cpl(struct vcpu *v)
{
    struct segment ss;
    vcpu_get_seg(v, SEG_SS, &ss);
    return seg_attr_dpl(ss.attr);
}

static void handle_io(struct vcpu *v, const struct vm_exit *e)
{
    struct vm *vm = v->vm;
    if (e->io.string) {
        insn_string_io(v, e);
        return;
    }
    uint32_t mask = (uint32_t)access_size_mask(e->io.size);
    uint32_t val = e->io.in ? 0 : (uint32_t)v->gpr[GPR_RAX] & mask;
    if (!io_port_access(v, e->io.port, e->io.size, e->io.in, &val))
        return;
    if (e->io.in)   /* IN to AL/AX leaves the upper bits; to EAX zero-extends */
        v->gpr[GPR_RAX] = e->io.size == 4 ? val : (v->gpr[GPR_RAX] & ~(uint64_t)mask) | (val & mask);
    if (vm->state == VM_RUNNING)
        skip(v, e);
}

/* One port access by the guest: a device, or an unclaimed port (reads all ones,
 * writes dropped, both counted). False if the VM was stopped. */
bool io_port_access(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *val)
{
    struct vm *vm = v->vm;
    uint64_t v64 = *val;
    vm->stats.device_accesses++;
    switch (bus_access(&vm->bus, BUS_PIO, v, port, size, !in, &v64)) {
    case BUS_OK:
        *val = (uint32_t)v64;
        return true;
    case BUS_REFUSED:                  /* the device stopped the VM */
        return false;
    case BUS_UNCLAIMED:
        break;
    }
    if (in) {
        *val = (uint32_t)access_size_mask(size);
        vm->stats.io_unclaimed_reads++;
    } else {
        vm->stats.io_unclaimed_writes++;
    }
    return true;
}

static void handle_cpuid(struct vcpu *v, const struct vm_exit *e)
{
    uint32_t r[4];
    cpuid_guest(v, (uint32_t)v->gpr[GPR_RAX], (uint32_t)v->gpr[GPR_RCX], r);
    v->gpr[GPR_RAX] = r[0];
    v->gpr[GPR_RBX] = r[1];
    v->gpr[GPR_RCX] = r[2];
    v->gpr[GPR_RDX] = r[3];
    skip(v, e);
}

static void handle_msr(struct vcpu *v, const struct vm_exit *e)
{
    uint32_t index = (uint32_t)v->gpr[GPR_RCX];
    if (e->kind == EXIT_MSR_READ) {
        uint64_t val;
        if (!msr_guest_read(v, index, &val)) {
            vcpu_inject_exception(v, EXC_GP, 0);
            return;
        }
        v->gpr[GPR_RAX] = (uint32_t)val;
        v->gpr[GPR_RDX] = val >> 32;
    } else {
        uint64_t val = (v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];
        if (!msr_guest_write(v, index, val)) {
            vcpu_inject_exception(v, EXC_GP, 0);
            return;
        }
    }
    skip(v, e);
}

/* CR4 bits a guest may set: those whose feature the guest's CPUID shows
 * (SDM Vol. 3A 2.5; a reserved bit set raises #GP). VMXE is never offered. */
static uint64_t cr4_allowed(struct vcpu *v)
{
    uint32_t l1[4], l7[4];
    cpuid_guest(v, 1, 0, l1);
    cpuid_guest(v, 7, 0, l7);
    uint64_t ok = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE |
                  CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (l1[2] & CPUID_1_ECX_XSAVE) ok |= CR4_OSXSAVE;
    if (l1[2] & CPUID_1_ECX_PCID) ok |= CR4_PCIDE;
    if (l7[1] & (1u << 0)) ok |= CR4_FSGSBASE;
    if (l7[1] & (1u << 7)) ok |= CR4_SMEP;
    if (l7[1] & (1u << 20)) ok |= CR4_SMAP;
    if (l7[2] & (1u << 2)) ok |= CR4_UMIP;
    if (l7[2] & (1u << 3)) ok |= CR4_PKE;
    return ok;
}

/* A guest write of CR0/CR3/CR4 that the backend intercepted: check it as the CPU
 * would (SDM Vol. 3A 2.5, MOV—Move to/from Control Registers), then apply it. */
static bool cr_write(struct vcpu *v, unsigned cr, uint64_t val)
{
    uint64_t efer = vcpu_get(v, REG_EFER);
    switch (cr) {
    case 0:
        if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
            ((val & CR0_NW) && !(val & CR0_CD)))
            return false;
        if ((val & CR0_PG) && (efer & EFER_LME) && !(vcpu_get(v, REG_CR4) & CR4_PAE))
            return false;
        vcpu_set(v, REG_CR0, val | CR0_ET);
        return true;
    case 3:
        /* With CR4.PCIDE, bit 63 asks to keep the PCID's cached translations and
         * is not written to CR3 (SDM Vol. 3A 4.10.4.1); shadow paging (the only
         * case that intercepts the write) may flush more than asked. */
        if (vcpu_get(v, REG_CR4) & CR4_PCIDE)
            val &= ~CR3_PCID_NOFLUSH;
        vcpu_set(v, REG_CR3, val);
        return true;
    case 4:
        if (val & ~cr4_allowed(v))
            return false;
        if ((efer & EFER_LMA) && !(val & CR4_PAE))
            return false;
        vcpu_set(v, REG_CR4, val);
        return true;
    case 8:                    /* intercepted only while the TPR holds an interrupt */
        return irq_write_cr8(v, val);
    }
    return false;
}

static void handle_cr(struct vcpu *v, const struct vm_exit *e)
{
    static const enum vcpu_reg regs[5] = { REG_CR0, 0, REG_CR2, REG_CR3, REG_CR4 };
    unsigned cr = e->cr.cr;
    if ((cr > 4 && cr != 8) || cr == 1 || (cr == 8 && !e->cr.write)) {
        vcpu_inject_exception(v, EXC_UD, -1);
        return;
    }
    if (e->cr.write) {
        uint64_t val;
        unsigned len = e->insn_len;
        if (e->cr.gpr == CR_GPR_DECODE) {
            if (!insn_cr_write_value(v, e->rip, cr, &val, &len))
                return;
        } else {
            val = e->cr.gpr == GPR_RSP ? vcpu_get(v, REG_RSP) : v->gpr[e->cr.gpr];
        }
        if (!(vcpu_get(v, REG_EFER) & EFER_LMA))
            val = (uint32_t)val;
        if (!cr_write(v, cr, val)) {
            vcpu_inject_exception(v, EXC_GP, 0);
            return;
        }
        skip_len(v, e->rip, len);
        return;
    } else {
        uint64_t val = vcpu_get(v, regs[cr]);
        unsigned len = e->insn_len;
        if (!(vcpu_get(v, REG_EFER) & EFER_LMA))
            val = (uint32_t)val;
        if (e->cr.gpr == CR_GPR_DECODE) {       /* SVM without decode assists */
            if (!insn_cr_read(v, e->rip, cr, val, &len))
                return;
        } else if (e->cr.gpr == GPR_RSP) {
            vcpu_set(v, REG_RSP, val);
        } else {
            v->gpr[e->cr.gpr] = val;
        }
        skip_len(v, e->rip, len);
        return;
    }
}

/* XSETBV (SDM Vol. 2D XSETBV): #UD without CR4.OSXSAVE; #GP for CPL > 0, ECX != 0,
 * XCR0.x87 clear, AVX without SSE, or bits the processor does not support. */
static void handle_xsetbv(struct vcpu *v, const struct vm_exit *e)
{
    uint64_t val = (v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];
    uint32_t r[4];
    cpuid_guest(v, CPUID_LEAF_XSAVE, 0, r);
    uint64_t supported = ((uint64_t)r[3] << 32) | r[0];
    /* The guest's XCR0 is loaded in host ring 0 at entry (vmm/fpu.c): only a
     * value the CPU accepts may get there (vmm/policy/xsetbv.h). */
    switch (xsetbv_check(vcpu_get(v, REG_CR4) & CR4_OSXSAVE, guest_cpl(v),
                         (uint32_t)v->gpr[GPR_RCX], val, supported)) {
    case XSETBV_UD:
        vcpu_inject_exception(v, EXC_UD, -1);
        return;
    case XSETBV_GP:
        vcpu_inject_exception(v, EXC_GP, 0);
        return;
    case XSETBV_OK:
        break;
    }
    v->xcr0 = val;
    skip(v, e);
}

/* HLT: the vCPU sleeps until an interrupt (vmm/irq.c), which then returns to
 * the instruction after it; or the VM stops if nothing can ever wake it. */
static void handle_hlt(struct vcpu *v, const struct vm_exit *e)
{
    if (skip(v, e))
        irq_hlt(v, e->rip);
}

static void handle_paging(struct vcpu *v, const struct vm_exit *e)
{
    const char *kind = e->paging.access & ACCESS_WRITE ? "write"
                     : e->paging.access & ACCESS_EXEC ? "execute" : "read";
    /* A data access to a device's range: emulate the instruction (vmm/mmio.c).
     * Executing from a device is not offered: it stops the VM below. */
    struct bus_range h;
    if (!(e->paging.access & ACCESS_EXEC) && bus_find(&v->vm->bus, BUS_MMIO, e->paging.gpa, &h)) {
        mmio_emulate(v, e, &h);
        return;
    }
    if (!vm_gpa_to_hva(v->vm, e->paging.gpa, 1)) {
        vm_stop(v->vm, "%s outside its memory at gpa=%#lx rip=%#lx", kind, e->paging.gpa, e->rip);
        return;
    }
    vm_stop(v->vm, "unexpected nested paging fault (%s) at gpa=%#lx rip=%#lx", kind,
            e->paging.gpa, e->rip);
}

/* INVLPG: nothing to do under nested paging (the guest's TLB is the CPU's);
 * under shadow paging drop the page's shadow entry. */
static void handle_invlpg(struct vcpu *v, const struct vm_exit *e)
{
    if (v->vm->shadow) {
        uint64_t gva = e->invlpg.gva;
        bool known = e->invlpg.valid || insn_invlpg_addr(v, e->rip, &gva);
        shadow_invlpg(v, gva, !known);
    }
    skip(v, e);
}

/* INVPCID under shadow paging, with the checks of SDM Vol. 2A INVPCID: a type of
 * 0-3, descriptor bits 63:12 clear, PCID 0 for types 0 and 1 while the guest's
 * CR4.PCIDE is clear, a canonical address for type 0: #GP(0) otherwise. Type 0
 * is an INVLPG of that address, the others flush the vCPU's TLB. */
#define INVPCID_ADDRESS 0
#define INVPCID_SINGLE_CONTEXT 1
#define INVPCID_LAST_TYPE 3
#define INVPCID_PCID_MASK 0xFFFull
static bool canonical(uint64_t va) { return (uint64_t)((int64_t)(va << 16) >> 16) == va; }

static void handle_invpcid(struct vcpu *v, const struct vm_exit *e)
{
    uint64_t desc[2], type = e->invpcid.type;
    if (!guest_linear_rw(v, e->invpcid.desc, desc, sizeof desc, false))
        return;                    /* #PF injected, or the VM stopped */
    bool one = type == INVPCID_ADDRESS;
    if (type > INVPCID_LAST_TYPE || (desc[0] & ~INVPCID_PCID_MASK) ||
        (type <= INVPCID_SINGLE_CONTEXT && (desc[0] & INVPCID_PCID_MASK) &&
         !(vcpu_get(v, REG_CR4) & CR4_PCIDE)) ||
        (one && !canonical(desc[1]))) {
        vcpu_inject_exception(v, EXC_GP, 0);
        return;
    }
    /* The write-protected guest tables keep the shadow entries exact (docs/shadow.md):
     * dropping the address's entry is what INVLPG does; the rest is the TLB. */
    if (v->vm->shadow && one)
        shadow_invlpg(v, desc[1], false);
    else if (v->vm->shadow)
        vmm->flush_tlb(v);
    skip(v, e);
}

/* MOV to/from DRn while the vCPU's debug registers are intercepted (SDM Vol. 2B
 * "MOV—Move to/from Debug Registers", Vol. 3A 18.2; APM Vol. 3 "MOV DRn"): #GP(0)
 * at CPL > 0; #UD for DR8-15, and for DR4/DR5 with CR4.DE set (with it clear
 * they alias DR6/DR7); #DB with DR6.BD while DR7.GD is set (GD is cleared, as
 * the CPU does on entering the handler); #GP(0) for a write of bits 63:32 of DR6
 * or DR7. Outside 64-bit mode the operand is 32 bits. Then the guest gets its
 * debug registers for itself (dr_passthrough): KVM does the same. */
#define DR6_WRITABLE (DR6_B0_B3 | DR6_BD | DR6_BS | (1ull << 15))
#define DR7_WRITABLE 0xFFFF23FFull         /* bits 11, 12, 14, 15 read as 0 */

static void handle_dr(struct vcpu *v, const struct vm_exit *e)
{
    unsigned dr = e->dr.dr, gpr = e->dr.gpr, len = e->insn_len;
    if (gpr == CR_GPR_DECODE && !insn_dr_gpr(v, e->rip, &gpr, &len))
        return;                              /* the VM was stopped */
    if (guest_cpl(v) != 0) {
        vcpu_inject_exception(v, EXC_GP, 0);
        return;
    }
    if (dr > 7 || ((dr == 4 || dr == 5) && (vcpu_get(v, REG_CR4) & CR4_DE))) {
        vcpu_inject_exception(v, EXC_UD, -1);
        return;
    }
    if (dr == 4 || dr == 5)
        dr += 2;
    uint64_t dr7 = vcpu_get(v, REG_DR7);
    if (dr7 & DR7_GD) {
        vcpu_set(v, REG_DR6, (vcpu_get(v, REG_DR6) & ~DR6_B0_B3) | DR6_BD);
        vcpu_set(v, REG_DR7, dr7 & ~DR7_GD);
        vcpu_inject_exception(v, EXC_DB, -1);
        return;
    }
    struct segment cs;
    vcpu_get_seg(v, SEG_CS, &cs);
    bool op64 = (vcpu_get(v, REG_EFER) & EFER_LMA) && (cs.attr & SEG_ATTR_L);
    if (e->dr.write) {
        uint64_t val = gpr == GPR_RSP ? vcpu_get(v, REG_RSP) : v->gpr[gpr];
        if (!op64)
            val = (uint32_t)val;
        if (dr >= 6 && (val >> 32)) {
            vcpu_inject_exception(v, EXC_GP, 0);
            return;
        }
        if (dr < 4)
            v->dr[dr] = val;
        else if (dr == 6)
            vcpu_set(v, REG_DR6, (val & DR6_WRITABLE) | DR6_FIXED_1);
        else
            vcpu_set(v, REG_DR7, (val & DR7_WRITABLE) | DR7_FIXED_1);
    } else {
        uint64_t val = dr < 4 ? v->dr[dr] : vcpu_get(v, dr == 6 ? REG_DR6 : REG_DR7);
        if (!op64)
            val = (uint32_t)val;
        if (gpr == GPR_RSP)
            vcpu_set(v, REG_RSP, val);
        else
            v->gpr[gpr] = val;
    }
    if (!skip_len(v, e->rip, len))
        return;
    if (!v->dr_live)
        vmm->dr_passthrough(v);
}

/* Where the guest's handler for vector starts, from its IDT (SDM Vol. 3A 6.11,
 * 6.14.1): false in real mode or if the gate cannot be read. */
static bool handler_entry(struct vcpu *v, uint8_t vector, uint64_t *entry)
{
    if (!(vcpu_get(v, REG_CR0) & CR0_PE))
        return false;
    bool lm = vcpu_get(v, REG_EFER) & EFER_LMA;
    struct segment idtr;
    vcpu_get_seg(v, SEG_IDTR, &idtr);
    unsigned size = lm ? 16 : 8;
    uint8_t g[16];
    if ((uint64_t)vector * size + size - 1 > idtr.limit ||
        !guest_linear_rw_quiet(v, idtr.base + (uint64_t)vector * size, g, size))
        return false;
    uint64_t off = (uint64_t)g[0] | (uint64_t)g[1] << 8 | (uint64_t)g[6] << 16 | (uint64_t)g[7] << 24;
    if (lm)
        off |= (uint64_t)g[8] << 32 | (uint64_t)g[9] << 40 | (uint64_t)g[10] << 48 | (uint64_t)g[11] << 56;
    *entry = off;
    return true;
}

/* An exception the CPU raises again while delivering it, or at the first
 * instruction of its own handler (a breakpoint there, #AC on a misaligned CPL-3
 * stack: CVE-2015-5307, CVE-2015-8104) would loop inside the CPU forever; hv86
 * intercepts #DB and #AC, so each round is an exit and the host keeps its CPU.
 * After EXC_LOOP_LIMIT such rounds in a row at the same RIP the handler has
 * clearly never run: the VM is stopped with the reason. */
#define EXC_LOOP_LIMIT 2000
static bool exception_loop(struct vcpu *v, const struct vm_exit *e)
{
    uint64_t entry;
    bool looping = e->exc.in_delivery ||
                   (handler_entry(v, e->exc.vector, &entry) && entry == e->rip);
    if (!looping || e->exc.vector != v->loop_vector || e->rip != v->loop_rip) {
        v->loop_vector = e->exc.vector;
        v->loop_rip = e->rip;
        v->loop_count = looping;
        return false;
    }
    if (++v->loop_count < EXC_LOOP_LIMIT)
        return false;
    vm_stop(v->vm, "exception delivery loop: #%s raised again at rip=%#lx %u times while "
            "delivering it or at its handler's first instruction",
            e->exc.vector == EXC_DB ? "DB" : "AC", e->rip, v->loop_count);
    return true;
}

void exit_dispatch(struct vcpu *v, const struct vm_exit *e)
{
    struct vm *vm = v->vm;
    vm->stats.exits[e->kind < EXIT_KIND_COUNT ? e->kind : EXIT_UNKNOWN]++;
    v->exits++;
    irq_note_exit(v, e->kind);
    switch (e->kind) {
    case EXIT_IO: handle_io(v, e); break;
    case EXIT_CPUID: handle_cpuid(v, e); break;
    case EXIT_MSR_READ:
    case EXIT_MSR_WRITE: handle_msr(v, e); break;
    case EXIT_CR_ACCESS:
        handle_cr(v, e);
        if (e->cr.cr == 8)         /* the TPR: irq_prepare_entry looks again */
            irq_forget(v);
        break;
    case EXIT_XSETBV: handle_xsetbv(v, e); break;
    case EXIT_HLT: handle_hlt(v, e); break;
    case EXIT_PAGING: handle_paging(v, e); break;
    case EXIT_HYPERCALL:           /* no hypercalls are offered: as on bare metal */
    case EXIT_UD: vcpu_inject_exception(v, EXC_UD, -1); break;
    case EXIT_EXCEPTION:           /* intercepted only to be reflected */
        if (vm->shadow && e->exc.vector == EXC_PF) {
            if (!shadow_page_fault(v, e, e->exc.cr2, e->exc.error))
                irq_forget(v);     /* a device reached, say: look again */
            break;
        }
        if (e->exc.vector == EXC_DB || e->exc.vector == EXC_AC) {
            if (exception_loop(v, e))
                break;
            /* #DB as the CPU would have left DR6 (SDM Vol. 3A 18.2.3): B0-B3
             * for this exception only, BD and BS sticky. */
            if (e->exc.vector == EXC_DB && e->exc.dr6)
                vcpu_set(v, REG_DR6, (vcpu_get(v, REG_DR6) & ~DR6_B0_B3) | DR6_FIXED_1 |
                                     (e->exc.dr6 & (DR6_B0_B3 | DR6_BD | DR6_BS)));
        }
        vcpu_inject_exception(v, e->exc.vector, e->exc.has_error ? (int64_t)e->exc.error : -1);
        break;
    case EXIT_DR_ACCESS: handle_dr(v, e); break;
    case EXIT_INVD:
    case EXIT_WBINVD:
        /* INVD would drop dirty cache lines of the host and of other VMs (SDM
         * Vol. 2A INVD, APM Vol. 3 INVD): never executed. Guest RAM is
         * write-back and coherent (no DMA), so doing nothing is what WBINVD
         * leaves too. */
        skip(v, e);
        break;
    case EXIT_INVLPG: handle_invlpg(v, e); break;
    case EXIT_INVPCID: handle_invpcid(v, e); break;
    case EXIT_SHUTDOWN:
        vm_stop(vm, "triple fault (shutdown) at rip=%#lx", e->rip);
        break;
    case EXIT_INVALID_STATE:
        vm_stop(vm, "VM entry refused (exit %#lx): %s: %s", e->hw_reason,
                e->invalid.field ? e->invalid.field : "?",
                e->invalid.rule ? e->invalid.rule : "refused by the CPU");
        break;
    case EXIT_EXTINT:
    case EXIT_PREEMPT:             /* a tick may be pending behind it (Bochs) */
        timer_take_pending();      /* the tick handler runs; the scheduler decides */
        break;
    case EXIT_INTR_WINDOW:
        break;                     /* nothing to do: the scheduler runs next */
    case EXIT_INIT:
    case EXIT_SIPI:
        /* A physical INIT or SIPI to the host CPU (SDM Vol. 3C 26.2, APM 15.13):
         * a guest's own INIT and SIPI are virtual (vmm/startup.c) and never
         * exit like this, and hv86 sends none to the CPU it runs on. */
        vm_stop(vm, "the host CPU received a physical INIT/SIPI while running it");
        break;
    default:
        vm_stop(vm, "unhandled exit %#lx at rip=%#lx", e->hw_reason, e->rip);
        break;
    }
}
