/* SPDX-License-Identifier: MIT */
/*
 * Exit round-trip guest. Runs in 32-bit protected mode with paging off and
 * interrupts off (as multiboot enters it), so it takes no interrupts (which
 * hang 32-bit guests on PVM hosts). Its multiboot command line selects:
 *
 *   n=N       iterations (decimal or 0x hex; default DEFAULT_N)
 *   port=P    do N `outb %al, P` to an I/O port (default mode, P default 0x2f0)
 *   mmio=A    instead do N 32-bit reads of physical address A
 *   loop      instead do N iterations of the same loop with no exit (baseline)
 *
 * then writes 0x10 to the debug-exit port 0xf4 (exit status 33 in QEMU and
 * vmkit). The defaults can be changed at build time (-DDEFAULT_N=...,
 * -DDEFAULT_MMIO=..., -DDEFAULT_LOOP=1) so that the benchmark does not depend
 * on the VMM passing the command line. The cmdline is found through the multiboot info structure
 * (Multiboot 0.6.96 s3.3: EBX points to it, flags bit 2 = cmdline valid).
 */
#include "multiboot.h"
#define MB_BOOTLOADER_MAGIC 0x2badb002
#ifndef DEFAULT_N
#define DEFAULT_N 0
#endif
#ifndef DEFAULT_PORT
#define DEFAULT_PORT 0x2f0
#endif
#ifndef DEFAULT_MMIO
#define DEFAULT_MMIO 0
#endif
#ifndef DEFAULT_LOOP
#define DEFAULT_LOOP 0
#endif
	.text
	.code32
	.globl _start
_start:
	movl $stack_top, %esp
	movl $DEFAULT_N, %ecx		/* n */
	movl $DEFAULT_PORT, %edx	/* port */
	movl $DEFAULT_MMIO, %edi	/* mmio address, 0 = PIO mode */
	movl $DEFAULT_LOOP, %ebp	/* 1 = baseline loop */
	cmpl $MB_BOOTLOADER_MAGIC, %eax
	jne run
	testl $4, (%ebx)
	jz run
	movl 16(%ebx), %esi		/* cmdline */
	/* scan tokens separated by spaces */
next_token:
	movb (%esi), %al
	testb %al, %al
	jz run
	cmpb $' ', %al
	jne 1f
	incl %esi
	jmp next_token
1:	movw (%esi), %ax
	cmpw $0x3d6e, %ax		/* "n=" little endian */
	jne 2f
	addl $2, %esi
	call parse_num
	movl %eax, %ecx
	jmp skip_token
2:	cmpl $0x74726f70, (%esi)	/* "port" */
	jne 3f
	cmpb $'=', 4(%esi)
	jne 3f
	addl $5, %esi
	call parse_num
	movl %eax, %edx
	jmp skip_token
3:	cmpl $0x6f696d6d, (%esi)	/* "mmio" */
	jne 4f
	cmpb $'=', 4(%esi)
	jne 4f
	addl $5, %esi
	call parse_num
	movl %eax, %edi
	jmp skip_token
4:	cmpl $0x706f6f6c, (%esi)	/* "loop" */
	jne skip_token
	movb 4(%esi), %al
	testb %al, %al
	jz 5f
	cmpb $' ', %al
	jne skip_token
5:	movl $1, %ebp
skip_token:
	movb (%esi), %al
	testb %al, %al
	jz run
	cmpb $' ', %al
	je next_token
	incl %esi
	jmp skip_token

run:
	testl %ecx, %ecx
	jz done
	testl %ebp, %ebp
	jnz baseline
	testl %edi, %edi
	jnz mmio_loop
pio_loop:
	outb %al, %dx
	decl %ecx
	jnz pio_loop
	jmp done
mmio_loop:
	movl (%edi), %eax
	decl %ecx
	jnz mmio_loop
	jmp done
baseline:
	movl %eax, %ebx			/* stands in for the exiting instruction */
	decl %ecx
	jnz baseline
done:
	movb $0x10, %al
	outb %al, $0xf4
6:	hlt
	jmp 6b

/* parse_num: decimal or 0x-hex number at %esi; returns %eax, advances %esi.
 * Clobbers %ebx. */
parse_num:
	xorl %eax, %eax
	cmpw $0x7830, (%esi)		/* "0x" */
	jne dec_loop
	addl $2, %esi
hex_loop:
	movzbl (%esi), %ebx
	subl $'0', %ebx
	cmpl $9, %ebx
	jbe hex_digit
	movzbl (%esi), %ebx
	orl $0x20, %ebx			/* lower case */
	subl $'a', %ebx
	cmpl $5, %ebx
	ja num_done
	addl $10, %ebx
hex_digit:
	shll $4, %eax
	addl %ebx, %eax
	incl %esi
	jmp hex_loop
dec_loop:
	movzbl (%esi), %ebx
	subl $'0', %ebx
	cmpl $9, %ebx
	ja num_done
	imull $10, %eax
	addl %ebx, %eax
	incl %esi
	jmp dec_loop
num_done:
	ret

	.bss
	.balign 16
	.skip 4096
stack_top:
