// SPDX-License-Identifier: MIT
/*
 * The event loop's pollers: polled only while the adaptive window is open,
 * ended before every sleep, and the window closes (no polling at all) once
 * the loop's sleeps are longer than the maximum, so an idle VM costs no CPU.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmkit/event.h"
#include "vmkit/iothread.h"

#define MAX_NS 1000000ULL /* 1 ms */

static unsigned long polls, ends, events;
static int efd;

static bool poll_fn(void *opaque)
{
	__atomic_add_fetch(&polls, 1, __ATOMIC_RELAXED);
	return false;
}

static bool end_fn(void *opaque)
{
	__atomic_add_fetch(&ends, 1, __ATOMIC_RELAXED);
	return false;
}

static void on_event(void *opaque, uint32_t ev)
{
	uint64_t v;

	if (read(efd, &v, sizeof(v)) == sizeof(v))
		__atomic_add_fetch(&events, 1, __ATOMIC_RELAXED);
}

static void signal_and_wait(unsigned long n_before)
{
	uint64_t one = 1;

	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 5000 && __atomic_load_n(&events, __ATOMIC_RELAXED) == n_before; i++)
		usleep(100);
}

static void test_window_opens_with_short_sleeps_and_closes_when_idle(void **state)
{
	struct iothread t;
	unsigned long p0;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(iothread_init(&t), 0);
	assert_int_equal(event_loop_add(&t.loop, efd, 0x001 /* EPOLLIN */, on_event, NULL), 0);
	assert_int_equal(event_loop_add_poller(&t.loop, MAX_NS, poll_fn, end_fn, NULL), 0);
	assert_int_equal(iothread_start(&t, "evloop-test"), 0);
	usleep(20000);
	/* Idle from the start: the window is closed, nothing polls; end() ran before the sleep. */
	assert_int_equal(__atomic_load_n(&polls, __ATOMIC_RELAXED), 0);
	assert_true(__atomic_load_n(&ends, __ATOMIC_RELAXED) >= 1);
	/* Events in quick succession: the loop sleeps briefly each time, the window opens. */
	for (int i = 0; i < 20; i++)
		signal_and_wait(__atomic_load_n(&events, __ATOMIC_RELAXED));
	assert_true(__atomic_load_n(&polls, __ATOMIC_RELAXED) > 0);
	assert_true(t.loop.poll_ns <= MAX_NS);
	/* Events far apart (longer than the maximum): the window halves each time, down to nothing. */
	for (int i = 0; i < 20; i++) {
		usleep(5000);
		signal_and_wait(__atomic_load_n(&events, __ATOMIC_RELAXED));
	}
	usleep(5000);
	assert_int_equal(t.loop.poll_ns, 0);
	p0 = __atomic_load_n(&polls, __ATOMIC_RELAXED);
	usleep(20000);
	assert_int_equal(__atomic_load_n(&polls, __ATOMIC_RELAXED), p0); /* asleep, not spinning */
	iothread_stop(&t);
	assert_int_equal(event_loop_del_poller(&t.loop, NULL), 0);
	assert_int_equal(t.loop.poll_max_ns, 0);
	assert_int_equal(event_loop_del(&t.loop, efd), 0);
	iothread_destroy(&t);
	close(efd);
}

/* The automatic window: 16 wake-ups' worth, clamped; the minimum when unmeasured. */
static void test_auto_poll_window_scales_with_the_wake_cost(void **state)
{
	(void)state;
	assert_int_equal(event_auto_poll_us(0), EVENT_AUTO_POLL_MIN_US);
	assert_int_equal(event_auto_poll_us(500), EVENT_AUTO_POLL_MIN_US);              /* 8 us */
	assert_int_equal(event_auto_poll_us(2000), 2000 * EVENT_AUTO_POLL_WAKES / 1000); /* bare metal: 32 us */
	assert_int_equal(event_auto_poll_us(62500), 62500 * EVENT_AUTO_POLL_WAKES / 1000); /* nested: 1000 us */
	assert_int_equal(event_auto_poll_us(10 * 1000 * 1000), EVENT_AUTO_POLL_MAX_US);
	assert_int_equal(event_auto_poll_us(UINT64_MAX), EVENT_AUTO_POLL_MAX_US); /* no overflow to small */
}

static void test_wake_cost_median(void **state)
{
	uint64_t s[] = { 9, 1, 500, 3, 4 }, one[] = { 7 };

	(void)state;
	assert_int_equal(event_wake_cost_median(s, 5), 4); /* one slow outlier does not count */
	assert_int_equal(event_wake_cost_median(one, 1), 7);
	assert_int_equal(event_wake_cost_median(NULL, 0), 0);
}

/* A real measurement: two threads, eventfds; a wake-up takes some time, and not seconds. */
static void test_wake_cost_is_measured(void **state)
{
	uint64_t ns = event_wake_cost_ns();

	(void)state;
	assert_true(ns > 0);
	assert_true(ns < 100 * 1000 * 1000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_opens_with_short_sleeps_and_closes_when_idle),
		cmocka_unit_test(test_auto_poll_window_scales_with_the_wake_cost),
		cmocka_unit_test(test_wake_cost_median),
		cmocka_unit_test(test_wake_cost_is_measured),
	};

	return cmocka_run_group_tests_name("event loop pollers", tests, NULL, NULL);
}
