/* The virtio PCI transport (dev/virtio_pci.h). Field layouts and constants come
 * from Linux's UAPI headers (<linux/virtio_pci.h>, <linux/virtio_config.h>,
 * linux-libc-dev); every field is little-endian, as x86 is. */
#include <stddef.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include "dev/virtio_pci.h"

#define COMMON(field) offsetof(struct virtio_pci_common_cfg, field)
#define FEATURE(bit) (1ull << (bit))
/* What the transport itself offers (6): VERSION_1 (no legacy interface), indirect
 * descriptors and EVENT_IDX (dev/virtio_ring.h implements both). */
#define TRANSPORT_FEATURES (FEATURE(VIRTIO_F_VERSION_1) | FEATURE(VIRTIO_RING_F_INDIRECT_DESC) | \
                            FEATURE(VIRTIO_RING_F_EVENT_IDX))

static uint64_t offered(const struct virtio_pci *vp)
{
    return vp->dev_ops->features | TRANSPORT_FEATURES;
}

/* --- interrupts ------------------------------------------------------------- */

static void raise_isr(struct virtio_pci *vp, uint8_t bit)
{
    vp->isr |= bit;
    vp->host->set_intx(vp->host->ctx, true);
}

static void interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
    /* 4.1.5.3/4.1.5.4: with MSI-X on, the vector (none: no interrupt); off, INTx
     * with the ISR bit saying why. */
    if (msix_enabled(&vp->msix)) {
        if (vector != VIRTIO_MSI_NO_VECTOR)
            msix_notify(&vp->msix, vector);
        return;
    }
    raise_isr(vp, isr_bit);
}

void virtio_pci_queue_interrupt(struct virtio_pci *vp, unsigned q)
{
    interrupt(vp, vp->vq_vector[q], VPCI_ISR_QUEUE);
}

void virtio_pci_needs_reset(struct virtio_pci *vp, const char *why)
{
    if (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET)
        return;
    vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    vp->host->log(vp->host->ctx, "device needs reset", why);
    interrupt(vp, vp->config_vector, VIRTIO_PCI_ISR_CONFIG);
}

bool virtio_pci_queue_live(const struct virtio_pci *vp, unsigned q)
{
    return q < vp->dev_ops->nqueues && vp->vq[q].ready && !vp->vq[q].error &&
           (vp->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
           !(vp->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* --- status and reset ------------------------------------------------------- */

static void device_reset(struct virtio_pci *vp)
{
    vp->dev_ops->reset(vp->dev);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        vp->vq[q] = (struct virtq){ .size = vp->dev_ops->queue_max };
        vp->vq_vector[q] = VIRTIO_MSI_NO_VECTOR;
    }
    vp->config_vector = VIRTIO_MSI_NO_VECTOR;
    vp->device_feature_select = vp->driver_feature_select = 0;
    vp->driver_features = vp->features = 0;
    vp->status = 0;
    vp->queue_select = 0;
    vp->isr = 0;
    vp->host->set_intx(vp->host->ctx, false);
}

static void write_status(struct virtio_pci *vp, uint8_t val)
{
    if (val == 0) {                          /* 4.1.4.3.1: writing 0 resets */
        device_reset(vp);
        return;
    }
    if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        /* 3.1.1: the device leaves FEATURES_OK clear for a subset it refuses. */
        uint64_t want = vp->driver_features;
        if (!(want & FEATURE(VIRTIO_F_VERSION_1))) {
            vp->host->log(vp->host->ctx, "driver refused",
                          "it did not accept VIRTIO_F_VERSION_1 (a legacy-only driver; "
                          "hv86's virtio devices are modern only)");
            val &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
        } else if (want & ~offered(vp)) {
            vp->host->log(vp->host->ctx, "driver refused", "it accepted features not offered");
            val &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
        } else if (vp->dev_ops->features_ok && !vp->dev_ops->features_ok(vp->dev, want)) {
            vp->host->log(vp->host->ctx, "driver refused",
                          "its features break a dependency the device spec gives");
            val &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
        } else {
            vp->features = want;
        }
    }
    /* NEEDS_RESET is the device's to set; the driver keeps it by writing back. */
    vp->status = (uint8_t)((val & ~VIRTIO_CONFIG_S_NEEDS_RESET) |
                           (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET));
}

/* --- the common configuration structure (4.1.4.3) --------------------------- */

static struct virtq *selected(struct virtio_pci *vp)
{
    return vp->queue_select < vp->dev_ops->nqueues ? &vp->vq[vp->queue_select] : 0;
}

static uint64_t common_read(struct virtio_pci *vp, unsigned off)
{
    struct virtq *q = selected(vp);
    switch (off) {
    case COMMON(device_feature_select): return vp->device_feature_select;
    case COMMON(device_feature):
        return vp->device_feature_select < 2
                   ? (uint32_t)(offered(vp) >> (32 * vp->device_feature_select)) : 0;
    case COMMON(guest_feature_select): return vp->driver_feature_select;
    case COMMON(guest_feature):
        return vp->driver_feature_select < 2
                   ? (uint32_t)(vp->driver_features >> (32 * vp->driver_feature_select)) : 0;
    case COMMON(msix_config): return vp->config_vector;
    case COMMON(num_queues): return vp->dev_ops->nqueues;
    case COMMON(device_status): return vp->status;
    case COMMON(config_generation): return vp->config_generation;
    case COMMON(queue_select): return vp->queue_select;
    /* 4.1.4.3.2: a queue_select past the last queue reads queue_size 0. */
    case COMMON(queue_size): return q ? q->size : 0;
    case COMMON(queue_msix_vector):
        return q ? vp->vq_vector[vp->queue_select] : VIRTIO_MSI_NO_VECTOR;
    case COMMON(queue_enable): return q ? q->ready : 0;
    case COMMON(queue_notify_off): return q ? vp->queue_select : 0;
    case COMMON(queue_desc_lo): return q ? (uint32_t)q->desc_gpa : 0;
    case COMMON(queue_desc_hi): return q ? (uint32_t)(q->desc_gpa >> 32) : 0;
    case COMMON(queue_avail_lo): return q ? (uint32_t)q->avail_gpa : 0;
    case COMMON(queue_avail_hi): return q ? (uint32_t)(q->avail_gpa >> 32) : 0;
    case COMMON(queue_used_lo): return q ? (uint32_t)q->used_gpa : 0;
    case COMMON(queue_used_hi): return q ? (uint32_t)(q->used_gpa >> 32) : 0;
    default: return 0;
    }
}

static void set_half(uint64_t *field, bool high, uint32_t val)
{
    *field = high ? (*field & 0xFFFFFFFFu) | (uint64_t)val << 32
                  : (*field & ~0xFFFFFFFFull) | val;
}

/* An MSI-X vector the driver names must exist, else it reads back NO_VECTOR
 * (4.1.5.1.2: "the device MUST return VIRTIO_MSI_NO_VECTOR" on failure). */
static uint16_t vector_or_none(const struct virtio_pci *vp, uint64_t val)
{
    return val < vp->msix.nvec ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

static void queue_enable(struct virtio_pci *vp, struct virtq *q)
{
    q->event_idx = vp->features & FEATURE(VIRTIO_RING_F_EVENT_IDX);
    q->indirect = vp->features & FEATURE(VIRTIO_RING_F_INDIRECT_DESC);
    if (!virtq_check_config(q, &vp->mem)) {
        virtio_pci_needs_reset(vp, q->error);
        return;
    }
    q->ready = true;
}

static void common_write(struct virtio_pci *vp, unsigned off, uint64_t val)
{
    struct virtq *q = selected(vp);
    /* 4.1.4.3.2: queue registers change only while the queue is disabled. */
    bool q_writable = q && !q->ready;
    switch (off) {
    case COMMON(device_feature_select): vp->device_feature_select = (uint32_t)val; break;
    case COMMON(guest_feature_select): vp->driver_feature_select = (uint32_t)val; break;
    case COMMON(guest_feature):
        if (vp->driver_feature_select < 2 && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK))
            set_half(&vp->driver_features, vp->driver_feature_select, (uint32_t)val);
        break;
    case COMMON(msix_config): vp->config_vector = vector_or_none(vp, val); break;
    case COMMON(device_status): write_status(vp, (uint8_t)val); break;
    case COMMON(queue_select): vp->queue_select = (uint16_t)val; break;
    case COMMON(queue_size):
        /* A power of 2 up to the maximum (2.7); anything else is checked at enable. */
        if (q_writable)
            q->size = (uint16_t)val;
        break;
    case COMMON(queue_msix_vector):
        if (q)
            vp->vq_vector[vp->queue_select] = vector_or_none(vp, val);
        break;
    case COMMON(queue_enable):
        /* Only 1 may be written (4.1.4.3.2); queue_reset is not offered. */
        if (q_writable && val == 1)
            queue_enable(vp, q);
        break;
    case COMMON(queue_desc_lo): if (q_writable) set_half(&q->desc_gpa, false, (uint32_t)val); break;
    case COMMON(queue_desc_hi): if (q_writable) set_half(&q->desc_gpa, true, (uint32_t)val); break;
    case COMMON(queue_avail_lo): if (q_writable) set_half(&q->avail_gpa, false, (uint32_t)val); break;
    case COMMON(queue_avail_hi): if (q_writable) set_half(&q->avail_gpa, true, (uint32_t)val); break;
    case COMMON(queue_used_lo): if (q_writable) set_half(&q->used_gpa, false, (uint32_t)val); break;
    case COMMON(queue_used_hi): if (q_writable) set_half(&q->used_gpa, true, (uint32_t)val); break;
    default: break;                          /* read-only or nothing there */
    }
}

/* The size of common-configuration field off, 0 for none: 4.1.4.3 gives each
 * field's width and the driver accesses it with exactly that width. */
static unsigned common_width(unsigned off)
{
    switch (off) {
    case COMMON(device_status): case COMMON(config_generation): return 1;
    case COMMON(msix_config): case COMMON(num_queues): case COMMON(queue_select):
    case COMMON(queue_size): case COMMON(queue_msix_vector): case COMMON(queue_enable):
    case COMMON(queue_notify_off): return 2;
    default: return off < sizeof(struct virtio_pci_common_cfg) && off % 4 == 0 ? 4 : 0;
    }
}

/* --- BAR 0 ------------------------------------------------------------------- */

static enum bus_result bar_access(struct virtio_pci *vp, uint64_t off, unsigned size, bool write,
                                  uint64_t *val)
{
    uint64_t rd = 0;
    if (off < VPCI_COMMON + VPCI_REGION) {
        unsigned w = common_width((unsigned)off);
        bool pair = off == COMMON(queue_desc_lo) || off == COMMON(queue_avail_lo) ||
                    off == COMMON(queue_used_lo);
        if (pair && size == 8) {             /* both halves of a 64-bit address */
            if (write) {
                common_write(vp, (unsigned)off, *val & 0xFFFFFFFFu);
                common_write(vp, (unsigned)off + 4, *val >> 32);
            } else {
                rd = common_read(vp, (unsigned)off) | common_read(vp, (unsigned)off + 4) << 32;
            }
        } else if (w && w == size) {
            if (write)
                common_write(vp, (unsigned)off, *val);
            else
                rd = common_read(vp, (unsigned)off);
        }
    } else if (off < VPCI_ISR + VPCI_REGION) {
        /* 4.1.4.5: reading the ISR clears it and deasserts INTx. */
        if (!write && off == VPCI_ISR) {
            rd = vp->isr;
            vp->isr = 0;
            vp->host->set_intx(vp->host->ctx, false);
        }
    } else if (off < VPCI_DEVICE_CFG + VPCI_REGION) {
        unsigned o = (unsigned)(off - VPCI_DEVICE_CFG);
        if (o + size <= vp->dev_ops->config_size) {
            if (write)
                vp->dev_ops->config_access(vp->dev, o, size, true, val);
            else
                vp->dev_ops->config_access(vp->dev, o, size, false, &rd);
        }
    } else if (off < VPCI_NOTIFY + VPCI_REGION) {
        unsigned q = (unsigned)(off - VPCI_NOTIFY) / VPCI_NOTIFY_MULT;
        if (write && virtio_pci_queue_live(vp, q))
            vp->dev_ops->queue_notify(vp->dev, vp, q);
    } else if (off < VPCI_MSIX_TABLE + VPCI_REGION) {
        if (write)
            msix_table_write(&vp->msix, off - VPCI_MSIX_TABLE, size, *val);
        else
            rd = msix_table_read(&vp->msix, off - VPCI_MSIX_TABLE, size);
    } else if (off < VPCI_MSIX_PBA + VPCI_REGION) {
        if (!write)
            rd = msix_pba_read(&vp->msix, off - VPCI_MSIX_PBA, size);
    }
    if (!write)
        *val = rd;
    return BUS_OK;
}

enum bus_result virtio_pci_bar_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                      bool write, uint64_t *val)
{
    (void)v;
    return bar_access(dev, offset, size, write, val);
}

/* --- configuration space ------------------------------------------------------ */

/* VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): the driver picks bar, offset and length in
 * the capability, then pci_cfg_data reads or writes BAR 0 there. */
#define CFG_DATA(vp) ((vp)->cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data))

static bool cfg_window(struct virtio_pci *vp, uint64_t *off, unsigned *len)
{
    unsigned c = vp->cfg_cap;
    unsigned bar = pci_cfg_get(&vp->pci, c + VIRTIO_PCI_CAP_BAR, 1);
    *off = pci_cfg_get(&vp->pci, c + VIRTIO_PCI_CAP_OFFSET, 4);
    *len = pci_cfg_get(&vp->pci, c + VIRTIO_PCI_CAP_LENGTH, 4);
    /* 4.1.4.9.1: length 1, 2 or 4, offset aligned to it, inside the BAR. */
    return bar == 0 && (*len == 1 || *len == 2 || *len == 4) && *off % *len == 0 &&
           *off + *len <= VPCI_BAR_SIZE;
}

static void config_reading(struct pci_function *f, unsigned reg, unsigned size)
{
    struct virtio_pci *vp = f->ctx;
    uint64_t off, v = 0;
    unsigned len;
    if (reg < CFG_DATA(vp) + 4 && reg + size > CFG_DATA(vp) && cfg_window(vp, &off, &len)) {
        bar_access(vp, off, len, false, &v);
        pci_cfg_set(f, CFG_DATA(vp), 4, (uint32_t)v);
    }
}

static void config_written(struct pci_function *f, unsigned reg, unsigned size)
{
    struct virtio_pci *vp = f->ctx;
    uint64_t off, v;
    unsigned len;
    msix_config_written(&vp->msix, reg, size);
    if (reg < CFG_DATA(vp) + 4 && reg + size > CFG_DATA(vp) && cfg_window(vp, &off, &len)) {
        v = pci_cfg_get(f, CFG_DATA(vp), len);
        bar_access(vp, off, len, true, &v);
    }
    if (vp->host->config_written)
        vp->host->config_written(vp->host->ctx, reg, size);
}

static unsigned add_cap(struct virtio_pci *vp, uint8_t type, unsigned len, uint32_t offset,
                        uint32_t length)
{
    unsigned c = pci_function_add_cap(&vp->pci, PCI_CAP_ID_VENDOR, len);
    if (c) {
        pci_cfg_set(&vp->pci, c + VIRTIO_PCI_CAP_LEN, 1, len);
        pci_cfg_set(&vp->pci, c + VIRTIO_PCI_CAP_CFG_TYPE, 1, type);
        pci_cfg_set(&vp->pci, c + VIRTIO_PCI_CAP_BAR, 1, 0);
        pci_cfg_set(&vp->pci, c + VIRTIO_PCI_CAP_OFFSET, 4, offset);
        pci_cfg_set(&vp->pci, c + VIRTIO_PCI_CAP_LENGTH, 4, length);
    }
    return c;
}

int virtio_pci_init(struct virtio_pci *vp, const struct virtio_device *d, void *dev,
                    unsigned slot, uint64_t bar_addr, unsigned line,
                    const struct virtio_pci_host *host, struct virtq_mem mem)
{
    if (d->nqueues == 0 || d->nqueues > VIRTIO_MAX_QUEUES ||
        d->nqueues * VPCI_NOTIFY_MULT > VPCI_REGION ||
        d->config_size > VPCI_REGION)
        return -1;
    *vp = (struct virtio_pci){ .dev_ops = d, .dev = dev, .host = host, .mem = mem };
    struct pci_function *f = &vp->pci;
    /* 4.1.2.1: modern device ID, revision 1; the subsystem IDs as QEMU's. */
    pci_function_init(f, slot, 0, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->type),
                      d->class_rev | VIRTIO_PCI_REVISION, VIRTIO_PCI_VENDOR,
                      (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->type), 1, line);
    f->ctx = vp;
    f->config_reading = config_reading;
    f->config_written = config_written;
    pci_function_bar64(f, 0, VPCI_BAR_SIZE, bar_addr);
    pci_cfg_set(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    unsigned n = sizeof(struct virtio_pci_cap);
    unsigned notify = add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, sizeof(struct virtio_pci_notify_cap),
                              VPCI_NOTIFY, d->nqueues * VPCI_NOTIFY_MULT);
    if (!add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, n, VPCI_COMMON,
                 sizeof(struct virtio_pci_common_cfg)) || !notify ||
        !add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, n, VPCI_ISR, 1) ||
        !add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, n, VPCI_DEVICE_CFG, d->config_size))
        return -1;
    pci_cfg_set(f, notify + VIRTIO_PCI_NOTIFY_CAP_MULT, 4, VPCI_NOTIFY_MULT);
    vp->cfg_cap = add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, sizeof(struct virtio_pci_cfg_cap), 0, 0);
    if (!vp->cfg_cap)
        return -1;
    /* The driver chooses the window: bar, offset, length and the data are writable. */
    f->wmask[vp->cfg_cap + VIRTIO_PCI_CAP_BAR] = 0xFF;
    for (unsigned i = 0; i < 4; i++) {
        f->wmask[vp->cfg_cap + VIRTIO_PCI_CAP_OFFSET + i] = 0xFF;
        f->wmask[vp->cfg_cap + VIRTIO_PCI_CAP_LENGTH + i] = 0xFF;
        f->wmask[CFG_DATA(vp) + i] = 0xFF;
    }
    /* One vector per queue and one for configuration changes. */
    if (msix_init(&vp->msix, f, d->nqueues + 1, 0, VPCI_MSIX_TABLE, VPCI_MSIX_PBA,
                  host->deliver_msi, host->ctx) != 0)
        return -1;
    device_reset(vp);
    return 0;
}
