// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the kernel image loaders (bzImage, multiboot a.out and
 * ELF, ELF PVH / 64-bit) loading into a 64 MiB guest.
 *
 * Input: byte 0 picks a template image (or none) and options; the rest is
 * XORed over the template, so an all-zero input is a valid image of that
 * kind and every mutation is a small, structured corruption of it. This lets
 * a short run from an empty corpus reach deep into each loader.
 *   bits 0-2: template (0 raw input, 1 bzImage, 2 multiboot a.out,
 *             3 multiboot ELF32, 4 multiboot ELF64, 5 ELF64 PVH, 6 ELF64, 7 ELF32 PVH)
 *   bit 6:    no initrd
 *   bit 7:    the image ends where the input ends (truncation), else it is
 *             at least as long as the template
 *
 * Loaders must reject malformed images with an error line, never crash,
 * and a successful load must describe an image inside guest RAM.
 */
// fuzz-srcs: src/boot/*.c src/mem/guest_mem.c src/arch/x86/layout.c src/util/*.c
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/boot.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

#define RAM (64 * MiB)
#define TMPL_MAX 0x3000

static void mb_header(uint8_t *k, size_t off, uint32_t flags)
{
	put_le32(k + off, 0x1badb002);
	put_le32(k + off + 4, flags);
	put_le32(k + off + 8, (uint32_t)-(0x1badb002 + flags));
}

static size_t tmpl_bzimage(uint8_t *k)
{
	k[0x1f1] = 4;
	put_le16(k + 0x1fe, 0xaa55);
	k[0x200] = 0xeb;
	k[0x201] = 0x6a;
	put_le32(k + 0x202, 0x53726448);
	put_le16(k + 0x206, 0x020f);
	k[0x211] = 0x01;
	put_le32(k + 0x22c, 0x7fffffff);
	put_le16(k + 0x236, 0x1);
	put_le32(k + 0x238, 2047);
	put_le32(k + 0x260, 0x10000);
	return 5 * 512 + 1024;
}

static size_t tmpl_aout(uint8_t *k)
{
	const uint32_t load = 0x100000, h = 0x40;

	mb_header(k, h, 0x10003);
	put_le32(k + h + 12, load + h);
	put_le32(k + h + 16, load);
	put_le32(k + h + 20, load + 0x1000);
	put_le32(k + h + 24, load + 0x2000);
	put_le32(k + h + 28, load + 0x100);
	return 0x1000;
}

static size_t tmpl_elf(uint8_t *k, bool is64, bool mb, bool pvh)
{
	const uint64_t paddr = 0x200000;
	unsigned int phnum = pvh ? 2 : 1;

	memcpy(k, ELFMAG, SELFMAG);
	k[EI_DATA] = ELFDATA2LSB;
	/* the same image in either class */
#define FILL_ELF(bits, machine)                                                                                  \
	do {                                                                                                     \
		Elf##bits##_Ehdr *e = (Elf##bits##_Ehdr *)k;                                                     \
		Elf##bits##_Phdr *ph = (Elf##bits##_Phdr *)(k + 0x100);                                          \
		k[EI_CLASS] = ELFCLASS##bits;                                                                    \
		e->e_type = ET_EXEC;                                                                             \
		e->e_machine = machine;                                                                          \
		e->e_entry = paddr + 0x10;                                                                       \
		e->e_phoff = 0x100;                                                                              \
		e->e_phentsize = sizeof(*ph);                                                                    \
		e->e_phnum = (uint16_t)phnum;                                                                    \
		ph[0] = (Elf##bits##_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = paddr,             \
					    .p_filesz = 0x1000, .p_memsz = 0x2000 };                             \
		if (pvh)                                                                                         \
			ph[1] = (Elf##bits##_Phdr){ .p_type = PT_NOTE, .p_offset = 0x400, .p_filesz = 20 };      \
	} while (0)
	if (is64)
		FILL_ELF(64, EM_X86_64);
	else
		FILL_ELF(32, EM_386);
#undef FILL_ELF
	if (pvh) {
		put_le32(k + 0x400, 4);
		put_le32(k + 0x404, 4);
		put_le32(k + 0x408, 18); /* XEN_ELFNOTE_PHYS32_ENTRY */
		memcpy(k + 0x40c, "Xen", 4);
		put_le32(k + 0x410, (uint32_t)paddr + 0x20);
	}
	if (mb)
		mb_header(k, 0x80, 0x3);
	return 0x2000;
}

static size_t tmpl_build(unsigned int which, uint8_t *k)
{
	switch (which) {
	case 1: return tmpl_bzimage(k);
	case 2: return tmpl_aout(k);
	case 3: return tmpl_elf(k, false, true, false);
	case 4: return tmpl_elf(k, true, true, false);
	case 5: return tmpl_elf(k, true, false, true);
	case 6: return tmpl_elf(k, true, false, false);
	case 7: return tmpl_elf(k, false, false, true);
	default: return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static struct e820_entry e820[E820_MAX_ENTRIES];
	static int nr_e820 = -1;
	static const uint8_t initrd[4096] = { 1, 2, 3 };
	static uint8_t tmpl[TMPL_MAX];
	struct boot_result res;
	char err[256];
	uint8_t *k;
	size_t tlen, klen;
	int r;

	if (nr_e820 < 0) { /* one guest for the whole run: mapping 64 MiB per input is slow */
		guest_mem_init(&mem);
		if (x86_mem_layout(&mem, RAM))
			abort();
		nr_e820 = x86_e820_build(RAM, e820, E820_MAX_ENTRIES);
		if (nr_e820 <= 0)
			abort();
	}
	if (size == 0)
		return 0;
	memset(tmpl, 0, sizeof(tmpl));
	tlen = tmpl_build(data[0] & 7, tmpl);
	klen = (data[0] & 0x80) ? size - 1 : MAX(size - 1, tlen);
	/* An exactly-sized heap buffer, so ASan sees any read past the image. */
	k = malloc(klen ? klen : 1);
	if (!k)
		return 0;
	memset(k, 0, klen);
	memcpy(k, tmpl, MIN(tlen, klen));
	for (size_t i = 0; i < size - 1 && i < klen; i++)
		k[i] ^= data[1 + i];

	struct boot_images img = {
		.kernel = k, .kernel_len = klen,
		.initrd = (data[0] & 0x40) ? NULL : initrd, .initrd_len = (data[0] & 0x40) ? 0 : sizeof(initrd),
		.cmdline = "console=ttyS0",
	};
	struct boot_env env = { .e820 = e820, .nr_e820 = (unsigned int)nr_e820, .rsdp_gpa = X86_ACPI_BASE };
	err[0] = '\0';
	r = boot_load(&mem, &img, &env, &res, err, sizeof(err));
	if (r == 0) {
		/* A successful load describes an image inside guest RAM, clear of vmkit's boot data. */
		if (!guest_mem_ptr(&mem, res.entry, 1) || !guest_mem_ptr(&mem, res.boot_info, 1))
			__builtin_trap();
		/*
		 * Both ends of the span lie in RAM. The span itself may cross the
		 * VGA hole: an ELF may load one segment below 640 KiB and another
		 * above 1 MiB (each segment is checked by the loader).
		 */
		if (res.kernel_end <= res.kernel_start || !guest_mem_ptr(&mem, res.kernel_start, 1) ||
		    !guest_mem_ptr(&mem, res.kernel_end - 1, 1))
			__builtin_trap();
		if (res.kernel_start < X86_CMDLINE + X86_CMDLINE_MAX)
			__builtin_trap();
		if (res.kind != BOOT_ENTRY_LINUX64 && (res.entry >= X86_HIGHMEM_BASE || res.kernel_end > X86_HIGHMEM_BASE))
			__builtin_trap();
		if (!res.format)
			__builtin_trap();
	} else {
		/* Every failure explains itself with one of the documented codes. */
		if (!err[0] || (r != -ENOEXEC && r != -EINVAL && r != -EFBIG && r != -E2BIG))
			__builtin_trap();
	}
	free(k);
	return 0;
}
