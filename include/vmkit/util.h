/* SPDX-License-Identifier: MIT */
/* util: small helpers with no vmkit dependencies. */
#ifndef VMKIT_UTIL_H
#define VMKIT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

/*
 * Parse a size such as "128M", "2G", "4096" (bytes), "512K". Suffixes K/M/G/T
 * (binary, case-insensitive, optional trailing "iB"/"B"). Returns 0 or -EINVAL
 * (malformed) / -ERANGE (overflow).
 */
int parse_size(const char *s, uint64_t *out);

/* Parse a decimal unsigned integer in [min, max]. 0, -EINVAL or -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Read a whole file into a malloc'd buffer (caller frees). Refuses files larger
 * than max_len with -EFBIG. Returns 0 or -errno.
 */
int read_file_all(const char *path, size_t max_len, uint8_t **buf, size_t *len);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/*
 * Listen on a UNIX stream socket at path (non-blocking, close-on-exec, mode
 * 0600). A stale socket file is replaced; anything else at path, or a socket
 * another program still listens on, is refused. Returns the fd, or -errno with
 * one line in err naming `what` (e.g. "--monitor"). The caller unlinks path
 * when it closes the socket.
 */
int unix_listen(const char *path, int backlog, const char *what, char *err, size_t errlen);

/* Little-endian accessors for byte buffers (guest structures are LE). */
static inline uint16_t get_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}
static inline uint32_t get_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t get_le64(const void *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32((const uint8_t *)p + 4) << 32;
}
static inline void put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = v;
	b[1] = v >> 8;
}
static inline void put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = v;
	b[1] = v >> 8;
	b[2] = v >> 16;
	b[3] = v >> 24;
}
static inline void put_le64(void *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/*
 * Device state blobs (struct device_ops save/load): an 8-byte header, then the
 * device's payload. The header names the device (magic), the layout (version)
 * and the payload's length, so a blob from another device or another vmkit
 * version is refused instead of misread.
 */
#define STATE_HDR_LEN 8
static inline void state_hdr_put(void *b, uint32_t magic, uint16_t version, uint16_t payload)
{
	put_le32(b, magic);
	put_le16((uint8_t *)b + 4, version);
	put_le16((uint8_t *)b + 6, payload);
}
/* True when buf (len bytes) is exactly one header with these fields plus its payload. */
static inline bool state_hdr_ok(const void *b, size_t len, uint32_t magic, uint16_t version, uint16_t payload)
{
	return len == STATE_HDR_LEN + (size_t)payload && get_le32(b) == magic &&
	       get_le16((const uint8_t *)b + 4) == version && get_le16((const uint8_t *)b + 6) == payload;
}

/* Sum of bytes, as used by ACPI and MP table checksums. */
uint8_t byte_sum(const void *buf, size_t len);

#endif
