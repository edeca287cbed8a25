// SPDX-License-Identifier: MIT
/* AML encoding (ACPI 6.4 chapter 20) and resource descriptors (s6.4). */
#include <stdlib.h>
#include <string.h>

#include "aml.h"

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE 0x82
#define AML_ROOT_CHAR '\\'
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->oom || n == 0)
		return;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		uint8_t *b;
		while (cap < a->len + n)
			cap *= 2;
		b = realloc(a->buf, cap);
		if (!b) {
			a->oom = true;
			return;
		}
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_pkglength(struct aml *a, size_t body_len)
{
	/* The length includes the PkgLength bytes themselves. */
	if (body_len + 1 < 0x40) {
		aml_byte(a, (uint8_t)(body_len + 1));
	} else if (body_len + 2 < 0x1000) {
		size_t t = body_len + 2;
		aml_byte(a, (uint8_t)(0x40 | (t & 0xf)));
		aml_byte(a, (uint8_t)(t >> 4));
	} else if (body_len + 3 < 0x100000) {
		size_t t = body_len + 3;
		aml_byte(a, (uint8_t)(0x80 | (t & 0xf)));
		aml_byte(a, (uint8_t)(t >> 4));
		aml_byte(a, (uint8_t)(t >> 12));
	} else {
		size_t t = body_len + 4;
		aml_byte(a, (uint8_t)(0xc0 | (t & 0xf)));
		aml_byte(a, (uint8_t)(t >> 4));
		aml_byte(a, (uint8_t)(t >> 12));
		aml_byte(a, (uint8_t)(t >> 20));
	}
}

void aml_name_string(struct aml *a, const char *path)
{
	const char *segs[8];
	unsigned int n = 0;

	if (*path == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		path++;
	}
	for (const char *p = path; *p && n < 8;) {
		segs[n++] = p;
		p += 4;
		if (*p == '.')
			p++;
	}
	if (n == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (n > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)n);
	}
	for (unsigned int i = 0; i < n; i++)
		aml_bytes(a, segs[i], 4);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_byte(a, (uint8_t)v);
		aml_byte(a, (uint8_t)(v >> 8));
	} else if (v <= 0xffffffffULL) {
		aml_byte(a, AML_DWORD_PREFIX);
		for (int i = 0; i < 4; i++)
			aml_byte(a, (uint8_t)(v >> (8 * i)));
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		for (int i = 0; i < 8; i++)
			aml_byte(a, (uint8_t)(v >> (8 * i)));
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_name(struct aml *a, const char *path, const struct aml *obj)
{
	aml_byte(a, AML_NAME);
	aml_name_string(a, path);
	aml_bytes(a, obj->buf, obj->len);
}

void aml_name_integer(struct aml *a, const char *path, uint64_t v)
{
	aml_byte(a, AML_NAME);
	aml_name_string(a, path);
	aml_integer(a, v);
}

void aml_name_string_obj(struct aml *a, const char *path, const char *s)
{
	aml_byte(a, AML_NAME);
	aml_name_string(a, path);
	aml_string(a, s);
}

uint32_t aml_eisaid(const char *id)
{
	/* Three letters in 5 bits each, then four hex digits; stored big-endian. */
	uint32_t v = ((uint32_t)(id[0] - 0x40) << 26) | ((uint32_t)(id[1] - 0x40) << 21) |
		     ((uint32_t)(id[2] - 0x40) << 16);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = c >= 'A' ? (uint32_t)(c - 'A' + 10) : (uint32_t)(c - '0');
		v |= d << (4 * (6 - i));
	}
	return __builtin_bswap32(v);
}

void aml_name_eisaid(struct aml *a, const char *path, const char *id)
{
	aml_byte(a, AML_NAME);
	aml_name_string(a, path);
	aml_byte(a, AML_DWORD_PREFIX);
	uint32_t v = aml_eisaid(id);
	aml_bytes(a, &v, 4);
}

static void wrap(struct aml *a, const uint8_t *op, size_t oplen, const char *path, const uint8_t *extra,
		 size_t extra_len, const struct aml *body)
{
	struct aml name;

	aml_init(&name);
	if (path)
		aml_name_string(&name, path);
	aml_bytes(a, op, oplen);
	aml_pkglength(a, name.len + extra_len + body->len);
	aml_bytes(a, name.buf, name.len);
	aml_bytes(a, extra, extra_len);
	aml_bytes(a, body->buf, body->len);
	if (name.oom || body->oom)
		a->oom = true;
	aml_free(&name);
}

void aml_scope(struct aml *a, const char *path, const struct aml *body)
{
	static const uint8_t op[] = { AML_SCOPE };
	wrap(a, op, 1, path, NULL, 0, body);
}

void aml_device(struct aml *a, const char *path, const struct aml *body)
{
	static const uint8_t op[] = { AML_EXT_PREFIX, AML_DEVICE };
	wrap(a, op, 2, path, NULL, 0, body);
}

void aml_package(struct aml *a, unsigned int nelems, const struct aml *elems)
{
	static const uint8_t op[] = { AML_PACKAGE };
	uint8_t n = (uint8_t)nelems;
	wrap(a, op, 1, NULL, &n, 1, elems);
}

void aml_buffer(struct aml *a, const struct aml *bytes)
{
	static const uint8_t op[] = { AML_BUFFER };
	struct aml size;

	aml_init(&size);
	aml_integer(&size, bytes->len);
	wrap(a, op, 1, NULL, size.buf, size.len, bytes);
	aml_free(&size);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8), (uint8_t)base, (uint8_t)(base >> 8), 1, len };
	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq(struct aml *a, uint8_t irq)
{
	uint16_t mask = (uint16_t)(1u << irq);
	uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };
	aml_bytes(a, d, sizeof(d));
}

static void put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { 0x86, 9, 0, 1 };
	put(d + 4, base, 4);
	put(d + 8, len, 4);
	aml_bytes(a, d, sizeof(d));
}

/* Address space descriptors: producer, MinFixed|MaxFixed (s6.4.3.5). */
static void res_addr(struct aml *a, uint8_t tag, int w, uint8_t type, uint8_t tflags, uint64_t min, uint64_t max)
{
	uint8_t d[46] = { 0 };
	size_t len = 3 + 3 + 5 * (size_t)w;

	d[0] = tag;
	put(d + 1, len - 3, 2);
	d[3] = type;
	d[4] = 0x0c;
	d[5] = tflags;
	put(d + 6 + w, min, w);
	put(d + 6 + 2 * w, max, w);
	put(d + 6 + 4 * w, max - min + 1, w);
	aml_bytes(a, d, len);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	res_addr(a, 0x88, 2, 2, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	res_addr(a, 0x88, 2, 1, 3, min, max);
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	res_addr(a, 0x87, 4, 0, 1, min, max); /* non-cacheable, read-write */
}

void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max)
{
	res_addr(a, 0x8a, 8, 0, 1, min, max);
}

void aml_res_interrupt_level(struct aml *a, uint32_t gsi)
{
	uint8_t d[9] = { 0x89, 6, 0, 0x01, 1 };
	put(d + 5, gsi, 4);
	aml_bytes(a, d, sizeof(d));
}

void aml_res_end(struct aml *a)
{
	uint8_t d[2] = { 0x79, 0 };
	aml_bytes(a, d, 2);
}
