// SPDX-License-Identifier: MIT
/*
 * Machine state at the multiboot entry (Multiboot 0.6.96 s3.2): EAX magic,
 * EBX -> info with mem/cmdline/mmap (and the loader name "vmkit"), protected
 * mode without paging, IF clear; then what the stub built: long mode, a
 * 16-byte aligned stack, exceptions reported. With hv=kvm on the command line
 * the CPUID hypervisor leaves must say KVM.
 */
#include "lib.h"

const char *test_name = "boot";

static unsigned int depth(unsigned int n)
{
	volatile uint8_t buf[256];

	buf[0] = (uint8_t)n;
	return n ? depth(n - 1) + buf[0] - (uint8_t)n + 1 : 0;
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const struct mb_info *m = mbi();
	uint64_t aligned __attribute__((aligned(16))) = 0;
	uint32_t a, b, c, d, sig[3];
	uint64_t cr0, cr4;
	char vendor[13];

	printf_("magic 0x%x mbi 0x%x flags 0x%x eflags 0x%x cr0 0x%x loader \"%s\"\n", magic, mbi_addr, m->flags,
		boot_eflags, boot_cr0, mb_loader());
	CHECK(magic == 0x2badb002);
	CHECK(mbi_addr != 0 && mbi_addr < 0x100000 && (mbi_addr & 3) == 0);
	CHECK((m->flags & MB_INFO_MEM) && (m->flags & MB_INFO_CMDLINE) && (m->flags & MB_INFO_MMAP));
	CHECK(m->mem_lower == 639); /* RAM below the EBDA at 0x9fc00 */
	CHECK(m->mem_upper >= 1024);
	/* entry state: PE set, PG clear (s3.2), IF and VM clear */
	CHECK((boot_cr0 & 1) && !(boot_cr0 & 0x80000000u));
	CHECK(!(boot_eflags & (1u << 9)) && !(boot_eflags & (1u << 17)));
	if (!under_qemu()) {
		CHECK(m->flags & MB_INFO_LOADER);
		CHECK(!memcmp_(mb_loader(), "vmkit", 6));
	}

	/* long mode as the stub left it */
	CHECK(rdmsr(0xc0000080) & (1u << 10)); /* EFER.LMA */
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	CHECK((cr0 & 0x80000001u) == 0x80000001u && (cr4 & 0x20));
	/* the stack: SysV alignment holds, and a few KiB of it are usable */
	CHECK(((uintptr_t)&aligned & 15) == 0);
	CHECK(depth(24) == 24);

	/* CPUID: the hypervisor bit (leaf 1 ECX[31]) and leaf 0x40000000's vendor */
	cpuid(1, 0, &a, &b, &c, &d);
	cpuid(0x40000000, 0, &a, &sig[0], &sig[1], &sig[2]);
	memcpy_(vendor, sig, 12);
	vendor[12] = 0;
	for (int i = 0; i < 12; i++)
		if (vendor[i] && (vendor[i] < 32 || vendor[i] > 126))
			vendor[i] = '?';
	printf_("cpuid hypervisor bit %u, leaf 0x40000000 max 0x%x vendor \"%s\"\n", c >> 31, a, vendor);
	if (arg_has("hv=kvm")) {
		CHECK(c >> 31);
		CHECK(!memcmp_(sig, "KVMKVMKVM\0\0\0", 12));
		CHECK(a >= 0x40000001);
	}

	/* the IDT reports exceptions: a handled #UD would be a FAIL, so only check it is loaded */
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	CHECK(idtr.limit == 256 * 16 - 1 && idtr.base);
	pass();
}
