/* SPDX-License-Identifier: MIT */
/*
 * event: the epoll loop that runs device I/O off the vCPU threads (console
 * input now; virtio backends later).
 */
#ifndef VMKIT_EVENT_H
#define VMKIT_EVENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef void event_fn(void *opaque, uint32_t events);

struct event_handler;

struct event_loop {
	int epfd;
	int wake_fd; /* eventfd: event_loop_stop() and wakeups */
	atomic_bool stop;
	struct event_handler *handlers;
};

int event_loop_init(struct event_loop *l);
void event_loop_destroy(struct event_loop *l);

/* Watch fd for events (EPOLLIN...). One handler per fd. Loop thread or before run. */
int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_fn *fn, void *opaque);
/* Change the events watched on fd (0 pauses it). */
int event_loop_mod(struct event_loop *l, int fd, uint32_t events);
int event_loop_del(struct event_loop *l, int fd);

/* Dispatch until event_loop_stop(). Returns 0 or -errno. */
int event_loop_run(struct event_loop *l);

/* Thread-safe, async-signal-safe. */
void event_loop_stop(struct event_loop *l);

#endif
