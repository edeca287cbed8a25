// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the virtio-pci register space. The input is a program of
 * BAR0 and PCI config-space accesses (any offset, any size, reads and
 * writes) against a virtio-rng function with MSI-X, followed by guest memory
 * contents; queue notifications are served synchronously, so rings the
 * program sets up are walked too. With flag bit 1 the memory part is first
 * offered to virtio_pci_load() as a snapshot blob (it must be refused or
 * applied without harm). Nothing may crash, hang or leak.
 */
// fuzz-srcs: src/virtio/*.c src/bus/*.c src/mem/*.c src/util/*.c src/event/*.c src/dev/virtio_rng.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/util.h"
#include "vmkit/virtio_pci.h"
#include "vmkit/virtio_rng.h"

#define MEM 0x10000
#define OP_SIZE 12

static void irq_set(void *ctx, uint32_t gsi, int level) {}
static int msi_alloc(void *ctx)
{
	return 0;
}
static void msi_fire(void *ctx, int h, uint64_t addr, uint32_t data) {}
static const struct msi_ctl msi = { .alloc = msi_alloc, .fire = msi_fire };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct irq_line irq = { .set = irq_set };
	struct guest_mem mem;
	struct bus pio, mmio;
	struct pci_bus pb;
	struct virtio_pci *p;
	size_t nops, i;

	if (size < 2)
		return 0;
	nops = MIN((size_t)data[0], (size - 1) / OP_SIZE);
	guest_mem_init(&mem);
	if (guest_mem_add(&mem, 0, MEM))
		return 0;
	if (1 + nops * OP_SIZE < size)
		memcpy(guest_mem_ptr(&mem, 0, MEM), data + 1 + nops * OP_SIZE,
		       MIN(size - 1 - nops * OP_SIZE, (size_t)MEM));
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	pci_bus_init(&pb, &pio, &mmio);
	struct virtio_pci_env env = { .mem = &mem, .msi = (data[1] & 1) ? &msi : NULL };
	struct virtio_rng *rng = virtio_rng_create();
	if (!rng)
		abort();
	p = virtio_pci_create(&virtio_rng_ops, rng, &env);
	if (!p)
		abort();
	pci_bus_plug(&pb, virtio_pci_device(p), 1);
	virtio_pci_set_intx(p, &irq);
	if ((data[1] & 2) && 1 + nops * OP_SIZE < size)
		virtio_pci_load(p, data + 1 + nops * OP_SIZE, size - 1 - nops * OP_SIZE);
	for (i = 0; i < nops; i++) {
		const uint8_t *op = data + 1 + i * OP_SIZE;
		uint8_t buf[8];
		uint32_t sz = 1u << (op[1] & 3); /* 1, 2, 4, 8 */
		bool wr = op[0] & 1;
		uint32_t off = get_le16(op + 2);

		if (op[0] & 0x10)
			sz = op[1] % 9; /* odd sizes too, including 0 */
		memcpy(buf, op + 4, 8);
		if (op[0] & 2) /* config space: through the bus's own checks */
			pci_config_access(&pb, 0, 1 << 3, off & 0xfff, buf, sz > 4 ? 4 : sz, wr);
		else
			virtio_pci_bar_io(p, (op[0] & 4) ? off : off & 0x7fff, buf, sz, wr);
	}
	virtio_pci_destroy(p);
	pci_bus_destroy(&pb);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	guest_mem_free(&mem);
	return 0;
}
