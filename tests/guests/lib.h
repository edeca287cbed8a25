/* SPDX-License-Identifier: MIT */
/*
 * The test guests' runtime (freestanding, x86_64 long mode, identity mapped):
 * port and MMIO access, COM1 output and input, a small printf, the PASS/FAIL
 * convention, multiboot info and command-line parsing, ACPI and MP table
 * lookup with checksum checks, the ACPI PM timer as a clock, interrupts
 * (IDT, 8259 PIC, LAPIC, IOAPIC) and the 8254 PIT.
 */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- port and MMIO access ---- */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint8_t mmio_rd8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint32_t mmio_rd32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t mmio_rd64(uint64_t a) { return *(volatile uint64_t *)a; }
static inline void mmio_wr8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_wr32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void mmio_wr64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

/* ---- state saved by start.S ---- */
extern uint32_t boot_magic, boot_mbi, boot_esp, boot_eflags, boot_cr0;
extern uint64_t pml4[512], pdpt[512], pd[4 * 512];
extern uint64_t gdt_desc[];

/* ---- COM1 and reporting ---- */
#define COM1 0x3f8
void putc_(char c);
void puts_(const char *s);
/* printf subset: %s %c %d %u %x, with l/ll for 64-bit, and a width for %x (zero padded). */
void printf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int getc_poll(unsigned long spins); /* -1 on timeout */

/*
 * Report and stop: "PASS <name>" / "FAIL <name>: <why>" on COM1, then the
 * debug-exit port 0xf4 gets 0x10 (exit status 33) or 0x11 (status 35).
 */
extern const char *test_name;
__attribute__((noreturn)) void pass(void);
__attribute__((noreturn)) void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond))                                                          \
			fail("%s (%s:%d)", #cond, __FILE__, __LINE__);                \
	} while (0)

/* ---- strings ---- */
size_t strlen_(const char *s);
int memcmp_(const void *a, const void *b, size_t n);
void memcpy_(void *d, const void *s, size_t n);
const char *strstr_(const char *h, const char *n);
uint8_t sum8(const void *p, size_t n);

/* ---- multiboot v1 information (Multiboot 0.6.96 s3.3) ---- */
struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));
struct mb_module {
	uint32_t start, end, string, reserved;
} __attribute__((packed));
struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)
#define MB_INFO_LOADER (1u << 9)

const struct mb_info *mbi(void);
const char *mb_cmdline(void);
const char *mb_loader(void); /* "" when absent */
/* Developing under QEMU (-kernel): its loader calls itself "qemu"; vmkit-only facts are skipped. */
bool under_qemu(void);

/* Value of key=... as a number (decimal, 0x hex, K/M/G suffix); def if absent. */
uint64_t arg_num(const char *key, uint64_t def);
/* Pointer to the value of key=... (up to the next space), or NULL. */
const char *arg_str(const char *key);
bool arg_has(const char *word);

/* ---- ACPI (ACPI 6.4 s5.2) ---- */
const uint8_t *acpi_rsdp(void);            /* checksummed RSDP in 0xe0000-0xfffff, or NULL */
const uint8_t *acpi_table(const char *sig); /* via the XSDT; fails the test on a bad checksum */
unsigned int madt_cpus(uint8_t *ids, unsigned int max); /* enabled LAPICs and their IDs */
int madt_irq_gsi(unsigned int isa_irq);    /* interrupt source override, else the IRQ itself */
const uint8_t *mp_table(void);             /* checksummed MP configuration table, or NULL */

/* ACPI PM timer (3.579545 MHz, at least 24 bits) from the FADT, as a clock. */
#define PMTMR_HZ 3579545ULL
uint64_t clock_ticks(void);                /* monotonic PM timer ticks; call at least every 4 s */
uint64_t clock_us(void);
void udelay(uint64_t us);

/* ---- page tables: identity map [base, base+len) above 4 GiB with 2 MiB pages ---- */
void map_identity(uint64_t base, uint64_t len);

/* ---- interrupts ---- */
struct frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};
void idt_load(void);
/* Run fn on interrupt vector v (32..254). EOI is sent by the runtime (PIC for 0x20-0x2f, else LAPIC). */
void isr_set(int vector, void (*fn)(void));
/* Count of interrupts that arrived on a vector with no handler (a test may treat them as failures). */
extern volatile unsigned int stray_irqs;

#define PIC_VECTOR 0x20 /* the 8259s are remapped to 0x20-0x2f by guest_init */
void pic_unmask(unsigned int irq);
void pic_mask_all(void);

#define LAPIC 0xfee00000ULL
#define LAPIC_ID 0x20
#define LAPIC_VER 0x30
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
static inline uint32_t lapic_rd(uint32_t r) { return mmio_rd32(LAPIC + r); }
static inline void lapic_wr(uint32_t r, uint32_t v) { mmio_wr32(LAPIC + r, v); }
void lapic_enable(void);
unsigned int lapic_id(void);

#define IOAPIC 0xfec00000ULL
uint32_t ioapic_rd(uint32_t reg);
void ioapic_wr(uint32_t reg, uint32_t v);
/* Route a GSI (IOAPIC pin) to vector on APIC 0: fixed, edge, active high. */
void ioapic_route(unsigned int pin, uint8_t vector);
void ioapic_mask(unsigned int pin);

/* 8254 channel 0, mode 2 (rate generator) at about hz. */
#define PIT_HZ 1193182U
void pit_start(unsigned int hz);
void pit_stop(void);

#endif
