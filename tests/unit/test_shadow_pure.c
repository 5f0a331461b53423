/* vmm/shadow_pure: the shadow leaf for each kind of guest translation (D before
 * write access, U/S, NX, the CR0.WP=0 supervisor-only remap, paging off), the
 * root key, and the registers the CPU runs a shadow-paged guest with. */
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
    /* Long mode active: EFER as the guest has it. */
    h = shadow_hw_regs(CR0_PE | CR0_PG, CR4_PAE, EFER_LME | EFER_LMA);
    assert_int_equal(h.efer, EFER_LME | EFER_LMA);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
