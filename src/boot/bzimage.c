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
#define MIN_PROTOCOL 0x020c   /* 2.12: xloadflags */
#define RSDP_PROTOCOL 0x020e  /* 2.14: acpi_rsdp_addr */
#define HDR_MIN_END 0x264     /* the header through init_size (2.10+) */
#define HDR_MAX_END 0x290     /* struct setup_header's slot in boot_params */
#define ZP_SETUP_DATA 0x250
/* The real-mode heap would end here (setup at 0x90000, stack/heap to 0x9fe00): boot.rst "SAMPLE BOOT CONFIGURATION". */
#define HEAP_END 0xfe00

int boot_load_bzimage(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		      struct boot_result *res, char *err, size_t errlen)
{
	const uint8_t *k = img->kernel;
	size_t len = img->kernel_len;
	uint8_t *zp;
	unsigned int setup_sects, hdr_end;
	uint16_t version;
	uint64_t pm_off, pm_len, load = X86_KERNEL_LOAD, need, initrd_max, initrd_at = 0;
	uint32_t cmdline_size, addr_max;
	int r;

	if (!k || len < HDR_MIN_END || get_le32(k + ZP_HEADER) != HDRS_MAGIC)
		return -ENOEXEC;
	version = get_le16(k + ZP_VERSION);
	if (version < MIN_PROTOCOL)
		return boot_err(err, errlen, -EINVAL,
				"bzImage boot protocol %u.%02u is too old (vmkit needs 2.12+, a 64-bit kernel)",
				version >> 8, version & 0xff);
	if (!(get_le16(k + ZP_XLOADFLAGS) & XLF_KERNEL_64))
		return boot_err(err, errlen, -EINVAL, "bzImage has no 64-bit entry point (XLF_KERNEL_64 clear: a 32-bit kernel?)");
	if (!(k[ZP_LOADFLAGS] & LOADED_HIGH))
		return boot_err(err, errlen, -EINVAL, "bzImage is a zImage (not loaded high)");
	/* boot.rst "THE REAL-MODE KERNEL HEADER": setup_sects 0 means 4. */
	setup_sects = k[ZP_SETUP_SECTS] ? k[ZP_SETUP_SECTS] : 4;
	pm_off = (uint64_t)(setup_sects + 1) * 512;
	if (pm_off >= len)
		return boot_err(err, errlen, -EINVAL, "bzImage truncated: no protected-mode kernel after %u setup sectors",
				setup_sects);
	pm_len = len - pm_off;
	/*
	 * The header ends at 0x202 + the jump's displacement at 0x201 (boot.rst
	 * "DETAILS OF HEADER FIELDS"). A 2.12+ header reaches at least init_size;
	 * anything past struct setup_header's slot is setup code, not header.
	 */
	hdr_end = 0x202 + k[ZP_JUMP + 1];
	if (hdr_end < HDR_MIN_END)
		return boot_err(err, errlen, -EINVAL, "bzImage setup header is malformed (ends at 0x%x)", hdr_end);
	hdr_end = MIN(hdr_end, (unsigned int)HDR_MAX_END);

	/* The kernel decompresses in place: it needs init_size bytes from the load address. */
	need = MAX(pm_len, (uint64_t)get_le32(k + ZP_INIT_SIZE));
	if (!guest_mem_ptr(m, load, need))
		return boot_err(err, errlen, -EFBIG, "kernel image (%llu MiB) does not fit in guest memory",
				(unsigned long long)((need + MiB - 1) >> 20));
	r = boot_check_range(m, env, load, need, BOOT_NO_LIMIT, "bzImage kernel", err, errlen);
	if (r)
		return r;
	r = boot_place(m, load, k + pm_off, pm_len, pm_len);
	if (r)
		return boot_err(err, errlen, r, "cannot place the kernel in guest memory");

	/* cmdline_size excludes the terminating NUL (boot.rst, protocol 2.06+). */
	cmdline_size = get_le32(k + ZP_CMDLINE_SIZE);
	r = boot_write_cmdline(m, img->cmdline, MIN((uint64_t)cmdline_size + 1, X86_CMDLINE_MAX), err, errlen);
	if (r)
		return r;

	/*
	 * The initrd goes as high as possible (boot.rst "LOADING THE REST OF THE
	 * KERNEL") with its last byte at or below initrd_addr_max, in e820 RAM,
	 * below 4 GiB (we leave ext_ramdisk_* zero) and above the kernel's
	 * decompression area.
	 */
	addr_max = get_le32(k + ZP_INITRD_ADDR_MAX);
	initrd_max = MIN((uint64_t)addr_max + 1, X86_HIGHMEM_BASE);
	if (img->initrd && img->initrd_len) {
		r = boot_place_high(env, img->initrd_len, ALIGN_UP(load + need, 4096), initrd_max, &initrd_at);
		if (r || boot_place(m, initrd_at, img->initrd, img->initrd_len, img->initrd_len))
			return boot_err(err, errlen, -EFBIG,
					"initrd (%llu MiB) does not fit in guest memory below %llu MiB beside the kernel",
					(unsigned long long)((img->initrd_len + MiB - 1) >> 20), (unsigned long long)(initrd_max >> 20));
	}

	zp = guest_mem_ptr(m, X86_ZERO_PAGE, ZP_SIZE);
	if (!zp)
		return boot_err(err, errlen, -EFBIG, "no guest RAM for the zero page");
	/* boot_params: zeroed, then the setup header copied from the image (boot.rst "64-bit BOOT PROTOCOL"). */
	memset(zp, 0, ZP_SIZE);
	memcpy(zp + ZP_SETUP_SECTS, k + ZP_SETUP_SECTS, hdr_end - ZP_SETUP_SECTS);
	put_le16(zp + ZP_VID_MODE, 0xffff); /* "normal" */
	zp[ZP_TYPE_OF_LOADER] = 0xff;       /* undefined boot loader */
	zp[ZP_LOADFLAGS] |= CAN_USE_HEAP;
	put_le16(zp + ZP_HEAP_END_PTR, HEAP_END);
	put_le32(zp + ZP_CMD_LINE_PTR, X86_CMDLINE);
	put_le32(zp + ZP_RAMDISK_IMAGE, (uint32_t)initrd_at);
	put_le32(zp + ZP_RAMDISK_SIZE, initrd_at ? (uint32_t)img->initrd_len : 0);
	put_le64(zp + ZP_SETUP_DATA, 0); /* no setup_data chain: never follow the image's */
	boot_zero_page_common(zp, env);
	if (version < RSDP_PROTOCOL)
		put_le64(zp + ZP_ACPI_RSDP_ADDR, 0);

	res->kind = BOOT_ENTRY_LINUX64;
	res->entry = load + 0x200; /* startup_64 is 512 bytes into the protected-mode image */
	res->boot_info = X86_ZERO_PAGE;
	res->kernel_start = load;
	res->kernel_end = load + need;
	res->format = "bzImage";
	return 0;
}
