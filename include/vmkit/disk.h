/* SPDX-License-Identifier: MIT */
/*
 * disk: an asynchronous raw-image backend for block devices. Requests
 * (readv, writev, fdatasync, punch hole, zero range) are submitted from any
 * thread and complete later on a backend thread, which calls the owner's
 * completion callback (or on a thread that calls disk_poll()). Two engines: io_uring through liburing (the default
 * when the library was built in and the kernel allows it) and a thread pool
 * of blocking workers (the fallback, or forced with DISK_AIO_THREADS or the
 * environment variable VMKIT_DISK_AIO=threads).
 */
#ifndef VMKIT_DISK_H
#define VMKIT_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmkit/event.h"

enum disk_op {
	DISK_OP_READ,
	DISK_OP_WRITE,
	DISK_OP_FLUSH,        /* fdatasync: every write completed before submission is durable */
	DISK_OP_DISCARD,      /* punch a hole in [offset, offset + len); a hint: may do nothing */
	DISK_OP_WRITE_ZEROES, /* zero [offset, offset + len) keeping it allocated (zero range) */
	DISK_OP_WRITE_ZEROES_UNMAP, /* zero [offset, offset + len), deallocating (punch hole) */
};

enum disk_aio {
	DISK_AIO_AUTO,     /* io_uring if available, else threads (VMKIT_DISK_AIO overrides) */
	DISK_AIO_IO_URING, /* io_uring or fail */
	DISK_AIO_THREADS,  /* thread pool */
};

struct disk_req {
	enum disk_op op;
	const struct iovec *iov; /* READ/WRITE: buffers, iov_len sum == len */
	unsigned int iovcnt;
	uint64_t offset, len;
	int result;   /* set by the backend before completion: 0 or -errno */
	void *opaque; /* the owner's */
	/* backend-private */
	struct disk_req *next;
	uint64_t done;
};

/*
 * Called with n completed requests (result set), on a backend thread, the
 * cfg.loop thread, a disk_poll() caller or a disk_drain() caller.
 */
typedef void (*disk_complete_fn)(void *opaque, struct disk_req **reqs, unsigned int n);

struct disk_config {
	const char *path;
	bool readonly;
	bool direct;          /* O_DIRECT (cache=none); misaligned requests fall back to buffered I/O */
	enum disk_aio aio;
	unsigned int max_inflight; /* sizing hint for the io_uring ring; 0 for a default */
	/*
	 * io_uring: deliver completions on this loop's thread (it watches the
	 * ring's fd) instead of on a completion thread of the backend's own,
	 * saving a thread wake-up per batch. Only for an owner that submits
	 * from that thread (its notifications are served there). The loop must
	 * not be running yet and must outlive the disk. NULL: the thread.
	 */
	struct event_loop *loop;
	disk_complete_fn complete;
	void *opaque;
};

struct disk;

/*
 * Open and lock (flock: exclusive for writers, shared for readonly) a raw
 * image or block device and start the completion machinery. NULL and one
 * line in err on failure.
 */
struct disk *disk_open(const struct disk_config *cfg, char *err, size_t errlen);

/*
 * Submit n requests. Thread-safe; never blocks on I/O and never calls the
 * completion callback from the caller's thread: each request completes later
 * on a backend thread. 0, or -errno with none of the requests taken.
 */
int disk_submit(struct disk *d, struct disk_req **reqs, unsigned int n);

/*
 * Deliver completions that are already there (io_uring: requests the kernel
 * finished inline during disk_submit) on the caller's thread, saving a thread
 * hop. Call it holding none of the locks the completion callback takes. The
 * completion thread delivers them anyway; a no-op for the thread pool.
 * Returns the number of requests it completed.
 */
unsigned int disk_poll(struct disk *d);

/* Image size in bytes. */
uint64_t disk_size(const struct disk *d);

/* The engine in use: "io_uring" or "threads". */
const char *disk_engine(const struct disk *d);

/*
 * Wait until every submitted request has completed (its callback returned).
 * With cfg.loop it reaps completions itself meanwhile, so it works while the
 * loop's thread is busy or blocked (e.g. on a lock the caller holds).
 */
void disk_drain(struct disk *d);

/* Drain, stop the backend threads, unlock and close. NULL is a no-op. */
void disk_close(struct disk *d);

#endif
