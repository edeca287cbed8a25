/* SPDX-License-Identifier: MIT */
/* Helpers shared by the kernel loaders. */
#ifndef VMKIT_BOOT_PRIV_H
#define VMKIT_BOOT_PRIV_H

#include <stdarg.h>
#include <stdbool.h>

#include "vmkit/boot.h"

/* One human-readable line into err; returns code (a -errno). */
int boot_err(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Copy filesz bytes to gpa and zero up to memsz. The whole [gpa, gpa+memsz)
 * must be guest RAM. 0 or -EFBIG.
 */
int boot_place(struct guest_mem *m, uint64_t gpa, const uint8_t *src, uint64_t filesz, uint64_t memsz);

/* Does [a, a+alen) intersect [b, b+blen)? (no overflow) */
bool boot_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);

/*
 * vmkit's own boot data lives below this address (IVT/BDA, GDT, boot info,
 * zero page, page tables, command line): no image may be loaded there.
 */
#define BOOT_DATA_END (X86_CMDLINE + X86_CMDLINE_MAX)

/* No limit for boot_check_range() (64-bit entry points). */
#define BOOT_NO_LIMIT UINT64_MAX

/*
 * May an image put what (e.g. "ELF segment 2") at [gpa, gpa+len)? It must
 * end at or below limit, stay clear of vmkit's boot data, be guest RAM and,
 * when env has an e820 map, usable RAM in it (not the ACPI/MP tables, EBDA
 * or the VGA hole). 0, -EINVAL (limit, boot data, reserved; err set) or
 * -EFBIG (not RAM; err set).
 */
int boot_check_range(const struct guest_mem *m, const struct boot_env *env, uint64_t gpa, uint64_t len,
		     uint64_t limit, const char *what, char *err, size_t errlen);

/*
 * Highest page-aligned address at which len bytes fit in e820 RAM, entirely
 * at or above min_addr and below max_end. 0 (and -ENOSPC returned) if none.
 */
int boot_place_high(const struct boot_env *env, uint64_t len, uint64_t min_addr, uint64_t max_end,
		    uint64_t *out);

/*
 * Place the initrd (if any) page-aligned, as high as RAM below 4 GiB allows,
 * above kernel_end. *at = 0 without an initrd. 0 or -EFBIG (err set).
 */
int boot_place_initrd(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		      uint64_t kernel_end, uint64_t *at, char *err, size_t errlen);

/* Write the command line at X86_CMDLINE; max_len includes the NUL. 0 or -E2BIG. */
int boot_write_cmdline(struct guest_mem *m, const char *cmdline, uint64_t max_len, char *err, size_t errlen);

/* Build a Linux zero page's e820 table and RSDP fields (boot_params offsets). */
void boot_zero_page_common(uint8_t *zp, const struct boot_env *env);

/* Zero page offsets (Documentation/arch/x86/zero-page.rst, boot.rst). */
#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_E820_ENTRIES 0x1e8
#define ZP_SETUP_SECTS 0x1f1
#define ZP_VID_MODE 0x1fa
#define ZP_BOOT_FLAG 0x1fe
#define ZP_JUMP 0x200
#define ZP_HEADER 0x202
#define ZP_VERSION 0x206
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_LOADFLAGS 0x211
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_HEAP_END_PTR 0x224
#define ZP_CMD_LINE_PTR 0x228
#define ZP_INITRD_ADDR_MAX 0x22c
#define ZP_KERNEL_ALIGNMENT 0x230
#define ZP_XLOADFLAGS 0x236
#define ZP_CMDLINE_SIZE 0x238
#define ZP_PREF_ADDRESS 0x258
#define ZP_INIT_SIZE 0x260
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_MAX 128
#define ZP_SIZE 4096

#define HDRS_MAGIC 0x53726448 /* "HdrS" */

#endif
