/* SPDX-License-Identifier: MIT */
/*
 * Entry of every test guest: a multiboot v1 header with the a.out kludge
 * (Multiboot 0.6.96 s3.1.1, flags bit 16: the loader takes the load addresses
 * from the header, so QEMU -kernel and vmkit load this x86_64 ELF alike), then
 * the switch from 32-bit protected mode to long mode (Intel SDM vol. 3A
 * s9.8.5): 0-4 GiB identity mapped with 2 MiB pages, PAE, EFER.LME, paging.
 * Then guest_init() (IDT, PIC, COM1) and guest_main(magic, mbi).
 *
 * The machine state the loader handed over (EAX, EBX, EFLAGS, CR0, ESP) is
 * saved for the boot guest to check against Multiboot s3.2.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010003	/* a.out kludge, page-aligned modules, memory info */

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

	.text
	.code32
	.globl _start
_start:
	movl %eax, boot_magic
	movl %ebx, boot_mbi
	movl %esp, boot_esp
	movl $stack_top, %esp	/* Multiboot s3.2: ESP is undefined at entry */
	pushfl
	popl boot_eflags
	cli
	movl %cr0, %eax
	movl %eax, boot_cr0
	/* PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages covering 0-4 GiB */
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
	movl $0x83, %eax	/* present, writable, 2 MiB page */
	movl $2048, %ecx
2:	movl %eax, (%edi)
	movl $0, 4(%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 2b
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax		/* PAE */
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
	movq $stack_top, %rsp	/* 16-byte aligned: the call leaves RSP = 8 mod 16 (SysV ABI) */
	call guest_init
	movl boot_magic, %edi
	movl boot_mbi, %esi
	call guest_main
	movb $0x11, %al		/* guest_main must not return: report failure */
	outb %al, $0xf4
3:	cli
	hlt
	jmp 3b

	.section .rodata
	.balign 8
	.globl gdt, gdt_desc
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
	.quad 0x00cf9a000000ffff	/* 0x18: 32-bit flat code (AP trampolines) */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.data
	.balign 4
	.globl boot_magic, boot_mbi, boot_esp, boot_eflags, boot_cr0
boot_magic: .long 0
boot_mbi: .long 0
boot_esp: .long 0
boot_eflags: .long 0
boot_cr0: .long 0

	.bss
	.balign 4096
	.globl pml4, pdpt, pd
pml4: .skip 4096
pdpt: .skip 4096
pd: .skip 4 * 4096
	.balign 16
	.skip 16384
	.globl stack_top
stack_top:
