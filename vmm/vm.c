/* VM lifetime and guest memory. Guest RAM is one host-contiguous block per VM,
 * 2 MiB aligned, so nested paging can use large pages; every guest-physical access
 * by hv86 goes through vm_gpa_to_hva, which checks it against this VM's RAM only. */
#include <stdarg.h>
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/string.h"
#include "kernel/x86.h"
#include "lib/format.h"
#include "vmm/vm.h"
#include "vmm/vmm_ops.h"

#define RAM_ALIGN_FRAMES 512   /* 2 MiB */

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < vm->nram; i++) {
        const struct ram_region *r = &vm->ram[i];
        if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
            return hva_of(r->hpa + (gpa - r->gpa));
    }
    return NULL;
}

bool vm_write_gpa(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
    void *p = vm_gpa_to_hva(vm, gpa, len);
    if (!p)
        return false;
    if (src)
        memcpy(p, src, len);
    else
        memset(p, 0, len);
    return true;
}

bool vm_read_gpa(struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
    void *p = vm_gpa_to_hva(vm, gpa, len);
    if (!p)
        return false;
    memcpy(dst, p, len);
    return true;
}

int vm_claim(struct vm *vm, enum bus_space space, uint64_t base, uint64_t size,
             const char *name, bus_access_fn access, void *dev)
{
    bus_lock(&vm->bus);
    int id = bus_claim(&vm->bus, space, base, size, name, access, dev);
    const struct bus_range *other = id == BUS_E_OVERLAP
        ? bus_range_of(&vm->bus, bus_conflict(&vm->bus, space, base, size, -1)) : NULL;
    if (other)
        kprintf("hv86: vm %s: %s %s [%#lx, %#lx) overlaps %s [%#lx, %#lx): refused\n",
                vm->name, name, bus_space_name(space), base, base + size, other->name,
                other->base, other->base + other->size);
    else if (id < 0)
        kprintf("hv86: vm %s: %s %s [%#lx, %#lx): %s\n", vm->name, name,
                bus_space_name(space), base, base + size,
                id == BUS_E_FULL ? "the bus is full" : "not a range of that space");
    bus_unlock(&vm->bus);
    return id < 0 ? -1 : id;
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
    if (vm->state != VM_RUNNING && vm->state != VM_CREATED)
        return;
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(vm->reason, sizeof vm->reason, fmt, ap);
    va_end(ap);
    vm->state = VM_STOPPED;
    vm->status = VM_STATUS_STOPPED;
    kprintf("hv86: vm %s stopped: %s\n", vm->name, vm->reason);
}

void vm_exit_status(struct vm *vm, int status)
{
    if (vm->state != VM_RUNNING)
        return;
    vm->status = status;
    vm->state = status == 0 ? VM_POWEROFF : VM_EXITED;
    if (vm->state == VM_POWEROFF)
        kprintf("hv86: vm %s poweroff\n", vm->name);
    else
        kprintf("hv86: vm %s exit %d\n", vm->name, status);
}

/* Allocate and map guest RAM [0, size). Returns 0, or -1 with the VM stopped. */
int vm_alloc_ram(struct vm *vm, uint64_t size)
{
    uint64_t frames = size / PAGE_SIZE;
    void *p = frames_alloc(frames, RAM_ALIGN_FRAMES);
    if (!p) {
        vm_stop(vm, "not enough host memory for %lu MiB of guest RAM (%lu MiB free)",
                size >> 20, (frames_free_count() * PAGE_SIZE) >> 20);
        return -1;
    }
    vm->ram[0] = (struct ram_region){ .gpa = 0, .size = size, .hpa = hpa_of(p) };
    vm->nram = 1;
    vm->ram_size = size;
    if (!vm->shadow && vmm->map(vm, 0, hpa_of(p), size, MAP_RWX) != 0) {
        vm_stop(vm, "out of hypervisor memory for its nested page tables");
        return -1;
    }
    return 0;
}

void vm_free_ram(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nram; i++)
        frames_free(hva_of(vm->ram[i].hpa), vm->ram[i].size / PAGE_SIZE);
    vm->nram = 0;
}
