/* SPDX-License-Identifier: MIT */
/*
 * iothread: an event loop running on its own thread. vmkit run has one,
 * "vmkit-io", that serves every virtio queue notification (ioeventfds), so
 * device work never runs on a vCPU thread. Handlers are added before
 * iothread_start() (event_loop_add is not safe against a running loop).
 */
#ifndef VMKIT_IOTHREAD_H
#define VMKIT_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>

#include "vmkit/event.h"

struct iothread {
	struct event_loop loop;
	pthread_t thread;
	bool started;
	int result; /* event_loop_run()'s return value once stopped */
};

/* Create the loop (not yet running). 0 or -errno. */
int iothread_init(struct iothread *t);

/* Start the thread (name: up to 15 chars, for top/gdb). 0 or -errno. */
int iothread_start(struct iothread *t, const char *name);

/* Stop the loop and join the thread; no-op if not started. Any thread but its own. */
void iothread_stop(struct iothread *t);

/* Stop, then free the loop (handlers must have been removed or be unused). */
void iothread_destroy(struct iothread *t);

#endif
