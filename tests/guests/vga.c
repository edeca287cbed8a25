// SPDX-License-Identifier: MIT
/*
 * The standard VGA device from inside: find 1234:1111 on PCI bus 0, check the
 * Bochs VBE DISPI registers through ports 0x1ce/0x1cf and through BAR2's MMIO
 * window (0x500), then either
 *   - (default) set 640x480x32 through the DISPI ports and paint a known
 *     pattern into the linear framebuffer at BAR0: four quadrants red,
 *     green, blue, white and a yellow 16x16 square at (100,100); or
 *   - (cmdline "anim", for bench/vnc-fps) keep flipping between two pages of
 *     a 640x960 virtual screen (Y_OFFSET), each frame different, printing
 *     "F <n>" per frame, never exiting; or
 *   - (cmdline "text") write text to 0xb8000 in the power-on 80x25 mode:
 *     "Hello, VGA!" at row 0 (attr 0x1f), "vmkit" at row 10 col 30
 *     (attr 0x4e) and the cursor at row 2 col 5;
 * then enable the PS/2 mouse, print READY and report every byte the keyboard
 * controller delivers ("KEY xx", set 1 after the controller's translation;
 * "AUX xx" from the mouse) until Escape (0x01); R (0x13) switches to
 * 800x600x16 and paints it.
 */
#include "lib.h"

const char *test_name = "vga";

static uint32_t cfg_addr(unsigned int dev, unsigned int reg)
{
	return 0x80000000U | (dev << 11) | (reg & 0xfc);
}

static uint32_t cfg_rd(unsigned int dev, unsigned int reg)
{
	outl(0xcf8, cfg_addr(dev, reg));
	return inl(0xcfc);
}

static void cfg_wr(unsigned int dev, unsigned int reg, uint32_t v)
{
	outl(0xcf8, cfg_addr(dev, reg));
	outl(0xcfc, v);
}

static uint16_t dispi_rd(uint16_t idx)
{
	outw(0x1ce, idx);
	return inw(0x1cf);
}

static void dispi_wr(uint16_t idx, uint16_t v)
{
	outw(0x1ce, idx);
	outw(0x1cf, v);
}

static void fill(uint32_t *fb, unsigned int x0, unsigned int y0, unsigned int w, unsigned int h, uint32_t c)
{
	for (unsigned int y = y0; y < y0 + h; y++) {
		uint32_t *p = fb + y * 640 + x0;
		unsigned long n = w;
		__asm__ volatile("rep stosl" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	}
}

/* Key R: a new mode, 800x600x16 (RGB 565): top half cyan, bottom half magenta. */
static void mode_800x600x16(uint16_t *p)
{
	dispi_wr(4, 0);
	dispi_wr(1, 800);
	dispi_wr(2, 600);
	dispi_wr(3, 16);
	dispi_wr(4, 0x41);
	for (unsigned int i = 0; i < 800 * 600; i++)
		p[i] = i < 800 * 300 ? 0x07ff : 0xf81f;
	puts_("MODE 800x600x16\n");
}

static void text(unsigned int row, unsigned int col, const char *s, uint8_t attr)
{
	volatile uint16_t *vram = (volatile uint16_t *)0xb8000;

	for (; *s; s++, col++)
		vram[row * 80 + col] = (uint16_t)(attr << 8 | (uint8_t)*s);
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	unsigned int dev = 32;
	uint64_t fb, mmio;

	for (unsigned int d = 0; d < 32; d++)
		if (cfg_rd(d, 0) == 0x11111234) {
			dev = d;
			break;
		}
	if (dev == 32)
		fail("no 1234:1111 VGA device on PCI bus 0");
	CHECK((cfg_rd(dev, 8) >> 8) == 0x030000); /* display, VGA compatible */
	fb = cfg_rd(dev, 0x10);
	CHECK(fb & 0x8); /* prefetchable */
	fb &= ~0xfULL;
	mmio = cfg_rd(dev, 0x18) & ~0xfULL;
	if (!fb || !mmio) { /* nothing assigned: place them ourselves */
		fb = 0xc0000000ULL;
		mmio = 0xc1000000ULL;
		cfg_wr(dev, 0x10, (uint32_t)fb);
		cfg_wr(dev, 0x18, (uint32_t)mmio);
	}
	cfg_wr(dev, 0x04, cfg_rd(dev, 0x04) | 0x2); /* memory decoding */
	/* BAR0 is 16 MiB: sizing keeps the low 24 bits zero */
	cfg_wr(dev, 0x10, 0xffffffff);
	CHECK((cfg_rd(dev, 0x10) & ~0xfU) == 0xff000000U);
	cfg_wr(dev, 0x10, (uint32_t)fb);
	printf_("vga at 00:%x.0 fb 0x%lx mmio 0x%lx\n", dev, fb, mmio);

	CHECK(dispi_rd(0) == 0xb0c5);
	CHECK(dispi_rd(0xa) == 256); /* 16 MiB in 64 KiB units */
	CHECK(*(volatile uint16_t *)(mmio + 0x500) == 0xb0c5);
	CHECK(*(volatile uint32_t *)(mmio + 0x600) >= 8); /* QEMU extended registers present */

	if (arg_has("text")) {
		/* The power-on state is BIOS mode 3: colour text, 80 columns, buffer at 0xb8000. */
		CHECK(inb(0x3cc) & 1);
		outb(0x3d4, 0x01);
		CHECK(inb(0x3d5) == 79);
		for (unsigned int i = 0; i < 80 * 25; i++)
			((volatile uint16_t *)0xb8000)[i] = 0x0720;
		text(0, 0, "Hello, VGA!", 0x1f);
		text(10, 30, "vmkit", 0x4e);
		outb(0x3d4, 0x0e); /* cursor location high, low */
		outb(0x3d5, (2 * 80 + 5) >> 8);
		outb(0x3d4, 0x0f);
		outb(0x3d5, (2 * 80 + 5) & 0xff);
		CHECK(((volatile uint16_t *)0xb8000)[1] == 0x1f65); /* 'e' reads back */
	} else {
		uint32_t *p = (uint32_t *)fb;

		dispi_wr(4, 0);
		dispi_wr(1, 640);
		dispi_wr(2, 480);
		dispi_wr(3, 32);
		dispi_wr(4, 0x41); /* enabled, linear framebuffer */
		CHECK(dispi_rd(1) == 640 && dispi_rd(2) == 480 && dispi_rd(3) == 32);
		CHECK(dispi_rd(6) == 640); /* virtual width follows */
		/* the same registers through the MMIO BAR */
		CHECK(*(volatile uint16_t *)(mmio + 0x500 + 2 * 1) == 640);
		fill(p, 0, 0, 320, 240, 0xff0000);
		fill(p, 320, 0, 320, 240, 0x00ff00);
		fill(p, 0, 240, 320, 240, 0x0000ff);
		fill(p, 320, 240, 320, 240, 0xffffff);
		fill(p, 100, 100, 16, 16, 0xffff00);
		CHECK(p[0] == 0xff0000 && p[479 * 640 + 639] == 0xffffff);
		if (arg_has("anim")) {
			puts_("READY\n");
			/*
			 * Double-buffered: draw the next frame below the visible one
			 * (the virtual screen is taller), then pan to it with Y_OFFSET:
			 * every frame is one whole-screen change. Horizontal bands that
			 * move and change colour every frame.
			 */
			CHECK(dispi_rd(7) >= 960);
			for (uint32_t n = 0;; n++) {
				unsigned int page = (n & 1) ? 480 : 0;
				for (unsigned int y = 0; y < 480; y += 16)
					fill(p, 0, page + y, 640, 16, ((y + n * 16) * 0x010307u) ^ (n * 0x0f0f0fu));
				dispi_wr(9, (uint16_t)page);
				printf_("F %u\n", n);
			}
		}
	}
	/* The PS/2 mouse: enable the aux port (0xa8) and stream reporting (0xd4, 0xf4). */
	outb(0x64, 0xa8);
	outb(0x64, 0xd4);
	outb(0x60, 0xf4);
	puts_("READY\n");
	/*
	 * Keys and mouse packets from VNC: the i8042 output buffer (status bit 0;
	 * bit 5 says the byte is from the mouse), polled.
	 */
	for (;;) {
		uint8_t st = inb(0x64);

		if (st & 1) {
			uint8_t b = inb(0x60);
			printf_("%s %2x\n", (st & 0x20) ? "AUX" : "KEY", b);
			if (b == 0x01 && !(st & 0x20))
				pass();
			if (b == 0x13 && !(st & 0x20))
				mode_800x600x16((uint16_t *)fb);
			if (b == 0x3a && !(st & 0x20)) { /* Caps Lock: its LED on (0xed), and a pixel to send */
				outb(0x60, 0xed);
				outb(0x60, 0x04);
				((volatile uint32_t *)fb)[0] ^= 0x000001;
				puts_("CAPS LED\n");
			}
		} else {
			cpu_relax();
		}
	}
}
