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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enumeration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_and_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capabilities_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign_bars, setup, teardown),
	};
	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
