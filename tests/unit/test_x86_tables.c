// SPDX-License-Identifier: MIT
/*
 * x86 firmware tables: the memory layout and e820 map, the ACPI tables (with
 * a small AML parser that walks the whole DSDT and its resource templates),
 * the MP table and the AML encoder.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/arch/x86/aml.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

/* ------------------------------------------------------------------ e820 */

static int e820_for(uint64_t ram, struct e820_entry *e)
{
	int n = x86_e820_build(ram, e, E820_MAX_ENTRIES);

	assert_true(n > 0);
	return n;
}

static bool e820_covers(const struct e820_entry *e, int n, uint64_t addr, uint64_t size, uint32_t type)
{
	for (int i = 0; i < n; i++)
		if (e[i].type == type && e[i].addr <= addr && addr + size <= e[i].addr + e[i].size)
			return true;
	return false;
}

static void check_e820(uint64_t ram)
{
	struct e820_entry e[E820_MAX_ENTRIES];
	int n = e820_for(ram, e);
	uint64_t total = 0, high = 0;

	for (int i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		assert_true(e[i].type == E820_RAM || e[i].type == E820_RESERVED);
		if (i)
			assert_true(e[i].addr >= e[i - 1].addr + e[i - 1].size); /* sorted, disjoint */
		if (e[i].type != E820_RAM)
			continue;
		total += e[i].size;
		/* RAM never overlaps the EBDA, the BIOS area or the PCI hole */
		assert_true(e[i].addr + e[i].size <= X86_EBDA || e[i].addr >= X86_BIOS_END);
		assert_true(e[i].addr + e[i].size <= X86_ECAM_BASE || e[i].addr >= X86_HIGHMEM_BASE);
		if (e[i].addr >= X86_HIGHMEM_BASE)
			high += e[i].size;
	}
	/*
	 * Every byte of guest RAM is either usable RAM or one of the two
	 * reserved pieces of the first MiB (EBDA, and the ACPI/MP tables) or
	 * the VGA hole between them.
	 */
	assert_int_equal(total + (X86_BIOS_END - X86_EBDA), ram);
	assert_int_equal(high, x86_highmem_size(ram));
	assert_true(e820_covers(e, n, 0, X86_EBDA, E820_RAM));
	assert_true(e820_covers(e, n, X86_EBDA, X86_EBDA_END - X86_EBDA, E820_RESERVED));
	assert_true(e820_covers(e, n, X86_ACPI_BASE, X86_ACPI_SIZE, E820_RESERVED));
	assert_true(e820_covers(e, n, X86_MPTABLE_BASE, X86_MPTABLE_SIZE, E820_RESERVED));
	assert_true(e820_covers(e, n, X86_BIOS_END, x86_lowmem_size(ram) - X86_BIOS_END, E820_RAM));
	assert_true(e820_covers(e, n, X86_ECAM_BASE, X86_ECAM_SIZE, E820_RESERVED));
	if (high)
		assert_true(e820_covers(e, n, X86_HIGHMEM_BASE, high, E820_RAM));
}

static void test_e820_sizes(void **state)
{
	static const uint64_t sizes[] = {
		16 * MiB, 256 * MiB, X86_LOWMEM_MAX - 4 * KiB, X86_LOWMEM_MAX, X86_LOWMEM_MAX + 4 * KiB,
		3 * GiB, 8 * GiB,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++)
		check_e820(sizes[i]);
}

static void test_e820_exact(void **state)
{
	struct e820_entry e[E820_MAX_ENTRIES];
	int n;

	/* 16 MiB: no high RAM entry at all */
	n = e820_for(16 * MiB, e);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, X86_EBDA);
	assert_int_equal(e[0].type, E820_RAM);
	for (int i = 0; i < n; i++)
		assert_true(e[i].addr < X86_HIGHMEM_BASE);
	assert_true(e820_covers(e, n, X86_BIOS_END, 15 * MiB, E820_RAM));
	assert_false(e820_covers(e, n, X86_BIOS_END, 15 * MiB + 1, E820_RAM));

	/* exactly X86_LOWMEM_MAX: low RAM ends where ECAM starts, no high RAM */
	n = e820_for(X86_LOWMEM_MAX, e);
	assert_true(e820_covers(e, n, X86_BIOS_END, X86_LOWMEM_MAX - X86_BIOS_END, E820_RAM));
	for (int i = 0; i < n; i++)
		assert_false(e[i].type == E820_RAM && e[i].addr >= X86_HIGHMEM_BASE);

	/* one page more: that page is at 4 GiB */
	n = e820_for(X86_LOWMEM_MAX + 4 * KiB, e);
	assert_int_equal(e[n - 1].addr, X86_HIGHMEM_BASE);
	assert_int_equal(e[n - 1].size, 4 * KiB);
	assert_int_equal(e[n - 1].type, E820_RAM);

	/* 8 GiB: 2.75 GiB low, 5.25 GiB high */
	n = e820_for(8 * GiB, e);
	assert_int_equal(e[n - 1].addr, X86_HIGHMEM_BASE);
	assert_int_equal(e[n - 1].size, 8 * GiB - X86_LOWMEM_MAX);

	/* too small an array, too little RAM */
	assert_int_equal(x86_e820_build(256 * MiB, e, 2), -ENOSPC);
	assert_int_equal(x86_e820_build(256 * MiB, e, 0), -ENOSPC);
	assert_true(x86_e820_build(512 * KiB, e, E820_MAX_ENTRIES) < 0);
}

static void test_layout(void **state)
{
	struct guest_mem m;

	assert_int_equal(x86_lowmem_size(16 * MiB), 16 * MiB);
	assert_int_equal(x86_highmem_size(16 * MiB), 0);
	assert_int_equal(x86_lowmem_size(X86_LOWMEM_MAX), X86_LOWMEM_MAX);
	assert_int_equal(x86_highmem_size(X86_LOWMEM_MAX), 0);
	assert_int_equal(x86_lowmem_size(3 * GiB), X86_LOWMEM_MAX);
	assert_int_equal(x86_highmem_size(3 * GiB), 3 * GiB - X86_LOWMEM_MAX);

	/* 64-bit window: 1 GiB aligned, above high RAM */
	assert_int_equal(x86_pci_mmio64_base(256 * MiB), X86_HIGHMEM_BASE);
	assert_int_equal(x86_pci_mmio64_base(X86_LOWMEM_MAX), X86_HIGHMEM_BASE);
	assert_int_equal(x86_pci_mmio64_base(X86_LOWMEM_MAX + 4 * KiB), X86_HIGHMEM_BASE + GiB);
	assert_int_equal(x86_pci_mmio64_base(8 * GiB), 10 * GiB); /* 4 + 5.25 -> 10 */
	assert_int_equal(x86_pci_mmio64_base(X86_LOWMEM_MAX + GiB), X86_HIGHMEM_BASE + GiB);

	/* the regions x86_mem_layout adds */
	guest_mem_init(&m);
	assert_int_equal(x86_mem_layout(&m, 64 * MiB), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.regions[0].gpa, 0);
	assert_int_equal(m.regions[0].size, X86_VGA_WINDOW);
	assert_int_equal(m.regions[1].gpa, X86_VGA_WINDOW_END);
	assert_int_equal(m.regions[1].size, 64 * MiB - X86_VGA_WINDOW_END);
	/* the legacy VGA window is not RAM: its accesses must exit to the MMIO bus */
	assert_null(guest_mem_ptr(&m, X86_VGA_WINDOW, 1));
	assert_null(guest_mem_ptr(&m, 0xb8000, 2));
	assert_null(guest_mem_ptr(&m, X86_VGA_WINDOW_END - 1, 1));
	assert_non_null(guest_mem_ptr(&m, X86_VGA_WINDOW_END, 1));
	assert_non_null(guest_mem_ptr(&m, X86_VGA_WINDOW - 1, 1));
	guest_mem_free(&m);

	guest_mem_init(&m);
	assert_int_equal(x86_mem_layout(&m, 3 * GiB), 0);
	assert_int_equal(m.nr, 3);
	assert_int_equal(m.regions[0].gpa, 0);
	assert_int_equal(m.regions[0].size, X86_VGA_WINDOW);
	assert_int_equal(m.regions[1].gpa, X86_VGA_WINDOW_END);
	assert_int_equal(m.regions[1].size, X86_LOWMEM_MAX - X86_VGA_WINDOW_END);
	assert_int_equal(m.regions[2].gpa, X86_HIGHMEM_BASE);
	assert_int_equal(m.regions[2].size, 3 * GiB - X86_LOWMEM_MAX);
	assert_int_equal(m.total, 3 * GiB - (X86_VGA_WINDOW_END - X86_VGA_WINDOW));
	assert_null(guest_mem_ptr(&m, X86_ECAM_BASE, 1));
	guest_mem_free(&m);
}

/* ---------------------------------------------------- a small AML parser */

/*
 * Enough of ACPI 6.4 chapter 20 to walk what vmkit emits: Scope, Device,
 * Name with integer, string, buffer and package data. Anything else fails
 * the parse, so the test notices malformed or unexpected byte code.
 */
#define MAX_DEVS 300

struct aml_dev {
	char path[128];
	bool has_hid, has_cid, has_uid, has_sta, has_adr, has_seg, has_bbn;
	uint64_t hid, cid, uid, sta, adr, seg, bbn;
	char hid_str[16];
	const uint8_t *crs;
	size_t crs_len;
};

struct aml_walk {
	struct aml_dev devs[MAX_DEVS];
	unsigned int nr;
	bool s5;
	unsigned int s5_n;
	uint64_t s5_vals[8];
	unsigned int prt_n; /* \_SB.PCI0._PRT entries: address, pin, source, GSI */
	uint64_t prt[128][4];
};

enum val_kind { VAL_INT, VAL_STR, VAL_BUF, VAL_PKG };

struct val {
	enum val_kind kind;
	uint64_t i;
	const uint8_t *p; /* string or buffer bytes */
	size_t len;
	unsigned int pkg_n;
	uint64_t pkg[8];
	unsigned int sub_n; /* nested packages of up to 8 integers (e.g. _PRT entries) */
	uint64_t sub[128][4];
};

static bool parse_pkglen(const uint8_t **p, const uint8_t *end, size_t *body)
{
	unsigned int extra;
	size_t total;

	if (*p >= end)
		return false;
	extra = **p >> 6;
	if ((size_t)(end - *p) < 1 + extra)
		return false;
	if (extra == 0) {
		total = **p & 0x3f;
	} else {
		total = **p & 0xf;
		for (unsigned int i = 0; i < extra; i++)
			total |= (size_t)(*p)[1 + i] << (4 + 8 * i);
	}
	*p += 1 + extra;
	if (total < 1 + extra || total - (1 + extra) > (size_t)(end - *p))
		return false;
	*body = total - (1 + extra);
	return true;
}

static bool name_seg_ok(const uint8_t *s)
{
	for (int i = 0; i < 4; i++) {
		bool up = s[i] >= 'A' && s[i] <= 'Z', dig = s[i] >= '0' && s[i] <= '9';
		if (!(up || s[i] == '_' || (i > 0 && dig)))
			return false;
	}
	return true;
}

/* NameString -> "\\_SB_.PCI0" style text */
static bool parse_name(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	unsigned int n = 1;
	size_t o = 0;

	out[0] = 0;
	if (*p < end && **p == '\\') {
		out[o++] = '\\';
		(*p)++;
	}
	if (*p >= end)
		return false;
	if (**p == 0x2e) {
		n = 2;
		(*p)++;
	} else if (**p == 0x2f) {
		if (end - *p < 2)
			return false;
		n = (*p)[1];
		*p += 2;
	}
	if ((size_t)(end - *p) < 4 * (size_t)n || o + 5 * n + 1 > cap)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		if (!name_seg_ok(*p))
			return false;
		if (i)
			out[o++] = '.';
		memcpy(out + o, *p, 4);
		o += 4;
		*p += 4;
	}
	out[o] = 0;
	return true;
}

static bool parse_int(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned int n;

	if (*p >= end)
		return false;
	switch (**p) {
	case 0x00:
	case 0x01:
		*v = **p;
		(*p)++;
		return true;
	case 0x0a: n = 1; break;
	case 0x0b: n = 2; break;
	case 0x0c: n = 4; break;
	case 0x0e: n = 8; break;
	default:
		return false;
	}
	if ((size_t)(end - *p) < 1 + n)
		return false;
	*v = 0;
	for (unsigned int i = 0; i < n; i++)
		*v |= (uint64_t)(*p)[1 + i] << (8 * i);
	*p += 1 + n;
	return true;
}

static bool parse_data(const uint8_t **p, const uint8_t *end, struct val *v)
{
	const uint8_t *body;
	size_t len;

	memset(v, 0, sizeof(*v));
	if (*p >= end)
		return false;
	switch (**p) {
	case 0x0d: { /* String */
		const uint8_t *nul = memchr(*p + 1, 0, (size_t)(end - *p - 1));
		if (!nul)
			return false;
		v->kind = VAL_STR;
		v->p = *p + 1;
		v->len = (size_t)(nul - v->p);
		*p = nul + 1;
		return true;
	}
	case 0x11: { /* Buffer: PkgLength BufferSize ByteList */
		uint64_t size;
		(*p)++;
		if (!parse_pkglen(p, end, &len))
			return false;
		body = *p;
		*p += len;
		if (!parse_int(&body, *p, &size) || size != (uint64_t)(*p - body))
			return false;
		v->kind = VAL_BUF;
		v->p = body;
		v->len = (size_t)size;
		return true;
	}
	case 0x12: { /* Package: PkgLength NumElements elements (integers, or packages of integers) */
		const uint8_t *pend;
		(*p)++;
		if (!parse_pkglen(p, end, &len) || len < 1)
			return false;
		pend = *p + len;
		v->kind = VAL_PKG;
		v->pkg_n = **p;
		(*p)++;
		for (unsigned int i = 0; i < v->pkg_n; i++) {
			if (*p < pend && **p == 0x12) {
				static struct val sub; /* one nesting level: not reentered */
				if (v->sub_n >= ARRAY_SIZE(v->sub) || !parse_data(p, pend, &sub) || sub.sub_n ||
				    sub.pkg_n > 4)
					return false;
				memcpy(v->sub[v->sub_n++], sub.pkg, sizeof(v->sub[0]));
			} else if (i >= ARRAY_SIZE(v->pkg) || !parse_int(p, pend, &v->pkg[i])) {
				return false;
			}
		}
		return *p == pend;
	}
	default:
		v->kind = VAL_INT;
		return parse_int(p, end, &v->i);
	}
}

static void join(char *out, size_t cap, const char *scope, const char *name)
{
	if (name[0] == '\\' || !scope[0])
		snprintf(out, cap, "%s", name);
	else
		snprintf(out, cap, "%s.%s", scope, name);
}

static bool parse_terms(struct aml_walk *w, const uint8_t *p, const uint8_t *end, const char *scope,
			struct aml_dev *dev)
{
	while (p < end) {
		char name[64], path[128];
		size_t len;

		if (p[0] == 0x10 || (p[0] == 0x5b && end - p >= 2 && p[1] == 0x82)) { /* Scope, Device */
			bool is_dev = p[0] == 0x5b;
			const uint8_t *bend;
			struct aml_dev *d = NULL;

			p += is_dev ? 2 : 1;
			if (!parse_pkglen(&p, end, &len))
				return false;
			bend = p + len;
			if (!parse_name(&p, bend, name, sizeof(name)))
				return false;
			join(path, sizeof(path), scope, name);
			if (is_dev) {
				if (w->nr == MAX_DEVS)
					return false;
				d = &w->devs[w->nr++];
				snprintf(d->path, sizeof(d->path), "%s", path);
			}
			if (!parse_terms(w, p, bend, path, d ? d : dev))
				return false;
			p = bend;
		} else if (p[0] == 0x08) { /* Name */
			struct val v;

			p++;
			if (!parse_name(&p, end, name, sizeof(name)) || !parse_data(&p, end, &v))
				return false;
			join(path, sizeof(path), scope, name);
			if (!strcmp(path, "\\_S5_")) {
				if (v.kind != VAL_PKG)
					return false;
				w->s5 = true;
				w->s5_n = v.pkg_n;
				memcpy(w->s5_vals, v.pkg, sizeof(v.pkg));
				continue;
			}
			if (!dev)
				continue;
			if (!strcmp(name, "_PRT")) {
				if (v.kind != VAL_PKG || v.sub_n != v.pkg_n)
					return false;
				w->prt_n = v.sub_n;
				memcpy(w->prt, v.sub, sizeof(w->prt));
				continue;
			}
			if (!strcmp(name, "_HID") && v.kind == VAL_STR) {
				snprintf(dev->hid_str, sizeof(dev->hid_str), "%.*s", (int)v.len, (const char *)v.p);
			} else if (!strcmp(name, "_CRS")) {
				if (v.kind != VAL_BUF)
					return false;
				dev->crs = v.p;
				dev->crs_len = v.len;
			} else if (v.kind == VAL_INT) {
#define FIELD(n, f)                              \
	if (!strcmp(name, n)) {                  \
		dev->has_##f = true;             \
		dev->f = v.i;                    \
	}
				FIELD("_HID", hid)
				FIELD("_CID", cid)
				FIELD("_UID", uid)
				FIELD("_STA", sta)
				FIELD("_ADR", adr)
				FIELD("_SEG", seg)
				FIELD("_BBN", bbn)
#undef FIELD
			}
		} else {
			return false;
		}
	}
	return p == end;
}

static const struct aml_dev *find_dev(const struct aml_walk *w, const char *path)
{
	for (unsigned int i = 0; i < w->nr; i++)
		if (!strcmp(w->devs[i].path, path))
			return &w->devs[i];
	return NULL;
}

static const struct aml_dev *find_hid(const struct aml_walk *w, const char *eisa)
{
	uint32_t id = aml_eisaid(eisa);

	for (unsigned int i = 0; i < w->nr; i++)
		if (w->devs[i].has_hid && w->devs[i].hid == id)
			return &w->devs[i];
	return NULL;
}

/* ------------------------------------------- resource template decoding */

enum res_kind { R_IO, R_IRQ, R_MEM32F, R_BUS, R_WIO, R_MEM, R_EXTIRQ };

struct res {
	enum res_kind kind;
	uint64_t min, max, len;
	uint8_t flags, tflags;
};

struct res_list {
	struct res r[32];
	unsigned int n;
};

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Decode a resource template; it must end with an end tag exactly at its end. */
static void parse_crs(const uint8_t *p, size_t n, struct res_list *out)
{
	size_t off = 0;

	out->n = 0;
	for (;;) {
		struct res r = { 0 };
		size_t dlen;

		assert_true(off < n);
		assert_true(out->n < ARRAY_SIZE(out->r));
		if (!(p[off] & 0x80)) { /* small item: tag in bits 6-3, length in 2-0 */
			uint8_t tag = p[off] >> 3, len = p[off] & 7;
			dlen = 1 + (size_t)len;
			assert_true(off + dlen <= n);
			if (tag == 0xf) { /* end tag */
				assert_int_equal(len, 1);
				assert_int_equal(off + dlen, n);
				return;
			}
			if (tag == 0x8) { /* IO */
				assert_int_equal(len, 7);
				r.kind = R_IO;
				r.min = le(p + off + 2, 2);
				r.max = le(p + off + 4, 2);
				r.len = p[off + 7];
				assert_int_equal(p[off + 1] & 1, 1); /* 16-bit decode */
			} else if (tag == 0x4) { /* IRQ */
				assert_true(len == 2 || len == 3);
				r.kind = R_IRQ;
				r.min = le(p + off + 1, 2); /* mask */
			} else {
				fail_msg("unexpected small resource tag %#x", tag);
			}
		} else { /* large item: tag, 16-bit length */
			size_t len;
			assert_true(off + 3 <= n);
			len = le(p + off + 1, 2);
			dlen = 3 + len;
			assert_true(off + dlen <= n);
			const uint8_t *d = p + off;
			switch (d[0]) {
			case 0x86:
				assert_int_equal(len, 9);
				r.kind = R_MEM32F;
				r.min = le(d + 4, 4);
				r.len = le(d + 8, 4);
				break;
			case 0x87:
			case 0x88:
			case 0x8a: {
				unsigned int w = d[0] == 0x88 ? 2 : d[0] == 0x87 ? 4 : 8;
				assert_int_equal(len, 3 + 5 * w);
				r.kind = d[3] == 2 ? R_BUS : d[3] == 1 ? R_WIO : R_MEM;
				assert_true(d[3] <= 2);
				r.flags = d[4];
				r.tflags = d[5];
				assert_int_equal(le(d + 6, w), 0); /* granularity */
				r.min = le(d + 6 + w, w);
				r.max = le(d + 6 + 2 * w, w);
				assert_int_equal(le(d + 6 + 3 * w, w), 0); /* translation */
				r.len = le(d + 6 + 4 * w, w);
				assert_int_equal(r.len, r.max - r.min + 1);
				break;
			}
			case 0x89:
				assert_int_equal(len, 6);
				assert_int_equal(d[4], 1);
				r.kind = R_EXTIRQ;
				r.flags = d[3];
				r.min = le(d + 5, 4);
				break;
			default:
				fail_msg("unexpected large resource tag %#x", d[0]);
			}
		}
		out->r[out->n++] = r;
		off += dlen;
	}
}

static bool has_res(const struct res_list *l, enum res_kind k, uint64_t min, uint64_t max, uint64_t len)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (l->r[i].kind == k && l->r[i].min == min && l->r[i].max == max && l->r[i].len == len)
			return true;
	return false;
}

static unsigned int count_res(const struct res_list *l, enum res_kind k)
{
	unsigned int c = 0;

	for (unsigned int i = 0; i < l->n; i++)
		c += l->r[i].kind == k;
	return c;
}

/* ------------------------------------------------------------------ ACPI */

static struct acpi_config make_cfg(unsigned int cpus, uint64_t ram)
{
	struct acpi_config c = {
		.nr_cpus = cpus,
		.ram_size = ram,
		.ecam_base = X86_ECAM_BASE,
		.ecam_buses = 256,
		.mmio32_base = X86_PCI_MMIO32_BASE,
		.mmio32_end = X86_PCI_MMIO32_END,
		.mmio64_base = x86_pci_mmio64_base(ram),
		.mmio64_end = x86_pci_mmio64_base(ram) + X86_PCI_MMIO64_SIZE,
		.pci_io_base = X86_PCI_IO_BASE,
		.pci_io_end = X86_PCI_IO_END,
		.nr_virtio_mmio = 2,
		.virtio_mmio = { { X86_VIRTIO_MMIO_BASE, 0x200, 5 },
				 { X86_VIRTIO_MMIO_BASE + X86_VIRTIO_MMIO_STRIDE, 0x200, 6 } },
	};
	return c;
}

struct span {
	uint64_t at, len;
	const char *what;
};

struct acpi_view {
	uint8_t *rsdp, *rsdt, *xsdt, *fadt, *facs, *dsdt, *madt, *mcfg;
	struct span spans[16];
	unsigned int nr_spans;
	uint64_t end; /* highest byte used + 1 */
};

static void add_span(struct acpi_view *v, uint64_t at, uint64_t len, const char *what)
{
	assert_true(v->nr_spans < ARRAY_SIZE(v->spans));
	v->spans[v->nr_spans++] = (struct span){ at, len, what };
	if (at + len > v->end)
		v->end = at + len;
}

/* A table with a standard header: signature, length, checksum, bounds. */
static uint8_t *table(struct guest_mem *m, struct acpi_view *v, uint64_t gpa, const char *sig, uint64_t base,
		      uint64_t size)
{
	uint8_t *t = guest_mem_ptr(m, gpa, 36);
	uint32_t len;

	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	len = get_le32(t + 4);
	assert_true(len >= 36);
	assert_true(gpa >= base && gpa + len <= base + size);
	t = guest_mem_ptr(m, gpa, len);
	assert_non_null(t);
	assert_int_equal(byte_sum(t, len), 0);
	assert_memory_equal(t + 10, "VMKIT ", 6); /* OEM ID matches the RSDP's */
	add_span(v, gpa, len, sig);
	return t;
}

/* Find and check every table reachable from the RSDP at base. */
static void acpi_view(struct guest_mem *m, uint64_t base, uint64_t size, uint64_t rsdp_gpa, struct acpi_view *v)
{
	unsigned int n;

	memset(v, 0, sizeof(*v));
	assert_int_equal(rsdp_gpa, base);
	v->rsdp = guest_mem_ptr(m, rsdp_gpa, 36);
	assert_non_null(v->rsdp);
	assert_memory_equal(v->rsdp, "RSD PTR ", 8);
	assert_int_equal(byte_sum(v->rsdp, 20), 0);
	assert_int_equal(byte_sum(v->rsdp, 36), 0);
	assert_int_equal(v->rsdp[15], 2);
	assert_int_equal(get_le32(v->rsdp + 20), 36);
	add_span(v, rsdp_gpa, 36, "RSDP");

	v->xsdt = table(m, v, get_le64(v->rsdp + 24), "XSDT", base, size);
	v->rsdt = table(m, v, get_le32(v->rsdp + 16), "RSDT", base, size);
	n = (get_le32(v->xsdt + 4) - 36) / 8;
	assert_int_equal(get_le32(v->xsdt + 4), 36 + 8 * n);
	assert_int_equal(get_le32(v->rsdt + 4), 36 + 4 * n);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t at = get_le64(v->xsdt + 36 + 8 * i);
		uint8_t *t = guest_mem_ptr(m, at, 4);

		assert_int_equal(at, get_le32(v->rsdt + 36 + 4 * i));
		assert_non_null(t);
		if (!memcmp(t, "FACP", 4)) {
			assert_null(v->fadt);
			v->fadt = table(m, v, at, "FACP", base, size);
		} else if (!memcmp(t, "APIC", 4)) {
			assert_null(v->madt);
			v->madt = table(m, v, at, "APIC", base, size);
		} else if (!memcmp(t, "MCFG", 4)) {
			assert_null(v->mcfg);
			v->mcfg = table(m, v, at, "MCFG", base, size);
		} else {
			fail_msg("unexpected table %.4s in the XSDT", (const char *)t);
		}
	}
	assert_non_null(v->fadt);
	assert_non_null(v->madt);
	assert_non_null(v->mcfg);

	/* DSDT through X_DSDT (equal to DSDT); FACS through FIRMWARE_CTRL only */
	assert_int_equal(get_le64(v->fadt + 140), get_le32(v->fadt + 40));
	v->dsdt = table(m, v, get_le64(v->fadt + 140), "DSDT", base, size);
	uint64_t facs = get_le32(v->fadt + 36);
	assert_int_equal(get_le64(v->fadt + 132), 0);
	assert_int_equal(facs % 64, 0);
	assert_true(facs >= base && facs + 64 <= base + size);
	v->facs = guest_mem_ptr(m, facs, 64);
	assert_memory_equal(v->facs, "FACS", 4);
	assert_int_equal(get_le32(v->facs + 4), 64);
	add_span(v, facs, 64, "FACS");

	/* no two structures overlap */
	for (unsigned int i = 0; i < v->nr_spans; i++)
		for (unsigned int j = i + 1; j < v->nr_spans; j++) {
			const struct span *a = &v->spans[i], *b = &v->spans[j];
			if (a->at < b->at + b->len && b->at < a->at + a->len)
				fail_msg("%s and %s overlap", a->what, b->what);
		}
}

static void gas_is_io(const uint8_t *g, uint8_t bits, uint64_t port)
{
	assert_int_equal(g[0], 1); /* SystemIO */
	assert_int_equal(g[1], bits);
	assert_int_equal(g[2], 0);
	assert_int_equal(get_le64(g + 4), port);
}

static void check_fadt(const uint8_t *f)
{
	uint32_t flags = get_le32(f + 112);

	assert_int_equal(get_le32(f + 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(get_le16(f + 46), X86_ACPI_SCI_IRQ);
	assert_int_equal(get_le32(f + 48), 0); /* no SMI_CMD */
	assert_int_equal(get_le32(f + 56), X86_ACPI_PM1A_EVT);
	assert_int_equal(get_le32(f + 60), 0);
	assert_int_equal(get_le32(f + 64), X86_ACPI_PM1A_CNT);
	assert_int_equal(get_le32(f + 76), X86_ACPI_PM_TMR);
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[91], 4);
	gas_is_io(f + 148, 32, X86_ACPI_PM1A_EVT);
	gas_is_io(f + 172, 16, X86_ACPI_PM1A_CNT);
	gas_is_io(f + 208, 32, X86_ACPI_PM_TMR);
	/* reset register: system I/O 0xcf9, value 6 */
	gas_is_io(f + 116, 8, X86_RESET_CONTROL_PORT);
	assert_int_equal(f[128], 0x06);
	assert_true(flags & (1u << 10)); /* RESET_REG_SUP */
	assert_true(flags & (1u << 0));  /* WBINVD */
	assert_true(flags & (1u << 2));  /* PROC_C1 */
	assert_false(flags & (1u << 4)); /* fixed-feature power button */
	assert_true(flags & (1u << 5));  /* no sleep button */
	assert_false(flags & (1u << 20)); /* not HW_REDUCED_ACPI */
	assert_true(get_le16(f + 109) & 1); /* LEGACY_DEVICES */
	assert_true(get_le16(f + 109) & 2); /* 8042 */
}

static void check_madt(const uint8_t *t, unsigned int cpus)
{
	uint32_t len = get_le32(t + 4), lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	assert_int_equal(get_le32(t + 36), X86_LAPIC_BASE);
	assert_int_equal(get_le32(t + 40) & 1, 1); /* PCAT_COMPAT */
	for (uint32_t off = 44; off < len;) {
		uint8_t type = t[off], elen = t[off + 1];

		assert_true(elen >= 2 && off + elen <= len);
		switch (type) {
		case 0:
			assert_int_equal(elen, 8);
			assert_int_equal(t[off + 2], lapics); /* processor UID */
			assert_int_equal(t[off + 3], lapics); /* APIC ID */
			assert_int_equal(get_le32(t + off + 4) & 1, 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(elen, 12);
			assert_int_equal(t[off + 2], 0);
			assert_int_equal(get_le32(t + off + 4), X86_IOAPIC_BASE);
			assert_int_equal(get_le32(t + off + 8), 0);
			ioapics++;
			break;
		case 2:
			/* only the SCI: IRQ 9 -> GSI 9, level, active high */
			assert_int_equal(elen, 10);
			assert_int_equal(t[off + 3], X86_ACPI_SCI_IRQ);
			assert_int_equal(get_le32(t + off + 4), X86_ACPI_SCI_IRQ);
			assert_int_equal(get_le16(t + off + 8), 0x000d);
			isos++;
			break;
		case 4:
			assert_int_equal(elen, 6);
			assert_int_equal(t[off + 2], 0xff);
			assert_int_equal(t[off + 5], 1); /* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", type);
		}
		off += elen;
	}
	assert_int_equal(lapics, cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);
	assert_int_equal(nmis, 1);
}

static void check_dsdt(const uint8_t *dsdt, const struct acpi_config *cfg)
{
	static struct aml_walk w;
	uint32_t len = get_le32(dsdt + 4);
	struct res_list rl;
	const struct aml_dev *d;

	assert_int_equal(dsdt[8], 2); /* 64-bit integers */
	memset(&w, 0, sizeof(w));
	assert_true(parse_terms(&w, dsdt + 36, dsdt + len, "", NULL));

	/* PCI0._PRT: slot S pin P -> GSI 20 + (S + P) % 4, static (source 0) */
	assert_int_equal(w.prt_n, 128);
	for (unsigned int i = 0; i < w.prt_n; i++) {
		unsigned int slot = (unsigned int)(w.prt[i][0] >> 16), pin = (unsigned int)w.prt[i][1];
		assert_int_equal(w.prt[i][0] & 0xffff, 0xffff);
		assert_true(slot < 32 && pin < 4);
		assert_int_equal(w.prt[i][2], 0);
		assert_int_equal(w.prt[i][3], X86_PCI_INTX_GSI(slot, pin));
	}
	assert_int_equal(w.prt[1 * 4 + 0][3], 21); /* slot 1 INTA */

	/* \_S5 = {5, 5, 0, 0} */
	assert_true(w.s5);
	assert_int_equal(w.s5_n, 4);
	assert_int_equal(w.s5_vals[0], X86_ACPI_SLP_TYP_S5);
	assert_int_equal(w.s5_vals[1], X86_ACPI_SLP_TYP_S5);
	assert_int_equal(w.s5_vals[2], 0);
	assert_int_equal(w.s5_vals[3], 0);

	/* the host bridge */
	d = find_dev(&w, "\\_SB_.PCI0");
	assert_non_null(d);
	assert_true(d->has_hid && d->hid == aml_eisaid("PNP0A08"));
	assert_true(d->has_cid && d->cid == aml_eisaid("PNP0A03"));
	assert_true(d->has_adr && d->adr == 0);
	assert_true(d->has_uid && d->uid == 0);
	assert_true(d->has_seg && d->seg == 0);
	assert_true(d->has_bbn && d->bbn == 0);
	assert_non_null(d->crs);
	parse_crs(d->crs, d->crs_len, &rl);
	assert_true(has_res(&rl, R_BUS, 0, cfg->ecam_buses - 1, cfg->ecam_buses));
	assert_true(has_res(&rl, R_IO, 0xcf8, 0xcf8, 8));
	assert_true(has_res(&rl, R_WIO, 0, 0xcf7, 0xcf8));
	assert_true(has_res(&rl, R_WIO, 0xd00, 0xffff, 0xf300));
	assert_true(has_res(&rl, R_MEM, 0xa0000, 0xbffff, 0x20000));
	assert_true(has_res(&rl, R_MEM, cfg->mmio32_base, cfg->mmio32_end - 1, cfg->mmio32_end - cfg->mmio32_base));
	if (cfg->mmio64_end > cfg->mmio64_base)
		assert_true(has_res(&rl, R_MEM, cfg->mmio64_base, cfg->mmio64_end - 1,
				    cfg->mmio64_end - cfg->mmio64_base));
	else
		assert_int_equal(count_res(&rl, R_MEM), 2);
	for (unsigned int i = 0; i < rl.n; i++)
		if (rl.r[i].kind == R_BUS || rl.r[i].kind == R_WIO || rl.r[i].kind == R_MEM)
			assert_int_equal(rl.r[i].flags & 1, 0); /* producer: a bridge window */

	/* ISA devices */
	d = find_hid(&w, "PNP0501");
	assert_non_null(d);
	parse_crs(d->crs, d->crs_len, &rl);
	assert_true(has_res(&rl, R_IO, X86_COM1_PORT, X86_COM1_PORT, 8));
	assert_true(has_res(&rl, R_IRQ, 1u << X86_COM1_IRQ, 0, 0));
	d = find_hid(&w, "PNP0B00");
	assert_non_null(d);
	parse_crs(d->crs, d->crs_len, &rl);
	assert_true(has_res(&rl, R_IO, X86_RTC_PORT, X86_RTC_PORT, 2));
	assert_true(has_res(&rl, R_IRQ, 1u << X86_RTC_IRQ, 0, 0));
	d = find_hid(&w, "PNP0303");
	assert_non_null(d);
	parse_crs(d->crs, d->crs_len, &rl);
	assert_true(has_res(&rl, R_IO, X86_I8042_DATA, X86_I8042_DATA, 1));
	assert_true(has_res(&rl, R_IO, X86_I8042_CMD, X86_I8042_CMD, 1));
	assert_true(has_res(&rl, R_IRQ, 1u << X86_KBD_IRQ, 0, 0));
	d = find_hid(&w, "PNP0F13");
	assert_non_null(d);
	parse_crs(d->crs, d->crs_len, &rl);
	assert_true(has_res(&rl, R_IRQ, 1u << X86_MOUSE_IRQ, 0, 0));
	assert_int_equal(rl.n, 1);

	/* motherboard resources */
	d = find_hid(&w, "PNP0C02");
	assert_non_null(d);
	parse_crs(d->crs, d->crs_len, &rl);
	assert_true(has_res(&rl, R_MEM32F, cfg->ecam_base, 0, (uint64_t)cfg->ecam_buses << 20));
	assert_true(has_res(&rl, R_IO, X86_ACPI_PM_BASE, X86_ACPI_PM_BASE, X86_ACPI_PM_LEN));
	assert_true(has_res(&rl, R_IO, X86_RESET_CONTROL_PORT, X86_RESET_CONTROL_PORT, 1));
	assert_true(has_res(&rl, R_IO, X86_DEBUG_EXIT_PORT, X86_DEBUG_EXIT_PORT, 4));

	/* virtio-mmio devices, level-triggered */
	unsigned int virtio = 0, cpus = 0;
	for (unsigned int i = 0; i < w.nr; i++) {
		if (!strcmp(w.devs[i].hid_str, "LNRO0005")) {
			const struct acpi_virtio_mmio *vm = &cfg->virtio_mmio[virtio];
			parse_crs(w.devs[i].crs, w.devs[i].crs_len, &rl);
			assert_true(has_res(&rl, R_MEM32F, vm->base, 0, vm->size));
			assert_int_equal(rl.r[1].kind, R_EXTIRQ);
			assert_int_equal(rl.r[1].min, vm->gsi);
			assert_int_equal(rl.r[1].flags & 0x07, 0x01); /* consumer, level, active-high */
			virtio++;
		}
		if (!strcmp(w.devs[i].hid_str, "ACPI0007")) {
			assert_true(w.devs[i].has_uid);
			assert_int_equal(w.devs[i].uid, cpus);
			cpus++;
		}
	}
	assert_int_equal(virtio, cfg->nr_virtio_mmio);
	assert_int_equal(cpus, cfg->nr_cpus);

	/* every device name is unique */
	for (unsigned int i = 0; i < w.nr; i++)
		for (unsigned int j = i + 1; j < w.nr; j++)
			assert_string_not_equal(w.devs[i].path, w.devs[j].path);
}

static void build_and_check(unsigned int cpus, uint64_t ram, bool mmio64)
{
	struct acpi_config cfg = make_cfg(cpus, ram);
	struct guest_mem m;
	struct acpi_view v;
	uint64_t rsdp = 0;

	if (!mmio64)
		cfg.mmio64_end = cfg.mmio64_base;
	guest_mem_init(&m);
	assert_int_equal(guest_mem_add(&m, 0, 16 * MiB), 0);
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg, &rsdp), 0);
	acpi_view(&m, X86_ACPI_BASE, X86_ACPI_SIZE, rsdp, &v);
	check_fadt(v.fadt);
	check_madt(v.madt, cpus);
	assert_int_equal(get_le32(v.mcfg + 4), 60);
	assert_int_equal(get_le64(v.mcfg + 44), cfg.ecam_base);
	assert_int_equal(get_le16(v.mcfg + 52), 0);
	assert_int_equal(v.mcfg[54], 0);
	assert_int_equal(v.mcfg[55], cfg.ecam_buses - 1);
	check_dsdt(v.dsdt, &cfg);
	guest_mem_free(&m);
}

static void test_acpi_tables(void **state)
{
	build_and_check(1, 16 * MiB, true);
	build_and_check(4, 256 * MiB, true);
	build_and_check(4, 8 * GiB, false);
	build_and_check(255, 8 * GiB, true);
}

/* The DSDT carries the EISA ids in the DWord encoding Linux matches on. */
static void test_acpi_dsdt_ids(void **state)
{
	static const char *const ids[] = { "PNP0A08", "PNP0A03", "PNP0501", "PNP0B00",
					   "PNP0303", "PNP0F13", "PNP0C02" };
	struct acpi_config cfg = make_cfg(2, 256 * MiB);
	struct guest_mem m;
	struct acpi_view v;
	uint64_t rsdp;

	guest_mem_init(&m);
	assert_int_equal(guest_mem_add(&m, 0, 16 * MiB), 0);
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg, &rsdp), 0);
	acpi_view(&m, X86_ACPI_BASE, X86_ACPI_SIZE, rsdp, &v);
	uint32_t len = get_le32(v.dsdt + 4);
	assert_non_null(memmem(v.dsdt, len, "\x08\\_S5_\x12", 7)); /* Name(\_S5_, Package */
	for (unsigned int i = 0; i < ARRAY_SIZE(ids); i++) {
		uint8_t want[5] = { 0x0c };
		put_le32(want + 1, aml_eisaid(ids[i]));
		if (!memmem(v.dsdt, len, want, sizeof(want)))
			fail_msg("%s missing from the DSDT", ids[i]);
	}
	guest_mem_free(&m);
}

/* Too small an area fails with -ENOSPC and never writes outside it. */
static void test_acpi_nospace(void **state)
{
	struct acpi_config cfg = make_cfg(8, 256 * MiB);
	struct guest_mem m;
	struct acpi_view v;
	uint64_t rsdp, need;
	uint8_t *area;

	guest_mem_init(&m);
	assert_int_equal(guest_mem_add(&m, 0, 16 * MiB), 0);
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg, &rsdp), 0);
	acpi_view(&m, X86_ACPI_BASE, X86_ACPI_SIZE, rsdp, &v);
	need = v.end - X86_ACPI_BASE;
	area = guest_mem_ptr(&m, X86_ACPI_BASE, X86_ACPI_SIZE);

	for (uint64_t size = 0; size < need; size += size < 64 ? 1 : 61) {
		memset(area, 0xa5, X86_ACPI_SIZE);
		assert_int_equal(acpi_build(&m, X86_ACPI_BASE, size, &cfg, &rsdp), -ENOSPC);
		for (uint64_t i = size; i < X86_ACPI_SIZE; i++)
			if (area[i] != 0xa5)
				fail_msg("size %llu: byte %llu written", (unsigned long long)size,
					 (unsigned long long)i);
	}
	/* exactly enough */
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, need, &cfg, &rsdp), 0);
	acpi_view(&m, X86_ACPI_BASE, need, rsdp, &v);
	guest_mem_free(&m);
}

static void test_acpi_invalid(void **state)
{
	struct acpi_config cfg = make_cfg(4, 256 * MiB);
	struct guest_mem m;
	struct acpi_view v;
	uint64_t rsdp;

	guest_mem_init(&m);
	assert_int_equal(guest_mem_add(&m, 0, 1 * MiB), 0);
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE + 8, X86_ACPI_SIZE - 8, &cfg, &rsdp), -EINVAL);
	/* not RAM */
	assert_int_equal(acpi_build(&m, 2 * MiB, X86_ACPI_SIZE, &cfg, &rsdp), -EFAULT);
	cfg.nr_cpus = 0;
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg, &rsdp), -EINVAL);
	cfg.nr_cpus = 256;
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg, &rsdp), -EINVAL);
	cfg = make_cfg(4, 256 * MiB);
	cfg.ecam_buses = 0;
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg, &rsdp), -EINVAL);
	cfg = make_cfg(4, 256 * MiB);
	cfg.mmio32_end = X86_HIGHMEM_BASE + GiB;
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg, &rsdp), -EINVAL);
	cfg = make_cfg(4, 256 * MiB);
	cfg.nr_virtio_mmio = X86_VIRTIO_MMIO_MAX + 1;
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg, &rsdp), -EINVAL);

	/* a 16-byte (not 64-byte) aligned base still gets a 64-byte aligned FACS; fewer buses */
	cfg = make_cfg(4, 256 * MiB);
	cfg.ecam_buses = 16;
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE + 16, X86_ACPI_SIZE - 16, &cfg, &rsdp), 0);
	acpi_view(&m, X86_ACPI_BASE + 16, X86_ACPI_SIZE - 16, rsdp, &v);
	assert_int_equal(v.mcfg[55], 15);
	check_dsdt(v.dsdt, &cfg);
	guest_mem_free(&m);
}

/* ------------------------------------------------------------- MP table */

static void check_mptable(struct guest_mem *m, uint64_t base, unsigned int cpus)
{
	uint8_t *mpf = guest_mem_ptr(m, base, 16), *mpc;
	unsigned int procs = 0, buses = 0, ioapics = 0, ints = 0, lints = 0, off = 44;
	bool isa_seen[16] = { false };
	uint16_t len, count;

	/* floating pointer (MP 1.4 s4.1) */
	assert_non_null(mpf);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(mpf[8], 1);
	assert_int_equal(mpf[9], 4);
	assert_int_equal(byte_sum(mpf, 16), 0);
	assert_int_equal(mpf[11], 0); /* a configuration table is present */

	mpc = guest_mem_ptr(m, get_le32(mpf + 4), 44);
	assert_non_null(mpc);
	assert_memory_equal(mpc, "PCMP", 4);
	assert_int_equal(mpc[6], 4);
	assert_int_equal(get_le32(mpc + 36), X86_LAPIC_BASE);
	len = get_le16(mpc + 4);
	count = get_le16(mpc + 34);
	mpc = guest_mem_ptr(m, get_le32(mpf + 4), len);
	assert_non_null(mpc);
	assert_int_equal(byte_sum(mpc, len), 0);
	/* the configuration table follows the pointer and does not overlap it */
	assert_true(get_le32(mpf + 4) >= base + 16);

	for (unsigned int i = 0; i < count; i++) {
		assert_true(off < len);
		const uint8_t *e = mpc + off;
		switch (e[0]) {
		case 0: /* processor */
			assert_int_equal(e[1], procs);
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(!!(e[3] & 2), procs == 0);
			assert_int_not_equal(get_le32(e + 8) & (1u << 9), 0); /* APIC feature */
			procs++;
			off += 20;
			break;
		case 1: /* bus */
			assert_true(!memcmp(e + 2, "ISA   ", 6) || !memcmp(e + 2, "PCI   ", 6));
			buses++;
			off += 8;
			break;
		case 2: /* IOAPIC */
			assert_int_equal(e[1], cpus & 0xff);
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(get_le32(e + 4), X86_IOAPIC_BASE);
			ioapics++;
			off += 8;
			break;
		case 3: /* I/O interrupt: ISA IRQ n -> pin n of the IOAPIC */
			assert_int_equal(e[1], 0);
			assert_true(e[5] < 16 && e[5] != 2);
			assert_false(isa_seen[e[5]]);
			isa_seen[e[5]] = true;
			assert_int_equal(e[6], cpus & 0xff);
			assert_int_equal(e[7], e[5]);
			ints++;
			off += 8;
			break;
		case 4: /* local interrupt */
			assert_int_equal(e[6], 0xff);
			if (e[7] == 0)
				assert_int_equal(e[1], 3); /* ExtINT on LINT0 */
			else if (e[7] == 1)
				assert_int_equal(e[1], 1); /* NMI on LINT1 */
			else
				fail_msg("local interrupt on LINT%u", e[7]);
			lints++;
			off += 8;
			break;
		default:
			fail_msg("unexpected MP entry type %u", e[0]);
		}
	}
	assert_int_equal(off, len);
	assert_int_equal(procs, cpus);
	assert_int_equal(buses, 2);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ints, 15);
	assert_int_equal(lints, 2);
}

static void test_mptable(void **state)
{
	static const unsigned int cpus[] = { 1, 2, 4, 64, 254, 255 };
	struct guest_mem m;
	uint8_t *area;

	guest_mem_init(&m);
	assert_int_equal(guest_mem_add(&m, 0, 16 * MiB), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(cpus); i++) {
		assert_int_equal(mptable_build(&m, X86_MPTABLE_BASE, X86_MPTABLE_SIZE, cpus[i]), 0);
		check_mptable(&m, X86_MPTABLE_BASE, cpus[i]);
	}
	assert_int_equal(mptable_build(&m, X86_MPTABLE_BASE, X86_MPTABLE_SIZE, 0), -EINVAL);
	assert_int_equal(mptable_build(&m, X86_MPTABLE_BASE, X86_MPTABLE_SIZE, 256), -EINVAL);
	assert_int_equal(mptable_build(&m, X86_MPTABLE_BASE + 8, X86_MPTABLE_SIZE, 4), -EINVAL);
	assert_int_equal(mptable_build(&m, 32 * MiB, X86_MPTABLE_SIZE, 4), -EFAULT);

	/* too small: -ENOSPC, nothing written */
	area = guest_mem_ptr(&m, X86_MPTABLE_BASE, X86_MPTABLE_SIZE);
	for (uint64_t size = 0; size < 16 + 44 + 255 * 20 + 20 * 8; size += 97) {
		memset(area, 0xa5, X86_MPTABLE_SIZE);
		assert_int_equal(mptable_build(&m, X86_MPTABLE_BASE, size, 255), -ENOSPC);
		for (uint64_t j = 0; j < X86_MPTABLE_SIZE; j++)
			assert_int_equal(area[j], 0xa5);
	}
	assert_int_equal(mptable_build(&m, X86_MPTABLE_BASE, 16 + 44 + 255 * 20 + 20 * 8, 255), 0);
	check_mptable(&m, X86_MPTABLE_BASE, 255);
	guest_mem_free(&m);
}

/* ------------------------------------------------------------------ AML */

static void expect(struct aml *a, const uint8_t *want, size_t n)
{
	assert_false(a->error);
	assert_int_equal(a->len, n);
	assert_memory_equal(a->buf, want, n);
	aml_free(a);
}
#define EXPECT(a, ...)                                        \
	do {                                                  \
		static const uint8_t w_[] = { __VA_ARGS__ }; \
		expect(a, w_, sizeof(w_));                    \
	} while (0)

static void test_aml_pkglength(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_pkglength(&a, 0); /* 1 byte */
	EXPECT(&a, 0x01);
	aml_pkglength(&a, 10);
	EXPECT(&a, 11);
	aml_pkglength(&a, 62); /* 63: the largest one-byte value */
	EXPECT(&a, 0x3f);
	aml_pkglength(&a, 63); /* 65 = 0x41: two bytes */
	EXPECT(&a, 0x41, 0x04);
	aml_pkglength(&a, 100); /* 102 = 0x66 */
	EXPECT(&a, 0x46, 0x06);
	aml_pkglength(&a, 0xffd); /* 0xfff: the largest two-byte value */
	EXPECT(&a, 0x4f, 0xff);
	aml_pkglength(&a, 0xffe); /* 0x1001: three bytes */
	EXPECT(&a, 0x81, 0x00, 0x01);
	aml_pkglength(&a, 5000); /* 5003 = 0x138b */
	EXPECT(&a, 0x8b, 0x38, 0x01);
	aml_pkglength(&a, 0xffffc); /* 0xfffff */
	EXPECT(&a, 0x8f, 0xff, 0xff);
	aml_pkglength(&a, 0xffffd); /* 0x100001: four bytes */
	EXPECT(&a, 0xc1, 0x00, 0x00, 0x01);
	aml_pkglength(&a, (1u << 28) - 5); /* 0xfffffff */
	EXPECT(&a, 0xcf, 0xff, 0xff, 0xff);
	aml_pkglength(&a, (1u << 28) - 4); /* not encodable */
	assert_true(a.error);
	aml_free(&a);
}

static void test_aml_data(void **state)
{
	struct aml a, b;

	aml_init(&a);
	aml_init(&b);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0xffff);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0xffffffffULL);
	aml_integer(&a, 0x100000000ULL);
	EXPECT(&a, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0b, 0xff, 0xff, 0x0c, 0x00, 0x00,
	       0x01, 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
	aml_string(&a, "AB");
	EXPECT(&a, 0x0d, 'A', 'B', 0);

	/* names: padding, root, dual and multi prefixes, and refusals */
	aml_name_string(&a, "_S5");
	EXPECT(&a, '_', 'S', '5', '_');
	aml_name_string(&a, "\\_SB.PCI0");
	EXPECT(&a, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	aml_name_string(&a, "\\_SB_.PCI0.COM1");
	EXPECT(&a, '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'C', 'O', 'M', '1');
	aml_name_string(&a, "\\");
	EXPECT(&a, '\\', 0x00);
	aml_name_string(&a, "TOOLONG");
	assert_true(a.error);
	aml_byte(&a, 0x42); /* errors are sticky */
	assert_int_equal(a.len, 0);
	aml_free(&a);
	aml_name_string(&a, "A..B");
	assert_true(a.error);
	aml_free(&a);

	/* EISA ids: the well-known encodings */
	assert_int_equal(aml_eisaid("PNP0A03"), 0x030ad041);
	assert_int_equal(aml_eisaid("PNP0A08"), 0x080ad041);
	assert_int_equal(aml_eisaid("PNP0501"), 0x0105d041);
	assert_int_equal(aml_eisaid("PNP0C02"), 0x020cd041);
	aml_name_eisaid(&a, "_HID", "PNP0B00");
	EXPECT(&a, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00);

	/* composites */
	aml_name_integer(&b, "_UID", 1);
	aml_device(&a, "DEV0", &b);
	EXPECT(&a, 0x5b, 0x82, 0x0b, 'D', 'E', 'V', '0', 0x08, '_', 'U', 'I', 'D', 0x01);
	aml_scope(&a, "\\_SB", &b);
	EXPECT(&a, 0x10, 0x0c, '\\', '_', 'S', 'B', '_', 0x08, '_', 'U', 'I', 'D', 0x01);
	aml_free(&b);
	aml_integer(&b, 1);
	aml_integer(&b, 0x12);
	aml_package(&a, 2, &b);
	EXPECT(&a, 0x12, 0x05, 0x02, 0x01, 0x0a, 0x12);
	aml_buffer(&a, &b);
	EXPECT(&a, 0x11, 0x06, 0x0a, 0x03, 0x01, 0x0a, 0x12);
	aml_package(&a, 256, &b);
	assert_true(a.error);
	aml_free(&a);
	aml_free(&b);

	/* a body whose PkgLength needs two bytes */
	for (int i = 0; i < 100; i++)
		aml_byte(&b, 0x01);
	aml_device(&a, "BIG_", &b);
	assert_int_equal(a.len, 2 + 2 + 4 + 100);
	assert_int_equal(a.buf[2], 0x40 | ((2 + 4 + 100) & 0xf));
	assert_int_equal(a.buf[3], (2 + 4 + 100) >> 4);
	aml_free(&a);
	aml_free(&b);
}

static void test_aml_resources(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_res_io(&a, 0x3f8, 8);
	EXPECT(&a, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08);
	aml_res_irq(&a, 12);
	EXPECT(&a, 0x22, 0x00, 0x10);
	aml_res_irq(&a, 16);
	assert_true(a.error);
	aml_free(&a);
	aml_res_mem32_fixed(&a, 0xb0000000, 0x10000000);
	EXPECT(&a, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xb0, 0x00, 0x00, 0x00, 0x10);
	aml_res_word_bus(&a, 0, 0xff);
	EXPECT(&a, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
	       0x01);
	aml_res_word_io(&a, 0xd00, 0xffff);
	EXPECT(&a, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff, 0x00, 0x00, 0x00,
	       0xf3);
	aml_res_dword_mem(&a, 0xa0000, 0xbffff);
	EXPECT(&a, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x0a, 0x00, 0xff, 0xff, 0x0b,
	       0x00, 0, 0, 0, 0, 0x00, 0x00, 0x02, 0x00);
	aml_res_qword_mem(&a, 0x280000000ULL, 0x427fffffffULL);
	EXPECT(&a, 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x80, 0x02,
	       0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x7f, 0x42, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
	       0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00);
	aml_res_interrupt_level(&a, 5);
	EXPECT(&a, 0x89, 0x06, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00);
	aml_res_end(&a);
	EXPECT(&a, 0x79, 0x00);
	aml_res_word_io(&a, 0x10, 0x0f); /* max < min */
	assert_true(a.error);
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_sizes),
		cmocka_unit_test(test_e820_exact),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_acpi_tables),
		cmocka_unit_test(test_acpi_dsdt_ids),
		cmocka_unit_test(test_acpi_nospace),
		cmocka_unit_test(test_acpi_invalid),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_aml_pkglength),
		cmocka_unit_test(test_aml_data),
		cmocka_unit_test(test_aml_resources),
	};
	return cmocka_run_group_tests_name("x86_tables", tests, NULL, NULL);
}
