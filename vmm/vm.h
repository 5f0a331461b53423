/* A virtual machine: its memory map, vCPUs, devices, state and statistics. */
#ifndef VMM_VM_H
#define VMM_VM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dev/bus.h"
#include "lib/config.h"
#include "vmm/exit.h"
#include "vmm/irq.h"
#include "vmm/policy/cpuid_model.h"
#include "vmm/policy/msr_model.h"
#include "vmm/policy/console_limit.h"
#include "vmm/vcpu.h"

#define VM_NAME_MAX   32
#define VM_MAX_VCPUS  CONFIG_CPUS_MAX   /* what a config may ask for is what a VM holds */
#define VM_MAX_RAM_REGIONS 8
#define VM_MSR_LOG_MAX 16

/* How a VM ended (docs/result-protocol.md gives the console lines). */
enum vm_state { VM_CREATED, VM_RUNNING, VM_EXITED, VM_POWEROFF, VM_STOPPED };

#define VM_STATUS_STOPPED 120   /* hv86 stopped the VM itself */
#define VM_NO_CPU (-1)          /* vm->owner of a VM that has ended */

/* Guest RAM: [gpa, gpa+size) backed by host-physical [hpa, hpa+size). */
struct ram_region { uint64_t gpa, size, hpa; };
struct vm_disks;                        /* vmm/disks.c */
struct vm_nics;                         /* vmm/nics.c */

struct vm_stats {
    uint64_t exits[EXIT_KIND_COUNT];
    uint64_t io_unclaimed_reads, io_unclaimed_writes;
    /* shadow paging (vmm/shadow.c): roots built, reused from the cache, cleared
     * whole (INVLPG of an unknown address), shadow page faults, INVLPGs, guest
     * table writes emulated, guest tables unprotected, entries prefetched, 2 MiB
     * leaves made, pages
     * reclaimed for the bound, and the peak of shadow memory */
    uint64_t sh_built, sh_reused, sh_resyncs, sh_faults, sh_invlpg, sh_reclaimed;
    uint64_t sh_pt_writes, sh_unprotects, sh_prefetched, sh_large;
    uint64_t sh_peak_bytes;
    uint64_t ibpb;          /* IBPBs when a host CPU switched to this VM (vmm/spec.c) */
    /* its network cards, as they were when they went away (vmm/nics.c) */
    struct nic_stats {
        char network[32];
        uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
        uint64_t drop_spoofed, drop_full, drop_bad, drop_filtered;
    } nic[8];
    unsigned nnics;
    /* its disks, summed when they go away (vmm/disks.c) */
    uint64_t disks, disk_reads, disk_writes, disk_flushes, disk_errors, disk_overlay_peak;
    uint64_t device_accesses;   /* port and MMIO accesses to its devices (console
                                 * output among them): the watchdog's progress */
};

struct vm {
    char name[VM_NAME_MAX];
    unsigned id;
    enum vm_state state;
    int status;                      /* launcher exit status for this VM */
    char reason[256];                /* why hv86 stopped it, if it did */
    uint64_t ram_size;
    struct ram_region ram[VM_MAX_RAM_REGIONS];
    unsigned nram;
    struct vcpu vcpus[VM_MAX_VCPUS];
    unsigned nvcpus;
    void *backend;                   /* nested page table root etc. */
    /* Its devices' ports, MMIO ranges and MSRs (dev/bus.h). The core decodes and
     * emulates a guest's MMIO instruction, so a device sees plain accesses. */
    struct bus bus;
    struct vm_stats stats;
    uint64_t ended_tick;             /* host tick when the VM ended */
    uint64_t ended_ns;               /* ... and in ns since the VMs started */
    uint64_t hv_bytes;               /* hypervisor memory for this VM, guest RAM excluded */
    uint64_t switches, switch_cycles;/* turns given to it, and the TSC spent switching in */
    uint32_t msr_logged[VM_MSR_LOG_MAX];   /* unknown MSRs already reported */
    unsigned nmsr_logged;
    void *platform;                  /* the device models (vmm/platform.c) */
    struct irq_hooks irq;            /* its IOAPIC, 8259s, device timers (vmm/irq.h) */
    uint64_t timers_due;             /* time_ns() of the next irq.timers call */
    uint64_t irq_events;             /* interrupt lines and messages so far (vmm/irq.c) */
    uint64_t sched_wake;             /* its sleeping vCPUs' first timer (vmm/sched.c) */
    struct shadow_vm *shadow;        /* non-NULL: shadow paging (vmm/shadow.h) */
    /* Its CPU model, built once at creation (vmm/cpuid.c, docs/cpuid.md), and the
     * MSR state that goes with it, per vCPU (vmm/policy/msr_model.h). */
    struct cpuid_model cpuid;
    struct msr_model_vcpu msr[VM_MAX_VCPUS];
    /* The guest's MAXPHYADDR and 1 GiB page support for its page walks (vmm/insn.c
     * guest_paging_regs): from its CPUID, which is the VM's for life; 0: not
     * asked yet. */
    unsigned gpt_maxphyaddr, gpt_flags;
    int owner;                       /* the host CPU that runs its vCPUs, the only one
                                        that touches its state (hv.c, docs/smp.md) */
    uint32_t ran_on;                 /* host CPUs that did run it, one bit each */
    uint64_t moves;                  /* handed to another host CPU (load balance) */
    /* Proportional share (vmm/sched.c, vmm/policy/sched_pick.h, docs/smp.md). */
    unsigned weight;                 /* relative share, from its config (default 256) */
    unsigned cap;                    /* percent of one host CPU per vCPU; 0: none */
    uint64_t vtime;                  /* virtual time: run time scaled by 256 / weight */
    uint64_t run_ns;                 /* host CPU time all its vCPUs ran */
    int sched_cpu;                   /* the CPU whose clock vtime is on; -1: none yet */
    bool sched_ready;                /* it was ready at its CPU's previous decision */
    unsigned sched_next;             /* the vCPU whose turn is next (round-robin) */
    uint64_t watchdog_ns;            /* stopped after this long without a device access
                                        (console output included); 0: no watchdog */
    uint64_t watchdog_seen;          /* stats.device_accesses when last looked at */
    uint64_t watchdog_since;         /* time_ns() when that count was first seen;
                                        0: not yet (vmm/sched.c) */
    struct console_limit console;    /* its console output's budget (vmm/platform.c) */
    struct vm_disks *disks;          /* its disks (vmm/disks.c); NULL: none */
    uint8_t pci_intx[8];             /* devices asserting each PCI INTx GSI (pci_glue.c) */
    struct vm_nics *nics;            /* its network cards (vmm/nics.c); NULL: none */
    uint32_t net_rx_pending;         /* frames wait for its cards (atomic; vmm/nics.h) */
};

/* Host pointer to guest-physical [gpa, gpa+len) if it is all in this VM's RAM,
 * else NULL. Every guest-provided address goes through here. */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);
/* Copy to / from guest-physical memory; false if any byte is outside RAM. */
bool vm_write_gpa(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);
bool vm_read_gpa(struct vm *vm, uint64_t gpa, void *dst, uint64_t len);
/* A device claims [base, base + size) of a space on the VM's bus: its range id,
 * or -1 after a message naming the device, the range and why (the owner of a
 * range it overlaps, a full bus). */
int vm_claim(struct vm *vm, enum bus_space space, uint64_t base, uint64_t size,
             const char *name, bus_access_fn access, void *dev);
/* Stop the VM with status 120 and a reason (printf-style), logged on the console. */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The guest asked to end: exit port value or power-off. */
void vm_exit_status(struct vm *vm, int status);
/* Guest RAM [0, size): allocate, map in the nested tables. -1: VM stopped. */
int vm_alloc_ram(struct vm *vm, uint64_t size);
void vm_free_ram(struct vm *vm);
#endif
