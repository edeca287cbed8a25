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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bzimage_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_aout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_pvh_and_64bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_malformed, setup, teardown),
	};
	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
