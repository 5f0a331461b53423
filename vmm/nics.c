/* A VM's network cards: the glue between the pure models (dev/net_switch,
 * dev/virtio_net, dev/virtio_pci) and the VMs (vmm/nics.h). */
#include <stddef.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include "dev/net_switch.h"
#include "dev/virtio_net.h"
#include "dev/virtio_pci.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/mm.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "kernel/timer.h"
#include "lib/format.h"
#include "lib/mac.h"
#include "vmm/irq.h"
#include "vmm/nics.h"
#include "vmm/pci_glue.h"
#include "vmm/platform.h"
#include "vmm/vm.h"

#define PCI_CLASS_NETWORK_ETHERNET 0x020000u
#define NIC_QUEUE_SIZE  256
#define NIC_PAIRS       1              /* one receive and one transmit queue */
#define NETWORKS_MAX    16
_Static_assert(VPCI_BAR_SIZE <= PCI_SLOT_BAR_SIZE, "a NIC's BAR fits its slot");
_Static_assert(PCI_SLOT_NIC_FIRST + CONFIG_NICS_MAX - 1 <= PCI_SLOT_LAST, "slots");
_Static_assert(NET_FRAME_MAX == VIRTIO_NET_FRAME_MAX, "one frame size");

/* One network: its switch and the lock every port's sender and receiver take. */
struct network {
    char name[CONFIG_NAME_MAX + 1];
    struct spinlock lock;
    struct net_switch sw;
    struct vm_nic *nic_of_port[NET_SWITCH_PORTS];
};

static struct network networks[NETWORKS_MAX];
static unsigned nnetworks;
static struct spinlock networks_lock;

struct vm_nic {
    struct vm *vm;
    unsigned index, slot;
    char name[8];                      /* "eth0" */
    struct network *net;
    int port_no;                       /* on net's switch; -1: not attached */
    struct net_port port;
    struct virtio_net vn;
    struct virtio_pci vp;
    struct virtio_pci_host host;
    struct virtio_device dev;
    struct pci_bar_range bar;
    bool intx;
    struct virtq_chain chain;          /* transmit and control chains */
    unsigned qi;                       /* the queue being drained */
    struct virtio_net_rxq rq;          /* the receive queue's state */
    uint8_t frame[NET_FRAME_MAX];      /* a frame on its way out */
    struct net_rxq *rxq;               /* frames on their way in (own pages) */
};

struct vm_nics {
    unsigned n;
    struct vm_nic *nic[CONFIG_NICS_MAX];
};

#define NIC_PAGES ((sizeof(struct vm_nic) + PAGE_SIZE - 1) / PAGE_SIZE)
#define RXQ_PAGES ((sizeof(struct net_rxq) + PAGE_SIZE - 1) / PAGE_SIZE)

/* The network called name, made on first use; NULL if there are too many. */
static struct network *network_get(const char *name)
{
    spin_lock(&networks_lock);
    struct network *net = 0;
    for (unsigned i = 0; i < nnetworks && !net; i++)
        if (!strcmp(networks[i].name, name))
            net = &networks[i];
    if (!net && nnetworks < NETWORKS_MAX) {
        net = &networks[nnetworks++];
        strlcpy(net->name, name, sizeof net->name);
        net_switch_init(&net->sw);
    }
    spin_unlock(&networks_lock);
    return net;
}

/* --- what the models ask of the VM ------------------------------------------ */

static void *map_guest(void *ctx, uint64_t gpa, uint64_t len)
{
    return vm_gpa_to_hva(ctx, gpa, len);
}

static void set_intx(void *ctx, bool asserted)
{
    struct vm_nic *n = ctx;
    if (asserted == n->intx)
        return;
    n->intx = asserted;
    pci_glue_intx(n->vm, n->slot, asserted);
}

static void say(void *ctx, const char *what, const char *why)
{
    struct vm_nic *n = ctx;
    kprintf("hv86: vm %s: %s: %s: %s\n", n->vm->name, n->name, what, why);
}

static void deliver_msi(void *ctx, uint64_t address, uint32_t data)
{
    struct vm_nic *n = ctx;
    if (!irq_msi(n->vm, address, data))
        say(n, "MSI-X message dropped", "its address is not the local APICs' (0xfeexxxxx)");
}

static void config_written(void *ctx, unsigned reg, unsigned size)
{
    struct vm_nic *n = ctx;
    (void)reg;
    (void)size;
    pci_glue_bar_sync(n->vm, &n->vp.pci, VPCI_BAR_SIZE, &n->bar, n->name,
                      virtio_pci_bar_access, &n->vp);
}

/* A frame waits for vm: its owner CPU moves it in before it next runs the VM
 * (vmm/sched.c); kicked if that is another CPU, told to look if it is this one. */
static void wake_receiver(struct vm *vm)
{
    __atomic_store_n(&vm->net_rx_pending, 1, __ATOMIC_RELEASE);
    int owner = __atomic_load_n(&vm->owner, __ATOMIC_ACQUIRE);
    if (owner == (int)this_cpu()->index)
        this_cpu()->resched = true;
    else if (owner >= 0)
        cpu_kick((unsigned)owner);
}

/* --- the device ------------------------------------------------------------ */

static void net_config_access(void *ctx, unsigned off, unsigned size, bool write, uint64_t *val)
{
    struct vm_nic *n = ctx;
    if (write)
        return;                           /* the configuration is read-only */
    struct virtio_net_config cfg;
    virtio_net_fill_config(&n->vn, &cfg);
    uint64_t v = 0;
    const uint8_t *b = (const uint8_t *)&cfg;
    for (unsigned i = 0; i < size && off + i < sizeof cfg; i++)
        v |= (uint64_t)b[off + i] << (8 * i);
    *val = v;
}

static bool net_features_ok(void *ctx, uint64_t features)
{
    struct vm_nic *n = ctx;
    return virtio_net_set_features(&n->vn, features);
}

static int next_rx_chain(void *ctx, struct virtq_chain *c)
{
    struct vm_nic *n = ctx;
    return virtq_pop(&n->vp.vq[0], &n->vp.mem, c);
}

/* Frames waiting in the NIC's queue into its guest's receive buffers. On the
 * owner CPU of the VM. */
static void receive(struct vm_nic *n)
{
    struct virtio_pci *vp = &n->vp;
    struct virtq *q = &vp->vq[0];
    if (!n->net || !virtio_pci_queue_live(vp, 0))
        return;
    bool pushed = false, broken = false;
    spin_lock(&n->net->lock);
    for (;;) {
        size_t len;
        const uint8_t *f = net_rxq_peek(n->rxq, &len);
        if (!f)
            break;
        enum virtio_net_rx_result r = virtio_net_rx(&n->vn, &n->rq, f, len, next_rx_chain, n);
        if (r == VIRTIO_NET_RX_WAIT)
            break;                        /* when the driver adds buffers, it notifies */
        if (r == VIRTIO_NET_RX_BROKEN) {
            broken = true;
            break;
        }
        for (unsigned i = 0; i < n->rq.nused; i++)
            pushed |= virtq_push(q, &vp->mem, n->rq.used[i].head, n->rq.used[i].written);
        net_rxq_drop(n->rxq);
    }
    spin_unlock(&n->net->lock);
    virtq_enable_notify(q, &vp->mem, true);
    if (broken || q->error)
        virtio_pci_needs_reset(vp, q->error ? q->error : n->vn.broken);
    else if (pushed && virtq_should_notify(q, &vp->mem))
        virtio_pci_queue_interrupt(vp, 0);
}

/* The VMs to wake after a drain: taken under the network's lock, so a port that
 * leaves meanwhile is not followed (a struct vm outlives its cards). */
struct woken {
    struct vm *vm[NET_SWITCH_PORTS];
    unsigned n;
};

static void add_woken(struct woken *w, struct vm *vm)
{
    for (unsigned i = 0; i < w->n; i++)
        if (w->vm[i] == vm)
            return;
    if (w->n < NET_SWITCH_PORTS)
        w->vm[w->n++] = vm;
}

/* Frame n->frame[0, len) into the switch; the VMs of the ports it was queued for
 * are added to *woken. */
static void forward(struct vm_nic *n, size_t len, struct woken *woken)
{
    struct network *net = n->net;
    uint64_t before[NET_SWITCH_PORTS];
    spin_lock(&net->lock);
    for (unsigned p = 0; p < NET_SWITCH_PORTS; p++)
        before[p] = net->sw.port[p] ? net->sw.port[p]->counters.rx_frames : 0;
    net_switch_send(&net->sw, (unsigned)n->port_no, n->frame, len, time_ns());
    for (unsigned p = 0; p < NET_SWITCH_PORTS; p++)
        if (net->sw.port[p] && net->sw.port[p]->counters.rx_frames != before[p] &&
            net->nic_of_port[p])
            add_woken(woken, net->nic_of_port[p]->vm);
    spin_unlock(&net->lock);
}

/* The transmit queue's draining: each frame to the switch; the ports it was
 * queued for are gathered in woken. */
struct tx_ctx {
    struct vm_nic *n;
    struct woken woken;
};

static bool transmit_one(void *ctx, struct virtq_chain *c)
{
    struct tx_ctx *t = ctx;
    struct vm_nic *n = t->n;
    size_t len;
    switch (virtio_net_tx(&n->vn, c, n->frame, sizeof n->frame, &len)) {
    case VIRTIO_NET_TX_BROKEN:
        virtio_pci_needs_reset(&n->vp, n->vn.broken);
        return false;
    case VIRTIO_NET_TX_OK:
        if (n->port_no >= 0)
            forward(n, len, &t->woken);
        break;
    default:
        break;                            /* dropped, counted */
    }
    return virtq_push(&n->vp.vq[n->qi], &n->vp.mem, c->head, 0);
}

static bool control_one(void *ctx, struct virtq_chain *c)
{
    struct vm_nic *n = ctx;
    if (virtio_net_ctrl(&n->vn, c) < 0) {
        virtio_pci_needs_reset(&n->vp, n->vn.broken);
        return false;
    }
    return virtq_push(&n->vp.vq[n->qi], &n->vp.mem, c->head, 1);
}

/* A transmit or control queue, drained with notifications off (2.7.10); an
 * interrupt if the driver wants one; then the receivers of what was sent woken. */
static void drain(struct vm_nic *n, unsigned qi, bool tx)
{
    struct virtio_pci *vp = &n->vp;
    struct virtq *q = &vp->vq[qi];
    struct tx_ctx t = { .n = n };
    n->qi = qi;
    int served = tx ? virtq_drain(q, &vp->mem, &n->chain, transmit_one, &t)
                    : virtq_drain(q, &vp->mem, &n->chain, control_one, n);
    if (q->error)
        virtio_pci_needs_reset(vp, q->error);
    else if (served > 0 && virtq_should_notify(q, &vp->mem))
        virtio_pci_queue_interrupt(vp, qi);
    for (unsigned i = 0; i < t.woken.n; i++)
        wake_receiver(t.woken.vm[i]);
}

static void net_queue_notify(void *ctx, struct virtio_pci *vp, unsigned qi)
{
    struct vm_nic *n = ctx;
    unsigned pair;
    (void)vp;
    switch (virtio_net_queue_kind(&n->vn, qi, &pair)) {
    case VIRTIO_NET_Q_RX: receive(n); break;       /* buffers added: frames may fit now */
    case VIRTIO_NET_Q_TX: drain(n, qi, true); break;
    case VIRTIO_NET_Q_CTRL: drain(n, qi, false); break;
    default: break;
    }
}

static void net_reset(void *ctx)
{
    struct vm_nic *n = ctx;
    virtio_net_reset(&n->vn);
    virtio_net_rxq_reset(&n->rq);
}

/* --- attach and detach -------------------------------------------------------- */

static void nic_free(struct vm_nic *n)
{
    if (n->port_no >= 0) {
        spin_lock(&n->net->lock);
        net_switch_detach(&n->net->sw, (unsigned)n->port_no);
        n->net->nic_of_port[n->port_no] = 0;
        spin_unlock(&n->net->lock);
    }
    if (n->rxq)
        frames_free(n->rxq, RXQ_PAGES);
    frames_free(n, NIC_PAGES);
}

static int attach_one(struct vm *vm, struct vm_nics *ns, const struct nic_config *nc,
                      struct pci_host *pci)
{
    unsigned i = ns->n;
    struct vm_nic *n = frames_alloc(NIC_PAGES, 1);
    struct net_rxq *rxq = frames_alloc(RXQ_PAGES, 1);
    struct network *net = network_get(nc->network);
    if (!n || !rxq || !net) {
        if (n)
            frames_free(n, NIC_PAGES);
        if (rxq)
            frames_free(rxq, RXQ_PAGES);
        vm_stop(vm, net ? "out of hypervisor memory for its network cards"
                        : "more than 16 networks");
        return -1;
    }
    *n = (struct vm_nic){ .vm = vm, .index = i, .slot = PCI_SLOT_NIC_FIRST + i,
                          .bar = { .id = -1 }, .port_no = -1, .net = net, .rxq = rxq };
    fmt_snprintf(n->name, sizeof n->name, "eth%u", i);
    uint8_t mac[MAC_LEN];
    if (nc->has_mac)
        memcpy(mac, nc->mac, MAC_LEN);
    else
        mac_default(vm->name, i, mac);
    virtio_net_init(&n->vn, mac, NIC_PAIRS);
    n->dev = (struct virtio_device){
        .type = VIRTIO_ID_NET, .class_rev = PCI_CLASS_NETWORK_ETHERNET << 8,
        .features = virtio_net_device_features(NIC_PAIRS),
        .nqueues = virtio_net_num_queues(NIC_PAIRS), .queue_max = NIC_QUEUE_SIZE,
        .config_size = sizeof(struct virtio_net_config), .config_access = net_config_access,
        .queue_notify = net_queue_notify, .reset = net_reset, .features_ok = net_features_ok,
    };
    n->host = (struct virtio_pci_host){ .set_intx = set_intx, .log = say,
                                        .deliver_msi = deliver_msi,
                                        .config_written = config_written, .ctx = n };
    struct virtq_mem mem = { map_guest, vm };
    if (virtio_pci_init(&n->vp, &n->dev, n, n->slot, pci_glue_bar_home(n->slot),
                        pci_glue_intx_gsi(n->slot), &n->host, mem) != 0 ||
        pci_host_add(pci, &n->vp.pci) != 0) {
        nic_free(n);
        vm_stop(vm, "%s: its PCI function could not be set up", n->name);
        return -1;
    }
    ns->nic[ns->n++] = n;
    memcpy(n->port.mac, mac, MAC_LEN);
    n->port.rxq = rxq;
    spin_lock(&net->lock);
    n->port_no = net_switch_attach(&net->sw, &n->port);
    if (n->port_no >= 0)
        net->nic_of_port[n->port_no] = n;
    spin_unlock(&net->lock);
    char text[MAC_STR_LEN + 1];
    mac_format(mac, text);
    if (n->port_no < 0) {
        vm_stop(vm, "%s: network %s refuses MAC %s (another card has it, or the network "
                "has %u cards already)", n->name, net->name, text, NET_SWITCH_PORTS);
        return -1;
    }
    bus_lock(&vm->bus);
    config_written(n, 0, 0);
    bus_unlock(&vm->bus);
    if (n->bar.id < 0) {
        vm_stop(vm, "%s: its BAR could not be placed", n->name);
        return -1;
    }
    kprintf("hv86: vm %s: %s: network %s, mac %s, virtio-net at 00:%02x.0\n", vm->name,
            n->name, net->name, text, n->slot);
    return 0;
}

int nics_attach(struct vm *vm, const struct vm_config *c)
{
    if (!c->nnics)
        return 0;
    struct pci_host *pci = platform_pci(vm);
    if (!pci) {
        vm_stop(vm, "network cards need the PCI memory window below 4 GiB: at most 3 GiB "
                "of RAM");
        return -1;
    }
    struct vm_nics *ns = kmalloc(sizeof *ns);
    if (!ns) {
        vm_stop(vm, "out of hypervisor memory for its network cards");
        return -1;
    }
    vm->nics = ns;
    for (unsigned i = 0; i < c->nnics; i++)
        if (attach_one(vm, ns, &c->nics[i], pci) != 0)
            return -1;
    return 0;
}

void nics_receive(struct vm *vm)
{
    struct vm_nics *ns = vm->nics;
    for (unsigned i = 0; ns && i < ns->n; i++)
        receive(ns->nic[i]);
}

void nics_detach(struct vm *vm)
{
    struct vm_nics *ns = vm->nics;
    if (!ns)
        return;
    for (unsigned i = 0; i < ns->n; i++) {
        struct vm_nic *n = ns->nic[i];
        struct nic_stats *st = &vm->stats.nic[i];
        const struct net_port_counters *pc = &n->port.counters;
        strlcpy(st->network, n->net->name, sizeof st->network);
        st->tx_frames = pc->tx_frames;
        st->rx_frames = pc->rx_frames;
        st->tx_bytes = pc->tx_bytes;
        st->rx_bytes = pc->rx_bytes;
        st->drop_spoofed = pc->drop_spoofed;
        st->drop_full = pc->drop_queue_full;
        st->drop_bad = pc->drop_runt + pc->drop_oversize + n->vn.counters.tx_drop_offload +
                       n->vn.counters.tx_drop_runt + n->vn.counters.tx_drop_oversize +
                       n->vn.counters.rx_drop_too_small + n->vn.counters.rx_drop_bad_frame;
        st->drop_filtered = n->vn.counters.rx_drop_filtered;
        vm->stats.nnics = i + 1;
        nic_free(n);
    }
    kfree(ns);
    vm->nics = 0;
}

void nics_summary(const struct vm *vm)
{
    for (unsigned i = 0; i < vm->stats.nnics; i++) {
        const struct nic_stats *st = &vm->stats.nic[i];
        kprintf(" eth%u=%s tx=%lu/%lu rx=%lu/%lu drop_spoofed=%lu drop_full=%lu "
                "drop_bad=%lu drop_filtered=%lu", i, st->network, st->tx_frames, st->tx_bytes,
                st->rx_frames, st->rx_bytes, st->drop_spoofed, st->drop_full, st->drop_bad,
                st->drop_filtered);
    }
}
