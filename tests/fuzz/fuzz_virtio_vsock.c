// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-vsock packet parsing and the connection state
 * machine, through the virtio-mmio transport. The input is a sequence of
 * packets, each [flags][le16 payload length][44-byte header][payload]; flag
 * bit 0 forces the right CIDs so the fuzzer gets past the address check, bit
 * 1 posts the packet as a single descriptor instead of header + payload, bit
 * 2 runs a round of host-socket I/O. A host listener on PATH_1 accepts guest
 * connections to port 1, so established connections are reached too.
 */
// fuzz-srcs: src/dev/virtio_vsock.c src/virtio/virtio.c src/virtio/virtio_mmio.c src/virtio/virtqueue.c src/mem/guest_mem.c src/util/*.c src/event/*.c src/bus/*.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmkit/virtio_vsock.h"
#include "../unit/vq_driver.h"

#define MEM (4 << 20)
#define CID 3
#define TXBUF 0x200000
#define RXBUF 0x300000

static char port1[80];

static void irq_set(void *ctx, uint32_t gsi, int level) {}

static void remove_listener(void)
{
	unlink(port1);
}

static void post_rx(struct vqd *d)
{
	while ((uint16_t)(d->avail[0] - vqd_used_idx(d, 0)) < VQD_QSIZE / 2) {
		uint64_t b = RXBUF + (uint64_t)(d->avail[0] % 8) * 0x2000;
		struct vqd_seg s[2] = { { b, VIRTIO_VSOCK_HDR_SIZE, true }, { b + 0x100, 4096, true } };
		vqd_add(d, 0, s, 2);
	}
	vqd_kick(d, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static int lfd = -1;
	int keep[64], nkeep = 0;
	struct irq_line irq = { .set = irq_set };
	struct guest_mem mem;
	struct vqd d = { 0 };
	char err[256];

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/vmkit-fuzz-vsock-%d", getpid());
		snprintf(port1, sizeof(port1), "%s_1", path);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, port1);
		unlink(port1);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0)
			abort();
		atexit(remove_listener); /* leave /tmp clean */
	}
	guest_mem_init(&mem);
	if (guest_mem_add(&mem, 0, MEM))
		return 0;
	d.ram = guest_mem_ptr(&mem, 0, MEM);
	struct virtio_vsock *v = virtio_vsock_create(CID, path, err, sizeof(err));
	if (!v)
		abort();
	d.m = virtio_mmio_create(&virtio_vsock_ops, v, &mem, &irq);
	vqd_start(&d, 3, 0);
	post_rx(&d);

	size_t off = 0;
	unsigned int n = 0;
	while (off + 3 + VIRTIO_VSOCK_HDR_SIZE <= size && n++ < 64) {
		uint8_t flags = data[off];
		size_t len = get_le16(data + off + 1);
		const uint8_t *hdr = data + off + 3;
		off += 3 + VIRTIO_VSOCK_HDR_SIZE;
		len = len < size - off ? len : size - off;
		uint64_t b = TXBUF + (uint64_t)(n % 8) * 0x20000;
		memcpy(d.ram + b, hdr, VIRTIO_VSOCK_HDR_SIZE);
		if (flags & 1) {
			put_le64(d.ram + b, CID);
			put_le64(d.ram + b + 8, VIRTIO_VSOCK_HOST_CID);
		}
		if (flags & 2) {
			memcpy(d.ram + b + VIRTIO_VSOCK_HDR_SIZE, data + off, len);
			struct vqd_seg s = { b, (uint32_t)(VIRTIO_VSOCK_HDR_SIZE + len), false };
			vqd_add(&d, 1, &s, 1);
		} else {
			memcpy(d.ram + b + 0x100, data + off, len);
			struct vqd_seg s[2] = { { b, VIRTIO_VSOCK_HDR_SIZE, false }, { b + 0x100, (uint32_t)len, false } };
			vqd_add(&d, 1, s, len ? 2 : 1);
		}
		off += len;
		vqd_kick(&d, 1);
		if (flags & 4) {
			/* The host end accepts (and sometimes writes, or hangs up) */
			int fd = accept(lfd, NULL, NULL);
			if (fd >= 0) {
				/* The device may have closed its end already: no SIGPIPE (vmkit ignores it too). */
				if (flags & 8)
					(void)!send(fd, "host data", 9, MSG_NOSIGNAL);
				if (flags & 16 && nkeep < 64)
					keep[nkeep++] = fd; /* stays open until the end of this input */
				else
					close(fd);
			}
			virtio_vsock_poll(v, 0);
		}
		post_rx(&d);
	}
	for (int fd; (fd = accept(lfd, NULL, NULL)) >= 0;)
		close(fd);
	virtio_mmio_destroy(d.m);
	while (nkeep)
		close(keep[--nkeep]);
	guest_mem_free(&mem);
	return 0;
}
