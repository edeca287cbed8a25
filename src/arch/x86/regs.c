// SPDX-License-Identifier: MIT
/*
 * vCPU power-on state and the boot CPU's entry state for each loader:
 *  - Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst, "64-bit
 *    BOOT PROTOCOL"): long mode, identity-mapped paging, __BOOT_CS=0x10,
 *    __BOOT_DS=0x18, RSI = zero page;
 *  - multiboot v1 (spec s3.2) and PVH: 32-bit protected mode, paging off,
 *    flat CS/DS, EAX magic, EBX info pointer.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmkit/util.h"
#include "vmkit/x86.h"
#include "vmkit/x86_vcpu.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_DEF_TYPE_WB_ENABLED 0x806ULL /* E=1, default type write-back */

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define SEL_CODE 0x10
#define SEL_DATA 0x18
#define SEL_TSS 0x20

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x400
#define APIC_MODE_EXTINT 0x700

int x86_vcpu_init(struct kvm_vcpu *v)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 }, { MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },             { MSR_LSTAR, 0 },             { MSR_CSTAR, 0 },
		{ MSR_SYSCALL_MASK, 0 },     { MSR_KERNEL_GS_BASE, 0 },    { MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_WB_ENABLED },
	};
	/* struct kvm_msrs ends in a flexible array: build it in an aligned buffer. */
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + ARRAY_SIZE(msrs) * sizeof(struct kvm_msr_entry)];
	} m;
	struct kvm_fpu fpu;
	struct kvm_lapic_state lapic;
	int n;

	memset(&m, 0, sizeof(m));
	for (unsigned int i = 0; i < ARRAY_SIZE(msrs); i++) {
		m.hdr.entries[i].index = msrs[i].index;
		m.hdr.entries[i].data = msrs[i].data;
	}
	m.hdr.nmsrs = ARRAY_SIZE(msrs);
	n = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (n < 0)
		return -errno;
	/* KVM stops at the first MSR it refuses; the rest are optional extras. */

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f; /* x87 power-on control word (SDM vol. 1 s8.1.5) */
	fpu.mxcsr = 0x1f80;
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;

	/* Virtual-wire mode as a PC BIOS leaves it (MP spec 1.4 s3.6.2.2). */
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	put_le32(&lapic.regs[APIC_LVT_LINT0], APIC_MODE_EXTINT);
	put_le32(&lapic.regs[APIC_LVT_LINT1], APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

/* GDT entry from base/limit/access/flags (SDM vol. 3A s3.4.5). */
static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf) << 52) |
	       ((uint64_t)(limit & 0xf0000) << 32) | ((uint64_t)access << 40) |
	       ((uint64_t)(base & 0x00ffffff) << 16) | (limit & 0xffff);
}

static void seg_from_gdt(struct kvm_segment *s, uint16_t sel, uint64_t e)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = ((e >> 16) & 0xffffff) | ((e >> 32) & 0xff000000);
	s->limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000));
	s->type = (e >> 40) & 0xf;
	s->s = (e >> 44) & 1;
	s->dpl = (e >> 45) & 3;
	s->present = (e >> 47) & 1;
	s->avl = (e >> 52) & 1;
	s->l = (e >> 53) & 1;
	s->db = (e >> 54) & 1;
	s->g = (e >> 55) & 1;
	if (s->g)
		s->limit = (s->limit << 12) | 0xfff;
}

static int write_page_tables(struct guest_mem *m)
{
	uint64_t *pml4 = guest_mem_ptr(m, X86_PML4, 4096);
	uint64_t *pdpt = guest_mem_ptr(m, X86_PDPT, 4096);
	uint64_t *pd = guest_mem_ptr(m, X86_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	/* Identity map 0-4 GiB with 2 MiB pages: present | writable (| PS). */
	pml4[0] = X86_PDPT | 0x3;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (X86_PD + i * 4096ULL) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;
	return 0;
}

int x86_boot_cpu_setup(struct guest_mem *m, struct kvm_vcpu *bsp, const struct boot_result *br)
{
	bool long_mode = br->kind == BOOT_ENTRY_LINUX64;
	uint64_t gdt[5] = {
		0,
		0,
		/* 0x10: code; 64-bit (L) or 32-bit (D) */
		long_mode ? gdt_entry(0, 0xfffff, 0x9b, 0xa) : gdt_entry(0, 0xfffff, 0x9b, 0xc),
		gdt_entry(0, 0xfffff, 0x93, 0xc), /* 0x18: data */
		gdt_entry(0, 0x67, 0x8b, 0x0),    /* 0x20: busy 32/64-bit TSS, never used */
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_segment code, data, tss;
	int err;

	err = guest_mem_write(m, X86_BOOT_GDT, gdt, sizeof(gdt));
	if (err)
		return err;
	if (ioctl(bsp->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;

	seg_from_gdt(&code, SEL_CODE, gdt[2]);
	seg_from_gdt(&data, SEL_DATA, gdt[3]);
	seg_from_gdt(&tss, SEL_TSS, gdt[4]);
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tss;
	sregs.gdt.base = X86_BOOT_GDT;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (long_mode) {
		err = write_page_tables(m);
		if (err)
			return err;
		sregs.cr3 = X86_PML4;
		sregs.cr4 |= CR4_PAE;
		sregs.cr0 |= CR0_PG;
		sregs.efer |= EFER_LME | EFER_LMA;
	}
	if (ioctl(bsp->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = br->entry;
	switch (br->kind) {
	case BOOT_ENTRY_LINUX64:
		regs.rsi = br->boot_info;
		break;
	case BOOT_ENTRY_PVH:
		regs.rbx = br->boot_info;
		break;
	case BOOT_ENTRY_MULTIBOOT:
		regs.rax = MULTIBOOT_BOOTLOADER_MAGIC;
		regs.rbx = br->boot_info;
		break;
	}
	if (ioctl(bsp->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

void x86_vcpu_dump(struct kvm_vcpu *v, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "vCPU %u: registers unavailable\n", v->id);
		return;
	}
	fprintf(f, "vCPU %u registers:\n"
		   " rip %016llx rflags %016llx\n"
		   " rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		   " rsi %016llx rdi %016llx rbp %016llx rsp %016llx\n"
		   " r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		   " r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		   " cs %04x (base %llx l%d db%d) ss %04x ds %04x\n"
		   " cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx\n"
		   " gdt %llx/%x idt %llx/%x\n",
		v->id, r.rip, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9,
		r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cs.selector, s.cs.base, s.cs.l, s.cs.db,
		s.ss.selector, s.ds.selector, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.gdt.base, s.gdt.limit,
		s.idt.base, s.idt.limit);
}
