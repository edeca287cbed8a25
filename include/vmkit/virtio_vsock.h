/* SPDX-License-Identifier: MIT */
/*
 * virtio_vsock: a virtio-vsock device (virtio 1.2 s5.10) whose host side is
 * UNIX sockets ("hybrid vsock"):
 *  - host -> guest: a host program connects to the UNIX socket PATH and
 *    writes "CONNECT <port>\n"; once the guest's listener on vsock port
 *    <port> accepts, it reads "OK <hostport>\n" and the connection carries
 *    the stream (the guest sees the peer as CID 2 port <hostport>). If the
 *    guest refuses, the UNIX connection is closed.
 *  - guest -> host: a guest connection to CID 2 port P is relayed to the
 *    UNIX socket "PATH_P", on which a host program listens; if nothing
 *    listens there, the guest's connect is refused (RST).
 * Host sockets are served by the device's own I/O thread (epoll), never on a
 * vCPU thread; queue kicks may come from any thread.
 */
#ifndef VMKIT_VIRTIO_VSOCK_H
#define VMKIT_VIRTIO_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "vmkit/virtio.h"

#define VIRTIO_VSOCK_HOST_CID 2
#define VIRTIO_VSOCK_HDR_SIZE 44
#define VIRTIO_VSOCK_BUF_ALLOC (256 * 1024) /* receive buffer advertised per connection */
#define VIRTIO_VSOCK_MAX_CONNS 128

/* Packet ops and fields (s5.10.6) */
#define VIRTIO_VSOCK_TYPE_STREAM 1
#define VIRTIO_VSOCK_OP_REQUEST 1
#define VIRTIO_VSOCK_OP_RESPONSE 2
#define VIRTIO_VSOCK_OP_RST 3
#define VIRTIO_VSOCK_OP_SHUTDOWN 4
#define VIRTIO_VSOCK_OP_RW 5
#define VIRTIO_VSOCK_OP_CREDIT_UPDATE 6
#define VIRTIO_VSOCK_OP_CREDIT_REQUEST 7
#define VIRTIO_VSOCK_SHUTDOWN_RCV 1
#define VIRTIO_VSOCK_SHUTDOWN_SEND 2

/* The packet header (little-endian, packed), decoded. */
struct virtio_vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

void virtio_vsock_hdr_decode(const uint8_t *b, struct virtio_vsock_hdr *h);
void virtio_vsock_hdr_encode(const struct virtio_vsock_hdr *h, uint8_t *b);

struct virtio_vsock_counters {
	uint64_t tx_packets;    /* guest -> device */
	uint64_t rx_packets;    /* device -> guest */
	uint64_t malformed;     /* short header, bad length, bad type */
	uint64_t bad_cid;       /* wrong src_cid/dst_cid: dropped */
	uint64_t rst_sent;
	uint64_t rst_dropped;   /* RSTs lost because too many were queued */
	uint64_t credit_violations;
	uint64_t conns_opened;  /* established, either direction */
	uint64_t conns_refused; /* guest connects nobody listens to; host CONNECTs the guest refused */
	unsigned int conns_open;
};

struct virtio_vsock;

/*
 * A device for guest CID cid (>= 3). path: the UNIX socket to listen on for
 * host-initiated connections and the prefix of guest-initiated ones; NULL or
 * "" for none. A stale socket file at path is replaced. NULL with one line in
 * err on failure. Owned by its transport afterwards (virtio_vsock_ops.destroy
 * stops the thread and removes the socket file).
 */
struct virtio_vsock *virtio_vsock_create(uint64_t cid, const char *path, char *err, size_t errlen);

/* Start the I/O thread. 0 or -errno. Without it, virtio_vsock_poll() drives the host side. */
int virtio_vsock_start(struct virtio_vsock *v);

/*
 * One round of host-socket I/O (what the I/O thread runs), waiting up to
 * timeout_ms for events. For tests and fuzzers that run without the thread.
 * Returns the number of events handled or -errno.
 */
int virtio_vsock_poll(struct virtio_vsock *v, int timeout_ms);

void virtio_vsock_get_counters(struct virtio_vsock *v, struct virtio_vsock_counters *out);

extern const struct virtio_device_ops virtio_vsock_ops;

#endif
