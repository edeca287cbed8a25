// SPDX-License-Identifier: MIT
/* epoll event loop. Handlers are looked up through epoll_event.data.ptr. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmkit/event.h"
#include "vmkit/util.h"

struct event_handler {
	int fd;
	event_fn *fn;
	void *opaque;
	struct event_handler *next;
};

struct event_poller {
	uint64_t max_ns;
	event_poll_fn *poll, *end;
	void *opaque;
	struct event_poller *next;
};

#define POLL_START_NS 4000

int event_loop_init(struct event_loop *l)
{
	l->handlers = NULL;
	l->pollers = NULL;
	l->poll_max_ns = l->poll_ns = 0;
	atomic_store(&l->stop, false);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		int err = -errno;
		close(l->epfd);
		return err;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0) {
		int err = -errno;
		close(l->wake_fd);
		close(l->epfd);
		return err;
	}
	return 0;
}

void event_loop_destroy(struct event_loop *l)
{
	while (l->handlers) {
		struct event_handler *h = l->handlers;
		l->handlers = h->next;
		free(h);
	}
	while (l->pollers) {
		struct event_poller *p = l->pollers;
		l->pollers = p->next;
		free(p);
	}
	close(l->wake_fd);
	close(l->epfd);
}

static struct event_handler *find(struct event_loop *l, int fd, struct event_handler ***link)
{
	struct event_handler **pp;

	for (pp = &l->handlers; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_fn *fn, void *opaque)
{
	struct event_handler *h;
	struct epoll_event ev;

	if (find(l, fd, NULL))
		return -EEXIST;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->fn = fn;
	h->opaque = opaque;
	ev.events = events;
	ev.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;
		free(h);
		return err;
	}
	h->next = l->handlers;
	l->handlers = h;
	return 0;
}

int event_loop_mod(struct event_loop *l, int fd, uint32_t events)
{
	struct event_handler *h = find(l, fd, NULL);
	struct epoll_event ev;

	if (!h)
		return -ENOENT;
	ev.events = events;
	ev.data.ptr = h;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int event_loop_del(struct event_loop *l, int fd)
{
	struct event_handler **link, *h = find(l, fd, &link);

	if (!h)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	*link = h->next;
	free(h);
	return 0;
}

int event_loop_add_poller(struct event_loop *l, uint64_t max_ns, event_poll_fn *poll, event_poll_fn *end,
			  void *opaque)
{
	struct event_poller *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->max_ns = max_ns;
	p->poll = poll;
	p->end = end;
	p->opaque = opaque;
	p->next = l->pollers;
	l->pollers = p;
	l->poll_max_ns = MAX(l->poll_max_ns, max_ns);
	return 0;
}

int event_loop_del_poller(struct event_loop *l, void *opaque)
{
	struct event_poller **pp;

	for (pp = &l->pollers; *pp; pp = &(*pp)->next) {
		if ((*pp)->opaque == opaque) {
			struct event_poller *p = *pp;
			*pp = p->next;
			free(p);
			l->poll_max_ns = 0;
			for (p = l->pollers; p; p = p->next)
				l->poll_max_ns = MAX(l->poll_max_ns, p->max_ns);
			l->poll_ns = MIN(l->poll_ns, l->poll_max_ns);
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * Poll for up to l->poll_ns, then end polling. Returns the number of ready
 * events found in evs (0 if the loop should go to sleep), or -1 when a
 * poller had work at its end() and the loop must look again before sleeping.
 */
static int poll_then_end(struct event_loop *l, struct epoll_event *evs, int max)
{
	uint64_t start = now_ns();
	bool work = false;
	int n = 0;

	while (l->poll_ns && !atomic_load(&l->stop)) {
		bool progress = false;

		for (struct event_poller *p = l->pollers; p; p = p->next)
			progress |= p->poll(p->opaque);
		n = epoll_wait(l->epfd, evs, max, 0);
		if (n > 0)
			break;
		if (progress)
			start = now_ns();
		else if (now_ns() - start >= l->poll_ns)
			break;
	}
	if (n > 0)
		return n; /* not going to sleep: polling goes on after these events */
	for (struct event_poller *p = l->pollers; p; p = p->next)
		work |= p->end(p->opaque);
	return work ? -1 : 0;
}

/* Adapt the window to how long the loop slept (see event.h). */
static void poll_adapt(struct event_loop *l, uint64_t slept_ns)
{
	if (!l->poll_max_ns)
		return;
	if (slept_ns <= l->poll_max_ns)
		l->poll_ns = MIN(l->poll_max_ns, l->poll_ns ? l->poll_ns * 2 : POLL_START_NS);
	else
		l->poll_ns = l->poll_ns > POLL_START_NS ? l->poll_ns / 2 : 0;
}

int event_loop_run(struct event_loop *l)
{
	struct epoll_event evs[16];

	while (!atomic_load(&l->stop)) {
		int n = 0;

		if (l->pollers) {
			n = poll_then_end(l, evs, 16);
			if (n < 0)
				continue;
		}
		if (n == 0) {
			uint64_t t0 = l->pollers ? now_ns() : 0;

			n = epoll_wait(l->epfd, evs, 16, -1);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (l->pollers)
				poll_adapt(l, now_ns() - t0);
		}
		for (int i = 0; i < n && !atomic_load(&l->stop); i++) {
			struct event_handler *h = evs[i].data.ptr;
			if (!h) {
				uint64_t v;
				if (read(l->wake_fd, &v, sizeof(v)) < 0) {
					/* nothing pending: fine */
				}
				continue;
			}
			h->fn(h->opaque, evs[i].events);
		}
	}
	return 0;
}

void event_loop_stop(struct event_loop *l)
{
	uint64_t one = 1;

	atomic_store(&l->stop, true);
	if (write(l->wake_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the loop is awake anyway */
	}
}
