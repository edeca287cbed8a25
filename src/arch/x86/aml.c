// SPDX-License-Identifier: MIT
/* AML encoding (ACPI 6.4 chapter 20) and resource descriptors (s6.4). */
#include <stdlib.h>
#include <string.h>

#include "aml.h"

/* Opcodes and prefixes (ACPI 6.4 s20.3) */
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
#define AML_NULL_NAME 0x00
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f
#define AML_MAX_SEGS 16

/* Resource descriptor tags (s6.4.2 small, s6.4.3 large) */
#define RES_IRQ_NOFLAGS 0x22 /* small item 0x4, length 2 */
#define RES_IO 0x47          /* small item 0x8, length 7 */
#define RES_END 0x79         /* small item 0xf, length 1 */
#define RES_MEM32_FIXED 0x86
#define RES_DWORD_ADDR 0x87
#define RES_WORD_ADDR 0x88
#define RES_EXT_IRQ 0x89
#define RES_QWORD_ADDR 0x8a

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
	if (a->error || n == 0)
		return;
	if (n > a->cap - a->len) {
		size_t cap = a->cap ? a->cap : 256;
		uint8_t *b;

		while (cap - a->len < n) {
			if (cap > SIZE_MAX / 2) {
				a->error = true;
				return;
			}
			cap *= 2;
		}
		b = realloc(a->buf, cap);
		if (!b) {
			a->error = true;
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
	/*
	 * s20.2.4: one byte holds bits 0-5 of the length; with 1-3 following
	 * bytes (count in bits 6-7) the lead byte holds bits 0-3 and each
	 * following byte 8 more bits. The length includes the PkgLength bytes.
	 */
	for (unsigned int extra = 0; extra <= 3; extra++) {
		size_t total = body_len + 1 + extra;
		size_t limit = extra == 0 ? 1u << 6 : 1u << (4 + 8 * extra);

		if (total >= limit)
			continue;
		if (extra == 0) {
			aml_byte(a, (uint8_t)total);
			return;
		}
		aml_byte(a, (uint8_t)(extra << 6 | (total & 0xf)));
		for (unsigned int i = 0; i < extra; i++)
			aml_byte(a, (uint8_t)(total >> (4 + 8 * i)));
		return;
	}
	a->error = true; /* 2^28 bytes: not encodable */
}

/*
 * NameString (s20.2.2): an optional root prefix, then NameSegs of exactly
 * four characters; shorter segments are padded with '_' as ASL does. Two
 * segments use DualNamePrefix, three or more MultiNamePrefix and a count.
 */
void aml_name_string(struct aml *a, const char *path)
{
	char segs[AML_MAX_SEGS][4];
	unsigned int n = 0;
	const char *p = path;

	if (*p == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	}
	while (*p) {
		size_t len = strcspn(p, ".");

		if (len == 0 || len > 4 || n == AML_MAX_SEGS) {
			a->error = true;
			return;
		}
		memset(segs[n], '_', 4);
		memcpy(segs[n], p, len);
		n++;
		p += len;
		if (*p == '.')
			p++;
	}
	if (n == 0) {
		aml_byte(a, AML_NULL_NAME);
	} else if (n == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (n > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)n);
	}
	for (unsigned int i = 0; i < n; i++)
		aml_bytes(a, segs[i], 4);
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ComputationalData (s20.2.3): ZeroOp, OneOp or a prefixed constant. */
void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	unsigned int n;

	if (v == 0 || v == 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
		return;
	}
	if (v <= 0xff) {
		b[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffffULL) {
		b[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		b[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	put_le(b + 1, v, n);
	aml_bytes(a, b, 1 + n);
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
	if (obj->error)
		a->error = true;
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
	/*
	 * Bits 30-26, 25-21, 20-16: the letters ('A' = 1); bits 15-0: the hex
	 * digits; the 32-bit value is then stored most significant byte first.
	 */
	uint32_t v = 0;

	for (int i = 0; i < 3; i++)
		v |= (uint32_t)((id[i] - 0x40) & 0x1f) << (26 - 5 * i);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = c >= 'A' ? (uint32_t)(c - 'A' + 10) : (uint32_t)(c - '0');
		v |= (d & 0xf) << (4 * (6 - i));
	}
	return __builtin_bswap32(v);
}

void aml_name_eisaid(struct aml *a, const char *path, const char *id)
{
	uint8_t b[5] = { AML_DWORD_PREFIX };

	aml_byte(a, AML_NAME);
	aml_name_string(a, path);
	put_le(b + 1, aml_eisaid(id), 4);
	aml_bytes(a, b, sizeof(b));
}

/* op PkgLength [NameString] [extra] body: the shape of every composite term. */
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
	if (name.error || body->error)
		a->error = true;
	aml_free(&name);
}

/* DefScope := ScopeOp PkgLength NameString TermList (s20.2.5.1) */
void aml_scope(struct aml *a, const char *path, const struct aml *body)
{
	static const uint8_t op[] = { AML_SCOPE };
	wrap(a, op, sizeof(op), path, NULL, 0, body);
}

/* DefDevice := DeviceOp PkgLength NameString TermList (s20.2.5.2) */
void aml_device(struct aml *a, const char *path, const struct aml *body)
{
	static const uint8_t op[] = { AML_EXT_PREFIX, AML_DEVICE };
	wrap(a, op, sizeof(op), path, NULL, 0, body);
}

/* DefPackage := PackageOp PkgLength NumElements PackageElementList (s20.2.5.4) */
void aml_package(struct aml *a, unsigned int nelems, const struct aml *elems)
{
	static const uint8_t op[] = { AML_PACKAGE };
	uint8_t n = (uint8_t)nelems;

	if (nelems > 0xff) {
		a->error = true; /* VarPackage would be needed */
		return;
	}
	wrap(a, op, sizeof(op), NULL, &n, 1, elems);
}

/* DefBuffer := BufferOp PkgLength BufferSize ByteList (s20.2.5.4) */
void aml_buffer(struct aml *a, const struct aml *bytes)
{
	static const uint8_t op[] = { AML_BUFFER };
	struct aml size;

	aml_init(&size);
	aml_integer(&size, bytes->len);
	wrap(a, op, sizeof(op), NULL, size.buf, size.len, bytes);
	if (size.error)
		a->error = true;
	aml_free(&size);
}

/* I/O port descriptor (s6.4.2.5): 16-bit decode, fixed base, alignment 1. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	uint8_t d[8] = { RES_IO, 0x01 };

	put_le(d + 2, base, 2);
	put_le(d + 4, base, 2);
	d[6] = 1;
	d[7] = len;
	aml_bytes(a, d, sizeof(d));
}

/* IRQ descriptor without the flags byte (s6.4.2.1): edge, active-high. */
void aml_res_irq(struct aml *a, uint8_t irq)
{
	uint8_t d[3] = { RES_IRQ_NOFLAGS };

	if (irq > 15) {
		a->error = true;
		return;
	}
	put_le(d + 1, 1u << irq, 2);
	aml_bytes(a, d, sizeof(d));
}

/* 32-bit fixed memory range descriptor (s6.4.3.4), read-write. */
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { RES_MEM32_FIXED, 9, 0, 0x01 };

	put_le(d + 4, base, 4);
	put_le(d + 8, len, 4);
	aml_bytes(a, d, sizeof(d));
}

/*
 * Word/DWord/QWord address space descriptors (s6.4.3.5.1-3): tag, length,
 * resource type, general flags, type-specific flags, then granularity, min,
 * max, translation offset and length, each w bytes. General flags 0x0c:
 * MinFixed | MaxFixed, positive decode, producer (bit 0 clear). With both
 * ends fixed and a non-zero length the granularity must be 0.
 */
static void res_addr(struct aml *a, uint8_t tag, unsigned int w, uint8_t type, uint8_t tflags, uint64_t min,
		     uint64_t max)
{
	uint8_t d[6 + 5 * 8] = { 0 };
	size_t len = 6 + 5 * (size_t)w;

	if (max < min) {
		a->error = true;
		return;
	}
	d[0] = tag;
	put_le(d + 1, len - 3, 2);
	d[3] = type;
	d[4] = 0x0c;
	d[5] = tflags;
	put_le(d + 6 + w, min, w);
	put_le(d + 6 + 2 * w, max, w);
	put_le(d + 6 + 4 * w, max - min + 1, w);
	aml_bytes(a, d, len);
}

#define RES_TYPE_MEM 0
#define RES_TYPE_IO 1
#define RES_TYPE_BUS 2
#define RES_IO_ENTIRE_RANGE 0x03 /* _RNG: ISA and non-ISA ranges */
#define RES_MEM_RW 0x01          /* _RW, non-cacheable */

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	res_addr(a, RES_WORD_ADDR, 2, RES_TYPE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	res_addr(a, RES_WORD_ADDR, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, min, max);
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	res_addr(a, RES_DWORD_ADDR, 4, RES_TYPE_MEM, RES_MEM_RW, min, max);
}

void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max)
{
	res_addr(a, RES_QWORD_ADDR, 8, RES_TYPE_MEM, RES_MEM_RW, min, max);
}

/* Extended interrupt descriptor (s6.4.3.6): flags bit 0 consumer, bit 1 clear = level, bit 2 clear = high. */
void aml_res_interrupt_level(struct aml *a, uint32_t gsi)
{
	uint8_t d[9] = { RES_EXT_IRQ, 6, 0, 0x01, 1 };

	put_le(d + 5, gsi, 4);
	aml_bytes(a, d, sizeof(d));
}

/* End tag (s6.4.2.9) */
void aml_res_end(struct aml *a)
{
	uint8_t d[2] = { RES_END, 0 };

	aml_bytes(a, d, sizeof(d));
}
