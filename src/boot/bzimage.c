// SPDX-License-Identifier: MIT
/*
 * Linux bzImage loader (Documentation/arch/x86/boot.rst, "THE LINUX/x86 BOOT
 * PROTOCOL"). vmkit enters through the 64-bit entry point ("64-bit BOOT
 * PROTOCOL", protocol 2.12+ with XLF_KERNEL_64): the protected-mode kernel is
 * loaded at 1 MiB, the zero page carries a copy of the setup header plus the
 * e820 map, command line, initrd and RSDP.
 */
#include <errno.h>
#include <string.h>

#include "boot_priv.h"
#include "vmkit/util.h"

#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define MIN_PROTOCOL 0x020c

int boot_load_bzimage(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		      struct boot_result *res, char *err, size_t errlen)
{
	const uint8_t *k = img->kernel;
	size_t len = img->kernel_len;
	uint8_t *zp;
	unsigned int setup_sects, hdr_end;
	uint16_t version;
	uint64_t pm_off, pm_len, load = X86_KERNEL_LOAD, need, initrd_max, initrd_at = 0;
	uint32_t cmdline_size;
	int r;

	if (len < 0x264 || get_le32(k + ZP_HEADER) != HDRS_MAGIC)
		return -ENOEXEC;
	version = get_le16(k + ZP_VERSION);
	if (version < MIN_PROTOCOL)
		return boot_err(err, errlen, -EINVAL,
				"bzImage boot protocol %u.%02u is too old (vmkit needs 2.12+, a 64-bit kernel)",
				version >> 8, version & 0xff);
	if (!(get_le16(k + ZP_XLOADFLAGS) & XLF_KERNEL_64))
		return boot_err(err, errlen, -EINVAL, "bzImage has no 64-bit entry point (a 32-bit kernel?)");
	if (!(k[ZP_LOADFLAGS] & LOADED_HIGH))
		return boot_err(err, errlen, -EINVAL, "bzImage is a zImage (not loaded high)");
	setup_sects = k[ZP_SETUP_SECTS] ? k[ZP_SETUP_SECTS] : 4;
	pm_off = (uint64_t)(setup_sects + 1) * 512;
	if (pm_off >= len)
		return boot_err(err, errlen, -EINVAL, "bzImage truncated: no protected-mode kernel after %u setup sectors",
				setup_sects);
	pm_len = len - pm_off;
	hdr_end = 0x202 + k[ZP_JUMP + 1];
	if (hdr_end > len || hdr_end > ZP_E820_TABLE)
		return boot_err(err, errlen, -EINVAL, "bzImage setup header is malformed");

	/* The kernel decompresses in place: it needs init_size bytes from the load address. */
	need = MAX(pm_len, (uint64_t)get_le32(k + ZP_INIT_SIZE));
	if (!guest_mem_ptr(m, load, need))
		return boot_err(err, errlen, -EFBIG, "kernel image (%llu MiB needed) does not fit in guest memory",
				(unsigned long long)(need >> 20) + 1);
	r = boot_place(m, load, k + pm_off, pm_len, pm_len);
	if (r)
		return boot_err(err, errlen, r, "cannot place the kernel in guest memory");

	cmdline_size = get_le32(k + ZP_CMDLINE_SIZE);
	r = boot_write_cmdline(m, img->cmdline, MIN((uint64_t)cmdline_size + 1, X86_CMDLINE_MAX), err, errlen);
	if (r)
		return r;

	if (img->initrd && img->initrd_len) {
		initrd_max = (uint64_t)get_le32(k + ZP_INITRD_ADDR_MAX) + 1;
		if (initrd_max < X86_BIOS_END)
			initrd_max = X86_HIGHMEM_BASE;
		r = boot_place_high(env, img->initrd_len, ALIGN_UP(load + need, 4096), MIN(initrd_max, X86_HIGHMEM_BASE),
				    &initrd_at);
		if (r || boot_place(m, initrd_at, img->initrd, img->initrd_len, img->initrd_len))
			return boot_err(err, errlen, -EFBIG,
					"initrd (%zu MiB) does not fit in guest memory below %llu MiB beside the kernel",
					img->initrd_len >> 20, (unsigned long long)(MIN(initrd_max, X86_HIGHMEM_BASE) >> 20));
	}

	zp = guest_mem_ptr(m, X86_ZERO_PAGE, ZP_SIZE);
	if (!zp)
		return boot_err(err, errlen, -EFBIG, "no guest RAM for the zero page");
	memset(zp, 0, ZP_SIZE);
	memcpy(zp + ZP_SETUP_SECTS, k + ZP_SETUP_SECTS, hdr_end - ZP_SETUP_SECTS);
	put_le16(zp + ZP_VID_MODE, 0xffff); /* "normal" */
	zp[ZP_TYPE_OF_LOADER] = 0xff;       /* undefined boot loader */
	zp[ZP_LOADFLAGS] |= CAN_USE_HEAP;
	put_le16(zp + ZP_HEAP_END_PTR, 0xfe00);
	put_le32(zp + ZP_CMD_LINE_PTR, X86_CMDLINE);
	put_le32(zp + ZP_RAMDISK_IMAGE, (uint32_t)initrd_at);
	put_le32(zp + ZP_RAMDISK_SIZE, (uint32_t)img->initrd_len);
	boot_zero_page_common(zp, env);
	if (version < 0x020e) /* acpi_rsdp_addr exists from 2.14 */
		put_le64(zp + ZP_ACPI_RSDP_ADDR, 0);

	res->kind = BOOT_ENTRY_LINUX64;
	res->entry = load + 0x200; /* startup_64 is 512 bytes into the protected-mode image */
	res->boot_info = X86_ZERO_PAGE;
	res->kernel_start = load;
	res->kernel_end = load + need;
	res->format = "bzImage";
	return 0;
}
