// SPDX-License-Identifier: MIT
/* Runtime shared by the test guests (freestanding, long mode). */
#include "lib.h"

#define COM1 0x3f8

void putc_(char c)
{
	if (c == '\n')
		putc_('\r');
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

void putu(uint64_t v)
{
	char b[24];
	int i = 0;
	do
		b[i++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (i)
		putc_(b[--i]);
}

void putx(uint64_t v)
{
	puts_("0x");
	for (int s = 60; s >= 0; s -= 4)
		putc_("0123456789abcdef"[(v >> s) & 15]);
}

int getc_poll(unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++)
		if (inb(COM1 + 5) & 1)
			return inb(COM1);
	return -1;
}

void pass(const char *name)
{
	puts_("PASS ");
	puts_(name);
	putc_('\n');
	outb(0xf4, 0x10);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void fail(const char *name, const char *why)
{
	puts_("FAIL ");
	puts_(name);
	puts_(": ");
	puts_(why);
	putc_('\n');
	outb(0xf4, 0x11);
	for (;;)
		__asm__ volatile("cli; hlt");
}

size_t strlen_(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int memcmp_(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

uint8_t sum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	while (n--)
		s += *b++;
	return s;
}

const char *mb_cmdline(void)
{
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)boot_mbi;
	return (mbi[0] & (1 << 2)) ? (const char *)(uintptr_t)mbi[4] : "";
}

static const char *find_arg(const char *key)
{
	const char *c = mb_cmdline();
	size_t k = strlen_(key);

	for (const char *p = c; *p; p++) {
		if ((p == c || p[-1] == ' ') && !memcmp_(p, key, k) && p[k] == '=')
			return p + k + 1;
	}
	return 0;
}

uint64_t arg_num(const char *key, uint64_t def)
{
	const char *p = find_arg(key);
	uint64_t v = 0;

	if (!p)
		return def;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (*p == 'K')
		v <<= 10;
	else if (*p == 'M')
		v <<= 20;
	else if (*p == 'G')
		v <<= 30;
	return v;
}

bool arg_has(const char *word)
{
	const char *c = mb_cmdline();
	size_t k = strlen_(word);

	for (const char *p = c; *p; p++)
		if ((p == c || p[-1] == ' ') && !memcmp_(p, word, k) && (p[k] == ' ' || p[k] == 0))
			return true;
	return false;
}

/* ---- interrupts ---- */
struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static void (*handlers[256])(void);

extern void isr_48(void), isr_49(void), isr_50(void);
extern void exc_0(void), exc_6(void), exc_8(void), exc_13(void), exc_14(void);

static void set_gate(int v, void (*fn)(void))
{
	uint64_t a = (uint64_t)fn;
	idt[v] = (struct idt_gate){ (uint16_t)a, 0x08, 0, 0x8e, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
}

void exception(uint64_t vec, uint64_t top)
{
	puts_("exception ");
	putu(vec);
	puts_(" stack top ");
	putx(top);
	putc_('\n');
	fail("exception", "unexpected CPU exception");
}

void isr_dispatch(uint64_t vec)
{
	if (handlers[vec])
		handlers[vec]();
	lapic_eoi();
}

void idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)idt };

	set_gate(0, exc_0);
	set_gate(6, exc_6);
	set_gate(8, exc_8);
	set_gate(13, exc_13);
	set_gate(14, exc_14);
	set_gate(48, isr_48);
	set_gate(49, isr_49);
	set_gate(50, isr_50);
	__asm__ volatile("lidt %0" ::"m"(d));
}

void isr_set(int vector, void (*fn)(void))
{
	handlers[vector] = fn;
}

void lapic_enable(void)
{
	mmio_wr32(LAPIC + 0xf0, 0x1ff); /* spurious vector 0xff, APIC enabled */
	mmio_wr32(LAPIC + 0x80, 0);     /* task priority: accept all */
}

void lapic_eoi(void)
{
	mmio_wr32(LAPIC + 0xb0, 0);
}

void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void ioapic_route(unsigned int pin, uint8_t vector)
{
	mmio_wr32(IOAPIC, 0x10 + 2 * pin + 1);
	mmio_wr32(IOAPIC + 0x10, 0); /* destination APIC 0 */
	mmio_wr32(IOAPIC, 0x10 + 2 * pin);
	mmio_wr32(IOAPIC + 0x10, vector); /* fixed, edge, active high, unmasked */
}
