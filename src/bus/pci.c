// SPDX-License-Identifier: MIT
/*
 * PCI bus 0 with a host bridge: configuration space through mechanism #1
 * (PCI Local Bus 3.0 s3.2.2.3.2) and ECAM (PCIe 4.0 s7.2.2), write masks per
 * byte, write-1-to-clear status bits, BAR sizing (PCI 3.0 s6.2.5.1) and BAR
 * mapping onto the PIO/MMIO buses when decoding is enabled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/log.h"
#include "vmkit/pci.h"
#include "vmkit/util.h"

#define CF8_ENABLE 0x80000000U
#define MCH_PCIEXBAR 0x60
#define MCH_PAM0 0x90
#define PCI_STATUS_W1C 0xf900 /* parity, SERR, master/target aborts (PCI 3.0 s6.2.3) */

static void set_wmask16(struct pci_device *d, unsigned int off, uint16_t mask)
{
	put_le16(d->wmask + off, mask);
}

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	put_le16(d->cfg + PCI_VENDOR_ID, vendor);
	put_le16(d->cfg + PCI_DEVICE_ID, device);
	d->cfg[PCI_REVISION_ID] = revision;
	d->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	d->cfg[PCI_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
	d->cfg[PCI_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
	put_le16(d->cfg + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	put_le16(d->cfg + PCI_SUBSYSTEM_ID, subsys_id);
	/* COMMAND: I/O, memory, bus master, SERR, INTx disable */
	set_wmask16(d, PCI_COMMAND, 0x0547);
	put_le16(d->w1cmask + PCI_STATUS, PCI_STATUS_W1C);
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->wmask[0x0c] = 0xff; /* cache line size */
	d->wmask[0x0d] = 0xff; /* latency timer */
	d->next_cap = 0x40;
}

int pci_device_set_bar(struct pci_device *d, int idx, uint64_t size, unsigned int flags, bus_io_fn *io,
		       void *opaque)
{
	bool io_bar = flags & PCI_BAR_IO, mem64 = flags & PCI_BAR_MEM64;
	unsigned int off = PCI_BAR0 + 4 * (unsigned int)idx;
	uint32_t low_flags;
	uint64_t mask;

	if (idx < 0 || idx > 5 || (mem64 && idx > 4) || (io_bar && mem64) || !size || (size & (size - 1)) ||
	    size < (io_bar ? 4u : 16u) || (io_bar && size > 256) || (!mem64 && size > (1ULL << 31)))
		return -EINVAL;
	d->bars[idx] = (struct pci_bar){ .size = size, .flags = flags, .io = io, .opaque = opaque };
	low_flags = io_bar ? 0x1 : ((mem64 ? 0x4 : 0) | ((flags & PCI_BAR_PREFETCH) ? 0x8 : 0));
	put_le32(d->cfg + off, low_flags);
	/* Sizing falls out of the write mask: the low size bits never stick. */
	mask = ~(size - 1);
	put_le32(d->wmask + off, (uint32_t)mask & (io_bar ? ~0x3U : ~0xfU));
	if (mem64) {
		put_le32(d->cfg + off + 4, 0);
		put_le32(d->wmask + off + 4, (uint32_t)(mask >> 32));
	}
	return 0;
}

#define PCI_ROM_MIN 2048ULL         /* PCI 3.0 s6.2.5.2: bits 10:1 are reserved */
#define PCI_ROM_MAX (16ULL << 20)    /* far above any real option ROM */

int pci_device_set_rom(struct pci_device *d, const void *data, size_t len)
{
	uint64_t size = PCI_ROM_MIN;

	if (!data || !len || len > PCI_ROM_MAX)
		return -EINVAL;
	while (size < len)
		size <<= 1;
	d->rom = data;
	d->rom_len = len;
	d->rom_size = size;
	put_le32(d->cfg + PCI_ROM_ADDRESS, 0);
	/* Address bits above the size stick, and the enable bit; sizing reads ~(size-1). */
	put_le32(d->wmask + PCI_ROM_ADDRESS, ((uint32_t)~(size - 1) & 0xfffff800U) | PCI_ROM_ADDRESS_ENABLE);
	return 0;
}

/* Expansion ROM reads; writes to a ROM are ignored. */
static void rom_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	const struct pci_device *d = opaque;

	if (is_write)
		return;
	for (uint32_t i = 0; i < size; i++)
		data[i] = off + i < d->rom_len ? d->rom[off + i] : 0xff;
}

int pci_device_set_ram_bar(struct pci_device *d, int idx, uint64_t size, unsigned int flags, pci_bar_map_fn *map,
			   void *opaque)
{
	int r;

	if ((flags & PCI_BAR_IO) || !map)
		return -EINVAL;
	r = pci_device_set_bar(d, idx, size, flags, NULL, opaque);
	if (!r)
		d->bars[idx].map = map;
	return r;
}

int pci_device_add_cap(struct pci_device *d, uint8_t cap_id, const void *body, uint32_t body_len)
{
	unsigned int off = d->next_cap, len;

	/* Standard config space only: 0x40..0xff (PCI 3.0 s6.7). */
	if (body_len > 0x100 - 0x40 - 2 || (body_len && !body))
		return -ENOSPC;
	len = 2 + body_len;
	if (off < 0x40 || off + len > 0x100)
		return -ENOSPC;
	d->cfg[off] = cap_id;
	d->cfg[off + 1] = 0;
	if (body_len)
		memcpy(d->cfg + off + 2, body, body_len);
	if (!d->cfg[PCI_CAPABILITY_LIST]) {
		d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	} else {
		unsigned int p = d->cfg[PCI_CAPABILITY_LIST];
		while (d->cfg[p + 1])
			p = d->cfg[p + 1];
		d->cfg[p + 1] = (uint8_t)off;
	}
	put_le16(d->cfg + PCI_STATUS, get_le16(d->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->next_cap = (uint8_t)ALIGN_UP(off + len, 4);
	if (d->next_cap == 0) /* wrapped past 0xff */
		d->next_cap = 0xff;
	return (int)off;
}

int pci_bus_init(struct pci_bus *pb, struct bus *pio, struct bus *mmio)
{
	memset(pb, 0, sizeof(*pb));
	pb->pio = pio;
	pb->mmio = mmio;
	return -pthread_mutex_init(&pb->lock, NULL);
}

void pci_bus_destroy(struct pci_bus *pb)
{
	free(pb->host_bridge);
	pb->host_bridge = NULL;
	pthread_mutex_destroy(&pb->lock);
}

int pci_bus_plug(struct pci_bus *pb, struct pci_device *d, int slot)
{
	int r = -ENOSPC;

	pthread_mutex_lock(&pb->lock);
	if (slot >= 32) {
		r = -EINVAL;
	} else if (slot >= 0) {
		r = pb->devs[slot << 3] ? -EBUSY : slot;
	} else {
		for (int s = 0; s < 32; s++) {
			if (!pb->devs[s << 3]) {
				r = s;
				break;
			}
		}
	}
	if (r >= 0) {
		d->devfn = (uint8_t)(r << 3);
		d->bus = pb;
		pb->devs[d->devfn] = d;
		r = 0;
	}
	pthread_mutex_unlock(&pb->lock);
	return r;
}

static uint64_t bar_addr(const struct pci_device *d, int i)
{
	unsigned int off = PCI_BAR0 + 4 * (unsigned int)i;
	uint64_t a = get_le32(d->cfg + off);

	if (d->bars[i].flags & PCI_BAR_IO)
		return a & ~0x3ULL;
	a &= ~0xfULL;
	if (d->bars[i].flags & PCI_BAR_MEM64)
		a |= (uint64_t)get_le32(d->cfg + off + 4) << 32;
	return a;
}

/*
 * A memory BAR that still holds the sizing pattern (the guest wrote all ones
 * and has not written an address back yet). Its range would end exactly at
 * 4 GiB, or sit in the top 4 GiB of the 64-bit space; on x86 the former is the
 * firmware flash and the latter is beyond any physical address width, so no
 * real assignment lands there.
 */
static bool bar_sizing(const struct pci_bar *b, uint64_t addr)
{
	if (b->flags & PCI_BAR_IO)
		return false; /* an all-ones I/O BAR is above 64 KiB: never mapped anyway */
	if ((b->flags & PCI_BAR_MEM64) && (addr >> 32) == 0xffffffffULL)
		return true;
	return b->size <= 0x100000000ULL && addr == 0x100000000ULL - b->size;
}

/* The ROM decodes when its enable bit and COMMAND.memory are both set (PCI 3.0 s6.2.5.2). */
static void update_rom_mapping(struct pci_device *d, uint16_t cmd)
{
	uint32_t reg = get_le32(d->cfg + PCI_ROM_ADDRESS);
	uint64_t addr = reg & ~(uint32_t)(PCI_ROM_MIN - 1);
	bool want;

	if (!d->rom_size)
		return;
	/* Ending exactly at 4 GiB is the sizing pattern (and the BIOS flash): never map there. */
	want = (cmd & PCI_COMMAND_MEMORY) && (reg & PCI_ROM_ADDRESS_ENABLE) && addr != 0 &&
	       addr < 0x100000000ULL - d->rom_size;
	if (d->rom_mapped && (!want || addr != d->rom_addr)) {
		bus_unregister(d->bus->mmio, d->rom_addr);
		d->rom_mapped = false;
	}
	if (want && !d->rom_mapped) {
		if (bus_register(d->bus->mmio, addr, d->rom_size, rom_io, d, d->name) == 0) {
			d->rom_addr = addr;
			d->rom_mapped = true;
		} else {
			log_ratelimited(LOG_WARN, "pci %s: ROM at 0x%llx overlaps another device; not mapped", d->name,
					(unsigned long long)addr);
		}
	}
}

/* Bring each BAR's bus mapping in line with COMMAND and the BAR registers. */
static void update_mappings(struct pci_device *d)
{
	uint16_t cmd = get_le16(d->cfg + PCI_COMMAND);

	for (int i = 0; i < 6; i++) {
		struct pci_bar *b = &d->bars[i];
		bool io_bar = b->flags & PCI_BAR_IO;
		struct bus *bus = io_bar ? d->bus->pio : d->bus->mmio;
		uint64_t addr = bar_addr(d, i);
		uint64_t limit = io_bar ? 0x10000 : ((b->flags & PCI_BAR_MEM64) ? UINT64_MAX : 0x100000000ULL);
		bool want;

		if (!b->size || (!b->io && !b->map)) {
			if (b->flags & PCI_BAR_MEM64)
				i++;
			continue;
		}
		/* Not while decoding is off, unprogrammed, or mid-sizing (all ones). */
		want = (cmd & (io_bar ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) && addr != 0 &&
		       addr <= limit - b->size && !bar_sizing(b, addr);
		if (b->mapped && (!want || addr != b->addr)) {
			if (b->map)
				b->map(b->opaque, i, b->addr, false);
			else
				bus_unregister(bus, b->addr);
			b->mapped = false;
		}
		if (want && !b->mapped && b->map) {
			b->addr = addr;
			b->mapped = true;
			b->map(b->opaque, i, addr, true);
		} else if (want && !b->mapped) {
			if (bus_register(bus, addr, b->size, b->io, b->opaque, d->name) == 0) {
				b->addr = addr;
				b->mapped = true;
			} else {
				log_ratelimited(LOG_WARN, "pci %s: BAR%d at 0x%llx overlaps another device; not mapped",
						d->name, i, (unsigned long long)addr);
			}
		}
		if (b->flags & PCI_BAR_MEM64)
			i++;
	}
	update_rom_mapping(d, cmd);
}

static void cfg_write(struct pci_device *d, uint32_t off, const uint8_t *data, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++) {
		uint32_t o = off + i;
		uint8_t v = data[i];
		d->cfg[o] = (uint8_t)((d->cfg[o] & ~d->wmask[o]) | (v & d->wmask[o]));
		d->cfg[o] &= (uint8_t)~(v & d->w1cmask[o]);
	}
	if ((off < PCI_BAR0 + 24 && off + size > PCI_COMMAND) ||
	    (off < PCI_ROM_ADDRESS + 4 && off + size > PCI_ROM_ADDRESS))
		update_mappings(d);
	if (d->cfg_written)
		d->cfg_written(d, off, size);
}

void pci_config_access(struct pci_bus *pb, uint8_t bus, uint8_t devfn, uint32_t off, uint8_t *data,
		       uint32_t size, bool is_write)
{
	struct pci_device *d;

	if ((size != 1 && size != 2 && size != 4) || (off & (size - 1)) || off >= PCI_CFG_SIZE ||
	    size > PCI_CFG_SIZE - off) {
		pthread_mutex_lock(&pb->lock);
		pb->bad_accesses++;
		pthread_mutex_unlock(&pb->lock);
		log_ratelimited(LOG_DEBUG, "pci: bad config access %02x:%02x.%x+0x%x size %u", bus, devfn >> 3,
				devfn & 7, off, size);
		if (!is_write && size <= 8)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&pb->lock);
	d = bus == 0 ? pb->devs[devfn] : NULL;
	if (!d) {
		if (!is_write)
			memset(data, 0xff, size); /* no device: master abort reads all ones */
	} else if (is_write) {
		cfg_write(d, off, data, size);
	} else {
		if (d->cfg_read)
			d->cfg_read(d, off, size);
		memcpy(data, d->cfg + off, size);
	}
	pthread_mutex_unlock(&pb->lock);
}

void pci_bus_set_cf9_handler(struct pci_bus *pb, bus_io_fn *fn, void *opaque)
{
	pb->cf9_io = fn;
	pb->cf9_opaque = opaque;
}

/* CONFIG_ADDRESS (0xcf8): only 32-bit accesses reach the latch. */
static void cf8_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_bus *pb = opaque;

	if (size == 1 && off == 1 && pb->cf9_io) {
		pb->cf9_io(pb->cf9_opaque, 0, data, 1, is_write);
		return;
	}
	if (size != 4 || off != 0) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&pb->lock);
	if (is_write)
		pb->cf8 = get_le32(data);
	else
		put_le32(data, pb->cf8);
	pthread_mutex_unlock(&pb->lock);
}

/* CONFIG_DATA (0xcfc-0xcff): the low address bits pick bytes of the dword. */
static void cfc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_bus *pb = opaque;
	uint32_t cf8;

	pthread_mutex_lock(&pb->lock);
	cf8 = pb->cf8;
	pthread_mutex_unlock(&pb->lock);
	if (!(cf8 & CF8_ENABLE) || off + size > 4) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pci_config_access(pb, (uint8_t)(cf8 >> 16), (uint8_t)(cf8 >> 8), (cf8 & 0xfc) + (uint32_t)off, data, size,
			  is_write);
}

static void ecam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_bus *pb = opaque;

	pci_config_access(pb, (uint8_t)(off >> 20), (uint8_t)(off >> 12), (uint32_t)(off & 0xfff), data, size,
			  is_write);
}

int pci_bus_register_host(struct pci_bus *pb, uint64_t ecam_base, unsigned int nr_buses)
{
	int r;

	if (nr_buses == 0 || nr_buses > 256)
		return -EINVAL;
	pb->ecam_base = ecam_base;
	pb->ecam_size = (uint64_t)nr_buses << 20;
	if ((r = bus_register(pb->pio, 0xcf8, 4, cf8_io, pb, "pci-config-address")) ||
	    (r = bus_register(pb->pio, 0xcfc, 4, cfc_io, pb, "pci-config-data")) ||
	    (r = bus_register(pb->mmio, ecam_base, pb->ecam_size, ecam_io, pb, "pci-ecam")))
		return r;
	return 0;
}

int pci_host_bridge_create(struct pci_bus *pb)
{
	struct pci_device *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	/* Intel Q35 MCH identity: what firmware (SeaBIOS) expects of a PCIe host bridge. */
	pci_device_init(d, "host-bridge", 0x8086, 0x29c0, 0x060000, 0, 0x1af4, 0x1100);
	/*
	 * PCIEXBAR (Intel 3 Series MCH datasheet s5.1.13): ECAM stays where vmkit
	 * put it. The register reads back that base, enabled, with the length
	 * field for the bus count, and ignores writes. SeaBIOS's q35 code writes
	 * this same address (0xb0000000, 256 buses) and reserves it in e820.
	 */
	if (pb->ecam_size) {
		uint32_t len_bits = pb->ecam_size >= (256u << 20) ? 0 : pb->ecam_size >= (128u << 20) ? 1 : 2;
		put_le32(d->cfg + MCH_PCIEXBAR, (uint32_t)pb->ecam_base | (len_bits << 1) | 1);
		put_le32(d->cfg + MCH_PCIEXBAR + 4, (uint32_t)(pb->ecam_base >> 32));
	}
	/*
	 * PAM0-6 (s5.1.18-24): RAM shadowing attributes of 0xc0000-0xfffff.
	 * Firmware mode keeps that range as RAM preloaded with the BIOS, so the
	 * registers only hold what the firmware writes: SeaBIOS sets "RAM,
	 * read/write", then copies the BIOS over itself (the same bytes).
	 */
	d->wmask[MCH_PAM0] = 0x30;
	for (unsigned int i = 1; i < 7; i++)
		d->wmask[MCH_PAM0 + i] = 0x33;
	r = pci_bus_plug(pb, d, 0);
	if (r) {
		free(d);
		return r;
	}
	pb->host_bridge = d;
	return 0;
}

/* A bump allocator over one window [next, end). */
struct window {
	uint64_t next, end;
};

static int window_alloc(struct window *w, uint64_t size, uint64_t *out)
{
	uint64_t at = ALIGN_UP(w->next, size);

	if (w->next >= w->end || at < w->next || at >= w->end || size > w->end - at)
		return -ENOSPC;
	*out = at;
	w->next = at + size;
	return 0;
}

struct bar_ref {
	struct pci_device *d;
	int idx;
};

/* Largest first: with natural alignment this packs each window without holes. */
static int bar_ref_cmp(const void *a, const void *b)
{
	const struct bar_ref *x = a, *y = b;
	uint64_t sx = x->d->bars[x->idx].size, sy = y->d->bars[y->idx].size;

	if (sx != sy)
		return sx < sy ? 1 : -1;
	if (x->d->devfn != y->d->devfn)
		return x->d->devfn < y->d->devfn ? -1 : 1;
	return x->idx - y->idx;
}

/* Place one BAR; returns 0 or -ENOSPC. */
static int assign_bar(struct pci_device *d, int i, struct window *mem32, struct window *mem64,
		      struct window *io)
{
	struct pci_bar *b = &d->bars[i];
	unsigned int off = PCI_BAR0 + 4 * (unsigned int)i;
	uint32_t low_flags = get_le32(d->cfg + off) & 0xf;
	bool have64 = mem64->end > mem64->next;
	uint64_t at;

	if (b->flags & PCI_BAR_IO) {
		if (window_alloc(io, b->size, &at))
			return -ENOSPC;
		put_le32(d->cfg + off, (uint32_t)at | 0x1);
		return 0;
	}
	if (b->flags & PCI_BAR_MEM64) {
		/* Prefetchable 64-bit BARs go above 4 GiB when there is a window for them. */
		bool high_first = (b->flags & PCI_BAR_PREFETCH) && have64;
		if (high_first ? (window_alloc(mem64, b->size, &at) && window_alloc(mem32, b->size, &at))
			       : (window_alloc(mem32, b->size, &at) &&
				  (!have64 || window_alloc(mem64, b->size, &at))))
			return -ENOSPC;
		put_le32(d->cfg + off + 4, (uint32_t)(at >> 32));
	} else if (window_alloc(mem32, b->size, &at)) {
		return -ENOSPC;
	}
	put_le32(d->cfg + off, (uint32_t)at | low_flags);
	return 0;
}

int pci_bus_assign_bars(struct pci_bus *pb, uint64_t mmio32_base, uint64_t mmio32_end, uint64_t mmio64_base,
			uint64_t mmio64_end, uint32_t io_base, uint32_t io_end)
{
	struct window mem32 = { mmio32_base, mmio32_end }, mem64 = { mmio64_base, mmio64_end };
	struct window io = { io_base, io_end };
	struct bar_ref *refs;
	unsigned int n = 0;
	int err = 0;

	refs = calloc(PCI_MAX_DEVFN * 6, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	pthread_mutex_lock(&pb->lock);
	for (unsigned int devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
		struct pci_device *d = pb->devs[devfn];

		if (!d)
			continue;
		for (int i = 0; i < 6; i++) {
			/* Already placed (by the guest, or an earlier call)? Leave it. */
			if (d->bars[i].size && !bar_addr(d, i))
				refs[n++] = (struct bar_ref){ d, i };
			if (d->bars[i].flags & PCI_BAR_MEM64)
				i++;
		}
	}
	qsort(refs, n, sizeof(*refs), bar_ref_cmp);
	for (unsigned int k = 0; k < n; k++) {
		if (assign_bar(refs[k].d, refs[k].idx, &mem32, &mem64, &io)) {
			log_warn("pci %s: no room for BAR%d (%llu bytes)", refs[k].d->name, refs[k].idx,
				 (unsigned long long)refs[k].d->bars[refs[k].idx].size);
			err = -ENOSPC;
		}
	}
	for (unsigned int devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
		struct pci_device *d = pb->devs[devfn];

		uint16_t cmd;

		if (!d)
			continue;
		/* Decode whatever is placed now, and let the device master the bus. */
		cmd = get_le16(d->cfg + PCI_COMMAND) | PCI_COMMAND_MASTER;
		for (int i = 0; i < 6; i++) {
			if (d->bars[i].size && bar_addr(d, i))
				cmd |= (d->bars[i].flags & PCI_BAR_IO) ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
			if (d->bars[i].flags & PCI_BAR_MEM64)
				i++;
		}
		put_le16(d->cfg + PCI_COMMAND, cmd);
		update_mappings(d);
		if (d->cfg_written)
			d->cfg_written(d, PCI_COMMAND, 2);
	}
	pthread_mutex_unlock(&pb->lock);
	free(refs);
	return err;
}
