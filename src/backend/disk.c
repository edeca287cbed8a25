// SPDX-License-Identifier: MIT
/*
 * Raw-image disk backend with asynchronous requests.
 *
 * Two engines behind one interface:
 *  - io_uring (liburing): the submitting thread fills SQEs and enters the
 *    kernel itself (under a lock); a completion thread waits on the ring and
 *    calls the owner back in batches, and a submitter may reap what finished
 *    inline right away (disk_poll). With cfg.loop there is no completion
 *    thread: the owner's event loop watches the ring's fd and reaps on its
 *    own thread, where the requests were submitted. A completion thread
 *    sleeping in io_uring_enter is woken by every completion, even the ones
 *    the submitter reaps inline a moment later: that wake-up (and the lock
 *    hand-offs after it) was most of the per-request cost under nested
 *    virtualization, see bench/README.md. At most cq_entries requests are in the
 *    kernel at once; the rest wait on a list, so the completion ring never
 *    overflows. io_uring cancels a request when the thread that submitted it
 *    exits: such requests are resubmitted from the completion thread.
 *  - a thread pool of blocking workers (preadv/pwritev/fdatasync/fallocate),
 *    grown on demand up to POOL_MAX: the fallback when io_uring is missing
 *    (not compiled in, io_uring_queue_init fails, io_uring_disabled sysctl)
 *    and forced with DISK_AIO_THREADS or VMKIT_DISK_AIO=threads.
 *
 * Both engines finish rare cases synchronously on their own thread: a short
 * transfer (the remainder), an O_DIRECT request the host refuses for its
 * alignment (-EINVAL: redone buffered on a second descriptor), and zeroing
 * where the file system has no FALLOC_FL_ZERO_RANGE (explicit zero writes).
 * Durability: FLUSH is fdatasync(2) on the image, which covers every write
 * that completed before the flush was submitted (page cache or O_DIRECT).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef VMKIT_HAVE_LIBURING
#include <liburing.h>
#endif

#include "vmkit/disk.h"
#include "vmkit/log.h"
#include "vmkit/util.h"

#define POOL_MAX 16        /* thread-pool workers at most */
#define URING_SQ 256       /* submission ring entries */
#define URING_CQ 4096      /* completion ring entries: the in-kernel cap */
#define REAP_BATCH 64
#define ZERO_CHUNK (64 * 1024)
#define WAKE_TAG ((uint64_t)1) /* user_data of the eventfd poll */

struct disk {
	int fd;          /* O_DIRECT when cfg.direct */
	int fd_buffered; /* == fd unless direct */
	bool readonly;
	uint64_t size;
	disk_complete_fn complete;
	void *opaque;
	bool uring;

	pthread_mutex_t lock; /* pending list, workers, inflight */
	pthread_cond_t work;  /* workers wait for requests */
	pthread_cond_t idle;  /* drain waits for inflight == 0 */
	struct disk_req *head, *tail; /* pending requests */
	unsigned int nr_pending;
	uint64_t inflight;            /* submitted, callback not yet returned */
	bool stopping;

	/* thread pool */
	pthread_t workers[POOL_MAX];
	unsigned int nr_workers, idle_workers;

#ifdef VMKIT_HAVE_LIBURING
	struct io_uring ring;
	pthread_t reaper;        /* unless loop */
	struct event_loop *loop; /* reaps on its thread instead of the reaper */
	pthread_mutex_t cq_lock; /* one completion consumer at a time */
	int wake_fd;             /* eventfd polled through the ring: stop, resubmit */
	bool rearm;              /* the wake-up poll fired and must be armed again */
	unsigned int kernel_inflight, kernel_cap;
#endif
};

static void list_add(struct disk *d, struct disk_req *r)
{
	r->next = NULL;
	if (d->tail)
		d->tail->next = r;
	else
		d->head = r;
	d->tail = r;
	d->nr_pending++;
}

static struct disk_req *list_pop(struct disk *d)
{
	struct disk_req *r = d->head;

	if (r) {
		d->head = r->next;
		if (!d->head)
			d->tail = NULL;
		d->nr_pending--;
	}
	return r;
}

/* The owner's callback ran for n requests: they no longer count. */
static void finished(struct disk *d, unsigned int n)
{
	pthread_mutex_lock(&d->lock);
	d->inflight -= n;
	if (!d->inflight)
		pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
}

/*
 * Blocking read/write of the part of r not done yet (r->done bytes are),
 * segment by segment from the first unfinished byte.
 */
static int rw_sync(struct disk *d, struct disk_req *r, int fd)
{
	bool wr = r->op == DISK_OP_WRITE;
	uint64_t skip = r->done;

	for (unsigned int i = 0; i < r->iovcnt && r->done < r->len; i++) {
		uint8_t *base = r->iov[i].iov_base;
		size_t seg = r->iov[i].iov_len;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		base += skip;
		seg -= skip;
		skip = 0;
		while (seg) {
			ssize_t n = wr ? pwrite(fd, base, seg, (off_t)(r->offset + r->done))
				       : pread(fd, base, seg, (off_t)(r->offset + r->done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -EIO; /* end of file inside a checked range: the image shrank */
			base += n;
			seg -= (size_t)n;
			r->done += (uint64_t)n;
		}
	}
	return r->done == r->len ? 0 : -EIO;
}

static int write_zeroes_sync(struct disk *d, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[ZERO_CHUNK];

	while (len) {
		size_t n = (size_t)MIN(len, (uint64_t)ZERO_CHUNK);
		ssize_t w = pwrite(d->fd_buffered, zeros, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

static int falloc(int fd, int mode, uint64_t off, uint64_t len)
{
	return fallocate(fd, mode, (off_t)off, (off_t)len) ? -errno : 0;
}

/*
 * Zeroing the file system refused: if a hole could not be punched try a
 * zeroed range, and in the end write zeros (keeps the range allocated).
 */
static int zero_fallback(struct disk *d, struct disk_req *r)
{
	if (r->op == DISK_OP_WRITE_ZEROES_UNMAP &&
	    !falloc(d->fd_buffered, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, r->offset, r->len))
		return 0;
	return write_zeroes_sync(d, r->offset, r->len);
}

/*
 * Finish a request whose fast path returned res (0 or bytes, or -errno) on
 * the engine's thread: the remainder of a short transfer, O_DIRECT refusals,
 * fallbacks for file systems without a fallocate mode.
 */
static int finish_sync(struct disk *d, struct disk_req *r, int res)
{
	switch (r->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		if (res == -EINVAL && d->fd != d->fd_buffered)
			return rw_sync(d, r, d->fd_buffered); /* O_DIRECT alignment: redo buffered */
		if (res < 0)
			return res;
		r->done += (uint64_t)res;
		if (r->done >= r->len)
			return 0;
		return rw_sync(d, r, d->fd);
	case DISK_OP_DISCARD:
		/* A discard is a hint (virtio 1.2 s5.2.6.2): nothing to undo if unsupported. */
		return res == -EOPNOTSUPP || res == -ENOSYS ? 0 : res;
	case DISK_OP_WRITE_ZEROES:
	case DISK_OP_WRITE_ZEROES_UNMAP:
		if (res == -EOPNOTSUPP || res == -ENOSYS || res == -EINVAL)
			return zero_fallback(d, r);
		return res;
	default:
		return res;
	}
}

static int falloc_mode(enum disk_op op)
{
	if (op == DISK_OP_WRITE_ZEROES)
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
}

/* ---- thread pool ---- */

static int exec_blocking(struct disk *d, struct disk_req *r)
{
	ssize_t n;

	switch (r->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		do {
			int cnt = (int)MIN(r->iovcnt, (unsigned int)IOV_MAX); /* the rest goes through rw_sync */

			n = r->op == DISK_OP_WRITE ? pwritev(d->fd, r->iov, cnt, (off_t)r->offset)
						   : preadv(d->fd, r->iov, cnt, (off_t)r->offset);
		} while (n < 0 && errno == EINTR);
		return finish_sync(d, r, n < 0 ? -errno : (int)MIN((uint64_t)n, (uint64_t)INT32_MAX));
	case DISK_OP_FLUSH:
		return fdatasync(d->fd) ? -errno : 0;
	case DISK_OP_DISCARD:
	case DISK_OP_WRITE_ZEROES:
	case DISK_OP_WRITE_ZEROES_UNMAP:
		return finish_sync(d, r, falloc(d->fd, falloc_mode(r->op), r->offset, r->len));
	}
	return -EINVAL;
}

static void *worker_main(void *arg)
{
	struct disk *d = arg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct disk_req *r = list_pop(d);

		if (!r) {
			if (d->stopping)
				break;
			d->idle_workers++;
			pthread_cond_wait(&d->work, &d->lock);
			d->idle_workers--;
			continue;
		}
		pthread_mutex_unlock(&d->lock);
		r->result = exec_blocking(d, r);
		d->complete(d->opaque, &r, 1);
		pthread_mutex_lock(&d->lock);
		if (!--d->inflight)
			pthread_cond_broadcast(&d->idle);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static int pool_submit_locked(struct disk *d, struct disk_req **reqs, unsigned int n)
{
	/* Grow the pool while requests outnumber idle workers (before queueing: all or nothing). */
	for (unsigned int want = n + d->nr_pending; want > d->idle_workers && d->nr_workers < POOL_MAX; want--) {
		if (pthread_create(&d->workers[d->nr_workers], NULL, worker_main, d)) {
			if (!d->nr_workers)
				return -EAGAIN;
			break;
		}
		d->nr_workers++;
	}
	for (unsigned int i = 0; i < n; i++)
		list_add(d, reqs[i]);
	if (n == 1)
		pthread_cond_signal(&d->work);
	else
		pthread_cond_broadcast(&d->work);
	return 0;
}

/* ---- io_uring ---- */

#ifdef VMKIT_HAVE_LIBURING
static void uring_prep(struct disk *d, struct io_uring_sqe *sqe, struct disk_req *r)
{
	switch (r->op) {
	case DISK_OP_READ:
		io_uring_prep_readv(sqe, d->fd, r->iov, r->iovcnt, r->offset);
		break;
	case DISK_OP_WRITE:
		io_uring_prep_writev(sqe, d->fd, r->iov, r->iovcnt, r->offset);
		break;
	case DISK_OP_FLUSH:
		io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
		break;
	case DISK_OP_DISCARD:
	case DISK_OP_WRITE_ZEROES:
	case DISK_OP_WRITE_ZEROES_UNMAP:
		io_uring_prep_fallocate(sqe, d->fd, falloc_mode(r->op), r->offset, r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
}

static void uring_wake(struct disk *d)
{
	uint64_t one = 1;

	if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "disk: eventfd write: %s", strerror(errno));
}

/* Watch the wake-up eventfd (stop, or requests to resubmit). d->lock held. */
static void uring_arm_wake_locked(struct disk *d)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	if (!sqe) {
		io_uring_submit(&d->ring);
		sqe = io_uring_get_sqe(&d->ring);
	}
	if (!sqe)
		return; /* stays wanted: the next pass arms it */
	io_uring_prep_poll_add(sqe, d->wake_fd, POLLIN);
	io_uring_sqe_set_data(sqe, (void *)(uintptr_t)WAKE_TAG);
	d->rearm = false;
}

/*
 * Move pending requests into the ring while the kernel has room (at most
 * kernel_cap in flight, so the completion ring never overflows) and submit.
 * d->lock held; any thread may submit.
 */
static void uring_submit_locked(struct disk *d)
{
	int r;

	if (d->rearm)
		uring_arm_wake_locked(d);
	while (d->head && d->kernel_inflight < d->kernel_cap) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

		if (!sqe) {
			io_uring_submit(&d->ring);
			sqe = io_uring_get_sqe(&d->ring);
			if (!sqe)
				break;
		}
		uring_prep(d, sqe, list_pop(d));
		d->kernel_inflight++;
	}
	if (!io_uring_sq_ready(&d->ring))
		return;
	do {
		r = io_uring_submit(&d->ring);
	} while (r == -EINTR);
	if (r < 0) {
		/* -EAGAIN/-EBUSY: the SQEs stay queued; the reaper retries after its next wake-up. */
		log_ratelimited(LOG_WARN, "disk: io_uring_submit: %s", strerror(-r));
		uring_wake(d);
	}
}

/*
 * Consume every completion there is and call the owner back. One consumer at
 * a time (cq_lock): the reaper thread, or a submitter polling right after its
 * submit (requests the kernel finished inline, e.g. O_DIRECT on a RAM disk,
 * then complete without a thread hop). A request cancelled because the thread
 * that submitted it exited (io_uring ties requests to their submitter, Linux
 * 5.12+) is queued again for the reaper: read/write/fsync/fallocate of the
 * same range are idempotent.
 */
static unsigned int uring_reap(struct disk *d, bool wait_lock)
{
	struct disk_req *done[REAP_BATCH];
	unsigned int total = 0;

	if (wait_lock)
		pthread_mutex_lock(&d->cq_lock);
	else if (pthread_mutex_trylock(&d->cq_lock))
		return 0;
	for (;;) {
		struct io_uring_cqe *cqe;
		struct disk_req *again = NULL;
		unsigned int n = 0, seen = 0, nagain = 0;
		bool woken = false;

		while (n < REAP_BATCH && io_uring_peek_cqe(&d->ring, &cqe) == 0) {
			struct disk_req *req = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&d->ring, cqe);
			if ((uintptr_t)req == WAKE_TAG) {
				uint64_t v;

				if (read(d->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_ratelimited(LOG_WARN, "disk: eventfd read: %s", strerror(errno));
				woken = true;
				continue;
			}
			seen++;
			if (res == -ECANCELED) {
				req->next = again;
				again = req;
				nagain++;
				continue;
			}
			if (req->op == DISK_OP_FLUSH)
				req->result = res < 0 ? res : 0;
			else if (res >= 0 && (req->op != DISK_OP_READ && req->op != DISK_OP_WRITE))
				req->result = 0;
			else if (res >= 0 && (uint64_t)res == req->len)
				req->result = 0;
			else
				req->result = finish_sync(d, req, res);
			done[n++] = req;
		}
		if (!seen && !woken)
			break;
		pthread_mutex_lock(&d->lock);
		d->kernel_inflight -= seen;
		while (again) {
			struct disk_req *next = again->next;
			list_add(d, again);
			again = next;
		}
		if (woken && !d->stopping)
			d->rearm = true;
		pthread_mutex_unlock(&d->lock);
		if (nagain)
			uring_wake(d); /* the reaper resubmits them from its own thread */
		if (n) {
			d->complete(d->opaque, done, n);
			finished(d, n);
			total += n;
		}
	}
	pthread_mutex_unlock(&d->cq_lock);
	return total;
}

static void *reaper_main(void *arg)
{
	struct disk *d = arg;

	for (;;) {
		struct io_uring_cqe *cqe;
		bool stop;
		int r;

		pthread_mutex_lock(&d->lock);
		uring_submit_locked(d); /* re-arms the wake-up poll, resubmits cancelled requests */
		stop = d->stopping && !d->kernel_inflight;
		pthread_mutex_unlock(&d->lock);
		if (stop)
			break;
		/* Waiting consumes nothing and submits nothing: submitters run concurrently. */
		r = io_uring_wait_cqe(&d->ring, &cqe);
		if (r < 0 && r != -EINTR && r != -EAGAIN) {
			log_error("disk: io_uring_wait_cqe: %s", strerror(-r));
			break;
		}
		uring_reap(d, true);
	}
	return NULL;
}

/* The owner's loop: the ring has completions (or the wake-up poll fired). */
static void ring_event(void *opaque, uint32_t events)
{
	struct disk *d = opaque;

	(void)events;
	uring_reap(d, true);
	pthread_mutex_lock(&d->lock);
	if (d->rearm || d->head)
		uring_submit_locked(d); /* re-arms the wake-up poll, resubmits cancelled requests */
	pthread_mutex_unlock(&d->lock);
}

static int uring_start(struct disk *d, struct event_loop *loop, char *err, size_t errlen)
{
	struct io_uring_params p;
	int r;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = URING_CQ;
	r = io_uring_queue_init_params(URING_SQ, &d->ring, &p);
	if (r < 0) {
		snprintf(err, errlen, "io_uring unavailable: %s", strerror(-r));
		return r;
	}
	d->kernel_cap = p.cq_entries - 1; /* one CQE stays free for the wake-up poll */
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake_fd < 0) {
		r = -errno;
		io_uring_queue_exit(&d->ring);
		snprintf(err, errlen, "eventfd: %s", strerror(-r));
		return r;
	}
	pthread_mutex_init(&d->cq_lock, NULL);
	d->rearm = true;
	if (loop) {
		r = event_loop_add(loop, d->ring.ring_fd, EPOLLIN, ring_event, d);
		if (!r) {
			d->loop = loop;
			d->uring = true;
			return 0;
		}
		log_debug("disk: cannot watch the io_uring fd (%s); using a completion thread", strerror(-r));
	}
	r = pthread_create(&d->reaper, NULL, reaper_main, d);
	if (r) {
		pthread_mutex_destroy(&d->cq_lock);
		close(d->wake_fd);
		io_uring_queue_exit(&d->ring);
		snprintf(err, errlen, "cannot start the disk completion thread: %s", strerror(r));
		return -r;
	}
	d->uring = true;
	return 0;
}

/* stopping is set: the reaper finishes what is in the kernel and exits. */
static void uring_stop(struct disk *d)
{
	if (d->loop) {
		event_loop_del(d->loop, d->ring.ring_fd); /* the loop no longer runs (owner contract) */
	} else {
		uring_wake(d);
		pthread_join(d->reaper, NULL);
	}
	io_uring_queue_exit(&d->ring);
	pthread_mutex_destroy(&d->cq_lock);
	close(d->wake_fd);
}
#endif

/* ---- common ---- */

int disk_submit(struct disk *d, struct disk_req **reqs, unsigned int n)
{
	int r = 0;

	if (!n)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		reqs[i]->result = 0;
		reqs[i]->done = 0;
	}
	pthread_mutex_lock(&d->lock);
	if (d->stopping) {
		r = -ESHUTDOWN;
		goto out;
	}
#ifdef VMKIT_HAVE_LIBURING
	if (d->uring) {
		for (unsigned int i = 0; i < n; i++)
			list_add(d, reqs[i]);
		d->inflight += n;
		uring_submit_locked(d);
		goto out;
	}
#endif
	r = pool_submit_locked(d, reqs, n);
	if (!r)
		d->inflight += n;
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

unsigned int disk_poll(struct disk *d)
{
#ifdef VMKIT_HAVE_LIBURING
	unsigned int n;

	if (!d->uring)
		return 0;
	n = uring_reap(d, false);
	pthread_mutex_lock(&d->lock);
	if (d->rearm || d->head)
		uring_submit_locked(d);
	pthread_mutex_unlock(&d->lock);
	return n;
#else
	(void)d;
	return 0;
#endif
}

static bool want_uring(enum disk_aio aio)
{
	const char *env = getenv("VMKIT_DISK_AIO");

	if (aio == DISK_AIO_AUTO && env && !strcmp(env, "threads"))
		return false;
	return aio != DISK_AIO_THREADS;
}

struct disk *disk_open(const struct disk_config *cfg, char *err, size_t errlen)
{
	struct disk *d = calloc(1, sizeof(*d));
	int flags = (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->fd = d->fd_buffered = -1;
	d->fd_buffered = open(cfg->path, flags);
	if (d->fd_buffered < 0) {
		snprintf(err, errlen, "cannot open disk %s: %s", cfg->path, strerror(errno));
		goto fail;
	}
	if (fstat(d->fd_buffered, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "disk %s is not a regular file or block device", cfg->path);
		goto fail;
	}
	/* One writer at a time: a second VMM on the same image would corrupt it. */
	if (flock(d->fd_buffered, (cfg->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		snprintf(err, errlen, "disk %s is in use by another process (locked)", cfg->path);
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd_buffered, BLKGETSIZE64, &d->size) < 0) {
			snprintf(err, errlen, "cannot get the size of disk %s: %s", cfg->path, strerror(errno));
			goto fail;
		}
	} else {
		d->size = (uint64_t)st.st_size;
	}
	d->fd = d->fd_buffered;
	if (cfg->direct) {
		d->fd = open(cfg->path, flags | O_DIRECT);
		if (d->fd < 0) {
			snprintf(err, errlen, "disk %s: cache=none (O_DIRECT) is not supported here: %s", cfg->path,
				 strerror(errno));
			goto fail;
		}
	}
	d->readonly = cfg->readonly;
	d->complete = cfg->complete;
	d->opaque = cfg->opaque;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->idle, NULL);
	if (want_uring(cfg->aio)) {
#ifdef VMKIT_HAVE_LIBURING
		char why[128];

		if (uring_start(d, cfg->loop, why, sizeof(why)) < 0) {
			if (cfg->aio == DISK_AIO_IO_URING) {
				snprintf(err, errlen, "disk %s: %s", cfg->path, why);
				goto fail_sync;
			}
			log_debug("disk %s: %s; using the thread pool", cfg->path, why);
		}
#else
		if (cfg->aio == DISK_AIO_IO_URING) {
			snprintf(err, errlen, "disk %s: this vmkit was built without io_uring (liburing)", cfg->path);
			goto fail_sync;
		}
#endif
	}
	return d;
fail_sync:
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
fail:
	if (d->fd >= 0 && d->fd != d->fd_buffered)
		close(d->fd);
	if (d->fd_buffered >= 0)
		close(d->fd_buffered);
	free(d);
	return NULL;
}

uint64_t disk_size(const struct disk *d)
{
	return d->size;
}

const char *disk_engine(const struct disk *d)
{
	return d->uring ? "io_uring" : "threads";
}

void disk_drain(struct disk *d)
{
	pthread_mutex_lock(&d->lock);
	while (d->inflight) {
#ifdef VMKIT_HAVE_LIBURING
		if (d->loop) {
			/*
			 * No completion thread: reap here. The loop's thread may be
			 * blocked behind our caller (a device reset holds the lock
			 * its kicks take), so it cannot be waited for. The poll
			 * timeout covers completions the loop's thread reaps
			 * between our check and our sleep.
			 */
			struct pollfd pfd = { .fd = d->ring.ring_fd, .events = POLLIN };

			if (d->rearm || d->head)
				uring_submit_locked(d);
			pthread_mutex_unlock(&d->lock);
			if (poll(&pfd, 1, 10) < 0 && errno != EINTR)
				log_ratelimited(LOG_WARN, "disk: poll: %s", strerror(errno));
			uring_reap(d, true);
			pthread_mutex_lock(&d->lock);
			continue;
		}
#endif
		pthread_cond_wait(&d->idle, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	disk_drain(d);
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->work);
	pthread_mutex_unlock(&d->lock);
	for (unsigned int i = 0; i < d->nr_workers; i++)
		pthread_join(d->workers[i], NULL);
#ifdef VMKIT_HAVE_LIBURING
	if (d->uring)
		uring_stop(d);
#endif
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
	if (d->fd != d->fd_buffered)
		close(d->fd);
	close(d->fd_buffered); /* drops the flock */
	free(d);
}
