/* SPDX-License-Identifier: MIT */
/*
 * virtio_net: a virtio 1.2 network device (s5.1) on a net backend
 * (include/vmkit/net.h): receive/transmit queue pairs, a control queue
 * (multiqueue, receive modes), mergeable receive buffers, and the checksum
 * and TSO offloads the backend can honour (tap: all; slirp: none).
 */
#ifndef VMKIT_VIRTIO_NET_H
#define VMKIT_VIRTIO_NET_H

#include "vmkit/net.h"
#include "vmkit/virtio.h"

/* Feature bits (s5.1.3) */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_MQ 22

/* struct virtio_net_hdr (s5.1.6) */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80

/* Control queue (s5.1.6.5) */
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

#define VIRTIO_NET_RX_BUFS_MAX 64 /* receive buffers one packet may span */

struct virtio_net;

struct virtio_net_stats {
	uint64_t tx_packets, tx_bytes, tx_errors;   /* errors: malformed headers/frames, backend refusals */
	uint64_t rx_packets, rx_bytes, rx_dropped;  /* dropped: frames no buffer set could hold */
	uint64_t rx_stalls;                         /* times the guest had no receive buffers */
	uint64_t ctrl_errors;                       /* control commands answered VIRTIO_NET_ERR */
};

/*
 * A virtio-net device on backend be (taken over: destroyed with the device)
 * with MAC address mac. Starts the backend's I/O thread. NULL with errno set.
 */
struct virtio_net *virtio_net_create(struct net_backend *be, const uint8_t mac[6]);

/* Per-instance ops (the queue count depends on the backend's queue pairs). */
const struct virtio_device_ops *virtio_net_ops(struct virtio_net *n);

/* Frames from the backend; matches net_frontend.receive (backend I/O thread). */
int virtio_net_receive(void *opaque, unsigned int q, const uint8_t *frame, size_t len);

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *st);

#endif
