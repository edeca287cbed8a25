/* SPDX-License-Identifier: MIT */
/*
 * The smallest guest: multiboot v1 header (a.out kludge) and one write of 0
 * to the debug-exit port 0xf4, so vmkit exits with status (0 << 1) | 1 = 1.
 * For start-up benchmarks: no long mode, no serial output.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010000

	.section .mbheader, "a"
	.balign 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header
	.long __load_start
	.long __load_end
	.long __bss_end
	.long _start

	.text
	.code32
	.globl _start
_start:
	xorl %eax, %eax
	outb %al, $0xf4
1:	cli
	hlt
	jmp 1b
