/* vmm/gpt_walk: page tables are built in a fake guest memory for each paging mode
 * (SDM Vol. 3A ch. 4) and walked: translations, large pages, each kind of fault with
 * its error code, reserved bits, tables outside memory, A/D updates, and copies of
 * guest-virtual memory across page boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/gpt_walk.h"

/* Architectural bits the tests set (SDM Vol. 3A 2.5, 4.x). */
#define CR0_WP   (1ull << 16)
#define CR0_PG   (1ull << 31)
#define CR0_PE   1ull
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define P  (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define A  (1ull << 5)
#define D  (1ull << 6)
#define PS (1ull << 7)
#define G  (1ull << 8)
#define XD (1ull << 63)

#define PF_P GPT_PF_P
#define PF_W GPT_PF_W
#define PF_U GPT_PF_U
#define PF_R GPT_PF_RSVD
#define PF_I GPT_PF_I

/* ---- fake guest memory: 8 MiB of RAM at GPA 0 ------------------------------- */

#define MEM_SIZE (8u << 20)
static uint8_t gmem[MEM_SIZE];
static unsigned nreads, nwrites;
static uint64_t next_table;

static bool mem_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
    (void)ctx;
    nreads++;
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
        return false;
    memcpy(buf, gmem + gpa, len);
    return true;
}

static bool mem_write(void *ctx, uint64_t gpa, const void *buf, unsigned len)
{
    (void)ctx;
    nwrites++;
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
        return false;
    memcpy(gmem + gpa, buf, len);
    return true;
}

static const struct gpt_mem mem = { mem_read, mem_write, NULL };
static const struct gpt_mem mem_ro = { mem_read, NULL, NULL };

static uint64_t get64(uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, gmem + gpa, 8);
    return v;
}

static void put64(uint64_t gpa, uint64_t v)
{
    memcpy(gmem + gpa, &v, 8);
}

static uint32_t get32(uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, gmem + gpa, 4);
    return v;
}

static void put32(uint64_t gpa, uint32_t v)
{
    memcpy(gmem + gpa, &v, 4);
}

static int setup(void **state)
{
    (void)state;
    memset(gmem, 0, sizeof gmem);
    nreads = nwrites = 0;
    next_table = 0x100000;          /* tables from 1 MiB up */
    return 0;
}

static uint64_t alloc_table(void)
{
    uint64_t t = next_table;
    next_table += 0x1000;
    assert_true(next_table <= MEM_SIZE);
    return t;
}

/* ---- table builders ------------------------------------------------------------ */

/* 4/5-level (levels = 4 or 5) and the PD/PT part of PAE: the gpa of the entry for gva
 * at `level`, creating the tables above it with `tflags`. */
static uint64_t entry64(uint64_t root, unsigned levels, uint64_t gva, unsigned level,
                        uint64_t tflags)
{
    uint64_t table = root;
    for (unsigned l = levels; l > level; l--) {
        uint64_t egpa = table + ((gva >> (12 + 9 * (l - 1))) & 511) * 8;
        uint64_t e = get64(egpa);
        if (!(e & P)) {
            e = alloc_table() | tflags;
            put64(egpa, e);
        }
        table = e & 0x000ffffffffff000ull;
    }
    return table + ((gva >> (12 + 9 * (level - 1))) & 511) * 8;
}

/* Map gva -> gpa with a page of `level` (1: 4K, 2: 2M, 3: 1G). */
static void map64(uint64_t root, unsigned levels, uint64_t gva, uint64_t gpa,
                  unsigned level, uint64_t tflags, uint64_t lflags)
{
    put64(entry64(root, levels, gva, level, tflags), gpa | lflags | (level > 1 ? PS : 0));
}

/* PAE: PDPT at cr3 (32-byte aligned), 4 PDPTEs with P only. */
static uint64_t pae_entry(uint64_t cr3, uint64_t gva, unsigned level)
{
    uint64_t pdpte_gpa = (cr3 & 0xffffffe0) + ((gva >> 30) & 3) * 8;
    if (level == 3)
        return pdpte_gpa;
    if (!(get64(pdpte_gpa) & P))
        put64(pdpte_gpa, alloc_table() | P);
    return entry64(get64(pdpte_gpa) & 0xfffff000ull, 2, gva, level, P | RW | US);
}

/* 32-bit paging: the gpa of the PDE (level 2) or PTE (level 1). */
static uint64_t entry32(uint64_t cr3, uint32_t gva, unsigned level)
{
    uint64_t pde = (cr3 & 0xfffff000) + (gva >> 22) * 4;
    if (level == 2)
        return pde;
    if (!(get32(pde) & P))
        put32(pde, (uint32_t)(alloc_table() | P | RW | US));
    return (get32(pde) & 0xfffff000) + ((gva >> 12) & 1023) * 4;
}

static void set64(uint64_t gpa, uint64_t bits) { put64(gpa, get64(gpa) | bits); }
static void clr64(uint64_t gpa, uint64_t bits) { put64(gpa, get64(gpa) & ~bits); }

/* ---- walking helpers ----------------------------------------------------------- */

static struct gpt_xlat x;

static enum gpt_result walk(const struct gpt_regs *r, uint64_t gva, unsigned acc)
{
    return gpt_walk(r, gva, acc, &mem_ro, &x);
}

#define EXPECT_GPA(r, gva, acc, want)                                             \
    do {                                                                          \
        assert_int_equal(walk((r), (gva), (acc)), GPT_OK);                        \
        assert_int_equal(x.gpa, (want));                                          \
    } while (0)

#define EXPECT_PF(r, gva, acc, err)                                               \
    do {                                                                          \
        assert_int_equal(walk((r), (gva), (acc)), GPT_PAGE_FAULT);                \
        assert_int_equal(x.pf_error, (err));                                      \
    } while (0)

static const struct gpt_regs regs_4l = {
    .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1000, .cr4 = CR4_PAE,
    .efer = EFER_LME | EFER_LMA | EFER_NXE, .maxphyaddr = 46,
};

/* ---- paging off ---------------------------------------------------------------- */

static void test_paging_off(void **state)
{
    (void)state;
    struct gpt_regs r = { .cr0 = CR0_PE, .cr3 = 0xdead000 };
    assert_int_equal(gpt_mode(&r), GPT_MODE_NONE);
    EXPECT_GPA(&r, 0x12345678, 0, 0x12345678);
    EXPECT_GPA(&r, 0xabc00001234ull, GPT_WRITE | GPT_USER | GPT_EXEC, 0x1234);
    assert_int_equal(x.page_size, 0x1000);
    assert_int_equal(nreads, 0);
    r.cr0 = 0;                      /* real mode */
    EXPECT_GPA(&r, 0xffff0, 0, 0xffff0);
}

/* ---- 32-bit paging (SDM 4.3) --------------------------------------------------- */

static void test_32bit(void **state)
{
    (void)state;
    struct gpt_regs r = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000 };
    assert_int_equal(gpt_mode(&r), GPT_MODE_32);

    /* 4 KiB page; the upper 32 bits of the address do not matter */
    put32(entry32(r.cr3, 0x00403000, 1), 0x5000 | P | RW | US);
    EXPECT_GPA(&r, 0x00403123, 0, 0x5123);
    assert_int_equal(x.page_size, 0x1000);
    assert_int_equal(x.level, 1);
    EXPECT_GPA(&r, 0x700000000403123ull, GPT_WRITE | GPT_USER, 0x5123);
    put32(entry32(r.cr3, 0x00405000, 1), 0x6000 | PS | P | RW);   /* PAT, with PSE too */
    r.cr4 = CR4_PSE;
    EXPECT_GPA(&r, 0x00405010, 0, 0x6010);
    assert_int_equal(x.page_size, 0x1000);
    r.cr4 = 0;

    /* Not present: PDE, then PTE */
    EXPECT_PF(&r, 0x00800000, 0, 0);
    EXPECT_PF(&r, 0x00800000, GPT_WRITE | GPT_USER, PF_W | PF_U);
    EXPECT_PF(&r, 0x00404000, GPT_USER, PF_U);
    assert_int_equal(x.level, 1);

    /* 4 MiB page with CR4.PSE; PS is ignored without it */
    uint64_t pde = entry32(r.cr3, 0x00c00000, 2);
    put32(pde, 0x00400000 | PS | P | RW);
    r.cr4 = CR4_PSE;
    EXPECT_GPA(&r, 0x00c12345, 0, 0x00412345);
    assert_int_equal(x.page_size, 0x400000);
    assert_int_equal(x.level, 2);
    r.cr4 = 0;                      /* PDE -> page table at 0x400000 (zeroed: not present) */
    EXPECT_PF(&r, 0x00c12345, 0, 0);
    assert_int_equal(x.level, 1);
    r.cr4 = CR4_PSE;

    /* PSE-36: PDE bits 20:13 are physical bits 39:32; bit 21 is reserved */
    r.maxphyaddr = 40;
    put32(pde, 0x00400000 | (0x81u << 13) | PS | P);
    EXPECT_GPA(&r, 0x00c00010, 0, 0x8100400010ull);
    put32(pde, 0x00400000 | (1u << 21) | PS | P);
    EXPECT_PF(&r, 0x00c00010, 0, PF_P | PF_R);
    /* with MAXPHYADDR 36, bits 21:17 are reserved */
    r.maxphyaddr = 36;
    put32(pde, 0x00400000 | (1u << 17) | PS | P);
    EXPECT_PF(&r, 0x00c00010, GPT_WRITE, PF_P | PF_R | PF_W);
    put32(pde, 0x00400000 | (1u << 16) | PS | P);
    EXPECT_GPA(&r, 0x00c00010, 0, 0x800400010ull);    /* PDE bit 16 = bit 35 */

    /* Rights: user read of a supervisor page; user and supervisor writes to a
     * read-only page with and without CR0.WP */
    put32(pde, 0x00400000 | PS | P);
    EXPECT_PF(&r, 0x00c00000, GPT_USER, PF_P | PF_U);
    EXPECT_GPA(&r, 0x00c00000, GPT_WRITE, 0x400000);
    r.cr0 |= CR0_WP;
    EXPECT_PF(&r, 0x00c00000, GPT_WRITE, PF_P | PF_W);
    put32(pde, 0x00400000 | PS | P | US);
    EXPECT_PF(&r, 0x00c00000, GPT_WRITE | GPT_USER, PF_P | PF_W | PF_U);
    EXPECT_GPA(&r, 0x00c00000, GPT_USER, 0x400000);

    /* No XD in 32-bit paging: fetches are allowed; I/D only reported with SMEP */
    EXPECT_GPA(&r, 0x00c00000, GPT_EXEC, 0x400000);
    EXPECT_PF(&r, 0x00800000, GPT_EXEC, 0);
    r.cr4 |= CR4_SMEP;
    EXPECT_PF(&r, 0x00c00000, GPT_EXEC, PF_P | PF_I);
    EXPECT_GPA(&r, 0x00c00000, GPT_EXEC | GPT_USER, 0x400000);
    EXPECT_PF(&r, 0x00800000, GPT_EXEC, PF_I);

    /* U/S and R/W of the PDE count too */
    uint64_t pte_pde = entry32(r.cr3, 0x00403000, 2);
    put32(pte_pde, (get32(pte_pde) & ~(uint32_t)US));
    EXPECT_PF(&r, 0x00403000, GPT_USER, PF_P | PF_U);
    put32(pte_pde, (get32(pte_pde) | US) & ~(uint32_t)RW);
    EXPECT_PF(&r, 0x00403000, GPT_USER | GPT_WRITE, PF_P | PF_U | PF_W);
    EXPECT_GPA(&r, 0x00403000, GPT_USER, 0x5000);
}

/* ---- PAE paging (SDM 4.4) ------------------------------------------------------ */

static void test_pae(void **state)
{
    (void)state;
    struct gpt_regs r = { .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x3020,
                          .cr4 = CR4_PAE, .efer = EFER_NXE, .maxphyaddr = 36 };
    assert_int_equal(gpt_mode(&r), GPT_MODE_PAE);

    /* PDPT at 0x3020: 32-byte aligned, not page aligned */
    put64(pae_entry(r.cr3, 0x40201000, 1), 0x7000 | P | RW | US);
    EXPECT_GPA(&r, 0x40201abc, GPT_USER | GPT_WRITE, 0x7abc);
    assert_int_equal(x.level, 1);
    assert_int_equal(get64(0x3028) & P, P);     /* PDPTE 1 */

    /* 2 MiB page (PS honoured whatever CR4.PSE says) */
    uint64_t pde = pae_entry(r.cr3, 0x40400000, 2);
    put64(pde, 0x00200000 | PS | P | RW);
    EXPECT_GPA(&r, 0x404fffff, GPT_WRITE, 0x002fffff);
    assert_int_equal(x.page_size, 0x200000);
    assert_int_equal(x.level, 2);
    /* 2 MiB PDE: bits 20:13 reserved (12 is PAT) */
    put64(pde, 0x00200000 | (1ull << 13) | PS | P | RW);
    EXPECT_PF(&r, 0x40400000, 0, PF_P | PF_R);
    put64(pde, 0x00200000 | (1ull << 12) | PS | P | RW);
    EXPECT_GPA(&r, 0x40400000, 0, 0x200000);

    /* PAE reserves 62:M, even the bits 4-level paging ignores */
    put64(pde, 0x00200000 | (1ull << 52) | PS | P);
    EXPECT_PF(&r, 0x40400000, 0, PF_P | PF_R);
    put64(pde, 0x00200000 | (1ull << 36) | PS | P);
    EXPECT_PF(&r, 0x40400000, 0, PF_P | PF_R);
    put64(pde, 0x00200000 | (1ull << 35) | PS | P);
    EXPECT_GPA(&r, 0x40400000, 0, 0x800200000ull);

    /* XD: with NXE a fetch faults (I/D set), a read does not; without NXE bit 63 is
     * reserved */
    put64(pde, 0x00200000 | PS | P | XD);
    EXPECT_PF(&r, 0x40400000, GPT_EXEC, PF_P | PF_I);
    EXPECT_GPA(&r, 0x40400000, 0, 0x200000);
    r.efer = 0;
    EXPECT_PF(&r, 0x40400000, 0, PF_P | PF_R);
    EXPECT_PF(&r, 0x40400000, GPT_EXEC, PF_P | PF_R);   /* no I/D without NXE/SMEP */
    r.efer = EFER_NXE;

    /* PDPTEs: not present; reserved bits 2:1, 8:6 and 63:M (5, A, is set by
     * QEMU's SVM itself: accepted) */
    EXPECT_PF(&r, 0xc0000000, GPT_WRITE, PF_W);
    assert_int_equal(x.level, 3);
    uint64_t pdpte = pae_entry(r.cr3, 0x40201000, 3);
    set64(pdpte, RW);
    EXPECT_PF(&r, 0x40201000, 0, PF_P | PF_R);
    clr64(pdpte, RW);
    set64(pdpte, A);
    EXPECT_GPA(&r, 0x40201000, 0, 0x7000);
    clr64(pdpte, A);
    set64(pdpte, 1ull << 6);
    EXPECT_PF(&r, 0x40201000, 0, PF_P | PF_R);
    clr64(pdpte, 1ull << 6);
    set64(pdpte, 1ull << 63);
    EXPECT_PF(&r, 0x40201000, 0, PF_P | PF_R);
    clr64(pdpte, 1ull << 63);
    EXPECT_GPA(&r, 0x40201000, 0, 0x7000);

    /* The PDPTE registers, when given, win over memory */
    uint64_t regs[4] = { 0, 0, 0, 0 };
    r.pdptes = regs;
    EXPECT_PF(&r, 0x40201000, 0, 0);
    regs[1] = get64(pdpte);
    unsigned before = nreads;
    EXPECT_GPA(&r, 0x40201000, 0, 0x7000);
    assert_int_equal(nreads - before, 2);       /* PDE and PTE only */
    r.pdptes = NULL;

    /* Rights accumulate over PDE and PTE (PDPTEs have none) */
    uint64_t pde1 = pae_entry(r.cr3, 0x40201000, 2);
    clr64(pde1, US);
    EXPECT_PF(&r, 0x40201000, GPT_USER, PF_P | PF_U);
    set64(pde1, US);
    clr64(pde1, RW);
    EXPECT_PF(&r, 0x40201000, GPT_USER | GPT_WRITE, PF_P | PF_U | PF_W);
    EXPECT_PF(&r, 0x40201000, GPT_WRITE, PF_P | PF_W);  /* CR0.WP */
    r.cr0 &= ~CR0_WP;
    EXPECT_GPA(&r, 0x40201000, GPT_WRITE, 0x7000);
}

/* ---- 4-level paging (SDM 4.5) -------------------------------------------------- */

static void test_4level_translate(void **state)
{
    (void)state;
    const struct gpt_regs *r = &regs_4l;
    assert_int_equal(gpt_mode(r), GPT_MODE_4LEVEL);
    uint64_t all = P | RW | US;

    map64(r->cr3, 4, 0x401000, 0x9000, 1, all, all);
    EXPECT_GPA(r, 0x401fff, GPT_USER | GPT_WRITE, 0x9fff);
    assert_int_equal(x.page_size, 0x1000);
    assert_int_equal(x.leaf & ~0xfffull, 0x9000);

    map64(r->cr3, 4, 0x7f0000600000ull, 0x200000, 2, all, all | G);
    EXPECT_GPA(r, 0x7f00006abcdeull, 0, 0x2abcde);
    assert_int_equal(x.page_size, 0x200000);
    assert_true(x.leaf & G);

    /* 1 GiB page in the upper half */
    map64(r->cr3, 4, 0xffff800040000000ull, 0x80000000ull, 3, all, P | RW);
    EXPECT_GPA(r, 0xffff800040000000ull + 0x12345678, GPT_WRITE, 0x80000000ull + 0x12345678);
    assert_int_equal(x.page_size, 1u << 30);
    assert_int_equal(x.level, 3);

    /* In a PTE bit 7 is PAT, not PS (4.9.2): still a 4 KiB page (found by
     * tests/fuzz/fuzz_gpt_walk.c: the walk used to end without a leaf). */
    map64(r->cr3, 4, 0x403000, 0xa000, 1, all, all | PS);
    EXPECT_GPA(r, 0x403123, GPT_WRITE, 0xa123);
    assert_int_equal(x.page_size, 0x1000);
    assert_int_equal(x.level, 1);

    /* Not present at each level */
    EXPECT_PF(r, 0x0000100000000000ull, 0, 0);                  /* PML4E */
    assert_int_equal(x.level, 4);
    EXPECT_PF(r, 0x40000000, GPT_USER, PF_U);                   /* PDPTE */
    assert_int_equal(x.level, 3);
    EXPECT_PF(r, 0x40000000 - 0x200000, GPT_WRITE, PF_W);       /* PDE */
    assert_int_equal(x.level, 2);
    EXPECT_PF(r, 0x402000, GPT_EXEC, PF_I);                     /* PTE; I/D with NXE */
    assert_int_equal(x.level, 1);

    /* Non-canonical */
    assert_int_equal(walk(r, 0x0000800000000000ull, 0), GPT_NON_CANONICAL);
    assert_int_equal(walk(r, 0xfff0800000000000ull, 0), GPT_NON_CANONICAL);
}

static void test_4level_reserved(void **state)
{
    (void)state;
    struct gpt_regs r = regs_4l;        /* MAXPHYADDR 46 */
    uint64_t all = P | RW | US;
    map64(r.cr3, 4, 0x401000, 0x9000, 1, all, all);
    uint64_t pml4e = entry64(r.cr3, 4, 0x401000, 4, 0);
    uint64_t pdpte = entry64(r.cr3, 4, 0x401000, 3, 0);
    uint64_t pde = entry64(r.cr3, 4, 0x401000, 2, 0);
    uint64_t pte = entry64(r.cr3, 4, 0x401000, 1, 0);

    /* PML4E.PS is reserved */
    set64(pml4e, PS);
    EXPECT_PF(&r, 0x401000, 0, PF_P | PF_R);
    assert_int_equal(x.level, 4);
    clr64(pml4e, PS);
    /* Address bits at and above MAXPHYADDR; bits 62:52 are ignored */
    set64(pte, 1ull << 46);
    EXPECT_PF(&r, 0x401000, GPT_USER, PF_P | PF_R | PF_U);
    clr64(pte, 1ull << 46);
    set64(pde, 1ull << 51);
    EXPECT_PF(&r, 0x401000, 0, PF_P | PF_R);
    clr64(pde, 1ull << 51);
    set64(pte, 0x7ffull << 52);
    EXPECT_GPA(&r, 0x401000, 0, 0x9000);
    clr64(pte, 0x7ffull << 52);
    /* MAXPHYADDR 0 means 52: bit 51 is an address bit */
    r.maxphyaddr = 0;
    set64(pte, 1ull << 51);
    EXPECT_GPA(&r, 0x401000, 0, (1ull << 51) | 0x9000);
    clr64(pte, 1ull << 51);
    r.maxphyaddr = 46;
    /* XD without EFER.NXE is reserved at every level */
    r.efer &= ~EFER_NXE;
    set64(pdpte, XD);
    EXPECT_PF(&r, 0x401000, GPT_EXEC, PF_P | PF_R);
    r.efer |= EFER_NXE;
    EXPECT_PF(&r, 0x401000, GPT_EXEC, PF_P | PF_I);
    EXPECT_GPA(&r, 0x401000, GPT_WRITE, 0x9000);
    clr64(pdpte, XD);

    /* 1 GiB page: 29:13 reserved; reserved altogether without Page1GB */
    uint64_t big = entry64(r.cr3, 4, 0x80000000ull, 3, all);
    put64(big, 0x40000000 | PS | P | (1ull << 13));
    EXPECT_PF(&r, 0x80000000ull, 0, PF_P | PF_R);
    put64(big, 0x40000000 | PS | P | (1ull << 12));     /* PAT */
    EXPECT_GPA(&r, 0x80000123ull, 0, 0x40000123);
    r.flags = GPT_F_NO_1G_PAGES;
    EXPECT_PF(&r, 0x80000123ull, 0, PF_P | PF_R);
    assert_int_equal(x.level, 3);
    r.flags = 0;
    /* 2 MiB page: 20:13 reserved */
    uint64_t mid = entry64(r.cr3, 4, 0xc0000000ull, 2, all);
    put64(mid, 0x200000 | PS | P | (1ull << 20));
    EXPECT_PF(&r, 0xc0000000ull, 0, PF_P | PF_R);
    assert_int_equal(x.level, 2);
}

static void test_4level_rights(void **state)
{
    (void)state;
    struct gpt_regs r = regs_4l;
    uint64_t all = P | RW | US;
    /* a user page, a supervisor page, a read-only user page, an XD user page */
    map64(r.cr3, 4, 0x10000, 0x10000, 1, all, all);
    map64(r.cr3, 4, 0x11000, 0x11000, 1, all, P | RW);
    map64(r.cr3, 4, 0x12000, 0x12000, 1, all, P | US);
    map64(r.cr3, 4, 0x13000, 0x13000, 1, all, all | XD);

    /* user accesses */
    EXPECT_GPA(&r, 0x10000, GPT_USER | GPT_WRITE, 0x10000);
    EXPECT_GPA(&r, 0x10000, GPT_USER | GPT_EXEC, 0x10000);
    EXPECT_PF(&r, 0x11000, GPT_USER, PF_P | PF_U);
    EXPECT_PF(&r, 0x11000, GPT_USER | GPT_EXEC, PF_P | PF_U | PF_I);
    EXPECT_PF(&r, 0x12000, GPT_USER | GPT_WRITE, PF_P | PF_U | PF_W);
    EXPECT_PF(&r, 0x13000, GPT_USER | GPT_EXEC, PF_P | PF_U | PF_I);
    EXPECT_GPA(&r, 0x13000, GPT_USER, 0x13000);

    /* supervisor: WP */
    EXPECT_PF(&r, 0x12000, GPT_WRITE, PF_P | PF_W);
    r.cr0 &= ~CR0_WP;
    EXPECT_GPA(&r, 0x12000, GPT_WRITE, 0x12000);
    r.cr0 |= CR0_WP;

    /* SMEP: supervisor fetches from user pages */
    EXPECT_GPA(&r, 0x10000, GPT_EXEC, 0x10000);
    r.cr4 |= CR4_SMEP;
    EXPECT_PF(&r, 0x10000, GPT_EXEC, PF_P | PF_I);
    EXPECT_GPA(&r, 0x11000, GPT_EXEC, 0x11000);
    EXPECT_GPA(&r, 0x10000, GPT_EXEC | GPT_USER, 0x10000);
    EXPECT_GPA(&r, 0x10000, 0, 0x10000);          /* SMEP is about fetches only */

    /* SMAP: supervisor data accesses to user pages, unless explicit with AC=1 */
    r.cr4 |= CR4_SMAP;
    EXPECT_PF(&r, 0x10000, 0, PF_P);
    EXPECT_PF(&r, 0x10000, GPT_WRITE, PF_P | PF_W);
    EXPECT_GPA(&r, 0x10000, GPT_AC, 0x10000);
    EXPECT_GPA(&r, 0x10000, GPT_AC | GPT_WRITE, 0x10000);
    EXPECT_PF(&r, 0x10000, GPT_AC | GPT_IMPLICIT, PF_P);
    EXPECT_PF(&r, 0x12000, GPT_AC | GPT_WRITE, PF_P | PF_W);   /* AC does not beat WP */
    EXPECT_GPA(&r, 0x11000, GPT_WRITE, 0x11000);  /* supervisor pages unaffected */
    EXPECT_GPA(&r, 0x10000, GPT_USER, 0x10000);   /* user accesses unaffected */
    /* an implicit supervisor access made at CPL 3 (GPT_USER | GPT_IMPLICIT): a
     * supervisor access, and U/S = 0 in the error code */
    EXPECT_GPA(&r, 0x11000, GPT_USER | GPT_IMPLICIT, 0x11000);
    EXPECT_PF(&r, 0x10000, GPT_USER | GPT_IMPLICIT, PF_P);

    /* NX: supervisor fetch from an XD page */
    r.cr4 &= ~(CR4_SMEP | CR4_SMAP);
    EXPECT_PF(&r, 0x13000, GPT_EXEC, PF_P | PF_I);

    /* U/S and R/W are the AND of every level: clear U/S in the PML4E */
    uint64_t pml4e = entry64(r.cr3, 4, 0x10000, 4, 0);
    clr64(pml4e, US);
    EXPECT_PF(&r, 0x10000, GPT_USER, PF_P | PF_U);
    set64(pml4e, US);
    uint64_t pdpte = entry64(r.cr3, 4, 0x10000, 3, 0);
    clr64(pdpte, RW);
    EXPECT_PF(&r, 0x10000, GPT_USER | GPT_WRITE, PF_P | PF_U | PF_W);
    EXPECT_GPA(&r, 0x10000, GPT_USER, 0x10000);
    /* ... and XD is the OR */
    set64(pdpte, RW | XD);
    EXPECT_PF(&r, 0x10000, GPT_EXEC | GPT_USER, PF_P | PF_U | PF_I);
}

static void test_5level(void **state)
{
    (void)state;
    struct gpt_regs r = regs_4l;
    r.cr4 |= CR4_LA57;
    assert_int_equal(gpt_mode(&r), GPT_MODE_5LEVEL);
    uint64_t gva = 0xff7fabcd12345000ull;           /* canonical with 57 bits */
    map64(r.cr3, 5, gva, 0x6000, 1, P | RW, P | RW);
    EXPECT_GPA(&r, gva + 0x321, 0, 0x6321);
    assert_int_equal(walk(&r, 0xfe7fabcd12345000ull, 0), GPT_NON_CANONICAL);
    /* the same address is non-canonical with 4 levels */
    r.cr4 &= ~CR4_LA57;
    assert_int_equal(walk(&r, gva, 0), GPT_NON_CANONICAL);
    /* PML5E.PS is reserved */
    r.cr4 |= CR4_LA57;
    set64(entry64(r.cr3, 5, gva, 5, 0), PS);
    EXPECT_PF(&r, gva, 0, PF_P | PF_R);
    assert_int_equal(x.level, 5);
}

static void test_bad_gpa(void **state)
{
    (void)state;
    struct gpt_regs r = regs_4l;

    /* CR3 outside guest memory */
    r.cr3 = 0x40000000;
    assert_int_equal(walk(&r, 0x1000, 0), GPT_BAD_GPA);
    assert_int_equal(x.fault_gpa, 0x40000000);
    assert_int_equal(x.level, 4);

    /* a PDE pointing outside */
    r.cr3 = 0x1000;
    map64(r.cr3, 4, 0x200000, 0, 1, P | RW, P | RW);
    uint64_t pde = entry64(r.cr3, 4, 0x200000, 2, 0);
    put64(pde, 0x7ff000000ull | P | RW);
    assert_int_equal(walk(&r, 0x200000 + 5 * 0x1000, 0), GPT_BAD_GPA);
    assert_int_equal(x.fault_gpa, 0x7ff000000ull + 5 * 8);
    assert_int_equal(x.level, 1);

    /* 32-bit and PAE */
    struct gpt_regs r32 = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0xfff00000 };
    assert_int_equal(walk(&r32, 0x00400000, 0), GPT_BAD_GPA);
    assert_int_equal(x.fault_gpa, 0xfff00004);
    struct gpt_regs rpae = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0xfff00000, .cr4 = CR4_PAE };
    assert_int_equal(walk(&rpae, 0xc0000000, 0), GPT_BAD_GPA);
    assert_int_equal(x.fault_gpa, 0xfff00018);
    assert_int_equal(x.level, 3);

    /* no memory callbacks at all */
    struct gpt_mem none = { 0 };
    assert_int_equal(gpt_walk(&regs_4l, 0x1000, 0, &none, &x), GPT_BAD_GPA);
}

static void test_accessed_dirty(void **state)
{
    (void)state;
    const struct gpt_regs *r = &regs_4l;
    map64(r->cr3, 4, 0x401000, 0x9000, 1, P | RW, P | RW);
    uint64_t e[4];
    for (unsigned l = 1; l <= 4; l++)
        e[l - 1] = entry64(r->cr3, 4, 0x401000, l, 0);

    /* without GPT_SET_AD, or without a write callback: nothing is written */
    assert_int_equal(gpt_walk(r, 0x401000, GPT_WRITE, &mem, &x), GPT_OK);
    assert_int_equal(gpt_walk(r, 0x401000, GPT_WRITE | GPT_SET_AD, &mem_ro, &x), GPT_OK);
    assert_int_equal(nwrites, 0);

    /* a faulting access sets nothing */
    assert_int_equal(gpt_walk(r, 0x401000, GPT_USER | GPT_SET_AD, &mem, &x),
                     GPT_PAGE_FAULT);
    assert_int_equal(nwrites, 0);

    /* a read sets A everywhere, D nowhere */
    assert_int_equal(gpt_walk(r, 0x401000, GPT_SET_AD, &mem, &x), GPT_OK);
    for (unsigned l = 0; l < 4; l++) {
        assert_true(get64(e[l]) & A);
        assert_false(get64(e[l]) & D);
    }
    assert_int_equal(nwrites, 4);
    assert_true(x.leaf & A);
    /* a second read writes nothing; a write sets D in the leaf only */
    assert_int_equal(gpt_walk(r, 0x401000, GPT_SET_AD, &mem, &x), GPT_OK);
    assert_int_equal(nwrites, 4);
    assert_int_equal(gpt_walk(r, 0x401000, GPT_WRITE | GPT_SET_AD, &mem, &x), GPT_OK);
    assert_int_equal(nwrites, 5);
    assert_true(get64(e[0]) & D);
    for (unsigned l = 1; l < 4; l++)
        assert_false(get64(e[l]) & D);
    assert_true(x.leaf & D);

    /* 32-bit entries are written as 4 bytes */
    struct gpt_regs r32 = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x2000, .cr4 = CR4_PSE };
    put32(entry32(r32.cr3, 0x00c00000, 2), 0x00400000 | PS | P | RW);
    put32(0x2000 + 0x00c00000 / 0x400000 * 4 + 4, 0xaaaaaaaa);  /* the next PDE */
    assert_int_equal(gpt_walk(&r32, 0x00c00000, GPT_WRITE | GPT_SET_AD, &mem, &x), GPT_OK);
    assert_int_equal(get32(0x2000 + 3 * 4), 0x00400000 | PS | P | RW | A | D);
    assert_int_equal(get32(0x2000 + 4 * 4), 0xaaaaaaaa);
}

/* ---- gpt_read_virt -------------------------------------------------------------- */

static void test_read_virt(void **state)
{
    (void)state;
    const struct gpt_regs *r = &regs_4l;
    uint64_t all = P | RW | US;
    /* two adjacent virtual pages on non-adjacent frames, then an XD page, then a
     * hole, and a page whose frame lies outside guest memory */
    map64(r->cr3, 4, 0x400000, 0x8000, 1, all, all);
    map64(r->cr3, 4, 0x401000, 0x3000, 1, all, all);
    map64(r->cr3, 4, 0x402000, 0x5000, 1, all, all | XD);
    map64(r->cr3, 4, 0x404000, 0x7f000000, 1, all, all);
    for (unsigned i = 0; i < 16; i++) {
        gmem[0x8ff8 + i] = (uint8_t)(0x10 + i);     /* spills into 0x9000.. */
        gmem[0x3000 + i] = (uint8_t)(0x80 + i);
    }

    uint8_t buf[32];
    unsigned copied = 99;
    struct gpt_xlat f;
    uint64_t fva = 0;

    /* 8 bytes at the end of the first page, 7 from the second (another frame) */
    memset(buf, 0, sizeof buf);
    assert_int_equal(gpt_read_virt(r, 0x400ff8, buf, 15, GPT_EXEC, &mem, &copied, &f, &fva),
                     GPT_OK);
    assert_int_equal(copied, 15);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(buf[i], 0x10 + i);
    for (unsigned i = 0; i < 7; i++)
        assert_int_equal(buf[8 + i], 0x80 + i);

    /* into an XD page: the bytes before it arrive, then #PF with I/D at its start */
    assert_int_equal(gpt_read_virt(r, 0x401ffc, buf, 15, GPT_EXEC | GPT_USER, &mem, &copied,
                                   &f, &fva), GPT_PAGE_FAULT);
    assert_int_equal(copied, 4);
    assert_int_equal(fva, 0x402000);
    assert_int_equal(f.pf_error, PF_P | PF_U | PF_I);
    /* a data read of the same range goes on into the hole at 0x403000 */
    assert_int_equal(gpt_read_virt(r, 0x402ffe, buf, 4, 0, &mem, &copied, &f, &fva),
                     GPT_PAGE_FAULT);
    assert_int_equal(copied, 2);
    assert_int_equal(fva, 0x403000);
    assert_int_equal(f.pf_error, 0);
    /* a frame outside guest memory */
    assert_int_equal(gpt_read_virt(r, 0x404010, buf, 4, 0, &mem, &copied, &f, &fva),
                     GPT_BAD_GPA);
    assert_int_equal(copied, 0);
    assert_int_equal(f.fault_gpa, 0x7f000010);
    /* NULL out-parameters are fine; length 0 does nothing */
    assert_int_equal(gpt_read_virt(r, 0x403000, buf, 1, 0, &mem, NULL, NULL, NULL),
                     GPT_PAGE_FAULT);
    assert_int_equal(gpt_read_virt(r, 0x403000, buf, 0, 0, &mem, &copied, NULL, NULL),
                     GPT_OK);
    assert_int_equal(copied, 0);

    /* A read spanning many pages */
    static uint8_t big[3 * 4096];
    for (unsigned i = 0; i < 3; i++)
        map64(r->cr3, 4, 0x500000 + i * 0x1000ull, 0x20000 + (2 - i) * 0x1000ull, 1, all, all);
    for (unsigned i = 0; i < 3 * 4096; i++)
        gmem[0x20000 + i] = (uint8_t)(i / 4096 + 1);
    assert_int_equal(gpt_read_virt(r, 0x500000, big, sizeof big, 0, &mem, &copied, NULL,
                                   NULL), GPT_OK);
    assert_int_equal(big[0], 3);
    assert_int_equal(big[4096], 2);
    assert_int_equal(big[2 * 4096 + 4095], 1);

    /* 32-bit paging: the linear address wraps at 4 GiB */
    struct gpt_regs r32 = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x2000 };
    put32(entry32(r32.cr3, 0xfffff000, 1), 0x7000 | P);
    put32(entry32(r32.cr3, 0x00000000, 1), 0x6000 | P);
    gmem[0x7ffe] = 0xaa;
    gmem[0x7fff] = 0xbb;
    gmem[0x6000] = 0xcc;
    gmem[0x6001] = 0xdd;
    assert_int_equal(gpt_read_virt(&r32, 0xfffffffe, buf, 4, 0, &mem, &copied, NULL, NULL),
                     GPT_OK);
    assert_int_equal(buf[0], 0xaa);
    assert_int_equal(buf[1], 0xbb);
    assert_int_equal(buf[2], 0xcc);
    assert_int_equal(buf[3], 0xdd);

    /* paging off: physical reads, also failing ones */
    struct gpt_regs off = { .cr0 = CR0_PE };
    assert_int_equal(gpt_read_virt(&off, 0x7ffe, buf, 2, 0, &mem, &copied, NULL, NULL),
                     GPT_OK);
    assert_int_equal(buf[0], 0xaa);
    assert_int_equal(gpt_read_virt(&off, MEM_SIZE - 2, buf, 4, 0, &mem, &copied, &f, &fva),
                     GPT_BAD_GPA);
    assert_int_equal(copied, 2);
    assert_int_equal(fva, MEM_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_paging_off, setup),
        cmocka_unit_test_setup(test_32bit, setup),
        cmocka_unit_test_setup(test_pae, setup),
        cmocka_unit_test_setup(test_4level_translate, setup),
        cmocka_unit_test_setup(test_4level_reserved, setup),
        cmocka_unit_test_setup(test_4level_rights, setup),
        cmocka_unit_test_setup(test_5level, setup),
        cmocka_unit_test_setup(test_bad_gpa, setup),
        cmocka_unit_test_setup(test_accessed_dirty, setup),
        cmocka_unit_test_setup(test_read_virt, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
