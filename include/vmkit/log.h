/* SPDX-License-Identifier: MIT */
/* log: leveled logging to stderr, with per-call-site rate limiting. */
#ifndef VMKIT_LOG_H
#define VMKIT_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped. Default LOG_WARN; VMKIT_LOG=debug|info|warn|error. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Thread-safe; prefixes "vmkit: " and appends a newline. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A burst of `burst` messages per `interval_ns`, then suppression (counted). */
struct ratelimit {
	uint64_t window_start;
	uint32_t in_window;
	uint32_t suppressed;
	int lock; /* spin flag, see ratelimit_allow() */
};

/* Thread-safe. Returns true if the caller may log now. */
bool ratelimit_allow(struct ratelimit *rl);

/* Guest-triggerable logs must use this: 10 per second per call site. */
#define log_ratelimited(level, ...)                                  \
	do {                                                         \
		static struct ratelimit rl__;                        \
		if (log_get_level() >= (level) && ratelimit_allow(&rl__)) \
			log_msg((level), __VA_ARGS__);               \
	} while (0)

#endif
