// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: PCI configuration accesses (mechanism #1 and ECAM) from a
 * hostile guest, and accesses to what they map: BARs and an expansion ROM
 * (3000 bytes, so its 4 KiB window reads past the image).
 */
// fuzz-srcs: src/bus/*.c src/util/*.c
#include <stdint.h>
#include <string.h>

#include "vmkit/pci.h"

static void dummy_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	if (!is_write)
		memset(data, 0, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bus pio, mmio;
	struct pci_bus pb;
	static struct pci_device dev;
	static const uint8_t rom[3000] = { 0x55, 0xaa };

	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	pci_bus_init(&pb, &pio, &mmio);
	pci_bus_register_host(&pb, 0xb0000000ULL, 256);
	pci_host_bridge_create(&pb);
	pci_device_init(&dev, "dev", 0x1af4, 0x1000, 0x020000, 0, 0x1af4, 1);
	pci_device_set_bar(&dev, 0, 0x1000, 0, dummy_io, NULL);
	pci_device_set_bar(&dev, 2, 0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, dummy_io, NULL);
	pci_device_set_bar(&dev, 4, 0x40, PCI_BAR_IO, dummy_io, NULL);
	pci_device_set_rom(&dev, rom, sizeof(rom));
	pci_bus_plug(&pb, &dev, 3);
	/* each op: kind(1) size(1) addr(4) value(4) */
	for (size_t i = 0; i + 10 <= size; i += 10) {
		uint8_t buf[8];
		uint32_t addr, val, sz = 1u << (data[i + 1] & 3);
		memcpy(&addr, data + i + 2, 4);
		memcpy(&val, data + i + 6, 4);
		memcpy(buf, &val, 4);
		memset(buf + 4, 0, 4);
		bool w = data[i] & 1;
		switch ((data[i] >> 1) & 3) {
		case 0: bus_access(&pio, 0xcf8 + (addr & 7), buf, sz > 4 ? 4 : sz, w); break;
		case 1: bus_access(&mmio, 0xb0000000ULL + (addr & 0x0fffffff), buf, sz, w); break;
		case 2: bus_access(&mmio, 0xc0000000ULL + (addr & 0x3fffffff), buf, sz, w); break;
		default: bus_access(&pio, addr & 0xffff, buf, sz > 4 ? 4 : sz, w); break;
		}
	}
	pci_bus_destroy(&pb);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	return 0;
}
