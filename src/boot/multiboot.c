// SPDX-License-Identifier: MIT
/*
 * Multiboot v1 loader (Multiboot Specification 0.6.96): the header is found
 * in the first 8 KiB; the image is loaded from its a.out-kludge address
 * fields (flags bit 16) or from its ELF program headers. The multiboot
 * information (s3.3) carries memory sizes, the memory map, the command line,
 * the initrd as the first module and the boot loader's name.
 */
#include <errno.h>
#include <string.h>

#include "boot_priv.h"
#include "elf_priv.h"
#include "vmkit/util.h"

#define MB_HEADER_MAGIC 0x1badb002U
#define MB_SEARCH 8192
#define MB_F_PAGE_ALIGN (1U << 0)
#define MB_F_MEMORY_INFO (1U << 1)
#define MB_F_VIDEO_MODE (1U << 2)
#define MB_F_AOUT_KLUDGE (1U << 16)
#define MB_F_SUPPORTED_LOW (MB_F_PAGE_ALIGN | MB_F_MEMORY_INFO | MB_F_VIDEO_MODE)

/* multiboot_info flags */
#define MBI_MEMORY (1U << 0)
#define MBI_CMDLINE (1U << 2)
#define MBI_MODS (1U << 3)
#define MBI_MMAP (1U << 6)
#define MBI_LOADER_NAME (1U << 9)

/* Layout inside X86_BOOT_INFO */
#define MBI_ADDR (X86_BOOT_INFO)
#define MBI_SIZE 128
#define MBI_MODS_ADDR (X86_BOOT_INFO + 0x100)
#define MBI_MOD_NAME (X86_BOOT_INFO + 0x180)
#define MBI_LOADER_NAME_ADDR (X86_BOOT_INFO + 0x1c0)
#define MBI_MMAP_ADDR (X86_BOOT_INFO + 0x200)
#define MBI_MMAP_MAX 128

static int find_header(const uint8_t *k, size_t len, size_t *off)
{
	size_t lim = MIN(len, (size_t)MB_SEARCH);

	for (size_t o = 0; o + 12 <= lim; o += 4) {
		uint32_t magic = get_le32(k + o), flags = get_le32(k + o + 4), sum = get_le32(k + o + 8);
		if (magic == MB_HEADER_MAGIC && (uint32_t)(magic + flags + sum) == 0) {
			*off = o;
			return 0;
		}
	}
	return -ENOEXEC;
}

/* a.out kludge: addresses from the header (spec s3.1.3), all 32-bit physical. */
static int load_aout(struct guest_mem *m, const struct boot_env *env, const uint8_t *k, size_t len, size_t hoff,
		     uint64_t *start, uint64_t *end, uint64_t *entry, char *err, size_t errlen)
{
	uint32_t header_addr, load_addr, load_end, bss_end, entry_addr;
	uint64_t file_off, load_len, mem_len;
	int r;

	if (hoff + 32 > len)
		return boot_err(err, errlen, -EINVAL, "multiboot header truncated (a.out kludge fields missing)");
	header_addr = get_le32(k + hoff + 12);
	load_addr = get_le32(k + hoff + 16);
	load_end = get_le32(k + hoff + 20);
	bss_end = get_le32(k + hoff + 24);
	entry_addr = get_le32(k + hoff + 28);
	/* The header's own offset in the file ties file offsets to addresses. */
	if (header_addr < load_addr || header_addr - load_addr > hoff)
		return boot_err(err, errlen, -EINVAL, "multiboot header_addr/load_addr are inconsistent");
	file_off = hoff - (header_addr - load_addr);
	if (load_end == 0) /* load the rest of the file */
		load_len = len - file_off;
	else if (load_end < load_addr)
		return boot_err(err, errlen, -EINVAL, "multiboot load_end_addr below load_addr");
	else
		load_len = load_end - load_addr;
	if (load_len > len - file_off)
		return boot_err(err, errlen, -EINVAL, "multiboot image shorter than its load_end_addr says");
	mem_len = load_len;
	if (bss_end) {
		if (bss_end < load_addr + load_len)
			return boot_err(err, errlen, -EINVAL, "multiboot bss_end_addr below the loaded image");
		mem_len = bss_end - load_addr;
	}
	if (entry_addr < load_addr || entry_addr - load_addr >= mem_len)
		return boot_err(err, errlen, -EINVAL, "multiboot entry 0x%x is outside the loaded image", entry_addr);
	r = boot_check_range(m, env, load_addr, mem_len, X86_HIGHMEM_BASE, "multiboot image", err, errlen);
	if (r)
		return r;
	r = boot_place(m, load_addr, k + file_off, load_len, mem_len);
	if (r)
		return boot_err(err, errlen, r, "cannot place the multiboot image in guest memory");
	*start = load_addr;
	*end = load_addr + mem_len;
	*entry = entry_addr;
	return 0;
}

/*
 * struct multiboot_info (s3.3), little-endian u32 fields: 0 flags,
 * 4 mem_lower, 8 mem_upper, 12 boot_device, 16 cmdline, 20 mods_count,
 * 24 mods_addr, 28..43 syms, 44 mmap_length, 48 mmap_addr, 52 drives_length,
 * 56 drives_addr, 60 config_table, 64 boot_loader_name, ... Each mmap entry
 * is (size = 20, base_addr u64, length u64, type u32); each module
 * (mod_start, mod_end, string, reserved).
 */
static int build_mbi(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		     uint64_t mod_at, char *err, size_t errlen)
{
	uint8_t *mbi = guest_mem_ptr(m, MBI_ADDR, MBI_SIZE);
	unsigned int n = MIN(env->nr_e820, (unsigned int)MBI_MMAP_MAX);
	uint8_t *mmap = guest_mem_ptr(m, MBI_MMAP_ADDR, 24ULL * n);
	uint32_t flags = MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;
	uint64_t lower = 0, upper = 0;

	if (!mbi || !mmap)
		return boot_err(err, errlen, -EFBIG, "no guest RAM for the multiboot information");
	memset(mbi, 0, MBI_SIZE);
	for (unsigned int i = 0; i < n; i++) {
		const struct e820_entry *e = &env->e820[i];
		put_le32(mmap + 24 * i, 20); /* size of the entry, excluding this field */
		put_le64(mmap + 24 * i + 4, e->addr);
		put_le64(mmap + 24 * i + 12, e->size);
		put_le32(mmap + 24 * i + 20, e->type);
		if (e->type == E820_RAM && e->addr == 0)
			lower = e->size / 1024;
		if (e->type == E820_RAM && e->addr == X86_BIOS_END)
			upper = e->size / 1024; /* KiB from 1 MiB to the first hole */
	}
	put_le32(mbi + 4, (uint32_t)MIN(lower, 640ULL));
	put_le32(mbi + 8, (uint32_t)MIN(upper, 0xffffffffULL));
	put_le32(mbi + 16, X86_CMDLINE);
	put_le32(mbi + 44, 24 * n);
	put_le32(mbi + 48, MBI_MMAP_ADDR);
	guest_mem_write(m, MBI_LOADER_NAME_ADDR, "vmkit", 6);
	put_le32(mbi + 64, MBI_LOADER_NAME_ADDR);
	if (mod_at) {
		uint8_t *mod = guest_mem_ptr(m, MBI_MODS_ADDR, 16);
		if (!mod)
			return boot_err(err, errlen, -EFBIG, "no guest RAM for the module list");
		guest_mem_write(m, MBI_MOD_NAME, "initrd", 7);
		put_le32(mod, (uint32_t)mod_at);
		put_le32(mod + 4, (uint32_t)(mod_at + img->initrd_len));
		put_le32(mod + 8, MBI_MOD_NAME);
		put_le32(mod + 12, 0);
		put_le32(mbi + 20, 1);
		put_le32(mbi + 24, MBI_MODS_ADDR);
		flags |= MBI_MODS;
	}
	put_le32(mbi, flags);
	return 0;
}

int boot_load_multiboot(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
			struct boot_result *res, char *err, size_t errlen)
{
	uint64_t start = 0, end = 0, entry = 0, mod_at = 0;
	uint32_t flags;
	size_t hoff;
	int r;

	if (!img->kernel || find_header(img->kernel, img->kernel_len, &hoff))
		return -ENOEXEC;
	flags = get_le32(img->kernel + hoff + 4);
	/*
	 * s3.1.2: bits 0-15 are requirements; a loader that cannot honour one
	 * must refuse the image. Video mode (bit 2) is only a preference: we
	 * leave the console in text mode and do not set the mbi's VBE bits.
	 */
	if ((flags & 0xffff) & ~MB_F_SUPPORTED_LOW)
		return boot_err(err, errlen, -EINVAL, "multiboot kernel requires unsupported features (flags 0x%x)",
				flags);
	if (flags & MB_F_AOUT_KLUDGE) {
		r = load_aout(m, env, img->kernel, img->kernel_len, hoff, &start, &end, &entry, err, errlen);
		if (r)
			return r;
	} else {
		struct elf_info info;

		/* Without the kludge the image must be ELF (s3.1.3); ELF64 as GRUB does. */
		r = elf_parse(img->kernel, img->kernel_len, &info);
		if (r)
			return boot_err(err, errlen, -EINVAL,
					"multiboot kernel is neither a valid x86 ELF nor uses the a.out kludge");
		r = elf_load_segments(m, env, img->kernel, img->kernel_len, &info, X86_HIGHMEM_BASE, &start, &end, err,
				      errlen);
		if (r)
			return r;
		entry = info.entry;
		if (entry >= X86_HIGHMEM_BASE || !guest_mem_ptr(m, entry, 1))
			return boot_err(err, errlen, -EINVAL, "multiboot entry 0x%llx is not in guest RAM below 4 GiB",
					(unsigned long long)entry);
	}
	r = boot_write_cmdline(m, img->cmdline, X86_CMDLINE_MAX, err, errlen);
	if (r)
		return r;
	/* The initrd is module 0, page-aligned (header flags bit 0), above the kernel. */
	r = boot_place_initrd(m, img, env, end, &mod_at, err, errlen);
	if (r)
		return r;
	r = build_mbi(m, img, env, mod_at, err, errlen);
	if (r)
		return r;
	res->kind = BOOT_ENTRY_MULTIBOOT;
	res->entry = entry;
	res->boot_info = MBI_ADDR;
	res->kernel_start = start;
	res->kernel_end = end;
	res->format = "multiboot";
	return 0;
}
