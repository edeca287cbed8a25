// SPDX-License-Identifier: MIT
/*
 * virtio-net (virtio 1.2 s5.1). Queues: receiveq(i) = 2i, transmitq(i) =
 * 2i+1 for each queue pair, then the control queue (index 2 without MQ,
 * 2*max_virtqueue_pairs with it, s5.1.2).
 *
 * Every buffer starts with the 12-byte struct virtio_net_hdr (VERSION_1
 * layout, s5.1.6). Transmit headers are copied out of guest memory once and
 * checked before use: flags, gso_type against what was negotiated, and
 * csum_start/csum_offset/hdr_len inside the frame; frames larger than
 * NET_MAX_FRAME, shorter than an Ethernet header, or with a bad header fail
 * alone (returned to the driver, counted) and never reach the backend.
 *
 * Receive runs on the backend's I/O thread: a frame takes one buffer, or as
 * many as it needs with VIRTIO_NET_F_MRG_RXBUF (num_buffers, s5.1.6.4), all
 * returned to the driver together. When the driver has posted too few
 * buffers the frame is refused with -EAGAIN: the backend stops reading until
 * the driver kicks the receive queue (its kick is the resume signal), so
 * frames wait in the backend instead of being dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/virtio_net.h"

#define VIRTIO_ID_NET 1
#define QUEUE_SIZE 256
#define CONFIG_SIZE 10 /* mac[6], status, max_virtqueue_pairs */
#define VIRTIO_NET_S_LINK_UP 1
#define ETH_HLEN 14
#define HDR NET_VNET_HDR_LEN

struct rxq {
	pthread_mutex_t lock;
	struct virtq_elem *bufs[VIRTIO_NET_RX_BUFS_MAX]; /* popped, not yet filled */
	unsigned int nbufs;
};

struct txq {
	pthread_mutex_t lock;
	struct virtq_elem elem;
	struct iovec iov[VIRTQ_MAX_SEGS + 1];
};

struct virtio_net {
	struct virtio_device_ops ops; /* per instance: nr_queues follows the backend */
	struct net_backend *be;
	uint8_t mac[6];
	unsigned int max_pairs;
	unsigned int curr_pairs; /* atomic; set by VQ_PAIRS_SET */
	struct virtio_dev *vdev; /* non-NULL while the driver is up; under every rxq lock */
	uint64_t features;       /* negotiated, cached at activate */
	struct rxq rx[NET_MAX_QUEUES];
	struct txq tx[NET_MAX_QUEUES];
	pthread_mutex_t ctrl_lock;
	struct virtq_elem ctrl;
	struct virtio_net_stats st; /* updated with atomic adds */
};

#define STAT_ADD(n, field, v) __atomic_add_fetch(&(n)->st.field, (v), __ATOMIC_RELAXED)

static bool has(const struct virtio_net *n, unsigned int bit)
{
	return (n->features >> bit) & 1;
}

static unsigned int ctrl_queue(const struct virtio_net *n)
{
	return has(n, VIRTIO_NET_F_MQ) ? 2 * n->max_pairs : 2;
}

static void net_config_read(void *impl, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_net *n = impl;
	uint8_t cfg[CONFIG_SIZE];

	memcpy(cfg, n->mac, 6);
	put_le16(cfg + 6, VIRTIO_NET_S_LINK_UP);
	put_le16(cfg + 8, (uint16_t)n->max_pairs);
	if (off < CONFIG_SIZE && size <= CONFIG_SIZE - off)
		memcpy(data, cfg + off, size);
}

static uint64_t net_features(void *impl)
{
	struct virtio_net *n = impl;
	uint64_t f = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
		     (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX);

	/* Offloads only where the backend takes partial checksums and GSO frames (tap). */
	if (n->be->vnet_hdr)
		f |= (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
		     (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
		     (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6);
	if (n->max_pairs > 1)
		f |= 1ULL << VIRTIO_NET_F_MQ;
	return f;
}

static void lock_rx_all(struct virtio_net *n)
{
	for (unsigned int i = 0; i < n->max_pairs; i++)
		pthread_mutex_lock(&n->rx[i].lock);
}

static void unlock_rx_all(struct virtio_net *n)
{
	for (unsigned int i = n->max_pairs; i-- > 0;)
		pthread_mutex_unlock(&n->rx[i].lock);
}

/*
 * Every queue lock, so device state changes wait for in-flight work. Lock
 * order: tx, ctrl, then the backend's own lock (a transmit may call into the
 * backend, and slirp's send can deliver a reply at once), then rx (the
 * backend's thread delivers frames with its lock held). Taking rx before tx
 * here could deadlock against a transmit waiting for the backend.
 */
static void lock_all(struct virtio_net *n)
{
	for (unsigned int i = 0; i < n->max_pairs; i++)
		pthread_mutex_lock(&n->tx[i].lock);
	pthread_mutex_lock(&n->ctrl_lock);
	lock_rx_all(n);
}

static void unlock_all(struct virtio_net *n)
{
	unlock_rx_all(n);
	pthread_mutex_unlock(&n->ctrl_lock);
	for (unsigned int i = n->max_pairs; i-- > 0;)
		pthread_mutex_unlock(&n->tx[i].lock);
}

static void resume_all(struct virtio_net *n)
{
	for (unsigned int i = 0; i < n->max_pairs; i++)
		net_backend_rx_resume(n->be, i);
}

static int net_activate(void *impl, struct virtio_dev *vdev)
{
	struct virtio_net *n = impl;
	uint64_t f = vdev->driver_features;
	int r;

	/* The receiver (the driver) decides which offloads the backend may hand us. */
	r = net_backend_set_offload(n->be, (f >> VIRTIO_NET_F_GUEST_CSUM) & 1, (f >> VIRTIO_NET_F_GUEST_TSO4) & 1,
				    (f >> VIRTIO_NET_F_GUEST_TSO6) & 1);
	if (!r)
		r = net_backend_set_queues(n->be, 1);
	if (r) {
		log_warn("virtio-net: backend %s refused the negotiated setup: %s", n->be->name, strerror(-r));
		return r;
	}
	lock_all(n);
	n->features = f;
	__atomic_store_n(&n->curr_pairs, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < n->max_pairs; i++)
		n->rx[i].nbufs = 0;
	n->vdev = vdev;
	unlock_all(n);
	resume_all(n);
	return 0;
}

static void net_reset(void *impl)
{
	struct virtio_net *n = impl;

	/* Called under vdev->lock; waits for in-flight receive/transmit work to finish. */
	lock_all(n);
	n->vdev = NULL;
	n->features = 0;
	for (unsigned int i = 0; i < n->max_pairs; i++)
		n->rx[i].nbufs = 0; /* popped buffers belong to the old rings */
	unlock_all(n);
}

/* --- receive --------------------------------------------------------------- */

/* Copy stream bytes [pos, pos+len) of (hdr ++ payload) into buffer e at offset 0. */
static void fill_buffer(struct virtq_elem *e, const uint8_t *hdr, const uint8_t *payload, size_t pos, size_t len)
{
	size_t off = 0;

	if (pos < HDR) {
		size_t h = MIN((size_t)HDR - pos, len);
		virtq_elem_write(e, 0, hdr + pos, h);
		off = h;
		pos += h;
		len -= h;
	}
	if (len)
		virtq_elem_write(e, off, payload + (pos - HDR), len);
}

/* Drop the first k stashed buffers (now used), keeping the element storage. */
static void stash_consume(struct rxq *rq, unsigned int k)
{
	struct virtq_elem *tmp[VIRTIO_NET_RX_BUFS_MAX];

	memcpy(tmp, rq->bufs, k * sizeof(tmp[0]));
	memmove(rq->bufs, rq->bufs + k, (VIRTIO_NET_RX_BUFS_MAX - k) * sizeof(tmp[0]));
	memcpy(rq->bufs + VIRTIO_NET_RX_BUFS_MAX - k, tmp, k * sizeof(tmp[0]));
	rq->nbufs -= k;
}

int virtio_net_receive(void *opaque, unsigned int q, const uint8_t *frame, size_t len)
{
	struct virtio_net *n = opaque;
	struct rxq *rq;
	struct virtio_dev *vdev;
	struct virtq *vq;
	uint8_t hdr[HDR] = { 0 };
	const uint8_t *payload = frame;
	size_t plen = len, need, have = 0, pos;
	uint32_t written[VIRTIO_NET_RX_BUFS_MAX];
	unsigned int k, max_bufs;
	bool broken = false;

	if (q >= n->max_pairs)
		return 0;
	rq = &n->rx[q];
	pthread_mutex_lock(&rq->lock);
	vdev = n->vdev;
	if (!vdev || q >= __atomic_load_n(&n->curr_pairs, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&rq->lock);
		return -EAGAIN; /* driver not up (or pair unused): resumed by activate/VQ_PAIRS_SET */
	}
	vq = &vdev->vq[2 * q];
	if (n->be->vnet_hdr) {
		if (len < HDR)
			goto drop;
		memcpy(hdr, frame, HDR);
		payload = frame + HDR;
		plen = len - HDR;
		/* s5.1.6.3.1: without GUEST_CSUM flags are zero; no GSO the driver did not accept. */
		if (!has(n, VIRTIO_NET_F_GUEST_CSUM)) {
			if (hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM)
				goto drop;
			hdr[0] = 0;
		}
		switch (hdr[1] & ~VIRTIO_NET_HDR_GSO_ECN) {
		case VIRTIO_NET_HDR_GSO_NONE:
			break;
		case VIRTIO_NET_HDR_GSO_TCPV4:
			if (!has(n, VIRTIO_NET_F_GUEST_TSO4))
				goto drop;
			break;
		case VIRTIO_NET_HDR_GSO_TCPV6:
			if (!has(n, VIRTIO_NET_F_GUEST_TSO6))
				goto drop;
			break;
		default:
			goto drop;
		}
		if ((hdr[1] & VIRTIO_NET_HDR_GSO_ECN) && !has(n, VIRTIO_NET_F_GUEST_ECN))
			goto drop;
	}
	if (plen < ETH_HLEN || plen > NET_MAX_FRAME)
		goto drop;
	need = HDR + plen;

	max_bufs = has(n, VIRTIO_NET_F_MRG_RXBUF) ? VIRTIO_NET_RX_BUFS_MAX : 1;
	for (k = 0; k < rq->nbufs && have < need; k++)
		have += rq->bufs[k]->in_len;
	while (have < need && rq->nbufs < max_bufs) {
		struct virtq_elem *e = rq->bufs[rq->nbufs];
		int r = virtq_pop(vq, e);

		if (r < 0) {
			broken = true;
			goto drop;
		}
		if (r == 0) {
			STAT_ADD(n, rx_stalls, 1);
			pthread_mutex_unlock(&rq->lock);
			return -EAGAIN; /* the driver's next kick on this queue resumes us */
		}
		if (e->in_len < HDR) {
			/* s5.1.6.3: a receive buffer must hold at least the header: hand it back unused. */
			virtq_push(vq, e, 0);
			vdev->errors++;
			continue;
		}
		rq->nbufs++;
		k++;
		have += e->in_len;
	}
	if (have < need)
		goto drop; /* the driver's buffers can never hold this frame; they stay for the next */

	/* s5.1.6.4: num_buffers tells the driver how many buffers this packet spans. */
	put_le16(hdr + 10, (uint16_t)k);
	for (unsigned int i = 0, done = 0; i < k; i++) {
		size_t chunk = MIN((size_t)rq->bufs[i]->in_len, need - done);

		pos = done;
		fill_buffer(rq->bufs[i], hdr, payload, pos, chunk);
		written[i] = (uint32_t)chunk;
		done += (unsigned int)chunk;
	}
	virtq_push_many(vq, rq->bufs, written, k);
	stash_consume(rq, k);
	STAT_ADD(n, rx_packets, 1);
	STAT_ADD(n, rx_bytes, plen);
	pthread_mutex_unlock(&rq->lock);
	virtio_dev_notify_queue(vdev, 2 * q);
	return 0;

drop:
	STAT_ADD(n, rx_dropped, 1);
	pthread_mutex_unlock(&rq->lock);
	if (broken)
		virtio_dev_needs_reset(vdev);
	log_ratelimited(LOG_DEBUG, "virtio-net: dropped a received frame of %zu bytes", len);
	return 0;
}

/* --- transmit -------------------------------------------------------------- */

/* Check a transmit header against the negotiated features (s5.1.6.2.1). */
static bool tx_hdr_ok(const struct virtio_net *n, const uint8_t *hdr, size_t flen)
{
	uint8_t flags = hdr[0], gso = hdr[1];
	uint16_t hdr_len = get_le16(hdr + 2), gso_size = get_le16(hdr + 4);
	uint16_t csum_start = get_le16(hdr + 6), csum_offset = get_le16(hdr + 8);

	if (flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false; /* DATA_VALID / RSC_INFO are device-to-driver only */
	if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!has(n, VIRTIO_NET_F_CSUM))
			return false;
		if ((size_t)csum_start + csum_offset + 2 > flen)
			return false;
	}
	if (gso & VIRTIO_NET_HDR_GSO_ECN)
		return false; /* HOST_ECN is never offered */
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!has(n, VIRTIO_NET_F_HOST_TSO4))
			return false;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!has(n, VIRTIO_NET_F_HOST_TSO6))
			return false;
		break;
	default:
		return false; /* UFO is never offered */
	}
	/* GSO needs a partial checksum to fill in per segment, a segment size and headers inside the frame. */
	return (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && gso_size && hdr_len <= flen;
}

/* One transmit buffer: header + frame. Returns true if the frame went to the backend. */
static bool tx_one(struct virtio_net *n, unsigned int p, struct virtq_elem *e)
{
	struct txq *tq = &n->tx[p];
	uint8_t hdr[HDR];
	size_t flen, skip = HDR;
	int cnt = 0;

	if (e->out_len < HDR + ETH_HLEN || e->out_len - HDR > NET_MAX_FRAME)
		return false;
	flen = e->out_len - HDR;
	if (virtq_elem_read(e, 0, hdr, HDR) != HDR || !tx_hdr_ok(n, hdr, flen))
		return false;
	if (n->be->vnet_hdr) {
		put_le16(hdr + 10, 0); /* num_buffers means nothing on transmit */
		tq->iov[cnt++] = (struct iovec){ .iov_base = hdr, .iov_len = HDR };
	}
	for (unsigned int i = 0; i < e->out_num; i++) {
		size_t l = e->iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		tq->iov[cnt++] = (struct iovec){ .iov_base = (uint8_t *)e->iov[i].iov_base + skip, .iov_len = l - skip };
		skip = 0;
	}
	if (net_backend_send(n->be, p, tq->iov, cnt) < 0)
		return false;
	STAT_ADD(n, tx_packets, 1);
	STAT_ADD(n, tx_bytes, flen);
	return true;
}

static void tx_queue(struct virtio_net *n, struct virtio_dev *vdev, unsigned int p)
{
	struct txq *tq = &n->tx[p];
	struct virtq *vq;
	int r;

	pthread_mutex_lock(&tq->lock);
	if (!n->vdev) {
		pthread_mutex_unlock(&tq->lock);
		return;
	}
	vq = &vdev->vq[2 * p + 1];
	while ((r = virtq_pop(vq, &tq->elem)) > 0) {
		if (!tx_one(n, p, &tq->elem)) {
			STAT_ADD(n, tx_errors, 1);
			log_ratelimited(LOG_DEBUG, "virtio-net: transmit of %llu bytes failed",
					(unsigned long long)tq->elem.out_len);
		}
		virtq_push(vq, &tq->elem, 0);
	}
	pthread_mutex_unlock(&tq->lock);
	if (r < 0)
		virtio_dev_needs_reset(vdev);
	virtio_dev_notify_queue(vdev, 2 * p + 1);
}

/* --- control queue (s5.1.6.5) ---------------------------------------------- */

static uint8_t ctrl_cmd(struct virtio_net *n, const struct virtq_elem *e)
{
	uint8_t cls_cmd[2], data[2];
	uint64_t dlen;

	if (e->out_len < 2 || e->in_len < 1 || virtq_elem_read(e, 0, cls_cmd, 2) != 2)
		return VIRTIO_NET_ERR;
	dlen = e->out_len - 2;
	switch (cls_cmd[0]) {
	case VIRTIO_NET_CTRL_RX:
		/* PROMISC..NOBCAST (s5.1.6.5.1): accepted; every frame is delivered anyway. */
		if (has(n, VIRTIO_NET_F_CTRL_RX) && cls_cmd[1] <= 5 && dlen >= 1)
			return VIRTIO_NET_OK;
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MAC:
		/* MAC_TABLE_SET: filtering is optional for the device (s5.1.6.5.2); accepted. */
		if (has(n, VIRTIO_NET_F_CTRL_RX) && cls_cmd[1] == 0 && dlen >= 8)
			return VIRTIO_NET_OK;
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MQ:
		if (has(n, VIRTIO_NET_F_MQ) && cls_cmd[1] == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET && dlen >= 2 &&
		    virtq_elem_read(e, 2, data, 2) == 2) {
			uint16_t pairs = get_le16(data);

			/* s5.1.6.5.5: 1..max_virtqueue_pairs */
			if (pairs < 1 || pairs > n->max_pairs || net_backend_set_queues(n->be, pairs) < 0)
				return VIRTIO_NET_ERR;
			__atomic_store_n(&n->curr_pairs, pairs, __ATOMIC_RELEASE);
			resume_all(n);
			return VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	default:
		return VIRTIO_NET_ERR;
	}
}

static void ctrl_queue_serve(struct virtio_net *n, struct virtio_dev *vdev, unsigned int q)
{
	struct virtq *vq = &vdev->vq[q];
	int r;

	pthread_mutex_lock(&n->ctrl_lock);
	if (!n->vdev) {
		pthread_mutex_unlock(&n->ctrl_lock);
		return;
	}
	while ((r = virtq_pop(vq, &n->ctrl)) > 0) {
		uint8_t ack = ctrl_cmd(n, &n->ctrl);

		if (ack != VIRTIO_NET_OK)
			STAT_ADD(n, ctrl_errors, 1);
		virtq_push(vq, &n->ctrl, (uint32_t)virtq_elem_write(&n->ctrl, 0, &ack, 1));
	}
	pthread_mutex_unlock(&n->ctrl_lock);
	if (r < 0)
		virtio_dev_needs_reset(vdev);
	virtio_dev_notify_queue(vdev, q);
}

static void net_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_net *n = impl;

	if (q == ctrl_queue(n))
		ctrl_queue_serve(n, vdev, q);
	else if (q >= 2 * n->max_pairs)
		return;
	else if (q % 2 == 0)
		net_backend_rx_resume(n->be, q / 2); /* new receive buffers */
	else
		tx_queue(n, vdev, q / 2);
}

static void net_destroy(void *impl)
{
	struct virtio_net *n = impl;
	struct virtio_net_stats st;

	virtio_net_get_stats(n, &st);
	if (n->be)
		log_debug("virtio-net on %s: tx %llu packets %llu bytes %llu errors; rx %llu packets %llu bytes "
			  "%llu dropped %llu stalls; backend dropped tx %llu rx %llu",
			  n->be->name, (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
			  (unsigned long long)st.tx_errors, (unsigned long long)st.rx_packets,
			  (unsigned long long)st.rx_bytes, (unsigned long long)st.rx_dropped,
			  (unsigned long long)st.rx_stalls, (unsigned long long)n->be->tx_dropped,
			  (unsigned long long)n->be->rx_dropped);
	net_backend_destroy(n->be); /* stops the I/O thread first */
	for (unsigned int i = 0; i < NET_MAX_QUEUES; i++) {
		for (unsigned int b = 0; b < VIRTIO_NET_RX_BUFS_MAX; b++)
			free(n->rx[i].bufs[b]);
		pthread_mutex_destroy(&n->rx[i].lock);
		pthread_mutex_destroy(&n->tx[i].lock);
	}
	pthread_mutex_destroy(&n->ctrl_lock);
	free(n);
}

struct virtio_net *virtio_net_create(struct net_backend *be, const uint8_t mac[6])
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	struct net_frontend fe;
	int r;

	if (!n)
		return NULL;
	n->be = be;
	memcpy(n->mac, mac, 6);
	n->max_pairs = be->nr_queues < 1 ? 1 : MIN(be->nr_queues, (unsigned int)NET_MAX_QUEUES);
	n->curr_pairs = 1;
	pthread_mutex_init(&n->ctrl_lock, NULL);
	for (unsigned int i = 0; i < NET_MAX_QUEUES; i++) {
		pthread_mutex_init(&n->rx[i].lock, NULL);
		pthread_mutex_init(&n->tx[i].lock, NULL);
	}
	for (unsigned int i = 0; i < n->max_pairs; i++) {
		for (unsigned int b = 0; b < VIRTIO_NET_RX_BUFS_MAX; b++) {
			n->rx[i].bufs[b] = malloc(sizeof(struct virtq_elem));
			if (!n->rx[i].bufs[b])
				goto fail;
		}
	}
	n->ops = (struct virtio_device_ops){
		.name = "virtio-net",
		.device_id = VIRTIO_ID_NET,
		.nr_queues = 2 * n->max_pairs + 1,
		.max_queue_size = QUEUE_SIZE,
		.config_size = CONFIG_SIZE,
		.config_read = net_config_read,
		.features = net_features,
		.activate = net_activate,
		.queue_notify = net_queue_notify,
		.reset = net_reset,
		.destroy = net_destroy,
	};
	fe = (struct net_frontend){ .receive = virtio_net_receive, .opaque = n };
	r = net_backend_start(be, &fe);
	if (r) {
		errno = -r;
		goto fail;
	}
	return n;
fail:
	net_destroy(n);
	return NULL;
}

const struct virtio_device_ops *virtio_net_ops(struct virtio_net *n)
{
	return &n->ops;
}

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *st)
{
	*st = (struct virtio_net_stats){
		.tx_packets = __atomic_load_n(&n->st.tx_packets, __ATOMIC_RELAXED),
		.tx_bytes = __atomic_load_n(&n->st.tx_bytes, __ATOMIC_RELAXED),
		.tx_errors = __atomic_load_n(&n->st.tx_errors, __ATOMIC_RELAXED),
		.rx_packets = __atomic_load_n(&n->st.rx_packets, __ATOMIC_RELAXED),
		.rx_bytes = __atomic_load_n(&n->st.rx_bytes, __ATOMIC_RELAXED),
		.rx_dropped = __atomic_load_n(&n->st.rx_dropped, __ATOMIC_RELAXED),
		.rx_stalls = __atomic_load_n(&n->st.rx_stalls, __ATOMIC_RELAXED),
		.ctrl_errors = __atomic_load_n(&n->st.ctrl_errors, __ATOMIC_RELAXED),
	};
}
