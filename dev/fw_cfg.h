/* QEMU's fw_cfg device, traditional I/O interface only (QEMU docs/specs/fw_cfg.rst):
 * a 16-bit selector at port 0x510 and an 8-bit data port at 0x511. A pure model;
 * vmm/platform.c wires it to the ports. */
#ifndef DEV_FW_CFG_H
#define DEV_FW_CFG_H
#include <stdbool.h>
#include <stdint.h>
#include "dev/bus.h"

#define FW_CFG_PORT_SEL   0x510
#define FW_CFG_PORT_DATA  0x511
#define FW_CFG_PORTS      2

/* Item keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE  0x0000
#define FW_CFG_ID         0x0001
#define FW_CFG_RAM_SIZE   0x0003
#define FW_CFG_NB_CPUS    0x0005
#define FW_CFG_MAX_CPUS   0x000f
#define FW_CFG_ID_TRADITIONAL 1u    /* ID bit 0; bit 1 (DMA) stays clear */

struct fw_cfg {
    uint16_t key;            /* the selected item */
    uint32_t offset;         /* next byte of it to read */
    uint64_t ram_size;
    uint16_t nb_cpus, max_cpus;
};

void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t nb_cpus, uint16_t max_cpus);
/* Select an item: the data offset restarts at 0. */
void fw_cfg_select(struct fw_cfg *f, uint16_t key);
/* The next byte of the selected item, or 0 past its end or for an unknown key. */
uint8_t fw_cfg_read_byte(struct fw_cfg *f);
/* A port access at FW_CFG_PORT_SEL + off (off 0 or 1) of size bytes, as QEMU's
 * x86 fw_cfg decodes it. Returns false for an access QEMU does not accept
 * (nothing changed; the caller treats it as an unclaimed port). */
bool fw_cfg_io(struct fw_cfg *f, unsigned off, unsigned size, bool in, uint32_t *val);
/* The bus handler of the two ports: an access QEMU refuses is BUS_UNCLAIMED. */
enum bus_result fw_cfg_bus_access(void *dev, struct vcpu *v, uint64_t offset, unsigned size,
                                  bool write, uint64_t *val);
#endif
