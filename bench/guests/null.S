/* SPDX-License-Identifier: MIT */
/*
 * Null guest for start-up benchmarks: as soon as it is entered (32-bit
 * protected mode, paging off, per the multiboot spec) it writes 0x10 to the
 * debug-exit port 0xf4, so both QEMU's isa-debug-exit and vmkit exit with
 * status (0x10 << 1) | 1 = 33.
 */
#include "multiboot.h"
	.text
	.code32
	.globl _start
_start:
	movb $0x10, %al
	outb %al, $0xf4
1:	hlt
	jmp 1b
