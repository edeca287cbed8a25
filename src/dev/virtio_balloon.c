// SPDX-License-Identifier: MIT
/*
 * virtio-balloon (virtio 1.2 s5.5), the traditional balloon:
 *  - inflateq / deflateq carry arrays of le32 page frame numbers in 4 KiB
 *    units (s5.5.6: "the page frame number ... shifted by 12"). Each PFN is
 *    checked against guest RAM; bad ones are ignored and counted. Inflated
 *    pages are given back to the host kernel (guest_mem_discard); deflate is
 *    only accounting: the guest refaults fresh zero pages when it uses them.
 *  - statsq (F_STATS_VQ, s5.5.6.3): the driver posts one buffer of
 *    {le16 tag, le64 val} entries; the device keeps the buffer and returns
 *    it when it wants newer statistics, and the driver answers with a new one.
 *  - reporting_vq (F_PAGE_REPORTING, s5.5.6.5): each buffer describes free
 *    guest pages; their host pages are discarded and the buffer returned.
 * Queue numbering: queues that exist are numbered consecutively (inflateq 0,
 * deflateq 1, then statsq, then reporting_vq), as Linux's drivers and
 * transports count them; free_page_vq (F_FREE_PAGE_HINT) is not offered.
 * One lock serializes everything: queue_notify may come from any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/virtio_balloon.h"

#define VIRTIO_ID_BALLOON 5

/* Feature bits (s5.5.3) */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON 4
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5

#define QUEUE_SIZE 128
#define NR_QUEUES 4         /* inflate, deflate, stats, reporting */
#define CONFIG_SIZE 8       /* num_pages, actual */
#define STAT_ENTRY_SIZE 10  /* le16 tag + le64 val, packed (s5.5.6.3) */
#define PFN_BATCH 256
#define MAX_PFNS_PER_BUFFER 65536 /* Linux sends 256; bound the work one buffer can ask for */

enum bq_role { BQ_NONE, BQ_INFLATE, BQ_DEFLATE, BQ_STATS, BQ_REPORTING };

struct virtio_balloon {
	pthread_mutex_t lock;
	struct virtio_dev *vdev; /* set while the driver is up */
	uint64_t mem_pages;
	const char *control;
	uint64_t offered;
	struct virtio_balloon_info info;
	struct virtq_elem elem;
	struct virtq_elem stats_elem; /* the statistics buffer the device holds */
	bool stats_held;
	unsigned int stats_q;
};

struct virtio_balloon *virtio_balloon_create(const struct virtio_balloon_params *p, uint64_t mem_bytes)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	b->mem_pages = mem_bytes / VIRTIO_BALLOON_PAGE_SIZE;
	b->control = p->control;
	b->offered = 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	if (p->deflate_on_oom)
		b->offered |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (p->reporting)
		b->offered |= 1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING;
	b->info.target_pages = (uint32_t)MIN(MIN(p->target / VIRTIO_BALLOON_PAGE_SIZE, b->mem_pages), UINT32_MAX);
	return b;
}

static uint64_t balloon_features(void *impl)
{
	struct virtio_balloon *b = impl;

	return b->offered;
}

/* Which queue is q, given the negotiated features (numbered consecutively). */
static enum bq_role queue_role(const struct virtio_dev *vdev, unsigned int q)
{
	unsigned int next = 2;

	if (q == 0)
		return BQ_INFLATE;
	if (q == 1)
		return BQ_DEFLATE;
	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return BQ_STATS;
	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_PAGE_REPORTING) && q == next)
		return BQ_REPORTING;
	return BQ_NONE;
}

static void balloon_config_read(void *impl, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_balloon *b = impl;
	uint8_t cfg[CONFIG_SIZE];

	pthread_mutex_lock(&b->lock);
	put_le32(cfg, b->info.target_pages);
	put_le32(cfg + 4, b->info.actual_pages);
	pthread_mutex_unlock(&b->lock);
	memcpy(data, cfg + off, size); /* the transport checked off + size <= CONFIG_SIZE */
}

static void balloon_config_write(void *impl, uint32_t off, const uint8_t *data, uint32_t size)
{
	struct virtio_balloon *b = impl;
	uint8_t cfg[CONFIG_SIZE];

	/* Only actual (offset 4) is driver-writable (s5.5.4); num_pages belongs to the device. */
	pthread_mutex_lock(&b->lock);
	put_le32(cfg + 4, b->info.actual_pages);
	for (uint32_t i = 0; i < size; i++)
		if (off + i >= 4)
			cfg[off + i] = data[i];
	b->info.actual_pages = get_le32(cfg + 4);
	pthread_mutex_unlock(&b->lock);
}

/* Discard a run of valid pages [pfn, pfn + n). */
static void discard_run(struct virtio_balloon *b, const struct guest_mem *mem, uint64_t pfn, uint64_t n)
{
	if (n && guest_mem_discard(mem, pfn * VIRTIO_BALLOON_PAGE_SIZE, n * VIRTIO_BALLOON_PAGE_SIZE) < 0)
		b->info.discard_errors++;
}

/*
 * An inflate or deflate buffer: le32 PFNs. PFNs outside guest RAM are
 * ignored and counted; consecutive valid PFNs are discarded as one range.
 */
static uint32_t serve_pfns(struct virtio_balloon *b, struct virtq_elem *e, bool inflate)
{
	const struct guest_mem *mem = b->vdev->mem;
	uint8_t buf[PFN_BATCH * 4];
	uint64_t run_start = 0, run_len = 0;
	size_t off = 0, n;

	/* A trailing partial PFN (out_len not a multiple of 4) is ignored. */
	while ((n = virtq_elem_read(e, off, buf, MIN(sizeof(buf), (size_t)(e->out_len - off)))) >= 4) {
		for (size_t i = 0; i + 4 <= n; i += 4) {
			uint64_t pfn = get_le32(buf + i);

			if (!guest_mem_ptr(mem, pfn * VIRTIO_BALLOON_PAGE_SIZE, VIRTIO_BALLOON_PAGE_SIZE)) {
				b->info.invalid_pfns++;
				continue;
			}
			if (inflate) {
				b->info.inflated_pages++;
				b->info.balloon_pages++;
				if (run_len && pfn == run_start + run_len) {
					run_len++;
					continue;
				}
				discard_run(b, mem, run_start, run_len);
				run_start = pfn;
				run_len = 1;
			} else {
				b->info.deflated_pages++;
				if (b->info.balloon_pages)
					b->info.balloon_pages--;
			}
		}
		off += n & ~(size_t)3;
		if (off >= e->out_len)
			break;
		if (off >= MAX_PFNS_PER_BUFFER * 4) {
			b->info.invalid_pfns += (e->out_len - off) / 4;
			break;
		}
	}
	discard_run(b, mem, run_start, run_len);
	return 0;
}

static uint32_t serve_inflate(void *impl, struct virtq_elem *e)
{
	return serve_pfns(impl, e, true);
}

static uint32_t serve_deflate(void *impl, struct virtq_elem *e)
{
	return serve_pfns(impl, e, false);
}

/* Free page reporting: every segment is a free range; discard its whole pages. */
static uint32_t serve_reporting(void *impl, struct virtq_elem *e)
{
	struct virtio_balloon *b = impl;

	for (unsigned int i = 0; i < e->out_num + e->in_num; i++) {
		/* The segments were checked to lie in guest RAM, whose host mapping is page aligned like the gpa. */
		uintptr_t start = ALIGN_UP((uintptr_t)e->iov[i].iov_base, VIRTIO_BALLOON_PAGE_SIZE);
		uintptr_t end = ALIGN_DOWN((uintptr_t)e->iov[i].iov_base + e->iov[i].iov_len, VIRTIO_BALLOON_PAGE_SIZE);

		if (end <= start)
			continue;
		if (madvise((void *)start, end - start, MADV_DONTNEED) < 0)
			b->info.discard_errors++;
		else
			b->info.reported_bytes += end - start;
	}
	return 0;
}

/* Parse a statistics buffer into info.stats (s5.5.6.3). Unknown tags are ignored. */
static void parse_stats(struct virtio_balloon *b, const struct virtq_elem *e)
{
	uint8_t ent[STAT_ENTRY_SIZE];

	for (size_t off = 0; off + STAT_ENTRY_SIZE <= e->out_len && off < 64 * STAT_ENTRY_SIZE;
	     off += STAT_ENTRY_SIZE) {
		if (virtq_elem_read(e, off, ent, sizeof(ent)) != sizeof(ent))
			break;
		uint16_t tag = get_le16(ent);
		if (tag >= VIRTIO_BALLOON_NR_STATS)
			continue;
		b->info.stats[tag] = get_le64(ent + 2);
		b->info.stats_valid |= 1u << tag;
	}
	b->info.stats_updates++;
}

/* Give the held statistics buffer back (lock held): the driver refills and resubmits it. */
static void return_stats_locked(struct virtio_balloon *b)
{
	if (!b->stats_held || !b->vdev)
		return;
	virtq_push(&b->vdev->vq[b->stats_q], &b->stats_elem, 0);
	b->stats_held = false;
	virtio_dev_notify_queue(b->vdev, b->stats_q);
}

static void serve_stats(struct virtio_balloon *b, struct virtio_dev *vdev, unsigned int q)
{
	bool pushed = false;
	int r;

	b->stats_q = q;
	while ((r = virtq_pop(&vdev->vq[q], &b->elem)) > 0) {
		/* A second buffer while we hold one: return the older one, keep the newest. */
		if (b->stats_held) {
			virtq_push(&vdev->vq[q], &b->stats_elem, 0);
			pushed = true;
		}
		parse_stats(b, &b->elem);
		memcpy(&b->stats_elem, &b->elem, sizeof(b->elem));
		b->stats_held = true;
	}
	if (r < 0)
		virtio_dev_needs_reset(vdev);
	if (pushed)
		virtio_dev_notify_queue(vdev, q);
}

static int balloon_activate(void *impl, struct virtio_dev *vdev)
{
	struct virtio_balloon *b = impl;

	pthread_mutex_lock(&b->lock);
	b->vdev = vdev;
	b->stats_held = false;
	/*
	 * Linux posts its first statistics buffer and kicks before DRIVER_OK
	 * (a kick the transport drops): take what is already queued now.
	 */
	for (unsigned int q = 0; q < NR_QUEUES; q++)
		if (queue_role(vdev, q) == BQ_STATS && vdev->vq[q].ready)
			serve_stats(b, vdev, q);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static void balloon_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_balloon *b = impl;

	pthread_mutex_lock(&b->lock);
	if (!b->vdev)
		b->vdev = vdev;
	switch (queue_role(vdev, q)) {
	case BQ_INFLATE:
		virtio_dev_serve_queue(vdev, q, &b->elem, serve_inflate, b);
		break;
	case BQ_DEFLATE:
		virtio_dev_serve_queue(vdev, q, &b->elem, serve_deflate, b);
		break;
	case BQ_STATS:
		serve_stats(b, vdev, q);
		break;
	case BQ_REPORTING:
		virtio_dev_serve_queue(vdev, q, &b->elem, serve_reporting, b);
		break;
	case BQ_NONE:
		break;
	}
	pthread_mutex_unlock(&b->lock);
}

static void balloon_reset(void *impl)
{
	struct virtio_balloon *b = impl;

	/* s5.5.6: after a reset the guest owns all of its memory again. */
	pthread_mutex_lock(&b->lock);
	b->vdev = NULL;
	b->stats_held = false;
	b->info.actual_pages = 0;
	b->info.balloon_pages = 0;
	pthread_mutex_unlock(&b->lock);
}

static void balloon_destroy(void *impl)
{
	struct virtio_balloon *b = impl;

	log_debug("virtio-balloon: %llu pages inflated, %llu deflated, %llu bytes reported free, "
		  "%llu invalid PFNs, %llu discard errors, %llu statistics updates",
		  (unsigned long long)b->info.inflated_pages, (unsigned long long)b->info.deflated_pages,
		  (unsigned long long)b->info.reported_bytes, (unsigned long long)b->info.invalid_pfns,
		  (unsigned long long)b->info.discard_errors, (unsigned long long)b->info.stats_updates);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void virtio_balloon_set_target(struct virtio_balloon *b, uint64_t pages)
{
	struct virtio_dev *vdev;
	bool changed;

	pages = MIN(MIN(pages, b->mem_pages), (uint64_t)UINT32_MAX);
	pthread_mutex_lock(&b->lock);
	changed = b->info.target_pages != pages;
	b->info.target_pages = (uint32_t)pages;
	vdev = b->vdev;
	pthread_mutex_unlock(&b->lock);
	if (changed && vdev)
		virtio_dev_config_changed(vdev);
}

void virtio_balloon_request_stats(struct virtio_balloon *b)
{
	pthread_mutex_lock(&b->lock);
	return_stats_locked(b);
	pthread_mutex_unlock(&b->lock);
}

void virtio_balloon_get_info(struct virtio_balloon *b, struct virtio_balloon_info *out)
{
	pthread_mutex_lock(&b->lock);
	*out = b->info;
	pthread_mutex_unlock(&b->lock);
}

static const char *const stat_names[] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory",
	"total_memory", "available_memory", "disk_caches", "hugetlb_allocations", "hugetlb_failures",
};

static int write_status(struct virtio_balloon *b)
{
	struct virtio_balloon_info i;
	char path[4096], tmp[4096 + 8];
	FILE *f;

	virtio_balloon_get_info(b, &i);
	if (snprintf(path, sizeof(path), "%s.status", b->control) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "target_pages=%u\nactual_pages=%u\nballoon_pages=%llu\ninflated_pages=%llu\n"
		   "deflated_pages=%llu\nreported_bytes=%llu\ninvalid_pfns=%llu\ndiscard_errors=%llu\n"
		   "stats_updates=%llu\n",
		i.target_pages, i.actual_pages, (unsigned long long)i.balloon_pages,
		(unsigned long long)i.inflated_pages, (unsigned long long)i.deflated_pages,
		(unsigned long long)i.reported_bytes, (unsigned long long)i.invalid_pfns,
		(unsigned long long)i.discard_errors, (unsigned long long)i.stats_updates);
	for (unsigned int t = 0; t < ARRAY_SIZE(stat_names); t++)
		if (i.stats_valid & (1u << t))
			fprintf(f, "stat_%s=%llu\n", stat_names[t], (unsigned long long)i.stats[t]);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

int virtio_balloon_control(struct virtio_balloon *b)
{
	char buf[64], *s, *end;
	uint64_t bytes;
	ssize_t n;
	int fd, r = 0;

	if (!b->control)
		return -ENOENT;
	fd = open(b->control, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		for (s = buf; *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'; s++)
			;
		for (end = s + strlen(s); end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
						       end[-1] == '\r'); end--)
			;
		*end = '\0';
		if (*s) {
			if (parse_size(s, &bytes) == 0)
				virtio_balloon_set_target(b, bytes / VIRTIO_BALLOON_PAGE_SIZE);
			else
				r = -EINVAL;
		}
	} else if (errno != ENOENT) {
		return -errno;
	}
	virtio_balloon_request_stats(b);
	n = write_status(b);
	return r ? r : (int)n;
}

const struct virtio_device_ops virtio_balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.nr_queues = NR_QUEUES,
	.max_queue_size = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.features = balloon_features,
	.activate = balloon_activate,
	.queue_notify = balloon_queue_notify,
	.reset = balloon_reset,
	.destroy = balloon_destroy,
};
