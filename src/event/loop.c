// SPDX-License-Identifier: MIT
/* epoll event loop. Handlers are looked up through epoll_event.data.ptr. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmkit/event.h"

struct event_handler {
	int fd;
	event_fn *fn;
	void *opaque;
	struct event_handler *next;
};

int event_loop_init(struct event_loop *l)
{
	l->handlers = NULL;
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

int event_loop_run(struct event_loop *l)
{
	struct epoll_event evs[16];

	while (!atomic_load(&l->stop)) {
		int n = epoll_wait(l->epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
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
