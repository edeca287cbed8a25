/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg: the firmware configuration interface SeaBIOS (and OVMF) use on
 * QEMU-compatible machines (QEMU docs/specs/fw_cfg.rst). A selector register
 * (16-bit, port 0x510) picks an item; the data port (0x511) reads it a byte
 * at a time; the DMA interface (ports 0x514..0x51b, big-endian 64-bit address
 * of a descriptor in guest RAM, written high half first; the low half starts
 * the transfer) moves whole items to and from guest memory.
 *
 * vmkit fills the items before the VM runs; after that the set is fixed and
 * the guest only reads (no writable items).
 */
#ifndef VMKIT_FW_CFG_H
#define VMKIT_FW_CFG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmkit/bus.h"
#include "vmkit/mem.h"

#define FW_CFG_PORT_SEL 0x510 /* 16-bit selector; 0x511 is the data byte */
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514 /* 8 bytes: 0x514 high 32 bits, 0x518 low 32 bits */
#define FW_CFG_PIO_LEN 2
#define FW_CFG_DMA_LEN 8

/* Fixed selectors (fw_cfg.rst "Selector Register"). */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID 0x0001
#define FW_CFG_RAM_SIZE 0x0003
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_FILE_FIRST 0x0020
#define FW_CFG_MAX_FILES 64

#define FW_CFG_ID_TRADITIONAL 0x1
#define FW_CFG_ID_DMA 0x2

/* DMA descriptor control bits (fw_cfg.rst "DMA interface"). */
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10

#define FW_CFG_NAME_MAX 56 /* including the NUL */

struct fw_cfg_item {
	uint16_t key;
	uint8_t *data; /* owned */
	uint32_t len;
	char name[FW_CFG_NAME_MAX]; /* files only; "" for fixed items */
};

struct fw_cfg {
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	struct fw_cfg_item *items;
	unsigned int nr_items, cap_items;
	unsigned int nr_files;
	uint16_t selector;
	uint32_t offset;      /* read position within the selected item */
	uint32_t dma_addr_hi; /* latched by a write to 0x514 */
	/* counters */
	uint64_t dma_transfers, dma_errors, bad_selects;
};

/*
 * Start with the signature, id (DMA supported) and an empty file directory.
 * mem is where DMA descriptors and buffers live (checked on every access).
 * 0 or -ENOMEM.
 */
int fw_cfg_init(struct fw_cfg *fc, const struct guest_mem *mem);
void fw_cfg_destroy(struct fw_cfg *fc);

/* Add (or replace) a fixed item; data is copied. 0, -EINVAL, -ENOMEM. */
int fw_cfg_add_item(struct fw_cfg *fc, uint16_t key, const void *data, uint32_t len);
/* Little-endian integer items, as the spec stores them. */
int fw_cfg_add_u16(struct fw_cfg *fc, uint16_t key, uint16_t v);
int fw_cfg_add_u64(struct fw_cfg *fc, uint16_t key, uint64_t v);

/*
 * Add a named file (gets the next selector from 0x20, listed in the file
 * directory in name order, as the spec requires). data is copied. 0, -EEXIST,
 * -ENAMETOOLONG, -ENOSPC, -ENOMEM.
 */
int fw_cfg_add_file(struct fw_cfg *fc, const char *name, const void *data, uint32_t len);

/* Bus handlers: fw_cfg_pio_io at 0x510 (len 2), fw_cfg_dma_io at 0x514 (len 8). */
void fw_cfg_pio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
void fw_cfg_dma_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);

/* Power-on state of the registers: selector 0, offset 0, DMA high half 0. */
void fw_cfg_reset(struct fw_cfg *fc);

/*
 * Device state (selector, read offset, DMA address high half) as a versioned
 * blob; the items themselves are configuration, rebuilt by the target.
 * save: bytes written or -ENOSPC. load: 0, or -EINVAL for a malformed blob or
 * an offset beyond the selected item.
 */
#define FW_CFG_STATE_LEN 18
ssize_t fw_cfg_save(struct fw_cfg *fc, void *buf, size_t cap);
int fw_cfg_load(struct fw_cfg *fc, const void *buf, size_t len);

/*
 * Run the DMA descriptor at guest address gpa (what a write to the low half
 * of the DMA register does). Exposed for tests and fuzzing. Returns 0, or
 * -EFAULT when the descriptor itself is not in RAM (nothing is written back).
 */
int fw_cfg_dma_run(struct fw_cfg *fc, uint64_t gpa);

#endif
