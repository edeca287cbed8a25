// SPDX-License-Identifier: MIT
/*
 * Console fonts in the PC Screen Font formats PSF1 and PSF2 (as documented
 * with the Linux kbd package, "The PSF font file formats"), gzip'd or not,
 * and the code page 437 -> glyph map VGA text mode needs: the font's Unicode
 * table, when it has one, says which glyph draws which character.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vmkit/ui.h"
#include "vmkit/util.h"

#define PSF1_MAGIC0 0x36
#define PSF1_MAGIC1 0x04
#define PSF1_MODE512 0x01
#define PSF1_MODEHASTAB 0x02
#define PSF1_MODEHASSEQ 0x04
#define PSF1_SEPARATOR 0xffff
#define PSF1_STARTSEQ 0xfffe

#define PSF2_MAGIC 0x864ab572U
#define PSF2_HAS_UNICODE_TABLE 0x01
#define PSF2_SEPARATOR 0xff
#define PSF2_STARTSEQ 0xfe

#define FONT_MAX_FILE (4u << 20)

/* Unicode for each code page 437 code (the IBM PC character set VGA text shows). */
static const uint16_t cp437_unicode[256] = {
	0x0000, 0x263a, 0x263b, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
	0x25d8, 0x25cb, 0x25d9, 0x2642, 0x2640, 0x266a, 0x266b, 0x263c,
	0x25ba, 0x25c4, 0x2195, 0x203c, 0x00b6, 0x00a7, 0x25ac, 0x21a8,
	0x2191, 0x2193, 0x2192, 0x2190, 0x221f, 0x2194, 0x25b2, 0x25bc,
	0x0020, 0x0021, 0x0022, 0x0023, 0x0024, 0x0025, 0x0026, 0x0027,
	0x0028, 0x0029, 0x002a, 0x002b, 0x002c, 0x002d, 0x002e, 0x002f,
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
	0x0038, 0x0039, 0x003a, 0x003b, 0x003c, 0x003d, 0x003e, 0x003f,
	0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
	0x0048, 0x0049, 0x004a, 0x004b, 0x004c, 0x004d, 0x004e, 0x004f,
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
	0x0058, 0x0059, 0x005a, 0x005b, 0x005c, 0x005d, 0x005e, 0x005f,
	0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
	0x0068, 0x0069, 0x006a, 0x006b, 0x006c, 0x006d, 0x006e, 0x006f,
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
	0x0078, 0x0079, 0x007a, 0x007b, 0x007c, 0x007d, 0x007e, 0x2302,
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
	0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
	0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
	0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
	0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
	0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
	0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
	0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
	0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
	0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
	0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
	0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
	0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
	0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
	0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
	0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

/* Remember that glyph g draws Unicode character u, for every CP437 code that is u. */
static void map_unicode(struct ui_font *f, uint32_t u, unsigned int g, uint8_t *have)
{
	for (unsigned int c = 0; c < 256; c++) {
		if (!have[c] && cp437_unicode[c] == u && (c != 0 || u == 0)) {
			f->cp437[c] = (uint16_t)g;
			have[c] = 1;
		}
	}
}

/* Decode one UTF-8 character at p (< end); returns its length, 0 if malformed. */
static size_t utf8_decode(const uint8_t *p, const uint8_t *end, uint32_t *out)
{
	size_t n;
	uint32_t u;

	if (p[0] < 0x80) {
		*out = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, u = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, u = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, u = p[0] & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		u = (u << 6) | (p[i] & 0x3f);
	}
	*out = u;
	return n;
}

static int parse_psf1(struct ui_font *f, const uint8_t *buf, size_t len, uint8_t *have)
{
	unsigned int mode = buf[2], h = buf[3];
	size_t glyph_bytes, off;

	f->width = 8;
	f->height = h;
	f->row_bytes = 1;
	f->nr = (mode & PSF1_MODE512) ? 512 : 256;
	glyph_bytes = (size_t)f->nr * h;
	if (!h || len - 4 < glyph_bytes)
		return -EINVAL;
	f->glyphs = malloc(glyph_bytes);
	if (!f->glyphs)
		return -ENOMEM;
	memcpy(f->glyphs, buf + 4, glyph_bytes);
	if (!(mode & (PSF1_MODEHASTAB | PSF1_MODEHASSEQ)))
		return 0;
	/* Per glyph: 16-bit characters, sequences after STARTSEQ, up to SEPARATOR. */
	off = 4 + glyph_bytes;
	for (unsigned int g = 0; g < f->nr && off + 2 <= len; g++) {
		bool seq = false;
		while (off + 2 <= len) {
			uint16_t u = get_le16(buf + off);
			off += 2;
			if (u == PSF1_SEPARATOR)
				break;
			if (u == PSF1_STARTSEQ)
				seq = true;
			else if (!seq)
				map_unicode(f, u, g, have);
		}
	}
	return 0;
}

static int parse_psf2(struct ui_font *f, const uint8_t *buf, size_t len, uint8_t *have)
{
	uint32_t hdr, flags, nr, charsize, h, w;
	const uint8_t *p, *end = buf + len;
	size_t glyph_bytes;

	if (len < 32)
		return -EINVAL;
	hdr = get_le32(buf + 8);
	flags = get_le32(buf + 12);
	nr = get_le32(buf + 16);
	charsize = get_le32(buf + 20);
	h = get_le32(buf + 24);
	w = get_le32(buf + 28);
	if (!nr || nr > 65536 || !h || h > 64 || !w || w > 32 || charsize != h * ((w + 7) / 8) || hdr < 32 ||
	    hdr > len)
		return -EINVAL;
	glyph_bytes = (size_t)nr * charsize;
	if (len - hdr < glyph_bytes)
		return -EINVAL;
	f->width = w;
	f->height = h;
	f->row_bytes = (w + 7) / 8;
	f->nr = nr;
	f->glyphs = malloc(glyph_bytes);
	if (!f->glyphs)
		return -ENOMEM;
	memcpy(f->glyphs, buf + hdr, glyph_bytes);
	if (!(flags & PSF2_HAS_UNICODE_TABLE))
		return 0;
	/* Per glyph: UTF-8 characters, sequences after STARTSEQ, up to SEPARATOR. */
	p = buf + hdr + glyph_bytes;
	for (unsigned int g = 0; g < nr && p < end; g++) {
		bool seq = false;
		while (p < end) {
			uint32_t u;
			size_t n;

			if (*p == PSF2_SEPARATOR) {
				p++;
				break;
			}
			if (*p == PSF2_STARTSEQ) {
				seq = true;
				p++;
				continue;
			}
			n = utf8_decode(p, end, &u);
			if (!n) {
				p++;
				continue;
			}
			p += n;
			if (!seq)
				map_unicode(f, u, g, have);
		}
	}
	return 0;
}

int ui_font_parse(struct ui_font *f, const uint8_t *buf, size_t len)
{
	uint8_t have[256] = { 0 };
	int r;

	memset(f, 0, sizeof(*f));
	for (unsigned int c = 0; c < 256; c++)
		f->cp437[c] = (uint16_t)c;
	if (len >= 4 && buf[0] == PSF1_MAGIC0 && buf[1] == PSF1_MAGIC1)
		r = parse_psf1(f, buf, len, have);
	else if (len >= 4 && get_le32(buf) == PSF2_MAGIC)
		r = parse_psf2(f, buf, len, have);
	else
		r = -EINVAL;
	if (r) {
		ui_font_free(f);
		return r;
	}
	/* Codes the table does not cover fall back to the glyph of the same number, if any. */
	for (unsigned int c = 0; c < 256; c++)
		if (f->cp437[c] >= f->nr)
			f->cp437[c] = 0;
	return 0;
}

int ui_font_load(struct ui_font *f, const char *path, char *err, size_t errlen)
{
	gzFile gz = gzopen(path, "rb");
	uint8_t *buf;
	size_t len = 0;
	int n, r;

	if (!gz) {
		snprintf(err, errlen, "cannot open font %s: %s (install console-setup-linux)", path,
			 errno ? strerror(errno) : "out of memory");
		return -ENOENT;
	}
	buf = malloc(FONT_MAX_FILE);
	if (!buf) {
		gzclose(gz);
		snprintf(err, errlen, "out of memory reading font %s", path);
		return -ENOMEM;
	}
	/* gzread reads plain files as they are. */
	while (len < FONT_MAX_FILE && (n = gzread(gz, buf + len, (unsigned int)(FONT_MAX_FILE - len))) > 0)
		len += (size_t)n;
	gzclose(gz);
	r = ui_font_parse(f, buf, len);
	free(buf);
	if (r)
		snprintf(err, errlen, "font %s is not a PSF1/PSF2 console font", path);
	return r;
}

int ui_font_fallback(struct ui_font *f)
{
	memset(f, 0, sizeof(*f));
	f->width = 8;
	f->height = 16;
	f->row_bytes = 1;
	f->nr = 256;
	f->glyphs = calloc(256, 16);
	if (!f->glyphs)
		return -ENOMEM;
	for (unsigned int c = 0; c < 256; c++) {
		uint8_t *g = f->glyphs + 16 * c;
		f->cp437[c] = (uint16_t)c;
		if (c == 0 || c == ' ' || c == 0xff)
			continue;
		g[2] = g[13] = 0x7e;
		for (unsigned int y = 3; y < 13; y++)
			g[y] = 0x42;
	}
	return 0;
}

void ui_font_free(struct ui_font *f)
{
	free(f->glyphs);
	f->glyphs = NULL;
	f->nr = 0;
}

const uint8_t *ui_font_glyph(const struct ui_font *f, uint8_t code)
{
	return f->glyphs + (size_t)f->cp437[code] * f->height * f->row_bytes;
}
