// SPDX-License-Identifier: MIT
/* An event loop on its own thread (see include/vmkit/iothread.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "vmkit/iothread.h"

static void *iothread_main(void *arg)
{
	struct iothread *t = arg;

	t->result = event_loop_run(&t->loop);
	return NULL;
}

int iothread_init(struct iothread *t)
{
	memset(t, 0, sizeof(*t));
	return event_loop_init(&t->loop);
}

int iothread_start(struct iothread *t, const char *name)
{
	sigset_t all, old;
	int r;

	/* Host signals belong to the main loop: the thread starts with them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&t->thread, NULL, iothread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return r;
	t->started = true;
	if (name)
		pthread_setname_np(t->thread, name);
	return 0;
}

void iothread_stop(struct iothread *t)
{
	if (!t->started)
		return;
	event_loop_stop(&t->loop);
	pthread_join(t->thread, NULL);
	t->started = false;
}

void iothread_destroy(struct iothread *t)
{
	iothread_stop(t);
	event_loop_destroy(&t->loop);
}
