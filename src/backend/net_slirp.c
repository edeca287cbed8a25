// SPDX-License-Identifier: MIT
/*
 * User-mode networking with libslirp: a TCP/IP stack in the VMM that NATs
 * the guest's connections onto ordinary host sockets, so no privileges are
 * needed. The usual conventions: network 10.0.2.0/24, the host (gateway) at
 * 10.0.2.2, a DNS forwarder at 10.0.2.3 (it relays to the host's resolvers
 * from /etc/resolv.conf), DHCP leases from 10.0.2.15; TCP ports forwarded
 * from the host to the guest (hostfwd).
 *
 * libslirp is not thread-safe: one mutex covers every call into it. An I/O
 * thread drives it through its poll API (slirp_pollfds_fill / poll /
 * slirp_pollfds_poll) and runs its timers; slirp_input() runs on the thread
 * that sends (the virtio-net transmit path). Frames slirp emits while the
 * guest has no receive buffers wait in a bounded queue; while that queue is
 * non-empty the thread stops reading slirp's sockets, so data waits in the
 * host kernel (TCP flow control) rather than being dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmkit/log.h"
#include "vmkit/net.h"

#define RXQ_MAX 256    /* frames held while the guest has no buffers */
#define MAX_POLLFDS 1024

struct slirp_timer {
	struct slirp_timer *next;
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
};

struct rx_frame {
	struct rx_frame *next;
	size_t len;
	uint8_t data[];
};

struct net_slirp {
	struct net_backend be;
	pthread_mutex_t lock; /* everything below, and every libslirp call */
	Slirp *slirp;
	struct slirp_timer *timers;
	struct rx_frame *rxq_head, *rxq_tail;
	unsigned int rxq_len;
	struct pollfd *pfd;
	unsigned int npfd;
	int wake_fd;
	pthread_t thread;
	bool running;
	bool stop;
	uint8_t txbuf[NET_MAX_FRAME];
};

#define to_slirp(b) ((struct net_slirp *)(b))

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void wake(struct net_slirp *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "slirp: eventfd write: %s", strerror(errno));
}

/* Offer queued frames to the frontend in order; lock held. */
static void flush_rxq(struct net_slirp *s)
{
	while (s->rxq_head) {
		struct rx_frame *f = s->rxq_head;

		if (s->be.fe.receive(s->be.fe.opaque, 0, f->data, f->len) == -EAGAIN)
			return;
		s->be.rx_frames++;
		s->rxq_head = f->next;
		if (!s->rxq_head)
			s->rxq_tail = NULL;
		s->rxq_len--;
		free(f);
	}
}

/* slirp emits a frame for the guest; lock held (slirp thread or the sender's). */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;
	struct rx_frame *f;

	if (!s->rxq_head && s->be.fe.receive(s->be.fe.opaque, 0, buf, len) != -EAGAIN) {
		s->be.rx_frames++;
		return (ssize_t)len;
	}
	if (s->rxq_len >= RXQ_MAX || !(f = malloc(sizeof(*f) + len))) {
		s->be.rx_dropped++; /* TCP retransmits; counted */
		return (ssize_t)len;
	}
	f->next = NULL;
	f->len = len;
	memcpy(f->data, buf, len);
	if (s->rxq_tail)
		s->rxq_tail->next = f;
	else
		s->rxq_head = f;
	s->rxq_tail = f;
	s->rxq_len++;
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	log_ratelimited(LOG_WARN, "slirp: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net_slirp *s = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cb = cb;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = s->timers;
	s->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *s = opaque;

	for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *t = timer;

	if (t)
		t->expire_ms = expire_ms;
	wake(opaque);
}

static void cb_register_poll_fd(int fd, void *opaque) {}
static void cb_unregister_poll_fd(int fd, void *opaque) {}

static void cb_notify(void *opaque)
{
	wake(opaque);
}

static const SlirpCb slirp_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	short ev = 0;

	if (s->npfd >= MAX_POLLFDS)
		return -1;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	s->pfd[s->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)s->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	short re;
	int ev = 0;

	if (idx < 1 || (unsigned int)idx >= s->npfd)
		return 0;
	re = s->pfd[idx].revents;
	if (re & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (re & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (re & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (re & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (re & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Run expired timers; returns ms until the next one (or UINT32_MAX). Lock held. */
static uint32_t run_timers(struct net_slirp *s)
{
	int64_t now = now_ns() / 1000000;
	uint32_t next = UINT32_MAX;
	bool again = true;

	while (again) {
		again = false;
		for (struct slirp_timer *t = s->timers; t; t = t->next) {
			if (t->expire_ms >= 0 && t->expire_ms <= now) {
				t->expire_ms = -1;
				t->cb(t->cb_opaque); /* may free or re-arm timers: rescan */
				again = true;
				break;
			}
		}
	}
	for (struct slirp_timer *t = s->timers; t; t = t->next)
		if (t->expire_ms >= 0 && (uint64_t)(t->expire_ms - now) < next)
			next = (uint32_t)(t->expire_ms - now);
	return next;
}

static void *slirp_thread(void *opaque)
{
	struct net_slirp *s = opaque;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		uint32_t timeout = run_timers(s);
		bool reading = false;
		int n;

		flush_rxq(s);
		s->pfd[0] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		s->npfd = 1;
		/* Guest not taking frames: leave slirp's sockets unread (flow control). */
		if (!s->rxq_head) {
			slirp_pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
			reading = true;
		}
		pthread_mutex_unlock(&s->lock);
		n = poll(s->pfd, s->npfd, timeout == UINT32_MAX ? -1 : (int)timeout);
		if (n > 0 && (s->pfd[0].revents & POLLIN)) {
			uint64_t v;
			if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_ratelimited(LOG_WARN, "slirp: eventfd read: %s", strerror(errno));
		}
		pthread_mutex_lock(&s->lock);
		if (reading)
			slirp_pollfds_poll(s->slirp, n < 0 && errno != EINTR, cb_get_revents, s);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int slirp_start(struct net_backend *be)
{
	struct net_slirp *s = to_slirp(be);
	int r = pthread_create(&s->thread, NULL, slirp_thread, s);

	if (r)
		return -r;
	pthread_setname_np(s->thread, "vmkit-slirp");
	s->running = true;
	return 0;
}

static int slirp_send(struct net_backend *be, unsigned int q, const struct iovec *iov, int iovcnt)
{
	struct net_slirp *s = to_slirp(be);
	size_t len = 0;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > sizeof(s->txbuf) - len) {
			be->tx_dropped++;
			pthread_mutex_unlock(&s->lock);
			return -EMSGSIZE;
		}
		memcpy(s->txbuf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	slirp_input(s->slirp, s->txbuf, (int)len);
	be->tx_frames++;
	pthread_mutex_unlock(&s->lock);
	/* Replies and new sockets: let the thread poll again. */
	wake(s);
	return 0;
}

static void slirp_rx_resume(struct net_backend *be, unsigned int q)
{
	wake(to_slirp(be));
}

static void slirp_destroy(struct net_backend *be)
{
	struct net_slirp *s = to_slirp(be);

	if (s->running) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		wake(s);
		pthread_join(s->thread, NULL);
	}
	if (s->slirp)
		slirp_cleanup(s->slirp);
	while (s->timers) {
		struct slirp_timer *t = s->timers;
		s->timers = t->next;
		free(t);
	}
	while (s->rxq_head) {
		struct rx_frame *f = s->rxq_head;
		s->rxq_head = f->next;
		free(f);
	}
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s->pfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct net_backend_ops slirp_ops = {
	.start = slirp_start,
	.send = slirp_send,
	.rx_resume = slirp_rx_resume,
	.destroy = slirp_destroy,
};

struct net_backend *net_slirp_open(const struct net_user_config *cfg, char *err, size_t errlen)
{
	struct net_slirp *s = calloc(1, sizeof(*s));
	SlirpConfig sc = { 0 };

	if (!s) {
		snprintf(err, errlen, "out of memory creating user networking");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->be.ops = &slirp_ops;
	s->be.name = "user";
	s->be.nr_queues = 1;
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->pfd = calloc(MAX_POLLFDS, sizeof(*s->pfd));
	if (s->wake_fd < 0 || !s->pfd) {
		snprintf(err, errlen, "cannot set up user networking: %s", strerror(errno));
		goto fail;
	}
	sc.version = 3;
	sc.in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &sc.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &sc.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &sc.vhost);
	inet_pton(AF_INET, "10.0.2.15", &sc.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &sc.vnameserver);
	sc.vhostname = "vmkit";
	sc.if_mtu = 1500;
	sc.if_mru = 1500;
	s->slirp = slirp_new(&sc, &slirp_callbacks, s);
	if (!s->slirp) {
		snprintf(err, errlen, "libslirp could not create the user network");
		goto fail;
	}
	for (unsigned int i = 0; i < cfg->nr_fwd; i++) {
		const struct net_hostfwd *f = &cfg->fwd[i];
		struct in_addr ha = { .s_addr = f->host_addr }, ga = { .s_addr = f->guest_addr };
		char a[INET_ADDRSTRLEN];

		if (!ga.s_addr)
			ga = sc.vdhcp_start;
		if (slirp_add_hostfwd(s->slirp, 0, ha, f->host_port, ga, f->guest_port) < 0) {
			snprintf(err, errlen, "hostfwd: cannot listen on %s:%u (port in use or address not local?)",
				 inet_ntop(AF_INET, &ha, a, sizeof(a)), f->host_port);
			goto fail;
		}
	}
	return &s->be;
fail:
	slirp_destroy(&s->be);
	return NULL;
}
