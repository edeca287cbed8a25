// SPDX-License-Identifier: MIT
/*
 * tap backend: a Linux tap interface (Documentation/networking/tuntap.rst)
 * opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR so every frame carries a
 * 12-byte virtio_net_hdr (TUNSETVNETHDRSZ), which lets partial checksums and
 * TSO pass straight through. With more than one queue pair each pair gets its
 * own fd (IFF_MULTI_QUEUE). One I/O thread polls the receive side of every
 * queue plus an eventfd; a queue whose frontend has no buffers is not polled
 * until net_backend_rx_resume(), so frames wait in the kernel, not here.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmkit/log.h"
#include "vmkit/net.h"

#define RX_BUF_SIZE (NET_VNET_HDR_LEN + NET_MAX_FRAME + 64)
#define RX_BATCH 64 /* frames per queue per wakeup: keeps the queues fair */

struct net_tap {
	struct net_backend be;
	int fd[NET_MAX_QUEUES];
	unsigned int active;      /* queue pairs attached (TUNSETQUEUE) */
	int wake_fd;              /* eventfd: resume and stop */
	pthread_t thread;
	bool running;
	bool stop;
	unsigned int resume_mask; /* atomic: queues the frontend re-enabled */
	bool paused[NET_MAX_QUEUES];
	size_t pending_len[NET_MAX_QUEUES]; /* a frame refused by the frontend */
	uint8_t *buf[NET_MAX_QUEUES];
	char ifname[IFNAMSIZ];
};

#define to_tap(b) ((struct net_tap *)(b))

static void wake(struct net_tap *t)
{
	uint64_t one = 1;

	if (write(t->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "tap %s: eventfd write: %s", t->ifname, strerror(errno));
}

/* Hand the pending frame of q to the frontend. true if it was taken. */
static bool deliver(struct net_tap *t, unsigned int q)
{
	int r = t->be.fe.receive(t->be.fe.opaque, q, t->buf[q], t->pending_len[q]);

	if (r == -EAGAIN)
		return false;
	t->pending_len[q] = 0;
	t->be.rx_frames++;
	return true;
}

static void read_queue(struct net_tap *t, unsigned int q)
{
	for (int i = 0; i < RX_BATCH; i++) {
		ssize_t n = read(t->fd[q], t->buf[q], RX_BUF_SIZE);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_ratelimited(LOG_WARN, "tap %s: read: %s", t->ifname, strerror(errno));
			return;
		}
		if (n <= NET_VNET_HDR_LEN) {
			t->be.rx_dropped++;
			continue;
		}
		t->pending_len[q] = (size_t)n;
		if (!deliver(t, q)) {
			t->paused[q] = true; /* keep the frame, stop polling q */
			return;
		}
	}
}

static void *tap_thread(void *opaque)
{
	struct net_tap *t = opaque;
	struct pollfd pfd[NET_MAX_QUEUES + 1];

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		unsigned int nq = __atomic_load_n(&t->active, __ATOMIC_ACQUIRE), resumed;

		resumed = __atomic_exchange_n(&t->resume_mask, 0, __ATOMIC_ACQ_REL);
		for (unsigned int q = 0; q < t->be.nr_queues; q++) {
			if (!t->paused[q] || !(resumed & (1u << q)))
				continue;
			if (t->pending_len[q] && !deliver(t, q))
				continue;
			t->paused[q] = false;
		}
		pfd[0] = (struct pollfd){ .fd = t->wake_fd, .events = POLLIN };
		for (unsigned int q = 0; q < t->be.nr_queues; q++)
			pfd[q + 1] = (struct pollfd){ .fd = q < nq && !t->paused[q] ? t->fd[q] : -1, .events = POLLIN };
		if (poll(pfd, t->be.nr_queues + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("tap %s: poll: %s", t->ifname, strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			uint64_t v;
			if (read(t->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
		}
		for (unsigned int q = 0; q < t->be.nr_queues; q++)
			if (pfd[q + 1].revents & (POLLIN | POLLERR))
				read_queue(t, q);
	}
	return NULL;
}

static int tap_start(struct net_backend *be)
{
	struct net_tap *t = to_tap(be);
	int r = pthread_create(&t->thread, NULL, tap_thread, t);

	if (r)
		return -r;
	pthread_setname_np(t->thread, "vmkit-tap");
	t->running = true;
	return 0;
}

static int tap_send(struct net_backend *be, unsigned int q, const struct iovec *iov, int iovcnt)
{
	struct net_tap *t = to_tap(be);
	ssize_t n;

	if (q >= be->nr_queues)
		q = 0;
	do
		n = writev(t->fd[q], iov, iovcnt);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		__atomic_add_fetch(&be->tx_dropped, 1, __ATOMIC_RELAXED);
		return -errno;
	}
	__atomic_add_fetch(&be->tx_frames, 1, __ATOMIC_RELAXED);
	return 0;
}

static void tap_rx_resume(struct net_backend *be, unsigned int q)
{
	struct net_tap *t = to_tap(be);

	if (q >= be->nr_queues)
		return;
	__atomic_or_fetch(&t->resume_mask, 1u << q, __ATOMIC_ACQ_REL);
	wake(t);
}

static int tap_set_offload(struct net_backend *be, bool csum, bool tso4, bool tso6)
{
	struct net_tap *t = to_tap(be);
	/* TUN_F_* describe what we (the guest's receive side) accept from the kernel. */
	unsigned long f = (csum ? TUN_F_CSUM : 0) | (csum && tso4 ? TUN_F_TSO4 : 0) | (csum && tso6 ? TUN_F_TSO6 : 0);

	for (unsigned int q = 0; q < be->nr_queues; q++)
		if (ioctl(t->fd[q], TUNSETOFFLOAD, f) < 0)
			return -errno;
	return 0;
}

static int tap_set_queues(struct net_backend *be, unsigned int n)
{
	struct net_tap *t = to_tap(be);

	if (n < 1 || n > be->nr_queues)
		return -EINVAL;
	if (be->nr_queues > 1) {
		/* Queues beyond n are detached so the kernel stops steering flows to them. */
		for (unsigned int q = 0; q < be->nr_queues; q++) {
			struct ifreq ifr = { .ifr_flags = q < n ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE };
			if (ioctl(t->fd[q], TUNSETQUEUE, &ifr) < 0 && errno != EINVAL)
				return -errno;
		}
	}
	__atomic_store_n(&t->active, n, __ATOMIC_RELEASE);
	wake(t);
	return 0;
}

static void tap_destroy(struct net_backend *be)
{
	struct net_tap *t = to_tap(be);

	if (t->running) {
		__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
		wake(t);
		pthread_join(t->thread, NULL);
	}
	for (unsigned int q = 0; q < NET_MAX_QUEUES; q++) {
		if (t->fd[q] >= 0)
			close(t->fd[q]);
		free(t->buf[q]);
	}
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.start = tap_start,
	.send = tap_send,
	.rx_resume = tap_rx_resume,
	.set_offload = tap_set_offload,
	.set_queues = tap_set_queues,
	.destroy = tap_destroy,
};

static int tap_open_queue(struct net_tap *t, unsigned int queues, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	unsigned int features = 0;
	int hdr = NET_VNET_HDR_LEN, fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun for tap %s: %s", t->ifname, strerror(errno));
		return -1;
	}
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		snprintf(err, errlen, "tap %s: this kernel's tun driver lacks IFF_VNET_HDR", t->ifname);
		goto fail;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (queues > 1 ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, t->ifname, strlen(t->ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "cannot attach to tap %s: %s%s", t->ifname, strerror(errno),
			 errno == EPERM ? " (needs CAP_NET_ADMIN, or a tap created for this user)" :
			 errno == EINVAL ? " (exists with other flags? queues= must match how it was created)" : "");
		goto fail;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		snprintf(err, errlen, "tap %s: TUNSETVNETHDRSZ: %s", t->ifname, strerror(errno));
		goto fail;
	}
	/* Until the driver negotiates offloads, the kernel must send complete frames. */
	if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		snprintf(err, errlen, "tap %s: TUNSETOFFLOAD: %s", t->ifname, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

struct net_backend *net_tap_open(const char *ifname, unsigned int queues, char *err, size_t errlen)
{
	struct net_tap *t;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || queues < 1 || queues > NET_MAX_QUEUES) {
		snprintf(err, errlen, "invalid tap interface '%s' or queue count %u", ifname ? ifname : "", queues);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory opening tap %s", ifname);
		return NULL;
	}
	for (unsigned int q = 0; q < NET_MAX_QUEUES; q++)
		t->fd[q] = -1;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	t->be.ops = &tap_ops;
	t->be.name = "tap";
	t->be.nr_queues = queues;
	t->be.vnet_hdr = true;
	t->active = 1;
	t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->wake_fd < 0) {
		snprintf(err, errlen, "tap %s: eventfd: %s", ifname, strerror(errno));
		goto fail;
	}
	for (unsigned int q = 0; q < queues; q++) {
		t->fd[q] = tap_open_queue(t, queues, err, errlen);
		if (t->fd[q] < 0)
			goto fail;
		t->buf[q] = malloc(RX_BUF_SIZE);
		if (!t->buf[q]) {
			snprintf(err, errlen, "out of memory opening tap %s", ifname);
			goto fail;
		}
	}
	if (tap_set_queues(&t->be, 1) < 0) {
		snprintf(err, errlen, "tap %s: TUNSETQUEUE: %s", ifname, strerror(errno));
		goto fail;
	}
	return &t->be;
fail:
	tap_destroy(&t->be);
	return NULL;
}
