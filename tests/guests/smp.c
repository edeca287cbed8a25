// SPDX-License-Identifier: MIT
/*
 * SMP bring-up as an OS does it: count the processors in the MADT and in the
 * MP table (both must say cpus=), then start every AP with INIT-SIPI-SIPI
 * (Intel SDM vol. 3A s8.4.4.1) into a real-mode trampoline copied to 0x30000
 * (vmkit leaves 0x30000 free; its boot page tables at 0x9000 are not used
 * here). Each AP goes real -> protected -> long mode on the BSP's page tables,
 * then ap_main() records its LAPIC ID in a bitmask and counts itself in.
 */
#include "lib.h"

const char *test_name = "smp";

#define TRAMP 0x30000
#define MAX_CPUS 16

static volatile uint32_t ap_count, ap_bad;
static volatile uint64_t cpu_mask;
volatile uint32_t ap_slot;
uint8_t ap_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));

extern const uint8_t tramp_start[], tramp_end[];
__asm__(".text\n"
	".code16\n"
	"tramp_start:\n"
	"	cli\n"
	"	movw %cs, %ax\n"
	"	movw %ax, %ds\n"
	"	lgdtl tr_gdtr - tramp_start\n"
	"	movl %cr0, %eax\n"
	"	orl $1, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x18, $(0x30000 + tr_pm - tramp_start)\n"
	".code32\n"
	"tr_pm:\n"
	"	movw $0x10, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %ss\n"
	"	movl %cr4, %eax\n"
	"	orl $0x20, %eax\n" /* PAE */
	"	movl %eax, %cr4\n"
	"	movl $pml4, %eax\n"
	"	movl %eax, %cr3\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	orl $0x100, %eax\n" /* EFER.LME */
	"	wrmsr\n"
	"	movl %cr0, %eax\n"
	"	orl $0x80000000, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $(0x30000 + tr_lm - tramp_start)\n"
	".code64\n"
	"tr_lm:\n"
	"	movw $0x10, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %ss\n"
	"	movl $1, %eax\n"
	"	lock xaddl %eax, ap_slot\n"
	"	cmpl $" "16" ", %eax\n"
	"	jae 2f\n"
	"	incl %eax\n"
	"	shll $12, %eax\n"
	"	leaq ap_stacks(%rax), %rsp\n"
	"	movabsq $ap_main, %rax\n"
	"	call *%rax\n"
	"2:	cli\n"
	"	hlt\n"
	"	jmp 2b\n"
	"	.balign 8\n"
	"tr_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00af9a000000ffff\n" /* 0x08 64-bit code */
	"	.quad 0x00cf92000000ffff\n" /* 0x10 data */
	"	.quad 0x00cf9a000000ffff\n" /* 0x18 32-bit code */
	"tr_gdtr:\n"
	"	.word 31\n"
	"	.long 0x30000 + tr_gdt - tramp_start\n"
	"tramp_end:\n");

void ap_main(void)
{
	uint32_t a, b, c, d;
	unsigned int id;

	idt_load();
	id = lapic_id();
	cpuid(1, 0, &a, &b, &c, &d);
	if ((b >> 24) != id || !(rdmsr(0xc0000080) & (1u << 10)) || id >= 64)
		__atomic_fetch_add(&ap_bad, 1, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_or(&cpu_mask, 1ULL << id, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&ap_count, 1, __ATOMIC_SEQ_CST);
}

static void icr(uint32_t apic, uint32_t low)
{
	uint64_t t0 = clock_us();

	lapic_wr(LAPIC_ICR_HI, apic << 24);
	lapic_wr(LAPIC_ICR_LO, low);
	while (lapic_rd(LAPIC_ICR_LO) & (1u << 12)) /* delivery status: send pending */
		if (clock_us() - t0 > 100000)
			fail("ICR 0x%x to APIC %u stays pending", low, apic);
}

static unsigned int mp_cpus(const uint8_t *mp)
{
	const uint8_t *p = mp + 44, *end = mp + *(const uint16_t *)(mp + 4);
	unsigned int n = 0;

	/* MP spec 1.4 s4.3: processor entries are 20 bytes, the others 8 */
	for (unsigned int i = 0; i < *(const uint16_t *)(mp + 34) && p < end; i++) {
		if (p[0] == 0) {
			n += p[3] & 1;
			p += 20;
		} else if (p[0] <= 4) {
			p += 8;
		} else {
			fail("MP table entry type %u", p[0]);
		}
	}
	return n;
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	unsigned int cpus = (unsigned int)arg_num("cpus", 1), n, bsp;
	const uint8_t *mp = mp_table();
	uint8_t ids[MAX_CPUS];
	uint64_t want = 0, t0;

	CHECK(cpus >= 1 && cpus <= MAX_CPUS);
	n = madt_cpus(ids, MAX_CPUS);
	printf_("MADT: %u CPUs; MP table: %d CPUs\n", n, mp ? (int)mp_cpus(mp) : -1);
	CHECK(n == cpus);
	if (!under_qemu()) { /* SeaBIOS's MP table may list fewer CPUs than QEMU runs */
		CHECK(mp);
		CHECK(mp_cpus(mp) == cpus);
	}
	lapic_enable();
	bsp = lapic_id();
	CHECK(bsp == 0);
	CHECK(tramp_end - tramp_start < 4096);
	memcpy_((void *)TRAMP, tramp_start, (size_t)(tramp_end - tramp_start));
	cpu_mask = 1ULL << bsp;
	for (unsigned int i = 0; i < n; i++) {
		CHECK(ids[i] < 64);
		want |= 1ULL << ids[i];
		if (ids[i] == bsp)
			continue;
		icr(ids[i], 0x4500); /* INIT, level assert */
		udelay(10000);
		icr(ids[i], 0x4600 | (TRAMP >> 12)); /* STARTUP, vector = page number */
		udelay(200);
		icr(ids[i], 0x4600 | (TRAMP >> 12)); /* the second SIPI, as the SDM recommends */
	}
	t0 = clock_us();
	while (ap_count < cpus - 1 && clock_us() - t0 < 10000000)
		cpu_relax();
	udelay(10000); /* let any late, unexpected APs show up */
	printf_("%u APs checked in after %lu us, mask 0x%lx (want 0x%lx), %u bad\n", ap_count, clock_us() - t0,
		cpu_mask, want, ap_bad);
	CHECK(ap_bad == 0);
	CHECK(ap_count == cpus - 1);
	CHECK(cpu_mask == want);
	CHECK(want == (1ULL << cpus) - 1); /* IDs 0..n-1 */
	pass();
}
