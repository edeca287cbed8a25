/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 header with the a.out kludge (Multiboot 0.6.96 s3.1.1-3.1.3):
 * flags bit 16 makes the loader use the addresses below instead of parsing the
 * ELF, so QEMU's -kernel (which refuses 64-bit ELFs otherwise) and vmkit load
 * the same file. The image must be contiguous from load_addr (see guest.lds).
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010000
	.section .mbheader, "a"
	.balign 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header		/* header_addr */
	.long __load_start	/* load_addr */
	.long __load_end	/* load_end_addr */
	.long __bss_end		/* bss_end_addr */
	.long _start		/* entry_addr */
