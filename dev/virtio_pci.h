/* The virtio 1.x PCI transport (virtio 1.2, 4.1): a modern-only virtio device as
 * a PCI function of bus 0 (vendor 0x1AF4, device 0x1040 + type, revision 1), its
 * configuration structures in one 64-bit memory BAR found through vendor-specific
 * capabilities, MSI-X, and INTx when the driver does not enable MSI-X. The device
 * proper (virtio-blk, virtio-net) supplies a struct virtio_device; the transport
 * owns feature negotiation, device status and reset, and the queues' registers.
 *
 * BAR 0 (VPCI_BAR_SIZE bytes):
 *   0x0000 common configuration (4.1.4.3)    0x3000 notifications, 4 bytes/queue
 *   0x1000 ISR status (4.1.4.5)              0x4000 MSI-X table
 *   0x2000 device-specific configuration     0x5000 MSI-X pending bits
 * Pure code: unit-tested in tests/unit/test_virtio_pci.c. */
#ifndef DEV_VIRTIO_PCI_H
#define DEV_VIRTIO_PCI_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"
#include "dev/msix.h"
#include "dev/pci.h"
#include "dev/virtio_ring.h"

#define VIRTIO_PCI_VENDOR      0x1AF4
#define VIRTIO_PCI_DEVICE_BASE 0x1040     /* + device type (4.1.2.1) */
#define VIRTIO_PCI_REVISION    1          /* modern only: no transitional device */
#define VPCI_ISR_QUEUE   1u         /* ISR bit 0 (4.1.4.5); bit 1 is VIRTIO_PCI_ISR_CONFIG */
#define VPCI_BAR_SIZE    0x8000u
#define VPCI_COMMON      0x0000u
#define VPCI_ISR         0x1000u
#define VPCI_DEVICE_CFG  0x2000u
#define VPCI_NOTIFY      0x3000u
#define VPCI_NOTIFY_MULT 4u
#define VPCI_MSIX_TABLE  0x4000u
#define VPCI_MSIX_PBA    0x5000u
#define VPCI_REGION      0x1000u    /* each structure's window */
#define VIRTIO_MAX_QUEUES      16

struct virtio_pci;

/* The device proper, behind the transport. */
struct virtio_device {
    unsigned type;                 /* virtio device ID (5): 2 block, 1 network */
    uint32_t class_rev;            /* PCI class code << 8 (the revision is set here) */
    uint64_t features;             /* device-specific bits (0-23, and 50+) */
    unsigned nqueues;
    uint16_t queue_max;            /* each queue's largest size */
    unsigned config_size;          /* bytes of its configuration structure */
    /* Reads and writes of its configuration structure (offset < config_size). */
    void (*config_access)(void *dev, unsigned off, unsigned size, bool write, uint64_t *val);
    /* The driver notified queue q (ready, DRIVER_OK set). */
    void (*queue_notify)(void *dev, struct virtio_pci *vp, unsigned q);
    /* Device reset (status 0 written): drop in-flight work. */
    void (*reset)(void *dev);
    /* The driver sets FEATURES_OK with features (a subset of those offered):
     * false refuses them (a combination the device cannot work with). NULL:
     * any subset will do. */
    bool (*features_ok)(void *dev, uint64_t features);
};

/* What the transport needs from the machine: INTx level, a message to log. */
struct virtio_pci_host {
    void (*set_intx)(void *ctx, bool level);
    void (*log)(void *ctx, const char *what, const char *why);
    void (*deliver_msi)(void *ctx, uint64_t address, uint32_t data);
    /* After every configuration-space write (the BAR may have moved). */
    void (*config_written)(void *ctx, unsigned reg, unsigned size);
    void *ctx;
};

struct virtio_pci {
    struct pci_function pci;
    struct msix msix;
    const struct virtio_device *dev_ops;
    void *dev;
    const struct virtio_pci_host *host;
    struct virtq_mem mem;
    struct virtq vq[VIRTIO_MAX_QUEUES];
    uint16_t vq_vector[VIRTIO_MAX_QUEUES];
    uint16_t config_vector;
    uint32_t device_feature_select, driver_feature_select;
    uint64_t driver_features;      /* as the driver wrote them */
    uint64_t features;             /* negotiated: set at FEATURES_OK */
    uint8_t status;
    uint8_t config_generation;
    uint16_t queue_select;
    uint8_t isr;                   /* bit 0 queue, bit 1 configuration change */
    unsigned cfg_cap;              /* offset of the PCI configuration access cap */
};

/* Sets up the function at bus 0 dev:0 with its BAR at bar_addr (memory decoding
 * on, as firmware leaves it) and INTA# routed to interrupt line `line`: 0 or -1. */
int virtio_pci_init(struct virtio_pci *vp, const struct virtio_device *d, void *dev,
                    unsigned slot, uint64_t bar_addr, unsigned line,
                    const struct virtio_pci_host *host, struct virtq_mem mem);
/* Accesses to BAR 0 (offset within it). */
enum bus_result virtio_pci_bar_access(void *vp, struct vcpu *v, uint64_t offset, unsigned size,
                                      bool write, uint64_t *val);
/* Queue q has new used entries: interrupt the driver if it wants one (MSI-X
 * vector, or ISR bit 0 and INTx). */
void virtio_pci_queue_interrupt(struct virtio_pci *vp, unsigned q);
/* The device cannot go on (a corrupt ring): DEVICE_NEEDS_RESET (2.1.2), the
 * reason logged, a configuration interrupt. */
void virtio_pci_needs_reset(struct virtio_pci *vp, const char *why);
/* Is queue q usable (enabled, device live)? */
bool virtio_pci_queue_live(const struct virtio_pci *vp, unsigned q);
#endif
