// SPDX-License-Identifier: MIT
/* Format detection and the helpers every loader shares. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot_priv.h"
#include "vmkit/util.h"

int boot_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

bool boot_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	if (!alen || !blen)
		return false;
	return a < b ? b - a < alen : a - b < blen;
}

/* Is all of [gpa, end) covered by E820_RAM entries (which may be adjacent)? */
static bool e820_is_ram(const struct boot_env *env, uint64_t gpa, uint64_t end)
{
	/* Each step advances past one entry, so at most nr_e820 rounds. */
	for (unsigned int round = 0; round <= env->nr_e820 && gpa < end; round++) {
		bool advanced = false;

		for (unsigned int i = 0; i < env->nr_e820; i++) {
			const struct e820_entry *e = &env->e820[i];
			uint64_t e_end = e->addr + e->size;

			if (e->type != E820_RAM || e_end < e->addr)
				continue;
			if (e->addr <= gpa && gpa < e_end) {
				gpa = e_end;
				advanced = true;
				break;
			}
		}
		if (!advanced)
			return false;
	}
	return gpa >= end;
}

int boot_check_range(const struct guest_mem *m, const struct boot_env *env, uint64_t gpa, uint64_t len,
		     uint64_t limit, const char *what, char *err, size_t errlen)
{
	if (len > UINT64_MAX - gpa)
		return boot_err(err, errlen, -EFBIG, "%s (0x%llx, %llu bytes) does not fit in guest memory", what,
				(unsigned long long)gpa, (unsigned long long)len);
	if (gpa > limit || len > limit - gpa)
		return boot_err(err, errlen, -EINVAL, "%s (0x%llx..0x%llx) extends above 4 GiB", what,
				(unsigned long long)gpa, (unsigned long long)(gpa + len));
	if (boot_overlaps(gpa, len, 0, BOOT_DATA_END))
		return boot_err(err, errlen, -EINVAL, "%s at 0x%llx overlaps vmkit's boot data below 0x%llx", what,
				(unsigned long long)gpa, BOOT_DATA_END);
	if (!guest_mem_ptr(m, gpa, len))
		return boot_err(err, errlen, -EFBIG, "%s (0x%llx, %llu bytes) does not fit in guest memory", what,
				(unsigned long long)gpa, (unsigned long long)len);
	if (env->nr_e820 && len && !e820_is_ram(env, gpa, gpa + len))
		return boot_err(err, errlen, -EINVAL,
				"%s (0x%llx..0x%llx) overlaps memory reserved in the e820 map (firmware tables, VGA hole)",
				what, (unsigned long long)gpa, (unsigned long long)(gpa + len));
	return 0;
}

int boot_place(struct guest_mem *m, uint64_t gpa, const uint8_t *src, uint64_t filesz, uint64_t memsz)
{
	uint8_t *p;

	if (filesz > memsz)
		return -EINVAL;
	p = guest_mem_ptr(m, gpa, memsz);
	if (!p)
		return -EFBIG;
	memcpy(p, src, filesz);
	memset(p + filesz, 0, memsz - filesz);
	return 0;
}

int boot_place_high(const struct boot_env *env, uint64_t len, uint64_t min_addr, uint64_t max_end,
		    uint64_t *out)
{
	uint64_t best = 0;
	bool found = false;

	for (unsigned int i = 0; i < env->nr_e820; i++) {
		const struct e820_entry *e = &env->e820[i];
		uint64_t start, end, at;

		if (e->type != E820_RAM || e->addr + e->size < e->addr)
			continue;
		start = MAX(e->addr, min_addr);
		end = MIN(e->addr + e->size, max_end);
		if (end <= start || end - start < len)
			continue;
		at = ALIGN_DOWN(end - len, 4096);
		if (at < start)
			continue;
		if (!found || at > best) {
			best = at;
			found = true;
		}
	}
	if (!found)
		return -ENOSPC;
	*out = best;
	return 0;
}

int boot_place_initrd(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		      uint64_t kernel_end, uint64_t *at, char *err, size_t errlen)
{
	*at = 0;
	if (!img->initrd || !img->initrd_len)
		return 0;
	if (boot_place_high(env, img->initrd_len, ALIGN_UP(MAX(kernel_end, X86_BIOS_END), 4096), X86_HIGHMEM_BASE,
			    at) ||
	    boot_place(m, *at, img->initrd, img->initrd_len, img->initrd_len))
		return boot_err(err, errlen, -EFBIG, "initrd (%llu MiB) does not fit in guest memory beside the kernel",
				(unsigned long long)((img->initrd_len + MiB - 1) >> 20));
	return 0;
}

int boot_write_cmdline(struct guest_mem *m, const char *cmdline, uint64_t max_len, char *err, size_t errlen)
{
	size_t len = cmdline ? strlen(cmdline) : 0;

	if (max_len > X86_CMDLINE_MAX)
		max_len = X86_CMDLINE_MAX;
	if (len + 1 > max_len)
		return boot_err(err, errlen, -E2BIG, "kernel command line too long (%zu bytes, limit %llu)", len,
				(unsigned long long)(max_len - 1));
	if (guest_mem_write(m, X86_CMDLINE, cmdline ? cmdline : "", len) ||
	    guest_mem_zero(m, X86_CMDLINE + len, 1))
		return boot_err(err, errlen, -EFBIG, "no guest RAM for the command line");
	return 0;
}

void boot_zero_page_common(uint8_t *zp, const struct boot_env *env)
{
	unsigned int n = MIN(env->nr_e820, (unsigned int)ZP_E820_MAX);

	for (unsigned int i = 0; i < n; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + 20 * i;
		put_le64(e, env->e820[i].addr);
		put_le64(e + 8, env->e820[i].size);
		put_le32(e + 16, env->e820[i].type);
	}
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	put_le64(zp + ZP_ACPI_RSDP_ADDR, env->rsdp_gpa);
	/*
	 * struct screen_info at the start of the zero page (Linux boot protocol,
	 * filled by the real-mode setup code from the BIOS): without a BIOS we
	 * say what the VGA card powers on in, so vgacon uses it. orig_video_ega_bx
	 * (0x0a) stays 0, meaning EGA/VGA rather than CGA.
	 */
	if (env->vga_text) {
		zp[0x06] = 3;            /* orig_video_mode */
		zp[0x07] = 80;           /* orig_video_cols */
		zp[0x0e] = 25;           /* orig_video_lines */
		zp[0x0f] = 0x22;         /* orig_video_isVGA = VIDEO_TYPE_VGAC */
		put_le16(zp + 0x10, 16); /* orig_video_points: character height */
	}
}

int boot_load(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
	      struct boot_result *res, char *err, size_t errlen)
{
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!img->kernel || img->kernel_len == 0)
		return boot_err(err, errlen, -ENOEXEC, "empty kernel image");
	r = boot_load_bzimage(m, img, env, res, err, errlen);
	if (r != -ENOEXEC)
		return r;
	r = boot_load_multiboot(m, img, env, res, err, errlen);
	if (r != -ENOEXEC)
		return r;
	r = boot_load_elf(m, img, env, res, err, errlen);
	if (r != -ENOEXEC)
		return r;
	return boot_err(err, errlen, -ENOEXEC, "unknown kernel image format (expected bzImage, ELF or multiboot)");
}
