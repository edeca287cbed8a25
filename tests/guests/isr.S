/* SPDX-License-Identifier: MIT */
/* Interrupt entry stubs: save the caller-saved registers, call isr_dispatch(vector). */
	.text
	.code64
.macro STUB vec
	.globl isr_\vec
isr_\vec:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movl $\vec, %edi
	call isr_dispatch
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq
.endm
	STUB 48
	STUB 49
	STUB 50

	/* exceptions: report the vector and fail */
.macro EXC vec
	.globl exc_\vec
exc_\vec:
	movl $\vec, %edi
	movq (%rsp), %rsi
	call exception
.endm
	EXC 0
	EXC 6
	EXC 8
	EXC 13
	EXC 14
