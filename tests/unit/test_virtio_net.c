// SPDX-License-Identifier: MIT
/*
 * virtio-net driven through virtio-mmio registers with fake guest memory and
 * a recording fake backend: transmit (header handling, malformed headers and
 * chains), receive (single and mergeable buffers, no buffers -> -EAGAIN and
 * resume on kick, oversize frames), the control queue (MQ, RX mode, bad
 * commands) and the configuration space.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmkit/util.h"
#include "vmkit/virtio_mmio.h"
#include "vmkit/virtio_net.h"

#define VQD_QSIZE 8
#include "vq_driver.h"

#define RAM (1 << 20)
#define BUF 0x60000 /* guest buffers from here */
#define HDRLEN 12

struct fake_be {
	struct net_backend be;
	uint8_t sent[70000];
	size_t sent_len;
	int sends, resumes, set_queues_calls;
	unsigned int queues;
	bool csum, tso4, tso6;
	int send_result;
};

struct fx {
	struct guest_mem mem;
	struct vqd d;
	struct virtio_net *net;
	struct fake_be fb;
	unsigned int ctrlq;
};

static int fb_start(struct net_backend *be) { return 0; }

static int fb_send(struct net_backend *be, unsigned int q, const struct iovec *iov, int iovcnt)
{
	struct fake_be *f = (struct fake_be *)be;

	f->sent_len = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(f->sent + f->sent_len, iov[i].iov_base, iov[i].iov_len);
		f->sent_len += iov[i].iov_len;
	}
	f->sends++;
	return f->send_result;
}

static void fb_resume(struct net_backend *be, unsigned int q)
{
	((struct fake_be *)be)->resumes++;
}

static int fb_offload(struct net_backend *be, bool csum, bool tso4, bool tso6)
{
	struct fake_be *f = (struct fake_be *)be;

	f->csum = csum;
	f->tso4 = tso4;
	f->tso6 = tso6;
	return 0;
}

static int fb_set_queues(struct net_backend *be, unsigned int n)
{
	struct fake_be *f = (struct fake_be *)be;

	f->set_queues_calls++;
	f->queues = n;
	return 0;
}

static void fb_destroy(struct net_backend *be) {}

static const struct net_backend_ops fb_ops = {
	.start = fb_start,
	.send = fb_send,
	.rx_resume = fb_resume,
	.set_offload = fb_offload,
	.set_queues = fb_set_queues,
	.destroy = fb_destroy,
};

static void irq_set(void *ctx, uint32_t gsi, int level) {}

/* Bring the device up with `features` (VERSION_1 added) and every queue enabled. */
static void start(struct fx *f, bool vnet_hdr, unsigned int pairs, uint64_t features)
{
	struct irq_line irq = { .set = irq_set };
	unsigned int nq;

	memset(&f->fb, 0, sizeof(f->fb));
	f->fb.be.ops = &fb_ops;
	f->fb.be.name = "fake";
	f->fb.be.nr_queues = pairs;
	f->fb.be.vnet_hdr = vnet_hdr;
	f->net = virtio_net_create(&f->fb.be, (const uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 });
	assert_non_null(f->net);
	f->d.m = virtio_mmio_create(virtio_net_ops(f->net), f->net, &f->mem, &irq);
	assert_non_null(f->d.m);
	features |= 1ULL << VIRTIO_F_VERSION_1;
	assert_int_equal(features & ~vqd_device_features(&f->d), 0);
	assert_true(vqd_negotiate(&f->d, features) & 8);
	nq = 2 * pairs + 1;
	f->ctrlq = (features >> VIRTIO_NET_F_MQ) & 1 ? 2 * pairs : 2;
	vqd_setup_queues(&f->d, nq);
	assert_true(vqd_driver_ok(&f->d) & 4);
}

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add(&f.mem, 0, RAM), 0);
	f.d.ram = guest_mem_ptr(&f.mem, 0, RAM);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->d.m)
		virtio_mmio_destroy(f->d.m);
	f->d.m = NULL;
	guest_mem_free(&f->mem);
	return 0;
}

/* Post a chain of n descriptors (addr[i], len[i], writable[i]) on queue q; returns the head. */
static uint16_t post(struct fx *f, unsigned int q, unsigned int n, const uint64_t *addr, const uint32_t *len,
		     const bool *writable)
{
	struct vqd_seg s[VQD_QSIZE];

	assert_true(n <= VQD_QSIZE);
	for (unsigned int i = 0; i < n; i++)
		s[i] = (struct vqd_seg){ addr[i], len[i], writable[i] };
	return vqd_add(&f->d, q, s, n);
}

static void make_frame(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* One transmit buffer: header (given) + frame of flen bytes, split over two descriptors. */
static void tx(struct fx *f, const uint8_t *hdr, size_t flen)
{
	memcpy(f->d.ram + BUF, hdr, HDRLEN);
	make_frame(f->d.ram + BUF + 0x100, flen, 3);
	post(f, 1, 2, (const uint64_t[]){ BUF, BUF + 0x100 }, (const uint32_t[]){ HDRLEN, (uint32_t)flen },
	     (const bool[]){ false, false });
	vqd_wr(&f->d, 0x50, 1);
}

static struct virtio_net_stats stats(struct fx *f)
{
	struct virtio_net_stats st;
	virtio_net_get_stats(f->net, &st);
	return st;
}

static void test_config_and_features(void **state)
{
	struct fx *f = *state;

	start(f, false, 1, (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS));
	for (int i = 0; i < 6; i++) {
		uint8_t b;
		virtio_mmio_io(f->d.m, 0x100 + i, &b, 1, false);
		assert_int_equal(b, ((const uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 })[i]);
	}
	assert_int_equal(vqd_rd(&f->d, 0x100 + 6) & 0xffff, 1); /* LINK_UP */
	uint64_t fe = vqd_device_features(&f->d);
	/* slirp-like backend: no offloads, no MQ */
	assert_false(fe & (1ULL << VIRTIO_NET_F_CSUM));
	assert_false(fe & (1ULL << VIRTIO_NET_F_GUEST_TSO4));
	assert_false(fe & (1ULL << VIRTIO_NET_F_MQ));
	assert_true(fe & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
	assert_true(fe & (1ULL << VIRTIO_NET_F_CTRL_VQ));
	virtio_mmio_destroy(f->d.m);

	start(f, true, 4, 0);
	fe = vqd_device_features(&f->d);
	assert_true(fe & (1ULL << VIRTIO_NET_F_CSUM));
	assert_true(fe & (1ULL << VIRTIO_NET_F_HOST_TSO6));
	assert_true(fe & (1ULL << VIRTIO_NET_F_GUEST_TSO4));
	assert_true(fe & (1ULL << VIRTIO_NET_F_MQ));
	uint8_t pairs[2];
	virtio_mmio_io(f->d.m, 0x100 + 8, pairs, 2, false);
	assert_int_equal(get_le16(pairs), 4); /* max_virtqueue_pairs */
	assert_int_equal(f->fb.queues, 1);
	assert_false(f->fb.csum); /* GUEST_CSUM not negotiated: backend sends whole frames */
}

static void test_tx(void **state)
{
	struct fx *f = *state;
	uint8_t hdr[HDRLEN] = { 0 };

	/* bare-frame backend: the header is stripped */
	start(f, false, 1, 0);
	hdr[10] = 7; /* num_buffers: ignored on transmit */
	tx(f, hdr, 60);
	assert_int_equal(vqd_used_idx(&f->d, 1), 1);
	assert_int_equal(f->fb.sends, 1);
	assert_int_equal(f->fb.sent_len, 60);
	assert_memory_equal(f->fb.sent, f->d.ram + BUF + 0x100, 60);
	assert_int_equal(stats(f).tx_packets, 1);
	virtio_mmio_destroy(f->d.m);

	/* vnet-header backend with CSUM + TSO: the checked header goes first, num_buffers cleared */
	start(f, true, 1, (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4));
	hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	put_le16(hdr + 2, 54);   /* hdr_len */
	put_le16(hdr + 4, 1448); /* gso_size */
	put_le16(hdr + 6, 34);   /* csum_start */
	put_le16(hdr + 8, 16);   /* csum_offset */
	tx(f, hdr, 3000);
	assert_int_equal(f->fb.sends, 1);
	assert_int_equal(f->fb.sent_len, HDRLEN + 3000);
	assert_memory_equal(f->fb.sent, hdr, 10);
	assert_int_equal(get_le16(f->fb.sent + 10), 0);
	assert_memory_equal(f->fb.sent + HDRLEN, f->d.ram + BUF + 0x100, 3000);
}

static void test_tx_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t hdr[HDRLEN];
	int n = 0;

	start(f, true, 1, (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4));
	struct {
		uint8_t flags, gso;
		uint16_t hdr_len, gso_size, csum_start, csum_offset;
		size_t flen;
	} bad[] = {
		{ 0, 0, 0, 0, 0, 0, 13 },                                   /* shorter than an Ethernet header */
		{ 0, 0, 0, 0, 0, 0, NET_MAX_FRAME + 1 },                    /* too large */
		{ VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0, 60 },         /* device-only flag */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 50, 9, 60 },        /* checksum field past the end */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0xffff, 0xffff, 60 }, /* overflowing offsets */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 54, 1448, 34, 16, 3000 }, /* TSO6 not negotiated */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP, 54, 1448, 34, 16, 3000 },   /* UFO never offered */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 54, 1448, 34, 16, 3000 },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16, 3000 },     /* gso_size 0 */
		{ 0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 0, 0, 3000 },                            /* GSO without NEEDS_CSUM */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 3001, 1448, 34, 16, 3000 }, /* hdr_len past the end */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(hdr, 0, sizeof(hdr));
		hdr[0] = bad[i].flags;
		hdr[1] = bad[i].gso;
		put_le16(hdr + 2, bad[i].hdr_len);
		put_le16(hdr + 4, bad[i].gso_size);
		put_le16(hdr + 6, bad[i].csum_start);
		put_le16(hdr + 8, bad[i].csum_offset);
		tx(f, hdr, bad[i].flen);
		n++;
		assert_int_equal(vqd_used_idx(&f->d, 1), n); /* returned to the driver */
		if (f->fb.sends)
			fail_msg("bad header %zu reached the backend", i);
		assert_int_equal(stats(f).tx_errors, n);
	}
	/* a header split over descriptors with a zero-length one in between still parses */
	memset(hdr, 0, sizeof(hdr));
	memcpy(f->d.ram + BUF, hdr, HDRLEN);
	post(f, 1, 3, (const uint64_t[]){ BUF, BUF + 5, BUF + 0x100 }, (const uint32_t[]){ 5, 7, 64 },
	     (const bool[]){ false, false, false });
	vqd_wr(&f->d, 0x50, 1);
	assert_int_equal(f->fb.sends, 1);
	assert_int_equal(f->fb.sent_len, HDRLEN + 64);
	/* a failing backend counts an error, and the buffer still comes back */
	f->fb.send_result = -EIO;
	tx(f, hdr, 60);
	assert_int_equal(vqd_used_idx(&f->d, 1), n + 2);
	assert_int_equal(stats(f).tx_errors, n + 1);
	assert_false(vqd_rd(&f->d, 0x70) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* a descriptor outside guest RAM is a malformed chain: the device needs a reset, nothing crashes */
	post(f, 1, 1, (const uint64_t[]){ RAM - 4 }, (const uint32_t[]){ 100 }, (const bool[]){ false });
	vqd_wr(&f->d, 0x50, 1);
	assert_true(vqd_rd(&f->d, 0x70) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_rx_single_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1500];

	start(f, false, 1, 0);
	make_frame(frame, sizeof(frame), 9);
	/* no buffers posted: refused, the backend must wait for a kick */
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), -EAGAIN);
	assert_int_equal(stats(f).rx_stalls, 1);
	int resumes = f->fb.resumes;
	post(f, 0, 1, (const uint64_t[]){ BUF }, (const uint32_t[]){ 2048 }, (const bool[]){ true });
	vqd_wr(&f->d, 0x50, 0);
	assert_int_equal(f->fb.resumes, resumes + 1); /* the rx kick resumes the backend */
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), 0);
	assert_int_equal(vqd_used_idx(&f->d, 0), 1);
	assert_int_equal(vqd_used_len(&f->d, 0, 0), HDRLEN + sizeof(frame));
	assert_int_equal(f->d.ram[BUF], 0);                /* flags */
	assert_int_equal(get_le16(f->d.ram + BUF + 10), 1); /* num_buffers */
	assert_memory_equal(f->d.ram + BUF + HDRLEN, frame, sizeof(frame));
	/* without MRG_RXBUF a frame larger than the one buffer is dropped; the buffer stays for the next */
	post(f, 0, 1, (const uint64_t[]){ BUF }, (const uint32_t[]){ 500 }, (const bool[]){ true });
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), 0);
	assert_int_equal(stats(f).rx_dropped, 1);
	assert_int_equal(vqd_used_idx(&f->d, 0), 1);
	assert_int_equal(virtio_net_receive(f->net, 0, frame, 100), 0);
	assert_int_equal(vqd_used_idx(&f->d, 0), 2);
	assert_int_equal(vqd_used_len(&f->d, 0, 1), HDRLEN + 100);
	/* a frame too large for any packet or too short for Ethernet is dropped */
	static uint8_t huge[NET_MAX_FRAME + 1];
	assert_int_equal(virtio_net_receive(f->net, 0, huge, sizeof(huge)), 0);
	assert_int_equal(virtio_net_receive(f->net, 0, huge, 10), 0);
	assert_int_equal(stats(f).rx_dropped, 3);
	assert_int_equal(stats(f).rx_packets, 2);
}

static void test_rx_mergeable(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1000], out[1000 + HDRLEN];

	start(f, false, 1, 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	make_frame(frame, sizeof(frame), 1);
	for (int i = 0; i < 6; i++)
		post(f, 0, 1, (const uint64_t[]){ BUF + 0x1000 * i }, (const uint32_t[]){ 256 }, (const bool[]){ true });
	/* 1012 bytes over 256-byte buffers: 4 buffers, published together */
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), 0);
	assert_int_equal(vqd_used_idx(&f->d, 0), 4);
	assert_int_equal(get_le16(f->d.ram + BUF + 10), 4);
	size_t got = 0;
	for (int i = 0; i < 4; i++) {
		uint32_t l = vqd_used_len(&f->d, 0, (uint16_t)i);
		assert_int_equal(vqd_used_id(&f->d, 0, (uint16_t)i), i);
		memcpy(out + got, f->d.ram + BUF + 0x1000 * i, l);
		got += l;
	}
	assert_int_equal(got, HDRLEN + sizeof(frame));
	assert_memory_equal(out + HDRLEN, frame, sizeof(frame));
	/* 2 buffers (512 bytes) left: a 1000-byte frame waits (no loss) until more are posted */
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), -EAGAIN);
	assert_int_equal(vqd_used_idx(&f->d, 0), 4);
	post(f, 0, 1, (const uint64_t[]){ BUF + 0x8000 }, (const uint32_t[]){ 256 }, (const bool[]){ true });
	post(f, 0, 1, (const uint64_t[]){ BUF + 0x9000 }, (const uint32_t[]){ 256 }, (const bool[]){ true });
	vqd_wr(&f->d, 0x50, 0);
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), 0);
	assert_int_equal(vqd_used_idx(&f->d, 0), 8);
	assert_int_equal(get_le16(f->d.ram + BUF + 0x4000 + 10), 4); /* starts in the 5th buffer posted */
	assert_memory_equal(f->d.ram + BUF + 0x4000 + HDRLEN, frame, 256 - HDRLEN);
	assert_memory_equal(f->d.ram + BUF + 0x9000, frame + 3 * 256 - HDRLEN, sizeof(frame) - (3 * 256 - HDRLEN));
	assert_int_equal(stats(f).rx_dropped, 0);
}

/* Packed ring (s2.8): a mergeable packet's used descriptors appear together, first one last. */
static void test_rx_mergeable_packed(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1000], out[1000 + HDRLEN];
	uint8_t *ring = f->d.ram + vqd_desc(0);

	start(f, false, 1, (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_F_RING_PACKED));
	make_frame(frame, sizeof(frame), 2);
	for (int i = 0; i < 6; i++) {
		put_le64(ring + 16 * i, BUF + 0x1000 * i);
		put_le32(ring + 16 * i + 8, 256);
		put_le16(ring + 16 * i + 12, (uint16_t)(10 + i)); /* buffer id */
		/* available in the first lap: AVAIL = 1, USED = 0 (wrap counter 1) */
		put_le16(ring + 16 * i + 14, VIRTQ_DESC_F_WRITE | VIRTQ_PACKED_DESC_F_AVAIL);
	}
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), 0);
	size_t got = 0;
	for (int i = 0; i < 4; i++) {
		uint16_t flags = get_le16(ring + 16 * i + 14);
		assert_int_equal(flags & (VIRTQ_PACKED_DESC_F_AVAIL | VIRTQ_PACKED_DESC_F_USED),
				 VIRTQ_PACKED_DESC_F_AVAIL | VIRTQ_PACKED_DESC_F_USED);
		assert_int_equal(get_le16(ring + 16 * i + 12), 10 + i);
		uint32_t l = get_le32(ring + 16 * i + 8);
		memcpy(out + got, f->d.ram + BUF + 0x1000 * i, l);
		got += l;
	}
	assert_int_equal(got, HDRLEN + sizeof(frame));
	assert_int_equal(get_le16(out + 10), 4);
	assert_memory_equal(out + HDRLEN, frame, sizeof(frame));
	/* the 5th and 6th buffers are still the driver's */
	assert_int_equal(get_le16(ring + 16 * 4 + 14) & VIRTQ_PACKED_DESC_F_USED, 0);
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), -EAGAIN);
}

static void test_rx_vnet_header(void **state)
{
	struct fx *f = *state;
	uint8_t pkt[HDRLEN + 200] = { 0 };

	start(f, true, 1, 1ULL << VIRTIO_NET_F_GUEST_CSUM);
	assert_true(f->fb.csum);
	assert_false(f->fb.tso4);
	for (int i = 0; i < 4; i++)
		post(f, 0, 1, (const uint64_t[]){ BUF + 0x1000 * i }, (const uint32_t[]){ 2048 }, (const bool[]){ true });
	pkt[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	put_le16(pkt + 6, 34);
	put_le16(pkt + 8, 16);
	make_frame(pkt + HDRLEN, 200, 5);
	assert_int_equal(virtio_net_receive(f->net, 0, pkt, sizeof(pkt)), 0);
	assert_int_equal(f->d.ram[BUF], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(get_le16(f->d.ram + BUF + 6), 34);
	assert_int_equal(vqd_used_len(&f->d, 0, 0), sizeof(pkt));
	/* GSO the driver did not accept never reaches it */
	pkt[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	assert_int_equal(virtio_net_receive(f->net, 0, pkt, sizeof(pkt)), 0);
	assert_int_equal(vqd_used_idx(&f->d, 0), 1);
	assert_int_equal(stats(f).rx_dropped, 1);
	/* shorter than the vnet header */
	assert_int_equal(virtio_net_receive(f->net, 0, pkt, 5), 0);
	assert_int_equal(stats(f).rx_dropped, 2);
}

static uint8_t ctrl(struct fx *f, uint8_t cls, uint8_t cmd, const uint8_t *data, uint32_t dlen)
{
	f->d.ram[BUF + 0x2000] = cls;
	f->d.ram[BUF + 0x2001] = cmd;
	if (dlen)
		memcpy(f->d.ram + BUF + 0x2100, data, dlen);
	f->d.ram[BUF + 0x2200] = 0xee;
	if (dlen)
		post(f, f->ctrlq, 3, (const uint64_t[]){ BUF + 0x2000, BUF + 0x2100, BUF + 0x2200 },
		     (const uint32_t[]){ 2, dlen, 1 }, (const bool[]){ false, false, true });
	else
		post(f, f->ctrlq, 2, (const uint64_t[]){ BUF + 0x2000, BUF + 0x2200 }, (const uint32_t[]){ 2, 1 },
		     (const bool[]){ false, true });
	vqd_wr(&f->d, 0x50, f->ctrlq);
	assert_int_equal(vqd_used_idx(&f->d, f->ctrlq), f->d.avail[f->ctrlq]);
	return f->d.ram[BUF + 0x2200];
}

static void test_ctrl_queue(void **state)
{
	struct fx *f = *state;
	uint8_t two[2];

	start(f, true, 4,
	      (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX) | (1ULL << VIRTIO_NET_F_MQ));
	assert_int_equal(f->ctrlq, 8);
	put_le16(two, 2);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, two, 2), VIRTIO_NET_OK);
	assert_int_equal(f->fb.queues, 2);
	/* pair 1 is live now, pair 2 is not: its frames wait */
	post(f, 2, 1, (const uint64_t[]){ BUF }, (const uint32_t[]){ 2048 }, (const bool[]){ true });
	uint8_t frame[HDRLEN + 60] = { 0 };
	assert_int_equal(virtio_net_receive(f->net, 1, frame, sizeof(frame)), 0);
	assert_int_equal(vqd_used_idx(&f->d, 2), 1);
	assert_int_equal(virtio_net_receive(f->net, 2, frame, sizeof(frame)), -EAGAIN);
	put_le16(two, 0);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, two, 2), VIRTIO_NET_ERR);
	put_le16(two, 5);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, two, 2), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, two, 1), VIRTIO_NET_ERR);
	assert_int_equal(f->fb.queues, 2);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, 0, (const uint8_t[]){ 1 }, 1), VIRTIO_NET_OK); /* PROMISC on */
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, 9, (const uint8_t[]){ 1 }, 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, 0, NULL, 0), VIRTIO_NET_ERR); /* missing data */
	uint8_t tables[8] = { 0 };
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, 0, tables, 8), VIRTIO_NET_OK); /* MAC_TABLE_SET */
	assert_int_equal(ctrl(f, 42, 0, NULL, 0), VIRTIO_NET_ERR);
	assert_int_equal(stats(f).ctrl_errors, 6);
	/* a command with no writable ack byte: answered with nothing written */
	f->d.ram[BUF + 0x2000] = VIRTIO_NET_CTRL_RX;
	post(f, f->ctrlq, 1, (const uint64_t[]){ BUF + 0x2000 }, (const uint32_t[]){ 3 }, (const bool[]){ false });
	vqd_wr(&f->d, 0x50, f->ctrlq);
	assert_int_equal(vqd_used_len(&f->d, f->ctrlq, (uint16_t)(f->d.avail[f->ctrlq] - 1)), 0);
	assert_false(vqd_rd(&f->d, 0x70) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_reset_stops_rx(void **state)
{
	struct fx *f = *state;
	uint8_t frame[60] = { 0 };

	start(f, false, 1, 0);
	post(f, 0, 1, (const uint64_t[]){ BUF }, (const uint32_t[]){ 2048 }, (const bool[]){ true });
	vqd_wr(&f->d, 0x70, 0); /* reset */
	assert_int_equal(virtio_net_receive(f->net, 0, frame, sizeof(frame)), -EAGAIN);
	assert_int_equal(vqd_used_idx(&f->d, 0), 0);
	/* out-of-range queue pair from a backend: dropped quietly */
	assert_int_equal(virtio_net_receive(f->net, 5, frame, sizeof(frame)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_single_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable_packed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_vnet_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_stops_rx, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtio_net", tests, NULL, NULL);
}
