// SPDX-License-Identifier: MIT
/* Runtime shared by the test guests (freestanding, long mode, identity mapped). */
#include "lib.h"

/* ---------------------------------------------------------------- COM1 */

void putc_(char c)
{
	if (c == '\n')
		putc_('\r');
	/* LSR.THRE (16550A datasheet): wait for room, but never forever */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void put_num(uint64_t v, unsigned int base, int width, bool neg)
{
	char b[24];
	int i = 0;

	do
		b[i++] = "0123456789abcdef"[v % base];
	while ((v /= base));
	while (i < width && i < 23)
		b[i++] = '0';
	if (neg)
		putc_('-');
	while (i)
		putc_(b[--i]);
}

static void vprintf_(const char *f, va_list ap)
{
	for (; *f; f++) {
		int width = 0, longs = 0;

		if (*f != '%') {
			putc_(*f);
			continue;
		}
		f++;
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		while (*f == 'l') {
			longs++;
			f++;
		}
		switch (*f) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			puts_(s ? s : "(null)");
			break;
		}
		case 'c':
			putc_((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			put_num(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, v < 0);
			break;
		}
		case 'u':
			put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 10, width, false);
			break;
		case 'x':
			put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 16, width, false);
			break;
		case '%':
			putc_('%');
			break;
		default:
			putc_('?');
			if (!*f)
				return;
		}
	}
}

void printf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf_(fmt, ap);
	va_end(ap);
}

int getc_poll(unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++)
		if (inb(COM1 + 5) & 1) /* LSR.DR */
			return inb(COM1);
	return -1;
}

static void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* IER: no interrupts */
	outb(COM1 + 3, 0x80); /* LCR.DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x07); /* FIFO on, both cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS; OUT2 (IRQ gate) off */
}

/* ---------------------------------------------------------- reporting */

__attribute__((noreturn)) static void stop(uint8_t code)
{
	outb(0xf4, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void pass(void)
{
	printf_("PASS %s\n", test_name);
	stop(0x10);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	printf_("FAIL %s: ", test_name);
	va_start(ap, fmt);
	vprintf_(fmt, ap);
	va_end(ap);
	putc_('\n');
	stop(0x11);
}

/* ------------------------------------------------------------ strings */

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

void memcpy_(void *d, const void *s, size_t n)
{
	uint8_t *x = d;
	const uint8_t *y = s;

	while (n--)
		*x++ = *y++;
}

const char *strstr_(const char *h, const char *n)
{
	size_t k = strlen_(n);

	for (; *h; h++)
		if (!memcmp_(h, n, k))
			return h;
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

/* ---------------------------------------------------------- multiboot */

const struct mb_info *mbi(void)
{
	return (const struct mb_info *)(uintptr_t)boot_mbi;
}

const char *mb_cmdline(void)
{
	return (mbi()->flags & MB_INFO_CMDLINE) ? (const char *)(uintptr_t)mbi()->cmdline : "";
}

const char *mb_loader(void)
{
	return (mbi()->flags & MB_INFO_LOADER) ? (const char *)(uintptr_t)mbi()->boot_loader_name : "";
}

bool under_qemu(void)
{
	const char *n = mb_loader();

	return strstr_(n, "qemu") || strstr_(n, "QEMU");
}

const char *arg_str(const char *key)
{
	const char *c = mb_cmdline();
	size_t k = strlen_(key);

	for (const char *p = c; *p; p++)
		if ((p == c || p[-1] == ' ') && !memcmp_(p, key, k) && p[k] == '=')
			return p + k + 1;
	return 0;
}

uint64_t arg_num(const char *key, uint64_t def)
{
	const char *p = arg_str(key);
	uint64_t v = 0;

	if (!p)
		return def;
	if (p[0] == '0' && p[1] == 'x') {
		for (p += 2;; p++) {
			if (*p >= '0' && *p <= '9')
				v = v * 16 + (uint64_t)(*p - '0');
			else if (*p >= 'a' && *p <= 'f')
				v = v * 16 + (uint64_t)(*p - 'a' + 10);
			else
				break;
		}
		return v;
	}
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (*p == 'K' || *p == 'k')
		v <<= 10;
	else if (*p == 'M' || *p == 'm')
		v <<= 20;
	else if (*p == 'G' || *p == 'g')
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

/* --------------------------------------------------------------- ACPI */

static uint32_t rd32(const uint8_t *p) { return *(const uint32_t *)p; }
static uint64_t rd64(const uint8_t *p) { return *(const uint64_t *)p; }

/* The BDA word at 0x40e holds the EBDA segment (the address is laundered: GCC warns on constant pointers). */
static uint64_t ebda_base(void)
{
	uintptr_t a = 0x40e;

	__asm__("" : "+r"(a));
	return (uint64_t)*(const volatile uint16_t *)a << 4;
}

static const uint8_t *scan(uint64_t from, uint64_t to, const char *sig, size_t siglen)
{
	for (uint64_t a = from; a + 16 <= to; a += 16)
		if (!memcmp_((const void *)(uintptr_t)a, sig, siglen))
			return (const uint8_t *)(uintptr_t)a;
	return 0;
}

/* ACPI 6.4 s5.2.5.1: the first KiB of the EBDA, then 0xe0000-0xfffff, 16-byte aligned. */
const uint8_t *acpi_rsdp(void)
{
	uint64_t ebda = ebda_base();
	uint64_t areas[2][2] = { { ebda, ebda + 1024 }, { 0xe0000, 0x100000 } };

	for (int i = 0; i < 2; i++) {
		uint64_t a = areas[i][0];

		if (!a)
			continue;
		while (a < areas[i][1]) {
			const uint8_t *p = scan(a, areas[i][1], "RSD PTR ", 8);

			if (!p)
				break;
			if (sum8(p, 20) == 0 && (p[15] < 2 || (rd32(p + 20) >= 36 && sum8(p, rd32(p + 20)) == 0)))
				return p;
			a = (uint64_t)(uintptr_t)p + 16;
		}
	}
	return 0;
}

static const uint8_t *table_at(uint64_t addr, const char *sig)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;

	if (!addr || addr >= 0x100000000ULL)
		return 0;
	if (memcmp_(t, sig, 4))
		return 0;
	if (rd32(t + 4) < 36 || rd32(t + 4) > (1u << 20))
		fail("ACPI %s at 0x%lx: bad length %u", sig, addr, rd32(t + 4));
	if (sum8(t, rd32(t + 4)) != 0)
		fail("ACPI %s at 0x%lx: bad checksum", sig, addr);
	return t;
}

const uint8_t *acpi_table(const char *sig)
{
	const uint8_t *rsdp = acpi_rsdp(), *root;
	bool x;

	if (!rsdp)
		return 0;
	if (!memcmp_(sig, "DSDT", 4)) {
		const uint8_t *fadt = acpi_table("FACP");

		if (!fadt)
			return 0;
		if (rd32(fadt + 4) >= 148 && rd64(fadt + 140))
			return table_at(rd64(fadt + 140), "DSDT");
		return table_at(rd32(fadt + 40), "DSDT");
	}
	x = rsdp[15] >= 2 && rd64(rsdp + 24);
	root = x ? table_at(rd64(rsdp + 24), "XSDT") : table_at(rd32(rsdp + 16), "RSDT");
	if (!root)
		fail("RSDP points to no valid %s", x ? "XSDT" : "RSDT");
	for (uint32_t off = 36; off + (x ? 8 : 4) <= rd32(root + 4); off += x ? 8 : 4) {
		const uint8_t *t = table_at(x ? rd64(root + off) : rd32(root + off), sig);

		if (t)
			return t;
	}
	return 0;
}

/* ACPI 6.4 s5.2.12: processor local APIC (type 0) and x2APIC (type 9) structures. */
unsigned int madt_cpus(uint8_t *ids, unsigned int max)
{
	const uint8_t *m = acpi_table("APIC");
	unsigned int n = 0;

	if (!m)
		fail("no MADT");
	for (uint32_t off = 44; off + 2 <= rd32(m + 4); off += m[off + 1]) {
		if (m[off + 1] < 2 || off + m[off + 1] > rd32(m + 4))
			fail("MADT entry at %u: bad length %u", off, m[off + 1]);
		if (m[off] == 0 && (m[off + 4] & 1)) {
			if (ids && n < max)
				ids[n] = m[off + 3];
			n++;
		} else if (m[off] == 9 && (m[off + 8] & 1)) {
			if (ids && n < max)
				ids[n] = (uint8_t)rd32(m + off + 4);
			n++;
		}
	}
	return n;
}

int madt_irq_gsi(unsigned int isa_irq)
{
	const uint8_t *m = acpi_table("APIC");

	if (!m)
		return (int)isa_irq;
	for (uint32_t off = 44; off + 2 <= rd32(m + 4) && m[off + 1] >= 2; off += m[off + 1])
		if (m[off] == 2 && m[off + 2] == 0 && m[off + 3] == isa_irq)
			return (int)rd32(m + off + 4);
	return (int)isa_irq;
}

/* MP spec 1.4 s4: floating pointer in the EBDA's first KiB, the last KiB of base memory, or 0xf0000-0xfffff. */
const uint8_t *mp_table(void)
{
	uint64_t ebda = ebda_base();
	uint64_t areas[3][2] = { { ebda, ebda + 1024 }, { 0x9fc00, 0xa0000 }, { 0xf0000, 0x100000 } };

	for (int i = 0; i < 3; i++) {
		uint64_t a = areas[i][0];

		while (a && a < areas[i][1]) {
			const uint8_t *p = scan(a, areas[i][1], "_MP_", 4);

			if (!p)
				break;
			if (p[8] == 1 && sum8(p, 16) == 0) {
				const uint8_t *c = (const uint8_t *)(uintptr_t)rd32(p + 4);
				uint16_t len;

				if (!c || memcmp_(c, "PCMP", 4))
					fail("MP floating pointer without a PCMP table");
				len = *(const uint16_t *)(c + 4);
				if (len < 44 || sum8(c, len) != 0)
					fail("MP configuration table: bad length or checksum");
				return c;
			}
			a = (uint64_t)(uintptr_t)p + 16;
		}
	}
	return 0;
}

/* ---------------------------------------------------- ACPI PM timer clock */

static uint16_t pmtmr_port;
static uint32_t pmtmr_mask, pmtmr_last;
static uint64_t pmtmr_acc;

uint64_t clock_ticks(void)
{
	uint32_t v;

	if (!pmtmr_port) {
		const uint8_t *f = acpi_table("FACP");

		if (!f || !rd32(f + 76))
			fail("no ACPI PM timer in the FADT");
		pmtmr_port = (uint16_t)rd32(f + 76);
		/* FADT flags bit 8 TMR_VAL_EXT: 32-bit counter, else 24 (ACPI 6.4 s4.8.3.3) */
		pmtmr_mask = (rd32(f + 112) & (1u << 8)) ? 0xffffffffu : 0xffffffu;
		pmtmr_last = inl(pmtmr_port) & pmtmr_mask;
	}
	v = inl(pmtmr_port) & pmtmr_mask;
	pmtmr_acc += (v - pmtmr_last) & pmtmr_mask;
	pmtmr_last = v;
	return pmtmr_acc;
}

uint64_t clock_us(void)
{
	return clock_ticks() * 1000000ULL / PMTMR_HZ;
}

void udelay(uint64_t us)
{
	uint64_t end = clock_ticks() + us * PMTMR_HZ / 1000000ULL + 1;

	while (clock_ticks() < end)
		cpu_relax();
}

/* -------------------------------------------------------- page tables */

static uint64_t extra_pd[4][512] __attribute__((aligned(4096)));
static unsigned int extra_used;

void map_identity(uint64_t base, uint64_t len)
{
	for (uint64_t a = base & ~0x1fffffULL; a < base + len; a += 0x200000) {
		uint64_t i2 = a >> 30;
		uint64_t *dir;

		if (a >> 39)
			fail("map_identity: 0x%lx is beyond 512 GiB", a);
		if (i2 < 4)
			continue; /* start.S mapped 0-4 GiB */
		if (!(pdpt[i2] & 1)) {
			if (extra_used == 4)
				fail("map_identity: out of page directories at 0x%lx", a);
			dir = extra_pd[extra_used++];
			for (int i = 0; i < 512; i++)
				dir[i] = 0;
			pdpt[i2] = (uint64_t)(uintptr_t)dir | 3;
		}
		dir = (uint64_t *)(uintptr_t)(pdpt[i2] & ~0xfffULL);
		dir[(a >> 21) & 511] = a | 0x83;
	}
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

/* --------------------------------------------------------- interrupts */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static void (*handlers[256])(void);
volatile unsigned int stray_irqs;
extern const uint64_t isr_table[256];

void isr_dispatch(struct frame *f)
{
	uint64_t v = f->vector, cr2;

	if (v < 32) {
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		printf_("EXCEPTION vector %lu error 0x%lx rip 0x%lx rsp 0x%lx cr2 0x%lx\n", v, f->error, f->rip,
			f->rsp, cr2);
		fail("CPU exception %lu at rip 0x%lx", v, f->rip);
	}
	if (v == 0xff)
		return; /* LAPIC spurious vector: no EOI (SDM vol. 3A s10.9) */
	if (handlers[v])
		handlers[v]();
	else
		stray_irqs++;
	if (v >= PIC_VECTOR && v < PIC_VECTOR + 16) {
		if (v >= PIC_VECTOR + 8)
			outb(0xa0, 0x20);
		outb(0x20, 0x20); /* non-specific EOI */
	} else {
		lapic_wr(LAPIC_EOI, 0);
	}
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	__asm__ volatile("lidt %0" ::"m"(d));
}

static void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = isr_table[v];

		idt[v] = (struct idt_gate){ (uint16_t)a, 0x08, 0, 0x8e, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
	}
	idt_load();
}

void isr_set(int vector, void (*fn)(void))
{
	handlers[vector & 255] = fn;
}

/* 8259A: ICW1-4 put the master at 0x20-0x27 and the slave at 0x28-0x2f, all masked. */
static void pic_init(void)
{
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, PIC_VECTOR);
	outb(0xa1, PIC_VECTOR + 8);
	outb(0x21, 0x04); /* slave on IRQ2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01); /* 8086 mode */
	outb(0xa1, 0x01);
	pic_mask_all();
}

void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void pic_unmask(unsigned int irq)
{
	if (irq >= 8) {
		outb(0xa1, inb(0xa1) & (uint8_t)~(1u << (irq - 8)));
		irq = 2;
	}
	outb(0x21, inb(0x21) & (uint8_t)~(1u << irq));
}

void lapic_enable(void)
{
	lapic_wr(LAPIC_SVR, 0x1ff); /* APIC software enable, spurious vector 0xff */
	lapic_wr(LAPIC_TPR, 0);
}

unsigned int lapic_id(void)
{
	return lapic_rd(LAPIC_ID) >> 24;
}

uint32_t ioapic_rd(uint32_t reg)
{
	mmio_wr32(IOAPIC, reg);
	return mmio_rd32(IOAPIC + 0x10);
}

void ioapic_wr(uint32_t reg, uint32_t v)
{
	mmio_wr32(IOAPIC, reg);
	mmio_wr32(IOAPIC + 0x10, v);
}

void ioapic_route(unsigned int pin, uint8_t vector)
{
	ioapic_wr(0x10 + 2 * pin + 1, 0); /* destination: APIC ID 0 (physical) */
	ioapic_wr(0x10 + 2 * pin, vector);  /* fixed, edge, active high, unmasked */
}

void ioapic_mask(unsigned int pin)
{
	ioapic_wr(0x10 + 2 * pin, 1u << 16);
}

void pit_start(unsigned int hz)
{
	uint32_t div = PIT_HZ / hz;

	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	outb(0x40, (uint8_t)div);
	outb(0x40, (uint8_t)(div >> 8));
}

void pit_stop(void)
{
	/* mode 0 with no count written: the counter waits for a count (8254 datasheet, mode 0) */
	outb(0x43, 0x30);
}

/* Called by start.S in long mode, before guest_main. */
void guest_init(void)
{
	serial_init();
	pic_init();
	idt_init();
}
