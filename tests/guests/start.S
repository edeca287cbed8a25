/* SPDX-License-Identifier: MIT */
/*
 * Entry of every test guest: a multiboot v1 header with the a.out kludge
 * (flags bit 16, so QEMU -kernel and vmkit load the same file), then the
 * switch from 32-bit protected mode to long mode (Intel SDM vol. 3A s9.8.5)
 * with 0-4 GiB identity mapped in 2 MiB pages, then guest_main(magic, mbi).
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010003	/* a.out kludge, page-aligned modules, memory info */

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
	cli
	movl %eax, boot_magic
	movl %ebx, boot_mbi
	/* page tables: PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages */
	movl $pml4, %edi
	movl $pdpt, %eax
	orl $3, %eax
	movl %eax, (%edi)
	movl $pdpt, %edi
	movl $pd, %eax
	orl $3, %eax
	movl $4, %ecx
1:	movl %eax, (%edi)
	addl $4096, %eax
	addl $8, %edi
	loop 1b
	movl $pd, %edi
	movl $0x83, %eax	/* present, writable, 2 MiB */
	xorl %edx, %edx
	movl $2048, %ecx
2:	movl %eax, (%edi)
	movl %edx, 4(%edi)
	addl $0x200000, %eax
	adcl $0, %edx
	addl $8, %edi
	loop 2b
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x620, %eax	/* PAE, OSFXSR, OSXMMEXCPT */
	movl %eax, %cr4
	movl $0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax	/* PG | PE */
	movl %eax, %cr0
	lgdt gdt_desc
	ljmp $0x08, $long_mode

	.code64
long_mode:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $stack_top, %rsp
	movl boot_magic, %edi
	movl boot_mbi, %esi
	call guest_main
	movb $0x11, %al		/* guest_main must not return: report failure */
	outb %al, $0xf4
3:	hlt
	jmp 3b

	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.globl boot_magic, boot_mbi
boot_magic: .long 0
boot_mbi: .long 0

	.bss
	.balign 4096
pml4: .skip 4096
pdpt: .skip 4096
pd: .skip 4 * 4096
	.balign 16
	.skip 16384
stack_top:
