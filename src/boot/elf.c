// SPDX-License-Identifier: MIT
/*
 * ELF kernels: an x86-64 vmlinux enters through its PVH entry point when it
 * carries the XEN_ELFNOTE_PHYS32_ENTRY note (xen/include/public/elfnote.h,
 * start_info per arch-x86/hvm/start_info.h, version 1), otherwise through
 * the Linux 64-bit boot protocol at e_entry with a zero page. The segment
 * walker is shared with the multiboot loader for ELF multiboot kernels.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot_priv.h"
#include "elf_priv.h"
#include "vmkit/util.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578

/* PVH structures inside X86_BOOT_INFO */
#define PVH_START_INFO (X86_BOOT_INFO)
#define PVH_MODLIST (X86_BOOT_INFO + 0x100)
#define PVH_MEMMAP (X86_BOOT_INFO + 0x200)
#define PVH_MEMMAP_MAX 128

struct elf_phdr_view {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

static int read_phdr(const uint8_t *k, size_t len, bool is64, uint64_t phoff, unsigned int i,
		     struct elf_phdr_view *ph)
{
	uint64_t entsz = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	const uint8_t *p;

	if (phoff > len || i * entsz > len - phoff || entsz > len - phoff - i * entsz)
		return -EINVAL;
	p = k + phoff + i * entsz;
	if (is64) {
		Elf64_Phdr h;
		memcpy(&h, p, sizeof(h));
		*ph = (struct elf_phdr_view){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	} else {
		Elf32_Phdr h;
		memcpy(&h, p, sizeof(h));
		*ph = (struct elf_phdr_view){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	}
	return 0;
}

int elf_parse(const uint8_t *k, size_t len, struct elf_info *info)
{
	memset(info, 0, sizeof(*info));
	if (len < EI_NIDENT || memcmp(k, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (k[EI_DATA] != ELFDATA2LSB)
		return -EINVAL;
	if (k[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr e;
		if (len < sizeof(e))
			return -EINVAL;
		memcpy(&e, k, sizeof(e));
		if (e.e_machine != EM_X86_64 || e.e_phentsize != sizeof(Elf64_Phdr))
			return -EINVAL;
		info->is64 = true;
		info->entry = e.e_entry;
		info->phoff = e.e_phoff;
		info->phnum = e.e_phnum;
	} else if (k[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr e;
		if (len < sizeof(e))
			return -EINVAL;
		memcpy(&e, k, sizeof(e));
		if (e.e_machine != EM_386 || e.e_phentsize != sizeof(Elf32_Phdr))
			return -EINVAL;
		info->entry = e.e_entry;
		info->phoff = e.e_phoff;
		info->phnum = e.e_phnum;
	} else {
		return -EINVAL;
	}
	if (info->phnum == 0 || info->phnum >= PN_XNUM)
		return -EINVAL;
	/* All program headers must lie inside the file. */
	struct elf_phdr_view ph;
	if (read_phdr(k, len, info->is64, info->phoff, info->phnum - 1, &ph))
		return -EINVAL;
	return 0;
}

int elf_load_segments(struct guest_mem *m, const struct boot_env *env, const uint8_t *k, size_t len,
		      const struct elf_info *info, uint64_t limit, uint64_t *start, uint64_t *end, char *err,
		      size_t errlen)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	bool any = false;

	for (unsigned int i = 0; i < info->phnum; i++) {
		struct elf_phdr_view ph;
		char what[32];
		int r;

		if (read_phdr(k, len, info->is64, info->phoff, i, &ph))
			return boot_err(err, errlen, -EINVAL, "ELF program header %u is outside the file", i);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (ph.offset > len || ph.filesz > len - ph.offset)
			return boot_err(err, errlen, -EINVAL, "ELF segment %u is outside the file", i);
		if (ph.filesz > ph.memsz)
			return boot_err(err, errlen, -EINVAL, "ELF segment %u has p_filesz > p_memsz", i);
		snprintf(what, sizeof(what), "ELF segment %u", i);
		r = boot_check_range(m, env, ph.paddr, ph.memsz, limit, what, err, errlen);
		if (r)
			return r;
		r = boot_place(m, ph.paddr, k + ph.offset, ph.filesz, ph.memsz);
		if (r)
			return boot_err(err, errlen, r, "cannot place ELF segment %u in guest memory", i);
		lo = MIN(lo, ph.paddr);
		hi = MAX(hi, ph.paddr + ph.memsz);
		any = true;
	}
	if (!any)
		return boot_err(err, errlen, -EINVAL, "ELF image has no loadable segment");
	*start = lo;
	*end = hi;
	return 0;
}

/* Find the PVH entry note in PT_NOTE segments. */
static bool find_pvh_entry(const uint8_t *k, size_t len, const struct elf_info *info, uint64_t *entry)
{
	for (unsigned int i = 0; i < info->phnum; i++) {
		struct elf_phdr_view ph;
		uint64_t off, end;

		if (read_phdr(k, len, info->is64, info->phoff, i, &ph) || ph.type != PT_NOTE)
			continue;
		if (ph.offset > len || ph.filesz > len - ph.offset)
			continue;
		off = ph.offset;
		end = ph.offset + ph.filesz;
		while (end - off >= 12) {
			uint32_t namesz = get_le32(k + off), descsz = get_le32(k + off + 4), type = get_le32(k + off + 8);
			uint64_t name = off + 12, desc = name + ALIGN_UP((uint64_t)namesz, 4);
			uint64_t next = desc + ALIGN_UP((uint64_t)descsz, 4);
			if (next > end || next <= off)
				break;
			if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(k + name, "Xen", 4) &&
			    (descsz == 4 || descsz == 8)) {
				*entry = descsz == 4 ? get_le32(k + desc) : get_le64(k + desc);
				return true;
			}
			off = next;
		}
	}
	return false;
}

/*
 * struct hvm_start_info (start_info.h, version 1), little-endian:
 *   0 magic, 4 version, 8 flags, 12 nr_modules, 16 modlist_paddr,
 *   24 cmdline_paddr, 32 rsdp_paddr, 40 memmap_paddr, 48 memmap_entries,
 *   52 reserved; 56 bytes. hvm_modlist_entry: paddr, size, cmdline_paddr,
 *   reserved (32 bytes). hvm_memmap_table_entry: addr, size, type (e820
 *   numbering), reserved (24 bytes).
 */
static int setup_pvh(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		     uint64_t initrd_at, char *err, size_t errlen)
{
	uint8_t *si = guest_mem_ptr(m, PVH_START_INFO, 56);
	uint8_t *ml = guest_mem_ptr(m, PVH_MODLIST, 32);
	unsigned int n = MIN(env->nr_e820, (unsigned int)PVH_MEMMAP_MAX);
	uint8_t *mm = guest_mem_ptr(m, PVH_MEMMAP, 24ULL * n);

	if (!si || !ml || !mm)
		return boot_err(err, errlen, -EFBIG, "no guest RAM for the PVH start info");
	memset(si, 0, 56);
	put_le32(si, HVM_START_MAGIC);
	put_le32(si + 4, 1); /* version 1: has the memory map */
	if (initrd_at) {
		memset(ml, 0, 32);
		put_le64(ml, initrd_at);
		put_le64(ml + 8, img->initrd_len);
		put_le32(si + 12, 1);
		put_le64(si + 16, PVH_MODLIST);
	}
	put_le64(si + 24, X86_CMDLINE);
	put_le64(si + 32, env->rsdp_gpa);
	for (unsigned int i = 0; i < n; i++) {
		put_le64(mm + 24 * i, env->e820[i].addr);
		put_le64(mm + 24 * i + 8, env->e820[i].size);
		put_le32(mm + 24 * i + 16, env->e820[i].type);
		put_le32(mm + 24 * i + 20, 0);
	}
	put_le64(si + 40, PVH_MEMMAP);
	put_le32(si + 48, n);
	return 0;
}

/* Linux 64-bit boot protocol zero page for a vmlinux (boot.rst "64-bit BOOT PROTOCOL"). */
static int setup_zero_page(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
			   uint64_t initrd_at, char *err, size_t errlen)
{
	uint8_t *zp = guest_mem_ptr(m, X86_ZERO_PAGE, ZP_SIZE);

	if (!zp)
		return boot_err(err, errlen, -EFBIG, "no guest RAM for the zero page");
	/* A vmlinux has no setup header: fill in the fields the kernel reads. */
	memset(zp, 0, ZP_SIZE);
	put_le16(zp + ZP_BOOT_FLAG, 0xaa55);
	put_le32(zp + ZP_HEADER, HDRS_MAGIC);
	put_le16(zp + ZP_VERSION, 0x020f);
	zp[ZP_TYPE_OF_LOADER] = 0xff;
	put_le16(zp + ZP_VID_MODE, 0xffff);
	put_le32(zp + ZP_CMD_LINE_PTR, X86_CMDLINE);
	put_le32(zp + ZP_CMDLINE_SIZE, X86_CMDLINE_MAX - 1);
	put_le32(zp + ZP_KERNEL_ALIGNMENT, 0x1000000);
	put_le32(zp + ZP_RAMDISK_IMAGE, (uint32_t)initrd_at);
	put_le32(zp + ZP_RAMDISK_SIZE, initrd_at ? (uint32_t)img->initrd_len : 0);
	boot_zero_page_common(zp, env);
	return 0;
}

int boot_load_elf(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		  struct boot_result *res, char *err, size_t errlen)
{
	struct elf_info info;
	uint64_t start, end, entry, initrd_at;
	bool pvh;
	int r;

	if (!img->kernel)
		return -ENOEXEC;
	r = elf_parse(img->kernel, img->kernel_len, &info);
	if (r == -ENOEXEC)
		return r;
	if (r)
		return boot_err(err, errlen, r,
				"malformed ELF kernel (need a little-endian x86 ELF with program headers inside the file)");
	pvh = find_pvh_entry(img->kernel, img->kernel_len, &info, &entry);
	if (!pvh && !info.is64)
		return boot_err(err, errlen, -EINVAL, "32-bit ELF kernel without a PVH or multiboot header");
	if (!pvh)
		entry = info.entry; /* vmlinux: ENTRY(phys_startup_64), a physical address */
	/* PVH starts in 32-bit protected mode with paging off: all of it below 4 GiB. */
	if (pvh && entry >= X86_HIGHMEM_BASE)
		return boot_err(err, errlen, -EINVAL, "PVH entry point 0x%llx is above 4 GiB", (unsigned long long)entry);
	r = elf_load_segments(m, env, img->kernel, img->kernel_len, &info, pvh ? X86_HIGHMEM_BASE : BOOT_NO_LIMIT,
			      &start, &end, err, errlen);
	if (r)
		return r;
	if (!guest_mem_ptr(m, entry, 1))
		return boot_err(err, errlen, -EINVAL, "ELF entry point 0x%llx is not in guest RAM",
				(unsigned long long)entry);
	r = boot_write_cmdline(m, img->cmdline, X86_CMDLINE_MAX, err, errlen);
	if (r)
		return r;
	r = boot_place_initrd(m, img, env, end, &initrd_at, err, errlen);
	if (r)
		return r;
	r = pvh ? setup_pvh(m, img, env, initrd_at, err, errlen) : setup_zero_page(m, img, env, initrd_at, err, errlen);
	if (r)
		return r;
	res->kind = pvh ? BOOT_ENTRY_PVH : BOOT_ENTRY_LINUX64;
	res->entry = entry;
	res->boot_info = pvh ? PVH_START_INFO : X86_ZERO_PAGE;
	res->kernel_start = start;
	res->kernel_end = end;
	res->format = pvh ? "ELF (PVH)" : "ELF (64-bit)";
	return 0;
}
