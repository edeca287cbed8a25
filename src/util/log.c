// SPDX-License-Identifier: MIT
/* Leveled, thread-safe logging to stderr with per-call-site rate limits. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/log.h"
#include "vmkit/util.h"

#define RATELIMIT_BURST 10
#define RATELIMIT_INTERVAL_NS 1000000000ULL

static atomic_int log_level = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static enum log_level level_from_env(void)
{
	const char *e = getenv("VMKIT_LOG");

	if (!e)
		return LOG_WARN;
	if (!strcmp(e, "debug"))
		return LOG_DEBUG;
	if (!strcmp(e, "info"))
		return LOG_INFO;
	if (!strcmp(e, "error"))
		return LOG_ERROR;
	return LOG_WARN;
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum log_level log_get_level(void)
{
	int l = atomic_load(&log_level);

	if (l < 0) {
		l = level_from_env();
		atomic_store(&log_level, l);
	}
	return (enum log_level)l;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char buf[1024];
	va_list ap;
	int n;

	if (level > log_get_level())
		return;
	n = snprintf(buf, sizeof(buf), "vmkit: %s: ", names[level]);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	/* "\r\n": the console may be in raw mode. */
	fprintf(stderr, "%s\r\n", buf);
	pthread_mutex_unlock(&log_lock);
}

bool ratelimit_allow(struct ratelimit *rl)
{
	uint64_t now = now_ns();
	bool allow;
	uint32_t suppressed = 0;

	while (__atomic_exchange_n(&rl->lock, 1, __ATOMIC_ACQUIRE))
		;
	if (now - rl->window_start >= RATELIMIT_INTERVAL_NS) {
		suppressed = rl->suppressed;
		rl->window_start = now;
		rl->in_window = 0;
		rl->suppressed = 0;
	}
	allow = rl->in_window < RATELIMIT_BURST;
	if (allow)
		rl->in_window++;
	else
		rl->suppressed++;
	__atomic_store_n(&rl->lock, 0, __ATOMIC_RELEASE);
	if (suppressed)
		log_msg(LOG_WARN, "(%u similar messages suppressed)", suppressed);
	return allow;
}
