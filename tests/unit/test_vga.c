// SPDX-License-Identifier: MIT
/*
 * The VGA device's register model driven through its bus handlers (no KVM):
 * Bochs VBE DISPI (ports and MMIO BAR), DAC, CRTC cursor, attribute
 * flip-flop, the legacy window and VBE banks; rendering of text mode (with a
 * synthetic PSF2 font) and DISPI graphics; change tracking; save/load. Plus
 * the ui pieces: PSF1/PSF2 parsing with Unicode tables, keysym -> set 2, PNG.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/util.h"
#include "vmkit/vga.h"

#define FONT_H 16

struct fx {
	struct ui_font font;
	struct vga *v;
	struct ui_surface s;
};

/* A PSF2 font, 256 glyphs 8x16, no Unicode table: glyph g row y is (g ^ y * 17). */
static size_t make_psf2(uint8_t *buf, bool unicode)
{
	size_t n = 32;

	memset(buf, 0, 32);
	put_le32(buf, 0x864ab572);
	put_le32(buf + 8, 32);
	put_le32(buf + 12, unicode ? 1 : 0);
	put_le32(buf + 16, 256);
	put_le32(buf + 20, FONT_H);
	put_le32(buf + 24, FONT_H);
	put_le32(buf + 28, 8);
	for (unsigned int g = 0; g < 256; g++)
		for (unsigned int y = 0; y < FONT_H; y++)
			buf[n++] = (uint8_t)(g ^ (y * 17));
	if (unicode) {
		/* glyph 0: U+263A (CP437 0x01, UTF-8 e2 98 ba); glyph 1: 'A' and a sequence; others: none */
		static const uint8_t t[] = { 0xe2, 0x98, 0xba, 0xff, 'A', 0xfe, 'B', 'C', 0xff };
		memcpy(buf + n, t, sizeof(t));
		n += sizeof(t);
		for (unsigned int g = 2; g < 256; g++)
			buf[n++] = 0xff;
	}
	return n;
}

static int setup(void **state)
{
	static struct fx f;
	static uint8_t buf[32 + 256 * FONT_H + 512];
	size_t n = make_psf2(buf, false);

	memset(&f, 0, sizeof(f));
	assert_int_equal(ui_font_parse(&f.font, buf, n), 0);
	f.v = vga_create(NULL, &f.font);
	assert_non_null(f.v);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vga_ops.destroy(f->v);
	ui_font_free(&f->font);
	ui_surface_free(&f->s);
	return 0;
}

/* Port helpers: the device is registered at 0x3b0 and 0x1ce. */
static uint8_t inb_(struct fx *f, unsigned int port)
{
	return io_rd8(vga_port_io, f->v, port - VGA_PORT_BASE);
}

static void outb_(struct fx *f, unsigned int port, uint8_t v)
{
	io_wr(vga_port_io, f->v, port - VGA_PORT_BASE, 1, v);
}

static uint16_t dispi_rd(struct fx *f, uint16_t idx)
{
	io_wr(vga_dispi_io, f->v, 0, 2, idx);
	return (uint16_t)io_rd(vga_dispi_io, f->v, 1, 2);
}

static void dispi_wr(struct fx *f, uint16_t idx, uint16_t v)
{
	io_wr(vga_dispi_io, f->v, 0, 2, idx);
	io_wr(vga_dispi_io, f->v, 1, 2, v);
}

static void test_pci_identity(void **state)
{
	struct fx *f = *state;
	struct pci_device *d = vga_pci(f->v);

	assert_int_equal(get_le16(d->cfg + PCI_VENDOR_ID), 0x1234);
	assert_int_equal(get_le16(d->cfg + PCI_DEVICE_ID), 0x1111);
	assert_int_equal(d->cfg[PCI_CLASS_PROG + 2], 0x03);
	assert_int_equal(d->cfg[PCI_CLASS_PROG + 1], 0x00);
	assert_int_equal(d->bars[0].size, VGA_VRAM_SIZE);
	assert_true(d->bars[0].flags & PCI_BAR_PREFETCH);
	assert_non_null(d->bars[0].map); /* RAM BAR */
	assert_int_equal(d->bars[2].size, 0x1000);
	assert_non_null(d->bars[2].io);
}

static void test_dispi_registers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID5);
	dispi_wr(f, VBE_DISPI_INDEX_ID, VBE_DISPI_ID0 + 2);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID0 + 2);
	dispi_wr(f, VBE_DISPI_INDEX_ID, 0x1234); /* not a DISPI version: ignored */
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID0 + 2);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 256);
	dispi_wr(f, VBE_DISPI_INDEX_VIDEO_MEMORY_64K, 1); /* read-only */
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 256);

	/* GETCAPS: XRES/YRES/BPP read as the maxima while it is set */
	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_XRES), VBE_DISPI_MAX_XRES);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_YRES), VBE_DISPI_MAX_YRES);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_BPP), 32);
	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, 0);

	dispi_wr(f, VBE_DISPI_INDEX_XRES, 800);
	dispi_wr(f, VBE_DISPI_INDEX_YRES, 600);
	dispi_wr(f, VBE_DISPI_INDEX_BPP, 16);
	/* bad values are ignored */
	dispi_wr(f, VBE_DISPI_INDEX_XRES, 801);  /* not a multiple of 8 */
	dispi_wr(f, VBE_DISPI_INDEX_XRES, 4096); /* above the maximum */
	dispi_wr(f, VBE_DISPI_INDEX_YRES, 0);
	dispi_wr(f, VBE_DISPI_INDEX_BPP, 12);
	dispi_wr(f, VBE_DISPI_INDEX_BANK, 256); /* 16 MiB / 64 KiB = 256 banks: 0..255 */
	dispi_wr(f, 0x7777, 1);                  /* unknown index */
	assert_int_equal(dispi_rd(f, 0x7777), 0);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_XRES), 800);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_YRES), 600);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_BPP), 16);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_BANK), 0);

	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_WIDTH), 800);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_HEIGHT), VGA_VRAM_SIZE / (800 * 2));
	dispi_wr(f, VBE_DISPI_INDEX_VIRT_WIDTH, 1024);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_WIDTH), 1024);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_HEIGHT), VGA_VRAM_SIZE / (1024 * 2));
	dispi_wr(f, VBE_DISPI_INDEX_VIRT_WIDTH, 640); /* narrower than the screen: ignored */
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_WIDTH), 1024);

	/* The same registers through BAR2 (0x500 + 2 * index), and the QEMU extended registers */
	assert_int_equal(io_rd(vga_mmio_io, f->v, 0x500 + 2 * VBE_DISPI_INDEX_XRES, 2), 800);
	io_wr(vga_mmio_io, f->v, 0x500 + 2 * VBE_DISPI_INDEX_Y_OFFSET, 2, 3);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_Y_OFFSET), 3);
	assert_int_equal(io_rd(vga_mmio_io, f->v, 0x600, 4), 8);
	assert_int_equal(io_rd(vga_mmio_io, f->v, 0x604, 4), 0x1e1e1e1e);
	/* odd, misaligned or unknown MMIO reads are harmless */
	assert_int_equal(io_rd(vga_mmio_io, f->v, 0x501, 2), 0xffff);
	assert_int_equal(io_rd(vga_mmio_io, f->v, 0xffc, 4), 0xffffffff);
	io_wr(vga_mmio_io, f->v, 0x7f8, 8, ~0ULL);
	/* VGA ports through BAR2 at 0x400 = port 0x3c0 */
	io_wr(vga_mmio_io, f->v, 0x400 + 0x08, 1, 0x10); /* 0x3c8 DAC write index */
	assert_int_equal(inb_(f, 0x3c8), 0x10);
}

static void test_dac(void **state)
{
	struct fx *f = *state;

	outb_(f, 0x3c8, 250);
	for (unsigned int i = 0; i < 6; i++)
		outb_(f, 0x3c9, (uint8_t)(10 + i)); /* entries 250 and 251 */
	assert_int_equal(inb_(f, 0x3c8), 252); /* auto-increment */
	outb_(f, 0x3c7, 250);
	assert_int_equal(inb_(f, 0x3c7) & 3, 3); /* DAC state: reading */
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(inb_(f, 0x3c9), 10 + i);
	/* the index wraps at 255 */
	outb_(f, 0x3c8, 255);
	for (unsigned int i = 0; i < 6; i++)
		outb_(f, 0x3c9, 0x3f);
	outb_(f, 0x3c7, 0);
	assert_int_equal(inb_(f, 0x3c9), 0x3f);
}

static void test_attribute_flipflop_and_status(void **state)
{
	struct fx *f = *state;
	uint8_t a, b;

	inb_(f, 0x3da); /* reset the flip-flop: next 0x3c0 write is an index */
	outb_(f, 0x3c0, 0x20 | 0x02);
	outb_(f, 0x3c0, 0x3b); /* data: palette entry 2 */
	outb_(f, 0x3c0, 0x20 | 0x02);
	assert_int_equal(io_rd8(vga_port_io, f->v, 0x3c1 - VGA_PORT_BASE), 0x3b);
	/* now the flip-flop expects data; a status read resets it to index */
	inb_(f, 0x3da);
	outb_(f, 0x3c0, 0x20 | 0x03);
	outb_(f, 0x3c0, 0x11);
	outb_(f, 0x3c0, 0x20 | 0x03);
	assert_int_equal(io_rd8(vga_port_io, f->v, 0x3c1 - VGA_PORT_BASE), 0x11);
	/* input status 1: retrace bits toggle on every read */
	a = inb_(f, 0x3da);
	b = inb_(f, 0x3da);
	assert_int_equal((a ^ b) & 0x09, 0x09);
	/* word writes are index + data (outw 0x3d4) */
	io_wr(vga_port_io, f->v, 0x3d4 - VGA_PORT_BASE, 2, 0x0e | (0x12 << 8));
	outb_(f, 0x3d4, 0x0e);
	assert_int_equal(inb_(f, 0x3d5), 0x12);
	/* CR11 bit 7 protects CR00-CR07 */
	outb_(f, 0x3d4, 0x11);
	outb_(f, 0x3d5, 0x8e);
	outb_(f, 0x3d4, 0x01);
	outb_(f, 0x3d5, 0x20);
	assert_int_equal(inb_(f, 0x3d5), 0x4f);
	/* misc output: write 0x3c2, read 0x3cc */
	outb_(f, 0x3c2, 0x63);
	assert_int_equal(inb_(f, 0x3cc), 0x63);
}

static void put_cell(struct fx *f, unsigned int row, unsigned int col, uint8_t ch, uint8_t attr)
{
	io_wr(vga_window_io, f->v, 0x18000 + 2 * (row * 80 + col), 2, ch | (uint16_t)attr << 8);
}

static uint32_t px(struct fx *f, unsigned int x, unsigned int y)
{
	return f->s.pixels[(size_t)y * f->s.width + x];
}

static void check_glyph(struct fx *f, unsigned int row, unsigned int col, uint8_t ch, uint32_t fg, uint32_t bg)
{
	for (unsigned int y = 0; y < FONT_H; y++)
		for (unsigned int x = 0; x < 8; x++) {
			uint8_t bits = (uint8_t)(ch ^ (y * 17));
			uint32_t want = (bits & (0x80 >> x)) ? fg : bg;
			if (px(f, col * 8 + x, row * FONT_H + y) != want)
				fail_msg("char 0x%02x at %u,%u pixel %u,%u: 0x%06x, expected 0x%06x", ch, row, col, x, y,
					 px(f, col * 8 + x, row * FONT_H + y), want);
		}
}

static void test_text_mode_render_and_cursor(void **state)
{
	struct fx *f = *state;

	put_cell(f, 0, 0, 'H', 0x1f);   /* white on blue */
	put_cell(f, 0, 1, 0xdb, 0x4e);  /* yellow on red */
	put_cell(f, 24, 79, 'z', 0x07); /* last cell */
	put_cell(f, 3, 3, 'c', 0xf0);   /* bit 7: blink (mode 3), background stays 7 = light grey */
	put_cell(f, 2, 5, 0, 0x07);     /* under the cursor: glyph 0 row pattern, grey on black */
	outb_(f, 0x3d4, 0x0e);
	outb_(f, 0x3d5, 0);
	outb_(f, 0x3d4, 0x0f);
	outb_(f, 0x3d5, 2 * 80 + 5);
	assert_int_equal(vga_render(f->v, &f->s, false), 1);
	assert_int_equal(f->s.width, 640);
	assert_int_equal(f->s.height, 400);
	check_glyph(f, 0, 0, 'H', 0xffffff, 0x0000aa);
	check_glyph(f, 0, 1, 0xdb, 0xffff55, 0xaa0000);
	check_glyph(f, 24, 79, 'z', 0xaaaaaa, 0x000000);
	check_glyph(f, 3, 3, 'c', 0x000000, 0xaaaaaa);
	/* cursor at row 2 col 5, scan lines 13-14 (CR0A/CR0B = 0x0d/0x0e): light grey over blank */
	for (unsigned int y = 0; y < FONT_H; y++) {
		bool on = (uint8_t)(y * 17) & (0x80 >> 4);
		assert_int_equal(px(f, 5 * 8 + 4, 2 * FONT_H + y), (on || y == 13 || y == 14) ? 0xaaaaaa : 0);
	}

	/* nothing changed: nothing to render */
	assert_int_equal(vga_render(f->v, &f->s, false), 0);
	/* forced renders always draw, and do not consume changes */
	assert_int_equal(vga_render(f->v, &f->s, true), 1);
	/* hide the cursor (CR0A bit 5) */
	outb_(f, 0x3d4, 0x0a);
	outb_(f, 0x3d5, 0x20);
	assert_int_equal(vga_render(f->v, &f->s, false), 1);
	check_glyph(f, 2, 5, 0, 0xaaaaaa, 0);
	/* a start address scrolls: row 1 becomes the top row */
	outb_(f, 0x3d4, 0x0c);
	outb_(f, 0x3d5, 0);
	outb_(f, 0x3d4, 0x0d);
	outb_(f, 0x3d5, 80);
	put_cell(f, 1, 0, 'Q', 0x02);
	assert_int_equal(vga_render(f->v, &f->s, false), 1);
	check_glyph(f, 0, 0, 'Q', 0x00aa00, 0);
	/* a start address past the buffer is contained */
	outb_(f, 0x3d4, 0x0c);
	outb_(f, 0x3d5, 0xff);
	outb_(f, 0x3d4, 0x0d);
	outb_(f, 0x3d5, 0xff);
	assert_true(vga_render(f->v, &f->s, true) >= 0);
	/* absurd geometry (CR01 = 255, char height 1) stays within the buffer */
	outb_(f, 0x3d4, 0x11);
	outb_(f, 0x3d5, 0);
	outb_(f, 0x3d4, 0x01);
	outb_(f, 0x3d5, 0xff);
	outb_(f, 0x3d4, 0x09);
	outb_(f, 0x3d5, 0x00);
	assert_true(vga_render(f->v, &f->s, true) >= 0);
	assert_true(f->s.width <= UI_MAX_WIDTH && f->s.height <= UI_MAX_HEIGHT);
}

static void test_dispi_graphics_render(void **state)
{
	struct fx *f = *state;
	uint8_t *vram = vga_vram(f->v);

	dispi_wr(f, VBE_DISPI_INDEX_XRES, 64);
	dispi_wr(f, VBE_DISPI_INDEX_YRES, 32);
	dispi_wr(f, VBE_DISPI_INDEX_BPP, 32);
	memset(vram, 0x77, 64 * 32 * 4);
	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
	assert_int_equal(vram[0], 0); /* cleared on enable */
	put_le32(vram + (5 * 64 + 7) * 4, 0x00123456);
	assert_int_equal(vga_render(f->v, &f->s, false), 1);
	assert_int_equal(f->s.width, 64);
	assert_int_equal(f->s.height, 32);
	assert_int_equal(px(f, 7, 5), 0x123456);
	assert_int_equal(px(f, 8, 5), 0);
	/* y offset pans */
	dispi_wr(f, VBE_DISPI_INDEX_Y_OFFSET, 5);
	vga_render(f->v, &f->s, false);
	assert_int_equal(px(f, 7, 0), 0x123456);
	/* a y offset past VRAM renders from the start (never reads outside) */
	dispi_wr(f, VBE_DISPI_INDEX_Y_OFFSET, 0xffff);
	dispi_wr(f, VBE_DISPI_INDEX_X_OFFSET, 0xffff);
	assert_true(vga_render(f->v, &f->s, false) >= 0);

	/* 16 bpp 565 and 8 bpp through the DAC (6-bit entries) */
	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, 0);
	dispi_wr(f, VBE_DISPI_INDEX_BPP, 16);
	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM);
	put_le16(vram, 0xf800); /* red */
	put_le16(vram + 2, 0x07e0); /* green */
	vga_render(f->v, &f->s, false);
	assert_int_equal(px(f, 0, 0), 0xff0000);
	assert_int_equal(px(f, 1, 0), 0x00ff00);
	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, 0);
	dispi_wr(f, VBE_DISPI_INDEX_BPP, 8);
	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
	outb_(f, 0x3c8, 9);
	outb_(f, 0x3c9, 0x3f);
	outb_(f, 0x3c9, 0x00);
	outb_(f, 0x3c9, 0x20);
	vram[3] = 9;
	vga_render(f->v, &f->s, false);
	assert_int_equal(px(f, 3, 0), 0xff0082);

	/* banked access: 0xa0000 shows VRAM bank BANK while the LFB is off */
	dispi_wr(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
	dispi_wr(f, VBE_DISPI_INDEX_BANK, 2);
	io_wr(vga_window_io, f->v, 0x10, 4, 0xcafef00d);
	assert_int_equal(get_le32(vram + 2 * 65536 + 0x10), 0xcafef00d);
	assert_int_equal(io_rd(vga_window_io, f->v, 0x10000, 4), 0xffffffff); /* beyond the 64 KiB bank */
}

static void test_window_bounds(void **state)
{
	struct fx *f = *state;

	io_wr(vga_window_io, f->v, VGA_WINDOW_LEN - 4, 4, 0x11223344);
	assert_int_equal(io_rd(vga_window_io, f->v, VGA_WINDOW_LEN - 4, 4), 0x11223344);
	/* a straddling or out-of-range access is refused, not overflowed */
	io_wr(vga_window_io, f->v, VGA_WINDOW_LEN - 2, 4, 0);
	assert_int_equal(io_rd(vga_window_io, f->v, VGA_WINDOW_LEN - 4, 4), 0x11223344);
	assert_int_equal(io_rd(vga_window_io, f->v, VGA_WINDOW_LEN + 100, 4), 0xffffffff);
	/* ports outside the decoded set read all ones */
	assert_int_equal(inb_(f, 0x3b0), 0xff);
}

static void test_save_load_and_reset(void **state)
{
	struct fx *f = *state;
	size_t cap = 256 * 1024;
	uint8_t *blob = malloc(cap), *bad;
	ssize_t n;

	dispi_wr(f, VBE_DISPI_INDEX_XRES, 1024);
	put_cell(f, 0, 0, 'S', 0x1f);
	n = vga_ops.save(f->v, blob, cap);
	assert_true(n > 0);
	assert_int_equal(vga_ops.save(f->v, blob, 16), -ENOSPC);
	vga_ops.reset(f->v);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_XRES), 640);
	assert_int_equal(io_rd(vga_window_io, f->v, 0x18000, 2), 0);
	assert_int_equal(vga_ops.load(f->v, blob, (size_t)n), 0);
	assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_XRES), 1024);
	assert_int_equal(io_rd(vga_window_io, f->v, 0x18000, 2), 0x1f53);
	/* malformed blobs are refused whole */
	assert_int_equal(vga_ops.load(f->v, blob, (size_t)n - 1), -EINVAL);
	bad = malloc((size_t)n);
	memcpy(bad, blob, (size_t)n);
	bad[0] ^= 1; /* magic */
	assert_int_equal(vga_ops.load(f->v, bad, (size_t)n), -EINVAL);
	free(bad);
	free(blob);
}

static void test_font_parsing(void **state)
{
	static uint8_t buf[32 + 256 * FONT_H + 512];
	struct ui_font font;
	size_t n = make_psf2(buf, true);
	uint8_t psf1[4 + 256 * 8 + 2 * 256 + 4];

	assert_int_equal(ui_font_parse(&font, buf, n), 0);
	assert_int_equal(font.width, 8);
	assert_int_equal(font.height, FONT_H);
	assert_int_equal(font.nr, 256);
	assert_int_equal(font.cp437[0x01], 0); /* U+263A -> glyph 0 */
	assert_int_equal(font.cp437['A'], 1);
	assert_int_equal(font.cp437['B'], 'B'); /* only in a sequence: not mapped, identity fallback */
	assert_ptr_equal(ui_font_glyph(&font, 'A'), font.glyphs + FONT_H);
	ui_font_free(&font);

	/* truncated or inconsistent fonts are refused */
	for (size_t len = 0; len < 32 + 256 * FONT_H; len += 97)
		assert_int_equal(ui_font_parse(&font, buf, len), -EINVAL);
	put_le32(buf + 20, 3); /* charsize != height * row bytes */
	assert_int_equal(ui_font_parse(&font, buf, n), -EINVAL);
	put_le32(buf + 20, FONT_H);
	put_le32(buf + 16, 0); /* no glyphs */
	assert_int_equal(ui_font_parse(&font, buf, n), -EINVAL);
	assert_int_equal(ui_font_parse(&font, (const uint8_t *)"hello", 5), -EINVAL);

	/* PSF1, 256 glyphs of 8 rows, with a Unicode table: glyph 7 is U+2022 (CP437 0x07) */
	memset(psf1, 0, sizeof(psf1));
	psf1[0] = 0x36;
	psf1[1] = 0x04;
	psf1[2] = 0x02;
	psf1[3] = 8;
	n = 4 + 256 * 8;
	for (unsigned int g = 0; g < 256; g++) {
		if (g == 7) {
			put_le16(psf1 + n, 0x2022);
			n += 2;
		}
		put_le16(psf1 + n, 0xffff);
		n += 2;
	}
	assert_int_equal(ui_font_parse(&font, psf1, n), 0);
	assert_int_equal(font.height, 8);
	assert_int_equal(font.cp437[0x07], 7);
	ui_font_free(&font);
	assert_int_equal(ui_font_parse(&font, psf1, 100), -EINVAL);

	/* the fallback when no font file is usable: boxes for visible characters, blanks for spaces */
	assert_int_equal(ui_font_fallback(&font), 0);
	assert_int_equal(font.height, 16);
	assert_int_equal(ui_font_glyph(&font, 'A')[5], 0x42);
	assert_int_equal(ui_font_glyph(&font, ' ')[5], 0);
	ui_font_free(&font);
}

static void test_keymap(void **state)
{
	uint8_t b[8];

	assert_int_equal(ui_keysym_to_set2('a', true, b), 1);
	assert_int_equal(b[0], 0x1c);
	assert_int_equal(ui_keysym_to_set2('A', false, b), 2);
	assert_memory_equal(b, ((uint8_t[]){ 0xf0, 0x1c }), 2);
	assert_int_equal(ui_keysym_to_set2('!', true, b), 1); /* the key that types it: 1 */
	assert_int_equal(b[0], 0x16);
	assert_int_equal(ui_keysym_to_set2(0xff52, true, b), 2); /* Up */
	assert_memory_equal(b, ((uint8_t[]){ 0xe0, 0x75 }), 2);
	assert_int_equal(ui_keysym_to_set2(0xff52, false, b), 3);
	assert_memory_equal(b, ((uint8_t[]){ 0xe0, 0xf0, 0x75 }), 3);
	assert_int_equal(ui_keysym_to_set2(0xff1b, true, b), 1); /* Escape */
	assert_int_equal(b[0], 0x76);
	assert_int_equal(ui_keysym_to_set2(0xffc4, true, b), 1); /* F7 */
	assert_int_equal(b[0], 0x83);
	assert_int_equal(ui_keysym_to_set2(0xff61, true, b), 4); /* Print */
	assert_int_equal(ui_keysym_to_set2(0x20ac, true, b), 0); /* Euro sign: no key */
	assert_int_equal(ui_keysym_to_set2(0xffffffff, false, b), 0);
}

static void test_png(void **state)
{
	struct ui_surface s = { 0 };
	char path[] = "/tmp/vmkit-test-png-XXXXXX";
	uint8_t sig[8];
	FILE *fp;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ui_surface_resize(&s, 3, 2), 0);
	for (unsigned int i = 0; i < 6; i++)
		s.pixels[i] = 0x102030 * i;
	assert_int_equal(ui_surface_write_png(&s, path), 0);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(sig, 1, 8, fp), 8);
	fclose(fp);
	assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
	unlink(path);
	assert_int_equal(ui_surface_write_png(&s, "/nonexistent-dir/x.png"), -ENOENT);
	assert_int_equal(ui_surface_resize(&s, 0, 2), -EINVAL);
	assert_int_equal(ui_surface_resize(&s, UI_MAX_WIDTH + 1, 2), -EINVAL);
	ui_surface_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispi_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attribute_flipflop_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_mode_render_and_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispi_graphics_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load_and_reset, setup, teardown),
		cmocka_unit_test(test_font_parsing),
		cmocka_unit_test(test_keymap),
		cmocka_unit_test(test_png),
	};
	return cmocka_run_group_tests_name("vga", tests, NULL, NULL);
}
