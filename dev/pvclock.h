/* The paravirtual clock ABI that KVM (and Xen) share with their guests, the part
 * hv86 offers so that an unmodified Linux takes "kvm-clock" as its clocksource
 * (docs/platform.md, "Paravirtual clock"). Pure: the layouts, the conversion from
 * TSC ticks to nanoseconds and the version protocol; the MSRs that place the
 * structures in guest memory are vmm/kvmclock.c.
 *
 * Sources: Linux Documentation/virt/kvm/x86/msr.rst (MSR_KVM_WALL_CLOCK_NEW,
 * MSR_KVM_SYSTEM_TIME_NEW, the structures, the conversion), cpuid.rst (the
 * signature and feature bits), arch/x86/include/asm/pvclock-abi.h (the packed
 * layouts, PVCLOCK_TSC_STABLE_BIT, "version odd while the hypervisor updates"). */
#ifndef DEV_PVCLOCK_H
#define DEV_PVCLOCK_H
#include <stdbool.h>
#include <stdint.h>
#include "arch/x86.h"

/* --- CPUID (cpuid.rst) -------------------------------------------------------
 * A guest finds KVM's leaves by the signature "KVMKVMKVM\0\0\0" in EBX, ECX, EDX of
 * a leaf 0x40000000 + 0x100 * k (Linux's hypervisor_cpuid_base scans k = 0 ..
 * 0xff); EAX there is the highest leaf of the block, and the block's next leaf
 * (KVM_CPUID_FEATURES) has the feature bits in EAX and the hints in EDX. */
#define KVM_CPUID_SIGNATURE_EBX 0x4B4D564Bu        /* "KVMK" */
#define KVM_CPUID_SIGNATURE_ECX 0x564B4D56u        /* "VMKV" */
#define KVM_CPUID_SIGNATURE_EDX 0x0000004Du        /* "M\0\0\0" */
#define KVM_CPUID_FEATURES      1u                 /* offset from the signature leaf */
#define KVM_FEATURE_NOP_IO_DELAY           (1u << 1)   /* port 0x80 delays not needed */
#define KVM_FEATURE_CLOCKSOURCE2           (1u << 3)   /* the MSRs below */
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (1u << 24)  /* PVCLOCK_TSC_STABLE_BIT is meaningful */

/* --- MSRs (msr.rst) -------------------------------------------------------------
 * MSR_KVM_WALL_CLOCK_NEW: the guest writes the guest-physical address of a
 * struct pvclock_wall_clock, which the hypervisor fills then. The effect is
 * global although the MSR is per CPU.
 * MSR_KVM_SYSTEM_TIME_NEW: per vCPU, the address of a struct
 * pvclock_vcpu_time_info in bits 63:1 and the enable bit in bit 0. */
#define KVM_SYSTEM_TIME_ENABLE   1ull    /* MSR_KVM_* indices: arch/x86.h */

/* pvclock-abi.h: all vCPUs' clocks derive from one reference, so a guest may
 * take their readings as one clock, without keeping them monotonic itself. */
#define PVCLOCK_TSC_STABLE_BIT   (1u << 0)

/* The per-vCPU time area (pvclock-abi.h, 32 bytes, packed). The guest's time in
 * ns is system_time + pvclock_scale(TSC - tsc_timestamp, tsc_to_system_mul,
 * tsc_shift). */
struct pvclock_vcpu_time_info {
    uint32_t version;            /* odd while the hypervisor writes the rest */
    uint32_t pad0;
    uint64_t tsc_timestamp;      /* the guest TSC at which system_time held */
    uint64_t system_time;        /* ns */
    uint32_t tsc_to_system_mul;  /* ns per tick * 2^32, after the shift */
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
} __attribute__((packed));

/* The wall clock at system time 0 (pvclock-abi.h, 12 bytes, packed): the guest
 * adds its system time to get the time of day. */
struct pvclock_wall_clock {
    uint32_t version;
    uint32_t sec;                /* seconds since 1970-01-01 00:00:00 UTC */
    uint32_t nsec;
} __attribute__((packed));

_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock-abi.h: 32 bytes");
_Static_assert(__builtin_offsetof(struct pvclock_vcpu_time_info, tsc_timestamp) == 8 &&
               __builtin_offsetof(struct pvclock_vcpu_time_info, system_time) == 16 &&
               __builtin_offsetof(struct pvclock_vcpu_time_info, tsc_to_system_mul) == 24 &&
               __builtin_offsetof(struct pvclock_vcpu_time_info, tsc_shift) == 28 &&
               __builtin_offsetof(struct pvclock_vcpu_time_info, flags) == 29,
               "pvclock-abi.h field offsets");
_Static_assert(sizeof(struct pvclock_wall_clock) == 12, "pvclock-abi.h: 12 bytes");

/* The scale for a TSC of tsc_hz ticks per second: ns per tick = mul / 2^32 *
 * 2^shift with mul in [2^31, 2^32), the most precision a 32-bit mul has. False
 * (nothing set) for tsc_hz 0. */
bool pvclock_scale_of(uint64_t tsc_hz, uint32_t *mul, int8_t *shift);
/* The guest's conversion (msr.rst): delta shifted by shift (right if negative),
 * times mul, divided by 2^32; the product taken to 96 bits. */
uint64_t pvclock_scale(uint64_t delta, uint32_t mul, int8_t shift);

/* Write a time area or a wall clock in guest memory the way a guest may read it
 * at the same time (pvclock-abi.h): version made odd, the fields, version made
 * even again, each step visible in that order (x86 stores are not reordered
 * with other stores, SDM Vol. 3A 8.2.2: only the compiler must keep the order). */
void pvclock_write_time(volatile struct pvclock_vcpu_time_info *area,
                        const struct pvclock_vcpu_time_info *t);
void pvclock_write_wall(volatile struct pvclock_wall_clock *area, uint32_t sec, uint32_t nsec);
#endif
