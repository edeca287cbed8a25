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
struct event_poller;

struct event_loop {
	int epfd;
	int wake_fd; /* eventfd: event_loop_stop() and wakeups */
	atomic_bool stop;
	struct event_handler *handlers;
	struct event_poller *pollers;
	uint64_t poll_max_ns; /* the largest window a poller asked for */
	uint64_t poll_ns;     /* the current, adaptive window (0..poll_max_ns) */
};

int event_loop_init(struct event_loop *l);
void event_loop_destroy(struct event_loop *l);

/* Watch fd for events (EPOLLIN...). One handler per fd. Loop thread or before run. */
int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_fn *fn, void *opaque);
/* Change the events watched on fd (0 pauses it). */
int event_loop_mod(struct event_loop *l, int fd, uint32_t events);
int event_loop_del(struct event_loop *l, int fd);

/*
 * Busy-polling before sleeping. Once the loop has dispatched its events, it
 * calls every poller's poll() until one makes progress (returns true: it did
 * work, the window starts again), an fd becomes ready, or the window runs
 * out; then every poller's end(), which must leave its work source able to
 * wake the loop (e.g. re-enable the guest's kicks) and returns true if it
 * found work doing so; then the loop sleeps. Device queues use this to take
 * new requests while the guest's kicks stay suppressed: a kick is a VM exit,
 * a poll is a memory read. The window adapts between 0 and the largest
 * max_ns asked for: it doubles (from 4 us) when the loop slept for less than
 * the maximum (polling would have caught that event) and halves, down to
 * nothing, when the loop slept longer, so an idle VM costs no CPU. Loop
 * thread or before run.
 */
typedef bool event_poll_fn(void *opaque);
int event_loop_add_poller(struct event_loop *l, uint64_t max_ns, event_poll_fn *poll, event_poll_fn *end,
			  void *opaque);
int event_loop_del_poller(struct event_loop *l, void *opaque);

/*
 * What waking a sleeping thread through an eventfd and epoll costs this host
 * (half the median of 15 timed round trips between two threads; ~1-3 ms on
 * a slow host, run once at start-up), or 0 if it could not be measured.
 * Every guest kick the polling window saves would have cost at least one
 * such wake-up, so the window is sized from it: event_auto_poll_us().
 */
uint64_t event_wake_cost_ns(void);
/* The median of n samples (sorts them); 0 for none. */
uint64_t event_wake_cost_median(uint64_t *samples, unsigned int n);
/*
 * The automatic maximum polling window for a host whose wake-up costs
 * wake_ns: EVENT_AUTO_POLL_WAKES wake-ups' worth, within
 * [EVENT_AUTO_POLL_MIN_US, EVENT_AUTO_POLL_MAX_US]; the minimum when the cost
 * is unknown (0).
 */
#define EVENT_AUTO_POLL_WAKES 16
#define EVENT_AUTO_POLL_MIN_US 16
#define EVENT_AUTO_POLL_MAX_US 2000
unsigned int event_auto_poll_us(uint64_t wake_ns);

/* Dispatch until event_loop_stop(). Returns 0 or -errno. */
int event_loop_run(struct event_loop *l);

/* Thread-safe, async-signal-safe. */
void event_loop_stop(struct event_loop *l);

#endif
