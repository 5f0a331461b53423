/* vmm/shadow_pure: the shadow leaf for each kind of guest translation (D before
 * write access, U/S, NX, the CR0.WP=0 supervisor-only remap, paging off), the
 * root key, the registers the CPU runs a shadow-paged guest with, and which
 * shadow entries a write to a guest page table reaches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/shadow_pure.h"

#define CR0_PE   1ull
#define CR0_WP   (1ull << 16)
#define CR0_PG   (1ull << 31)
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define CR4_PGE  (1ull << 7)
#define CR4_OSFXSR (1ull << 9)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define P  (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define PWT (1ull << 3)
#define PCD (1ull << 4)
#define A  (1ull << 5)
#define D  (1ull << 6)
#define G  (1ull << 8)
#define XD (1ull << 63)
#define HPA 0x12345000ull

static struct gpt_xlat xl(uint64_t leaf, bool user, bool writable, bool nx)
{
    return (struct gpt_xlat){ .leaf = leaf, .user = user, .writable = writable, .nx = nx };
}

static void test_dirty_before_write(void **state)
{
    (void)state;
    struct gpt_xlat x = xl(P | RW | A, false, true, false);
    assert_int_equal(shadow_leaf(&x, true, true, 0, HPA), HPA | P);         /* read: not yet D */
    x.leaf |= D;
    assert_int_equal(shadow_leaf(&x, true, true, GPT_WRITE, HPA), HPA | P | RW);
}

static void test_rights(void **state)
{
    (void)state;
    struct gpt_xlat x = xl(P | RW | US | A | D | G | PWT | PCD, true, true, true);
    /* U/S and XD as combined over the walk, PWT/PCD kept, G never (4.10.2.4). */
    assert_int_equal(shadow_leaf(&x, true, true, 0, HPA), HPA | P | RW | US | PWT | PCD | XD);
    x = xl(P | A | D, true, false, false);
    assert_int_equal(shadow_leaf(&x, true, true, GPT_USER, HPA), HPA | P | US);
}

static void test_wp0(void **state)
{
    (void)state;
    struct gpt_xlat x = xl(P | US | A | D, true, false, false);
    /* A supervisor write to a read-only user page with CR0.WP=0: writable, but
     * only for the supervisor; a user read then gets it back read-only. */
    assert_int_equal(shadow_leaf(&x, true, false, GPT_WRITE, HPA), HPA | P | RW);
    assert_int_equal(shadow_leaf(&x, true, false, GPT_USER, HPA), HPA | P | US);
    /* WP=1, or a user write: never writable. */
    assert_int_equal(shadow_leaf(&x, true, true, GPT_WRITE, HPA), HPA | P | US);
    assert_int_equal(shadow_leaf(&x, true, false, GPT_WRITE | GPT_USER, HPA), HPA | P | US);
}

static void test_paging_off(void **state)
{
    (void)state;
    struct gpt_xlat x = { 0 };
    assert_int_equal(shadow_leaf(&x, false, false, 0, HPA), HPA | P | RW | US);
}

static void test_mode_key(void **state)
{
    (void)state;
    assert_int_equal(shadow_mode_key(CR0_PE, CR4_PAE, EFER_NXE), 0);
    /* real mode: an identity root of its own (the backend's hidden pages) */
    assert_int_equal(shadow_mode_key(0, CR4_PAE, EFER_NXE), SHADOW_MODE_REAL);
    assert_int_equal(shadow_mode_key(0, 0, 0), SHADOW_MODE_REAL);
    uint64_t k32 = shadow_mode_key(CR0_PE | CR0_PG, 0, 0);
    assert_true(k32 != 0);
    assert_true(shadow_mode_key(CR0_PE | CR0_PG | CR0_WP, 0, 0) != k32);
    assert_true(shadow_mode_key(CR0_PE | CR0_PG, CR4_PAE, 0) != k32);
    assert_true(shadow_mode_key(CR0_PE | CR0_PG, CR4_PSE, 0) != k32);
    assert_true(shadow_mode_key(CR0_PE | CR0_PG, 0, EFER_NXE) != k32);
    /* Bits that do not change the entries do not change the root. */
    assert_int_equal(shadow_mode_key(CR0_PE | CR0_PG, CR4_PGE | CR4_OSFXSR, EFER_SCE), k32);
}

static void test_hw_regs(void **state)
{
    (void)state;
    /* Paging off, long mode armed: the CPU pages (PAE) without LME. */
    struct shadow_hw h = shadow_hw_regs(CR0_PE, CR4_PGE | CR4_OSFXSR | CR4_PCIDE, EFER_LME | EFER_NXE);
    assert_int_equal(h.cr0, CR0_PE | CR0_PG | CR0_WP);
    assert_int_equal(h.cr4, CR4_PAE | CR4_OSFXSR);
    assert_int_equal(h.efer, EFER_NXE);
    /* Long mode active: EFER as the guest has it, and NXE always, so that the #PF
     * error code tells fetches from reads (a guest without NXE and SMEP). */
    h = shadow_hw_regs(CR0_PE | CR0_PG, CR4_PAE, EFER_LME | EFER_LMA);
    assert_int_equal(h.efer, EFER_LME | EFER_LMA | EFER_NXE);
    h = shadow_hw_regs(CR0_PE | CR0_PG, CR4_SMAP, 0);
    assert_int_equal(h.efer, EFER_NXE);
    /* SMEP and SMAP only with the guest's paging on: its identity map without
     * paging has user entries (issue 18, guests/attack.c). */
    h = shadow_hw_regs(CR0_PE, CR4_SMEP | CR4_SMAP | CR4_OSXSAVE, 0);
    assert_int_equal(h.cr4, CR4_PAE | CR4_OSXSAVE);
    h = shadow_hw_regs(CR0_PE | CR0_PG, CR4_SMEP | CR4_SMAP, 0);
    assert_int_equal(h.cr4, CR4_PAE | CR4_SMEP | CR4_SMAP);
}

/* Which shadow entries a guest table write reaches (shadow_written_entries). */
#define MIB (1ull << 20)
#define GIB (1ull << 30)

static void check_written(const struct shadow_mirror *m, uint64_t lo, uint64_t hi,
                          bool any, unsigned first, unsigned end)
{
    unsigned f = 99, e = 99;
    assert_int_equal(shadow_written_entries(m, lo, hi, &f, &e), any);
    if (any) {
        assert_int_equal(f, first);
        assert_int_equal(e, end);
    }
}

static void test_written_32bit(void **state)
{
    (void)state;
    /* A 32-bit PD (1024 x 4 bytes, 4 MiB each) seen by the PAE root's directory
     * for 1-2 GiB: PDE 256 is its entries 0 and 1, PDE 511 its 510 and 511. */
    struct shadow_mirror pd = { .va = GIB, .level = 2, .gbase = 0, .goff = 0,
                                .gents = 1024, .esize = 4, .gshift = 22 };
    check_written(&pd, 256 * 4, 256 * 4 + 4, true, 0, 2);
    check_written(&pd, 511 * 4, 512 * 4, true, 510, 512);
    check_written(&pd, 255 * 4, 257 * 4, true, 0, 2);          /* PDE 255 is not ours */
    check_written(&pd, 10 * 4, 11 * 4, false, 0, 0);           /* the first GiB */
    check_written(&pd, 600 * 4, 601 * 4, false, 0, 0);         /* the third */
    check_written(&pd, 256 * 4 + 3, 256 * 4 + 5, true, 0, 4);  /* a write across two PDEs */
    /* A 32-bit PT (4 MiB) seen by the second of its two shadow PTs. */
    struct shadow_mirror pt = { .va = 0x400000 + 2 * MIB, .level = 1, .gbase = 0x400000,
                                .goff = 0, .gents = 1024, .esize = 4, .gshift = 12 };
    check_written(&pt, 512 * 4, 513 * 4, true, 0, 1);
    check_written(&pt, 1023 * 4, 1024 * 4, true, 511, 512);
    check_written(&pt, 0, 512 * 4, false, 0, 0);               /* the first half's */
    check_written(&pt, 0, 4096, true, 0, 512);                 /* the whole page */
}

static void test_written_pae_pdpt(void **state)
{
    (void)state;
    /* A PAE PDPT at CR3 offset 0x60 of its page: 4 entries of 1 GiB. */
    struct shadow_mirror top = { .va = 0, .level = 3, .gbase = 0, .goff = 0x60,
                                 .gents = 4, .esize = 8, .gshift = 30 };
    check_written(&top, 0x60, 0x68, true, 0, 1);
    check_written(&top, 0x78, 0x80, true, 3, 4);
    check_written(&top, 0x80, 0x88, false, 0, 0);              /* after it in the page */
    check_written(&top, 0x0, 0x60, false, 0, 0);               /* before it */
    check_written(&top, 0x5c, 0x64, true, 0, 1);
    check_written(&top, 0x64, 0x64, false, 0, 0);              /* nothing written */
}

static void test_written_4level(void **state)
{
    (void)state;
    /* PML4 (the root's top), and a PD covering 1-2 GiB: same spans as the shadow. */
    struct shadow_mirror pml4 = { .va = 0, .level = 4, .gbase = 0, .goff = 0,
                                  .gents = 512, .esize = 8, .gshift = 39 };
    check_written(&pml4, 511 * 8, 512 * 8, true, 511, 512);
    check_written(&pml4, 0, 8, true, 0, 1);
    struct shadow_mirror pd = { .va = GIB, .level = 2, .gbase = GIB, .goff = 0,
                                .gents = 512, .esize = 8, .gshift = 21 };
    check_written(&pd, 5 * 8, 5 * 8 + 4, true, 5, 6);          /* the low half of PDE 5 */
    check_written(&pd, 5 * 8 + 4, 6 * 8, true, 5, 6);          /* its high half (XD) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirty_before_write),
        cmocka_unit_test(test_rights),
        cmocka_unit_test(test_wp0),
        cmocka_unit_test(test_paging_off),
        cmocka_unit_test(test_mode_key),
        cmocka_unit_test(test_hw_regs),
        cmocka_unit_test(test_written_32bit),
        cmocka_unit_test(test_written_pae_pdpt),
        cmocka_unit_test(test_written_4level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
