// SPDX-License-Identifier: MIT
/* PCI: enumeration through 0xcf8/0xcfc and ECAM, BAR sizing and mapping, capabilities, masks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vmkit/pci.h"
#include "vmkit/util.h"

#define ECAM 0xb0000000ULL

struct fx {
	struct bus pio, mmio;
	struct pci_bus pb;
	struct pci_device dev;
	int bar_hits;
	uint64_t bar_off;
};

static void bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct fx *f = opaque;
	f->bar_hits++;
	f->bar_off = off;
	if (!is_write)
		memset(data, 0x42, size);
}

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	bus_init(&f.pio, "pio");
	bus_init(&f.mmio, "mmio");
	assert_int_equal(pci_bus_init(&f.pb, &f.pio, &f.mmio), 0);
	assert_int_equal(pci_bus_register_host(&f.pb, ECAM, 256), 0);
	assert_int_equal(pci_host_bridge_create(&f.pb), 0);
	pci_device_init(&f.dev, "test", 0x1af4, 0x1041, 0x020000, 1, 0x1af4, 0x1100);
	assert_int_equal(pci_device_set_bar(&f.dev, 0, 0x1000, 0, bar_io, &f), 0);
	assert_int_equal(pci_device_set_bar(&f.dev, 2, 0x100000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, bar_io, &f), 0);
	assert_int_equal(pci_device_set_bar(&f.dev, 4, 0x20, PCI_BAR_IO, bar_io, &f), 0);
	assert_int_equal(pci_bus_plug(&f.pb, &f.dev, 3), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	pci_bus_destroy(&f->pb);
	bus_destroy(&f->pio);
	bus_destroy(&f->mmio);
	return 0;
}

static uint32_t cfg_rd(struct fx *f, unsigned int dev, unsigned int reg, unsigned int size)
{
	uint8_t d[4] = { 0 }, a[4];
	put_le32(a, 0x80000000U | (dev << 11) | (reg & 0xfc));
	bus_access(&f->pio, 0xcf8, a, 4, true);
	bus_access(&f->pio, 0xcfc + (reg & 3), d, size, false);
	return size == 4 ? get_le32(d) : size == 2 ? get_le16(d) : d[0];
}

static void cfg_wr(struct fx *f, unsigned int dev, unsigned int reg, uint32_t v)
{
	uint8_t d[4], a[4];
	put_le32(a, 0x80000000U | (dev << 11) | reg);
	bus_access(&f->pio, 0xcf8, a, 4, true);
	put_le32(d, v);
	bus_access(&f->pio, 0xcfc, d, 4, true);
}

/* A byte/word/dword write through CONFIG_DATA, low address bits picking the bytes. */
static void cfg_wr_sz(struct fx *f, unsigned int dev, unsigned int reg, unsigned int size, uint32_t v)
{
	uint8_t d[4], a[4];
	put_le32(a, 0x80000000U | (dev << 11) | (reg & 0xfc));
	assert_true(bus_access(&f->pio, 0xcf8, a, 4, true));
	put_le32(d, v);
	assert_true(bus_access(&f->pio, 0xcfc + (reg & 3), d, size, true));
}

static uint32_t ecam_rd(struct fx *f, unsigned int bus, unsigned int devfn, unsigned int reg, unsigned int size)
{
	uint8_t d[8];
	memset(d, 0, sizeof(d));
	bus_access(&f->mmio, ECAM + ((uint64_t)bus << 20) + (devfn << 12) + reg, d, size, false);
	return size == 4 ? get_le32(d) : size == 2 ? get_le16(d) : d[0];
}

static void test_enumeration(void **state)
{
	struct fx *f = *state;
	uint8_t d[4];

	assert_int_equal(cfg_rd(f, 0, 0, 4), 0x29c08086);
	assert_int_equal(cfg_rd(f, 3, 0, 4), 0x10411af4);
	assert_int_equal(cfg_rd(f, 3, 2, 2), 0x1041);
	assert_int_equal(cfg_rd(f, 3, 0xb, 1), 0x02); /* class */
	assert_int_equal(cfg_rd(f, 5, 0, 4), 0xffffffff);
	bus_access(&f->mmio, ECAM + (3 << 15), d, 4, false);
	assert_int_equal(get_le32(d), 0x10411af4);
	bus_access(&f->mmio, ECAM + (1 << 20), d, 4, false); /* bus 1: nothing */
	assert_int_equal(get_le32(d), 0xffffffff);
	/* vendor/device are read-only */
	cfg_wr(f, 3, 0, 0);
	assert_int_equal(cfg_rd(f, 3, 0, 4), 0x10411af4);
	/* enable bit clear: all ones */
	uint8_t a[4] = { 0 };
	bus_access(&f->pio, 0xcf8, a, 4, true);
	bus_access(&f->pio, 0xcfc, d, 4, false);
	assert_int_equal(get_le32(d), 0xffffffff);
	/* bad ECAM accesses: unaligned, 8 bytes */
	bus_access(&f->mmio, ECAM + (3 << 15) + 1, d, 2, false);
	assert_int_equal(get_le16(d), 0xffff);
}

static void test_bar_sizing_and_mapping(void **state)
{
	struct fx *f = *state;
	uint8_t d[4];

	cfg_wr(f, 3, 0x10, 0xffffffff);
	assert_int_equal(cfg_rd(f, 3, 0x10, 4), 0xfffff000); /* 4 KiB memory BAR */
	cfg_wr(f, 3, 0x18, 0xffffffff);
	cfg_wr(f, 3, 0x1c, 0xffffffff);
	assert_int_equal(cfg_rd(f, 3, 0x18, 4), 0xfff0000c); /* 1 MiB, 64-bit, prefetchable */
	assert_int_equal(cfg_rd(f, 3, 0x1c, 4), 0xffffffff);
	cfg_wr(f, 3, 0x20, 0xffffffff);
	assert_int_equal(cfg_rd(f, 3, 0x20, 4), 0xffffffe1); /* 32-byte I/O */

	cfg_wr(f, 3, 0x10, 0xc0000000);
	cfg_wr(f, 3, 0x18, 0x00000000);
	cfg_wr(f, 3, 0x1c, 0x00000010); /* 0x10_00000000 */
	cfg_wr(f, 3, 0x20, 0xc000);
	assert_false(bus_access(&f->mmio, 0xc0000010, d, 4, false)); /* decoding off */
	cfg_wr(f, 3, 0x04, 0x0003);
	assert_true(bus_access(&f->mmio, 0xc0000010, d, 4, false));
	assert_int_equal(f->bar_off, 0x10);
	assert_true(bus_access(&f->mmio, 0x1000000000ULL + 0x80, d, 4, false));
	assert_true(bus_access(&f->pio, 0xc004, d, 2, false));
	assert_int_equal(f->bar_off, 4);
	/* move BAR0 while enabled */
	cfg_wr(f, 3, 0x10, 0xc0100000);
	assert_false(bus_access(&f->mmio, 0xc0000010, d, 4, false));
	assert_true(bus_access(&f->mmio, 0xc0100010, d, 4, false));
	/* disable memory decoding */
	cfg_wr(f, 3, 0x04, 0x0001);
	assert_false(bus_access(&f->mmio, 0xc0100010, d, 4, false));
	assert_true(bus_access(&f->pio, 0xc004, d, 2, false));
}

static void test_capabilities_and_status(void **state)
{
	struct fx *f = *state;
	uint8_t body[10] = { 1, 2, 3, 4, 5, 6 };

	int a = pci_device_add_cap(&f->dev, 0x09, body, 6);
	int b = pci_device_add_cap(&f->dev, 0x11, body, 10);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x48);
	assert_true(cfg_rd(f, 3, 0x06, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_rd(f, 3, 0x34, 1), 0x40);
	assert_int_equal(cfg_rd(f, 3, 0x41, 1), 0x48);
	assert_int_equal(cfg_rd(f, 3, 0x49, 1), 0);
	uint8_t big[300] = { 0 };
	assert_int_equal(pci_device_add_cap(&f->dev, 0x10, big, 250), -ENOSPC);
	/* write-1-to-clear status bits */
	f->dev.cfg[PCI_STATUS + 1] |= 0x20; /* received master abort */
	cfg_wr(f, 3, 0x04, 0x20000000);
	assert_int_equal(cfg_rd(f, 3, 0x07, 1) & 0x20, 0);
}

static void test_assign_bars(void **state)
{
	struct fx *f = *state;
	uint8_t d[4];

	assert_int_equal(pci_bus_assign_bars(&f->pb, 0xc0000000, 0xfec00000, 0x4000000000ULL, 0x8000000000ULL, 0xc000,
					      0x10000),
			 0);
	uint32_t bar0 = cfg_rd(f, 3, 0x10, 4);
	assert_true(bar0 >= 0xc0000000 && bar0 % 0x1000 == 0);
	uint64_t bar2 = (cfg_rd(f, 3, 0x18, 4) & ~0xfULL) | ((uint64_t)cfg_rd(f, 3, 0x1c, 4) << 32);
	assert_true(bar2 >= 0x4000000000ULL && bar2 % 0x100000 == 0);
	assert_true(cfg_rd(f, 3, 0x04, 2) & 0x7);
	assert_true(bus_access(&f->mmio, bar0, d, 4, false));
	assert_true(bus_access(&f->mmio, bar2, d, 4, false));
	/* no room */
	assert_int_equal(pci_device_set_bar(&f->dev, 1, 0x10000000, 0, bar_io, f), 0);
	f->dev.cfg[PCI_BAR0 + 4] = 0;
	assert_int_equal(pci_bus_assign_bars(&f->pb, 0xc0000000, 0xc0001000, 0, 0, 0xc000, 0xc010), -ENOSPC);
	assert_int_equal(pci_device_set_bar(&f->dev, 5, 3, 0, bar_io, f), -EINVAL);
}

static void test_host_bridge(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_rd(f, 0, 0x00, 4), 0x29c08086);
	assert_int_equal(ecam_rd(f, 0, 0, 0x00, 4), 0x29c08086);
	assert_int_equal(cfg_rd(f, 0, 0x08, 4) >> 8, 0x060000); /* host bridge class */
	assert_int_equal(cfg_rd(f, 0, 0x0e, 1), 0x00);          /* header type 0, single function */
	assert_int_equal(cfg_rd(f, 0, 0x2c, 4), 0x11001af4);
	assert_int_equal(cfg_rd(f, 0, 0x06, 2) & PCI_STATUS_CAP_LIST, 0);
	/* no BARs: sizing reads back 0 */
	for (unsigned int bar = 0x10; bar < 0x28; bar += 4) {
		cfg_wr(f, 0, bar, 0xffffffff);
		assert_int_equal(cfg_rd(f, 0, bar, 4), 0);
	}
	/* functions 1-7 of slot 0 and other slots are absent */
	assert_int_equal(ecam_rd(f, 0, 1, 0, 4), 0xffffffff);
	assert_int_equal(ecam_rd(f, 0, 31 << 3, 0, 2), 0xffff);
	assert_int_equal(ecam_rd(f, 255, 0, 0, 4), 0xffffffff);
}

static void test_config_data_byte_word(void **state)
{
	struct fx *f = *state;

	/* reg 0x0c: cache line (rw), latency (rw), header type (ro), BIST (ro) */
	cfg_wr_sz(f, 3, 0x0d, 1, 0x40); /* byte at 0xcfd */
	cfg_wr_sz(f, 3, 0x0e, 2, 0xffff); /* word at 0xcfe: read-only bytes */
	cfg_wr_sz(f, 3, 0x0c, 1, 0x10); /* byte at 0xcfc */
	assert_int_equal(cfg_rd(f, 3, 0x0c, 4), 0x00004010);
	assert_int_equal(cfg_rd(f, 3, 0x0d, 1), 0x40);
	assert_int_equal(cfg_rd(f, 3, 0x0e, 2), 0x0000);
	assert_int_equal(cfg_rd(f, 3, 0x0f, 1), 0x00); /* byte at 0xcff */
	/* COMMAND: only IO, MEM, MASTER, parity, SERR and INTx-disable stick */
	cfg_wr_sz(f, 3, 0x04, 2, 0xffff);
	assert_int_equal(cfg_rd(f, 3, 0x04, 2), 0x0547);
	cfg_wr_sz(f, 3, 0x04, 2, 0x0000);
	/* status is read-only apart from its write-1-to-clear bits */
	f->dev.cfg[PCI_STATUS + 1] |= 0x30; /* received master + target abort */
	cfg_wr_sz(f, 3, 0x06, 2, 0x1000 | 0x0010); /* clear target abort; CAP_LIST is read-only */
	assert_int_equal(cfg_rd(f, 3, 0x06, 2), 0x2000);
	/* class, revision, subsystem, interrupt pin are read-only; interrupt line is not */
	cfg_wr(f, 3, 0x08, 0xffffffff);
	assert_int_equal(cfg_rd(f, 3, 0x08, 4), 0x02000001);
	cfg_wr(f, 3, 0x2c, 0);
	assert_int_equal(cfg_rd(f, 3, 0x2c, 4), 0x11001af4);
	cfg_wr_sz(f, 3, 0x3c, 2, 0xffff);
	assert_int_equal(cfg_rd(f, 3, 0x3c, 2), 0x00ff);
	/* the same registers through ECAM, byte and word wide */
	assert_int_equal(ecam_rd(f, 0, 3 << 3, 0x0d, 1), 0x40);
	assert_int_equal(ecam_rd(f, 0, 3 << 3, 0x02, 2), 0x1041);
	/* CONFIG_ADDRESS reads back what was latched */
	uint8_t a[4];
	put_le32(a, 0x80001810);
	bus_access(&f->pio, 0xcf8, a, 4, true);
	memset(a, 0, sizeof(a));
	bus_access(&f->pio, 0xcf8, a, 4, false);
	assert_int_equal(get_le32(a), 0x80001810);
}

static int cf9_hits;
static uint8_t cf9_val;

static void cf9_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	assert_int_equal(off, 0);
	assert_int_equal(size, 1);
	cf9_hits++;
	if (is_write)
		cf9_val = data[0];
	else
		data[0] = 0x02;
}

static void test_malformed_accesses(void **state)
{
	struct fx *f = *state;
	uint8_t d[8], a[4];
	uint8_t snapshot[PCI_CFG_SIZE];

	memcpy(snapshot, f->dev.cfg, sizeof(snapshot));
	/* only dword accesses reach the CONFIG_ADDRESS latch */
	put_le32(a, 0x80001800);
	bus_access(&f->pio, 0xcf8, a, 4, true);
	a[0] = 0x55;
	bus_access(&f->pio, 0xcf8, a, 1, true);
	bus_access(&f->pio, 0xcfb, a, 1, true); /* Linux's type 1 probe pokes 0xcfb */
	put_le16(a, 0x1234);
	bus_access(&f->pio, 0xcfa, a, 2, true);
	bus_access(&f->pio, 0xcf8, a, 4, false);
	assert_int_equal(get_le32(a), 0x80001800);
	bus_access(&f->pio, 0xcf8, a, 2, false);
	assert_int_equal(get_le16(a), 0xffff);
	/* 0xcf9 without a reset-control handler: ignored; with one: forwarded */
	a[0] = 0x06;
	bus_access(&f->pio, 0xcf9, a, 1, true);
	pci_bus_set_cf9_handler(&f->pb, cf9_io, NULL);
	cf9_hits = 0;
	bus_access(&f->pio, 0xcf9, a, 1, true);
	assert_int_equal(cf9_hits, 1);
	assert_int_equal(cf9_val, 0x06);
	bus_access(&f->pio, 0xcf9, a, 1, false);
	assert_int_equal(a[0], 0x02);
	bus_access(&f->pio, 0xcf9, a, 2, true); /* not a byte access: not the reset register */
	assert_int_equal(cf9_hits, 2);
	put_le32(a, 0x80001800);
	bus_access(&f->pio, 0xcf8, a, 4, false);
	assert_int_equal(get_le32(a), 0x80001800); /* the latch never saw any of it */

	/* direct config accesses of bad size, alignment or offset */
	static const struct {
		uint32_t off, size;
	} bad[] = {
		{ 0, 3 }, { 0, 8 }, { 0, 0 }, { 1, 2 }, { 2, 4 }, { 3, 4 }, { 4096, 1 }, { 4094, 4 },
		{ 0xfffffffcU, 4 }, { 0xffffffffU, 1 }, { 0x80000000U, 2 }, { 4092, 8 },
	};
	uint64_t bad_before = f->pb.bad_accesses;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(d, 0x5a, sizeof(d));
		pci_config_access(&f->pb, 0, 3 << 3, bad[i].off, d, bad[i].size, true);
		memset(d, 0, sizeof(d));
		pci_config_access(&f->pb, 0, 3 << 3, bad[i].off, d, bad[i].size, false);
		for (uint32_t j = 0; j < bad[i].size && j < 8; j++)
			assert_int_equal(d[j], 0xff);
	}
	assert_int_equal(f->pb.bad_accesses - bad_before, 2 * (sizeof(bad) / sizeof(bad[0])));
	/* the last dword of the 4 KiB space is fine */
	pci_config_access(&f->pb, 0, 3 << 3, 4092, d, 4, false);
	assert_int_equal(get_le32(d), 0);
	/* other buses: all ones, writes dropped */
	pci_config_access(&f->pb, 1, 3 << 3, 0, d, 4, false);
	assert_int_equal(get_le32(d), 0xffffffff);
	put_le32(d, 0x7);
	pci_config_access(&f->pb, 1, 3 << 3, 4, d, 4, true);
	/* ECAM: 8-byte and unaligned accesses read all ones */
	memset(d, 0, sizeof(d));
	bus_access(&f->mmio, ECAM + (3 << 15), d, 8, false);
	assert_int_equal(get_le32(d), 0xffffffff);
	assert_int_equal(get_le32(d + 4), 0xffffffff);
	bus_access(&f->mmio, ECAM + (3 << 15) + 2, d, 4, false);
	assert_int_equal(get_le32(d), 0xffffffff);
	memset(d, 0x5a, sizeof(d));
	bus_access(&f->mmio, ECAM + (3 << 15) + 0x3b, d, 2, true);
	/* CONFIG_DATA with the enable bit clear: dropped */
	put_le32(a, (3 << 11) | 0x3c);
	bus_access(&f->pio, 0xcf8, a, 4, true);
	put_le32(d, 0x5a);
	bus_access(&f->pio, 0xcfc, d, 4, true);
	/* nothing above changed the device */
	assert_memory_equal(snapshot, f->dev.cfg, sizeof(snapshot));
}

static void test_no_mapping_while_sizing(void **state)
{
	struct fx *f = *state;
	uint8_t d[4];

	/* decoding on before any address: nothing mapped yet */
	cfg_wr(f, 3, 0x04, 0x0003);
	assert_false(bus_access(&f->mmio, 0xfffff000, d, 4, false));
	/* sizing with decoding on must not map the sizing pattern */
	cfg_wr(f, 3, 0x10, 0xffffffff);
	assert_int_equal(cfg_rd(f, 3, 0x10, 4), 0xfffff000);
	assert_false(bus_access(&f->mmio, 0xfffff000, d, 4, false));
	cfg_wr(f, 3, 0x18, 0xffffffff); /* 64-bit: low dword first */
	assert_false(bus_access(&f->mmio, 0xfff00000, d, 4, false));
	cfg_wr(f, 3, 0x1c, 0xffffffff);
	cfg_wr(f, 3, 0x20, 0xffffffff);
	assert_int_equal(f->mmio.nr, 1); /* only ECAM */
	assert_int_equal(f->pio.nr, 2);  /* only 0xcf8 and 0xcfc */
	/* addresses written back: mapped */
	cfg_wr(f, 3, 0x10, 0xc0000000);
	cfg_wr(f, 3, 0x18, 0xc0100000);
	cfg_wr(f, 3, 0x1c, 0);
	cfg_wr(f, 3, 0x20, 0xc000);
	f->bar_hits = 0;
	assert_true(bus_access(&f->mmio, 0xc0000000, d, 4, false));
	assert_true(bus_access(&f->mmio, 0xc01ffffc, d, 4, false));
	assert_true(bus_access(&f->pio, 0xc01f, d, 1, false));
	assert_false(bus_access(&f->pio, 0xc020, d, 1, false));
	assert_int_equal(f->bar_hits, 3);
	/* an I/O BAR above 64 KiB is never mapped */
	cfg_wr(f, 3, 0x20, 0x00010000);
	assert_false(bus_access(&f->pio, 0xc000, d, 1, false));
	assert_int_equal(f->pio.nr, 2);
	/* address 0 unmaps */
	cfg_wr(f, 3, 0x10, 0);
	assert_false(bus_access(&f->mmio, 0xc0000000, d, 4, false));
	/* device-side: a 64-bit BAR's read-back keeps its type bits */
	assert_int_equal(cfg_rd(f, 3, 0x18, 4) & 0xf, 0xc);
}

static void test_bar_overlap(void **state)
{
	struct fx *f = *state;
	static struct pci_device other;
	uint8_t d[4];

	pci_device_init(&other, "other", 0x1af4, 0x1042, 0x018000, 1, 0x1af4, 0x1100);
	assert_int_equal(pci_device_set_bar(&other, 0, 0x1000, 0, bar_io, f), 0);
	assert_int_equal(pci_bus_plug(&f->pb, &other, -1), 0);
	assert_int_equal(other.devfn, 1 << 3); /* first free slot */
	cfg_wr(f, 3, 0x10, 0xc0000000);
	cfg_wr(f, 3, 0x04, 0x0002);
	assert_true(f->dev.bars[0].mapped);
	/* the other device claims the same spot: refused, nothing breaks */
	cfg_wr(f, 1, 0x10, 0xc0000000);
	cfg_wr(f, 1, 0x04, 0x0002);
	assert_false(other.bars[0].mapped);
	assert_true(f->dev.bars[0].mapped);
	/* and one on top of ECAM */
	cfg_wr(f, 1, 0x10, (uint32_t)ECAM + 0x1000);
	assert_false(other.bars[0].mapped);
	assert_int_equal(ecam_rd(f, 0, 3 << 3, 0, 4), 0x10411af4);
	/* moved somewhere free: mapped */
	cfg_wr(f, 1, 0x10, 0xc0001000);
	assert_true(other.bars[0].mapped);
	f->bar_hits = 0;
	assert_true(bus_access(&f->mmio, 0xc0001008, d, 4, false));
	assert_int_equal(f->bar_off, 8);
	/* overlapping a BAR of its own device: the second is refused */
	cfg_wr(f, 3, 0x18, 0xc0000000);
	cfg_wr(f, 3, 0x1c, 0);
	assert_false(f->dev.bars[2].mapped);
	assert_true(f->dev.bars[0].mapped);
	/* plugging: busy slot, bad slot */
	static struct pci_device third;
	pci_device_init(&third, "third", 0x1af4, 0x1043, 0x078000, 1, 0x1af4, 0x1100);
	assert_int_equal(pci_bus_plug(&f->pb, &third, 3), -EBUSY);
	assert_int_equal(pci_bus_plug(&f->pb, &third, 32), -EINVAL);
	assert_int_equal(pci_bus_plug(&f->pb, &third, 31), 0);
	assert_int_equal(cfg_rd(f, 31, 0, 4), 0x10431af4);
}

static void test_capability_chain(void **state)
{
	struct fx *f = *state;
	uint8_t body[64];
	int offs[3], n = 0;

	for (unsigned int i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)i;
	offs[0] = pci_device_add_cap(&f->dev, 0x05, body, 3); /* 5 bytes: next one 4-aligned */
	offs[1] = pci_device_add_cap(&f->dev, 0x09, body, 0);
	offs[2] = pci_device_add_cap(&f->dev, 0x11, body, 10);
	assert_int_equal(offs[0], 0x40);
	assert_int_equal(offs[1], 0x48);
	assert_int_equal(offs[2], 0x4c);
	/* walk it as a driver does, through config reads */
	assert_true(cfg_rd(f, 3, 0x06, 2) & PCI_STATUS_CAP_LIST);
	for (unsigned int p = cfg_rd(f, 3, 0x34, 1); p; p = cfg_rd(f, 3, p + 1, 1)) {
		assert_true(n < 3);
		assert_int_equal(p % 4, 0);
		assert_int_equal(p, (unsigned int)offs[n]);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(cfg_rd(f, 3, 0x40, 1), 0x05);
	assert_int_equal(cfg_rd(f, 3, 0x4c, 1), 0x11);
	assert_int_equal(cfg_rd(f, 3, 0x4e, 2), 0x0100);
	assert_int_equal(cfg_rd(f, 3, 0x50, 4), 0x05040302);
	/* capability headers are read-only for the guest */
	cfg_wr(f, 3, 0x40, 0xffffffff);
	cfg_wr(f, 3, 0x34, 0);
	assert_int_equal(cfg_rd(f, 3, 0x40, 4), 0x01004805);
	assert_int_equal(cfg_rd(f, 3, 0x34, 1), 0x40);
	/* absurd lengths and a full space */
	assert_int_equal(pci_device_add_cap(&f->dev, 0x10, body, 0xffffffffU), -ENOSPC);
	assert_int_equal(pci_device_add_cap(&f->dev, 0x10, body, 0xfffffffeU), -ENOSPC);
	int last = 0, r;
	while ((r = pci_device_add_cap(&f->dev, 0x10, body, 60)) > 0)
		last = r;
	assert_int_equal(r, -ENOSPC);
	assert_true(last > 0x4c && last + 62 <= 0x100);
	/* a small one still fits at the end if there is room, and never past 0x100 */
	while ((r = pci_device_add_cap(&f->dev, 0x10, body, 0)) > 0)
		assert_true(r + 2 <= 0x100);
	assert_int_equal(r, -ENOSPC);
}

static void test_assign_bars_layout(void **state)
{
	struct fx *f = *state;
	static struct pci_device big;
	uint8_t d[4];

	/* a second device whose 64 KiB BAR must go below the 4 KiB one of dev 3 */
	pci_device_init(&big, "big", 0x1af4, 0x1044, 0x020000, 1, 0x1af4, 0x1100);
	assert_int_equal(pci_device_set_bar(&big, 0, 0x10000, 0, bar_io, f), 0);
	assert_int_equal(pci_device_set_bar(&big, 1, 0x100, PCI_BAR_IO, bar_io, f), 0);
	assert_int_equal(pci_bus_plug(&f->pb, &big, 4), 0);
	/* no 64-bit window: the 64-bit prefetchable BAR lands below 4 GiB */
	assert_int_equal(pci_bus_assign_bars(&f->pb, 0xc0000000, 0xc0200000, 0, 0, 0x1000, 0x2000), 0);
	uint32_t bar0 = cfg_rd(f, 3, 0x10, 4), big0 = cfg_rd(f, 4, 0x10, 4);
	uint64_t bar2 = (cfg_rd(f, 3, 0x18, 4) & ~0xfULL) | ((uint64_t)cfg_rd(f, 3, 0x1c, 4) << 32);
	uint32_t io4 = cfg_rd(f, 3, 0x20, 4), bigio = cfg_rd(f, 4, 0x14, 4);
	assert_int_equal(bar2, 0xc0000000); /* largest first, naturally aligned */
	assert_int_equal(big0, 0xc0100000);
	assert_int_equal(bar0, 0xc0110000);
	assert_int_equal(bigio, 0x1001);
	assert_int_equal(io4, 0x1101);
	assert_int_equal(cfg_rd(f, 3, 0x18, 4) & 0xf, 0xc); /* type bits kept */
	assert_int_equal(cfg_rd(f, 3, 0x04, 2) & 0x7, 0x7);
	assert_int_equal(cfg_rd(f, 4, 0x04, 2) & 0x7, 0x7);
	f->bar_hits = 0;
	assert_true(bus_access(&f->mmio, 0xc0000000, d, 4, false));
	assert_true(bus_access(&f->mmio, 0xc010fffc, d, 4, false));
	assert_true(bus_access(&f->mmio, 0xc0110000, d, 4, false));
	assert_true(bus_access(&f->pio, 0x1000, d, 1, false));
	assert_true(bus_access(&f->pio, 0x1100, d, 1, false));
	assert_false(bus_access(&f->pio, 0x1120, d, 1, false));
	assert_int_equal(f->bar_hits, 5);
	/* a second run leaves placed BARs where they are */
	assert_int_equal(pci_bus_assign_bars(&f->pb, 0xd0000000, 0xe0000000, 0, 0, 0x3000, 0x4000), 0);
	assert_int_equal(cfg_rd(f, 3, 0x10, 4), bar0);
	assert_int_equal(cfg_rd(f, 4, 0x14, 4), 0x1001);
	/* window exhausted: -ENOSPC, the rest still placed and mapped */
	static struct pci_device huge;
	pci_device_init(&huge, "huge", 0x1af4, 0x1045, 0x020000, 1, 0x1af4, 0x1100);
	assert_int_equal(pci_device_set_bar(&huge, 0, 0x80000000ULL, 0, bar_io, f), 0);
	assert_int_equal(pci_device_set_bar(&huge, 1, 0x1000, 0, bar_io, f), 0);
	assert_int_equal(pci_bus_plug(&f->pb, &huge, 5), 0);
	assert_int_equal(pci_bus_assign_bars(&f->pb, 0xd0000000, 0xe0000000, 0, 0, 0x3000, 0x4000), -ENOSPC);
	assert_int_equal(cfg_rd(f, 5, 0x10, 4), 0);
	assert_int_equal(cfg_rd(f, 5, 0x14, 4), 0xd0000000);
	assert_true(huge.bars[1].mapped);
	assert_false(huge.bars[0].mapped);
	/* bad BAR declarations */
	assert_int_equal(pci_device_set_bar(&huge, 5, 0x1000, PCI_BAR_MEM64, bar_io, f), -EINVAL);
	assert_int_equal(pci_device_set_bar(&huge, 6, 0x1000, 0, bar_io, f), -EINVAL);
	assert_int_equal(pci_device_set_bar(&huge, -1, 0x1000, 0, bar_io, f), -EINVAL);
	assert_int_equal(pci_device_set_bar(&huge, 2, 0x3000, 0, bar_io, f), -EINVAL);
	assert_int_equal(pci_device_set_bar(&huge, 2, 8, 0, bar_io, f), -EINVAL);
	assert_int_equal(pci_device_set_bar(&huge, 2, 2, PCI_BAR_IO, bar_io, f), -EINVAL);
	assert_int_equal(pci_device_set_bar(&huge, 2, 0x1000, PCI_BAR_IO | PCI_BAR_MEM64, bar_io, f), -EINVAL);
}

static void test_expansion_rom(void **state)
{
	struct fx *f = *state;
	struct pci_device romdev;
	static uint8_t image[3000];
	uint8_t d[4];

	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = (uint8_t)i;
	image[0] = 0x55;
	image[1] = 0xaa;
	pci_device_init(&romdev, "rom", 0x1234, 0x1111, 0x030000, 0, 0, 0);
	assert_int_equal(pci_device_set_rom(&romdev, image, 0), -EINVAL);
	assert_int_equal(pci_device_set_rom(&romdev, NULL, 10), -EINVAL);
	assert_int_equal(pci_device_set_rom(&romdev, image, (16u << 20) + 1), -EINVAL);
	assert_int_equal(pci_device_set_rom(&romdev, image, sizeof(image)), 0);
	assert_int_equal(pci_bus_plug(&f->pb, &romdev, 5), 0);
	/* The test device has no ROM: 0x30 is read-only zero. */
	cfg_wr(f, 3, 0x30, 0xffffffff);
	assert_int_equal(cfg_rd(f, 3, 0x30, 4), 0);
	/* Sizing: 3000 bytes round up to 4 KiB; the enable bit is writable. */
	cfg_wr(f, 5, 0x30, 0xfffffffe);
	assert_int_equal(cfg_rd(f, 5, 0x30, 4), 0xfffff000);
	cfg_wr(f, 5, 0x30, 0xffffffff);
	assert_int_equal(cfg_rd(f, 5, 0x30, 4), 0xfffff001);
	cfg_wr(f, 5, 0x04, 0x0002);
	assert_false(bus_access(&f->mmio, 0xfffff000, d, 4, false)); /* sizing pattern: not mapped */
	/* Programmed but not enabled: nothing decodes. */
	cfg_wr(f, 5, 0x30, 0xc0000000);
	assert_false(bus_access(&f->mmio, 0xc0000000, d, 4, false));
	cfg_wr(f, 5, 0x30, 0xc0000001);
	assert_true(bus_access(&f->mmio, 0xc0000000, d, 2, false));
	assert_int_equal(get_le16(d), 0xaa55);
	assert_true(bus_access(&f->mmio, 0xc0000000 + 300, d, 4, false));
	assert_int_equal(get_le32(d), (uint32_t)(300 & 0xff) | ((301 & 0xff) << 8) | ((302 & 0xff) << 16) |
					      ((uint32_t)(303 & 0xff) << 24));
	/* Past the image (inside the BAR) reads 0xff; writes are ignored. */
	assert_true(bus_access(&f->mmio, 0xc0000000 + 3000, d, 4, false));
	assert_int_equal(get_le32(d), 0xffffffff);
	put_le32(d, 0);
	assert_true(bus_access(&f->mmio, 0xc0000000, d, 4, true));
	assert_true(bus_access(&f->mmio, 0xc0000000, d, 2, false));
	assert_int_equal(get_le16(d), 0xaa55);
	/* Move, then memory decoding off unmaps it. */
	cfg_wr(f, 5, 0x30, 0xc0010001);
	assert_false(bus_access(&f->mmio, 0xc0000000, d, 2, false));
	assert_true(bus_access(&f->mmio, 0xc0010000, d, 2, false));
	cfg_wr(f, 5, 0x04, 0x0000);
	assert_false(bus_access(&f->mmio, 0xc0010000, d, 2, false));
	cfg_wr(f, 5, 0x04, 0x0002);
	assert_true(bus_access(&f->mmio, 0xc0010000, d, 2, false));
	cfg_wr(f, 5, 0x30, 0xc0010000);
	assert_false(bus_access(&f->mmio, 0xc0010000, d, 2, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enumeration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_and_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capabilities_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign_bars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_data_byte_word, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_mapping_while_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capability_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign_bars_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expansion_rom, setup, teardown),
	};
	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
