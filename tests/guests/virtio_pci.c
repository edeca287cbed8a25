// SPDX-License-Identifier: MIT
/*
 * A minimal virtio-pci driver (virtio 1.2 s4.1) for vmkit's virtio-rng
 * (`--rng`): find the function (1af4:1044, revision 1), walk its virtio
 * capabilities, negotiate VERSION_1, set up one split queue with an MSI-X
 * vector aimed at this CPU's LAPIC, and:
 *  - post a buffer and notify (a KVM ioeventfd in vmkit): the device fills
 *    it on its I/O thread and the MSI-X vector (a KVM irqfd) interrupts us;
 *  - mask the vector: the next completion leaves its PBA bit set and no
 *    interrupt; unmasking delivers it;
 *  - disable MSI-X: the completion raises INTx pin A, routed through the
 *    IOAPIC at GSI 20 + slot % 4 (the DSDT _PRT), and reading ISR clears it.
 */
#include "lib.h"

const char *test_name = "virtio_pci";

#define VEC_CONFIG 0x51
#define VEC_QUEUE 0x52
#define VEC_INTX 0x53
#define QSIZE 8

static uint32_t cfg_addr(unsigned int dev, unsigned int reg)
{
	return 0x80000000U | (dev << 11) | (reg & 0xfc);
}

static uint32_t cfg_rd32(unsigned int dev, unsigned int reg)
{
	outl(0xcf8, cfg_addr(dev, reg));
	return inl(0xcfc);
}

static uint8_t cfg_rd8(unsigned int dev, unsigned int reg)
{
	return (uint8_t)(cfg_rd32(dev, reg) >> (8 * (reg & 3)));
}

static void cfg_wr16(unsigned int dev, unsigned int reg, uint16_t v)
{
	outl(0xcf8, cfg_addr(dev, reg));
	outw(0xcfc + (reg & 2), v);
}

static inline uint16_t mmio_rd16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline void mmio_wr16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }

/* split ring (s2.7), identity mapped */
static struct {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
} desc[QSIZE] __attribute__((aligned(16)));
static struct {
	uint16_t flags, idx, ring[QSIZE], used_event;
} avail __attribute__((aligned(2)));
static volatile struct {
	uint16_t flags, idx;
	struct {
		uint32_t id, len;
	} ring[QSIZE];
	uint16_t avail_event;
} used __attribute__((aligned(4)));
static uint8_t buf[3][64];

static volatile unsigned int queue_irqs, intx_irqs;
static void on_queue(void) { queue_irqs++; }
static void on_intx(void) { intx_irqs++; }

static uint64_t common, notify_addr, isr, msix_table, msix_pba;

static void post(unsigned int i)
{
	desc[i] = (typeof(desc[0])){ (uint64_t)(uintptr_t)buf[i], sizeof(buf[i]), 2 /* WRITE */, 0 };
	avail.ring[avail.idx % QSIZE] = (uint16_t)i;
	__asm__ volatile("" ::: "memory");
	avail.idx++;
	__asm__ volatile("mfence" ::: "memory");
	mmio_wr16(notify_addr, 0); /* s4.1.5.2: the queue index */
}

static bool wait_for(volatile unsigned int *v, unsigned int want, uint64_t us)
{
	uint64_t end = clock_us() + us;

	while (*v < want && clock_us() < end)
		cpu_relax();
	return *v >= want;
}

static bool wait_used(uint16_t idx)
{
	uint64_t end = clock_us() + 2000000;

	while (used.idx != idx && clock_us() < end)
		cpu_relax();
	return used.idx == idx;
}

static bool nonzero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return true;
	return false;
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	unsigned int dev, pos, msix = 0, gsi;
	uint64_t bar;
	uint32_t mult = 0;

	for (dev = 1; dev < 32; dev++)
		if (cfg_rd32(dev, 0) == 0x10441af4)
			break;
	CHECK(dev < 32);
	CHECK(cfg_rd8(dev, 8) == 1); /* revision 1: modern only */
	CHECK(cfg_rd8(dev, 0x3d) == 1); /* INTA# */
	bar = cfg_rd32(dev, 0x10) & ~0xfULL;
	CHECK(bar && (cfg_rd32(dev, 4) & 0x6) == 0x6); /* placed by vmkit; memory + bus master on */

	for (pos = cfg_rd8(dev, 0x34); pos; pos = cfg_rd8(dev, pos + 1)) {
		uint8_t id = cfg_rd8(dev, pos), type = cfg_rd8(dev, pos + 3);
		uint64_t at = bar + cfg_rd32(dev, pos + 8);

		if (id == 0x11) {
			msix = pos;
			continue;
		}
		CHECK(id == 0x09 && cfg_rd8(dev, pos + 4) == 0);
		if (type == 1)
			common = at;
		else if (type == 2) {
			notify_addr = at;
			mult = cfg_rd32(dev, pos + 16);
		} else if (type == 3)
			isr = at;
	}
	CHECK(common && notify_addr && isr && msix);
	msix_table = bar + (cfg_rd32(dev, msix + 4) & ~7u);
	msix_pba = bar + (cfg_rd32(dev, msix + 8) & ~7u);
	CHECK((cfg_rd32(dev, msix) >> 16 & 0x7ff) + 1 >= 2);

	/* MSI-X entries 0 (config) and 1 (queue) to this CPU, fixed, edge (Intel SDM 10.11) */
	lapic_enable();
	isr_set(VEC_QUEUE, on_queue);
	isr_set(VEC_INTX, on_intx);
	mmio_wr32(msix_table + 0, 0xfee00000u | (lapic_id() << 12));
	mmio_wr32(msix_table + 8, VEC_CONFIG);
	mmio_wr32(msix_table + 12, 0);
	mmio_wr32(msix_table + 16, 0xfee00000u | (lapic_id() << 12));
	mmio_wr32(msix_table + 16 + 4, 0);
	mmio_wr32(msix_table + 16 + 8, VEC_QUEUE);
	mmio_wr32(msix_table + 16 + 12, 0);
	cfg_wr16(dev, msix + 2, 0x8000); /* MSI-X enable */

	/* s3.1.1 initialization through the common configuration (s4.1.4.3) */
	mmio_wr8(common + 0x14, 0);
	CHECK(mmio_rd8(common + 0x14) == 0);
	mmio_wr8(common + 0x14, 1 | 2);
	mmio_wr32(common + 0x00, 1);
	CHECK(mmio_rd32(common + 0x04) & 1); /* VERSION_1 */
	mmio_wr32(common + 0x08, 0);
	mmio_wr32(common + 0x0c, 0);
	mmio_wr32(common + 0x08, 1);
	mmio_wr32(common + 0x0c, 1);
	mmio_wr8(common + 0x14, 1 | 2 | 8);
	CHECK(mmio_rd8(common + 0x14) & 8); /* FEATURES_OK stuck */
	mmio_wr16(common + 0x10, 0);
	CHECK(mmio_rd16(common + 0x10) == 0);
	CHECK(mmio_rd16(common + 0x12) == 1); /* num_queues */
	mmio_wr16(common + 0x16, 0);
	CHECK(mmio_rd16(common + 0x18) >= QSIZE);
	mmio_wr16(common + 0x18, QSIZE);
	mmio_wr16(common + 0x1a, 1);
	CHECK(mmio_rd16(common + 0x1a) == 1);
	/* s4.1.3.1: 64-bit fields as two 32-bit halves */
	mmio_wr32(common + 0x20, (uint32_t)(uintptr_t)desc);
	mmio_wr32(common + 0x24, 0);
	mmio_wr32(common + 0x28, (uint32_t)(uintptr_t)&avail);
	mmio_wr32(common + 0x2c, 0);
	mmio_wr32(common + 0x30, (uint32_t)(uintptr_t)&used);
	mmio_wr32(common + 0x34, 0);
	notify_addr += (uint64_t)mmio_rd16(common + 0x1e) * mult;
	mmio_wr16(common + 0x1c, 1);
	CHECK(mmio_rd16(common + 0x1c) == 1);
	mmio_wr8(common + 0x14, 1 | 2 | 8 | 4);
	CHECK(mmio_rd8(common + 0x14) == (1 | 2 | 4 | 8));
	sti();

	/* 1. a request, answered with an MSI-X interrupt */
	post(0);
	CHECK(wait_used(1));
	CHECK(used.ring[0].id == 0 && used.ring[0].len == sizeof(buf[0]));
	CHECK(nonzero(buf[0], sizeof(buf[0])));
	CHECK(wait_for(&queue_irqs, 1, 2000000));
	printf_("MSI-X: request done, %u interrupt(s)\n", queue_irqs);

	/* 2. masked vector: pending bit instead of an interrupt, delivered on unmask (PCI 3.0 s6.8.2.9) */
	mmio_wr32(msix_table + 16 + 12, 1);
	post(1);
	CHECK(wait_used(2));
	udelay(20000);
	CHECK(queue_irqs == 1);
	CHECK(mmio_rd32(msix_pba) & 2);
	mmio_wr32(msix_table + 16 + 12, 0);
	CHECK(wait_for(&queue_irqs, 2, 2000000));
	CHECK(!(mmio_rd32(msix_pba) & 2));
	printf_("MSI-X: masked completion held in the PBA, delivered on unmask\n");

	/* 3. MSI-X off: INTx through the IOAPIC pin the _PRT names, ISR read-to-clear */
	gsi = 20 + dev % 4;
	(void)mmio_rd8(isr);
	ioapic_route(gsi, VEC_INTX);
	cfg_wr16(dev, msix + 2, 0);
	post(2);
	CHECK(wait_used(3));
	CHECK(wait_for(&intx_irqs, 1, 2000000));
	CHECK(mmio_rd8(isr) & 1);
	CHECK(mmio_rd8(isr) == 0);
	ioapic_mask(gsi);
	cli();
	CHECK(queue_irqs == 2);
	CHECK(stray_irqs == 0);
	printf_("INTx: GSI %u, ISR read-to-clear\n", gsi);
	pass();
}
