// SPDX-License-Identifier: MIT
/*
 * fw_cfg device (QEMU docs/specs/fw_cfg.rst): item store, selector/data
 * ports and the DMA interface. Every DMA descriptor and buffer is checked
 * against guest RAM: a bad one sets the error bit (or, for a descriptor
 * outside RAM, is dropped) and is counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/fw_cfg.h"
#include "vmkit/log.h"
#include "vmkit/util.h"

/* fw_cfg.rst "DMA interface": reading the DMA register returns this, big-endian. */
static const uint8_t dma_signature[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };

/* One file directory entry (fw_cfg.rst "File Directory"): big-endian fields. */
#define DIR_ENTRY_SIZE (4 + 2 + 2 + FW_CFG_NAME_MAX)

static struct fw_cfg_item *find(struct fw_cfg *fc, uint16_t key)
{
	for (unsigned int i = 0; i < fc->nr_items; i++)
		if (fc->items[i].key == key)
			return &fc->items[i];
	return NULL;
}

static int set_item(struct fw_cfg *fc, uint16_t key, const char *name, const void *data, uint32_t len)
{
	struct fw_cfg_item *it = find(fc, key);
	uint8_t *copy = NULL;

	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		if (data)
			memcpy(copy, data, len);
		else
			memset(copy, 0, len);
	}
	if (!it) {
		if (fc->nr_items == fc->cap_items) {
			unsigned int cap = fc->cap_items ? fc->cap_items * 2 : 16;
			struct fw_cfg_item *n = realloc(fc->items, cap * sizeof(*n));
			if (!n) {
				free(copy);
				return -ENOMEM;
			}
			fc->items = n;
			fc->cap_items = cap;
		}
		it = &fc->items[fc->nr_items++];
		memset(it, 0, sizeof(*it));
		it->key = key;
	}
	free(it->data);
	it->data = copy;
	it->len = len;
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
	return 0;
}

int fw_cfg_add_item(struct fw_cfg *fc, uint16_t key, const void *data, uint32_t len)
{
	int r;

	if (key == FW_CFG_FILE_DIR || (key >= FW_CFG_FILE_FIRST && key < FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES))
		return -EINVAL; /* those belong to the file directory */
	pthread_mutex_lock(&fc->lock);
	r = set_item(fc, key, NULL, data, len);
	pthread_mutex_unlock(&fc->lock);
	return r;
}

int fw_cfg_add_u16(struct fw_cfg *fc, uint16_t key, uint16_t v)
{
	uint8_t b[2];

	put_le16(b, v);
	return fw_cfg_add_item(fc, key, b, sizeof(b));
}

int fw_cfg_add_u64(struct fw_cfg *fc, uint16_t key, uint64_t v)
{
	uint8_t b[8];

	put_le32(b, (uint32_t)v);
	put_le32(b + 4, (uint32_t)(v >> 32));
	return fw_cfg_add_item(fc, key, b, sizeof(b));
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int name_cmp(const void *a, const void *b)
{
	const struct fw_cfg_item *x = *(const struct fw_cfg_item *const *)a, *y = *(const struct fw_cfg_item *const *)b;

	return strcmp(x->name, y->name);
}

/* Rebuild FW_CFG_FILE_DIR: count, then the entries sorted by name (fw_cfg.rst). */
static int rebuild_dir(struct fw_cfg *fc)
{
	const struct fw_cfg_item *files[FW_CFG_MAX_FILES];
	uint32_t len = 4 + fc->nr_files * DIR_ENTRY_SIZE;
	unsigned int n = 0;
	uint8_t *dir = calloc(1, len);
	int r;

	if (!dir)
		return -ENOMEM;
	for (unsigned int i = 0; i < fc->nr_items && n < FW_CFG_MAX_FILES; i++)
		if (fc->items[i].key >= FW_CFG_FILE_FIRST && fc->items[i].key < FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)
			files[n++] = &fc->items[i];
	qsort(files, n, sizeof(files[0]), name_cmp);
	put_be32(dir, n);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *e = dir + 4 + i * DIR_ENTRY_SIZE;
		put_be32(e, files[i]->len);
		put_be16(e + 4, files[i]->key);
		memcpy(e + 8, files[i]->name, strlen(files[i]->name));
	}
	r = set_item(fc, FW_CFG_FILE_DIR, NULL, dir, len);
	free(dir);
	return r;
}

int fw_cfg_add_file(struct fw_cfg *fc, const char *name, const void *data, uint32_t len)
{
	int r;

	if (!name || !name[0])
		return -EINVAL;
	if (strlen(name) >= FW_CFG_NAME_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fc->lock);
	for (unsigned int i = 0; i < fc->nr_items; i++) {
		if (fc->items[i].name[0] && !strcmp(fc->items[i].name, name)) {
			pthread_mutex_unlock(&fc->lock);
			return -EEXIST;
		}
	}
	if (fc->nr_files >= FW_CFG_MAX_FILES) {
		r = -ENOSPC;
	} else {
		r = set_item(fc, (uint16_t)(FW_CFG_FILE_FIRST + fc->nr_files), name, data, len);
		if (!r) {
			fc->nr_files++;
			r = rebuild_dir(fc);
		}
	}
	pthread_mutex_unlock(&fc->lock);
	return r;
}

int fw_cfg_init(struct fw_cfg *fc, const struct guest_mem *mem)
{
	uint8_t id[4];
	int r;

	memset(fc, 0, sizeof(*fc));
	fc->mem = mem;
	r = -pthread_mutex_init(&fc->lock, NULL);
	if (r)
		return r;
	put_le32(id, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	if ((r = set_item(fc, FW_CFG_SIGNATURE, NULL, "QEMU", 4)) || (r = set_item(fc, FW_CFG_ID, NULL, id, 4)) ||
	    (r = rebuild_dir(fc))) {
		fw_cfg_destroy(fc);
		return r;
	}
	return 0;
}

void fw_cfg_destroy(struct fw_cfg *fc)
{
	for (unsigned int i = 0; i < fc->nr_items; i++)
		free(fc->items[i].data);
	free(fc->items);
	fc->items = NULL;
	fc->nr_items = fc->cap_items = 0;
	pthread_mutex_destroy(&fc->lock);
}

/* Caller holds the lock. An unknown selector selects nothing: reads return 0. */
static void select_item(struct fw_cfg *fc, uint16_t key)
{
	fc->selector = key;
	fc->offset = 0;
	if (!find(fc, key))
		fc->bad_selects++;
}

void fw_cfg_pio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct fw_cfg *fc = opaque;

	pthread_mutex_lock(&fc->lock);
	if (off == 0 && size == 2) {
		/* Selector (fw_cfg.rst: 16-bit, little-endian on x86). Reads are not defined: 0. */
		if (is_write)
			select_item(fc, get_le16(data));
		else
			memset(data, 0, size);
	} else if (off == 1 && size == 1) {
		/* Data: one byte of the selected item; past its end, 0. Writes are ignored (deprecated). */
		if (!is_write) {
			const struct fw_cfg_item *it = find(fc, fc->selector);
			data[0] = it && fc->offset < it->len ? it->data[fc->offset] : 0;
			if (it && fc->offset < it->len)
				fc->offset++;
		}
	} else if (!is_write) {
		memset(data, 0, size);
	}
	pthread_mutex_unlock(&fc->lock);
}

/* Descriptor (fw_cfg.rst): be32 control, be32 length, be64 address. */
struct dma_desc {
	uint32_t control, length;
	uint64_t address;
};

/* Caller holds the lock. Returns the control word to write back. */
static uint32_t dma_transfer(struct fw_cfg *fc, const struct dma_desc *d)
{
	const struct fw_cfg_item *it;
	uint32_t ctl = d->control;

	if (ctl & FW_CFG_DMA_SELECT)
		select_item(fc, (uint16_t)(ctl >> 16));
	it = find(fc, fc->selector);
	if (ctl & FW_CFG_DMA_READ) {
		uint32_t have = it && fc->offset < it->len ? it->len - fc->offset : 0;
		uint32_t n = MIN(have, d->length);
		uint8_t *dst = d->length ? guest_mem_ptr(fc->mem, d->address, d->length) : NULL;

		if (d->length && !dst)
			return FW_CFG_DMA_ERROR;
		if (n)
			memcpy(dst, it->data + fc->offset, n);
		/* Past the end of the item the guest buffer reads as zeroes. */
		if (d->length > n)
			memset(dst + n, 0, d->length - n);
		fc->offset += n;
	} else if (ctl & FW_CFG_DMA_WRITE) {
		/* No item is writable: vmkit's configuration is fixed once the VM runs. */
		if (d->length)
			return FW_CFG_DMA_ERROR;
	} else if (ctl & FW_CFG_DMA_SKIP) {
		uint32_t have = it && fc->offset < it->len ? it->len - fc->offset : 0;
		fc->offset += MIN(have, d->length);
	}
	return 0;
}

int fw_cfg_dma_run(struct fw_cfg *fc, uint64_t gpa)
{
	uint8_t *p = guest_mem_ptr(fc->mem, gpa, 16);
	struct dma_desc d;
	uint32_t ctl;

	pthread_mutex_lock(&fc->lock);
	fc->dma_transfers++;
	if (!p) {
		fc->dma_errors++;
		pthread_mutex_unlock(&fc->lock);
		log_ratelimited(LOG_WARN, "fw_cfg: DMA descriptor at 0x%llx is not in RAM", (unsigned long long)gpa);
		return -EFAULT;
	}
	d.control = get_be32(p);
	d.length = get_be32(p + 4);
	d.address = ((uint64_t)get_be32(p + 8) << 32) | get_be32(p + 12);
	ctl = dma_transfer(fc, &d);
	if (ctl & FW_CFG_DMA_ERROR) {
		fc->dma_errors++;
		log_ratelimited(LOG_WARN, "fw_cfg: DMA of %u bytes at 0x%llx failed (control 0x%x)", d.length,
				(unsigned long long)d.address, d.control);
	}
	/* Completion: the device clears control, or leaves only the error bit. */
	put_be32(p, ctl);
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

void fw_cfg_dma_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct fw_cfg *fc = opaque;
	uint64_t gpa;

	if (!is_write) {
		for (uint32_t i = 0; i < size; i++)
			data[i] = off + i < sizeof(dma_signature) ? dma_signature[off + i] : 0;
		return;
	}
	if (off == 0 && size == 8) {
		/* One 64-bit big-endian write (fw_cfg.rst allows it on MMIO; harmless here). */
		gpa = ((uint64_t)get_be32(data) << 32) | get_be32(data + 4);
	} else if (off == 0 && size == 4) {
		pthread_mutex_lock(&fc->lock);
		fc->dma_addr_hi = get_be32(data);
		pthread_mutex_unlock(&fc->lock);
		return;
	} else if (off == 4 && size == 4) {
		/* Writing the low half starts the transfer; the high half then resets to 0. */
		pthread_mutex_lock(&fc->lock);
		gpa = ((uint64_t)fc->dma_addr_hi << 32) | get_be32(data);
		fc->dma_addr_hi = 0;
		pthread_mutex_unlock(&fc->lock);
	} else {
		return;
	}
	fw_cfg_dma_run(fc, gpa);
}

/* Saved state: magic, version, payload length, then the fields (little-endian). */
#define STATE_MAGIC 0x43574656 /* "VFWC" little-endian */
#define STATE_VERSION 1
#define STATE_PAYLOAD (2 + 4 + 4)

void fw_cfg_reset(struct fw_cfg *fc)
{
	pthread_mutex_lock(&fc->lock);
	fc->selector = 0;
	fc->offset = 0;
	fc->dma_addr_hi = 0;
	pthread_mutex_unlock(&fc->lock);
}

ssize_t fw_cfg_save(struct fw_cfg *fc, void *buf, size_t cap)
{
	uint8_t *b = buf;

	if (cap < FW_CFG_STATE_LEN)
		return -ENOSPC;
	state_hdr_put(b, STATE_MAGIC, STATE_VERSION, STATE_PAYLOAD);
	pthread_mutex_lock(&fc->lock);
	put_le16(b + 8, fc->selector);
	put_le32(b + 10, fc->offset);
	put_le32(b + 14, fc->dma_addr_hi);
	pthread_mutex_unlock(&fc->lock);
	return FW_CFG_STATE_LEN;
}

int fw_cfg_load(struct fw_cfg *fc, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	const struct fw_cfg_item *it;
	uint16_t sel;
	uint32_t off;

	if (!state_hdr_ok(b, len, STATE_MAGIC, STATE_VERSION, STATE_PAYLOAD))
		return -EINVAL;
	sel = get_le16(b + 8);
	off = get_le32(b + 10);
	pthread_mutex_lock(&fc->lock);
	it = find(fc, sel);
	/* Only what the guest could have reached: an offset within the item (0 for an unknown one). */
	if (off > (it ? it->len : 0)) {
		pthread_mutex_unlock(&fc->lock);
		return -EINVAL;
	}
	fc->selector = sel;
	fc->offset = off;
	fc->dma_addr_hi = get_le32(b + 14);
	pthread_mutex_unlock(&fc->lock);
	return 0;
}
