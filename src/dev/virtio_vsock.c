// SPDX-License-Identifier: MIT
/*
 * virtio-vsock (virtio 1.2 s5.10), stream sockets, host side on UNIX
 * sockets (see include/vmkit/virtio_vsock.h for the conventions).
 *
 * Queues: 0 rx (device -> guest), 1 tx (guest -> device), 2 event (unused:
 * the device never migrates, so it never sends TRANSPORT_RESET).
 *
 * Connections are keyed by (guest port, host port). Flow control is the
 * credit scheme of s5.10.6.3 both ways:
 *  - guest -> host: we advertise buf_alloc = VIRTIO_VSOCK_BUF_ALLOC and
 *    fwd_cnt = bytes written to the host socket. Payload the host socket
 *    cannot take yet waits in a per-connection ring of that size; a guest that
 *    sends beyond it breaks the protocol and its connection is reset.
 *  - host -> guest: we read from the host socket only as much as the guest's
 *    buf_alloc - (tx_cnt - fwd_cnt) allows, straight into its rx buffer; with
 *    no credit left we send CREDIT_REQUEST and stop reading.
 * Packets for the guest (replies, data) go out by rx_pump() whenever there is
 * something to send and an rx buffer to put it in. Host sockets are
 * non-blocking and registered edge-triggered: "readable" is remembered per
 * connection until a read returns EAGAIN.
 *
 * Every header field from the guest is checked: src_cid must be the guest's
 * CID and dst_cid the host's (else dropped), len must fit the buffer and
 * 64 KiB, type must be STREAM, and an unknown op or a packet for no
 * connection is answered with RST. One mutex guards everything; queue_notify
 * may come from a vCPU or an I/O thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/virtio_vsock.h"

#define VIRTIO_ID_VSOCK 19
#define RX_Q 0
#define TX_Q 1
#define EVENT_Q 2
#define QUEUE_SIZE 128
#define CONFIG_SIZE 8 /* le64 guest_cid */
#define MAX_PAYLOAD (64 * 1024) /* Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */
#define MAX_ORPHAN_RST 64
#define HANDSHAKE_MAX 32
#define FIRST_HOST_PORT 1024 /* host ports for host-initiated connections */
#define EV_LISTEN VIRTIO_VSOCK_MAX_CONNS
#define EV_WAKE (VIRTIO_VSOCK_MAX_CONNS + 1)

enum conn_state {
	C_FREE,
	C_HANDSHAKE,   /* host connected to PATH, reading "CONNECT <port>\n" */
	C_CONNECTING,  /* REQUEST to the guest queued or sent, awaiting RESPONSE */
	C_ESTABLISHED,
	C_CLOSING,     /* guest side gone: RST to send and/or ring to drain, then free */
};

/* Control packets waiting for an rx buffer */
#define P_REQUEST 1u
#define P_RESPONSE 2u
#define P_CREDIT_UPDATE 4u
#define P_CREDIT_REQUEST 8u
#define P_SHUTDOWN 16u
#define P_RST 32u

struct conn {
	enum conn_state st;
	uint32_t gen;
	int fd;
	uint32_t guest_port, host_port;
	unsigned int pend;
	uint32_t shut_flags; /* flags of the SHUTDOWN to send */
	char line[HANDSHAKE_MAX];
	unsigned int line_len;
	/* guest -> host */
	uint8_t *ring;
	uint32_t ring_head, ring_len;
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_sent;
	bool guest_shut_send, guest_shut_rcv, wr_shut;
	/* host -> guest */
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
	bool readable, host_eof, host_hup, credit_requested;
	bool counted; /* in cnt.conns_open */
};

struct orphan_rst {
	uint32_t guest_port, host_port;
};

struct virtio_vsock {
	pthread_mutex_t lock;
	uint64_t cid;
	char path[108];
	int listen_fd, epfd, wake_fd;
	pthread_t thread;
	bool thread_started;
	bool stop;
	struct virtio_dev *vdev; /* while the driver is up */
	struct conn conns[VIRTIO_VSOCK_MAX_CONNS];
	unsigned int rr; /* round-robin start for rx data */
	struct orphan_rst rst[MAX_ORPHAN_RST];
	unsigned int nr_rst;
	uint32_t next_port;
	struct virtq_elem rx, tx;
	bool rx_held; /* rx holds a popped, unused buffer */
	struct iovec piov[VIRTQ_MAX_SEGS];
	struct virtio_vsock_counters cnt;
};

void virtio_vsock_hdr_decode(const uint8_t *b, struct virtio_vsock_hdr *h)
{
	h->src_cid = get_le64(b);
	h->dst_cid = get_le64(b + 8);
	h->src_port = get_le32(b + 16);
	h->dst_port = get_le32(b + 20);
	h->len = get_le32(b + 24);
	h->type = get_le16(b + 28);
	h->op = get_le16(b + 30);
	h->flags = get_le32(b + 32);
	h->buf_alloc = get_le32(b + 36);
	h->fwd_cnt = get_le32(b + 40);
}

void virtio_vsock_hdr_encode(const struct virtio_vsock_hdr *h, uint8_t *b)
{
	put_le64(b, h->src_cid);
	put_le64(b + 8, h->dst_cid);
	put_le32(b + 16, h->src_port);
	put_le32(b + 20, h->dst_port);
	put_le32(b + 24, h->len);
	put_le16(b + 28, h->type);
	put_le16(b + 30, h->op);
	put_le32(b + 32, h->flags);
	put_le32(b + 36, h->buf_alloc);
	put_le32(b + 40, h->fwd_cnt);
}

/* ---- connections ---- */

static struct conn *conn_find(struct virtio_vsock *v, uint32_t guest_port, uint32_t host_port)
{
	for (unsigned int i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++) {
		struct conn *c = &v->conns[i];
		/* A connection draining to the host after its RST went out is gone for the guest. */
		if (c->st == C_FREE || c->st == C_HANDSHAKE || (c->st == C_CLOSING && !(c->pend & P_RST)))
			continue;
		if (c->guest_port == guest_port && c->host_port == host_port)
			return c;
	}
	return NULL;
}

static struct conn *conn_alloc(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++) {
		struct conn *c = &v->conns[i];
		if (c->st == C_FREE) {
			uint32_t gen = c->gen + 1;
			memset(c, 0, sizeof(*c));
			c->gen = gen;
			c->fd = -1;
			return c;
		}
	}
	return NULL;
}

static int conn_watch(struct virtio_vsock *v, struct conn *c)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - v->conns),
	};
	return epoll_ctl(v->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

static void conn_close_fd(struct virtio_vsock *v, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static void conn_free(struct virtio_vsock *v, struct conn *c)
{
	if (c->counted)
		v->cnt.conns_open--;
	c->counted = false;
	conn_close_fd(v, c);
	free(c->ring);
	c->ring = NULL;
	c->st = C_FREE;
	c->gen++;
}

/* Tear the connection down from our side: RST to the guest, host socket closed. */
static void conn_reset(struct virtio_vsock *v, struct conn *c)
{
	bool guest_knows = c->st == C_ESTABLISHED || (c->st == C_CLOSING && (c->pend & P_RST)) ||
			   (c->st == C_CONNECTING && !(c->pend & P_REQUEST));

	conn_close_fd(v, c);
	c->ring_len = 0;
	if (!v->vdev || !guest_knows) {
		conn_free(v, c);
		return;
	}
	c->st = C_CLOSING;
	c->pend = P_RST;
}

static void conn_established(struct virtio_vsock *v, struct conn *c)
{
	c->st = C_ESTABLISHED;
	c->counted = true;
	v->cnt.conns_opened++;
	v->cnt.conns_open++;
}

/* An RST for a packet that matched no connection. */
static void queue_orphan_rst(struct virtio_vsock *v, uint32_t guest_port, uint32_t host_port)
{
	if (v->nr_rst >= MAX_ORPHAN_RST) {
		v->cnt.rst_dropped++;
		return;
	}
	v->rst[v->nr_rst++] = (struct orphan_rst){ guest_port, host_port };
}

/* Bytes we may still send to the guest on c (s5.10.6.3). */
static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Write as much of the ring as the host socket takes. */
static void conn_flush(struct virtio_vsock *v, struct conn *c)
{
	while (c->fd >= 0 && c->ring_len) {
		uint32_t first = MIN(c->ring_len, (uint32_t)VIRTIO_VSOCK_BUF_ALLOC - c->ring_head);
		struct iovec iov[2] = {
			{ c->ring + c->ring_head, first },
			{ c->ring, c->ring_len - first },
		};
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = iov[1].iov_len ? 2 : 1 };
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* EPOLLOUT (edge) calls us again */
		if (n <= 0) {
			/* The host side is gone. */
			if (c->st == C_CLOSING && !(c->pend & P_RST))
				conn_free(v, c);
			else
				conn_reset(v, c);
			return;
		}
		c->ring_head = (uint32_t)((c->ring_head + (uint32_t)n) % VIRTIO_VSOCK_BUF_ALLOC);
		c->ring_len -= (uint32_t)n;
		if (c->st == C_ESTABLISHED)
			c->fwd_cnt += (uint32_t)n;
	}
	if (c->st == C_ESTABLISHED && c->fwd_cnt - c->fwd_cnt_sent >= VIRTIO_VSOCK_BUF_ALLOC / 4)
		c->pend |= P_CREDIT_UPDATE;
	if (c->ring_len == 0 && c->guest_shut_send && !c->wr_shut && c->fd >= 0) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	if (c->st == C_CLOSING && !(c->pend & P_RST) && c->ring_len == 0)
		conn_free(v, c);
}

/* ---- device -> guest ---- */

/* The header of a packet from the host side of c. */
static void fill_hdr(struct virtio_vsock *v, const struct conn *c, uint16_t op, uint32_t len, uint32_t flags,
		     uint8_t *b)
{
	struct virtio_vsock_hdr h = {
		.src_cid = VIRTIO_VSOCK_HOST_CID,
		.dst_cid = v->cid,
		.src_port = c->host_port,
		.dst_port = c->guest_port,
		.len = len,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = VIRTIO_VSOCK_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};
	virtio_vsock_hdr_encode(&h, b);
}

/* The rx buffer's writable space after the header as iovecs, at most max bytes. */
static int payload_iov(struct virtio_vsock *v, size_t max)
{
	const struct virtq_elem *e = &v->rx;
	size_t skip = VIRTIO_VSOCK_HDR_SIZE;
	int n = 0;

	for (unsigned int i = e->out_num; i < e->out_num + e->in_num && max; i++) {
		uint8_t *base = e->iov[i].iov_base;
		size_t len = e->iov[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		base += skip;
		len -= skip;
		skip = 0;
		len = MIN(len, max);
		v->piov[n].iov_base = base;
		v->piov[n].iov_len = len;
		n++;
		max -= len;
	}
	return n;
}

/* Pick a control packet for c (lock held); 0 if none. */
static uint16_t next_control(struct conn *c, uint32_t *flags)
{
	static const struct {
		unsigned int bit;
		uint16_t op;
	} order[] = {
		{ P_RST, VIRTIO_VSOCK_OP_RST },
		{ P_REQUEST, VIRTIO_VSOCK_OP_REQUEST },
		{ P_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE },
		{ P_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_UPDATE },
		{ P_CREDIT_REQUEST, VIRTIO_VSOCK_OP_CREDIT_REQUEST },
		{ P_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(order); i++) {
		if (c->pend & order[i].bit) {
			c->pend &= ~order[i].bit;
			*flags = order[i].bit == P_SHUTDOWN ? c->shut_flags : 0;
			return order[i].op;
		}
	}
	return 0;
}

static bool wants_data(const struct conn *c)
{
	return c->st == C_ESTABLISHED && c->readable && !c->host_eof && !c->guest_shut_rcv && c->fd >= 0;
}

/* c has data to send but the guest gave no credit: ask once for more (s5.10.6.3). */
static bool out_of_credit(struct conn *c)
{
	if (peer_credit(c))
		return false;
	if (!c->credit_requested) {
		c->credit_requested = true;
		c->pend |= P_CREDIT_REQUEST;
	}
	return true;
}

/*
 * Host socket data for c (which has credit) into the held rx buffer. true
 * if the buffer was used (pushed). Every call makes progress: data sent, or
 * c stops being readable, or c is reset.
 */
static bool send_data(struct virtio_vsock *v, struct conn *c)
{
	uint32_t credit = peer_credit(c);
	uint8_t hdr[VIRTIO_VSOCK_HDR_SIZE];
	size_t room;
	ssize_t n;
	int niov;

	room = v->rx.in_len - VIRTIO_VSOCK_HDR_SIZE;
	niov = payload_iov(v, MIN(MIN((size_t)credit, room), (size_t)MAX_PAYLOAD));
	if (niov == 0) {
		/* No room for data after the header: not a usable buffer. */
		v->cnt.malformed++;
		virtq_push(&v->vdev->vq[RX_Q], &v->rx, 0);
		return true;
	}
	do
		n = readv(c->fd, v->piov, niov);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->readable = false;
		return false;
	}
	if (n < 0) {
		conn_reset(v, c);
		return false;
	}
	if (n == 0) {
		/* The host will send no more (it shut down its write side or closed). */
		c->host_eof = true;
		c->readable = false;
		c->shut_flags = VIRTIO_VSOCK_SHUTDOWN_SEND | (c->host_hup ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0);
		c->pend |= P_SHUTDOWN;
		return false;
	}
	fill_hdr(v, c, VIRTIO_VSOCK_OP_RW, (uint32_t)n, 0, hdr);
	virtq_elem_write(&v->rx, 0, hdr, sizeof(hdr));
	c->tx_cnt += (uint32_t)n;
	c->fwd_cnt_sent = c->fwd_cnt;
	c->pend &= ~P_CREDIT_UPDATE;
	virtq_push(&v->vdev->vq[RX_Q], &v->rx, (uint32_t)(VIRTIO_VSOCK_HDR_SIZE + n));
	return true;
}

/* Send whatever is pending while the guest has rx buffers (lock held). */
static void rx_pump(struct virtio_vsock *v)
{
	struct virtio_dev *vdev = v->vdev;
	bool pushed = false;

	if (!vdev || !vdev->vq[RX_Q].ready)
		return;
	for (;;) {
		uint8_t hdr[VIRTIO_VSOCK_HDR_SIZE];
		struct conn *c = NULL, *data = NULL;
		uint16_t op = 0;
		uint32_t flags = 0;

		if (!v->nr_rst) {
			for (unsigned int k = 0; k < VIRTIO_VSOCK_MAX_CONNS && !c && !data; k++) {
				struct conn *x = &v->conns[(v->rr + k) % VIRTIO_VSOCK_MAX_CONNS];
				if (x->st == C_FREE || x->st == C_HANDSHAKE)
					continue;
				if (!x->pend && wants_data(x))
					out_of_credit(x); /* may queue a CREDIT_REQUEST */
				if (x->pend)
					c = x;
				else if (wants_data(x) && peer_credit(x))
					data = x;
			}
			if (!c && !data)
				break;
		}
		if (!v->rx_held) {
			int r = virtq_pop(&vdev->vq[RX_Q], &v->rx);
			if (r < 0) {
				virtio_dev_needs_reset(vdev);
				return;
			}
			if (r == 0)
				break; /* the guest posts more and kicks rx */
			v->rx_held = true;
			if (v->rx.in_len < VIRTIO_VSOCK_HDR_SIZE || v->rx.out_num) {
				/* Not a receive buffer: give it back unused. */
				v->cnt.malformed++;
				virtq_push(&vdev->vq[RX_Q], &v->rx, 0);
				v->rx_held = false;
				pushed = true;
				continue;
			}
		}
		if (v->nr_rst) {
			struct conn tmp = { .host_port = v->rst[0].host_port, .guest_port = v->rst[0].guest_port };
			memmove(v->rst, v->rst + 1, --v->nr_rst * sizeof(v->rst[0]));
			fill_hdr(v, &tmp, VIRTIO_VSOCK_OP_RST, 0, 0, hdr);
			v->cnt.rst_sent++;
		} else if (c) {
			op = next_control(c, &flags);
			fill_hdr(v, c, op, 0, flags, hdr);
			c->fwd_cnt_sent = c->fwd_cnt;
			if (op == VIRTIO_VSOCK_OP_RST) {
				v->cnt.rst_sent++;
				c->pend = 0;
				/* Free it, unless guest data still drains to the host (conn_flush frees it). */
				if (c->fd < 0 || c->ring_len == 0)
					conn_free(v, c);
			}
		} else {
			v->rr = (unsigned int)(data - v->conns + 1) % VIRTIO_VSOCK_MAX_CONNS;
			if (send_data(v, data)) {
				v->rx_held = false;
				v->cnt.rx_packets++;
				pushed = true;
			}
			continue;
		}
		virtq_elem_write(&v->rx, 0, hdr, sizeof(hdr));
		virtq_push(&vdev->vq[RX_Q], &v->rx, VIRTIO_VSOCK_HDR_SIZE);
		v->rx_held = false;
		v->cnt.rx_packets++;
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify_queue(vdev, RX_Q);
}

/* ---- guest -> device ---- */

/* A guest REQUEST to host port h->dst_port: connect to PATH_<port>. */
static void guest_connect(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct conn *c;
	int fd;

	if (!v->path[0] || (c = conn_alloc(v)) == NULL)
		goto refuse;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%" PRIu32, v->path, h->dst_port) >=
	    (int)sizeof(sa.sun_path))
		goto refuse;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto refuse;
	/* A UNIX connect completes at once or fails (EAGAIN: backlog full): never blocks. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		goto refuse;
	}
	c->fd = fd;
	c->guest_port = h->src_port;
	c->host_port = h->dst_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (conn_watch(v, c) < 0) {
		close(fd);
		c->fd = -1;
		goto refuse;
	}
	conn_established(v, c);
	c->pend = P_RESPONSE;
	c->readable = true;
	return;
refuse:
	v->cnt.conns_refused++;
	queue_orphan_rst(v, h->src_port, h->dst_port);
}

static void guest_rw(struct virtio_vsock *v, struct conn *c, const struct virtq_elem *e, uint32_t len)
{
	if (c->guest_shut_send) {
		conn_reset(v, c); /* data after SHUTDOWN(SEND): protocol violation */
		return;
	}
	if (len > (uint32_t)VIRTIO_VSOCK_BUF_ALLOC - c->ring_len) {
		/* More than the credit we gave (s5.10.6.3.1: the driver MUST NOT). */
		v->cnt.credit_violations++;
		log_ratelimited(LOG_WARN, "virtio-vsock: the guest sent beyond its credit: connection reset");
		conn_reset(v, c);
		return;
	}
	if (!c->ring) {
		c->ring = malloc(VIRTIO_VSOCK_BUF_ALLOC);
		if (!c->ring) {
			conn_reset(v, c);
			return;
		}
	}
	for (uint32_t done = 0; done < len;) {
		uint32_t tail = (c->ring_head + c->ring_len) % VIRTIO_VSOCK_BUF_ALLOC;
		uint32_t chunk = MIN(len - done, (uint32_t)VIRTIO_VSOCK_BUF_ALLOC - tail);
		size_t n = virtq_elem_read(e, VIRTIO_VSOCK_HDR_SIZE + done, c->ring + tail, chunk);
		c->ring_len += (uint32_t)n;
		done += chunk;
	}
	c->rx_cnt += len;
	conn_flush(v, c);
}

static void guest_shutdown(struct virtio_vsock *v, struct conn *c, uint32_t flags)
{
	if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
		c->guest_shut_rcv = true;
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		c->guest_shut_send = true;
	if (c->guest_shut_rcv && c->guest_shut_send) {
		/*
		 * s5.10.6.5: a clean disconnect is SHUTDOWN(s) answered by RST. What
		 * the host socket has not taken yet is still delivered (C_CLOSING
		 * drains the ring), then the host socket is closed.
		 */
		c->st = C_CLOSING;
		c->pend = P_RST;
		if (c->fd >= 0 && c->ring_len == 0) {
			shutdown(c->fd, SHUT_WR);
			c->wr_shut = true;
		}
		return;
	}
	conn_flush(v, c);
}

/* One packet from the tx queue (lock held). */
static void handle_tx(struct virtio_vsock *v, const struct virtq_elem *e)
{
	uint8_t b[VIRTIO_VSOCK_HDR_SIZE];
	struct virtio_vsock_hdr h;
	struct conn *c;

	v->cnt.tx_packets++;
	if (e->out_len < VIRTIO_VSOCK_HDR_SIZE || virtq_elem_read(e, 0, b, sizeof(b)) != sizeof(b)) {
		v->cnt.malformed++;
		return;
	}
	virtio_vsock_hdr_decode(b, &h);
	/* s5.10.6.1: the source is the guest, the destination can only be us. */
	if (h.src_cid != v->cid || h.dst_cid != VIRTIO_VSOCK_HOST_CID) {
		v->cnt.bad_cid++;
		return;
	}
	c = conn_find(v, h.src_port, h.dst_port);
	if (h.op == VIRTIO_VSOCK_OP_RST) {
		/* Never answer an RST; forget the connection (a refused host CONNECT closes its socket). */
		if (c && c->st == C_CONNECTING)
			v->cnt.conns_refused++;
		if (c)
			conn_free(v, c);
		return;
	}
	if (h.len > e->out_len - VIRTIO_VSOCK_HDR_SIZE || h.len > MAX_PAYLOAD || h.type != VIRTIO_VSOCK_TYPE_STREAM ||
	    (h.len && h.op != VIRTIO_VSOCK_OP_RW)) {
		v->cnt.malformed++;
		goto reset;
	}
	if (c && c->st == C_CLOSING)
		return; /* our RST is on its way */
	if (c && (c->peer_buf_alloc != h.buf_alloc || c->peer_fwd_cnt != h.fwd_cnt)) {
		/* Every header carries the guest's credit (s5.10.6.3). */
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
		c->credit_requested = false;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c)
			goto reset;
		guest_connect(v, &h);
		return;
	case VIRTIO_VSOCK_OP_RESPONSE: {
		char ok[32];
		int n;

		if (!c || c->st != C_CONNECTING || (c->pend & P_REQUEST))
			goto reset;
		/* The host program learns its port, then the stream starts. */
		n = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->host_port);
		if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL) != n)
			goto reset;
		conn_established(v, c);
		c->readable = true; /* data may have followed the CONNECT line */
		return;
	}
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (!c || c->st != C_ESTABLISHED)
			goto reset;
		guest_shutdown(v, c, h.flags);
		return;
	case VIRTIO_VSOCK_OP_RW:
		if (!c || c->st != C_ESTABLISHED)
			goto reset;
		guest_rw(v, c, e, h.len);
		return;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		if (!c)
			goto reset;
		return; /* the credit was taken from the header above */
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (!c)
			goto reset;
		c->pend |= P_CREDIT_UPDATE;
		return;
	default:
		break; /* unknown op (s5.10.6.2: answered with RST) */
	}
reset:
	if (c)
		conn_reset(v, c);
	else
		queue_orphan_rst(v, h.src_port, h.dst_port);
}

static uint32_t serve_tx(void *impl, struct virtq_elem *e)
{
	handle_tx(impl, e);
	return 0;
}

/* ---- host side ---- */

/* A host connection on PATH: read "CONNECT <port>\n" one byte at a time (data may follow it). */
static void host_handshake(struct virtio_vsock *v, struct conn *c)
{
	char ch;
	ssize_t n;

	while ((n = recv(c->fd, &ch, 1, 0)) == 1) {
		if (ch != '\n') {
			if (c->line_len >= HANDSHAKE_MAX - 1)
				goto bad;
			c->line[c->line_len++] = ch;
			continue;
		}
		c->line[c->line_len] = '\0';
		if (c->line_len && c->line[c->line_len - 1] == '\r')
			c->line[--c->line_len] = '\0';
		uint64_t port;
		if (strncmp(c->line, "CONNECT ", 8) || parse_uint(c->line + 8, 0, UINT32_MAX, &port))
			goto bad;
		if (!v->vdev)
			goto bad; /* no driver: nobody to connect to */
		c->guest_port = (uint32_t)port;
		/* A host port no open connection to this guest port uses. */
		do {
			if (v->next_port < FIRST_HOST_PORT)
				v->next_port = FIRST_HOST_PORT; /* wrapped around */
			c->host_port = v->next_port++;
		} while (conn_find(v, c->guest_port, c->host_port));
		c->st = C_CONNECTING;
		c->pend = P_REQUEST;
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
bad:
	conn_free(v, c);
}

static void host_accept(struct virtio_vsock *v)
{
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		c = conn_alloc(v);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->st = C_HANDSHAKE;
		if (conn_watch(v, c) < 0) {
			conn_free(v, c);
			continue;
		}
		host_handshake(v, c);
	}
}

static void host_event(struct virtio_vsock *v, struct conn *c, uint32_t events)
{
	if (events & (EPOLLHUP | EPOLLERR))
		c->host_hup = true;
	if (c->st == C_HANDSHAKE) {
		host_handshake(v, c);
		if (c->st == C_HANDSHAKE && c->host_hup)
			conn_free(v, c);
		return;
	}
	if (c->st == C_CONNECTING && c->host_hup) {
		conn_reset(v, c); /* the host program gave up before the guest answered */
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		conn_flush(v, c);
}

int virtio_vsock_poll(struct virtio_vsock *v, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(v->epfd, evs, ARRAY_SIZE(evs), timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)evs[i].data.u64, gen = (uint32_t)(evs[i].data.u64 >> 32);
		if (idx == EV_LISTEN) {
			host_accept(v);
		} else if (idx == EV_WAKE) {
			uint64_t x;
			if (read(v->wake_fd, &x, sizeof(x)) < 0) {
				/* nothing to read: fine */
			}
		} else if (idx < VIRTIO_VSOCK_MAX_CONNS && v->conns[idx].gen == gen && v->conns[idx].st != C_FREE) {
			host_event(v, &v->conns[idx], evs[i].events);
		}
	}
	rx_pump(v);
	pthread_mutex_unlock(&v->lock);
	return n;
}

static void *io_thread(void *opaque)
{
	struct virtio_vsock *v = opaque;

	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE)) {
		if (virtio_vsock_poll(v, -1) < 0) {
			log_error("virtio-vsock: the I/O thread failed: %s", strerror(errno));
			break;
		}
	}
	return NULL;
}

int virtio_vsock_start(struct virtio_vsock *v)
{
	int r;

	sigset_t all, old;

	/* Host signals belong to the VMM's event loop (signalfd): the thread inherits all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&v->thread, NULL, io_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	v->thread_started = true;
	return 0;
}

/* ---- device ops ---- */

static void vsock_config_read(void *impl, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_vsock *v = impl;
	uint8_t cfg[CONFIG_SIZE];

	put_le64(cfg, v->cid);
	memcpy(data, cfg + off, size);
}

static void close_all(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].st != C_FREE)
			conn_free(v, &v->conns[i]);
	v->nr_rst = 0;
	v->rx_held = false;
}

static int vsock_activate(void *impl, struct virtio_dev *vdev)
{
	struct virtio_vsock *v = impl;

	pthread_mutex_lock(&v->lock);
	close_all(v);
	v->vdev = vdev;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static void vsock_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_vsock *v = impl;

	pthread_mutex_lock(&v->lock);
	if (v->vdev == vdev) {
		if (q == TX_Q)
			virtio_dev_serve_queue(vdev, TX_Q, &v->tx, serve_tx, v);
		/* New rx buffers, or replies from tx: send what waits. */
		if (q == TX_Q || q == RX_Q)
			rx_pump(v);
	}
	pthread_mutex_unlock(&v->lock);
}

static void vsock_reset(void *impl)
{
	struct virtio_vsock *v = impl;

	/* The guest's sockets are gone: close every host connection. */
	pthread_mutex_lock(&v->lock);
	close_all(v);
	v->vdev = NULL;
	pthread_mutex_unlock(&v->lock);
}

static void vsock_destroy(void *impl)
{
	struct virtio_vsock *v = impl;
	uint64_t one = 1;

	if (v->thread_started) {
		__atomic_store_n(&v->stop, true, __ATOMIC_RELEASE);
		if (write(v->wake_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here */
		}
		pthread_join(v->thread, NULL);
	}
	pthread_mutex_lock(&v->lock);
	close_all(v);
	pthread_mutex_unlock(&v->lock);
	log_debug("virtio-vsock: %llu packets from the guest, %llu to it, %llu connections, %llu refused, "
		  "%llu malformed, %llu bad CIDs, %llu RSTs sent (%llu dropped), %llu credit violations",
		  (unsigned long long)v->cnt.tx_packets, (unsigned long long)v->cnt.rx_packets,
		  (unsigned long long)v->cnt.conns_opened, (unsigned long long)v->cnt.conns_refused,
		  (unsigned long long)v->cnt.malformed, (unsigned long long)v->cnt.bad_cid,
		  (unsigned long long)v->cnt.rst_sent, (unsigned long long)v->cnt.rst_dropped,
		  (unsigned long long)v->cnt.credit_violations);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->path);
	}
	close(v->epfd);
	close(v->wake_fd);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

struct virtio_vsock *virtio_vsock_create(uint64_t cid, const char *path, char *err, size_t errlen)
{
	struct virtio_vsock *v = calloc(1, sizeof(*v));
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!v) {
		snprintf(err, errlen, "out of memory creating virtio-vsock");
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	v->cid = cid;
	v->listen_fd = -1;
	v->next_port = FIRST_HOST_PORT;
	for (unsigned int i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++)
		v->conns[i].fd = -1;
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->epfd < 0 || v->wake_fd < 0) {
		snprintf(err, errlen, "virtio-vsock: cannot create its event loop: %s", strerror(errno));
		goto fail;
	}
	ev.data.u64 = EV_WAKE;
	epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->wake_fd, &ev);
	if (path && *path) {
		if (strlen(path) >= sizeof(v->path) || strlen(path) >= sizeof(sa.sun_path)) {
			snprintf(err, errlen, "--vsock path '%s' is too long for a UNIX socket", path);
			goto fail;
		}
		v->listen_fd = unix_listen(path, 16, "--vsock", err, errlen);
		if (v->listen_fd < 0)
			goto fail;
		strcpy(v->path, path);
		ev.data.u64 = EV_LISTEN;
		epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->listen_fd, &ev);
	}
	return v;
fail:
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->epfd >= 0)
		close(v->epfd);
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	free(v);
	return NULL;
}

void virtio_vsock_get_counters(struct virtio_vsock *v, struct virtio_vsock_counters *out)
{
	pthread_mutex_lock(&v->lock);
	*out = v->cnt;
	pthread_mutex_unlock(&v->lock);
}

const struct virtio_device_ops virtio_vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = 3,
	.max_queue_size = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
};
