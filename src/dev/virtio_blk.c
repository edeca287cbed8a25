// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.2 s5.2) on a raw image. Each request is a header
 * (type, sector) in device-readable memory, data buffers, and a one-byte
 * status at the end of the device-writable part (s5.2.6). Requests are
 * served synchronously with preadv/pwritev on the notifying thread; a request
 * outside the image or of the wrong shape completes with VIRTIO_BLK_S_IOERR,
 * a chain that cannot be walked marks the device DEVICE_NEEDS_RESET.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/virtio_blk.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20

#define SECTOR 512
#define QUEUE_SIZE 256
#define SEG_MAX (QUEUE_SIZE - 2)
#define CONFIG_SIZE 24

struct virtio_blk {
	int fd;
	bool readonly;
	uint64_t size;
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	pthread_mutex_t lock; /* one request walker at a time */
	struct virtq_elem elem;
	uint64_t requests, errors;
};

struct virtio_blk *virtio_blk_open(const char *path, bool readonly, const char *serial, char *err, size_t errlen)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	struct stat st;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		snprintf(err, errlen, "cannot open disk %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(b->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "disk %s is not a regular file or block device", path);
		goto fail;
	}
	/* One writer at a time: a second vmkit on the same image would corrupt it. */
	if (flock(b->fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		snprintf(err, errlen, "disk %s is in use by another process", path);
		goto fail;
	}
	b->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : (uint64_t)lseek(b->fd, 0, SEEK_END);
	if (b->size % SECTOR)
		log_warn("disk %s: size is not a multiple of 512; the tail is not visible", path);
	b->readonly = readonly;
	snprintf(b->serial, sizeof(b->serial), "%s", serial ? serial : "");
	pthread_mutex_init(&b->lock, NULL);
	return b;
fail:
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	return NULL;
}

static uint64_t blk_features(void *impl)
{
	struct virtio_blk *b = impl;

	return (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
	       (b->readonly ? 1ULL << VIRTIO_BLK_F_RO : 0);
}

static void blk_config_read(void *impl, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_blk *b = impl;
	uint8_t cfg[CONFIG_SIZE] = { 0 };

	put_le64(cfg, b->size / SECTOR); /* capacity */
	put_le32(cfg + 8, 0);            /* size_max: not offered */
	put_le32(cfg + 12, SEG_MAX);
	put_le32(cfg + 20, SECTOR); /* blk_size */
	memcpy(data, cfg + off, size); /* the transport bounds off + size */
}

/* Scatter-gather I/O over the element's data segments [first, first + n), trimmed to len bytes. */
static int do_io(struct virtio_blk *b, const struct iovec *iov, unsigned int n, uint64_t off, bool write)
{
	size_t total = 0;

	for (unsigned int i = 0; i < n; i++)
		total += iov[i].iov_len;
	while (total) {
		ssize_t r = write ? pwritev(b->fd, iov, (int)n, (off_t)off) : preadv(b->fd, iov, (int)n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		if ((size_t)r == total)
			return 0;
		return -EIO; /* short transfer inside the image: treat as an error */
	}
	return 0;
}

/* Serve one request; returns the status byte and the bytes written to the guest. */
static uint8_t handle(struct virtio_blk *b, struct virtq_elem *e, uint32_t *written)
{
	uint8_t hdr[16];
	uint32_t type;
	uint64_t sector, len = 0;
	struct iovec data[VIRTQ_MAX_SEGS];
	unsigned int nd = 0;
	size_t skip = 16;

	*written = 1;
	if (e->in_len < 1 || virtq_elem_read(e, 0, hdr, 16) != 16)
		return VIRTIO_BLK_S_IOERR;
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);

	/* data: out segments after the header (writes) or in segments before the status byte (reads) */
	if (type == VIRTIO_BLK_T_OUT) {
		for (unsigned int i = 0; i < e->out_num; i++) {
			struct iovec v = e->iov[i];
			if (skip >= v.iov_len) {
				skip -= v.iov_len;
				continue;
			}
			v.iov_base = (uint8_t *)v.iov_base + skip;
			v.iov_len -= skip;
			skip = 0;
			data[nd++] = v;
			len += v.iov_len;
		}
	} else if (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID) {
		uint64_t left = e->in_len - 1; /* the last byte is the status */
		for (unsigned int i = e->out_num; i < e->out_num + e->in_num && left; i++) {
			struct iovec v = e->iov[i];
			if (v.iov_len > left)
				v.iov_len = left;
			left -= v.iov_len;
			data[nd++] = v;
			len += v.iov_len;
		}
	}

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (len % SECTOR || sector > b->size / SECTOR || len / SECTOR > b->size / SECTOR - sector)
			return VIRTIO_BLK_S_IOERR; /* outside the image */
		if (type == VIRTIO_BLK_T_OUT && b->readonly)
			return VIRTIO_BLK_S_IOERR;
		if (do_io(b, data, nd, sector * SECTOR, type == VIRTIO_BLK_T_OUT))
			return VIRTIO_BLK_S_IOERR;
		if (type == VIRTIO_BLK_T_IN)
			*written = (uint32_t)len + 1;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		/* After fdatasync the data is on the host disk (s5.2.6.2: flush semantics). */
		return fdatasync(b->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_GET_ID: {
		uint8_t id[VIRTIO_BLK_ID_BYTES] = { 0 };
		memcpy(id, b->serial, strlen(b->serial));
		size_t n = virtq_elem_write(e, 0, id, MIN((uint64_t)sizeof(id), e->in_len - 1));
		*written = (uint32_t)n + 1;
		return VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* One request: serve it and write the status byte, the last device-writable byte (s5.2.6). */
static uint32_t blk_serve(void *impl, struct virtq_elem *e)
{
	struct virtio_blk *b = impl;
	uint32_t written;
	uint8_t status = handle(b, e, &written);

	b->requests++;
	if (status != VIRTIO_BLK_S_OK)
		b->errors++;
	if (e->in_len)
		virtq_elem_write(e, e->in_len - 1, &status, 1);
	return written;
}

static void blk_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_blk *b = impl;

	pthread_mutex_lock(&b->lock);
	virtio_dev_serve_queue(vdev, q, &b->elem, blk_serve, b);
	pthread_mutex_unlock(&b->lock);
}

static void blk_destroy(void *impl)
{
	struct virtio_blk *b = impl;

	close(b->fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

const struct virtio_device_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.max_queue_size = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = blk_config_read,
	.features = blk_features,
	.queue_notify = blk_queue_notify,
	.destroy = blk_destroy,
};
