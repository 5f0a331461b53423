/* Guest page-table walker: see gpt_walk.h. Section numbers are Intel SDM Vol. 3A. */
#include "arch/x86.h"
#include "vmm/gpt_walk.h"

/* Bits hi..lo set. */
static uint64_t bits(unsigned hi, unsigned lo)
{
    if (hi < lo)
        return 0;
    uint64_t top = hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1;
    return top & ~((1ull << lo) - 1);
}

enum gpt_mode gpt_mode(const struct gpt_regs *r)
{
    if (!(r->cr0 & CR0_PG))
        return GPT_MODE_NONE;
    if (r->efer & EFER_LMA)
        return (r->cr4 & CR4_LA57) ? GPT_MODE_5LEVEL : GPT_MODE_4LEVEL;
    if (r->cr4 & CR4_PAE)
        return GPT_MODE_PAE;
    return GPT_MODE_32;
}

/* Entries are little-endian (x86), as is every host hv86 and its tests build
 * for: the bytes read land in the low end of the integer as they are. */
static bool read_entry(const struct gpt_mem *mem, uint64_t gpa, unsigned size, uint64_t *e)
{
    uint64_t v = 0;
    if (!mem || !mem->read || !mem->read(mem->ctx, gpa, &v, size))
        return false;
    *e = v;
    return true;
}

static bool write_entry(const struct gpt_mem *mem, uint64_t gpa, unsigned size, uint64_t e)
{
    return mem->write(mem->ctx, gpa, &e, size);
}

/* Reserved bits of a paging-structure entry at `level` (1 = PTE), leaf or not. */
static uint64_t reserved_bits(enum gpt_mode mode, unsigned level, bool leaf, unsigned m,
                              bool nxe, bool no_1g)
{
    if (mode == GPT_MODE_32) {
        /* Only a 4 MiB PDE has reserved bits: 21:(M-19), with M capped at 40 by
         * PSE-36 (4.3, Table 4-4). */
        unsigned m40 = m > 40 ? 40 : m;
        return level == 2 && leaf ? bits(21, m40 - 19) : 0;
    }
    /* PAE entries reserve 62:M (4.4); 4/5-level ones 51:M, 62:52 being ignored
     * (4.5). Bit 63 is XD, reserved unless EFER.NXE (4.6). */
    uint64_t r = mode == GPT_MODE_PAE ? bits(62, m) : bits(51, m);
    if (!nxe)
        r |= PTE_NX;
    if (leaf && level == 2)
        r |= bits(20, 13);                  /* 2 MiB page: 20:13 (12 is PAT) */
    if (leaf && level == 3)
        r |= bits(29, 13);                  /* 1 GiB page: 29:13 */
    if (level >= 4 || (level == 3 && no_1g))
        r |= PTE_PS;                        /* PML4E/PML5E.PS, or PDPTE.PS without Page1GB */
    return r;
}

enum gpt_result gpt_walk(const struct gpt_regs *r, uint64_t gva, unsigned access,
                         const struct gpt_mem *mem, struct gpt_xlat *out)
{
    *out = (struct gpt_xlat){ 0 };
    enum gpt_mode mode = gpt_mode(r);

    if (mode == GPT_MODE_NONE) {            /* linear = physical, 32 bits wide */
        out->gpa = gva & 0xffffffffull;
        out->page_size = PAGE_SIZE;
        return GPT_OK;
    }

    /* MAXPHYADDR: 0 means 52; below 32 is not a real CPU, and would break PSE-36. */
    unsigned m = r->maxphyaddr == 0 || r->maxphyaddr > 52 ? 52 :
                 r->maxphyaddr < 32 ? 32 : r->maxphyaddr;
    uint64_t frame = bits(m - 1, 12);       /* address bits of an entry */
    bool nxe = mode != GPT_MODE_32 && (r->efer & EFER_NXE);
    bool no_1g = (r->flags & GPT_F_NO_1G_PAGES) != 0;
    bool is_write = access & GPT_WRITE, is_exec = access & GPT_EXEC;
    bool is_user = (access & GPT_USER) && !(access & GPT_IMPLICIT);

    /* The error-code bits describing the access (4.7). I/D is reported only when
     * instruction fetches can fault for it: with XD (PAE/4-level and NXE) or SMEP. */
    uint32_t err = (is_write ? GPT_PF_W : 0) | (is_user ? GPT_PF_U : 0);
    if (is_exec && (nxe || (r->cr4 & CR4_SMEP)))
        err |= GPT_PF_I;

    unsigned levels, idx_bits, esize;
    uint64_t va = gva, table;
    switch (mode) {
    case GPT_MODE_32:                       /* 4.3: PD, PT; 4-byte entries */
        va &= 0xffffffffull;
        levels = 2, idx_bits = 10, esize = 4;
        table = r->cr3 & 0xfffff000ull;
        break;
    case GPT_MODE_PAE:                      /* 4.4: PDPTE register, then PD, PT */
        va &= 0xffffffffull;
        levels = 2, idx_bits = 9, esize = 8;
        table = 0;
        break;
    default: {                              /* 4.5: PML5, PML4, PDPT, PD, PT */
        unsigned top = mode == GPT_MODE_5LEVEL ? 56 : 47;
        unsigned sh = 63 - top;
        if ((uint64_t)((int64_t)(gva << sh) >> sh) != gva)
            return GPT_NON_CANONICAL;
        levels = mode == GPT_MODE_5LEVEL ? 5 : 4, idx_bits = 9, esize = 8;
        table = r->cr3 & frame;
        break;
    }
    }

    /* Access rights accumulate over every level (4.6): a user-mode address has U/S=1
     * everywhere, a writable one R/W=1 everywhere, an executable one XD=0 everywhere. */
    bool user_ok = true, write_ok = true, xd = false;
    uint64_t ent[5], ent_gpa[5];
    unsigned n = 0;

    if (mode == GPT_MODE_PAE) {
        /* PDPTEs (4.4.1, Table 4-8) carry no access rights. */
        unsigned i = (unsigned)(va >> 30) & 3;
        uint64_t pdpte, egpa = (r->cr3 & 0xffffffe0ull) + 8 * i;
        out->level = 3;
        if (r->pdptes) {
            pdpte = r->pdptes[i];
        } else if (!read_entry(mem, egpa, 8, &pdpte)) {
            out->fault_gpa = egpa;
            return GPT_BAD_GPA;
        }
        if (!(pdpte & PTE_P))
            goto fault;                     /* not present: P = 0 in the error code */
        /* Bit 5 (A) is let through: QEMU's SVM sets it in PAE PDPTEs while it
         * walks them, and an Intel CPU refuses such a PDPTE already at MOV CR3. */
        if (pdpte & (bits(63, m) | bits(8, 6) | bits(2, 1))) {
            err |= GPT_PF_P | GPT_PF_RSVD;
            goto fault;
        }
        table = pdpte & frame;
    }

    for (unsigned level = levels; level >= 1; level--) {
        unsigned shift = 12 + idx_bits * (level - 1);
        uint64_t idx = (va >> shift) & ((1ull << idx_bits) - 1);
        uint64_t e, egpa = table + idx * esize;
        out->level = level;
        if (!read_entry(mem, egpa, esize, &e)) {
            out->fault_gpa = egpa;
            return GPT_BAD_GPA;
        }
        if (!(e & PTE_P))
            goto fault;

        bool leaf = level == 1;
        if (level > 1 && (e & PTE_PS)) {        /* in a PTE, bit 7 is PAT (4.9.2) */
            if (mode == GPT_MODE_32)
                leaf = level == 2 && (r->cr4 & CR4_PSE);    /* else PS is ignored */
            else
                leaf = level == 2 || (level == 3 && !no_1g);
        }
        if (e & reserved_bits(mode, level, leaf, m, nxe, no_1g)) {
            err |= GPT_PF_P | GPT_PF_RSVD;
            goto fault;
        }
        user_ok = user_ok && (e & PTE_U);
        write_ok = write_ok && (e & PTE_W);
        xd = xd || (nxe && (e & PTE_NX));
        ent[n] = e;
        ent_gpa[n++] = egpa;

        if (leaf) {
            uint64_t size = 1ull << shift, base;
            if (mode == GPT_MODE_32 && level == 2) {
                /* 4 MiB page: bits 31:22, and 39:32 from PDE bits 20:13 (PSE-36). */
                unsigned m40 = m > 40 ? 40 : m;
                uint64_t hi = m40 > 32 ? (e >> 13) & bits(m40 - 33, 0) : 0;
                base = (e & 0xffc00000ull) | (hi << 32);
            } else if (mode == GPT_MODE_32) {
                base = e & 0xfffff000ull;
            } else {
                base = e & frame & ~(size - 1);
            }
            out->gpa = base | (va & (size - 1));
            out->page_size = size;
            out->leaf = e;
            out->user = user_ok;
            out->writable = write_ok;
            out->nx = xd;
            break;
        }
        table = mode == GPT_MODE_32 ? (e & 0xfffff000ull) : (e & frame);
    }

    /* Access rights (4.6.1). */
    bool deny;
    if (is_exec) {
        if (xd)
            deny = true;
        else if (is_user)
            deny = !user_ok;
        else
            deny = user_ok && (r->cr4 & CR4_SMEP);
    } else if (is_user) {
        deny = !user_ok || (is_write && !write_ok);
    } else {
        bool smap = user_ok && (r->cr4 & CR4_SMAP) &&
                    ((access & GPT_IMPLICIT) || !(access & GPT_AC));
        deny = smap || (is_write && !write_ok && (r->cr0 & CR0_WP));
    }
    if (deny) {
        err |= GPT_PF_P;
        goto fault;
    }

    /* Accessed and dirty flags (4.8): A in every entry used, D in the leaf. */
    if ((access & GPT_SET_AD) && mem && mem->write) {
        for (unsigned i = 0; i < n; i++) {
            uint64_t e = ent[i] | PTE_A;
            if (i == n - 1 && is_write)
                e |= PTE_D;
            if (e != ent[i] && !write_entry(mem, ent_gpa[i], esize, e)) {
                out->fault_gpa = ent_gpa[i];
                return GPT_BAD_GPA;
            }
        }
        out->leaf = ent[n - 1] | PTE_A | (is_write ? PTE_D : 0);
    }
    return GPT_OK;

fault:
    out->pf_error = err;
    return GPT_PAGE_FAULT;
}

enum gpt_result gpt_read_virt(const struct gpt_regs *r, uint64_t gva, void *buf,
                              unsigned len, unsigned access, const struct gpt_mem *mem,
                              unsigned *copied, struct gpt_xlat *fault,
                              uint64_t *fault_gva)
{
    enum gpt_mode mode = gpt_mode(r);
    bool wide = mode == GPT_MODE_4LEVEL || mode == GPT_MODE_5LEVEL;
    uint8_t *dst = buf;
    unsigned done = 0;
    enum gpt_result res = GPT_OK;
    struct gpt_xlat x = { 0 };
    uint64_t va = gva;

    while (done < len) {
        va = gva + done;
        if (!wide)
            va &= 0xffffffffull;
        res = gpt_walk(r, va, access, mem, &x);
        if (res != GPT_OK)
            break;
        /* Copy up to the end of the 4 KiB page: a chunk never spans two pages, so
         * it is contiguous in guest-physical memory. */
        uint64_t chunk = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        if (chunk > len - done)
            chunk = len - done;
        if (!mem || !mem->read || !mem->read(mem->ctx, x.gpa, dst + done, (unsigned)chunk)) {
            x.fault_gpa = x.gpa;
            x.level = 0;
            res = GPT_BAD_GPA;
            break;
        }
        done += (unsigned)chunk;
    }
    if (copied)
        *copied = done;
    if (res != GPT_OK) {
        if (fault)
            *fault = x;
        if (fault_gva)
            *fault_gva = va;
    }
    return res;
}
