// SPDX-License-Identifier: MIT
/*
 * ACPI tables for firmware boot: the same tables acpi_build() writes for
 * direct boot, handed to the firmware through fw_cfg as QEMU's "linker/loader"
 * interface (QEMU hw/acpi/bios-linker-loader.c describes the command format;
 * SeaBIOS src/fw/romfile_loader.c executes it): files etc/acpi/rsdp and
 * etc/acpi/tables, and etc/table-loader with ALLOCATE, ADD_POINTER and
 * ADD_CHECKSUM commands, so the firmware places the tables wherever it keeps
 * ACPI memory and patches the pointers between them.
 *
 * acpi_build() runs into a scratch memory at address 0: every pointer it
 * writes is then an offset into the blob. The blob is walked (RSDP -> RSDT,
 * XSDT -> tables, FADT -> FACS, DSDT) to find each pointer field; each one
 * becomes an ADD_POINTER command and each table an ADD_CHECKSUM command.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/fw_cfg.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

#define LOADER_CMD_SIZE 128
#define LOADER_FILE_SIZE 56
#define CMD_ALLOCATE 1
#define CMD_ADD_POINTER 2
#define CMD_ADD_CHECKSUM 3
#define ZONE_HIGH 1
#define ZONE_FSEG 2

#define RSDP_FILE "etc/acpi/rsdp"
#define TABLES_FILE "etc/acpi/tables"
#define LOADER_FILE "etc/table-loader"
#define RSDP_LEN 36
#define HDR_LEN 36
#define MAX_TABLES 16
#define MAX_CMDS 64

struct loader {
	uint8_t cmds[MAX_CMDS][LOADER_CMD_SIZE];
	unsigned int n;
	int err;
};

static uint8_t *cmd(struct loader *l, uint32_t type)
{
	uint8_t *c;

	if (l->n == MAX_CMDS) {
		l->err = -ENOSPC;
		return NULL;
	}
	c = l->cmds[l->n++];
	memset(c, 0, LOADER_CMD_SIZE);
	put_le32(c, type);
	return c;
}

static void cmd_allocate(struct loader *l, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *c = cmd(l, CMD_ALLOCATE);

	if (!c)
		return;
	strncpy((char *)c + 4, file, LOADER_FILE_SIZE - 1);
	put_le32(c + 4 + LOADER_FILE_SIZE, align);
	c[4 + LOADER_FILE_SIZE + 4] = zone;
}

/* The size-byte field at offset in dest gets the address of src added to it. */
static void cmd_pointer(struct loader *l, const char *dest, const char *src, uint32_t offset, uint8_t size)
{
	uint8_t *c = cmd(l, CMD_ADD_POINTER);

	if (!c)
		return;
	strncpy((char *)c + 4, dest, LOADER_FILE_SIZE - 1);
	strncpy((char *)c + 4 + LOADER_FILE_SIZE, src, LOADER_FILE_SIZE - 1);
	put_le32(c + 4 + 2 * LOADER_FILE_SIZE, offset);
	c[4 + 2 * LOADER_FILE_SIZE + 4] = size;
}

static void cmd_checksum(struct loader *l, const char *file, uint32_t at, uint32_t start, uint32_t len)
{
	uint8_t *c = cmd(l, CMD_ADD_CHECKSUM);

	if (!c)
		return;
	strncpy((char *)c + 4, file, LOADER_FILE_SIZE - 1);
	put_le32(c + 4 + LOADER_FILE_SIZE, at);
	put_le32(c + 4 + LOADER_FILE_SIZE + 4, start);
	put_le32(c + 4 + LOADER_FILE_SIZE + 8, len);
}

struct walk {
	const uint8_t *blob;
	uint64_t size;
	uint64_t tables[MAX_TABLES]; /* blob offsets of every table but the RSDP */
	unsigned int nr;
	/* pointer fields: blob offset of the field and its width */
	struct {
		uint64_t at;
		uint8_t size;
	} ptrs[MAX_CMDS];
	unsigned int nr_ptrs;
	int err;
};

static uint64_t get_ptr(const uint8_t *p, uint8_t size)
{
	return size == 8 ? get_le64(p) : get_le32(p);
}

static void add_table(struct walk *w, uint64_t off);

/* A pointer field at blob offset at: record it and follow it. 0 means "absent". */
static void add_ptr(struct walk *w, uint64_t at, uint8_t size)
{
	uint64_t target;

	if (w->err || at + size > w->size)
		return;
	target = get_ptr(w->blob + at, size);
	if (!target)
		return;
	if (w->nr_ptrs == MAX_CMDS) {
		w->err = -ENOSPC;
		return;
	}
	w->ptrs[w->nr_ptrs].at = at;
	w->ptrs[w->nr_ptrs++].size = size;
	add_table(w, target);
}

static void add_table(struct walk *w, uint64_t off)
{
	const uint8_t *t;
	uint32_t len;

	for (unsigned int i = 0; i < w->nr; i++)
		if (w->tables[i] == off)
			return;
	if (w->err || off + HDR_LEN > w->size || off < RSDP_LEN || w->nr == MAX_TABLES) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	t = w->blob + off;
	/* The FACS has no checksum and a shorter header: length at 4 all the same. */
	len = get_le32(t + 4);
	if (len < 8 || off + len > w->size) {
		w->err = -EINVAL;
		return;
	}
	w->tables[w->nr++] = off;
	if (!memcmp(t, "RSDT", 4)) {
		for (uint32_t p = HDR_LEN; p + 4 <= len; p += 4)
			add_ptr(w, off + p, 4);
	} else if (!memcmp(t, "XSDT", 4)) {
		for (uint32_t p = HDR_LEN; p + 8 <= len; p += 8)
			add_ptr(w, off + p, 8);
	} else if (!memcmp(t, "FACP", 4) && len >= 148) {
		/* FIRMWARE_CTRL, DSDT, X_FIRMWARE_CTRL, X_DSDT (ACPI 6.4 s5.2.9) */
		add_ptr(w, off + 36, 4);
		add_ptr(w, off + 40, 4);
		add_ptr(w, off + 132, 8);
		add_ptr(w, off + 140, 8);
	}
}

static uint64_t table_end(const struct walk *w)
{
	uint64_t end = 0;

	for (unsigned int i = 0; i < w->nr; i++) {
		uint64_t e = w->tables[i] + get_le32(w->blob + w->tables[i] + 4);
		end = e > end ? e : end;
	}
	return end;
}

int acpi_build_fw_cfg(struct fw_cfg *fc, const struct acpi_config *cfg)
{
	struct loader *lp = calloc(1, sizeof(*lp));
	struct walk *wp = calloc(1, sizeof(*wp));
	struct guest_mem scratch;
	uint64_t rsdp = 0, t0, end;
	uint8_t *blob, *tables = NULL, rsdp_copy[RSDP_LEN];
	int r;

	guest_mem_init(&scratch);
	if (!lp || !wp) {
		r = -ENOMEM;
		goto out;
	}
	r = guest_mem_add(&scratch, 0, X86_ACPI_SIZE);
	if (r)
		goto out;
	r = acpi_build(&scratch, 0, X86_ACPI_SIZE, cfg, &rsdp);
	if (r)
		goto out;
	blob = guest_mem_ptr(&scratch, 0, X86_ACPI_SIZE);
	if (rsdp != 0 || !blob || memcmp(blob, "RSD PTR ", 8)) {
		r = -EINVAL;
		goto out;
	}
	wp->blob = blob;
	wp->size = X86_ACPI_SIZE;
	add_ptr(wp, 16, 4); /* RSDT */
	add_ptr(wp, 24, 8); /* XSDT */
	if (wp->err || !wp->nr) {
		r = wp->err ? wp->err : -EINVAL;
		goto out;
	}
	/*
	 * The tables file starts at the first 64-byte boundary at or below the
	 * first table, so alignment inside it (the FACS needs 64) survives the
	 * firmware's 64-byte aligned allocation; bytes before the first table
	 * (the tail of the RSDP) are zeroed.
	 */
	t0 = wp->tables[0];
	for (unsigned int i = 1; i < wp->nr; i++)
		t0 = wp->tables[i] < t0 ? wp->tables[i] : t0;
	t0 &= ~63ULL;
	end = table_end(wp);
	memcpy(rsdp_copy, blob, RSDP_LEN);
	memset(blob, 0, RSDP_LEN);
	/* Pointer fields now hold offsets into the tables file. */
	for (unsigned int i = 0; i < wp->nr_ptrs; i++) {
		uint8_t *p = wp->ptrs[i].at < RSDP_LEN ? rsdp_copy + wp->ptrs[i].at : blob + wp->ptrs[i].at;
		uint64_t v = get_ptr(p, wp->ptrs[i].size) - t0;
		if (wp->ptrs[i].size == 8)
			put_le64(p, v);
		else
			put_le32(p, (uint32_t)v);
	}
	tables = blob + t0;

	cmd_allocate(lp, RSDP_FILE, 16, ZONE_FSEG);
	cmd_allocate(lp, TABLES_FILE, 64, ZONE_HIGH);
	for (unsigned int i = 0; i < wp->nr_ptrs; i++) {
		bool in_rsdp = wp->ptrs[i].at < RSDP_LEN;
		cmd_pointer(lp, in_rsdp ? RSDP_FILE : TABLES_FILE, TABLES_FILE,
			    (uint32_t)(in_rsdp ? wp->ptrs[i].at : wp->ptrs[i].at - t0), wp->ptrs[i].size);
	}
	/* Checksums last: they cover the patched pointers. The FACS has none. */
	for (unsigned int i = 0; i < wp->nr; i++) {
		const uint8_t *t = blob + wp->tables[i];
		if (!memcmp(t, "FACS", 4))
			continue;
		cmd_checksum(lp, TABLES_FILE, (uint32_t)(wp->tables[i] - t0 + 9), (uint32_t)(wp->tables[i] - t0),
			     get_le32(t + 4));
	}
	cmd_checksum(lp, RSDP_FILE, 8, 0, 20);
	cmd_checksum(lp, RSDP_FILE, 32, 0, RSDP_LEN);
	if (lp->err) {
		r = lp->err;
		goto out;
	}
	if ((r = fw_cfg_add_file(fc, RSDP_FILE, rsdp_copy, RSDP_LEN)) ||
	    (r = fw_cfg_add_file(fc, TABLES_FILE, tables, (uint32_t)(end - t0))) ||
	    (r = fw_cfg_add_file(fc, LOADER_FILE, lp->cmds, lp->n * LOADER_CMD_SIZE)))
		goto out;
out:
	guest_mem_free(&scratch);
	free(lp);
	free(wp);
	return r;
}
