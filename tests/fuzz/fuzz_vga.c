// SPDX-License-Identifier: MIT
/*
 * The VGA device from a hostile guest: arbitrary sequences of accesses to its
 * VGA ports, DISPI ports, legacy window and MMIO BAR, each followed now and
 * then by a render (text, chain-4 and DISPI modes with any geometry, offsets,
 * start address and cursor) that must stay inside VRAM and the surface.
 */
// fuzz-srcs: src/dev/vga.c src/ui/surface.c src/ui/font.c src/bus/pci.c src/bus/bus.c src/util/*.c
#include <stdint.h>
#include <string.h>

#include "vmkit/util.h"
#include "vmkit/vga.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t glyphs[256 * 16];
	static struct vga *v;
	static struct ui_surface s; /* kept across runs: no fresh page faults per input */
	struct ui_font font = { .width = 8, .height = 16, .nr = 256, .row_bytes = 1, .glyphs = glyphs };

	if (!v) {
		for (unsigned int i = 0; i < 256; i++)
			font.cp437[i] = (uint16_t)i;
		v = vga_create(NULL, &font);
	}
	vga_ops.reset(v);
	/* each op: kind(1) size(1) offset(4) value(4) */
	for (size_t i = 0; i + 10 <= size; i += 10) {
		static const uint32_t sizes[4] = { 1, 2, 4, 8 };
		uint8_t kind = data[i] % 5, buf[8];
		uint32_t sz = sizes[data[i + 1] & 3];
		uint64_t off = get_le32(data + i + 2);
		bool wr = data[i] & 0x80;

		memset(buf, 0, sizeof(buf));
		memcpy(buf, data + i + 6, 4);
		switch (kind) {
		case 0:
			vga_port_io(v, off % VGA_PORT_LEN, buf, MIN(sz, VGA_PORT_LEN - off % VGA_PORT_LEN), wr);
			break;
		case 1:
			vga_dispi_io(v, off % VGA_DISPI_PORT_LEN, buf, sz > 2 ? 2 : sz, wr);
			break;
		case 2:
			off %= VGA_WINDOW_LEN;
			vga_window_io(v, off, buf, (uint32_t)MIN((uint64_t)sz, VGA_WINDOW_LEN - off), wr);
			break;
		case 3:
			off %= 0x1000;
			vga_mmio_io(v, off, buf, (uint32_t)MIN((uint64_t)sz, 0x1000 - off), wr);
			break;
		case 4:
			vga_render(v, &s, data[i + 1] & 1);
			break;
		}
	}
	vga_render(v, &s, true);
	return 0;
}
