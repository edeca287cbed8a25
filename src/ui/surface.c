// SPDX-License-Identifier: MIT
/*
 * The framebuffer surface (XRGB8888), the VGA text and packed-pixel graphics
 * renderers, and PNG output through libpng.
 */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmkit/ui.h"
#include "vmkit/util.h"

int ui_surface_resize(struct ui_surface *s, uint32_t width, uint32_t height)
{
	size_t need = (size_t)width * height;

	if (!width || !height || width > UI_MAX_WIDTH || height > UI_MAX_HEIGHT)
		return -EINVAL;
	if (need > s->cap) {
		uint32_t *p = realloc(s->pixels, need * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->pixels = p;
		s->cap = need;
	}
	s->width = width;
	s->height = height;
	return 0;
}

void ui_surface_free(struct ui_surface *s)
{
	free(s->pixels);
	memset(s, 0, sizeof(*s));
}

int ui_surface_write_png(const struct ui_surface *s, const char *path)
{
	png_structp png = NULL;
	png_infop info = NULL;
	uint8_t *row = NULL;
	FILE *fp;
	volatile int r = -EIO;

	if (!s->pixels || !s->width)
		return -EINVAL;
	fp = fopen(path, "wb");
	if (!fp)
		return -errno;
	row = malloc((size_t)s->width * 3);
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (png)
		info = png_create_info_struct(png);
	if (!row || !png || !info) {
		r = -ENOMEM;
		goto out;
	}
	if (setjmp(png_jmpbuf(png)))
		goto out; /* libpng reports errors by longjmp */
	png_init_io(png, fp);
	png_set_IHDR(png, info, s->width, s->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (uint32_t y = 0; y < s->height; y++) {
		const uint32_t *px = s->pixels + (size_t)y * s->width;
		for (uint32_t x = 0; x < s->width; x++) {
			row[3 * x] = (uint8_t)(px[x] >> 16);
			row[3 * x + 1] = (uint8_t)(px[x] >> 8);
			row[3 * x + 2] = (uint8_t)px[x];
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
	r = 0;
out:
	png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
	free(row);
	if (fclose(fp) && !r)
		r = -errno;
	if (r)
		unlink(path);
	return r;
}

int ui_render_text(struct ui_surface *s, const struct ui_font *f, const struct ui_text *t)
{
	unsigned int fw = f->width, fh = f->height;
	int r;

	if (!t->cols || !t->rows || !fw || !fh)
		return -EINVAL;
	r = ui_surface_resize(s, t->cols * fw, t->rows * fh);
	if (r)
		return r;
	for (unsigned int row = 0; row < t->rows; row++) {
		for (unsigned int col = 0; col < t->cols; col++) {
			unsigned int cell = row * t->cols + col;
			uint8_t ch = t->cells[2 * cell], attr = t->cells[2 * cell + 1];
			uint32_t fg = t->palette[attr & 0xf];
			uint32_t bg = t->palette[t->blink ? (attr >> 4) & 0x7 : attr >> 4];
			const uint8_t *g = ui_font_glyph(f, ch);
			uint32_t *dst = s->pixels + (size_t)row * fh * s->width + (size_t)col * fw;
			unsigned int cs = 0, ce = 0;
			bool cursor = (int)cell == t->cursor;

			if (cursor && t->char_height) {
				/* Scale the VGA scan-line range to the font's cell height. */
				if (t->cursor_start > t->cursor_end || t->cursor_start >= t->char_height) {
					cursor = false;
				} else {
					cs = t->cursor_start * fh / t->char_height;
					ce = (MIN(t->cursor_end, t->char_height - 1) + 1) * fh / t->char_height;
				}
			}
			for (unsigned int y = 0; y < fh; y++, dst += s->width) {
				const uint8_t *bits = g + y * f->row_bytes;
				bool inv = cursor && y >= cs && y < ce;
				for (unsigned int x = 0; x < fw; x++) {
					bool on = (bits[x >> 3] >> (7 - (x & 7))) & 1;
					dst[x] = (on || inv) ? fg : bg;
				}
			}
		}
	}
	return 0;
}

static uint32_t expand5(uint32_t v)
{
	return (v << 3) | (v >> 2);
}

static uint32_t expand6(uint32_t v)
{
	return (v << 2) | (v >> 4);
}

int ui_render_gfx(struct ui_surface *s, const uint8_t *src, size_t len, uint32_t width, uint32_t height,
		  unsigned int bpp, uint32_t stride, const uint32_t palette[256])
{
	unsigned int bytes = (bpp + 7) / 8;
	int r;

	if (bpp != 8 && bpp != 15 && bpp != 16 && bpp != 24 && bpp != 32)
		return -EINVAL;
	r = ui_surface_resize(s, width, height);
	if (r)
		return r;
	for (uint32_t y = 0; y < height; y++) {
		uint32_t *dst = s->pixels + (size_t)y * width;
		size_t off = (size_t)y * stride;
		uint32_t n = 0;

		/* How many pixels of this row lie inside src. */
		if (off < len)
			n = (uint32_t)MIN((uint64_t)width, (len - off) / bytes);
		const uint8_t *p = src + (off < len ? off : 0);
		switch (bpp) {
		case 8:
			for (uint32_t x = 0; x < n; x++)
				dst[x] = palette[p[x]];
			break;
		case 15:
			for (uint32_t x = 0; x < n; x++) {
				uint32_t v = p[2 * x] | (uint32_t)p[2 * x + 1] << 8;
				dst[x] = expand5((v >> 10) & 0x1f) << 16 | expand5((v >> 5) & 0x1f) << 8 |
					 expand5(v & 0x1f);
			}
			break;
		case 16:
			for (uint32_t x = 0; x < n; x++) {
				uint32_t v = p[2 * x] | (uint32_t)p[2 * x + 1] << 8;
				dst[x] = expand5((v >> 11) & 0x1f) << 16 | expand6((v >> 5) & 0x3f) << 8 |
					 expand5(v & 0x1f);
			}
			break;
		case 24:
			for (uint32_t x = 0; x < n; x++)
				dst[x] = (uint32_t)p[3 * x + 2] << 16 | (uint32_t)p[3 * x + 1] << 8 | p[3 * x];
			break;
		case 32:
			for (uint32_t x = 0; x < n; x++)
				dst[x] = (p[4 * x] | (uint32_t)p[4 * x + 1] << 8 | (uint32_t)p[4 * x + 2] << 16);
			break;
		}
		for (uint32_t x = n; x < width; x++)
			dst[x] = 0;
	}
	return 0;
}
