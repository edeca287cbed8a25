/* SPDX-License-Identifier: MIT */
/* ELF parsing shared by the ELF and multiboot loaders. */
#ifndef VMKIT_ELF_PRIV_H
#define VMKIT_ELF_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmkit/boot.h"

struct elf_info {
	bool is64;
	uint64_t entry;
	uint64_t phoff;
	unsigned int phnum;
};

/* -ENOEXEC if not ELF, -EINVAL if malformed (headers outside the file, wrong machine). */
int elf_parse(const uint8_t *k, size_t len, struct elf_info *info);

/*
 * Load every PT_LOAD at its physical address (p_paddr), each checked with
 * boot_check_range() against limit; report the span [*start, *end).
 * 0, -EINVAL or -EFBIG (err set).
 */
int elf_load_segments(struct guest_mem *m, const struct boot_env *env, const uint8_t *k, size_t len,
		      const struct elf_info *info, uint64_t limit, uint64_t *start, uint64_t *end, char *err,
		      size_t errlen);

#endif
