/* A VM's disks: the glue between the pure models (dev/blk_cow, dev/virtio_blk,
 * dev/virtio_pci, dev/msix) and the VM (vmm/disks.h). */
#include <stddef.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include "arch/units.h"
#include "dev/blk_cow.h"
#include "dev/virtio_blk.h"
#include "dev/virtio_pci.h"
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "lib/format.h"
#include "vmm/disks.h"
#include "vmm/irq.h"
#include "vmm/pci_glue.h"
#include "vmm/platform.h"
#include "vmm/vm.h"

/* Slots, BARs and INTA# are vmm/pci_glue.h's. */
#define PCI_CLASS_STORAGE_SCSI 0x010000u  /* what QEMU's virtio-blk-pci reports */
#define DISK_QUEUE_SIZE 256

struct vm_disk {
    struct vm *vm;
    unsigned index;                  /* 0: vda */
    char name[4];                    /* "vda" */
    struct blk_cow cow;
    struct blk_disk disk;
    struct virtio_blk blk;
    struct virtio_pci vp;
    struct virtio_pci_host host;
    struct virtio_device dev;
    unsigned slot;
    struct pci_bar_range bar;
    bool intx;                       /* our INTA# asserted */
    uint64_t overlay_full_logged;
    struct virtq_chain chain;        /* the request being served (one at a time) */
    struct virtio_blk_req req;
};

struct vm_disks {
    unsigned n;
    struct vm_disk *d[CONFIG_DISKS_MAX];
};

#define DISK_PAGES ((sizeof(struct vm_disk) + PAGE_SIZE - 1) / PAGE_SIZE)

/* --- what the models ask of the VM ------------------------------------------ */

static void *map_guest(void *ctx, uint64_t gpa, uint64_t len)
{
    return vm_gpa_to_hva(ctx, gpa, len);
}

static void *overlay_page(void *ctx)
{
    (void)ctx;
    return page_alloc();
}

static void overlay_page_free(void *ctx, void *page)
{
    (void)ctx;
    page_free(page);
}

static const struct blk_cow_pages overlay_pages = { overlay_page, overlay_page_free, 0 };

static void set_intx(void *ctx, bool asserted)
{
    struct vm_disk *d = ctx;
    if (asserted == d->intx)
        return;
    d->intx = asserted;
    pci_glue_intx(d->vm, d->slot, asserted);
}

static void say(void *ctx, const char *what, const char *why)
{
    struct vm_disk *d = ctx;
    kprintf("hv86: vm %s: disk %s: %s: %s\n", d->vm->name, d->name, what, why);
}

static void deliver_msi(void *ctx, uint64_t address, uint32_t data)
{
    struct vm_disk *d = ctx;
    if (!irq_msi(d->vm, address, data))
        say(d, "MSI-X message dropped", "its address is not the local APICs' (0xfeexxxxx)");
}

/* BAR 0 follows the guest (PCI 3.0, 6.2.5.1). Runs inside a configuration-space
 * access, with the bus locked already (dev/bus.h). */
static void sync_bar(struct vm_disk *d)
{
    pci_glue_bar_sync(d->vm, &d->vp.pci, VPCI_BAR_SIZE, &d->bar, d->name,
                      virtio_pci_bar_access, &d->vp);
}

static void config_written(void *ctx, unsigned reg, unsigned size)
{
    (void)reg;
    (void)size;
    sync_bar(ctx);
}

/* --- the device -------------------------------------------------------------- */

static void blk_config_access(void *ctx, unsigned off, unsigned size, bool write, uint64_t *val)
{
    struct vm_disk *d = ctx;
    if (write)
        return;                          /* writeback and friends are not offered */
    struct virtio_blk_config cfg;
    virtio_blk_fill_config(&d->disk, 1, &cfg);
    uint64_t v = 0;
    const uint8_t *b = (const uint8_t *)&cfg;
    for (unsigned i = 0; i < size && off + i < sizeof cfg; i++)
        v |= (uint64_t)b[off + i] << (8 * i);
    *val = v;
}

/* One request, carried out and handed back. */
static bool serve(void *ctx, struct virtq_chain *c)
{
    struct vm_disk *d = ctx;
    if (virtio_blk_process(&d->blk, c, &d->req) != VIRTIO_BLK_REQ_DONE) {
        virtio_pci_needs_reset(&d->vp, d->req.broken ? d->req.broken : "request not answered");
        return false;
    }
    return virtq_push(&d->vp.vq[0], &d->vp.mem, c->head, d->req.written);
}

/* The driver notified the request queue: every request it holds, with
 * notifications off meanwhile (2.7.10), then an interrupt if it wants one. */
static void blk_queue_notify(void *ctx, struct virtio_pci *vp, unsigned qi)
{
    struct vm_disk *d = ctx;
    struct virtq *q = &vp->vq[qi];
    int served = virtq_drain(q, &vp->mem, &d->chain, serve, d);
    if (q->error) {
        virtio_pci_needs_reset(vp, q->error);
        return;
    }
    if (d->cow.overlay_full != d->overlay_full_logged) {
        d->overlay_full_logged = d->cow.overlay_full;
        kprintf("hv86: vm %s: disk %s: overlay full (%lu bytes): a write failed with "
                "VIRTIO_BLK_S_IOERR\n", d->vm->name, d->name, d->cow.overlay_limit);
    }
    if (served > 0 && virtq_should_notify(q, &vp->mem))
        virtio_pci_queue_interrupt(vp, qi);
}

static void blk_reset(void *ctx)
{
    (void)ctx;                           /* requests complete within the notify */
}

/* --- attach and detach -------------------------------------------------------- */

static void disk_free(struct vm_disk *d)
{
    blk_cow_fini(&d->cow);
    frames_free(d, DISK_PAGES);
}

static int attach_one(struct vm *vm, struct vm_disks *ds, const struct disk_config *dc,
                      uint64_t overlay, struct pci_host *pci)
{
    unsigned i = ds->n;
    const struct boot_module *m = bootinfo_module(dc->source);
    if (!m) {
        vm_stop(vm, "disk '%s': no boot module has that name", dc->source);
        return -1;
    }
    struct vm_disk *d = frames_alloc(DISK_PAGES, 1);
    if (!d) {
        vm_stop(vm, "out of hypervisor memory for disk '%s'", dc->source);
        return -1;
    }
    *d = (struct vm_disk){ .vm = vm, .index = i, .slot = PCI_SLOT_DISK_FIRST + i,
                           .bar = { .id = -1 } };
    fmt_snprintf(d->name, sizeof d->name, "vd%c", 'a' + i);
    if (!blk_cow_init(&d->cow, &d->disk, dc->source, hva_of(m->start),
                      m->end - m->start, dc->read_only, overlay, &overlay_pages)) {
        frames_free(d, DISK_PAGES);
        vm_stop(vm, "disk '%s': cannot set up its overlay", dc->source);
        return -1;
    }
    virtio_blk_init(&d->blk, &d->disk, dc->source);
    d->dev = (struct virtio_device){
        .type = VIRTIO_ID_BLOCK, .class_rev = PCI_CLASS_STORAGE_SCSI << 8,
        .features = virtio_blk_device_features(&d->disk), .nqueues = 1,
        .queue_max = DISK_QUEUE_SIZE, .config_size = sizeof(struct virtio_blk_config),
        .config_access = blk_config_access, .queue_notify = blk_queue_notify,
        .reset = blk_reset,
    };
    d->host = (struct virtio_pci_host){ .set_intx = set_intx, .log = say,
                                        .deliver_msi = deliver_msi,
                                        .config_written = config_written, .ctx = d };
    struct virtq_mem mem = { map_guest, vm };
    if (virtio_pci_init(&d->vp, &d->dev, d, d->slot, pci_glue_bar_home(d->slot),
                        pci_glue_intx_gsi(d->slot), &d->host, mem) != 0 ||
        pci_host_add(pci, &d->vp.pci) != 0) {
        disk_free(d);
        vm_stop(vm, "disk '%s': its PCI function could not be set up", dc->source);
        return -1;
    }
    ds->d[ds->n++] = d;
    bus_lock(&vm->bus);
    sync_bar(d);
    bus_unlock(&vm->bus);
    if (d->bar.id < 0) {
        vm_stop(vm, "disk '%s': its BAR could not be placed", dc->source);
        return -1;
    }
    kprintf("hv86: vm %s: disk %s: %s, %lu sectors%s, virtio-blk at 00:%02x.0\n", vm->name,
            d->name, dc->source, d->disk.capacity, dc->read_only ? ", read-only" : "",
            d->slot);
    return 0;
}

int disks_attach(struct vm *vm, const struct vm_config *c)
{
    if (!c->ndisks)
        return 0;
    struct pci_host *pci = platform_pci(vm);
    if (!pci) {
        vm_stop(vm, "disks need the PCI memory window below 4 GiB: at most 3 GiB of RAM");
        return -1;
    }
    struct vm_disks *ds = kmalloc(sizeof *ds);
    if (!ds) {
        vm_stop(vm, "out of hypervisor memory for its disks");
        return -1;
    }
    vm->disks = ds;
    for (unsigned i = 0; i < c->ndisks; i++)
        if (attach_one(vm, ds, &c->disks[i], c->overlay, pci) != 0)
            return -1;
    return 0;
}

void disks_detach(struct vm *vm)
{
    struct vm_disks *ds = vm->disks;
    if (!ds)
        return;
    struct vm_stats *st = &vm->stats;
    for (unsigned i = 0; i < ds->n; i++) {
        const struct vm_disk *d = ds->d[i];
        const struct virtio_blk_counters *k = &d->blk.counters;
        st->disks++;
        st->disk_reads += k->in;
        st->disk_writes += k->out;
        st->disk_flushes += k->flush;
        st->disk_errors += k->broken + k->bad_length + k->out_of_range + k->read_only +
                           k->bad_flags + k->backend_ioerr + k->backend_unsupp;
        st->disk_overlay_peak += d->cow.overlay_bytes;
        disk_free(ds->d[i]);
    }
    kfree(ds);
    vm->disks = 0;
}

void disks_summary(const struct vm *vm)
{
    const struct vm_stats *st = &vm->stats;
    if (st->disks)
        kprintf(" disks=%lu disk_reads=%lu disk_writes=%lu disk_flushes=%lu disk_errors=%lu "
                "overlay_bytes=%lu", st->disks, st->disk_reads, st->disk_writes,
                st->disk_flushes, st->disk_errors, st->disk_overlay_peak);
}
