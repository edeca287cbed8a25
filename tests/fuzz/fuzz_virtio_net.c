// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-net request parsing through the virtio-mmio
 * transport: transmit buffers (virtio_net_hdr checks, descriptor chains),
 * control-queue commands and received frames into guest-posted buffers. The
 * input becomes guest memory (rings, headers, buffers), the negotiated
 * features and a received frame; the backend is a fake that records.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/util.h"
#include "vmkit/virtio_mmio.h"
#include "vmkit/virtio_net.h"

#define MEM 0x20000

static int fb_start(struct net_backend *be) { return 0; }

static int fb_send(struct net_backend *be, unsigned int q, const struct iovec *iov, int iovcnt)
{
	size_t len = 0;
	volatile uint8_t sink = 0;

	/* touch every byte: the iovecs must point into guest memory */
	for (int i = 0; i < iovcnt; i++) {
		for (size_t j = 0; j < iov[i].iov_len; j++)
			sink ^= ((const uint8_t *)iov[i].iov_base)[j];
		len += iov[i].iov_len;
	}
	if (len > NET_VNET_HDR_LEN + NET_MAX_FRAME)
		abort();
	(void)sink;
	return 0;
}

static void fb_resume(struct net_backend *be, unsigned int q) {}
static int fb_offload(struct net_backend *be, bool csum, bool tso4, bool tso6) { return 0; }
static int fb_set_queues(struct net_backend *be, unsigned int n)
{
	return n >= 1 && n <= be->nr_queues ? 0 : (abort(), -EINVAL);
}
static void fb_destroy(struct net_backend *be) {}

static const struct net_backend_ops fb_ops = {
	.start = fb_start, .send = fb_send, .rx_resume = fb_resume,
	.set_offload = fb_offload, .set_queues = fb_set_queues, .destroy = fb_destroy,
};

static void irq_set(void *ctx, uint32_t gsi, int level) {}

static void wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	uint8_t d[4];
	put_le32(d, v);
	virtio_mmio_io(m, off, d, 4, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct irq_line irq = { .set = irq_set };
	struct net_backend be = { .ops = &fb_ops, .name = "fuzz" };
	struct guest_mem mem;
	uint32_t features;
	unsigned int nq;

	if (size < 16)
		return 0;
	be.vnet_hdr = data[0] & 1;
	be.nr_queues = 1 + ((data[0] >> 1) & 1);
	guest_mem_init(&mem);
	if (guest_mem_add(&mem, 0, MEM))
		return 0;
	memcpy(guest_mem_ptr(&mem, 0, MEM), data + 16, size - 16 < MEM ? size - 16 : MEM);
	struct virtio_net *n = virtio_net_create(&be, (const uint8_t[]){ 0x52, 0x54, 0, 1, 2, 3 });
	if (!n)
		abort();
	struct virtio_mmio *m = virtio_mmio_create(virtio_net_ops(n), n, &mem, &irq);
	wr(m, 0x70, 3);
	wr(m, 0x24, 0);
	features = get_le32(data + 4);
	wr(m, 0x20, features);
	wr(m, 0x24, 1);
	wr(m, 0x20, 1 | ((data[1] & 1) << 2)); /* VERSION_1, maybe RING_PACKED */
	wr(m, 0x70, 0xb);
	nq = 2 * be.nr_queues + 1;
	for (unsigned int q = 0; q < nq; q++) {
		wr(m, 0x30, q);
		wr(m, 0x38, 1u << (data[2] % 6));
		wr(m, 0x80, 0x800 * q);
		wr(m, 0x90, 0x4000 + 0x400 * q);
		wr(m, 0xa0, 0x6000 + 0x400 * q);
		wr(m, 0x44, 1);
	}
	wr(m, 0x70, 0xf);
	for (int i = 0; i < 1 + (data[3] & 3); i++) {
		unsigned int q = data[8 + i] % nq;
		if (q % 2 == 0 && q < 2 * be.nr_queues) {
			/* a received frame from the input itself, on pair q/2 */
			size_t len = get_le16(data + 12) % (size < 4096 ? size : 4096);
			virtio_net_receive(n, q / 2, data + (size - len), len);
		}
		wr(m, 0x50, q);
	}
	virtio_mmio_destroy(m);
	guest_mem_free(&mem);
	return 0;
}
