// SPDX-License-Identifier: MIT
/*
 * virtio-pci transport driven like a guest driver would, without a guest:
 * config space and the capability chain (virtio 1.2 s4.1.4), feature
 * negotiation and queue setup through the common configuration, notify,
 * MSI-X table/masking/PBA (PCI 3.0 s6.8.2), INTx and ISR read-to-clear,
 * config generation, reset, the PCI configuration access capability, BAR
 * moves re-registering ioeventfds, notifications served on an I/O thread,
 * and hostile accesses.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/iothread.h"
#include "vmkit/util.h"
#include "vmkit/virtio_pci.h"

#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x8000
#define SLOT 3
#define DEVFN (SLOT << 3)

/* Common configuration offsets (s4.1.4.3) */
#define DFSELECT 0x00
#define DF 0x04
#define GFSELECT 0x08
#define GF 0x0c
#define MSIX_CFG 0x10
#define NUMQ 0x12
#define STATUS 0x14
#define CFGGEN 0x15
#define QSEL 0x16
#define QSIZE 0x18
#define QMSIX 0x1a
#define QENABLE 0x1c
#define QNOFF 0x1e
#define QDESC 0x20
#define QAVAIL 0x28
#define QUSED 0x30

/* ---- an echo device with two queues ---- */
#define ECHO_NR_QUEUES 2
#include "echo_dev.h"

/* ---- recording MSI controller and ioeventfd registry ---- */
struct fired {
	int h;
	uint64_t addr;
	uint32_t data;
};

static struct {
	int allocated;
	int nr;
	struct fired f[64];
} msi;

static int msi_alloc(void *ctx)
{
	return msi.allocated++;
}

static void msi_fire(void *ctx, int h, uint64_t addr, uint32_t data)
{
	int i = __atomic_fetch_add(&msi.nr, 1, __ATOMIC_SEQ_CST);

	if (i < 64)
		msi.f[i] = (struct fired){ h, addr, data };
}

static const struct msi_ctl fake_msi = { .alloc = msi_alloc, .fire = msi_fire };

struct ioev {
	uint64_t addr;
	uint32_t len;
	uint64_t data;
	int fd;
	bool live;
};

static struct {
	struct ioev e[32];
	int nr_live;
} ioevs;

static int ioev_set(void *ctx, bool pio, uint64_t addr, uint32_t len, bool datamatch, uint64_t data, int fd,
		    bool assign)
{
	assert_false(pio);
	assert_true(datamatch);
	for (int i = 0; i < 32; i++) {
		struct ioev *e = &ioevs.e[i];
		if (assign && !e->live) {
			*e = (struct ioev){ addr, len, data, fd, true };
			ioevs.nr_live++;
			return 0;
		}
		if (!assign && e->live && e->addr == addr && e->len == len && e->data == data && e->fd == fd) {
			e->live = false;
			ioevs.nr_live--;
			return 0;
		}
	}
	return assign ? -ENOSPC : -ENOENT;
}

static const struct ioevent_ctl fake_ioev = { .set = ioev_set };

static const struct ioev *ioev_find(uint64_t addr)
{
	for (int i = 0; i < 32; i++)
		if (ioevs.e[i].live && ioevs.e[i].addr == addr)
			return &ioevs.e[i];
	return NULL;
}

/* ---- fixture: a PCI bus with the device at 00:03.0 ---- */
struct fx {
	struct guest_mem mem;
	struct bus pio, mmio;
	struct pci_bus pb;
	struct virtio_pci *p;
	struct fake_irq intx;
	struct iothread io;
	bool with_io;
	uint8_t *ram;
	uint8_t cap[8]; /* offsets of the virtio caps by cfg_type; [0] = MSI-X */
};

static struct fx fx;

static int make(struct fx *f, bool with_msi, bool with_io)
{
	struct virtio_pci_env env = { .mem = &f->mem, .msi = with_msi ? &fake_msi : NULL };
	struct irq_line line;

	memset(&msi, 0, sizeof(msi));
	memset(&ioevs, 0, sizeof(ioevs));
	activations = resets = served = 0;
	guest_mem_init(&f->mem);
	assert_int_equal(guest_mem_add(&f->mem, 0, 1 << 20), 0);
	f->ram = guest_mem_ptr(&f->mem, 0, 1 << 20);
	bus_init(&f->pio, "pio");
	bus_init(&f->mmio, "mmio");
	assert_int_equal(pci_bus_init(&f->pb, &f->pio, &f->mmio), 0);
	f->with_io = with_io;
	if (with_io) {
		assert_int_equal(iothread_init(&f->io), 0);
		env.loop = &f->io.loop;
		env.ioev = &fake_ioev;
	}
	f->p = virtio_pci_create(&echo_ops, NULL, &env);
	assert_non_null(f->p);
	assert_int_equal(pci_bus_plug(&f->pb, virtio_pci_device(f->p), SLOT), 0);
	line = fake_irq_line(&f->intx);
	virtio_pci_set_intx(f->p, &line);
	return 0;
}

static int setup(void **state)
{
	*state = &fx;
	return make(&fx, true, false);
}

static int setup_intx(void **state)
{
	*state = &fx;
	return make(&fx, false, false);
}

static int setup_io(void **state)
{
	*state = &fx;
	return make(&fx, true, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->with_io)
		iothread_stop(&f->io);
	virtio_pci_destroy(f->p);
	if (f->with_io)
		iothread_destroy(&f->io);
	pci_bus_destroy(&f->pb);
	bus_destroy(&f->pio);
	bus_destroy(&f->mmio);
	guest_mem_free(&f->mem);
	return 0;
}

/* config space */
static uint32_t cfg_rd(struct fx *f, uint32_t off, uint32_t size)
{
	uint8_t d[4] = { 0 };
	pci_config_access(&f->pb, 0, DEVFN, off, d, size, false);
	return size == 1 ? d[0] : size == 2 ? get_le16(d) : get_le32(d);
}

static void cfg_wr(struct fx *f, uint32_t off, uint32_t size, uint32_t v)
{
	uint8_t d[4];
	put_le32(d, v);
	pci_config_access(&f->pb, 0, DEVFN, off, d, size, true);
}

/* BAR0 */
static uint64_t bar_rd(struct fx *f, uint32_t off, uint32_t size)
{
	return io_rd(virtio_pci_bar_io, f->p, off, size);
}

static void bar_wr(struct fx *f, uint32_t off, uint32_t size, uint64_t v)
{
	io_wr(virtio_pci_bar_io, f->p, off, size, v);
}

#define CC(off) (VIRTIO_PCI_COMMON + (off))

/* Walk the capability list like Linux's virtio_pci_modern does. */
static void parse_caps(struct fx *f)
{
	unsigned int pos, n = 0;

	memset(f->cap, 0, sizeof(f->cap));
	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (pos = cfg_rd(f, PCI_CAPABILITY_LIST, 1); pos; pos = cfg_rd(f, pos + 1, 1)) {
		assert_true(pos >= 0x40 && pos < 0x100 && !(pos & 3));
		assert_true(++n < 16); /* no loops */
		if (cfg_rd(f, pos, 1) == 0x11) {
			f->cap[0] = (uint8_t)pos;
			continue;
		}
		assert_int_equal(cfg_rd(f, pos, 1), 0x09); /* vendor-specific */
		unsigned int type = cfg_rd(f, pos + 3, 1);
		assert_true(type >= 1 && type <= 5);
		assert_int_equal(f->cap[type], 0); /* one of each */
		f->cap[type] = (uint8_t)pos;
		assert_int_equal(cfg_rd(f, pos + 4, 1), 0); /* BAR0 */
		assert_int_equal(cfg_rd(f, pos + 2, 1), type == 2 ? 20 : type == 5 ? 20 : 16);
	}
}

static void test_identity_and_caps(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + 42);
	assert_int_equal(cfg_rd(f, PCI_REVISION_ID, 1), 1); /* s4.1.2.1: modern-only */
	assert_int_equal(cfg_rd(f, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_true(cfg_rd(f, PCI_SUBSYSTEM_ID, 2) >= 0x40);
	assert_int_equal(cfg_rd(f, PCI_INTERRUPT_PIN, 1), 1);
	/* BAR0: 32-bit memory, sized VIRTIO_PCI_BAR_SIZE */
	cfg_wr(f, PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, PCI_BAR0, 4), (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1));
	cfg_wr(f, PCI_BAR0, 4, 0);
	assert_int_equal(cfg_rd(f, PCI_BAR0 + 4, 4), 0); /* no other BARs */

	parse_caps(f);
	for (int t = 1; t <= 5; t++)
		assert_int_not_equal(f->cap[t], 0);
	assert_int_equal(cfg_rd(f, f->cap[1] + 8, 4), VIRTIO_PCI_COMMON);
	assert_true(cfg_rd(f, f->cap[1] + 12, 4) >= 0x38);
	assert_int_equal(cfg_rd(f, f->cap[2] + 8, 4), VIRTIO_PCI_NOTIFY);
	assert_int_equal(cfg_rd(f, f->cap[2] + 16, 4), 4); /* notify_off_multiplier */
	assert_true(cfg_rd(f, f->cap[2] + 12, 4) >= 4 * 2);
	assert_int_equal(cfg_rd(f, f->cap[3] + 8, 4), VIRTIO_PCI_ISR);
	assert_int_equal(cfg_rd(f, f->cap[4] + 8, 4), VIRTIO_PCI_DEVICE_CFG);
	assert_int_equal(cfg_rd(f, f->cap[4] + 12, 4), sizeof(echo_cfg));
	/* MSI-X: one vector per queue + config, table and PBA in BAR0 */
	assert_int_not_equal(f->cap[0], 0);
	assert_int_equal(cfg_rd(f, f->cap[0] + 2, 2) & 0x7ff, 2);
	assert_int_equal(cfg_rd(f, f->cap[0] + 4, 4), VIRTIO_PCI_MSIX_TABLE);
	assert_int_equal(cfg_rd(f, f->cap[0] + 8, 4), VIRTIO_PCI_MSIX_PBA);
	assert_int_equal(msi.allocated, 3);
	/* the identity and capability bodies are read-only */
	cfg_wr(f, PCI_DEVICE_ID, 2, 0x1234);
	cfg_wr(f, f->cap[1] + 8, 4, 0x100);
	cfg_wr(f, f->cap[0] + 2, 2, 0x07ff);
	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + 42);
	assert_int_equal(cfg_rd(f, f->cap[1] + 8, 4), VIRTIO_PCI_COMMON);
	assert_int_equal(cfg_rd(f, f->cap[0] + 2, 2) & 0x7ff, 2);
}

/* s3.1.1 driver initialization; queue q gets MSI-X vector q+1 (config: 0) */
static void setup_queue(struct fx *f, unsigned int q, uint64_t base)
{
	bar_wr(f, CC(QSEL), 2, q);
	assert_int_equal(bar_rd(f, CC(QSIZE), 2), 8);
	assert_int_equal(bar_rd(f, CC(QNOFF), 2), q);
	bar_wr(f, CC(QSIZE), 2, 8);
	bar_wr(f, CC(QMSIX), 2, q + 1);
	bar_wr(f, CC(QDESC), 4, base + DESC);
	bar_wr(f, CC(QDESC) + 4, 4, 0);
	bar_wr(f, CC(QAVAIL), 4, base + AVAIL);
	bar_wr(f, CC(QUSED), 4, base + USED);
	bar_wr(f, CC(QENABLE), 2, 1);
	assert_int_equal(bar_rd(f, CC(QENABLE), 2), 1);
}

static void bring_up(struct fx *f)
{
	bar_wr(f, CC(STATUS), 1, 0);
	bar_wr(f, CC(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE);
	bar_wr(f, CC(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_wr(f, CC(GFSELECT), 4, 0);
	bar_wr(f, CC(GF), 4, 1u << 5);
	bar_wr(f, CC(GFSELECT), 4, 1);
	bar_wr(f, CC(GF), 4, 1u << (VIRTIO_F_VERSION_1 - 32));
	bar_wr(f, CC(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(bar_rd(f, CC(STATUS), 1) & VIRTIO_STATUS_FEATURES_OK);
	bar_wr(f, CC(MSIX_CFG), 2, 0);
	setup_queue(f, 0, 0);
	setup_queue(f, 1, 0x10000);
	bar_wr(f, CC(STATUS), 1,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* One "ping" request on queue q (ring at base), avail index idx. */
static void post(struct fx *f, uint64_t base, uint16_t idx)
{
	uint8_t *r = f->ram + base;

	memcpy(r + DATA, "ping", 4);
	put_le64(r + DESC, base + DATA);
	put_le32(r + DESC + 8, 4);
	put_le16(r + DESC + 12, VIRTQ_DESC_F_NEXT);
	put_le16(r + DESC + 14, 1);
	put_le64(r + DESC + 16, base + DATA + 0x100);
	put_le32(r + DESC + 24, 16);
	put_le16(r + DESC + 28, VIRTQ_DESC_F_WRITE);
	put_le16(r + AVAIL + 4 + 2 * ((idx - 1) % 8), 0);
	put_le16(r + AVAIL + 2, idx);
}

static void msix_entry(struct fx *f, unsigned int v, uint64_t addr, uint32_t data, bool masked)
{
	uint32_t e = VIRTIO_PCI_MSIX_TABLE + 16 * v;

	bar_wr(f, e, 4, (uint32_t)addr);
	bar_wr(f, e + 4, 4, (uint32_t)(addr >> 32));
	bar_wr(f, e + 8, 4, data);
	bar_wr(f, e + 12, 4, masked);
}

static void msix_enable(struct fx *f, bool on, bool fmask)
{
	cfg_wr(f, f->cap[0] + 2, 2, (on ? 0x8000 : 0) | (fmask ? 0x4000 : 0));
}

static void test_features_and_queue_setup(void **state)
{
	struct fx *f = *state;

	bar_wr(f, CC(DFSELECT), 4, 0);
	assert_true(bar_rd(f, CC(DF), 4) & (1u << 5));
	assert_true(bar_rd(f, CC(DF), 4) & (1u << VIRTIO_F_INDIRECT_DESC));
	bar_wr(f, CC(DFSELECT), 4, 1);
	assert_true(bar_rd(f, CC(DF), 4) & (1u << (VIRTIO_F_VERSION_1 - 32)));
	bar_wr(f, CC(DFSELECT), 4, 9);
	assert_int_equal(bar_rd(f, CC(DF), 4), 0);
	assert_int_equal(bar_rd(f, CC(NUMQ), 2), 2);
	/* FEATURES_OK refused without VERSION_1 or with an unoffered bit */
	bar_wr(f, CC(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_wr(f, CC(GFSELECT), 4, 0);
	bar_wr(f, CC(GF), 4, 1u << 5);
	bar_wr(f, CC(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(bar_rd(f, CC(STATUS), 1) & VIRTIO_STATUS_FEATURES_OK);
	bar_wr(f, CC(GF), 4, (1u << 5) | (1u << 7));
	bar_wr(f, CC(GFSELECT), 4, 1);
	bar_wr(f, CC(GF), 4, 1u << (VIRTIO_F_VERSION_1 - 32));
	bar_wr(f, CC(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(bar_rd(f, CC(STATUS), 1) & VIRTIO_STATUS_FEATURES_OK);
	/* the driver features read back */
	bar_wr(f, CC(GFSELECT), 4, 0);
	assert_int_equal(bar_rd(f, CC(GF), 4), (1u << 5) | (1u << 7));

	bring_up(f);
	assert_int_equal(activations, 1);
	/* out-of-range queue select: size 0, writes ignored, enable refused */
	bar_wr(f, CC(QSEL), 2, 2);
	assert_int_equal(bar_rd(f, CC(QSIZE), 2), 0);
	bar_wr(f, CC(QSIZE), 2, 4);
	bar_wr(f, CC(QENABLE), 2, 1);
	assert_int_equal(bar_rd(f, CC(QSIZE), 2), 0);
	assert_int_equal(bar_rd(f, CC(QENABLE), 2), 0);
	bar_wr(f, CC(QSEL), 2, 0xffff);
	assert_int_equal(bar_rd(f, CC(QSIZE), 2), 0);
	/* queue fields frozen while enabled (s4.1.4.3.2) */
	bar_wr(f, CC(QSEL), 2, 0);
	bar_wr(f, CC(QDESC), 4, 0x5000);
	bar_wr(f, CC(QSIZE), 2, 4);
	assert_int_equal(bar_rd(f, CC(QDESC), 4), DESC);
	assert_int_equal(bar_rd(f, CC(QSIZE), 2), 8);
	/* 64-bit fields read as two halves or one dword each */
	bar_wr(f, CC(QSEL), 2, 1);
	assert_int_equal(bar_rd(f, CC(QDESC), 4), 0x10000 + DESC);
	assert_int_equal(bar_rd(f, CC(QDESC) + 4, 4), 0);
}

static void test_notify_and_msix(void **state)
{
	struct fx *f = *state;

	parse_caps(f);
	msix_entry(f, 0, 0xfee00000, 0x40, false);
	msix_entry(f, 1, 0xfee01000, 0x41, false);
	msix_entry(f, 2, 0xfee02000, 0x42, false);
	msix_enable(f, true, false);
	bring_up(f);
	/* vectors beyond the table read back as NO_VECTOR (s4.1.5.1.2) */
	bar_wr(f, CC(QSEL), 2, 0);
	assert_int_equal(bar_rd(f, CC(QMSIX), 2), 1);

	post(f, 0, 1);
	bar_wr(f, VIRTIO_PCI_NOTIFY + 4 * 0, 2, 0);
	assert_memory_equal(f->ram + DATA + 0x100, "ping", 4);
	assert_int_equal(get_le16(f->ram + USED + 2), 1);
	assert_int_equal(msi.nr, 1);
	assert_int_equal(msi.f[0].h, 1);
	assert_int_equal(msi.f[0].addr, 0xfee01000);
	assert_int_equal(msi.f[0].data, 0x41);
	assert_int_equal(f->intx.raises, 0); /* no INTx while MSI-X is on */

	/* queue 1 on its own notify address, vector 2 */
	post(f, 0x10000, 1);
	bar_wr(f, VIRTIO_PCI_NOTIFY + 4 * 1, 2, 1);
	assert_int_equal(msi.nr, 2);
	assert_int_equal(msi.f[1].data, 0x42);

	/* a masked vector goes pending in the PBA, and fires on unmask */
	bar_wr(f, VIRTIO_PCI_MSIX_TABLE + 16 * 1 + 12, 4, 1);
	post(f, 0, 2);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(get_le16(f->ram + USED + 2), 2);
	assert_int_equal(msi.nr, 2);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_PBA, 8), 1u << 1);
	bar_wr(f, VIRTIO_PCI_MSIX_PBA, 8, 0); /* read-only */
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_PBA, 4), 1u << 1);
	/* the driver retargets while masked: the new message is used */
	bar_wr(f, VIRTIO_PCI_MSIX_TABLE + 16 * 1 + 8, 4, 0x51);
	bar_wr(f, VIRTIO_PCI_MSIX_TABLE + 16 * 1 + 12, 4, 0);
	assert_int_equal(msi.nr, 3);
	assert_int_equal(msi.f[2].data, 0x51);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_PBA, 8), 0);

	/* function mask holds every vector */
	msix_enable(f, true, true);
	post(f, 0, 3);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(msi.nr, 3);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_PBA, 8), 1u << 1);
	msix_enable(f, true, false);
	assert_int_equal(msi.nr, 4);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_PBA, 8), 0);

	/* table entries read back; only the mask bit of vector control sticks */
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_TABLE + 16 * 2, 4), 0xfee02000);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_TABLE + 16 * 2, 8), 0xfee02000);
	bar_wr(f, VIRTIO_PCI_MSIX_TABLE + 16 * 2 + 12, 4, 0xfffffffe);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_TABLE + 16 * 2 + 12, 4), 0);

	/* a config change interrupts on the config vector (0) */
	virtio_dev_needs_reset(virtio_pci_dev(f->p));
	assert_int_equal(msi.nr, 5);
	assert_int_equal(msi.f[4].h, 0);
	assert_int_equal(msi.f[4].data, 0x40);
	assert_true(bar_rd(f, CC(STATUS), 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* a device that needs reset serves nothing more */
	post(f, 0, 4);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(get_le16(f->ram + USED + 2), 3);

	/* NO_VECTOR: the driver asked for no interrupt */
	bar_wr(f, CC(STATUS), 1, 0);
	bring_up(f);
	bar_wr(f, CC(QSEL), 2, 0);
	/* vector writes are allowed while enabled; 0xffff disables */
	bar_wr(f, CC(QMSIX), 2, 0xffff);
	assert_int_equal(bar_rd(f, CC(QMSIX), 2), 0xffff);
	bar_wr(f, CC(QMSIX), 2, 7);
	assert_int_equal(bar_rd(f, CC(QMSIX), 2), 0xffff);
	int before = msi.nr;
	memset(f->ram + USED, 0, 16);
	post(f, 0, 1);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(get_le16(f->ram + USED + 2), 1);
	assert_int_equal(msi.nr, before);
}

static void test_intx_and_isr(void **state)
{
	struct fx *f = *state;

	parse_caps(f);
	assert_int_equal(f->cap[0], 0); /* no MSI-X without an MSI controller */
	bring_up(f);
	/* vectors cannot be assigned: NO_VECTOR */
	assert_int_equal(bar_rd(f, CC(MSIX_CFG), 2), 0xffff);
	post(f, 0, 1);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(get_le16(f->ram + USED + 2), 1);
	assert_int_equal(f->intx.level, 1);
	/* ISR: read clears and lowers the line (s4.1.4.5) */
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
	assert_int_equal(f->intx.level, 0);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR, 1), 0);
	/* writes to ISR are refused */
	bar_wr(f, VIRTIO_PCI_ISR, 1, 0xff);
	/* INTx disable in COMMAND holds the line low */
	cfg_wr(f, PCI_COMMAND, 2, 0x400);
	post(f, 0, 2);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(f->intx.level, 0);
	cfg_wr(f, PCI_COMMAND, 2, 0);
	assert_int_equal(f->intx.level, 1);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
	/* config change: ISR bit 1 */
	virtio_dev_needs_reset(virtio_pci_dev(f->p));
	assert_int_equal(f->intx.level, 1);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_CONFIG);
	assert_int_equal(f->intx.level, 0);
}

static void test_device_config_and_generation(void **state)
{
	struct fx *f = *state;
	struct virtio_dev *v = virtio_pci_dev(f->p);

	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_CFG, 1), 1);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_CFG + 2, 2), 0x0403);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_CFG + 4, 4), 0x08070605);
	/* past the end, or an 8-byte access: all ones */
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_CFG + 8, 1), 0xff);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_CFG + 6, 4), 0xffffffff);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_CFG, 8), ~0ULL);
	assert_int_equal(bar_rd(f, CC(CFGGEN), 1), 0);
	v->config_generation = 3;
	assert_int_equal(bar_rd(f, CC(CFGGEN), 1), 3);
	bar_wr(f, CC(CFGGEN), 1, 9); /* read-only */
	assert_int_equal(bar_rd(f, CC(CFGGEN), 1), 3);
}

static void test_reset(void **state)
{
	struct fx *f = *state;

	parse_caps(f);
	msix_entry(f, 1, 0xfee00000, 0x41, false);
	msix_enable(f, true, false);
	bring_up(f);
	assert_int_equal(bar_rd(f, CC(MSIX_CFG), 2), 0);
	bar_wr(f, CC(QSEL), 2, 1);
	bar_wr(f, CC(STATUS), 1, 0);
	assert_int_equal(bar_rd(f, CC(STATUS), 1), 0);
	assert_true(resets >= 1);
	/* s4.1.4.3: everything back to the initial values */
	assert_int_equal(bar_rd(f, CC(QSEL), 2), 0);
	assert_int_equal(bar_rd(f, CC(MSIX_CFG), 2), 0xffff);
	for (unsigned int q = 0; q < 2; q++) {
		bar_wr(f, CC(QSEL), 2, q);
		assert_int_equal(bar_rd(f, CC(QENABLE), 2), 0);
		assert_int_equal(bar_rd(f, CC(QMSIX), 2), 0xffff);
		assert_int_equal(bar_rd(f, CC(QSIZE), 2), 8);
		assert_int_equal(bar_rd(f, CC(QDESC), 4), 0);
	}
	bar_wr(f, CC(GFSELECT), 4, 1);
	assert_int_equal(bar_rd(f, CC(GF), 4), 0);
	/* a kick after reset is ignored */
	int before = served;
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(served, before);
	/* and the device comes back */
	bring_up(f);
	assert_int_equal(activations, 2);
}

static void test_bad_accesses(void **state)
{
	struct fx *f = *state;
	struct virtio_pci_stats st;
	uint64_t bad;

	bring_up(f);
	virtio_pci_get_stats(f->p, &st);
	bad = st.bad_accesses;
	/* unaligned, odd sizes, 8-byte common cfg, past the BAR */
	assert_int_equal(bar_rd(f, CC(DF) + 1, 2), 0xffff);
	assert_int_equal(bar_rd(f, CC(DF), 8), ~0ULL);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_BAR_SIZE, 4), 0xffffffff);
	assert_int_equal(io_rd(virtio_pci_bar_io, f->p, 0x7ffe, 4), 0xffffffff);
	uint8_t d[3] = { 0 };
	virtio_pci_bar_io(f->p, 0, d, 3, false);
	virtio_pci_bar_io(f->p, 0, d, 0, true);
	virtio_pci_bar_io(f->p, ~0ULL - 1, d, 2, true);
	/* writes of the wrong width or to read-only fields do nothing */
	bar_wr(f, CC(STATUS), 2, 0);
	assert_true(bar_rd(f, CC(STATUS), 1) & VIRTIO_STATUS_DRIVER_OK);
	bar_wr(f, CC(NUMQ), 2, 7);
	assert_int_equal(bar_rd(f, CC(NUMQ), 2), 2);
	bar_wr(f, CC(DF), 4, 0);
	bar_wr(f, CC(QNOFF), 2, 3);
	bar_wr(f, CC(QSEL), 4, 1);
	virtio_pci_get_stats(f->p, &st);
	assert_true(st.bad_accesses >= bad + 8);
	/* notifies for queues that do not exist, or beyond the notify area */
	bar_wr(f, VIRTIO_PCI_NOTIFY + 4 * 2, 2, 2);
	bar_wr(f, VIRTIO_PCI_NOTIFY + 4 * 9, 4, 0xffffffff);
	/* MSI-X accesses of the wrong width, and past the table */
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_TABLE, 2), 0xffff);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_TABLE + 16 * 3, 4), 0);
	bar_wr(f, VIRTIO_PCI_MSIX_TABLE + 16 * 3, 4, 1);
	/* queue size 0 or above the maximum is refused */
	bar_wr(f, CC(STATUS), 1, 0);
	bar_wr(f, CC(QSIZE), 2, 0);
	assert_int_equal(bar_rd(f, CC(QSIZE), 2), 8);
	bar_wr(f, CC(QSIZE), 2, 4096);
	assert_int_equal(bar_rd(f, CC(QSIZE), 2), 8);
	/* a ring outside guest memory: enable fails, queue stays off */
	bar_wr(f, CC(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_wr(f, CC(QUSED), 4, 0xfffff000);
	bar_wr(f, CC(QENABLE), 2, 1);
	assert_int_equal(bar_rd(f, CC(QENABLE), 2), 0);
	/* holes read as zero */
	assert_int_equal(bar_rd(f, 0x800, 4), 0);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR + 0x10, 4), 0);
}

/* s4.1.4.8: the access window reaches BAR0 through config space only */
static void test_pci_cfg_access_cap(void **state)
{
	struct fx *f = *state;
	unsigned int c;

	parse_caps(f);
	c = f->cap[5];
	cfg_wr(f, c + 4, 1, 0); /* bar */
	cfg_wr(f, c + 8, 4, VIRTIO_PCI_COMMON + NUMQ);
	cfg_wr(f, c + 12, 4, 2);
	assert_int_equal(cfg_rd(f, c + 16, 4) & 0xffff, 2);
	/* write device_status through the window */
	cfg_wr(f, c + 8, 4, VIRTIO_PCI_COMMON + STATUS);
	cfg_wr(f, c + 12, 4, 1);
	cfg_wr(f, c + 16, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(bar_rd(f, CC(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(cfg_rd(f, c + 16, 1), VIRTIO_STATUS_ACKNOWLEDGE);
	/* a bad window (length 3, misaligned, other BAR, past the end) reads nothing */
	cfg_wr(f, c + 12, 4, 3);
	cfg_wr(f, c + 16, 4, 0);
	cfg_wr(f, c + 12, 4, 4);
	cfg_wr(f, c + 8, 4, 2);
	cfg_wr(f, c + 16, 4, 0);
	cfg_wr(f, c + 8, 4, VIRTIO_PCI_BAR_SIZE);
	cfg_wr(f, c + 16, 4, 0);
	cfg_wr(f, c + 4, 1, 3);
	cfg_wr(f, c + 8, 4, VIRTIO_PCI_COMMON + STATUS);
	cfg_wr(f, c + 12, 4, 1);
	cfg_wr(f, c + 16, 4, 0);
	assert_int_equal(bar_rd(f, CC(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
}

/* ioeventfds follow BAR0; kicks are served on the I/O thread */
static void test_ioeventfd_and_iothread(void **state)
{
	struct fx *f = *state;
	const struct ioev *e;
	uint64_t one = 1;

	assert_int_equal(ioevs.nr_live, 0); /* nothing while BAR0 is unmapped */
	assert_int_equal(pci_bus_assign_bars(&f->pb, 0xc0000000, 0xd0000000, 0, 0, 0xc000, 0x10000), 0);
	uint64_t bar = cfg_rd(f, PCI_BAR0, 4) & ~0xfULL;
	assert_int_equal(bar, 0xc0000000);
	assert_int_equal(ioevs.nr_live, 2);
	e = ioev_find(bar + VIRTIO_PCI_NOTIFY + 4);
	assert_non_null(e);
	assert_int_equal(e->len, 2);
	assert_int_equal(e->data, 1);
	/* the guest moves the BAR: notifiers follow; decoding off drops them */
	cfg_wr(f, PCI_BAR0, 4, 0xc8000000);
	assert_non_null(ioev_find(0xc8000000 + VIRTIO_PCI_NOTIFY));
	assert_null(ioev_find(bar + VIRTIO_PCI_NOTIFY));
	assert_int_equal(ioevs.nr_live, 2);
	cfg_wr(f, PCI_COMMAND, 2, 0);
	assert_int_equal(ioevs.nr_live, 0);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(ioevs.nr_live, 2);
	/* through the bus at the new address */
	assert_int_equal(io_rd(virtio_pci_bar_io, f->p, VIRTIO_PCI_COMMON + NUMQ, 2), 2);
	uint8_t d[2];
	assert_true(bus_access(&f->mmio, 0xc8000000 + VIRTIO_PCI_COMMON + NUMQ, d, 2, false));
	assert_int_equal(get_le16(d), 2);

	parse_caps(f);
	msix_entry(f, 1, 0xfee00000, 0x41, false);
	msix_enable(f, true, false);
	bring_up(f);
	assert_int_equal(iothread_start(&f->io, "test-io"), 0);
	/* an ioeventfd hit: KVM signals the eventfd */
	post(f, 0, 1);
	e = ioev_find(0xc8000000 + VIRTIO_PCI_NOTIFY);
	assert_int_equal(write(e->fd, &one, sizeof(one)), sizeof(one));
	wait_served(1);
	assert_false(pthread_equal(served_on, pthread_self()));
	assert_int_equal(get_le16(f->ram + USED + 2), 1);
	/* a notify that trapped (odd width) takes the same path */
	post(f, 0, 2);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 4, 0);
	wait_served(2);
	assert_false(pthread_equal(served_on, pthread_self()));
	assert_int_equal(get_le16(f->ram + USED + 2), 2);
	iothread_stop(&f->io);
	assert_true(msi.nr >= 1);
}

/* Blob layout (virtio_pci.c / virtio.c, version 1): transport header, then the core's. */
#define PCI_HDR (4 * 4 + 2 * 2 + 4 + 17 * 16 + 8)
#define CORE_DEVICE_ID (PCI_HDR + 8)
#define CORE_STATUS (PCI_HDR + 40)
#define CORE_Q0 (PCI_HDR + 48)
#define Q_DESC 0
#define Q_SIZE 24

static void test_save_load(void **state)
{
	struct fx *f = *state;
	struct virtio_pci_env env = { .mem = &f->mem, .msi = &fake_msi };
	static uint8_t blob[8192], bad[8192];
	struct virtio_pci *b;
	ssize_t n;
	int acts;

	parse_caps(f);
	msix_entry(f, 0, 0xfee00000, 0x40, false);
	msix_entry(f, 1, 0xfee01000, 0x41, false);
	msix_enable(f, true, false);
	bring_up(f);
	post(f, 0, 1);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	bar_wr(f, VIRTIO_PCI_MSIX_TABLE + 16 * 1 + 12, 4, 1); /* masked: the next completion goes pending */
	post(f, 0, 2);
	bar_wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(get_le16(f->ram + USED + 2), 2);
	bar_wr(f, CC(QSEL), 2, 1);
	assert_int_equal(virtio_pci_save(f->p, blob, 100), -ENOSPC);
	n = virtio_pci_save(f->p, blob, sizeof(blob));
	assert_true(n > PCI_HDR + 48);

	/* a second function, as a restored VM would have it (MSI-X enabled in its config space) */
	b = virtio_pci_create(&echo_ops, NULL, &env);
	assert_non_null(b);
	assert_int_equal(pci_bus_plug(&f->pb, virtio_pci_device(b), SLOT + 1), 0);
	{
		uint8_t d[2] = { 0x00, 0x80 };
		pci_config_access(&f->pb, 0, (SLOT + 1) << 3, f->cap[0] + 2, d, 2, true);
	}
	acts = activations;

	/* malformed blobs are refused and change nothing */
	assert_int_equal(virtio_pci_load(b, blob, (size_t)n - 1), -EINVAL);
	assert_int_equal(virtio_pci_load(b, blob, 10), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[0] ^= 1; /* magic */
	assert_int_equal(virtio_pci_load(b, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	put_le32(bad + CORE_DEVICE_ID, 43); /* another device type */
	assert_int_equal(virtio_pci_load(b, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	put_le16(bad + CORE_Q0 + Q_SIZE, 64); /* above max_queue_size */
	assert_int_equal(virtio_pci_load(b, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	put_le64(bad + CORE_Q0 + Q_DESC, 0x7ffff000); /* ring outside guest memory */
	assert_int_equal(virtio_pci_load(b, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[CORE_STATUS] = VIRTIO_STATUS_DRIVER_OK; /* DRIVER_OK without FEATURES_OK */
	assert_int_equal(virtio_pci_load(b, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	put_le16(bad + 4 * 4, 9); /* queue_sel fine, config vector 9 > table */
	put_le16(bad + 4 * 4 + 2, 9);
	assert_int_equal(virtio_pci_load(b, bad, (size_t)n), -EINVAL);
	assert_int_equal(io_rd(virtio_pci_bar_io, b, CC(STATUS), 1), 0);
	assert_int_equal(activations, acts);

	/* the real one: registers, MSI-X table and PBA, and the rings continue */
	assert_int_equal(virtio_pci_load(b, blob, (size_t)n), 0);
	assert_int_equal(activations, acts + 1);
	assert_int_equal(io_rd(virtio_pci_bar_io, b, CC(STATUS), 1), io_rd(virtio_pci_bar_io, f->p, CC(STATUS), 1));
	assert_int_equal(io_rd(virtio_pci_bar_io, b, CC(QSEL), 2), 1);
	assert_int_equal(io_rd(virtio_pci_bar_io, b, CC(MSIX_CFG), 2), 0);
	io_wr(virtio_pci_bar_io, b, CC(QSEL), 2, 0);
	assert_int_equal(io_rd(virtio_pci_bar_io, b, CC(QENABLE), 2), 1);
	assert_int_equal(io_rd(virtio_pci_bar_io, b, CC(QMSIX), 2), 1);
	assert_int_equal(io_rd(virtio_pci_bar_io, b, CC(QDESC), 4), DESC);
	assert_int_equal(io_rd(virtio_pci_bar_io, b, VIRTIO_PCI_MSIX_TABLE + 16 + 8, 4), 0x41);
	assert_int_equal(io_rd(virtio_pci_bar_io, b, VIRTIO_PCI_MSIX_PBA, 8), 1u << 1);
	int before = msi.nr;
	post(f, 0, 3);
	io_wr(virtio_pci_bar_io, b, VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(get_le16(f->ram + USED + 2), 3); /* index 2 was not served twice */
	assert_int_equal(get_le32(f->ram + USED + 4 + 8 * 2 + 4), 4);
	assert_int_equal(msi.nr, before); /* still masked */
	io_wr(virtio_pci_bar_io, b, VIRTIO_PCI_MSIX_TABLE + 16 * 1 + 12, 4, 0);
	assert_int_equal(msi.nr, before + 1);
	assert_int_equal(msi.f[before].data, 0x41);
	virtio_pci_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_and_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_and_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_and_isr, setup_intx, teardown),
		cmocka_unit_test_setup_teardown(test_device_config_and_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_access_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd_and_iothread, setup_io, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtio_pci", tests, NULL, NULL);
}
