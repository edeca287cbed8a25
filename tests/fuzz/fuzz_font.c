// SPDX-License-Identifier: MIT
/*
 * PSF1/PSF2 console font parsing (ui_font_parse): headers, glyph tables and
 * the Unicode tables (UTF-8 and UCS-2, with sequences) of arbitrary bytes,
 * then every CP437 glyph lookup stays inside the glyph data.
 */
// fuzz-srcs: src/ui/font.c
#include <stddef.h>
#include <stdint.h>

#include "vmkit/ui.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ui_font f;
	volatile uint8_t sink = 0;

	if (ui_font_parse(&f, data, size))
		return 0;
	for (unsigned int c = 0; c < 256; c++) {
		const uint8_t *g = ui_font_glyph(&f, (uint8_t)c);
		for (unsigned int i = 0; i < f.height * f.row_bytes; i++)
			sink ^= g[i];
	}
	(void)sink;
	ui_font_free(&f);
	return 0;
}
