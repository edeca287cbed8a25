// SPDX-License-Identifier: MIT
/*
 * virtio-vsock through virtio-mmio with fake guest memory and real UNIX
 * sockets on the host side, driven without the I/O thread
 * (virtio_vsock_poll): guest- and host-initiated connections, data both
 * ways, shutdown and RST, credit accounting both ways, header validation.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/virtio_vsock.h"
#include "vq_driver.h"

#define CID 42
#define RXBUF 0x200000 /* rx buffers: RXBUF + i * 0x2000 (header + 4 KiB) */
#define TXBUF 0x300000
#define RX 0
#define TX 1

struct fx {
	struct guest_mem mem;
	struct fake_irq irq;
	struct vqd d;
	struct virtio_vsock *v;
	char path[64];
	int rx_posted;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	struct irq_line line = fake_irq_line(&f->irq);

	snprintf(f->path, sizeof(f->path), "/tmp/vmkit-vsock-%d", getpid());
	guest_mem_init(&f->mem);
	assert_int_equal(guest_mem_add(&f->mem, 0, 16 << 20), 0);
	f->d.ram = guest_mem_ptr(&f->mem, 0, 16 << 20);
	f->v = virtio_vsock_create(CID, f->path, err, sizeof(err));
	assert_non_null(f->v);
	f->d.m = virtio_mmio_create(&virtio_vsock_ops, f->v, &f->mem, &line);
	assert_int_equal(vqd_start(&f->d, 3, 0) & 0x4f, 0xf);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_destroy(f->d.m);
	assert_int_equal(access(f->path, F_OK), -1); /* the socket file is removed */
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

static struct virtio_vsock_counters counters(struct fx *f)
{
	struct virtio_vsock_counters c;
	virtio_vsock_get_counters(f->v, &c);
	return c;
}

/* Post n rx buffers (header and payload in separate descriptors, as Linux does). */
static void post_rx(struct fx *f, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t b = RXBUF + (uint64_t)((f->rx_posted++) % 8) * 0x2000;
		struct vqd_seg s[2] = { { b, VIRTIO_VSOCK_HDR_SIZE, true }, { b + 0x100, 4096, true } };
		vqd_add(&f->d, RX, s, 2);
	}
	vqd_kick(&f->d, RX);
}

/* The next packet the device returned on rx: header, payload copied to data. */
static bool get_rx(struct fx *f, struct virtio_vsock_hdr *h, char *data, size_t max)
{
	uint16_t id;
	uint32_t len;

	if (!vqd_get_used(&f->d, RX, &id, &len))
		return false;
	uint64_t b = get_le64(f->d.ram + vqd_desc(RX) + 16 * id);
	assert_true(len >= VIRTIO_VSOCK_HDR_SIZE);
	virtio_vsock_hdr_decode(f->d.ram + b, h);
	assert_int_equal(len, VIRTIO_VSOCK_HDR_SIZE + h->len);
	if (data) {
		assert_true(h->len < max);
		memcpy(data, f->d.ram + b + 0x100, h->len);
		data[h->len] = '\0';
	}
	return true;
}

static void send_pkt(struct fx *f, const struct virtio_vsock_hdr *h, const void *data, uint32_t data_len)
{
	static unsigned int slot;
	uint64_t b = TXBUF + (uint64_t)(slot++ % 8) * 0x20000;

	virtio_vsock_hdr_encode(h, f->d.ram + b);
	if (data_len)
		memcpy(f->d.ram + b + 0x100, data, data_len); /* data may be NULL then (memcpy's contract) */
	struct vqd_seg s[2] = { { b, VIRTIO_VSOCK_HDR_SIZE, false }, { b + 0x100, data_len, false } };
	vqd_add(&f->d, TX, s, data_len ? 2 : 1);
	vqd_kick(&f->d, TX);
	assert_true(vqd_get_used(&f->d, TX, NULL, NULL));
}

static struct virtio_vsock_hdr ghdr(uint16_t op, uint32_t gport, uint32_t hport, uint32_t len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = CID, .dst_cid = 2, .src_port = gport, .dst_port = hport, .len = len,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536, .fwd_cnt = 0,
	};
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Drive the host side until the device returned a packet on rx (bounded). */
static bool poll_rx(struct fx *f, struct virtio_vsock_hdr *h, char *data, size_t max)
{
	for (int i = 0; i < 50; i++) {
		if (get_rx(f, h, data, max))
			return true;
		virtio_vsock_poll(f->v, 100);
	}
	return get_rx(f, h, data, max);
}

static ssize_t read_timeout(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 5000) != 1)
		return -ETIMEDOUT;
	return read(fd, buf, len);
}

static void test_config_and_refused_connect(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h, r;

	assert_int_equal(vqd_rd(&f->d, 0x008), 19);
	assert_int_equal(vqd_rd(&f->d, 0x100), CID);
	assert_int_equal(vqd_rd(&f->d, 0x104), 0);
	post_rx(f, 4);
	/* nobody listens on PATH_80: the guest's connect is refused with RST */
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1000, 80, 0);
	send_pkt(f, &h, NULL, 0);
	assert_true(get_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(r.src_cid, 2);
	assert_int_equal(r.dst_cid, CID);
	assert_int_equal(r.src_port, 80);
	assert_int_equal(r.dst_port, 1000);
	assert_int_equal(r.type, VIRTIO_VSOCK_TYPE_STREAM);
	assert_int_equal(counters(f).conns_refused, 1);
}

static void test_guest_to_host(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h, r;
	char port_path[80], buf[8192];

	snprintf(port_path, sizeof(port_path), "%s_5000", f->path);
	int lfd = listen_unix(port_path);
	post_rx(f, 8);
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1234, 5000, 0);
	send_pkt(f, &h, NULL, 0);
	assert_true(get_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(r.src_port, 5000);
	assert_int_equal(r.dst_port, 1234);
	assert_int_equal(r.buf_alloc, VIRTIO_VSOCK_BUF_ALLOC);
	assert_int_equal(r.fwd_cnt, 0);
	int hfd = accept(lfd, NULL, NULL);
	assert_true(hfd >= 0);
	assert_int_equal(counters(f).conns_open, 1);

	/* guest -> host data */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1234, 5000, 5);
	send_pkt(f, &h, "hello", 5);
	assert_int_equal(read_timeout(hfd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	/* a credit request is answered with our fwd_cnt */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 1234, 5000, 0);
	send_pkt(f, &h, NULL, 0);
	assert_true(get_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(r.fwd_cnt, 5);

	/* host -> guest data */
	assert_int_equal(write(hfd, "world", 5), 5);
	assert_true(poll_rx(f, &r, buf, sizeof(buf)));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RW);
	assert_string_equal(buf, "world");

	/* host half-close: SHUTDOWN(SEND) to the guest */
	shutdown(hfd, SHUT_WR);
	assert_true(poll_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(r.flags & VIRTIO_VSOCK_SHUTDOWN_SEND, VIRTIO_VSOCK_SHUTDOWN_SEND);

	/* the guest still writes, then shuts down both ways: RST, the host reads EOF */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1234, 5000, 3);
	send_pkt(f, &h, "bye", 3);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1234, 5000, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	send_pkt(f, &h, NULL, 0);
	assert_true(get_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(read_timeout(hfd, buf, sizeof(buf)), 3);
	assert_int_equal(read_timeout(hfd, buf, sizeof(buf)), 0);
	assert_int_equal(counters(f).conns_open, 0);
	/* the connection is gone: more data gets an RST */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1234, 5000, 1);
	send_pkt(f, &h, "x", 1);
	assert_true(get_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RST);
	close(hfd);
	close(lfd);
	unlink(port_path);
}

static void test_host_to_guest(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h, r;
	char buf[256];

	post_rx(f, 8);
	int hfd = connect_unix(f->path);
	/* data may follow the CONNECT line in the same write */
	const char *hello = "CONNECT 7000\nearly";
	assert_int_equal(write(hfd, hello, strlen(hello)), (ssize_t)strlen(hello));
	assert_true(poll_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(r.dst_port, 7000);
	assert_int_equal(r.dst_cid, CID);
	uint32_t hport = r.src_port;
	assert_true(hport >= 1024);
	/* the guest accepts, with a small receive buffer: 8 bytes of credit */
	h = ghdr(VIRTIO_VSOCK_OP_RESPONSE, 7000, hport, 0);
	h.buf_alloc = 8;
	send_pkt(f, &h, NULL, 0);
	ssize_t n = read_timeout(hfd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	char want[32];
	snprintf(want, sizeof(want), "OK %u\n", hport);
	assert_string_equal(buf, want);
	assert_true(poll_rx(f, &r, buf, sizeof(buf)));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RW);
	assert_string_equal(buf, "early");

	/* 20 more bytes, but only 3 bytes of credit left: 3, then CREDIT_REQUEST */
	assert_int_equal(write(hfd, "0123456789abcdefghij", 20), 20);
	assert_true(poll_rx(f, &r, buf, sizeof(buf)));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RW);
	assert_string_equal(buf, "012");
	assert_true(poll_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	virtio_vsock_poll(f->v, 50);
	assert_false(get_rx(f, &r, NULL, 0)); /* nothing more without credit */
	/* the guest consumed 8 bytes: 8 more may come */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 7000, hport, 0);
	h.buf_alloc = 8;
	h.fwd_cnt = 8;
	send_pkt(f, &h, NULL, 0);
	assert_true(get_rx(f, &r, buf, sizeof(buf)));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RW);
	assert_string_equal(buf, "3456789a");

	/* the host closes: SHUTDOWN both ways; the guest's RST ends it */
	post_rx(f, 4);
	close(hfd);
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 7000, hport, 0);
	h.buf_alloc = 4096;
	h.fwd_cnt = 16;
	send_pkt(f, &h, NULL, 0);
	bool shut = false;
	for (int i = 0; i < 10 && !shut; i++) {
		assert_true(poll_rx(f, &r, buf, sizeof(buf)));
		shut = r.op == VIRTIO_VSOCK_OP_SHUTDOWN;
	}
	assert_true(shut);
	assert_int_equal(counters(f).conns_open, 1);
	h = ghdr(VIRTIO_VSOCK_OP_RST, 7000, hport, 0);
	send_pkt(f, &h, NULL, 0);
	assert_int_equal(counters(f).conns_open, 0);
	assert_false(get_rx(f, &r, NULL, 0)); /* an RST is never answered */

	/* a host CONNECT the guest refuses: the host socket is closed */
	hfd = connect_unix(f->path);
	assert_int_equal(write(hfd, "CONNECT 9\n", 10), 10);
	assert_true(poll_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_REQUEST);
	h = ghdr(VIRTIO_VSOCK_OP_RST, 9, r.src_port, 0);
	send_pkt(f, &h, NULL, 0);
	assert_int_equal(read_timeout(hfd, buf, sizeof(buf)), 0);
	close(hfd);
	/* a bad handshake line: closed without bothering the guest */
	hfd = connect_unix(f->path);
	assert_int_equal(write(hfd, "HELLO 9\n", 8), 8);
	virtio_vsock_poll(f->v, 100);
	assert_int_equal(read_timeout(hfd, buf, sizeof(buf)), 0);
	close(hfd);
	assert_false(get_rx(f, &r, NULL, 0));
}

static void test_malformed_headers(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h, r;
	uint32_t len;

	/* first a device-readable "rx buffer": refused (returned empty), the device keeps working */
	struct vqd_seg bad = { RXBUF + 0x10000, 64, false };
	vqd_add(&f->d, RX, &bad, 1);
	post_rx(f, 7);
	/* wrong source CID, wrong destination: dropped without a reply */
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1, 2, 0);
	h.src_cid = CID + 1;
	send_pkt(f, &h, NULL, 0);
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1, 2, 0);
	h.dst_cid = 7;
	send_pkt(f, &h, NULL, 0);
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1, 2, 0);
	h.src_cid |= 1ULL << 40; /* the upper half counts too */
	send_pkt(f, &h, NULL, 0);
	assert_false(get_rx(f, &r, NULL, 0));
	assert_int_equal(counters(f).bad_cid, 3);
	/* short header */
	struct vqd_seg s = { TXBUF, 20, false };
	vqd_add(&f->d, TX, &s, 1);
	vqd_kick(&f->d, TX);
	assert_int_equal(counters(f).malformed, 1);
	/* len larger than the buffer, unknown type, data on a control op, unknown op: RST */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 3, 4, 100);
	send_pkt(f, &h, "abc", 3);
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 3, 4, 0);
	h.type = 2;
	send_pkt(f, &h, NULL, 0);
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 3, 4, 2);
	send_pkt(f, &h, "ab", 2);
	h = ghdr(99, 3, 4, 0);
	send_pkt(f, &h, NULL, 0);
	h = ghdr(0, 3, 4, 0);
	send_pkt(f, &h, NULL, 0);
	assert_true(vqd_get_used(&f->d, RX, NULL, &len));
	assert_int_equal(len, 0);
	for (int i = 0; i < 5; i++) {
		assert_true(get_rx(f, &r, NULL, 0));
		assert_int_equal(r.op, VIRTIO_VSOCK_OP_RST);
		assert_int_equal(r.dst_port, 3);
		assert_int_equal(r.src_port, 4);
	}
	assert_false(get_rx(f, &r, NULL, 0));
	assert_int_equal(counters(f).malformed, 5); /* 4 packets + the bad rx buffer */
	/* RSTs for unknown connections are not answered */
	h = ghdr(VIRTIO_VSOCK_OP_RST, 3, 4, 0);
	send_pkt(f, &h, NULL, 0);
	assert_false(get_rx(f, &r, NULL, 0));
	assert_int_equal(vqd_rd(&f->d, 0x70) & 64, 0);
}

static void test_guest_beyond_credit(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h, r;
	char port_path[80];
	static char big[65536];

	snprintf(port_path, sizeof(port_path), "%s_6000", f->path);
	int lfd = listen_unix(port_path);
	post_rx(f, 8);
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 77, 6000, 0);
	send_pkt(f, &h, NULL, 0);
	assert_true(get_rx(f, &r, NULL, 0));
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RESPONSE);
	int hfd = accept(lfd, NULL, NULL);
	/* the host never reads: once the socket and our 256 KiB are full, the guest is over its credit */
	memset(big, 'z', sizeof(big));
	bool reset = false;
	for (int i = 0; i < 64 && !reset; i++) {
		h = ghdr(VIRTIO_VSOCK_OP_RW, 77, 6000, sizeof(big));
		send_pkt(f, &h, big, sizeof(big));
		while (get_rx(f, &r, NULL, 0))
			reset |= r.op == VIRTIO_VSOCK_OP_RST;
		if (f->rx_posted - f->d.used_seen[RX] < 4)
			post_rx(f, 4);
	}
	assert_true(reset);
	assert_int_equal(counters(f).credit_violations, 1);
	assert_int_equal(counters(f).conns_open, 0);
	close(hfd);
	close(lfd);
	unlink(port_path);
}

static void test_reset_and_limits(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h, r;
	char port_path[80], buf[16];
	int fds[VIRTIO_VSOCK_MAX_CONNS + 1], nfds = 0;

	snprintf(port_path, sizeof(port_path), "%s_8", f->path);
	int lfd = listen_unix(port_path);
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	/* fill every connection slot; one more is refused with RST */
	for (unsigned int i = 0; i <= VIRTIO_VSOCK_MAX_CONNS; i++) {
		post_rx(f, 1);
		h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 100 + i, 8, 0);
		send_pkt(f, &h, NULL, 0);
		assert_true(get_rx(f, &r, NULL, 0));
		assert_int_equal(r.op, i < VIRTIO_VSOCK_MAX_CONNS ? VIRTIO_VSOCK_OP_RESPONSE : VIRTIO_VSOCK_OP_RST);
		/* accept as we go: the listen backlog is small */
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			fds[nfds++] = fd;
	}
	assert_int_equal(nfds, VIRTIO_VSOCK_MAX_CONNS);
	assert_int_equal(counters(f).conns_open, VIRTIO_VSOCK_MAX_CONNS);
	/* a device reset (the guest's driver restarts) closes every host connection */
	vqd_wr(&f->d, 0x70, 0);
	assert_int_equal(counters(f).conns_open, 0);
	for (int i = 0; i < nfds; i++) {
		assert_int_equal(read_timeout(fds[i], buf, sizeof(buf)), 0);
		close(fds[i]);
	}
	/* without a driver, a host CONNECT is closed at once */
	int hfd = connect_unix(f->path);
	assert_int_equal(write(hfd, "CONNECT 5\n", 10), 10);
	virtio_vsock_poll(f->v, 100);
	assert_int_equal(read_timeout(hfd, buf, sizeof(buf)), 0);
	close(hfd);
	close(lfd);
	unlink(port_path);
}

static void test_socket_path_checks(void **state)
{
	struct fx *f = *state;
	char err[256], path[80];

	/* the first device still listens there: a second one refuses to take it over */
	assert_null(virtio_vsock_create(CID, f->path, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	/* a stale socket file (nobody listening) is replaced */
	snprintf(path, sizeof(path), "%s-stale", f->path);
	close(listen_unix(path));
	struct virtio_vsock *v = virtio_vsock_create(CID, path, err, sizeof(err));
	assert_non_null(v);
	virtio_vsock_ops.destroy(v);
	assert_int_equal(access(path, F_OK), -1);
	/* a regular file is not ours to remove */
	close(open(path, O_CREAT | O_WRONLY, 0600));
	assert_null(virtio_vsock_create(CID, path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_refused_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_to_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_to_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_beyond_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_path_checks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
