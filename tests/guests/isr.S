/* SPDX-License-Identifier: MIT */
/*
 * Interrupt and exception entry for all 256 vectors (long mode, Intel SDM
 * vol. 3A s6.14). Each stub pushes a dummy error code when the CPU does not
 * push one (s6.13), then its vector, and joins isr_common, which saves the
 * general registers and calls isr_dispatch(struct frame *). The CPU aligns
 * RSP to 16 before pushing its 5-quadword frame; 2 + 15 more quadwords keep
 * the stack 16-byte aligned at the call, as the SysV ABI requires.
 */
	.text
	.code64
.macro STUB_NOERR v
	.balign 16
isr_stub_\v:
	pushq $0
	pushq $\v
	jmp isr_common
.endm
.macro STUB_ERR v
	.balign 16
isr_stub_\v:
	pushq $\v
	jmp isr_common
.endm

.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23
	STUB_NOERR \v
.endr
.irp v, 24,25,26,27,28,31,32,33,34,35,36,37,38,39,40,41
	STUB_NOERR \v
.endr
.irp v, 42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57
	STUB_NOERR \v
.endr
.irp v, 58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73
	STUB_NOERR \v
.endr
.irp v, 74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89
	STUB_NOERR \v
.endr
.irp v, 90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105
	STUB_NOERR \v
.endr
.irp v, 106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121
	STUB_NOERR \v
.endr
.irp v, 122,123,124,125,126,127,128,129,130,131,132,133,134,135,136,137
	STUB_NOERR \v
.endr
.irp v, 138,139,140,141,142,143,144,145,146,147,148,149,150,151,152,153
	STUB_NOERR \v
.endr
.irp v, 154,155,156,157,158,159,160,161,162,163,164,165,166,167,168,169
	STUB_NOERR \v
.endr
.irp v, 170,171,172,173,174,175,176,177,178,179,180,181,182,183,184,185
	STUB_NOERR \v
.endr
.irp v, 186,187,188,189,190,191,192,193,194,195,196,197,198,199,200,201
	STUB_NOERR \v
.endr
.irp v, 202,203,204,205,206,207,208,209,210,211,212,213,214,215,216,217
	STUB_NOERR \v
.endr
.irp v, 218,219,220,221,222,223,224,225,226,227,228,229,230,231,232,233
	STUB_NOERR \v
.endr
.irp v, 234,235,236,237,238,239,240,241,242,243,244,245,246,247,248,249
	STUB_NOERR \v
.endr
.irp v, 250,251,252,253,254,255
	STUB_NOERR \v
.endr
.irp v, 8,10,11,12,13,14,17,21,29,30
	STUB_ERR \v
.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp		/* vector and error code */
	iretq

	/* isr_table[v] = address of the stub for vector v (read by idt_init) */
	.section .rodata
	.balign 8
	.globl isr_table
isr_table:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	.quad isr_stub_\v
.endr
.irp v, 16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr_stub_\v
.endr
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.quad isr_stub_\v
.endr
.irp v, 48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	.quad isr_stub_\v
.endr
.irp v, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79
	.quad isr_stub_\v
.endr
.irp v, 80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95
	.quad isr_stub_\v
.endr
.irp v, 96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111
	.quad isr_stub_\v
.endr
.irp v, 112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127
	.quad isr_stub_\v
.endr
.irp v, 128,129,130,131,132,133,134,135,136,137,138,139,140,141,142,143
	.quad isr_stub_\v
.endr
.irp v, 144,145,146,147,148,149,150,151,152,153,154,155,156,157,158,159
	.quad isr_stub_\v
.endr
.irp v, 160,161,162,163,164,165,166,167,168,169,170,171,172,173,174,175
	.quad isr_stub_\v
.endr
.irp v, 176,177,178,179,180,181,182,183,184,185,186,187,188,189,190,191
	.quad isr_stub_\v
.endr
.irp v, 192,193,194,195,196,197,198,199,200,201,202,203,204,205,206,207
	.quad isr_stub_\v
.endr
.irp v, 208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223
	.quad isr_stub_\v
.endr
.irp v, 224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239
	.quad isr_stub_\v
.endr
.irp v, 240,241,242,243,244,245,246,247,248,249,250,251,252,253,254,255
	.quad isr_stub_\v
.endr
