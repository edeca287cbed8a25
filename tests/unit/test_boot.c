// SPDX-License-Identifier: MIT
/* Kernel loaders on synthetic valid and malformed images (bzImage, multiboot, ELF/PVH). */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmkit/boot.h"
#include "vmkit/util.h"

#define RAM (64 * MiB)

struct fx {
	struct guest_mem mem;
	struct e820_entry e820[E820_MAX_ENTRIES];
	struct boot_env env;
	struct boot_result res;
	char err[256];
};

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	guest_mem_init(&f.mem);
	assert_int_equal(x86_mem_layout(&f.mem, RAM), 0);
	int n = x86_e820_build(RAM, f.e820, E820_MAX_ENTRIES);
	assert_true(n > 0);
	f.env = (struct boot_env){ .e820 = f.e820, .nr_e820 = (unsigned int)n, .rsdp_gpa = 0xe0000 };
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	guest_mem_free(&f->mem);
	return 0;
}

static int load(struct fx *f, const uint8_t *k, size_t len, const uint8_t *rd, size_t rdlen, const char *cmd)
{
	struct boot_images img = { .kernel = k, .kernel_len = len, .initrd = rd, .initrd_len = rdlen, .cmdline = cmd };
	f->err[0] = 0;
	int r = boot_load(&f->mem, &img, &f->env, &f->res, f->err, sizeof(f->err));
	if (r)
		assert_true(f->err[0] != 0); /* every failure explains itself */
	return r;
}

static uint8_t *gp(struct fx *f, uint64_t a) { return guest_mem_ptr(&f->mem, a, 1); }

/* ---- bzImage ---- */
static uint8_t *make_bzimage(size_t *len, uint16_t version, uint16_t xlf, uint32_t init_size)
{
	size_t n = 5 * 512 + 8192;
	uint8_t *k = calloc(1, n);
	k[0x1f1] = 4; /* setup_sects */
	put_le16(k + 0x1fe, 0xaa55);
	k[0x200] = 0xeb;
	k[0x201] = 0x66; /* header ends at 0x268 */
	put_le32(k + 0x202, 0x53726448);
	put_le16(k + 0x206, version);
	k[0x211] = 0x01; /* LOADED_HIGH */
	put_le32(k + 0x22c, 0x7fffffff);
	put_le16(k + 0x236, xlf);
	put_le32(k + 0x238, 255);
	put_le32(k + 0x260, init_size);
	memset(k + 5 * 512, 0x90, 8192);
	*len = n;
	return k;
}

static void test_bzimage_valid(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_bzimage(&len, 0x020f, 1, 1 << 20);
	uint8_t rd[10000];

	memset(rd, 0xab, sizeof(rd));
	assert_int_equal(load(f, k, len, rd, sizeof(rd), "console=ttyS0"), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_LINUX64);
	assert_int_equal(f->res.entry, X86_KERNEL_LOAD + 0x200);
	assert_int_equal(f->res.boot_info, X86_ZERO_PAGE);
	assert_int_equal(*gp(f, X86_KERNEL_LOAD), 0x90);
	uint8_t *zp = gp(f, X86_ZERO_PAGE);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(get_le32(zp + 0x202), 0x53726448);
	assert_int_equal(get_le32(zp + 0x228), X86_CMDLINE);
	assert_string_equal((char *)gp(f, X86_CMDLINE), "console=ttyS0");
	uint32_t rd_at = get_le32(zp + 0x218);
	assert_int_equal(get_le32(zp + 0x21c), sizeof(rd));
	assert_int_equal(rd_at % 4096, 0);
	assert_true(rd_at >= X86_KERNEL_LOAD + (1 << 20));
	assert_true(rd_at + sizeof(rd) <= RAM);
	assert_memory_equal(gp(f, rd_at), rd, sizeof(rd));
	assert_int_equal(zp[0x1e8], f->env.nr_e820);
	assert_int_equal(get_le64(zp + 0x2d0 + 20 * 3 + 8), f->e820[3].size);
	assert_int_equal(get_le64(zp + 0x70), 0xe0000);
	free(k);
}

static void test_bzimage_malformed(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k;

	k = make_bzimage(&len, 0x020b, 1, 0); /* protocol 2.11 */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "too old"));
	free(k);
	k = make_bzimage(&len, 0x020f, 0, 0); /* no 64-bit entry */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_bzimage(&len, 0x020f, 1, 0);
	assert_int_equal(load(f, k, 5 * 512, NULL, 0, NULL), -EINVAL); /* truncated */
	k[0x201] = 0xff;                                             /* header past the file's end */
	assert_int_equal(load(f, k, 0x280, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_bzimage(&len, 0x020f, 1, 128 << 20); /* init_size larger than RAM */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EFBIG);
	assert_non_null(strstr(f->err, "does not fit"));
	free(k);
	k = make_bzimage(&len, 0x020f, 1, 0);
	char cmd[400];
	memset(cmd, 'x', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = 0;
	assert_int_equal(load(f, k, len, NULL, 0, cmd), -E2BIG); /* cmdline_size 255 */
	uint8_t *big = calloc(1, 70 << 20);
	assert_int_equal(load(f, k, len, big, 70 << 20, NULL), -EFBIG);
	free(big);
	free(k);
}

/* ---- multiboot ---- */
static uint8_t *make_aout(size_t *len, uint32_t flags, uint32_t load, uint32_t entry_off)
{
	size_t n = 4096;
	uint8_t *k = calloc(1, n);
	uint32_t h = 64; /* header offset */
	put_le32(k + h, 0x1badb002);
	put_le32(k + h + 4, flags);
	put_le32(k + h + 8, (uint32_t)-(0x1badb002 + flags));
	put_le32(k + h + 12, load + h);      /* header_addr */
	put_le32(k + h + 16, load);          /* load_addr */
	put_le32(k + h + 20, load + 4096);   /* load_end_addr */
	put_le32(k + h + 24, load + 0x3000); /* bss_end_addr */
	put_le32(k + h + 28, load + entry_off);
	k[0] = 0xf4;
	*len = n;
	return k;
}

static void test_multiboot_aout(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_aout(&len, 0x10003, 0x200000, 0x100);
	uint8_t rd[5000];

	memset(rd, 0x5c, sizeof(rd));
	*gp(f, 0x201000) = 0x77; /* bss must be zeroed */
	assert_int_equal(load(f, k, len, rd, sizeof(rd), "a b c"), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_MULTIBOOT);
	assert_int_equal(f->res.entry, 0x200100);
	assert_int_equal(*gp(f, 0x200000), 0xf4);
	assert_int_equal(*gp(f, 0x201000), 0);
	const uint8_t *mbi = gp(f, f->res.boot_info);
	uint32_t flags = get_le32(mbi);
	assert_true((flags & 0x1) && (flags & 0x4) && (flags & 0x8) && (flags & 0x40) && (flags & 0x200));
	assert_int_equal(get_le32(mbi + 4), 639);
	assert_string_equal((char *)gp(f, get_le32(mbi + 16)), "a b c");
	assert_string_equal((char *)gp(f, get_le32(mbi + 64)), "vmkit");
	assert_int_equal(get_le32(mbi + 20), 1);
	const uint8_t *mod = gp(f, get_le32(mbi + 24));
	assert_int_equal(get_le32(mod + 4) - get_le32(mod), sizeof(rd));
	assert_int_equal(get_le32(mod) % 4096, 0);
	assert_true(get_le32(mod) >= 0x203000);
	assert_memory_equal(gp(f, get_le32(mod)), rd, sizeof(rd));
	assert_int_equal(get_le32(mbi + 44), 24 * f->env.nr_e820);
	const uint8_t *mm = gp(f, get_le32(mbi + 48));
	assert_int_equal(get_le32(mm), 20);
	assert_int_equal(get_le64(mm + 4 + 24), f->e820[1].addr);
	free(k);
}

static void test_multiboot_malformed(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_aout(&len, 0x10003, 0x200000, 0x100);

	put_le32(k + 64 + 8, 0); /* bad checksum: not multiboot, and not anything else */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -ENOEXEC);
	assert_non_null(strstr(f->err, "unknown kernel image format"));
	free(k);
	k = make_aout(&len, 0x10000 | (1 << 5), 0x200000, 0x100); /* unsupported required flag */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_aout(&len, 0x10000, 0x200000, 0x5000); /* entry outside the image */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_aout(&len, 0x10000, 0x8000000, 0x100); /* beyond 64 MiB of RAM */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EFBIG);
	free(k);
	k = make_aout(&len, 0x10000, 0x1000, 0x100); /* over vmkit's boot data */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_aout(&len, 0x10000, 0x200000, 0x100);
	put_le32(k + 64 + 20, 0x200000 + 0x100000); /* load_end past the file */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
}

/* ---- ELF ---- */
static uint8_t *make_elf64(size_t *len, bool pvh, uint64_t paddr, uint16_t phnum_override)
{
	size_t n = 8192;
	uint8_t *k = calloc(1, n);
	Elf64_Ehdr *e = (Elf64_Ehdr *)k;
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_machine = EM_X86_64;
	e->e_entry = paddr + 0x10;
	e->e_phoff = sizeof(*e);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = phnum_override ? phnum_override : (pvh ? 2 : 1);
	Elf64_Phdr *ph = (Elf64_Phdr *)(k + e->e_phoff);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 4096, .p_paddr = paddr, .p_filesz = 4096,
			      .p_memsz = 8192 };
	memset(k + 4096, 0xcc, 4096);
	if (pvh) {
		uint8_t *note = k + 1024;
		put_le32(note, 4);
		put_le32(note + 4, 4);
		put_le32(note + 8, 18); /* XEN_ELFNOTE_PHYS32_ENTRY */
		memcpy(note + 12, "Xen", 4);
		put_le32(note + 16, (uint32_t)paddr + 0x40);
		ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 1024, .p_filesz = 20 };
	}
	*len = n;
	return k;
}

static void test_elf_pvh_and_64bit(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_elf64(&len, true, 0x1000000, 0);
	uint8_t rd[100] = { 9 };

	assert_int_equal(load(f, k, len, rd, sizeof(rd), "pvh"), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_PVH);
	assert_int_equal(f->res.entry, 0x1000040);
	const uint8_t *si = gp(f, f->res.boot_info);
	assert_int_equal(get_le32(si), 0x336ec578);
	assert_int_equal(get_le32(si + 12), 1);
	assert_string_equal((char *)gp(f, get_le64(si + 24)), "pvh");
	assert_int_equal(get_le64(si + 32), 0xe0000);
	assert_int_equal(get_le32(si + 48), f->env.nr_e820);
	assert_int_equal(*gp(f, 0x1000000), 0xcc);
	assert_int_equal(*gp(f, 0x1001000), 0); /* memsz beyond filesz is zeroed */
	free(k);
	k = make_elf64(&len, false, 0x1000000, 0);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_LINUX64);
	assert_int_equal(f->res.entry, 0x1000010);
	assert_int_equal(get_le32(gp(f, X86_ZERO_PAGE) + 0x202), 0x53726448);
	free(k);
}

static void test_elf_malformed(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_elf64(&len, false, 0x1000000, 0xfff0); /* phnum far beyond the file */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_elf64(&len, false, 0x1000000, 0);
	((Elf64_Ehdr *)k)->e_machine = EM_AARCH64;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_elf64(&len, false, 0x1000000, 0);
	((Elf64_Phdr *)(k + sizeof(Elf64_Ehdr)))->p_offset = 0xffffffffffff0000ULL; /* segment outside the file */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_elf64(&len, false, 0xfffff000, 0); /* segment outside RAM */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EFBIG);
	free(k);
	k = make_elf64(&len, false, 0x1000000, 0);
	assert_int_equal(load(f, k, 40, NULL, 0, NULL), -EINVAL); /* truncated header */
	free(k);
	assert_int_equal(load(f, (const uint8_t *)"garbage", 7, NULL, 0, NULL), -ENOEXEC);
}


/* ---- more bzImage ---- */
static void test_bzimage_zero_page(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_bzimage(&len, 0x020f, 1, 3 << 20);

	k[0x1f1] = 0;                      /* setup_sects 0 means 4 */
	k[5 * 512] = 0x48;                 /* first byte of the protected-mode kernel */
	put_le32(k + 0x230, 0x200000);     /* kernel_alignment: copied */
	put_le64(k + 0x250, 0x12345678);   /* setup_data: must not be passed on */
	k[0x270] = 0xaa;                   /* after the header (ends at 0x268): not copied */
	memset(gp(f, X86_ZERO_PAGE), 0x5a, 4096); /* stale junk must go */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_string_equal(f->res.format, "bzImage");
	assert_int_equal(f->res.kernel_start, X86_KERNEL_LOAD);
	assert_int_equal(f->res.kernel_end, X86_KERNEL_LOAD + (3 << 20)); /* init_size > payload */
	assert_int_equal(*gp(f, X86_KERNEL_LOAD), 0x48);
	uint8_t *zp = gp(f, X86_ZERO_PAGE);
	assert_int_equal(zp[0x1f1], 0);
	assert_int_equal(get_le16(zp + 0x1fe), 0xaa55);
	assert_int_equal(get_le16(zp + 0x206), 0x020f);
	assert_int_equal(get_le32(zp + 0x230), 0x200000);
	assert_int_equal(get_le32(zp + 0x260), 3 << 20);
	assert_int_equal(get_le64(zp + 0x250), 0);
	assert_int_equal(zp[0x270], 0);
	assert_int_equal(zp[0x000], 0);
	assert_int_equal(get_le16(zp + 0x1fa), 0xffff); /* vid_mode */
	assert_int_equal(zp[0x210], 0xff);              /* type_of_loader */
	assert_int_equal(zp[0x211], 0x81);              /* LOADED_HIGH | CAN_USE_HEAP */
	assert_true(get_le16(zp + 0x224) != 0);         /* heap_end_ptr */
	assert_int_equal(get_le32(zp + 0x218), 0);      /* no initrd */
	assert_int_equal(get_le32(zp + 0x21c), 0);
	assert_int_equal(get_le32(zp + 0x0c0), 0); /* ext_ramdisk_image */
	assert_int_equal(get_le32(zp + 0x0c4), 0); /* ext_ramdisk_size */
	assert_string_equal((char *)gp(f, X86_CMDLINE), "");
	/* a header claiming to run past struct setup_header's slot is cut at 0x290 */
	k[0x201] = 0xff;
	k[0x28f] = 0x42;
	k[0x290] = 0x43;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(zp[0x28f], 0x42);
	assert_int_equal(zp[0x290], 0);
	/* e820 table: every entry, 20 bytes each */
	assert_int_equal(zp[0x1e8], f->env.nr_e820);
	for (unsigned int i = 0; i < f->env.nr_e820; i++) {
		assert_int_equal(get_le64(zp + 0x2d0 + 20 * i), f->e820[i].addr);
		assert_int_equal(get_le64(zp + 0x2d0 + 20 * i + 8), f->e820[i].size);
		assert_int_equal(get_le32(zp + 0x2d0 + 20 * i + 16), f->e820[i].type);
	}
	free(k);
}

static void test_bzimage_initrd_placement(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_bzimage(&len, 0x020f, 1, 1 << 20);
	uint8_t *rd = malloc(100000);

	memset(rd, 0x3c, 100000);
	/* as high as possible in RAM: the last page-aligned spot below 64 MiB */
	assert_int_equal(load(f, k, len, rd, 100000, NULL), 0);
	uint8_t *zp = gp(f, X86_ZERO_PAGE);
	assert_int_equal(get_le32(zp + 0x218), ALIGN_DOWN(RAM - 100000, 4096));
	/* below initrd_addr_max (the last byte may be at 32 MiB - 1) */
	put_le32(k + 0x22c, 32 * MiB - 1);
	assert_int_equal(load(f, k, len, rd, 100000, NULL), 0);
	assert_int_equal(get_le32(zp + 0x218), ALIGN_DOWN(32 * MiB - 100000, 4096));
	assert_memory_equal(gp(f, get_le32(zp + 0x218)), rd, 100000);
	/* no room between the kernel's end (1 MiB + init_size) and initrd_addr_max */
	put_le32(k + 0x22c, 2 * MiB + 50000);
	assert_int_equal(load(f, k, len, rd, 100000, NULL), -EFBIG);
	assert_non_null(strstr(f->err, "initrd"));
	free(rd);
	free(k);
}

static void test_bzimage_rsdp_and_cmdline(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_bzimage(&len, 0x020c, 1, 0); /* 2.12: no acpi_rsdp_addr field yet */
	char cmd[257];

	put_le64(gp(f, X86_ZERO_PAGE) + 0x70, 0x1234);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(get_le64(gp(f, X86_ZERO_PAGE) + 0x70), 0);
	free(k);
	k = make_bzimage(&len, 0x020e, 1, 0);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(get_le64(gp(f, X86_ZERO_PAGE) + 0x70), 0xe0000);
	f->env.rsdp_gpa = 0; /* no ACPI */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(get_le64(gp(f, X86_ZERO_PAGE) + 0x70), 0);
	/* cmdline_size (255) excludes the NUL: 255 characters fit, 256 do not */
	memset(cmd, 'y', 255);
	cmd[255] = 0;
	assert_int_equal(load(f, k, len, NULL, 0, cmd), 0);
	assert_int_equal(strlen((char *)gp(f, X86_CMDLINE)), 255);
	cmd[255] = 'y';
	cmd[256] = 0;
	assert_int_equal(load(f, k, len, NULL, 0, cmd), -E2BIG);
	assert_non_null(strstr(f->err, "command line"));
	/* a header cut short of init_size is malformed */
	k[0x201] = 0x10;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "header"));
	free(k);
}

static void test_bzimage_payload_too_big(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_bzimage(&len, 0x020f, 1, 0);
	size_t big = 70 * MiB;
	uint8_t *b = calloc(1, big);

	memcpy(b, k, len);
	assert_int_equal(load(f, b, big, NULL, 0, NULL), -EFBIG);
	assert_non_null(strstr(f->err, "kernel image (70 MiB) does not fit in guest memory"));
	free(b);
	free(k);
}

/* ---- multiboot ELF ---- */
#define MB_OFF 0x80 /* where the test images put the multiboot header */

static void put_mb_header(uint8_t *k, uint32_t flags)
{
	put_le32(k + MB_OFF, 0x1badb002);
	put_le32(k + MB_OFF + 4, flags);
	put_le32(k + MB_OFF + 8, (uint32_t)-(0x1badb002 + flags));
}

/*
 * make_mb_elf32/make_mb_elf64: one PT_LOAD, 0x1000 bytes of 0xe8 from file
 * offset 0x1000, memsz 0x3000, linked at `vaddr`, loaded at paddr.
 */
#define DEFINE_MAKE_MB_ELF(bits, machine, vaddr)                                                          \
	static uint8_t *make_mb_elf##bits(size_t *len, Elf##bits##_Addr paddr, Elf##bits##_Addr entry)  \
	{                                                                                                 \
		size_t n = 0x2000;                                                                        \
		uint8_t *k = calloc(1, n);                                                                \
		Elf##bits##_Ehdr *e = (Elf##bits##_Ehdr *)k;                                              \
		memcpy(e->e_ident, ELFMAG, SELFMAG);                                                      \
		e->e_ident[EI_CLASS] = ELFCLASS##bits;                                                    \
		e->e_ident[EI_DATA] = ELFDATA2LSB;                                                        \
		e->e_type = ET_EXEC;                                                                      \
		e->e_machine = machine;                                                                   \
		e->e_entry = entry;                                                                       \
		e->e_phoff = 0x100;                                                                       \
		e->e_phentsize = sizeof(Elf##bits##_Phdr);                                                \
		e->e_phnum = 1;                                                                           \
		*(Elf##bits##_Phdr *)(k + 0x100) = (Elf##bits##_Phdr){ .p_type = PT_LOAD,                 \
								       .p_offset = 0x1000,                \
								       .p_vaddr = vaddr,                  \
								       .p_paddr = paddr,                  \
								       .p_filesz = 0x1000,                \
								       .p_memsz = 0x3000 };               \
		memset(k + 0x1000, 0xe8, 0x1000);                                                         \
		put_mb_header(k, 0x3);                                                                    \
		*len = n;                                                                                 \
		return k;                                                                                 \
	}
DEFINE_MAKE_MB_ELF(32, EM_386, 0xc0000000)
DEFINE_MAKE_MB_ELF(64, EM_X86_64, 0xffffffff80000000ULL)

static void check_mbi(struct fx *f, const char *cmd)
{
	const uint8_t *mbi = gp(f, f->res.boot_info);
	assert_int_equal(f->res.boot_info, X86_BOOT_INFO);
	assert_int_equal(get_le32(mbi) & 0x245, 0x245); /* mem, cmdline, mmap, loader name */
	assert_int_equal(get_le32(mbi + 4), 639);
	assert_int_equal(get_le32(mbi + 8), (RAM - MiB) / 1024);
	assert_string_equal((char *)gp(f, get_le32(mbi + 16)), cmd);
	assert_string_equal((char *)gp(f, get_le32(mbi + 64)), "vmkit");
	assert_int_equal(get_le32(mbi + 44), 24 * f->env.nr_e820);
	const uint8_t *mm = gp(f, get_le32(mbi + 48));
	for (unsigned int i = 0; i < f->env.nr_e820; i++) {
		assert_int_equal(get_le32(mm + 24 * i), 20);
		assert_int_equal(get_le64(mm + 24 * i + 4), f->e820[i].addr);
		assert_int_equal(get_le64(mm + 24 * i + 12), f->e820[i].size);
		assert_int_equal(get_le32(mm + 24 * i + 20), f->e820[i].type);
	}
}

static void test_multiboot_elf32(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_mb_elf32(&len, 0x100000, 0x100010);
	uint8_t rd[3000];

	memset(rd, 0x11, sizeof(rd));
	memset(gp(f, 0x101000), 0x77, 0x2000); /* bss must be zeroed */
	assert_int_equal(load(f, k, len, rd, sizeof(rd), "mb32"), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_MULTIBOOT);
	assert_string_equal(f->res.format, "multiboot");
	assert_int_equal(f->res.entry, 0x100010);
	assert_int_equal(f->res.kernel_start, 0x100000);
	assert_int_equal(f->res.kernel_end, 0x103000);
	assert_int_equal(*gp(f, 0x100000), 0xe8);
	assert_int_equal(*gp(f, 0x100fff), 0xe8);
	assert_int_equal(*gp(f, 0x101000), 0);
	assert_int_equal(*gp(f, 0x102fff), 0);
	check_mbi(f, "mb32");
	const uint8_t *mbi = gp(f, f->res.boot_info);
	assert_true(get_le32(mbi) & 0x8);
	assert_int_equal(get_le32(mbi + 20), 1);
	const uint8_t *mod = gp(f, get_le32(mbi + 24));
	assert_int_equal(get_le32(mod) % 4096, 0);
	assert_true(get_le32(mod) >= 0x103000);
	assert_int_equal(get_le32(mod + 4) - get_le32(mod), sizeof(rd));
	assert_string_equal((char *)gp(f, get_le32(mod + 8)), "initrd");
	assert_memory_equal(gp(f, get_le32(mod)), rd, sizeof(rd));
	free(k);

	/* no initrd: no module flag */
	k = make_mb_elf32(&len, 0x100000, 0x100010);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	check_mbi(f, "");
	assert_int_equal(get_le32(gp(f, f->res.boot_info)) & 0x8, 0);
	assert_int_equal(get_le32(gp(f, f->res.boot_info) + 20), 0);
	free(k);
}

static void test_multiboot_elf64(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_mb_elf64(&len, 0x200000, 0x200020);

	assert_int_equal(load(f, k, len, NULL, 0, "mb64"), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_MULTIBOOT);
	assert_int_equal(f->res.entry, 0x200020);
	assert_int_equal(*gp(f, 0x200000), 0xe8);
	assert_int_equal(*gp(f, 0x201000), 0);
	check_mbi(f, "mb64");
	free(k);
	/* entry at or above 4 GiB: a 32-bit entry cannot reach it */
	k = make_mb_elf64(&len, 0x200000, 0x100200020ULL);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "4 GiB"));
	free(k);
	/* segment above 4 GiB */
	k = make_mb_elf64(&len, 0x100000000ULL, 0x200020);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "4 GiB"));
	free(k);
	/* video mode request (bit 2) is a preference: ignored */
	k = make_mb_elf64(&len, 0x200000, 0x200020);
	put_mb_header(k, 0x7);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_MULTIBOOT);
	/* unknown required bit 3 */
	put_mb_header(k, 0xb);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "unsupported"));
	free(k);
}

static void test_multiboot_header_search(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_aout(&len, 0x10003, 0x200000, 0x100);
	uint8_t *big = calloc(1, 0x3000);

	/* the header must be 4-byte aligned */
	memcpy(big + 0x42, k + 64, 32);
	assert_int_equal(load(f, big, 0x3000, NULL, 0, NULL), -ENOEXEC);
	/* and entirely within the first 8192 bytes */
	memset(big, 0, 0x3000);
	memcpy(big + 8192, k + 64, 32);
	assert_int_equal(load(f, big, 0x3000, NULL, 0, NULL), -ENOEXEC);
	memset(big, 0, 0x3000);
	memcpy(big + 8192 - 8, k + 64, 32); /* magic + flags in, checksum out */
	assert_int_equal(load(f, big, 0x3000, NULL, 0, NULL), -ENOEXEC);
	/* a.out kludge header cut off by the end of the file */
	assert_int_equal(load(f, k, 64 + 20, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "truncated"));
	/* neither a.out kludge nor ELF */
	memset(big, 0, 0x3000);
	memcpy(big + 0x40, k + 64, 12);
	put_le32(big + 0x44, 0x3);
	put_le32(big + 0x48, (uint32_t)-(0x1badb002 + 3));
	assert_int_equal(load(f, big, 0x3000, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "ELF"));
	free(big);
	free(k);
}

static void test_multiboot_reserved_ranges(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k;

	k = make_mb_elf32(&len, 0xe0000, 0xe0010); /* over the ACPI tables */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "reserved"));
	free(k);
	k = make_mb_elf32(&len, 0xa0000, 0xa0010); /* VGA hole: not RAM at all */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EFBIG);
	assert_non_null(strstr(f->err, "does not fit in guest memory"));
	free(k);
	k = make_mb_elf32(&len, 0x9d000, 0x9d010); /* ends in the EBDA (at the VGA window) */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
	k = make_mb_elf32(&len, 0x1f000, 0x1f010); /* over the command line */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "boot data"));
	free(k);
	k = make_mb_elf32(&len, 0x30000, 0x30010); /* just above vmkit's boot data: fine */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	free(k);
	k = make_mb_elf32(&len, 0x100000, 0x100010);
	Elf32_Phdr *ph = (Elf32_Phdr *)(k + 0x100);
	ph->p_filesz = 0x4000; /* more than memsz */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	ph->p_filesz = 0x1000;
	ph->p_memsz = 0xfffff000; /* wraps past 4 GiB */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	ph->p_memsz = 0x3000;
	ph->p_type = PT_NULL; /* nothing to load */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "no loadable segment"));
	ph->p_type = PT_LOAD;
	uint8_t *big = calloc(1, 70 * MiB);
	assert_int_equal(load(f, k, len, big, 70 * MiB, NULL), -EFBIG);
	assert_non_null(strstr(f->err, "initrd"));
	free(big);
	free(k);
}

/* ---- more ELF ---- */
static void test_elf_pvh_details(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_elf64(&len, true, 0x1000000, 0);
	uint8_t rd[8192];

	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)i;
	assert_int_equal(load(f, k, len, rd, sizeof(rd), NULL), 0);
	assert_string_equal(f->res.format, "ELF (PVH)");
	assert_int_equal(f->res.kernel_start, 0x1000000);
	assert_int_equal(f->res.kernel_end, 0x1002000);
	const uint8_t *si = gp(f, f->res.boot_info);
	assert_int_equal(f->res.boot_info, X86_BOOT_INFO);
	assert_int_equal(get_le32(si + 4), 1); /* version */
	assert_int_equal(get_le32(si + 12), 1);
	const uint8_t *ml = gp(f, get_le64(si + 16));
	uint64_t rd_at = get_le64(ml);
	assert_int_equal(get_le64(ml + 8), sizeof(rd));
	assert_int_equal(rd_at % 4096, 0);
	assert_true(rd_at >= 0x1002000);
	assert_memory_equal(gp(f, rd_at), rd, sizeof(rd));
	assert_string_equal((char *)gp(f, get_le64(si + 24)), "");
	const uint8_t *mm = gp(f, get_le64(si + 40));
	for (unsigned int i = 0; i < f->env.nr_e820; i++) {
		assert_int_equal(get_le64(mm + 24 * i), f->e820[i].addr);
		assert_int_equal(get_le64(mm + 24 * i + 8), f->e820[i].size);
		assert_int_equal(get_le32(mm + 24 * i + 16), f->e820[i].type);
		assert_int_equal(get_le32(mm + 24 * i + 20), 0);
	}
	/* without an initrd: no modules */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	si = gp(f, f->res.boot_info);
	assert_int_equal(get_le32(si + 12), 0);
	assert_int_equal(get_le64(si + 16), 0);
	/* PVH entry outside RAM */
	put_le32(k + 1024 + 16, 0x8000000);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "entry"));
	/* a note cut short by its segment is ignored: no PVH, the 64-bit entry */
	put_le32(k + 1024 + 16, 0x1000040);
	((Elf64_Phdr *)(k + sizeof(Elf64_Ehdr)))[1].p_filesz = 16;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_LINUX64);
	/* a note past the end of the file is ignored too */
	((Elf64_Phdr *)(k + sizeof(Elf64_Ehdr)))[1].p_filesz = 20;
	((Elf64_Phdr *)(k + sizeof(Elf64_Ehdr)))[1].p_offset = len - 8;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_LINUX64);
	free(k);
}

static void test_elf_64bit_zero_page(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_elf64(&len, false, 0x1000000, 0);
	uint8_t rd[5000] = { 7 };

	memset(gp(f, X86_ZERO_PAGE), 0x5a, 4096); /* stale junk must go */
	assert_int_equal(load(f, k, len, rd, sizeof(rd), "root=/dev/vda"), 0);
	assert_string_equal(f->res.format, "ELF (64-bit)");
	assert_int_equal(get_le32(gp(f, X86_ZERO_PAGE) + 0x250), 0);
	assert_int_equal(get_le32(gp(f, X86_ZERO_PAGE) + 0x0c0), 0);
	assert_int_equal(f->res.boot_info, X86_ZERO_PAGE);
	uint8_t *zp = gp(f, X86_ZERO_PAGE);
	assert_int_equal(get_le16(zp + 0x1fe), 0xaa55);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(get_le32(zp + 0x228), X86_CMDLINE);
	assert_string_equal((char *)gp(f, X86_CMDLINE), "root=/dev/vda");
	assert_int_equal(get_le32(zp + 0x21c), sizeof(rd));
	assert_memory_equal(gp(f, get_le32(zp + 0x218)), rd, sizeof(rd));
	assert_int_equal(zp[0x1e8], f->env.nr_e820);
	assert_int_equal(get_le64(zp + 0x70), 0xe0000);
	/* X86_CMDLINE_MAX includes the NUL */
	char *cmd = malloc(X86_CMDLINE_MAX + 1);
	memset(cmd, 'z', X86_CMDLINE_MAX - 1);
	cmd[X86_CMDLINE_MAX - 1] = 0;
	assert_int_equal(load(f, k, len, NULL, 0, cmd), 0);
	cmd[X86_CMDLINE_MAX - 1] = 'z';
	cmd[X86_CMDLINE_MAX] = 0;
	assert_int_equal(load(f, k, len, NULL, 0, cmd), -E2BIG);
	free(cmd);
	/* the 64-bit entry point must be in RAM */
	((Elf64_Ehdr *)k)->e_entry = 0xffffffff81000000ULL;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "entry"));
	free(k);
}

static void test_elf32(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_mb_elf32(&len, 0x100000, 0x100010);

	memset(k + MB_OFF, 0, 12); /* no multiboot header */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "32-bit"));
	/* add a PVH note: now it boots through PVH */
	Elf32_Ehdr *e = (Elf32_Ehdr *)k;
	e->e_phnum = 2;
	((Elf32_Phdr *)(k + 0x100))[1] = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = 0x400, .p_filesz = 20 };
	put_le32(k + 0x400, 4);
	put_le32(k + 0x404, 4);
	put_le32(k + 0x408, 18);
	memcpy(k + 0x40c, "Xen", 4);
	put_le32(k + 0x410, 0x100020);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_PVH);
	assert_int_equal(f->res.entry, 0x100020);
	/* wrong note name: not PVH */
	memcpy(k + 0x40c, "Xem", 4);
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	free(k);
}

static void test_elf_headers(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *k = make_elf64(&len, false, 0x1000000, 0);
	Elf64_Ehdr *e = (Elf64_Ehdr *)k;

	e->e_phoff = len - 10; /* program headers past the end of the file */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	e->e_phoff = 0xffffffffffffffc0ULL; /* and with wrap-around */
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	e->e_phoff = sizeof(*e);
	e->e_phnum = 0;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	e->e_phnum = 1;
	e->e_phentsize = 40;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_ident[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_CLASS] = 7;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), 0);
	/* segment overlapping the zero page */
	((Elf64_Phdr *)(k + e->e_phoff))->p_paddr = 0x6000;
	e->e_entry = 0x6010;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "boot data"));
	/* segment wrapping the address space */
	((Elf64_Phdr *)(k + e->e_phoff))->p_paddr = 0xfffffffffffff000ULL;
	assert_int_equal(load(f, k, len, NULL, 0, NULL), -EFBIG);
	free(k);
}

static void test_single_loaders(void **state)
{
	struct fx *f = *state;
	size_t blen, elen;
	uint8_t *bz = make_bzimage(&blen, 0x020f, 1, 0);
	uint8_t *elf = make_elf64(&elen, true, 0x1000000, 0);
	struct boot_images bimg = { .kernel = bz, .kernel_len = blen };
	struct boot_images eimg = { .kernel = elf, .kernel_len = elen };

	assert_int_equal(boot_load_bzimage(&f->mem, &eimg, &f->env, &f->res, f->err, sizeof(f->err)), -ENOEXEC);
	assert_int_equal(boot_load_multiboot(&f->mem, &eimg, &f->env, &f->res, f->err, sizeof(f->err)), -ENOEXEC);
	assert_int_equal(boot_load_elf(&f->mem, &bimg, &f->env, &f->res, f->err, sizeof(f->err)), -ENOEXEC);
	assert_int_equal(boot_load_elf(&f->mem, &eimg, &f->env, &f->res, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_PVH);
	assert_int_equal(boot_load_bzimage(&f->mem, &bimg, &f->env, &f->res, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->res.kind, BOOT_ENTRY_LINUX64);
	/* empty image */
	assert_int_equal(load(f, bz, 0, NULL, 0, NULL), -ENOEXEC);
	assert_non_null(strstr(f->err, "empty"));
	free(bz);
	free(elf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bzimage_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_aout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_pvh_and_64bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_zero_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_initrd_placement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_rsdp_and_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_payload_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_elf32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_elf64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_header_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_reserved_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_pvh_details, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_64bit_zero_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_loaders, setup, teardown),
	};
	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
