// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.2 s5.2) on a raw image through the asynchronous disk
 * backend.
 *
 * A request (s5.2.6) is a 16-byte header (type, reserved, sector) in
 * device-readable memory, then data buffers (readable for writes and the
 * discard/write-zeroes segment list, writable for reads and GET_ID), and a
 * one-byte status: the last device-writable byte. queue_notify pops every
 * available buffer under the queue's lock, validates it and submits its disk
 * operations in one batch; a request the device can answer at once (bad
 * shape, out of range, GET_ID, unsupported) is returned immediately. The
 * backend completes operations on its own threads; the last operation of a
 * request writes the status byte and pushes the buffer under the same queue
 * lock, then interrupts the driver if it wants one. So nothing here depends
 * on which thread kicks, and a vCPU never waits for the disk.
 *
 * A chain that cannot be walked marks the device DEVICE_NEEDS_RESET (done by
 * the virtio core); a request of the wrong shape only fails itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "vmkit/event.h"
#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/virtio_blk.h"

#define VIRTIO_ID_BLOCK 2
/* Polling: an interrupt waits at most this fraction of the polling window for the guest's burst to end. */
#define BLK_IRQ_DEFER_DIVISOR 4

/* Feature bits (s5.2.3) */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (s5.2.6) */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_WZ_FLAG_UNMAP 1

#define SECTOR 512
#define HDR_SIZE 16
#define RANGE_SIZE 16 /* struct virtio_blk_discard_write_zeroes */
#define QUEUE_SIZE 256
#define SEG_MAX (QUEUE_SIZE - 2) /* data segments; header and status take two descriptors */
#define SIZE_MAX_BYTES (1u << 20)
#define MAX_RANGE_SEGS 16       /* max_discard_seg, max_write_zeroes_seg */
#define MAX_RANGE_SECTORS (1u << 22) /* 2 GiB per segment */
#define DISCARD_ALIGN_SECTORS 8 /* 4 KiB: the usual host file-system block, where holes are made */
#define CONFIG_SIZE 60          /* up to write_zeroes_may_unmap and its padding (s5.2.4) */
#define SUBMIT_BATCH 64

struct blk_queue;

struct blk_req {
	struct blk_queue *q;
	struct blk_req *next_free;
	uint16_t id, ndescs; /* for the push */
	uint64_t in_len;
	uint8_t *status;     /* the last device-writable byte */
	unsigned int pending; /* disk operations outstanding */
	int error;
	unsigned int nsub;
	struct disk_req sub[MAX_RANGE_SEGS];
	struct iovec iov[SEG_MAX];
};

struct blk_queue {
	pthread_mutex_t lock; /* pops, pushes and interrupts of this virtqueue */
	struct virtio_blk *blk;
	unsigned int index;
	bool stopped;          /* device reset in progress: pop nothing */
	uint64_t irq_owed_ns;  /* polling: when a deferred interrupt decision was first owed (0: none) */
	struct blk_req *free;  /* recycled requests */
	struct virtq_elem elem; /* pop scratch */
	struct virtq_elem done; /* push scratch: only id, ndescs and in_len are used */
};

struct virtio_blk {
	struct virtio_device_ops ops; /* per instance: nr_queues = num_queues */
	struct disk *disk;
	bool readonly;
	uint64_t sectors;
	unsigned int num_queues;
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	struct virtio_dev *vdev; /* set at activation / first kick */
	uint64_t requests, errors, bad; /* atomics */
	struct blk_queue *queues[VIRTIO_BLK_MAX_QUEUES];
	struct event_loop *loop; /* polled by it (poll_us) */
	pthread_t loop_thread;   /* the polling loop's thread, once it has polled */
	bool loop_thread_known;
	uint64_t irq_defer_ns;   /* polling: how long an interrupt may wait for the guest's burst to end */
};

static void blk_complete(void *opaque, struct disk_req **reqs, unsigned int n);
static bool blk_poll(void *opaque);
static bool blk_poll_end(void *opaque);

struct virtio_blk *virtio_blk_create(const struct virtio_blk_config *cfg, char *err, size_t errlen)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	struct disk_config dc = {
		.path = cfg->path,
		.readonly = cfg->readonly,
		.direct = cfg->direct,
		.aio = cfg->aio,
		.loop = cfg->loop,
		.complete = blk_complete,
	};
	uint64_t size;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->num_queues = cfg->num_queues ? cfg->num_queues : 1;
	if (b->num_queues > VIRTIO_BLK_MAX_QUEUES) {
		snprintf(err, errlen, "disk %s: at most %d queues", cfg->path, VIRTIO_BLK_MAX_QUEUES);
		goto fail;
	}
	if (cfg->serial && strlen(cfg->serial) > VIRTIO_BLK_ID_BYTES) {
		snprintf(err, errlen, "disk %s: serial longer than %d bytes", cfg->path, VIRTIO_BLK_ID_BYTES);
		goto fail;
	}
	for (unsigned int i = 0; i < b->num_queues; i++) {
		struct blk_queue *q = calloc(1, sizeof(*q));

		if (!q) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		pthread_mutex_init(&q->lock, NULL);
		q->blk = b;
		q->index = i;
		b->queues[i] = q;
	}
	dc.opaque = b;
	b->disk = disk_open(&dc, err, errlen);
	if (!b->disk)
		goto fail;
	size = disk_size(b->disk);
	if (size % SECTOR)
		log_warn("disk %s: size is not a multiple of 512; the tail is not visible", cfg->path);
	b->sectors = size / SECTOR;
	if (cfg->loop && cfg->poll_us) {
		if (event_loop_add_poller(cfg->loop, (uint64_t)cfg->poll_us * 1000, blk_poll, blk_poll_end, b)) {
			snprintf(err, errlen, "out of memory");
			disk_close(b->disk);
			goto fail;
		}
		b->loop = cfg->loop;
		b->irq_defer_ns = (uint64_t)cfg->poll_us * 1000 / BLK_IRQ_DEFER_DIVISOR;
	}
	b->readonly = cfg->readonly;
	snprintf(b->serial, sizeof(b->serial), "%s", cfg->serial ? cfg->serial : "");
	b->ops = virtio_blk_ops;
	b->ops.nr_queues = b->num_queues;
	return b;
fail:
	for (unsigned int i = 0; i < b->num_queues && i < VIRTIO_BLK_MAX_QUEUES; i++) {
		if (b->queues[i]) {
			pthread_mutex_destroy(&b->queues[i]->lock);
			free(b->queues[i]);
		}
	}
	free(b);
	return NULL;
}

struct virtio_blk *virtio_blk_open(const char *path, bool readonly, const char *serial, char *err, size_t errlen)
{
	struct virtio_blk_config cfg = { .path = path, .readonly = readonly, .serial = serial };

	return virtio_blk_create(&cfg, err, errlen);
}

void virtio_blk_get_stats(struct virtio_blk *b, struct virtio_blk_stats *s)
{
	s->requests = __atomic_load_n(&b->requests, __ATOMIC_RELAXED);
	s->errors = __atomic_load_n(&b->errors, __ATOMIC_RELAXED);
	s->bad = __atomic_load_n(&b->bad, __ATOMIC_RELAXED);
}

void virtio_blk_drain(struct virtio_blk *b)
{
	disk_drain(b->disk);
}

const struct virtio_device_ops *virtio_blk_dev_ops(const struct virtio_blk *b)
{
	return &b->ops;
}

const char *virtio_blk_engine(const struct virtio_blk *b)
{
	return disk_engine(b->disk);
}

static uint64_t blk_features(void *impl)
{
	struct virtio_blk *b = impl;
	uint64_t f = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		     (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH);

	if (b->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else
		f |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	if (b->num_queues > 1)
		f |= 1ULL << VIRTIO_BLK_F_MQ;
	return f;
}

/* struct virtio_blk_config, s5.2.4; fields of features not offered read as zero. */
static void blk_config_read(void *impl, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_blk *b = impl;
	uint8_t cfg[CONFIG_SIZE] = { 0 };

	put_le64(cfg, b->sectors);         /* capacity */
	put_le32(cfg + 8, SIZE_MAX_BYTES); /* size_max */
	put_le32(cfg + 12, SEG_MAX);       /* seg_max */
	put_le32(cfg + 20, SECTOR);        /* blk_size */
	put_le16(cfg + 34, (uint16_t)b->num_queues);
	if (!b->readonly) {
		put_le32(cfg + 36, MAX_RANGE_SECTORS);     /* max_discard_sectors */
		put_le32(cfg + 40, MAX_RANGE_SEGS);        /* max_discard_seg */
		put_le32(cfg + 44, DISCARD_ALIGN_SECTORS); /* discard_sector_alignment */
		put_le32(cfg + 48, MAX_RANGE_SECTORS);     /* max_write_zeroes_sectors */
		put_le32(cfg + 52, MAX_RANGE_SEGS);        /* max_write_zeroes_seg */
		cfg[56] = 1;                               /* write_zeroes_may_unmap */
	}
	memcpy(data, cfg + off, size); /* the transport bounds off + size */
}

static struct blk_req *req_get(struct blk_queue *q)
{
	struct blk_req *r = q->free;

	if (r) {
		q->free = r->next_free;
		return r;
	}
	/* At most one request per ring slot is ever in flight, so this is bounded. */
	r = malloc(sizeof(*r));
	if (r)
		r->q = q;
	return r;
}

static void count(struct virtio_blk *b, uint8_t status, bool bad)
{
	__atomic_add_fetch(&b->requests, 1, __ATOMIC_RELAXED);
	if (status != VIRTIO_BLK_S_OK)
		__atomic_add_fetch(&b->errors, 1, __ATOMIC_RELAXED);
	if (bad)
		__atomic_add_fetch(&b->bad, 1, __ATOMIC_RELAXED);
}

/* Write the status, return the buffer and recycle the request. Queue lock held. */
static void finish_locked(struct blk_queue *q, struct blk_req *r, uint8_t status)
{
	struct virtio_dev *vdev = __atomic_load_n(&q->blk->vdev, __ATOMIC_ACQUIRE);

	if (r->status)
		*r->status = status;
	q->done.id = r->id;
	q->done.ndescs = r->ndescs;
	q->done.in_len = r->in_len;
	/* Everything up to and including the status byte was written (s2.7.8 used length). */
	virtq_push(&vdev->vq[q->index], &q->done, (uint32_t)MIN(r->in_len, (uint64_t)UINT32_MAX));
	count(q->blk, status, false);
	r->next_free = q->free;
	q->free = r;
}

static bool range_ok(struct virtio_blk *b, uint64_t sector, uint64_t nsectors)
{
	return sector <= b->sectors && nsectors <= b->sectors - sector;
}

/* Collect the data buffers of a read or write into r->iov; total bytes or -1. */
static int64_t gather(struct virtq_elem *e, struct blk_req *r, bool write)
{
	uint64_t len = 0, skip = HDR_SIZE, left = e->in_len - 1; /* the last writable byte is the status */
	unsigned int first = write ? 0 : e->out_num, last = write ? e->out_num : e->out_num + e->in_num;

	r->sub[0].iovcnt = 0;
	for (unsigned int i = first; i < last; i++) {
		struct iovec v = e->iov[i];

		if (write) {
			/* The header may share a descriptor with data (s2.6.4: no framing assumed). */
			if (skip >= v.iov_len) {
				skip -= v.iov_len;
				continue;
			}
			v.iov_base = (uint8_t *)v.iov_base + skip;
			v.iov_len -= skip;
			skip = 0;
		} else {
			if (!left)
				break;
			v.iov_len = MIN(v.iov_len, left);
			left -= v.iov_len;
		}
		if (v.iov_len > SIZE_MAX_BYTES || r->sub[0].iovcnt >= SEG_MAX)
			return -1; /* beyond the size_max / seg_max we advertised */
		r->iov[r->sub[0].iovcnt++] = v;
		len += v.iov_len;
	}
	return (int64_t)len;
}

/* Parse the discard / write-zeroes segment list (s5.2.6: struct virtio_blk_discard_write_zeroes). */
static uint8_t parse_ranges(struct virtio_blk *b, struct virtq_elem *e, struct blk_req *r, uint32_t type, bool *bad)
{
	uint8_t raw[MAX_RANGE_SEGS * RANGE_SIZE];
	uint64_t bytes = e->out_len - HDR_SIZE;
	unsigned int n = (unsigned int)(bytes / RANGE_SIZE);

	*bad = true;
	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	/* s5.2.6.2: more segments than max_*_seg, or a partial segment, is an error. */
	if (bytes == 0 || bytes % RANGE_SIZE || n > MAX_RANGE_SEGS)
		return VIRTIO_BLK_S_IOERR;
	if (virtq_elem_read(e, HDR_SIZE, raw, bytes) != bytes)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t sector = get_le64(raw + RANGE_SIZE * i);
		uint32_t nsec = get_le32(raw + RANGE_SIZE * i + 8);
		uint32_t flags = get_le32(raw + RANGE_SIZE * i + 12);
		struct disk_req *s = &r->sub[i];

		/* s5.2.6.2: UNSUPP for the unmap flag on discard and for reserved flags. */
		if ((flags & ~VIRTIO_BLK_WZ_FLAG_UNMAP) ||
		    (type == VIRTIO_BLK_T_DISCARD && (flags & VIRTIO_BLK_WZ_FLAG_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (nsec > MAX_RANGE_SECTORS || !range_ok(b, sector, nsec))
			return VIRTIO_BLK_S_IOERR;
		if (type == VIRTIO_BLK_T_DISCARD)
			s->op = DISK_OP_DISCARD;
		else
			s->op = flags & VIRTIO_BLK_WZ_FLAG_UNMAP ? DISK_OP_WRITE_ZEROES_UNMAP : DISK_OP_WRITE_ZEROES;
		s->offset = sector * SECTOR;
		s->len = (uint64_t)nsec * SECTOR;
		s->iov = NULL;
		s->iovcnt = 0;
	}
	r->nsub = n;
	*bad = false;
	return VIRTIO_BLK_S_OK;
}

/*
 * Validate one request and prepare its disk operations in r->sub. Returns
 * VIRTIO_BLK_S_OK when they are ready to submit (r->nsub may be 0: nothing
 * to do), else the status to complete the request with now.
 */
static uint8_t prepare(struct virtio_blk *b, struct virtq_elem *e, struct blk_req *r, bool *bad)
{
	uint8_t hdr[HDR_SIZE];
	uint32_t type;
	uint64_t sector;
	int64_t len;

	*bad = true;
	r->nsub = 0;
	if (virtq_elem_read(e, 0, hdr, HDR_SIZE) != HDR_SIZE)
		return VIRTIO_BLK_S_IOERR;
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		len = gather(e, r, type == VIRTIO_BLK_T_OUT);
		if (len < 0 || len % SECTOR || !range_ok(b, sector, (uint64_t)len / SECTOR))
			return VIRTIO_BLK_S_IOERR;
		/* s5.2.6.2: a write to a read-only device fails. */
		if (type == VIRTIO_BLK_T_OUT && b->readonly)
			return VIRTIO_BLK_S_IOERR;
		*bad = false;
		if (!len)
			return VIRTIO_BLK_S_OK;
		r->sub[0].op = type == VIRTIO_BLK_T_OUT ? DISK_OP_WRITE : DISK_OP_READ;
		r->sub[0].iov = r->iov;
		r->sub[0].offset = sector * SECTOR;
		r->sub[0].len = (uint64_t)len;
		r->nsub = 1;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		/*
		 * fdatasync covers every write completed before it (s5.2.6.1:
		 * flush makes completed writes durable); in-flight ones are the
		 * driver's to order, as it does by waiting for them first.
		 */
		*bad = false;
		r->sub[0].op = DISK_OP_FLUSH;
		r->sub[0].iov = NULL;
		r->sub[0].iovcnt = 0;
		r->sub[0].offset = r->sub[0].len = 0;
		r->nsub = 1;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		uint8_t id[VIRTIO_BLK_ID_BYTES] = { 0 };

		/* s5.2.6: up to 20 bytes, not NUL-terminated when exactly 20. */
		memcpy(id, b->serial, strlen(b->serial));
		virtq_elem_write(e, 0, id, MIN((uint64_t)sizeof(id), e->in_len - 1));
		*bad = false;
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_ranges(b, e, r, type, bad);
	default:
		*bad = false; /* a type we do not offer is an honest UNSUPP, not a malformed request */
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * The interrupt decision after q's used ring moved. While the loop polls,
 * on its thread, the decision waits for the end of the loop's pass (see
 * serve_all): the guest is usually still adding requests then, and the
 * completions of the whole burst share one interrupt, where deciding now
 * would interrupt the guest in the middle of it. Queue lock held.
 */
static void notify_locked(struct virtio_blk *b, struct virtio_dev *vdev, struct blk_queue *q)
{
	if (vdev->vq[q->index].polling && b->irq_defer_ns && b->loop_thread_known &&
	    pthread_equal(b->loop_thread, pthread_self())) {
		if (!q->irq_owed_ns)
			__atomic_store_n(&q->irq_owed_ns, now_ns(), __ATOMIC_RELAXED);
		return;
	}
	__atomic_store_n(&q->irq_owed_ns, 0, __ATOMIC_RELAXED);
	virtio_dev_notify_queue(vdev, q->index);
}

/* The backend finished n operations (on its thread). */
static void blk_complete(void *opaque, struct disk_req **reqs, unsigned int n)
{
	struct virtio_blk *b = opaque;
	uint32_t dirty = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct blk_req *r = reqs[i]->opaque;
		struct blk_queue *q = r->q;

		if (reqs[i]->result < 0) {
			__atomic_compare_exchange_n(&r->error, &(int){ 0 }, reqs[i]->result, false, __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
			log_ratelimited(LOG_WARN, "virtio-blk: I/O error: %s", strerror(-reqs[i]->result));
		}
		/* The last operation of a request completes it (the others' results are visible by then). */
		if (__atomic_sub_fetch(&r->pending, 1, __ATOMIC_ACQ_REL))
			continue;
		pthread_mutex_lock(&q->lock);
		finish_locked(q, r, r->error ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
		pthread_mutex_unlock(&q->lock);
		dirty |= 1u << q->index;
	}
	/* One interrupt decision per queue per batch (s2.7.7 suppression applies). */
	for (unsigned int i = 0; dirty; i++, dirty >>= 1) {
		if (!(dirty & 1))
			continue;
		pthread_mutex_lock(&b->queues[i]->lock);
		notify_locked(b, __atomic_load_n(&b->vdev, __ATOMIC_ACQUIRE), b->queues[i]);
		pthread_mutex_unlock(&b->queues[i]->lock);
	}
}

/* Submit a batch; if the backend refuses it, those requests fail now. Queue lock held. */
static void submit_locked(struct blk_queue *q, struct disk_req **batch, unsigned int n)
{
	int r;

	if (!n)
		return;
	r = disk_submit(q->blk->disk, batch, n);
	if (!r)
		return;
	log_ratelimited(LOG_WARN, "virtio-blk: cannot submit I/O: %s", strerror(-r));
	for (unsigned int i = 0; i < n; i++) {
		struct blk_req *br = batch[i]->opaque;

		br->error = r;
		if (!__atomic_sub_fetch(&br->pending, 1, __ATOMIC_ACQ_REL))
			finish_locked(q, br, VIRTIO_BLK_S_IOERR);
	}
}

/* Pop and start every request there is; returns how many were popped. */
static unsigned int serve_locked(struct virtio_blk *b, struct virtio_dev *vdev, struct blk_queue *q)
{
	struct virtq *vq = &vdev->vq[q->index];
	struct disk_req *batch[SUBMIT_BATCH];
	unsigned int nb = 0, popped = 0;
	int rc;

	while ((rc = virtq_pop(vq, &q->elem)) > 0) {
		struct virtq_elem *e = &q->elem;
		struct blk_req *r = req_get(q);
		uint8_t status;
		bool bad;

		popped++;

		if (!r) {
			/* Out of host memory: fail this one request, not the device. */
			uint8_t st = VIRTIO_BLK_S_IOERR;
			if (e->in_len)
				virtq_elem_write(e, e->in_len - 1, &st, 1);
			virtq_push(vq, e, (uint32_t)MIN(e->in_len, (uint64_t)UINT32_MAX));
			count(b, st, false);
			continue;
		}
		r->id = e->id;
		r->ndescs = e->ndescs;
		r->in_len = e->in_len;
		r->error = 0;
		r->status = NULL;
		if (!e->in_len) {
			/* No room for a status byte: nothing can be reported; return the buffer. */
			__atomic_add_fetch(&b->bad, 1, __ATOMIC_RELAXED);
			finish_locked(q, r, VIRTIO_BLK_S_IOERR);
			continue;
		}
		/* The status is the last device-writable byte, wherever its descriptor ends. */
		{
			uint64_t off = e->in_len - 1;
			for (unsigned int i = e->out_num; i < e->out_num + e->in_num; i++) {
				if (off < e->iov[i].iov_len) {
					r->status = (uint8_t *)e->iov[i].iov_base + off;
					break;
				}
				off -= e->iov[i].iov_len;
			}
		}
		status = prepare(b, e, r, &bad);
		if (status != VIRTIO_BLK_S_OK || r->nsub == 0) {
			if (bad) {
				__atomic_add_fetch(&b->bad, 1, __ATOMIC_RELAXED);
				log_ratelimited(LOG_DEBUG, "virtio-blk: bad request on queue %u", q->index);
			}
			finish_locked(q, r, status);
			continue;
		}
		r->pending = r->nsub;
		for (unsigned int i = 0; i < r->nsub; i++) {
			r->sub[i].opaque = r;
			if (nb == SUBMIT_BATCH) {
				submit_locked(q, batch, nb);
				nb = 0;
			}
			batch[nb++] = &r->sub[i];
		}
	}
	submit_locked(q, batch, nb);
	if (rc < 0)
		virtio_dev_needs_reset(vdev);
	if (popped) /* some may have failed at once; the rest complete in blk_complete */
		notify_locked(b, vdev, q);
	return popped;
}

/*
 * Serve every queue, leaving kicks suppressed (polling) or asking for them
 * again. Then the interrupts owed (notify_locked): at once when the loop stops
 * polling or this pass found no new request (the guest's burst has ended, it
 * waits for completions now), otherwise once they have waited irq_defer_ns.
 */
static bool serve_all(struct virtio_blk *b, bool polling)
{
	struct virtio_dev *vdev = __atomic_load_n(&b->vdev, __ATOMIC_ACQUIRE);
	unsigned int n = 0, done;
	uint64_t now = 0;

	if (!b->loop_thread_known) {
		b->loop_thread = pthread_self();
		b->loop_thread_known = true;
	}
	if (!vdev)
		return false;
	for (unsigned int i = 0; i < b->num_queues; i++) {
		struct blk_queue *q = b->queues[i];

		pthread_mutex_lock(&q->lock);
		if (!q->stopped) {
			vdev->vq[i].polling = polling;
			n += serve_locked(b, vdev, q);
		}
		pthread_mutex_unlock(&q->lock);
	}
	done = disk_poll(b->disk);
	for (unsigned int i = 0; i < b->num_queues; i++) {
		struct blk_queue *q = b->queues[i];

		if (!__atomic_load_n(&q->irq_owed_ns, __ATOMIC_RELAXED))
			continue; /* only this thread sets it */
		if (polling && n && !now)
			now = now_ns();
		pthread_mutex_lock(&q->lock);
		if (q->irq_owed_ns && (!polling || !n || now - q->irq_owed_ns >= b->irq_defer_ns)) {
			__atomic_store_n(&q->irq_owed_ns, 0, __ATOMIC_RELAXED);
			if (!q->stopped)
				virtio_dev_notify_queue(vdev, i);
		}
		pthread_mutex_unlock(&q->lock);
	}
	return n + done > 0;
}

/* event_loop poller: take what the guest added since (its kicks stay suppressed). */
static bool blk_poll(void *opaque)
{
	return serve_all(opaque, true);
}

/*
 * The loop stops polling and will sleep: ask for kicks again. The pop that
 * publishes the request looks at the ring once more (virtq_pop), so a
 * request added just before is served here rather than lost.
 */
static bool blk_poll_end(void *opaque)
{
	return serve_all(opaque, false);
}

static void blk_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int qi)
{
	struct virtio_blk *b = impl;
	struct blk_queue *q;

	if (qi >= b->num_queues) {
		/* Only num_queues request queues exist (s5.2.2); kicks elsewhere are ignored. */
		__atomic_add_fetch(&b->bad, 1, __ATOMIC_RELAXED);
		return;
	}
	q = b->queues[qi];
	if (__atomic_load_n(&b->vdev, __ATOMIC_ACQUIRE) != vdev)
		__atomic_store_n(&b->vdev, vdev, __ATOMIC_RELEASE);
	pthread_mutex_lock(&q->lock);
	if (!q->stopped) {
		/*
		 * On the polling loop's thread, keep kicks suppressed: the loop
		 * polls the queue next and asks for kicks again before it sleeps.
		 * Anywhere else (a vCPU thread), ask for the next kick as usual.
		 */
		vdev->vq[qi].polling = b->loop_thread_known && pthread_equal(b->loop_thread, pthread_self());
		serve_locked(b, vdev, q);
	}
	pthread_mutex_unlock(&q->lock);
	/* Requests that completed inline finish here, without waking the completion thread. */
	disk_poll(b->disk);
}

static int blk_activate(void *impl, struct virtio_dev *vdev)
{
	struct virtio_blk *b = impl;

	__atomic_store_n(&b->vdev, vdev, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < b->num_queues; i++) {
		pthread_mutex_lock(&b->queues[i]->lock);
		b->queues[i]->stopped = false;
		pthread_mutex_unlock(&b->queues[i]->lock);
	}
	return 0;
}

/*
 * Device reset (s2.4): stop popping, then wait for every request in flight,
 * so nothing writes into guest memory or a ring after the driver reused it.
 */
static void blk_reset(void *impl)
{
	struct virtio_blk *b = impl;

	for (unsigned int i = 0; i < b->num_queues; i++) {
		pthread_mutex_lock(&b->queues[i]->lock);
		b->queues[i]->stopped = true;
		__atomic_store_n(&b->queues[i]->irq_owed_ns, 0, __ATOMIC_RELAXED); /* a reset queue owes nothing */
		pthread_mutex_unlock(&b->queues[i]->lock);
	}
	disk_drain(b->disk);
}

static void blk_destroy(void *impl)
{
	struct virtio_blk *b = impl;

	if (b->loop)
		event_loop_del_poller(b->loop, b); /* the loop no longer runs (owner contract) */
	disk_close(b->disk); /* drains first */
	log_debug("virtio-blk: %llu requests, %llu failed, %llu malformed",
		  (unsigned long long)b->requests, (unsigned long long)b->errors, (unsigned long long)b->bad);
	for (unsigned int i = 0; i < b->num_queues; i++) {
		struct blk_queue *q = b->queues[i];

		while (q->free) {
			struct blk_req *r = q->free;
			q->free = r->next_free;
			free(r);
		}
		pthread_mutex_destroy(&q->lock);
		free(q);
	}
	free(b);
}

const struct virtio_device_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = VIRTIO_BLK_MAX_QUEUES, /* an instance's own ops offer num_queues (s5.2.2) */
	.max_queue_size = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = blk_config_read,
	.features = blk_features,
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
};
