/* The VMCS of one vCPU: controls, host state, a reset guest state, and the
 * register views the core reads and writes (SDM Vol. 3C 25.3-25.8). */
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "vmm/insn.h"
#include "vmm/spec.h"
#include "vmm/shadow.h"
#include "vmm/vmx/vmx.h"
#include "vmm/vmx/vmx_insn.h"

#define RESET_CR0        (CR0_CD | CR0_NW | CR0_ET)   /* Vol. 3A 10.1.1, table 10-1 */
#define RESET_RIP        0xFFF0ull
#define RESET_CS_SEL     0xF000u
#define RESET_CS_BASE    0xFFFF0000ull
/* Access rights of the reset state: present, accessed r/w data / readable code,
 * the LDT and a busy TSS (Vol. 3A table 10-1; VMX wants TR busy, 27.3.1.2). */
#define RESET_CODE_AR    (VMX_AR_P | VMX_AR_S | SEG_TYPE_CODE | SEG_TYPE_WRITABLE_READABLE | SEG_TYPE_ACCESSED)
#define RESET_DATA_AR    (VMX_AR_P | VMX_AR_S | SEG_TYPE_DATA_RW_ACCESSED)
#define RESET_LDTR_AR    (VMX_AR_P | SEG_TYPE_LDT)
#define RESET_TR_AR      (VMX_AR_P | SEG_TYPE_TSS_BUSY)
#define PDPTE_COUNT      4
/* Virtual-8086 mode for real mode under shadow paging (SDM Vol. 3A 20.2, 20.2.8.1;
 * Vol. 3C 27.3.1.2): a 32-bit TSS whose I/O bitmap (all zero: every port allowed,
 * so the I/O-bitmap exits decide) follows it, ended by a byte of ones, at a linear
 * address real-mode code cannot reach, mapped by the shadow identity root. */
#define V86_TSS_LA       0xFFFFC000ull
#define V86_TSS_SIZE     104u
#define V86_IOMAP_SIZE   8192u
#define V86_TSS_PAGES    3
#define V86_IOMAP_END    0xFF                   /* the byte after the bitmap (20.5.2) */
#define V86_TSS_IOMAP_BASE_OFF 102
#define V86_SEG_LIMIT    0xFFFFu
#define REAL_MODE_BASE_MAX 0xFFFF0ull           /* base = selector << 4 */
#define PM16_CODE_AR     (VMX_AR_P | VMX_AR_S | SEG_TYPE_CODE | SEG_TYPE_WRITABLE_READABLE | SEG_TYPE_ACCESSED)
#define PM16_DATA_AR     (VMX_AR_P | VMX_AR_S | SEG_TYPE_DATA_RW_ACCESSED)
#define PAE_CR3_TABLE    0xFFFFFFE0ull          /* 32-byte aligned PDPT (Vol. 3A 4.4.1) */

/* ---- VPIDs: one per vCPU, 1..65535; INVVPID before a VPID is handed out again
 * so no translation of its previous owner survives (29.4.3.3). ------------------- */
static uint64_t vpid_used[(VPID_MAX + 1) / 64];

static uint16_t vpid_alloc(void)
{
    for (uint32_t id = 1; id <= VPID_MAX; id++)
        if (!(vpid_used[id / 64] & (1ull << (id % 64)))) {
            vpid_used[id / 64] |= 1ull << (id % 64);
            uint64_t cap = vmx_cpu.caps.ept_vpid;
            enum vmx_result r = (cap & VPID_CAP_INVVPID_SINGLE)
                                    ? invvpid(INVVPID_SINGLE_CONTEXT, (uint16_t)id, 0)
                                    : invvpid(INVVPID_ALL_CONTEXT, 0, 0);
            if (r != VMX_OK)
                panic("vmx: INVVPID for VPID %u failed: %s", id, vmx_result_text(r));
            return (uint16_t)id;
        }
    return 0;
}

static void vpid_free(uint16_t id)
{
    if (id)
        vpid_used[id / 64] &= ~(1ull << (id % 64));
}

/* ---- host state (27.2.2-27.2.4, loaded on every exit: 28.5) --------------------- */
struct dtr { uint16_t limit; uint64_t base; } __attribute__((packed));

static uint16_t read_sel(int which)
{
    uint16_t s = 0;
    switch (which) {
    case SEG_CS: __asm__ volatile("mov %%cs, %0" : "=r"(s)); break;
    case SEG_SS: __asm__ volatile("mov %%ss, %0" : "=r"(s)); break;
    case SEG_DS: __asm__ volatile("mov %%ds, %0" : "=r"(s)); break;
    case SEG_ES: __asm__ volatile("mov %%es, %0" : "=r"(s)); break;
    case SEG_FS: __asm__ volatile("mov %%fs, %0" : "=r"(s)); break;
    case SEG_GS: __asm__ volatile("mov %%gs, %0" : "=r"(s)); break;
    case SEG_TR: __asm__ volatile("str %0" : "=r"(s)); break;
    }
    return s;
}

/* The base of a 64-bit system descriptor (Vol. 3A 8.2.3, figure 8-4). */
static uint64_t system_desc_base(uint64_t gdt_base, uint16_t sel)
{
    const uint64_t *d = hva_of(gdt_base + (sel & ~7u));
    return ((d[0] >> 16) & 0xFFFFFF) | (((d[0] >> 56) & 0xFF) << 24) | (d[1] << 32);
}

static void write_host_state(struct vmx_vcpu *x);

/* A vCPU that comes to this CPU may find translations of an earlier stay here,
 * tagged with its VPID (and EPTP), which the guest has since invalidated while it
 * ran on another CPU (INVLPG, MOV CR3 act on one CPU's TLB only: 29.4.3): they go
 * first. Without VPID, VM entry and exit flush them anyway (29.4.3.3). */
static void flush_stale_translations(struct vcpu *v, struct vmx_vcpu *x)
{
    if (!x->vpid)
        return;
    uint64_t cap = vmx_cpu.caps.ept_vpid;
    enum vmx_result r = (cap & VPID_CAP_INVVPID_SINGLE)
                            ? invvpid(INVVPID_SINGLE_CONTEXT, x->vpid, 0)
                            : invvpid(INVVPID_ALL_CONTEXT, 0, 0);
    if (r != VMX_OK)
        panic("vmx: INVVPID for VPID %u failed: %s", x->vpid, vmx_result_text(r));
    if (!v->vm->shadow)
        ept_invalidate(v->vm->backend);
}

/* On another CPU than last time: stale translations out, and all of the host
 * state, since each CPU has its own GDT, TSS and GS base. */
void vmx_vcpu_arrive(struct vcpu *v)
{
    struct vmx_vcpu *x = v->backend;
    if (x->host_cpu == (int)this_cpu()->index)
        return;
    flush_stale_translations(v, x);
    write_host_state(x);
}

/* CR0/CR3/CR4 can change under the host (e.g. fpu_host_init sets OSXSAVE): compare
 * against what the VMCS holds before a vCPU's first entry on a CPU (vmx_vcpu_run),
 * as VM exit reloads them (28.5.1). */
void vmx_refresh_host_state(struct vmx_vcpu *x)
{
    uint64_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
    if (cr0 != x->host_cr0)
        vmcs_write(VMCS_HOST_CR0, x->host_cr0 = cr0);
    if (cr3 != x->host_cr3)
        vmcs_write(VMCS_HOST_CR3, x->host_cr3 = cr3);
    if (cr4 != x->host_cr4)
        vmcs_write(VMCS_HOST_CR4, x->host_cr4 = cr4);
}

static void write_host_state(struct vmx_vcpu *x)
{
    struct dtr gdtr, idtr;
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    __asm__ volatile("sidt %0" : "=m"(idtr));
    static const struct { int seg; uint32_t field; } sels[] = {
        { SEG_CS, VMCS_HOST_CS_SEL }, { SEG_SS, VMCS_HOST_SS_SEL }, { SEG_DS, VMCS_HOST_DS_SEL },
        { SEG_ES, VMCS_HOST_ES_SEL }, { SEG_FS, VMCS_HOST_FS_SEL }, { SEG_GS, VMCS_HOST_GS_SEL },
        { SEG_TR, VMCS_HOST_TR_SEL },
    };
    for (unsigned i = 0; i < sizeof sels / sizeof sels[0]; i++)
        vmcs_write(sels[i].field, read_sel(sels[i].seg));
    uint16_t tr = read_sel(SEG_TR);
    vmcs_write(VMCS_HOST_TR_BASE, tr ? system_desc_base(gdtr.base, tr) : 0);
    vmcs_write(VMCS_HOST_GDTR_BASE, gdtr.base);
    vmcs_write(VMCS_HOST_IDTR_BASE, idtr.base);
    vmcs_write(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
    vmcs_write(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
    vmcs_write(VMCS_HOST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
    vmcs_write(VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
    vmcs_write(VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
    vmcs_write(VMCS_HOST_EFER, rdmsr(MSR_EFER));
    vmcs_write(VMCS_HOST_PAT, rdmsr(MSR_PAT));
    vmcs_write(VMCS_HOST_RIP, (uint64_t)(uintptr_t)(spec_needs_variant() ? vmx_exit_stub_spec
                                                                          : vmx_exit_stub));
    /* HOST_RSP is written by vmx_enter itself, once it knows its frame. */
    x->host_cpu = (int)this_cpu()->index;
    x->host_cr0 = x->host_cr3 = x->host_cr4 = ~0ull;
    vmx_refresh_host_state(x);
}

/* ---- controls ------------------------------------------------------------------ */
static void write_controls(struct vcpu *v, struct vmx_vcpu *x)
{
    const struct vmx_controls *c = &vmx_cpu.ctls;
    struct vmx_vm *xvm = v->vm->backend;
    bool shadow = v->vm->shadow;
    uint32_t proc = c->proc, proc2 = c->proc2;
    if (shadow) {
        /* Shadow paging: no EPT, hence no unrestricted guest (27.2.1.1), and no
         * VPID so entries and exits flush the TLB (29.4.3.3); CR3 accesses and
         * INVLPG exit (26.1.3). */
        proc |= VMX_CTL_ALLOWED1(vmx_cpu.caps.proc) &
                (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING);
        proc2 &= ~(uint32_t)(PROC2_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_VPID);
    }
    vmcs_write(VMCS_PIN_CONTROLS, c->pin);
    vmcs_write(VMCS_PROC_CONTROLS, proc);
    if (proc & PROC_SECONDARY_CONTROLS)
        vmcs_write(VMCS_PROC2_CONTROLS, proc2);
    vmcs_write(VMCS_EXIT_CONTROLS, c->exit);
    vmcs_write(VMCS_ENTRY_CONTROLS, c->entry);
    vmcs_write(VMCS_EXCEPTION_BITMAP, vmx_exception_bitmap(shadow));
    vmcs_write(VMCS_PF_ERROR_MASK, 0);
    vmcs_write(VMCS_PF_ERROR_MATCH, 0);
    vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
    vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
    vmcs_write(VMCS_IO_BITMAP_A, hpa_of(vmx_cpu.io_bitmaps));
    vmcs_write(VMCS_IO_BITMAP_B, hpa_of(vmx_cpu.io_bitmaps) + PAGE_SIZE);
    vmcs_write(VMCS_MSR_BITMAP, hpa_of(vmx_cpu.msr_bitmap));
    vmcs_write(VMCS_TSC_OFFSET, 0);
    if (proc2 & PROC2_EPT)
        vmcs_write(VMCS_EPT_POINTER, xvm->eptp);
    if (proc2 & PROC2_VPID)
        vmcs_write(VMCS_VPID, x->vpid);
    if (c->proc2 & PROC2_XSAVES)
        vmcs_write(VMCS_XSS_EXITING_BITMAP, 0);
    /* TPR threshold 0: lowering the TPR does not exit until an interrupt waits
     * for it (vmx_watch_tpr; 26.6.6.1). */
    vmcs_write(VMCS_VIRTUAL_APIC_ADDR, hpa_of(x->vapic));
    vmcs_write(VMCS_TPR_THRESHOLD, 0);
    x->proc = proc;                 /* what vmx_request_window adds its bits to */
    /* Bits set in a mask are the host's: the guest reads the shadow, and a write
     * that would change one exits (26.3, 26.6.6). */
    vmcs_write(VMCS_CR0_MASK, shadow ? ~0ull : vmx_cpu.cr0_mask);
    vmcs_write(VMCS_CR4_MASK, shadow ? ~0ull : vmx_cpu.cr4_mask);
    vmcs_write(VMCS_LINK_POINTER, VMCS_LINK_NONE);
}

/* ---- guest reset state (Vol. 3A 10.1.1) ------------------------------------------ */
static void write_seg(enum seg_reg s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    vmcs_write(VMCS_GUEST_SEG_SEL(s), sel);
    vmcs_write(VMCS_GUEST_SEG_BASE(s), base);
    vmcs_write(VMCS_GUEST_SEG_LIMIT(s), limit);
    vmcs_write(VMCS_GUEST_SEG_AR(s), ar);
}

static void write_reset_state(struct vcpu *v)
{
    write_seg(SEG_CS, RESET_CS_SEL, RESET_CS_BASE, REAL_MODE_LIMIT, RESET_CODE_AR);
    for (enum seg_reg s = SEG_ES; s <= SEG_GS; s++)
        if (s != SEG_CS)
            write_seg(s, 0, 0, REAL_MODE_LIMIT, RESET_DATA_AR);
    write_seg(SEG_LDTR, 0, 0, REAL_MODE_LIMIT, RESET_LDTR_AR);
    write_seg(SEG_TR, 0, 0, REAL_MODE_LIMIT, RESET_TR_AR);
    vmcs_write(VMCS_GUEST_GDTR_BASE, 0);
    vmcs_write(VMCS_GUEST_GDTR_LIMIT, REAL_MODE_LIMIT);
    vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
    vmcs_write(VMCS_GUEST_IDTR_LIMIT, REAL_MODE_LIMIT);
    vmcs_write(VMCS_GUEST_EFER, 0);
    vmx_set_reg(v, REG_CR0, RESET_CR0);
    vmx_set_reg(v, REG_CR3, 0);
    vmx_set_reg(v, REG_CR4, 0);
    vmcs_write(VMCS_GUEST_DR7, DR7_RESET);
    vmcs_write(VMCS_GUEST_RSP, 0);
    vmcs_write(VMCS_GUEST_RIP, RESET_RIP);
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
    vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
    vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
    vmcs_write(VMCS_GUEST_DEBUGCTL, 0);
    vmcs_write(VMCS_GUEST_PAT, PAT_DEFAULT);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    for (int i = 0; i < PDPTE_COUNT; i++)
        vmcs_write(VMCS_GUEST_PDPTE0 + 2 * i, 0);
}

int vmx_vcpu_init(struct vcpu *v)
{
    struct vmx_vcpu *x = kmalloc(sizeof *x);
    if (!x)
        return -1;
    v->backend = x;
    if (vmcs_alloc(&x->vmcs, VMX_BASIC_REVISION(vmx_cpu.caps.basic)) != 0)
        goto fail;
    x->vapic = page_alloc();
    if (!x->vapic)
        goto fail;
    if ((vmx_cpu.ctls.proc2 & PROC2_VPID) && !v->vm->shadow) {
        x->vpid = vpid_alloc();
        if (!x->vpid) {
            kprintf("hv86: vmx: out of VPIDs\n");
            goto fail;
        }
    }
    if (v->vm->shadow) {
        uint8_t *t = x->v86_tss = frames_alloc(V86_TSS_PAGES, 1);
        if (!t)
            goto fail;
        *(uint16_t *)(t + V86_TSS_IOMAP_BASE_OFF) = V86_TSS_SIZE;
        t[V86_TSS_SIZE + V86_IOMAP_SIZE] = V86_IOMAP_END;
        shadow_map_hidden(v->vm, V86_TSS_LA, hpa_of(t), V86_TSS_PAGES);
    }
    vmcs_clear(&x->vmcs);           /* launch state clear, contents initialized (25.11.3) */
    vmcs_load(&x->vmcs);
    write_controls(v, x);
    write_host_state(x);
    write_reset_state(v);
    x->dr6 = DR6_RESET;
    return 0;
fail:
    vmx_vcpu_fini(v);
    return -1;
}

void vmx_vcpu_fini(struct vcpu *v)
{
    struct vmx_vcpu *x = v->backend;
    if (!x)
        return;
    for (unsigned i = 0; i < HOST_MAX_CPUS; i++) {   /* unloaded already, see vcpu_unload */
        if (vmx_cpu.pcpu[i].lazy_owner == v)
            vmx_cpu.pcpu[i].lazy_owner = 0;
        if (vmx_cpu.pcpu[i].entered == v)
            vmx_cpu.pcpu[i].entered = 0;
        if (vmx_cpu.pcpu[i].dr_owner == v)
            vmx_cpu.pcpu[i].dr_owner = 0;
    }
    vmcs_free(&x->vmcs);
    if (x->v86_tss)
        frames_free(x->v86_tss, V86_TSS_PAGES);
    if (x->vapic)
        page_free(x->vapic);
    vpid_free(x->vpid);
    kfree(x);
    v->backend = 0;
}

/* ---- register views ---------------------------------------------------------------- */
static struct vmx_vcpu *cur(struct vcpu *v)
{
    struct vmx_vcpu *x = v->backend;
    vmcs_load(&x->vmcs);            /* the core may touch a vCPU that did not run last */
    return x;
}

/* With EPT, PAE paging takes its PDPTEs from the VMCS at entry, not from memory
 * (27.3.2.4): load them as MOV CR3 would whenever hv86 itself enters or changes
 * PAE paging. The guest's own MOV CR3 in PAE mode loads them in hardware. */
static void load_pdptes(struct vcpu *v)
{
    uint64_t cr0 = vmcs_read(VMCS_GUEST_CR0), cr4 = vmcs_read(VMCS_GUEST_CR4);
    if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || (vmcs_read(VMCS_GUEST_EFER) & EFER_LMA))
        return;
    uint64_t pdpte[PDPTE_COUNT] = { 0 };
    uint64_t table = vmcs_read(VMCS_GUEST_CR3) & PAE_CR3_TABLE;
    if (!vm_read_gpa(v->vm, table, pdpte, sizeof pdpte))
        memset(pdpte, 0, sizeof pdpte);
    for (int i = 0; i < PDPTE_COUNT; i++)
        vmcs_write(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

/* EFER.LMA and the "IA-32e mode guest" entry control follow CR0.PG and EFER.LME:
 * long mode is active exactly when both are set (Vol. 3A 9.8.5; 27.3.1.1 wants
 * LMA equal to the control). */
static void update_long_mode(void)
{
    uint64_t efer = vmcs_read(VMCS_GUEST_EFER);
    bool lma = (vmcs_read(VMCS_GUEST_CR0) & CR0_PG) && (efer & EFER_LME);
    uint64_t entry = vmcs_read(VMCS_ENTRY_CONTROLS);
    uint64_t new_efer = lma ? efer | EFER_LMA : efer & ~(uint64_t)EFER_LMA;
    uint64_t new_entry = lma ? entry | ENTRY_IA32E_GUEST : entry & ~(uint64_t)ENTRY_IA32E_GUEST;
    if (new_efer != efer)
        vmcs_write(VMCS_GUEST_EFER, new_efer);
    if (new_entry != entry)
        vmcs_write(VMCS_ENTRY_CONTROLS, new_entry);
}

/* What the guest sees: host-owned bits from the shadow, the rest from the register. */
static uint64_t shadowed(uint32_t real, uint32_t shadow, uint64_t mask)
{
    return (vmcs_read(real) & ~mask) | (vmcs_read(shadow) & mask);
}

uint64_t vmx_get_reg(struct vcpu *v, enum vcpu_reg r)
{
    struct vmx_vcpu *x = cur(v);
    switch (r) {
    case REG_CR8: return ((uint8_t *)x->vapic)[VAPIC_TPR] >> VAPIC_TPR_CLASS_SHIFT;
    case REG_RSP: return vmcs_read(VMCS_GUEST_RSP);
    case REG_RIP: return vmcs_read(VMCS_GUEST_RIP);
    case REG_RFLAGS: {
        uint64_t f = vmcs_read(VMCS_GUEST_RFLAGS);
        return x->v86 ? (f & ~(uint64_t)(RFLAGS_VM | RFLAGS_IOPL)) | x->saved_iopl : f;
    }
    case REG_CR0: return shadowed(VMCS_GUEST_CR0, VMCS_CR0_SHADOW, vmx_cpu.cr0_mask);
    case REG_CR2: return x->cr2;
    case REG_CR3: return vmcs_read(VMCS_GUEST_CR3);
    case REG_CR4: return shadowed(VMCS_GUEST_CR4, VMCS_CR4_SHADOW, vmx_cpu.cr4_mask);
    case REG_EFER: return vmcs_read(VMCS_GUEST_EFER);
    case REG_DR7: return vmcs_read(VMCS_GUEST_DR7);
    case REG_DR6: return v->dr_live && vmx_here()->dr_owner == v ? read_dr6() : x->dr6;
    case REG_PAT: return vmcs_read(VMCS_GUEST_PAT);
    case REG_SYSENTER_CS: return vmcs_read(VMCS_GUEST_SYSENTER_CS);
    case REG_SYSENTER_ESP: return vmcs_read(VMCS_GUEST_SYSENTER_ESP);
    case REG_SYSENTER_EIP: return vmcs_read(VMCS_GUEST_SYSENTER_EIP);
    default: return 0;
    }
}

static __attribute__((noinline)) void set_other_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
    struct vmx_vcpu *x = cur(v);
    const struct vmx_cap_msrs *c = &vmx_cpu.caps;
    switch (r) {
    case REG_RSP: vmcs_write(VMCS_GUEST_RSP, val); break;
    case REG_RFLAGS:
        if (x->v86) {
            x->saved_iopl = val & RFLAGS_IOPL;
            val |= RFLAGS_VM | RFLAGS_IOPL;
        }
        vmcs_write(VMCS_GUEST_RFLAGS, val);
        break;
    case REG_CR0: {
        /* The register gets the bits VMX forces (NE; 24.8), except PE and PG
         * which unrestricted guest leaves to the guest (27.3.1.1). */
        uint64_t fixed0 = c->cr0_fixed0 & ~(uint64_t)(CR0_PE | CR0_PG);
        vmcs_write(VMCS_GUEST_CR0, (val | fixed0) & c->cr0_fixed1);
        vmcs_write(VMCS_CR0_SHADOW, val);
        update_long_mode();
        load_pdptes(v);
        break;
    }
    case REG_CR2: x->cr2 = val; break;
    case REG_CR3: vmcs_write(VMCS_GUEST_CR3, val); load_pdptes(v); break;
    case REG_CR4:
        /* VMXE stays set underneath (CR4_FIXED0) and reads as the guest wrote it. */
        vmcs_write(VMCS_GUEST_CR4, (val | c->cr4_fixed0) & c->cr4_fixed1);
        vmcs_write(VMCS_CR4_SHADOW, val);
        load_pdptes(v);
        break;
    case REG_EFER: vmcs_write(VMCS_GUEST_EFER, val); update_long_mode(); break;
    case REG_DR7: vmcs_write(VMCS_GUEST_DR7, val); break;
    case REG_DR6:
        x->dr6 = val;
        if (vmx_here()->dr_owner == v)
            write_dr6(val);
        break;
    case REG_PAT: vmcs_write(VMCS_GUEST_PAT, val); break;
    case REG_SYSENTER_CS: vmcs_write(VMCS_GUEST_SYSENTER_CS, val); break;
    case REG_SYSENTER_ESP: vmcs_write(VMCS_GUEST_SYSENTER_ESP, val); break;
    case REG_SYSENTER_EIP: vmcs_write(VMCS_GUEST_SYSENTER_EIP, val); break;
    case REG_CR8:
        ((uint8_t *)x->vapic)[VAPIC_TPR] = (uint8_t)(val << VAPIC_TPR_CLASS_SHIFT);
        break;
    default: break;
    }
}

/* RIP apart from the rest: nearly every exit writes it (the core completing an
 * instruction), and this way it costs no register saves. */
/* "Use TSC offsetting" is on from the start (vmx_controls.c) with offset 0; the
 * vCPU's VMCS is current on its CPU while it handles an exit. */
void vmx_set_tsc_offset(struct vcpu *v, uint64_t offset)
{
    (void)v;
    vmcs_write(VMCS_TSC_OFFSET, offset);
}

void vmx_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
    if (r != REG_RIP) {
        set_other_reg(v, r, val);
        return;
    }
    cur(v);
    /* Moving RIP means the core completed the instruction: the one-instruction
     * shadow of a preceding STI or MOV SS is over (25.4.2, as in KVM). */
    uint64_t intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
    if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
        vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS));
    vmcs_write(VMCS_GUEST_RIP, val);
}

/* ---- interrupt delivery (26.7.5-6, 27.3.1.5) ------------------------------------- */

/* An interrupt needs IF and no STI/MOV SS blocking; an NMI needs neither that
 * blocking nor (virtual-)NMI blocking, which the CPU keeps until the handler's
 * IRET (25.4.2, table 25-3). */
bool vmx_can_inject(struct vcpu *v, enum event_type t)
{
    cur(v);
    uint64_t intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
    if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
        return false;
    if (t == EVENT_NMI)
        return !(intr & INTR_BLOCK_NMI);
    return vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF;
}

void vmx_request_window(struct vcpu *v, enum event_type t, bool on)
{
    struct vmx_vcpu *x = cur(v);
    uint32_t bit = t == EVENT_NMI ? PROC_NMI_WINDOW_EXITING : PROC_INTR_WINDOW_EXITING;
    uint32_t proc = on ? x->proc | bit : x->proc & ~bit;
    if (proc != x->proc) {
        x->proc = proc;
        vmcs_write(VMCS_PROC_CONTROLS, proc);
    }
}

/* A MOV to CR8 below the threshold exits (TPR below threshold, 26.6.6.1). */
void vmx_watch_tpr(struct vcpu *v, uint8_t class)
{
    struct vmx_vcpu *x = cur(v);
    if (class != x->tpr_threshold) {
        x->tpr_threshold = class;
        vmcs_write(VMCS_TPR_THRESHOLD, class);
    }
}

/* hv86's segment attributes are AMD's packed form: bits 7:0 = VMX bits 7:0 and
 * bits 11:8 (AVL, L, D/B, G) = VMX bits 15:12 (25.4.1, table 25-2). */
static uint32_t attr_to_ar(uint32_t attr)
{
    return (attr & 0xFF) | (((attr >> 8) & 0xF) << 12) | (attr & SEG_ATTR_UNUSABLE);
}

static uint32_t ar_to_attr(uint32_t ar)
{
    return (ar & 0xFF) | (((ar >> 12) & 0xF) << 8) | ((ar & VMX_AR_UNUSABLE) ? SEG_ATTR_UNUSABLE : 0);
}

void vmx_get_seg(struct vcpu *v, enum seg_reg s, struct segment *out)
{
    struct vmx_vcpu *x = cur(v);
    if (s == SEG_GDTR || s == SEG_IDTR) {
        bool g = s == SEG_GDTR;
        *out = (struct segment){
            .base = vmcs_read(g ? VMCS_GUEST_GDTR_BASE : VMCS_GUEST_IDTR_BASE),
            .limit = (uint32_t)vmcs_read(g ? VMCS_GUEST_GDTR_LIMIT : VMCS_GUEST_IDTR_LIMIT),
        };
        if (!g && x->v86)
            out->limit = x->saved_idt_limit;
        return;
    }
    *out = (struct segment){
        .sel = (uint16_t)vmcs_read(VMCS_GUEST_SEG_SEL(s)),
        .attr = ar_to_attr((uint32_t)vmcs_read(VMCS_GUEST_SEG_AR(s))),
        .limit = (uint32_t)vmcs_read(VMCS_GUEST_SEG_LIMIT(s)),
        .base = vmcs_read(VMCS_GUEST_SEG_BASE(s)),
    };
}

void vmx_set_seg(struct vcpu *v, enum seg_reg s, const struct segment *in)
{
    struct vmx_vcpu *x = cur(v);
    if (s == SEG_GDTR || s == SEG_IDTR) {
        bool g = s == SEG_GDTR;
        vmcs_write(g ? VMCS_GUEST_GDTR_BASE : VMCS_GUEST_IDTR_BASE, in->base);
        if (!g && x->v86)
            x->saved_idt_limit = in->limit;
        else
            vmcs_write(g ? VMCS_GUEST_GDTR_LIMIT : VMCS_GUEST_IDTR_LIMIT, in->limit);
        return;
    }
    if (x->v86 && s == SEG_TR) {
        x->saved_tr = *in;          /* TR is hv86's TSS until real mode ends */
        return;
    }
    if (x->v86 && s <= SEG_GS) {
        /* Real mode runs as virtual-8086 mode: a segment the core loads (a
         * SIPI's CS, say) becomes a virtual-8086 one (27.3.1.2). */
        write_seg(s, in->sel, (uint64_t)in->sel << 4, V86_SEG_LIMIT, VMX_AR_V86);
        return;
    }
    uint32_t ar = attr_to_ar(in->attr);
    /* A data segment register without P is what SVM calls a null selector; VMX
     * says "unusable" (25.4.1). CS and TR are never unusable. */
    if (!(ar & VMX_AR_P) && s != SEG_CS && s != SEG_TR)
        ar |= VMX_AR_UNUSABLE;
    vmcs_write(VMCS_GUEST_SEG_SEL(s), in->sel);
    vmcs_write(VMCS_GUEST_SEG_BASE(s), in->base);
    vmcs_write(VMCS_GUEST_SEG_LIMIT(s), in->limit);
    vmcs_write(VMCS_GUEST_SEG_AR(s), ar);
}

/* ---- real mode as virtual-8086 mode (shadow paging without unrestricted guest) ---
 * Entering (CR0.PE cleared): every segment becomes a real-mode one (base =
 * selector << 4, limit 64 KiB, AR 0xF3: 27.3.1.2), TR hv86's TSS, RFLAGS.VM and
 * IOPL 3 (so CLI/STI/PUSHF/POPF run natively), and #GP exits: the instructions
 * that are privileged in virtual-8086 mode (MOV CR, HLT) are emulated from there
 * (vmx_exit.c). Leaving (CR0.PE set): the segments keep selector and base with
 * 64 KiB 16-bit ring-0 attributes until the guest loads its own, as after a real
 * MOV CR0 (SDM Vol. 3A 9.9.1); TR and IOPL are the guest's again. The IDTR limit
 * is 0 meanwhile, so that every interrupt and exception ends in a #GP exit and is
 * delivered through the real-mode IVT by vmx_v86_deliver. Like KVM's, not exact:
 * the guest sees CPL 3 in SS.DPL, PUSHF shows IOPL 3, SIDT a limit of 0, and a
 * base that is not selector << 4 (unreal mode) is lost. */
void vmx_v86_update(struct vcpu *v, bool real_mode)
{
    struct vmx_vcpu *x = cur(v);
    if (real_mode == x->v86)
        return;
    uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
    uint32_t exc = (uint32_t)vmcs_read(VMCS_EXCEPTION_BITMAP);
    for (enum seg_reg s = SEG_ES; s <= SEG_GS; s++) {
        uint64_t base = vmcs_read(VMCS_GUEST_SEG_BASE(s));
        uint16_t sel = (uint16_t)vmcs_read(VMCS_GUEST_SEG_SEL(s));
        if (real_mode) {
            sel = (uint16_t)((base > REAL_MODE_BASE_MAX ? REAL_MODE_BASE_MAX : base) >> 4);
            write_seg(s, sel, (uint64_t)sel << 4, V86_SEG_LIMIT, VMX_AR_V86);
        } else {
            write_seg(s, sel, base, V86_SEG_LIMIT, s == SEG_CS ? PM16_CODE_AR : PM16_DATA_AR);
        }
    }
    if (real_mode) {
        vmx_get_seg(v, SEG_TR, &x->saved_tr);
        write_seg(SEG_TR, 0, V86_TSS_LA, V86_TSS_SIZE + V86_IOMAP_SIZE, VMX_AR_P | SEG_TYPE_TSS_BUSY);
        x->saved_iopl = rflags & RFLAGS_IOPL;
        vmcs_write(VMCS_GUEST_RFLAGS, rflags | RFLAGS_VM | RFLAGS_IOPL);
        vmcs_write(VMCS_EXCEPTION_BITMAP, exc | (1u << EXC_GP));
        x->saved_idt_limit = (uint32_t)vmcs_read(VMCS_GUEST_IDTR_LIMIT);
        vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0);
    } else {
        x->v86 = false;             /* before set_seg: TR is the guest's again */
        vmcs_write(VMCS_GUEST_IDTR_LIMIT, x->saved_idt_limit);
        vmx_set_seg(v, SEG_TR, &x->saved_tr);
        vmcs_write(VMCS_GUEST_RFLAGS, (rflags & ~(uint64_t)(RFLAGS_VM | RFLAGS_IOPL)) | x->saved_iopl);
        vmcs_write(VMCS_EXCEPTION_BITMAP, exc & ~(1u << EXC_GP));
    }
    x->v86 = real_mode;
}

/* Real-mode interrupt delivery (SDM Vol. 3A 20.1.4): push FLAGS, CS and the return
 * IP on SS:SP, clear IF, TF and AC, and continue at the IVT's CS:IP for the vector.
 * false if the VM was stopped (the vector beyond the IVT, or memory outside RAM). */
#define IVT_ENTRY_SIZE 4
#define REAL_MODE_FRAME 6              /* IP, CS, FLAGS: 16 bits each */
bool vmx_v86_deliver(struct vcpu *v, uint8_t vector, uint64_t return_ip)
{
    struct vmx_vcpu *x = cur(v);
    uint64_t ivt = vmcs_read(VMCS_GUEST_IDTR_BASE) + (uint64_t)vector * IVT_ENTRY_SIZE;
    uint16_t target[2];                                     /* IP, CS */
    if ((uint64_t)vector * IVT_ENTRY_SIZE + IVT_ENTRY_SIZE - 1 > x->saved_idt_limit) {
        vm_stop(v->vm, "real-mode interrupt %u beyond the IVT limit %#x (a shutdown)",
                vector, x->saved_idt_limit);
        return false;
    }
    if (!guest_linear_rw(v, ivt, target, sizeof target, false))
        return false;
    uint64_t flags = vmx_get_reg(v, REG_RFLAGS), rsp = vmcs_read(VMCS_GUEST_RSP);
    uint16_t sp = (uint16_t)(rsp - REAL_MODE_FRAME);
    uint16_t frame[3] = { (uint16_t)return_ip, (uint16_t)vmcs_read(VMCS_GUEST_SEG_SEL(SEG_CS)),
                          (uint16_t)flags };
    if (!guest_linear_rw(v, vmcs_read(VMCS_GUEST_SEG_BASE(SEG_SS)) + sp, frame, sizeof frame, true))
        return false;
    vmcs_write(VMCS_GUEST_RSP, (rsp & ~0xFFFFull) | sp);
    vmx_set_reg(v, REG_RFLAGS, flags & ~(uint64_t)(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC));
    write_seg(SEG_CS, target[1], (uint64_t)target[1] << 4, V86_SEG_LIMIT, VMX_AR_V86);
    vmx_set_reg(v, REG_RIP, target[0]);
    return true;
}

/* ---- debug registers (docs/security.md) --------------------------------------------- */
/* DR0-3 and DR6 are not in the VMCS (DR7 is: 25.4.1, with the debug controls
 * loaded and saved): the hardware holds one vCPU's at a time. A vCPU that does
 * not own them gets its own loaded before it runs (zeros if it never wrote one),
 * so no other VM's breakpoints are visible or armed while it runs; the previous
 * owner's are saved first if it could have changed them. */
void vmx_dr_load(struct vmx_pcpu *here, struct vcpu *v)
{
    struct vcpu *prev = here->dr_owner;
    if (prev && prev != v && prev->dr_live) {
        read_dr0_3(prev->dr);
        ((struct vmx_vcpu *)prev->backend)->dr6 = read_dr6();
    }
    write_dr0_3(v->dr);
    write_dr6(((struct vmx_vcpu *)v->backend)->dr6);
    here->dr_owner = v;
}

/* The guest touched a debug register: MOV DR runs natively from now on (MOV-DR
 * exiting off, 26.1.3), with its own values in the hardware. Called on the CPU
 * that runs v, between its exit and its next entry. */
void vmx_dr_passthrough(struct vcpu *v)
{
    struct vmx_vcpu *x = cur(v);
    vmx_dr_load(vmx_here(), v);
    v->dr_live = true;
    x->proc &= ~(uint32_t)PROC_MOV_DR_EXITING;
    vmcs_write(VMCS_PROC_CONTROLS, x->proc);
}
