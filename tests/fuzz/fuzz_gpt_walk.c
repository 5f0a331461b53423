/* libFuzzer target for vmm/gpt_walk: guest page tables are the guest's to write,
 * so any bytes in them, any paging registers and any address must give a walk
 * that reads only guest memory through the callback, never writes without
 * GPT_SET_AD, and keeps the CPU's promises (SDM Vol. 3A 4.6-4.8):
 * - a translation keeps the address's offset within the page it found;
 * - a #PF error code has W and U as the access had them (an implicit access is a
 *   supervisor one), and P clear only for a
 *   not-present entry (so RSVD implies P);
 * - after a walk with GPT_SET_AD succeeded, walking again gives the same result
 *   and writes nothing (A, and D for a write, are already set).
 * Input: 64 bytes of registers and access, then guest memory from GPA 0 (the
 * rest of it zero). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/gpt_walk.h"

#define MEM_PAGES 16
#define MEM_SIZE  (MEM_PAGES * 4096u)
#define HDR       64
#define SIZE_4K   0x1000ull
#define SIZE_2M   0x200000ull
#define SIZE_4M   0x400000ull
#define SIZE_1G   0x40000000ull

static uint8_t mem[MEM_SIZE];
static unsigned writes;
static bool writes_allowed;

static bool mem_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
    (void)ctx;
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
        return false;
    memcpy(buf, mem + gpa, len);
    return true;
}

static bool mem_write(void *ctx, uint64_t gpa, const void *buf, unsigned len)
{
    (void)ctx;
    if (!writes_allowed)
        abort();
    writes++;
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
        return false;
    memcpy(mem + gpa, buf, len);
    return true;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void check(const struct gpt_regs *r, uint64_t gva, unsigned access, enum gpt_result res,
                  const struct gpt_xlat *x)
{
    switch (res) {
    case GPT_OK: {
        bool paging = r->cr0 & (1ull << 31);
        uint64_t ps = x->page_size;
        if (ps != SIZE_4K && ps != SIZE_2M && ps != SIZE_4M && ps != SIZE_1G)
            abort();
        if (paging && (x->gpa & (ps - 1)) != (gva & (ps - 1)))
            abort();
        break;
    }
    case GPT_PAGE_FAULT: {
        uint32_t e = x->pf_error;
        if (!!(e & GPT_PF_W) != !!(access & GPT_WRITE))
            abort();
        bool user = (access & GPT_USER) && !(access & GPT_IMPLICIT);   /* 4.6 */
        if (!!(e & GPT_PF_U) != user)
            abort();
        if ((e & GPT_PF_RSVD) && !(e & GPT_PF_P))
            abort();
        break;
    }
    case GPT_BAD_GPA:
    case GPT_NON_CANONICAL:
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR)
        return 0;
    memset(mem, 0, sizeof mem);
    memcpy(mem, data + HDR, size - HDR < MEM_SIZE ? size - HDR : MEM_SIZE);
    struct gpt_regs r = {
        .cr0 = rd64(data), .cr3 = rd64(data + 8), .cr4 = rd64(data + 16),
        .efer = rd64(data + 24), .maxphyaddr = data[48] % 53, .flags = data[49] & GPT_F_NO_1G_PAGES,
    };
    uint64_t pdptes[4];
    if (data[50] & 1) {                 /* VMX's PDPTE registers instead of memory */
        for (unsigned i = 0; i < 4; i++)
            pdptes[i] = rd64(mem + 8 * i);
        r.pdptes = pdptes;
    }
    uint64_t gva = rd64(data + 32);
    unsigned access = data[40] & (GPT_WRITE | GPT_USER | GPT_EXEC | GPT_IMPLICIT | GPT_AC);
    struct gpt_mem m = { .read = mem_read, .write = mem_write };
    struct gpt_xlat x, y;

    writes_allowed = false;             /* a plain walk only reads */
    enum gpt_result plain = gpt_walk(&r, gva, access, &m, &x);
    check(&r, gva, access, plain, &x);

    writes_allowed = true;
    enum gpt_result first = gpt_walk(&r, gva, access | GPT_SET_AD, &m, &x);
    check(&r, gva, access, first, &x);
    if (first != plain)                 /* setting A/D is not a reason to fail */
        abort();
    /* Again (not for PAE PDPTEs read from memory: there a D bit set in a table
     * that is also the PDPT is a reserved bit of a PDPTE, which a real CPU would
     * not see before the next CR3 load, as it holds PDPTEs in registers: 4.4.1). */
    bool pdptes_in_memory = gpt_mode(&r) == GPT_MODE_PAE && !r.pdptes;
    if (first == GPT_OK && !pdptes_in_memory) {
        writes = 0;
        enum gpt_result again = gpt_walk(&r, gva, access | GPT_SET_AD, &m, &y);
        if (again != GPT_OK || writes || y.gpa != x.gpa || y.page_size != x.page_size)
            abort();
    }

    uint8_t buf[32];
    unsigned copied;
    writes_allowed = false;
    enum gpt_result rv = gpt_read_virt(&r, gva, buf, data[41] % sizeof buf + 1, access, &m,
                                       &copied, &y, NULL);
    if (copied > sizeof buf || (rv == GPT_OK && copied != data[41] % sizeof buf + 1))
        abort();
    return 0;
}
