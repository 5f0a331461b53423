/* MSI-X (PCI Local Bus Specification 3.0, 6.8.2): a function's capability, its
 * vector table and pending-bit array in one of its memory BARs, and the
 * delivery rule: a vector fires a message (address, data) unless it or the whole
 * function is masked, in which case its pending bit is set and the message goes
 * out when it is unmasked (6.8.2.9). The message goes to the VM's local APICs
 * through the deliver callback (SDM Vol. 3A 11.11 has the address/data format).
 * Pure code: unit-tested in tests/unit/test_msix.c. */
#ifndef DEV_MSIX_H
#define DEV_MSIX_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/pci.h"

#define MSIX_MAX_VECTORS   64
#define MSIX_ENTRY_SIZE    16             /* address low, high, data, vector control */
#define MSIX_CAP_LEN       12
#define MSIX_CTRL_ENABLE   (1u << 15)     /* message control (6.8.2.3) */
#define MSIX_CTRL_MASKALL  (1u << 14)
#define MSIX_ENTRY_MASKED  1u             /* vector control bit 0 (6.8.2.9) */
#define MSIX_NO_VECTOR     0xFFFF         /* virtio's VIRTIO_MSI_NO_VECTOR too */

struct msix {
    struct pci_function *f;
    unsigned cap;                         /* the capability's offset */
    unsigned nvec;
    uint32_t table[MSIX_MAX_VECTORS][4];
    uint64_t pending;                     /* one bit per vector (the PBA) */
    void (*deliver)(void *ctx, uint64_t address, uint32_t data);
    void *ctx;
};

/* Adds the capability to f: nvec vectors, the table at table_off and the PBA at
 * pba_off of BAR bar (offsets 8-byte aligned). Every vector starts masked. 0, or
 * -1 if the configuration space is full. */
int msix_init(struct msix *m, struct pci_function *f, unsigned nvec, unsigned bar,
              uint32_t table_off, uint32_t pba_off,
              void (*deliver)(void *ctx, uint64_t address, uint32_t data), void *ctx);
/* The driver turned MSI-X on (enable set in message control). */
bool msix_enabled(const struct msix *m);
/* Vector vec fires: delivered now or left pending. False if vec is out of range
 * or MSI-X is off (the caller then uses INTx). */
bool msix_notify(struct msix *m, unsigned vec);
/* Accesses of 4 or 8 bytes to the table and the PBA, offsets relative to them
 * (other sizes: reads 0, writes dropped). A write that unmasks a vector with its
 * pending bit set delivers it. */
uint64_t msix_table_read(const struct msix *m, uint64_t off, unsigned size);
void msix_table_write(struct msix *m, uint64_t off, unsigned size, uint64_t val);
uint64_t msix_pba_read(const struct msix *m, uint64_t off, unsigned size);
/* The device's config_written saw a write at reg: if it reached message control,
 * deliver what the change unmasked. */
void msix_config_written(struct msix *m, unsigned reg, unsigned size);
/* Device reset: vectors masked, nothing pending, MSI-X off. */
void msix_reset(struct msix *m);
#endif
