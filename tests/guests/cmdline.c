// SPDX-License-Identifier: MIT
/*
 * The command line arrives intact and the initrd is module 0, byte for byte
 * (Multiboot 0.6.96 s3.3). The host passes ntok=<number of tokens> and, with
 * an initrd, initrd_size=<bytes> initrd_fnv=<FNV-1a 32 of its bytes>. The guest
 * echoes the line as CMDLINE[...] for the host to compare.
 */
#include "lib.h"

const char *test_name = "cmdline";

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool in_ram(uint64_t a, uint64_t len)
{
	const struct mb_info *m = mbi();

	for (uint32_t off = 0; off + 24 <= m->mmap_length;) {
		const struct mb_mmap *e = (const struct mb_mmap *)(uintptr_t)(m->mmap_addr + off);

		if (e->type == 1 && a >= e->addr && a + len <= e->addr + e->len)
			return true;
		off += e->size + 4;
	}
	return false;
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const struct mb_info *m = mbi();
	const char *c = mb_cmdline();
	uint64_t want_tokens = arg_num("ntok", 0), size = arg_num("initrd_size", 0);
	unsigned int ntok = 0;
	extern char __load_start[], __bss_end[];

	CHECK(m->flags & MB_INFO_CMDLINE);
	printf_("CMDLINE[%s]\n", c);
	for (const char *p = c; *p;) {
		const char *s;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != ' ')
			p++;
		printf_("TOKEN %u %u\n", ntok, (unsigned int)(p - s));
		ntok++;
	}
	if (under_qemu() && ntok)
		ntok--; /* QEMU puts the kernel's file name first */
	CHECK(arg_has("token-one") && arg_has("token-two"));
	CHECK(ntok == want_tokens);
	/* the line does not overlap the image or the info structure */
	CHECK(!overlaps((uintptr_t)c, strlen_(c) + 1, (uintptr_t)__load_start, __bss_end - __load_start));

	if (!size) {
		CHECK(!(m->flags & MB_INFO_MODS) || m->mods_count == 0);
		pass();
	}
	CHECK(m->flags & MB_INFO_MODS);
	CHECK(m->mods_count == 1);
	const struct mb_module *mod = (const struct mb_module *)(uintptr_t)m->mods_addr;
	uint32_t h = 2166136261u;

	printf_("module 0x%x-0x%x string 0x%x\n", mod->start, mod->end, mod->string);
	CHECK((mod->start & 0xfff) == 0); /* header flags bit 0: page aligned */
	CHECK(mod->end > mod->start && mod->end - mod->start == size);
	CHECK(in_ram(mod->start, size));
	CHECK(!overlaps(mod->start, size, (uintptr_t)__load_start, __bss_end - __load_start));
	CHECK(!overlaps(mod->start, size, mbi_addr, sizeof(*m)));
	CHECK(!overlaps(mod->start, size, (uintptr_t)c, strlen_(c) + 1));
	CHECK(!overlaps(mod->start, size, m->mmap_addr, m->mmap_length));
	for (const uint8_t *b = (const uint8_t *)(uintptr_t)mod->start; b < (const uint8_t *)(uintptr_t)mod->end; b++)
		h = (h ^ *b) * 16777619u; /* FNV-1a 32 */
	printf_("initrd fnv 0x%x\n", h);
	CHECK(h == arg_num("initrd_fnv", 0));
	pass();
}
