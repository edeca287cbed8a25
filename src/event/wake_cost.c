// SPDX-License-Identifier: MIT
/*
 * What it costs this host to wake a sleeping thread through an eventfd and
 * epoll: the path every guest kick takes to the I/O thread. It sizes the
 * disk's automatic polling window (see event.h): a window is worth spinning
 * only while it is short next to the wake-ups and exits it saves, and both
 * scale with how fast this host runs threads (a few microseconds on bare
 * metal, hundreds under nested emulation).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmkit/event.h"
#include "vmkit/util.h"

#define WAKE_ROUNDS 15 /* timed round trips; the median is kept */
#define WAKE_WARMUP 2
#define WAKE_TIMEOUT_MS 1000

struct ping_pong {
	int ping, pong; /* eventfds: main -> helper, helper -> main */
};

#define PING 1 /* eventfd values main writes: answer, or stop (counts add up) */
#define STOP 2

static void *pong_main(void *arg)
{
	struct ping_pong *pp = arg;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t v, one = 1;

	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, pp->ping, &ev) < 0)
		goto out;
	for (;;) {
		int n = epoll_wait(epfd, &ev, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1 || read(pp->ping, &v, sizeof(v)) != sizeof(v) || v != PING)
			break;
		if (write(pp->pong, &one, sizeof(one)) != sizeof(one))
			break;
	}
out:
	if (epfd >= 0)
		close(epfd);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t event_wake_cost_median(uint64_t *samples, unsigned int n)
{
	if (!n)
		return 0;
	qsort(samples, n, sizeof(*samples), cmp_u64);
	return samples[n / 2];
}

uint64_t event_wake_cost_ns(void)
{
	struct ping_pong pp = { -1, -1 };
	uint64_t rt[WAKE_ROUNDS], v, ping = PING, stop = STOP, cost = 0;
	unsigned int n = 0;
	pthread_t helper;

	pp.ping = eventfd(0, EFD_CLOEXEC);
	pp.pong = eventfd(0, EFD_CLOEXEC);
	if (pp.ping < 0 || pp.pong < 0 || pthread_create(&helper, NULL, pong_main, &pp))
		goto out;
	for (int i = 0; i < WAKE_ROUNDS + WAKE_WARMUP; i++) {
		struct pollfd pfd = { .fd = pp.pong, .events = POLLIN };
		uint64_t t0 = now_ns();
		int r;

		if (write(pp.ping, &ping, sizeof(ping)) != sizeof(ping))
			break;
		/* This thread sleeps too, as the kicking side would; a helper that gave up is not waited for. */
		while ((r = poll(&pfd, 1, WAKE_TIMEOUT_MS)) < 0 && errno == EINTR)
			;
		if (r != 1 || read(pp.pong, &v, sizeof(v)) != sizeof(v))
			break;
		if (i >= WAKE_WARMUP)
			rt[n++] = now_ns() - t0;
	}
	(void)!write(pp.ping, &stop, sizeof(stop));
	pthread_join(helper, NULL);
	if (n == WAKE_ROUNDS)
		cost = event_wake_cost_median(rt, n) / 2; /* a round trip is two wake-ups */
out:
	if (pp.ping >= 0)
		close(pp.ping);
	if (pp.pong >= 0)
		close(pp.pong);
	return cost;
}

unsigned int event_auto_poll_us(uint64_t wake_ns)
{
	uint64_t us;

	if (wake_ns >= (uint64_t)EVENT_AUTO_POLL_MAX_US * 1000 / EVENT_AUTO_POLL_WAKES) /* no overflow below */
		return EVENT_AUTO_POLL_MAX_US;
	us = wake_ns * EVENT_AUTO_POLL_WAKES / 1000;
	return us < EVENT_AUTO_POLL_MIN_US ? EVENT_AUTO_POLL_MIN_US : (unsigned int)us;
}
