// SPDX-License-Identifier: MIT
/*
 * Net backends without a guest: libslirp user networking answers ARP for the
 * gateway and a DHCP discover with 10.0.2.15, frames the frontend refuses
 * wait (in order) until net_backend_rx_resume(); a tap backend (root only,
 * skipped otherwise) passes frames with their virtio_net_hdr both ways.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkit/net.h"
#include "vmkit/util.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

struct rec {
	int refuse;   /* atomic: answer -EAGAIN */
	int frames;   /* atomic: frames taken */
	int refused;
	size_t skip;        /* bytes before the Ethernet header (vnet header) */
	uint16_t want_type; /* if set, frames of other ethertypes are taken and ignored */
	uint8_t last[2048];
	size_t last_len;
	uint8_t first_byte[16]; /* frames[i][last byte] to check order */
};

static int rec_receive(void *opaque, unsigned int q, const uint8_t *frame, size_t len)
{
	struct rec *r = opaque;

	if (__atomic_load_n(&r->refuse, __ATOMIC_ACQUIRE)) {
		__atomic_add_fetch(&r->refused, 1, __ATOMIC_ACQ_REL);
		return -EAGAIN;
	}
	if (r->want_type && (len < r->skip + 14 || get_be16(frame + r->skip + 12) != r->want_type))
		return 0; /* the host's own traffic on a fresh interface (IPv6 solicitations) */
	memcpy(r->last, frame, MIN(len, sizeof(r->last)));
	r->last_len = len;
	__atomic_add_fetch(&r->frames, 1, __ATOMIC_ACQ_REL);
	return 0;
}

static bool wait_frames(struct rec *r, int n)
{
	for (int i = 0; i < 500; i++) {
		if (__atomic_load_n(&r->frames, __ATOMIC_ACQUIRE) >= n)
			return true;
		usleep(10000);
	}
	return false;
}

static size_t arp_request(uint8_t *f, const char *target)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08, f[13] = 0x06;
	const uint8_t arp[] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(f + 14, arp, sizeof(arp));
	memcpy(f + 22, guest_mac, 6);
	const uint8_t spa[4] = { 10, 0, 2, 15 };
	memcpy(f + 28, spa, 4);
	memset(f + 32, 0, 6);
	sscanf(target, "%hhu.%hhu.%hhu.%hhu", &f[38], &f[39], &f[40], &f[41]);
	memset(f + 42, 0, 18);
	return 60;
}

static void test_slirp_arp_and_backpressure(void **state)
{
	char err[256];
	struct net_user_config cfg = { 0 };
	struct rec r = { 0 };
	struct net_backend *be = net_slirp_open(&cfg, err, sizeof(err));
	uint8_t f[64];

	assert_non_null(be);
	assert_false(be->vnet_hdr); /* slirp takes whole frames: no offloads */
	assert_int_equal(be->nr_queues, 1);
	assert_int_equal(net_backend_start(be, &(struct net_frontend){ .receive = rec_receive, .opaque = &r }), 0);
	struct iovec iov = { f, arp_request(f, "10.0.2.2") };
	assert_int_equal(net_backend_send(be, 0, &iov, 1), 0);
	assert_true(wait_frames(&r, 1));
	assert_int_equal(get_be16(r.last + 12), 0x0806);
	assert_int_equal(get_be16(r.last + 20), 2); /* ARP reply */
	assert_memory_equal(r.last + 28, ((const uint8_t[]){ 10, 0, 2, 2 }), 4);
	assert_memory_equal(r.last, guest_mac, 6);

	/* the frontend has no buffers: replies wait in order, then flow after a resume */
	__atomic_store_n(&r.refuse, 1, __ATOMIC_RELEASE);
	iov.iov_len = arp_request(f, "10.0.2.3");
	assert_int_equal(net_backend_send(be, 0, &iov, 1), 0);
	iov.iov_len = arp_request(f, "10.0.2.2");
	assert_int_equal(net_backend_send(be, 0, &iov, 1), 0);
	assert_int_equal(__atomic_load_n(&r.frames, __ATOMIC_ACQUIRE), 1);
	assert_true(__atomic_load_n(&r.refused, __ATOMIC_ACQUIRE) >= 1);
	__atomic_store_n(&r.refuse, 0, __ATOMIC_RELEASE);
	net_backend_rx_resume(be, 0);
	assert_true(wait_frames(&r, 3));
	assert_memory_equal(r.last + 28, ((const uint8_t[]){ 10, 0, 2, 2 }), 4); /* the later one arrives last */
	assert_int_equal(be->rx_dropped, 0);

	/* a frame larger than any Ethernet frame is refused by the sender side */
	static uint8_t big[NET_MAX_FRAME + 1];
	struct iovec bigv = { big, sizeof(big) };
	assert_int_equal(net_backend_send(be, 0, &bigv, 1), -EMSGSIZE);
	net_backend_destroy(be);
}

static void test_slirp_hostfwd_bad_address(void **state)
{
	char err[256];
	struct net_user_config cfg = { .nr_fwd = 1 };

	cfg.fwd[0].host_addr = htonl(0x0a090909); /* 10.9.9.9: not this host's */
	cfg.fwd[0].host_port = 18099;
	cfg.fwd[0].guest_port = 22;
	assert_null(net_slirp_open(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "hostfwd: cannot listen on 10.9.9.9:18099"));
}

static void test_tap_vnet_header_both_ways(void **state)
{
	char err[256], name[IFNAMSIZ];
	struct rec r = { .skip = NET_VNET_HDR_LEN, .want_type = 0x88b5 };
	struct net_backend *be;
	struct ifreq ifr = { 0 };
	int sock;

	snprintf(name, sizeof(name), "vmkt%d", (int)(getpid() % 100000));
	be = net_tap_open(name, 1, err, sizeof(err));
	if (!be) {
		if (strstr(err, "CAP_NET_ADMIN") || strstr(err, "/dev/net/tun"))
			skip(); /* not root, or no tun driver */
		fail_msg("%s", err);
	}
	assert_true(be->vnet_hdr);
	assert_int_equal(net_backend_start(be, &(struct net_frontend){ .receive = rec_receive, .opaque = &r }), 0);
	/* bring the interface up so the kernel passes frames */
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(sock >= 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	assert_int_equal(ioctl(sock, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(sock, SIOCSIFFLAGS, &ifr), 0);
	close(sock);
	/* guest -> host: a header plus a frame is accepted by the tap */
	uint8_t hdr[NET_VNET_HDR_LEN] = { 0 }, f[64];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { f, arp_request(f, "10.0.2.2") } };
	assert_int_equal(net_backend_send(be, 0, iov, 2), 0);
	assert_int_equal(be->tx_frames, 1);
	/* host -> guest: a frame sent out of the interface (packet socket) arrives after a 12-byte header */
	int ps = socket(AF_PACKET, SOCK_RAW, 0);
	assert_true(ps >= 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(name), .sll_halen = 6 };
	uint8_t out[60];
	memcpy(out, guest_mac, 6);
	memcpy(out + 6, (const uint8_t[]){ 0x02, 0, 0, 0, 0, 9 }, 6);
	out[12] = 0x88, out[13] = 0xb5; /* local experimental ethertype */
	for (int i = 14; i < 60; i++)
		out[i] = (uint8_t)i;
	memcpy(sll.sll_addr, guest_mac, 6);
	assert_int_equal(sendto(ps, out, sizeof(out), 0, (struct sockaddr *)&sll, sizeof(sll)), sizeof(out));
	close(ps);
	assert_true(wait_frames(&r, 1));
	assert_int_equal(r.last_len, NET_VNET_HDR_LEN + 60);
	assert_int_equal(r.last[0], 0); /* no partial checksum */
	assert_int_equal(r.last[1], 0); /* gso_type NONE: offloads are off until negotiated */
	assert_memory_equal(r.last + NET_VNET_HDR_LEN, out, 60);
	assert_int_equal(net_backend_set_offload(be, true, true, true), 0);
	assert_int_equal(net_backend_set_queues(be, 1), 0);
	assert_int_equal(net_backend_set_queues(be, 2), -EINVAL);
	net_backend_destroy(be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slirp_arp_and_backpressure),
		cmocka_unit_test(test_slirp_hostfwd_bad_address),
		cmocka_unit_test(test_tap_vnet_header_both_ways),
	};
	return cmocka_run_group_tests_name("net_backend", tests, NULL, NULL);
}
