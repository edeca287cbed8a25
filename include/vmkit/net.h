/* SPDX-License-Identifier: MIT */
/*
 * net: Ethernet backends for virtio-net: libslirp user-mode networking
 * (net_slirp.c) and Linux tap devices (net_tap.c), behind one small
 * interface. A backend runs its own I/O thread; frames reach the frontend
 * through net_frontend.receive on that thread and leave through
 * net_backend_send() from any thread.
 *
 * Backends with vnet_hdr carry a 12-byte struct virtio_net_hdr (virtio 1.2
 * s5.1.6, VERSION_1 layout) in front of every frame, both ways, and can
 * take partial checksums and GSO; the others exchange bare frames whose
 * checksums are complete.
 */
#ifndef VMKIT_NET_H
#define VMKIT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define NET_MAX_QUEUES 7     /* queue pairs: 2*7 + ctrl fits VIRTIO_MAX_QUEUES */
#define NET_VNET_HDR_LEN 12  /* virtio_net_hdr with num_buffers (s5.1.6) */
#define NET_MAX_FRAME 65550  /* largest Ethernet frame (GSO) without the vnet header */
#define NET_MAX_HOSTFWD 8

/* The frontend's side, called on the backend's I/O thread. */
struct net_frontend {
	/*
	 * One frame for queue pair q (vnet header first if the backend has
	 * vnet_hdr). 0: taken (delivered, or dropped and counted by the
	 * frontend); -EAGAIN: no receive buffers now: the backend keeps the
	 * frame, stops reading for q and offers it again after
	 * net_backend_rx_resume(q).
	 */
	int (*receive)(void *opaque, unsigned int q, const uint8_t *frame, size_t len);
	void *opaque;
};

struct net_backend;

struct net_backend_ops {
	int (*start)(struct net_backend *be);
	int (*send)(struct net_backend *be, unsigned int q, const struct iovec *iov, int iovcnt);
	void (*rx_resume)(struct net_backend *be, unsigned int q);
	int (*set_offload)(struct net_backend *be, bool csum, bool tso4, bool tso6);
	int (*set_queues)(struct net_backend *be, unsigned int n);
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	const char *name;        /* "user" or "tap" */
	unsigned int nr_queues;  /* queue pairs the backend serves (1..NET_MAX_QUEUES) */
	bool vnet_hdr;           /* frames carry a virtio_net_hdr; offloads possible */
	struct net_frontend fe;
	/* counters */
	uint64_t tx_frames, rx_frames, tx_dropped, rx_dropped;
};

struct net_hostfwd {
	uint32_t host_addr; /* IPv4, network byte order; 127.0.0.1 by default */
	uint16_t host_port;
	uint32_t guest_addr; /* network byte order; 0 = the DHCP address 10.0.2.15 */
	uint16_t guest_port;
};

struct net_user_config {
	struct net_hostfwd fwd[NET_MAX_HOSTFWD];
	unsigned int nr_fwd;
};

/*
 * libslirp user networking: guest network 10.0.2.0/24, host 10.0.2.2, DNS
 * 10.0.2.3, DHCP from 10.0.2.15; TCP port forwards from the host. NULL with
 * one line in err. The I/O thread starts with net_backend_start().
 */
struct net_backend *net_slirp_open(const struct net_user_config *cfg, char *err, size_t errlen);

/*
 * Open (or create, as root) tap interface ifname with vnet headers and
 * `queues` queue pairs (IFF_MULTI_QUEUE when > 1). NULL with one line in err.
 */
struct net_backend *net_tap_open(const char *ifname, unsigned int queues, char *err, size_t errlen);

/* Attach the frontend and start the I/O thread. 0 or -errno. */
static inline int net_backend_start(struct net_backend *be, const struct net_frontend *fe)
{
	be->fe = *fe;
	return be->ops->start(be);
}

/* Send one frame (vnet header first if vnet_hdr) on queue pair q. Any thread. 0 or -errno (dropped, counted). */
static inline int net_backend_send(struct net_backend *be, unsigned int q, const struct iovec *iov, int iovcnt)
{
	return be->ops->send(be, q, iov, iovcnt);
}

/* The frontend has receive buffers again on q. Any thread, never blocks. */
static inline void net_backend_rx_resume(struct net_backend *be, unsigned int q)
{
	be->ops->rx_resume(be, q);
}

/* Which offloads the frontend's receiver accepts (tap: TUNSETOFFLOAD). 0 or -errno. */
static inline int net_backend_set_offload(struct net_backend *be, bool csum, bool tso4, bool tso6)
{
	return be->ops->set_offload ? be->ops->set_offload(be, csum, tso4, tso6) : 0;
}

/* Use queue pairs 0..n-1 only (tap: detach the others). 0 or -errno. */
static inline int net_backend_set_queues(struct net_backend *be, unsigned int n)
{
	return be->ops->set_queues ? be->ops->set_queues(be, n) : 0;
}

/* Stop the I/O thread and free everything. */
static inline void net_backend_destroy(struct net_backend *be)
{
	if (be)
		be->ops->destroy(be);
}

#endif
