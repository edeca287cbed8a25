/* SPDX-License-Identifier: MIT */
/*
 * ui: the framebuffer surface a display device renders into, the bitmap
 * console font (PSF1/PSF2, optionally gzip'd, loaded at run time), the text
 * and graphics renderers, PNG output, and the two interfaces between a
 * display device and a viewer: ui_display (pull a rendered frame) and
 * ui_input (push keys and pointer events). No device knowledge lives here.
 */
#ifndef VMKIT_UI_H
#define VMKIT_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pixels are 0x00RRGGBB in host order (XRGB8888); rows are width pixels apart. */
struct ui_surface {
	uint32_t width, height;
	uint32_t *pixels;
	size_t cap; /* pixels allocated */
};

#define UI_MAX_WIDTH 4096
#define UI_MAX_HEIGHT 4096

/* Make s width x height (1..UI_MAX_*); keeps the buffer if big enough. 0, -EINVAL or -ENOMEM. */
int ui_surface_resize(struct ui_surface *s, uint32_t width, uint32_t height);
void ui_surface_free(struct ui_surface *s);
/* Write s as an 8-bit RGB PNG (libpng). 0 or -errno. */
int ui_surface_write_png(const struct ui_surface *s, const char *path);

/* A console font: nr glyphs of width x height bits, rows padded to bytes. */
struct ui_font {
	unsigned int width, height, nr, row_bytes;
	uint8_t *glyphs;      /* nr * height * row_bytes */
	uint16_t cp437[256];  /* glyph for each code page 437 code (VGA text mode) */
};

/* The font `vmkit run` uses for VGA text mode (Debian: console-setup-linux). */
#define UI_DEFAULT_FONT "/usr/share/consolefonts/Uni2-VGA16.psf.gz"

/*
 * Parse a PSF1 or PSF2 font in buf (not compressed). With a Unicode table,
 * code page 437 codes map to the glyph of their Unicode character; without,
 * code c is glyph c. 0 or -EINVAL (malformed) / -ENOMEM.
 */
int ui_font_parse(struct ui_font *f, const uint8_t *buf, size_t len);
/* Read (gunzip if needed) and parse path; one line in err on failure. */
int ui_font_load(struct ui_font *f, const char *path, char *err, size_t errlen);
/* A font without a font file: 8x16 boxes for every visible character. 0 or -ENOMEM. */
int ui_font_fallback(struct ui_font *f);
void ui_font_free(struct ui_font *f);
/* The glyph bitmap (height rows of row_bytes, MSB = leftmost pixel) for a CP437 code. */
const uint8_t *ui_font_glyph(const struct ui_font *f, uint8_t code);

/* A VGA text screen: cols x rows cells of (character, attribute) bytes. */
struct ui_text {
	const uint8_t *cells;  /* 2 * cols * rows bytes (caller checked the bounds) */
	unsigned int cols, rows;
	uint32_t palette[16];  /* attribute colour index -> XRGB */
	bool blink;            /* attribute bit 7 is blink (not bright background) */
	int cursor;            /* cell index of the cursor, or -1 when hidden */
	/* Cursor scan lines [start, end] within a char_height cell (VGA CRTC 0x0a/0x0b/0x09). */
	unsigned int cursor_start, cursor_end, char_height;
};

/* Render t into s (resized to cols*font width x rows*font height). 0 or -errno. */
int ui_render_text(struct ui_surface *s, const struct ui_font *f, const struct ui_text *t);

/*
 * Render a packed graphics mode into s (resized to width x height): bpp 8
 * (palette), 15 (x555), 16 (565), 24 (B,G,R bytes) or 32 (XRGB). Rows are
 * stride bytes apart in src; anything that would read past src+len is black.
 */
int ui_render_gfx(struct ui_surface *s, const uint8_t *src, size_t len, uint32_t width, uint32_t height,
		  unsigned int bpp, uint32_t stride, const uint32_t palette[256]);

/*
 * A display source. render() fills s with the current screen (resizing it)
 * and returns 1, or returns 0 without touching s when nothing changed since
 * its last non-forced call; force renders regardless and does not consume
 * change tracking. Called from viewer threads; never blocks a vCPU for long.
 */
struct ui_display {
	int (*render)(void *opaque, struct ui_surface *s, bool force);
	void *opaque;
};

/* Input from a viewer. Called on the viewer's thread. */
struct ui_input {
	/* X11 keysym (RFB s7.5.4) pressed or released. */
	void (*key)(void *opaque, uint32_t keysym, bool down);
	/* Absolute position in a width x height screen; buttons: bit 0 left, 1 middle, 2 right, 3/4 wheel. */
	void (*pointer)(void *opaque, int x, int y, int buttons, int width, int height);
	/* Optional: the guest keyboard's lock LEDs, UI_LED_* bits. */
	unsigned int (*leds)(void *opaque);
	void *opaque;
};

#define UI_LED_SCROLL 1
#define UI_LED_NUM 2
#define UI_LED_CAPS 4

/*
 * X11 keysym -> PS/2 scan code set 2 bytes for a make (down) or break code.
 * Returns the number of bytes written to out (at most 8), 0 for unknown keys.
 */
size_t ui_keysym_to_set2(uint32_t keysym, bool down, uint8_t out[8]);

#endif
