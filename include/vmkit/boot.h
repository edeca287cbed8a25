/* SPDX-License-Identifier: MIT */
/*
 * boot: kernel loaders for direct boot. The image format is detected by
 * content: Linux bzImage (boot protocol 2.12+, 64-bit entry), multiboot v1
 * (ELF32/ELF64 or a.out kludge), ELF vmlinux (PVH entry when the
 * XEN_ELFNOTE_PHYS32_ENTRY note is present, else the 64-bit boot protocol).
 * Loaders write the kernel, initrd, command line and boot information into
 * guest memory at the addresses in vmkit/x86.h and report how to enter.
 */
#ifndef VMKIT_BOOT_H
#define VMKIT_BOOT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmkit/mem.h"
#include "vmkit/x86.h"

enum boot_entry_kind {
	BOOT_ENTRY_LINUX64,   /* 64-bit long mode, paging on, RSI = zero page */
	BOOT_ENTRY_PVH,       /* 32-bit protected mode, paging off, EBX = hvm_start_info */
	BOOT_ENTRY_MULTIBOOT, /* 32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = mbi */
};

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002U

struct boot_images {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline; /* may be NULL (empty) */
};

struct boot_env {
	const struct e820_entry *e820; /* the guest's memory map */
	unsigned int nr_e820;
	uint64_t rsdp_gpa; /* 0 if no ACPI */
	bool vga_text;     /* a VGA card in 80x25 colour text mode (BIOS mode 3) */
};

struct boot_result {
	enum boot_entry_kind kind;
	uint64_t entry;     /* RIP (physical) */
	uint64_t boot_info; /* RSI (zero page), or EBX (start_info / mbi) */
	uint64_t kernel_start, kernel_end; /* physical span of the loaded image */
	const char *format; /* "bzImage", "multiboot", "ELF (PVH)", "ELF (64-bit)" */
};

/*
 * Detect the format and load. On failure returns -ENOEXEC (unknown format),
 * -EINVAL (malformed image), -EFBIG (does not fit in guest memory) or -E2BIG
 * (command line too long), with one human-readable line in err.
 */
int boot_load(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
	      struct boot_result *res, char *err, size_t errlen);

/* Individual loaders (same contract; -ENOEXEC if the image is not theirs). */
int boot_load_bzimage(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		      struct boot_result *res, char *err, size_t errlen);
int boot_load_multiboot(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
			struct boot_result *res, char *err, size_t errlen);
int boot_load_elf(struct guest_mem *m, const struct boot_images *img, const struct boot_env *env,
		  struct boot_result *res, char *err, size_t errlen);

#endif
