/* MSI-X (dev/msix.h). */
#include "dev/msix.h"

#define CTRL(m) ((m)->cap + 2)

bool msix_enabled(const struct msix *m)
{
    return pci_cfg_get(m->f, CTRL(m), 2) & MSIX_CTRL_ENABLE;
}

static bool function_masked(const struct msix *m)
{
    return pci_cfg_get(m->f, CTRL(m), 2) & MSIX_CTRL_MASKALL;
}

static bool vector_masked(const struct msix *m, unsigned vec)
{
    return function_masked(m) || (m->table[vec][3] & MSIX_ENTRY_MASKED);
}

static void fire(struct msix *m, unsigned vec)
{
    uint64_t address = m->table[vec][0] | (uint64_t)m->table[vec][1] << 32;
    m->deliver(m->ctx, address, m->table[vec][2]);
}

bool msix_notify(struct msix *m, unsigned vec)
{
    if (vec >= m->nvec || !msix_enabled(m))
        return false;
    if (vector_masked(m, vec))
        m->pending |= 1ull << vec;       /* 6.8.2.9: held, delivered on unmask */
    else
        fire(m, vec);
    return true;
}

/* Deliver what is pending and no longer masked. */
static void flush_pending(struct msix *m)
{
    if (!msix_enabled(m))
        return;
    for (unsigned v = 0; v < m->nvec; v++)
        if ((m->pending >> v & 1) && !vector_masked(m, v)) {
            m->pending &= ~(1ull << v);
            fire(m, v);
        }
}

static uint32_t table_dword(const struct msix *m, uint64_t off)
{
    uint64_t vec = off / MSIX_ENTRY_SIZE;
    return vec < m->nvec ? m->table[vec][(off % MSIX_ENTRY_SIZE) / 4] : 0;
}

uint64_t msix_table_read(const struct msix *m, uint64_t off, unsigned size)
{
    /* 6.8.2: software accesses the table with aligned dwords or qwords. */
    if ((size != 4 && size != 8) || off % size)
        return 0;
    uint64_t v = table_dword(m, off);
    if (size == 8)
        v |= (uint64_t)table_dword(m, off + 4) << 32;
    return v;
}

static void table_dword_write(struct msix *m, uint64_t off, uint32_t val)
{
    uint64_t vec = off / MSIX_ENTRY_SIZE;
    unsigned word = (unsigned)(off % MSIX_ENTRY_SIZE) / 4;
    if (vec >= m->nvec)
        return;
    if (word == 3)
        val &= MSIX_ENTRY_MASKED;        /* the other vector-control bits are reserved */
    m->table[vec][word] = val;
}

void msix_table_write(struct msix *m, uint64_t off, unsigned size, uint64_t val)
{
    if ((size != 4 && size != 8) || off % size)
        return;
    table_dword_write(m, off, (uint32_t)val);
    if (size == 8)
        table_dword_write(m, off + 4, (uint32_t)(val >> 32));
    flush_pending(m);
}

uint64_t msix_pba_read(const struct msix *m, uint64_t off, unsigned size)
{
    if ((size != 4 && size != 8) || off % size || off >= 8)
        return 0;
    uint64_t v = m->pending >> (8 * off);
    return size == 4 ? (uint32_t)v : v;
}

void msix_config_written(struct msix *m, unsigned reg, unsigned size)
{
    if (reg < CTRL(m) + 2 && reg + size > CTRL(m))
        flush_pending(m);
}

void msix_reset(struct msix *m)
{
    for (unsigned v = 0; v < m->nvec; v++) {
        m->table[v][0] = m->table[v][1] = m->table[v][2] = 0;
        m->table[v][3] = MSIX_ENTRY_MASKED;
    }
    m->pending = 0;
    pci_cfg_set(m->f, CTRL(m), 2, pci_cfg_get(m->f, CTRL(m), 2) &
                                      ~(MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL));
}

int msix_init(struct msix *m, struct pci_function *f, unsigned nvec, unsigned bar,
              uint32_t table_off, uint32_t pba_off,
              void (*deliver)(void *ctx, uint64_t address, uint32_t data), void *ctx)
{
    if (nvec == 0 || nvec > MSIX_MAX_VECTORS)
        return -1;
    unsigned cap = pci_function_add_cap(f, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
    if (!cap)
        return -1;
    *m = (struct msix){ .f = f, .cap = cap, .nvec = nvec, .deliver = deliver, .ctx = ctx };
    /* Message control: table size - 1 (read-only), enable and function mask. */
    pci_cfg_set(f, cap + 2, 2, nvec - 1);
    f->wmask[cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
    pci_cfg_set(f, cap + 4, 4, table_off | bar);     /* offset 31:3, BIR 2:0 */
    pci_cfg_set(f, cap + 8, 4, pba_off | bar);
    msix_reset(m);
    return 0;
}
