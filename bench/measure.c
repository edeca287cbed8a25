// SPDX-License-Identifier: MIT
/*
 * measure: run a command and report what it cost, for bench/startup.
 *
 *   measure [-e FILE] -- CMD [ARGS...]
 *       Run CMD once (stdin and stdout /dev/null, stderr to FILE or /dev/null)
 *       and print one line:
 *         status=S wall_us=W user_us=U sys_us=Y maxrss_kb=R
 *       S is the exit status, or 128+N if killed by signal N.
 *
 *   measure -t SECONDS [-x STATUS] -- CMD [ARGS...]
 *       Run CMD sequentially, back to back, until SECONDS have elapsed and
 *       print:  runs=N failed=F elapsed_us=E
 *       A run fails if its exit status is not STATUS (default 0).
 *
 * Why a C helper rather than Python's subprocess: a child's ru_maxrss is the
 * high-water mark over its whole life, including the time between fork() and
 * exec() when it is still a copy of the parent. Forked from a Python
 * interpreter that copy is ~10 MiB; forked from this small program it is well
 * under 1 MiB, small next to what is being measured. Timing around
 * fork/wait4 here also keeps the interpreter's own costs out of the figures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long tv_us(const struct timeval *tv)
{
	return (long long)tv->tv_sec * 1000000 + tv->tv_usec;
}

/* Run argv once; fill status and rusage. Returns 0 or -1 if it could not run. */
static int run_once(char **argv, const char *errfile, int *status, struct rusage *ru)
{
	pid_t pid;
	int ws;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int err = errfile ? open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null;

		if (null < 0 || err < 0)
			_exit(127);
		dup2(null, 0);
		dup2(null, 1);
		dup2(err, 2);
		execvp(argv[0], argv);
		dprintf(2, "measure: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &ws, 0, ru) < 0) {
		if (errno != EINTR)
			return -1;
	}
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

static void usage(void)
{
	fputs("usage: measure [-e FILE] -- CMD [ARGS...]\n"
	      "       measure -t SECONDS [-x STATUS] [-e FILE] -- CMD [ARGS...]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *errfile = NULL;
	double seconds = 0;
	int expect = 0, opt, status;
	struct rusage ru;
	long long t0, t1;

	while ((opt = getopt(argc, argv, "+e:t:x:")) != -1) {
		switch (opt) {
		case 'e':
			errfile = optarg;
			break;
		case 't':
			seconds = atof(optarg);
			if (seconds <= 0)
				usage();
			break;
		case 'x':
			expect = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	argv += optind;

	if (seconds > 0) {
		long long deadline, runs = 0, failed = 0;

		t0 = now_us();
		deadline = t0 + (long long)(seconds * 1e6);
		do {
			if (run_once(argv, errfile, &status, &ru)) {
				perror("measure");
				return 1;
			}
			runs++;
			if (status != expect)
				failed++;
			t1 = now_us();
		} while (t1 < deadline);
		printf("runs=%lld failed=%lld elapsed_us=%lld\n", runs, failed, t1 - t0);
		return 0;
	}

	t0 = now_us();
	if (run_once(argv, errfile, &status, &ru)) {
		perror("measure");
		return 1;
	}
	t1 = now_us();
	printf("status=%d wall_us=%lld user_us=%lld sys_us=%lld maxrss_kb=%ld\n", status, t1 - t0,
	       tv_us(&ru.ru_utime), tv_us(&ru.ru_stime), ru.ru_maxrss);
	return 0;
}
