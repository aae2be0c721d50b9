/*
 * fw_cfg: the legacy port-I/O interface of QEMU's firmware configuration
 * device, read-only and without DMA.  A 16-bit write to 0x510 selects an
 * item and rewinds it; byte reads from 0x511 return its bytes, then zeros.
 *
 * Items, encoded as QEMU encodes them:
 *   0x00 FW_CFG_SIGNATURE  "QEMU"
 *   0x01 FW_CFG_ID         u32 LE 1 (traditional interface, no DMA)
 *   0x03 FW_CFG_RAM_SIZE   u64 LE guest RAM bytes
 *   0x05 FW_CFG_NB_CPUS    u16 LE vCPUs
 *   0x0f FW_CFG_MAX_CPUS   u16 LE vCPUs
 *   0x19 FW_CFG_FILE_DIR   u32 BE 0 (no files)
 * Anything else reads as zeros.  Data-port writes are ignored, as in QEMU
 * since 2.4.
 */
#ifndef MVM_FW_CFG_H
#define MVM_FW_CFG_H

struct vm;

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511

#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_ID		0x01
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f
#define FW_CFG_FILE_DIR		0x19

/* Uses vm->mem.ram_size and vm->cfg->cpus, so call it after vm__init. */
int fw_cfg__init(struct vm *vm) __attribute__((warn_unused_result));

#endif
