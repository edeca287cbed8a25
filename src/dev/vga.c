// SPDX-License-Identifier: MIT
/*
 * Standard VGA PCI display with the Bochs VBE DISPI extension (the "std" VGA
 * QEMU and Bochs model, PCI 1234:1111). Register facts from the IBM VGA
 * technical reference (sequencer, graphics controller, CRTC, attribute
 * controller, DAC, misc output, input status) and Bochs' vbe.h (DISPI).
 *
 * Memory: the legacy window 0xa0000-0xbffff is a flat 128 KiB buffer (the
 * text buffer is at 0xb8000; planar 16-colour modes are not modelled and
 * render blank), or with DISPI enabled without the LFB, a 64 KiB bank of
 * VRAM at 0xa0000. VRAM (16 MiB) is plain host memory the VM maps into the
 * guest at BAR0 with a KVM memory slot: guest writes never exit, and the
 * slot's dirty log tells the renderer whether anything changed.
 *
 * Locking: one mutex for registers and the legacy buffer. Renders read VRAM
 * without it (it is guest RAM; a torn frame is redrawn on the next change).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <pthread.h>

#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/vga.h"

#define VGA_STATE_MAGIC 0x56474131U /* "VGA1" */
#define VGA_STATE_VERSION 1
#define LOWMEM_SIZE VGA_WINDOW_LEN
#define VRAM_PAGES (VGA_VRAM_SIZE / 4096)
#define MMIO_BAR_SIZE 0x1000
#define MMIO_VGA_PORTS 0x400 /* ports 0x3c0-0x3df */
#define MMIO_DISPI 0x500
#define MMIO_QEXT 0x600
#define QEXT_SIZE 8
#define QEXT_LITTLE_ENDIAN 0x1e1e1e1eU

/* Everything a snapshot needs besides VRAM and the legacy buffer. */
struct vga_regs {
	uint32_t magic, version;
	uint8_t misc, feature, seq_idx, gr_idx, crtc_idx, ar_idx, ar_flip, st1;
	uint8_t seq[8], gr[16], crtc[32], ar[32];
	uint8_t dac_mask, dac_rd, dac_wr, dac_sub, dac_reading;
	uint8_t dac[256][3], dac_latch[3];
	uint16_t dispi_idx;
	uint16_t dispi[VBE_DISPI_INDEX_NB];
	uint16_t pad;
};

struct vga {
	struct pci_device pci;
	struct vga_host host;
	struct ui_font font;
	pthread_mutex_t lock;
	struct vga_regs r;
	uint8_t *vram;
	uint8_t lowmem[LOWMEM_SIZE];
	uint64_t gen;        /* bumped by every change a render can show */
	uint64_t seen_gen;   /* gen at the last non-forced render */
	bool vram_mapped;
	uint64_t dirty[VRAM_PAGES / 64];
	struct vga_stats stats;
};

/* Standard mode 3 (80x25 text, 9x16 cells) register values, as the BIOS leaves them. */
static const uint8_t mode3_seq[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_gr[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_crtc[25] = { 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00,
					0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
					0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff };
static const uint8_t mode3_ar[21] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a,
				      0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00 };

static void power_on(struct vga *v)
{
	struct vga_regs *r = &v->r;

	memset(r, 0, sizeof(*r));
	r->magic = VGA_STATE_MAGIC;
	r->version = VGA_STATE_VERSION;
	r->misc = 0x67; /* colour (0x3d4), RAM enabled, 28 MHz clock */
	memcpy(r->seq, mode3_seq, sizeof(mode3_seq));
	memcpy(r->gr, mode3_gr, sizeof(mode3_gr));
	memcpy(r->crtc, mode3_crtc, sizeof(mode3_crtc));
	memcpy(r->ar, mode3_ar, sizeof(mode3_ar));
	r->ar_idx = 0x20; /* PAS: the screen is on */
	r->dac_mask = 0xff;
	/* DAC 0-63: the EGA palette, bits 0-2 = B,G,R at 2/3, bits 3-5 = b,g,r at 1/3. */
	for (unsigned int i = 0; i < 64; i++) {
		r->dac[i][0] = (uint8_t)(((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15);
		r->dac[i][1] = (uint8_t)(((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15);
		r->dac[i][2] = (uint8_t)((i & 1) * 0x2a + ((i >> 3) & 1) * 0x15);
	}
	r->dispi[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
	r->dispi[VBE_DISPI_INDEX_XRES] = 640;
	r->dispi[VBE_DISPI_INDEX_YRES] = 480;
	r->dispi[VBE_DISPI_INDEX_BPP] = 32;
	r->dispi[VBE_DISPI_INDEX_VIDEO_MEMORY_64K] = VGA_VRAM_SIZE >> 16;
	memset(v->lowmem, 0, sizeof(v->lowmem));
	v->gen++;
}

static void changed(struct vga *v)
{
	v->gen++;
}

/* ---- VGA registers (ports 0x3b0-0x3df) ---- */

static unsigned int dispi_bytes_pp(unsigned int bpp)
{
	return (bpp + 7) / 8;
}

static uint8_t port_read(struct vga *v, unsigned int port)
{
	struct vga_regs *r = &v->r;
	uint8_t val = 0xff;

	switch (port) {
	case 0x3c0:
		val = r->ar_idx;
		break;
	case 0x3c1:
		val = r->ar[r->ar_idx & 0x1f];
		break;
	case 0x3c2:
		val = 0x10; /* input status 0: switch sense */
		break;
	case 0x3c3:
		val = 1; /* video subsystem enabled */
		break;
	case 0x3c4:
		val = r->seq_idx;
		break;
	case 0x3c5:
		val = r->seq[r->seq_idx & 7];
		break;
	case 0x3c6:
		val = r->dac_mask;
		break;
	case 0x3c7:
		val = r->dac_reading ? 0x03 : 0x00; /* DAC state */
		break;
	case 0x3c8:
		val = r->dac_wr;
		break;
	case 0x3c9:
		val = r->dac[r->dac_rd][r->dac_sub];
		if (++r->dac_sub == 3) {
			r->dac_sub = 0;
			r->dac_rd++;
		}
		break;
	case 0x3ca:
		val = r->feature;
		break;
	case 0x3cc:
		val = r->misc;
		break;
	case 0x3ce:
		val = r->gr_idx;
		break;
	case 0x3cf:
		val = r->gr[r->gr_idx & 0xf];
		break;
	case 0x3b4:
	case 0x3d4:
		val = r->crtc_idx;
		break;
	case 0x3b5:
	case 0x3d5:
		val = r->crtc[r->crtc_idx & 0x1f];
		break;
	case 0x3ba:
	case 0x3da:
		/*
		 * Input status 1: bit 0 display disabled, bit 3 vertical retrace.
		 * Toggle them on every read so polling loops always make progress.
		 * Reading also resets the attribute controller's index/data flip-flop.
		 */
		r->st1 ^= 0x09;
		val = r->st1;
		r->ar_flip = 0;
		break;
	default:
		break;
	}
	return val;
}

static void port_write(struct vga *v, unsigned int port, uint8_t val)
{
	struct vga_regs *r = &v->r;

	switch (port) {
	case 0x3c0:
		if (!r->ar_flip) {
			r->ar_idx = val & 0x3f;
		} else {
			unsigned int i = r->ar_idx & 0x1f;
			if (i <= 0x14)
				r->ar[i] = val;
		}
		r->ar_flip ^= 1;
		break;
	case 0x3c2:
		r->misc = val;
		break;
	case 0x3c4:
		r->seq_idx = val;
		break;
	case 0x3c5:
		r->seq[r->seq_idx & 7] = val;
		break;
	case 0x3c6:
		r->dac_mask = val;
		break;
	case 0x3c7:
		r->dac_rd = val;
		r->dac_sub = 0;
		r->dac_reading = 1;
		break;
	case 0x3c8:
		r->dac_wr = val;
		r->dac_sub = 0;
		r->dac_reading = 0;
		break;
	case 0x3c9:
		r->dac_latch[r->dac_sub] = val;
		if (++r->dac_sub == 3) {
			memcpy(r->dac[r->dac_wr], r->dac_latch, 3);
			r->dac_sub = 0;
			r->dac_wr++;
		}
		break;
	case 0x3ce:
		r->gr_idx = val;
		break;
	case 0x3cf:
		r->gr[r->gr_idx & 0xf] = val;
		break;
	case 0x3b4:
	case 0x3d4:
		r->crtc_idx = val;
		break;
	case 0x3b5:
	case 0x3d5: {
		unsigned int i = r->crtc_idx & 0x1f;
		/* CR11 bit 7 write-protects CR00-CR07 (except CR07 bit 4, the line compare bit). */
		if ((r->crtc[0x11] & 0x80) && i <= 7) {
			if (i == 7)
				r->crtc[7] = (uint8_t)((r->crtc[7] & ~0x10) | (val & 0x10));
			break;
		}
		if (i <= 0x18)
			r->crtc[i] = val;
		break;
	}
	case 0x3ba:
	case 0x3da:
		r->feature = val;
		break;
	default:
		return;
	}
	changed(v);
}

static void ports_access(struct vga *v, unsigned int port, uint8_t *data, uint32_t size, bool is_write)
{
	/* Word accesses (outw 0x3c4, idx | val << 8) are two byte accesses, low first. */
	pthread_mutex_lock(&v->lock);
	for (uint32_t i = 0; i < size; i++) {
		if (is_write)
			port_write(v, port + i, data[i]);
		else
			data[i] = port_read(v, port + i);
	}
	pthread_mutex_unlock(&v->lock);
}

void vga_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	ports_access(opaque, VGA_PORT_BASE + (unsigned int)off, data, size, is_write);
}

/* ---- Bochs VBE DISPI ---- */

static bool dispi_enabled(const struct vga_regs *r)
{
	return r->dispi[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

static uint32_t dispi_line_bytes(const struct vga_regs *r)
{
	return (uint32_t)r->dispi[VBE_DISPI_INDEX_VIRT_WIDTH] * dispi_bytes_pp(r->dispi[VBE_DISPI_INDEX_BPP]);
}

static uint16_t dispi_read(struct vga *v, unsigned int idx)
{
	struct vga_regs *r = &v->r;
	bool caps = r->dispi[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS;

	if (idx >= VBE_DISPI_INDEX_NB)
		return 0;
	if (caps && idx == VBE_DISPI_INDEX_XRES)
		return VBE_DISPI_MAX_XRES;
	if (caps && idx == VBE_DISPI_INDEX_YRES)
		return VBE_DISPI_MAX_YRES;
	if (caps && idx == VBE_DISPI_INDEX_BPP)
		return 32;
	return r->dispi[idx];
}

static void dispi_write(struct vga *v, unsigned int idx, uint16_t val)
{
	struct vga_regs *r = &v->r;
	uint16_t *d = r->dispi;

	switch (idx) {
	case VBE_DISPI_INDEX_ID:
		if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5)
			d[idx] = val;
		break;
	case VBE_DISPI_INDEX_XRES:
		if (val && val <= VBE_DISPI_MAX_XRES && !(val & 7))
			d[idx] = val;
		break;
	case VBE_DISPI_INDEX_YRES:
		if (val && val <= VBE_DISPI_MAX_YRES)
			d[idx] = val;
		break;
	case VBE_DISPI_INDEX_BPP:
		if (val == 0)
			val = 8;
		if (val == 8 || val == 15 || val == 16 || val == 24 || val == 32)
			d[idx] = val;
		break;
	case VBE_DISPI_INDEX_BANK:
		if (val < (VGA_VRAM_SIZE >> 16))
			d[idx] = val;
		break;
	case VBE_DISPI_INDEX_ENABLE: {
		bool was = dispi_enabled(r);

		d[idx] = val & (VBE_DISPI_ENABLED | VBE_DISPI_GETCAPS | VBE_DISPI_8BIT_DAC | VBE_DISPI_LFB_ENABLED |
				VBE_DISPI_NOCLEARMEM);
		if ((val & VBE_DISPI_ENABLED) && !was) {
			uint32_t line = (uint32_t)d[VBE_DISPI_INDEX_XRES] * dispi_bytes_pp(d[VBE_DISPI_INDEX_BPP]);

			/* A new mode: the virtual screen is the visible one, as tall as VRAM allows. */
			d[VBE_DISPI_INDEX_VIRT_WIDTH] = d[VBE_DISPI_INDEX_XRES];
			d[VBE_DISPI_INDEX_VIRT_HEIGHT] = (uint16_t)MIN(VGA_VRAM_SIZE / line, 0xffffu);
			d[VBE_DISPI_INDEX_X_OFFSET] = d[VBE_DISPI_INDEX_Y_OFFSET] = 0;
			d[VBE_DISPI_INDEX_BANK] = 0;
			if (!(val & VBE_DISPI_NOCLEARMEM))
				memset(v->vram, 0, MIN((uint64_t)line * d[VBE_DISPI_INDEX_YRES], VGA_VRAM_SIZE));
			v->stats.mode_changes++;
		}
		break;
	}
	case VBE_DISPI_INDEX_VIRT_WIDTH: {
		uint32_t bpp = dispi_bytes_pp(d[VBE_DISPI_INDEX_BPP]);
		if (val >= d[VBE_DISPI_INDEX_XRES] && (uint64_t)val * bpp <= VGA_VRAM_SIZE) {
			d[idx] = val;
			d[VBE_DISPI_INDEX_VIRT_HEIGHT] = (uint16_t)MIN(VGA_VRAM_SIZE / ((uint32_t)val * bpp), 0xffffu);
		}
		break;
	}
	case VBE_DISPI_INDEX_VIRT_HEIGHT:
		break; /* derived from VIRT_WIDTH and the memory size */
	case VBE_DISPI_INDEX_X_OFFSET:
	case VBE_DISPI_INDEX_Y_OFFSET:
		d[idx] = val; /* checked against VRAM when rendering */
		break;
	default:
		return; /* VIDEO_MEMORY_64K is read-only */
	}
	changed(v);
}

void vga_dispi_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vga *v = opaque;
	uint16_t val = size >= 2 ? get_le16(data) : data[0];

	pthread_mutex_lock(&v->lock);
	if (off == 0) {
		if (is_write)
			v->r.dispi_idx = val;
		else
			val = v->r.dispi_idx;
	} else if (is_write) {
		dispi_write(v, v->r.dispi_idx, val);
	} else {
		val = dispi_read(v, v->r.dispi_idx);
	}
	pthread_mutex_unlock(&v->lock);
	if (!is_write) {
		memset(data, 0, size);
		data[0] = (uint8_t)val;
		if (size >= 2)
			data[1] = (uint8_t)(val >> 8);
	}
}

/* ---- legacy window 0xa0000-0xbffff ---- */

void vga_window_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vga *v = opaque;
	uint8_t *mem;
	uint64_t at;

	pthread_mutex_lock(&v->lock);
	if (dispi_enabled(&v->r) && !(v->r.dispi[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_LFB_ENABLED)) {
		/* Banked VBE modes: 64 KiB of VRAM at 0xa0000 (BANK selects which). */
		if (off >= 0x10000) {
			mem = NULL;
		} else {
			mem = v->vram;
			at = ((uint64_t)v->r.dispi[VBE_DISPI_INDEX_BANK] << 16) + off;
		}
	} else {
		mem = v->lowmem;
		at = off;
	}
	if (!mem || at + size > (mem == v->vram ? VGA_VRAM_SIZE : LOWMEM_SIZE)) {
		if (!is_write)
			memset(data, 0xff, size);
	} else if (is_write) {
		memcpy(mem + at, data, size);
		changed(v);
	} else {
		memcpy(data, mem + at, size);
	}
	pthread_mutex_unlock(&v->lock);
}

/* ---- BAR2: MMIO registers ---- */

void vga_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vga *v = opaque;

	if (off >= MMIO_VGA_PORTS && off + size <= MMIO_VGA_PORTS + 0x20) {
		ports_access(v, 0x3c0 + (unsigned int)(off - MMIO_VGA_PORTS), data, size, is_write);
		return;
	}
	if (off >= MMIO_DISPI && off + size <= MMIO_DISPI + 2 * VBE_DISPI_INDEX_NB && size == 2 && !(off & 1)) {
		unsigned int idx = (unsigned int)(off - MMIO_DISPI) / 2;
		pthread_mutex_lock(&v->lock);
		if (is_write)
			dispi_write(v, idx, get_le16(data));
		else
			put_le16(data, dispi_read(v, idx));
		pthread_mutex_unlock(&v->lock);
		return;
	}
	if (off >= MMIO_QEXT && off + size <= MMIO_QEXT + QEXT_SIZE && size == 4 && !is_write) {
		/* QEMU extended registers: size, then framebuffer byte order (little endian). */
		put_le32(data, off == MMIO_QEXT ? QEXT_SIZE : QEXT_LITTLE_ENDIAN);
		return;
	}
	if (!is_write)
		memset(data, off >= MMIO_QEXT && off < MMIO_QEXT + QEXT_SIZE ? 0 : 0xff, size);
}

/* ---- BAR0: the framebuffer as guest RAM ---- */

static void vram_bar_map(void *opaque, int idx, uint64_t addr, bool mapped)
{
	struct vga *v = opaque;
	int r;

	if (!v->host.map_vram)
		return;
	pthread_mutex_lock(&v->lock);
	r = v->host.map_vram(v->host.ctx, addr, v->vram, VGA_VRAM_SIZE, mapped);
	if (r)
		log_ratelimited(LOG_WARN, "vga: cannot %s the framebuffer at 0x%llx: %s", mapped ? "map" : "unmap",
				(unsigned long long)addr, strerror(-r));
	v->vram_mapped = mapped && !r;
	changed(v);
	pthread_mutex_unlock(&v->lock);
}

/* ---- rendering ---- */

static uint32_t dac_color(const struct vga_regs *r, uint8_t idx)
{
	const uint8_t *c = r->dac[idx & r->dac_mask];

	if (r->dispi[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC)
		return (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
	/* 6-bit DAC values, scaled to 8 bits */
	return (uint32_t)((c[0] & 0x3f) << 2 | (c[0] & 0x3f) >> 4) << 16 |
	       (uint32_t)((c[1] & 0x3f) << 2 | (c[1] & 0x3f) >> 4) << 8 | (uint32_t)((c[2] & 0x3f) << 2 | (c[2] & 0x3f) >> 4);
}

/* Attribute controller palette index -> DAC index (VGA AR10 bit 7 picks how AR14 applies). */
static uint8_t ar_to_dac(const struct vga_regs *r, unsigned int c)
{
	if (r->ar[0x10] & 0x80)
		return (uint8_t)(((r->ar[0x14] & 0xf) << 4) | (r->ar[c] & 0xf));
	return (uint8_t)(((r->ar[0x14] & 0xc) << 4) | (r->ar[c] & 0x3f));
}

static unsigned int lowmem_base(const struct vga_regs *r)
{
	static const unsigned int base[4] = { 0, 0, 0x10000, 0x18000 };
	return base[(r->gr[6] >> 2) & 3];
}

static unsigned int vertical_display_end(const struct vga_regs *r)
{
	return (r->crtc[0x12] | ((r->crtc[7] & 0x02) << 7) | ((r->crtc[7] & 0x40) << 3)) + 1u;
}

#define TEXT_MAX_CELLS (160 * 100)

/* Called with the lock held. */
static int render_legacy(struct vga *v, struct ui_surface *s)
{
	const struct vga_regs *r = &v->r;
	unsigned int cols = r->crtc[1] + 1u, vde = vertical_display_end(r);
	unsigned int char_h = (r->crtc[9] & 0x1f) + 1u;

	if (!(r->ar_idx & 0x20) || (r->seq[1] & 0x20)) {
		/* Screen off (PAS clear or SR01 screen-off bit): black. */
		int e = ui_surface_resize(s, cols * 8, vde);
		if (e)
			return e;
		memset(s->pixels, 0, (size_t)s->width * s->height * 4);
		return 0;
	}
	if (r->gr[6] & 1) {
		/* Graphics. Only chain-4 256-colour (mode 13h and the like) is drawn. */
		unsigned int scan = char_h * ((r->crtc[9] & 0x80) ? 2 : 1);
		uint32_t w = cols * 4, h = vde / scan, pal[256];
		uint32_t start = ((uint32_t)r->crtc[0xc] << 8 | r->crtc[0xd]) * 4;

		if (!h)
			h = 1;
		if (!(r->seq[4] & 0x08)) {
			int e = ui_surface_resize(s, cols * 8, vde);
			if (e)
				return e;
			memset(s->pixels, 0, (size_t)s->width * s->height * 4);
			return 0;
		}
		for (unsigned int i = 0; i < 256; i++)
			pal[i] = dac_color(r, (uint8_t)i);
		start = MIN(start, (uint32_t)LOWMEM_SIZE);
		return ui_render_gfx(s, v->lowmem + start, LOWMEM_SIZE - start, w, h, 8, w, pal);
	}
	/* Text mode. */
	{
		struct ui_text t = { 0 };
		unsigned int base = lowmem_base(r);
		uint32_t start = ((uint32_t)r->crtc[0xc] << 8 | r->crtc[0xd]) * 2;
		uint32_t cursor = (uint32_t)r->crtc[0xe] << 8 | r->crtc[0xf];
		unsigned int rows = vde / char_h;
		uint32_t avail;

		if (!rows)
			rows = 1;
		if (cols * rows > TEXT_MAX_CELLS)
			rows = TEXT_MAX_CELLS / cols;
		/* Cells must lie inside the legacy buffer: fewer rows if not. */
		if (base + start >= LOWMEM_SIZE)
			start = 0;
		avail = (LOWMEM_SIZE - base - start) / 2;
		if (cols * rows > avail)
			rows = avail / cols;
		if (!rows)
			return -EINVAL;
		t.cells = v->lowmem + base + start;
		t.cols = cols;
		t.rows = rows;
		t.blink = r->ar[0x10] & 0x08;
		for (unsigned int i = 0; i < 16; i++)
			t.palette[i] = dac_color(r, ar_to_dac(r, i));
		t.cursor = -1;
		if (!(r->crtc[0xa] & 0x20) && cursor >= start / 2 && cursor - start / 2 < cols * rows)
			t.cursor = (int)(cursor - start / 2);
		t.cursor_start = r->crtc[0xa] & 0x1f;
		t.cursor_end = r->crtc[0xb] & 0x1f;
		t.char_height = char_h;
		return ui_render_text(s, &v->font, &t);
	}
}

/* Any VRAM page of [off, off+len) dirty since the last check? Lock held. */
static bool vram_changed(struct vga *v, uint64_t off, uint64_t len)
{
	uint64_t first, last;

	if (!v->host.vram_dirty || !v->vram_mapped)
		return true; /* no tracking: assume it changed */
	if (v->host.vram_dirty(v->host.ctx, v->dirty))
		return true;
	if (!len)
		return false;
	first = off / 4096;
	last = MIN((off + len - 1) / 4096, (uint64_t)VRAM_PAGES - 1);
	for (uint64_t p = first; p <= last; p++)
		if (v->dirty[p / 64] & (1ULL << (p % 64)))
			return true;
	return false;
}

int vga_render(void *opaque, struct ui_surface *s, bool force)
{
	struct vga *v = opaque;
	struct vga_regs *r = &v->r;
	int e;

	pthread_mutex_lock(&v->lock);
	if (dispi_enabled(r)) {
		uint32_t w = r->dispi[VBE_DISPI_INDEX_XRES], h = r->dispi[VBE_DISPI_INDEX_YRES];
		unsigned int bpp = r->dispi[VBE_DISPI_INDEX_BPP];
		uint32_t line = dispi_line_bytes(r);
		uint64_t off = (uint64_t)r->dispi[VBE_DISPI_INDEX_Y_OFFSET] * line +
			       (uint64_t)r->dispi[VBE_DISPI_INDEX_X_OFFSET] * dispi_bytes_pp(bpp);
		uint32_t pal[256];
		bool dirty;

		if (off >= VGA_VRAM_SIZE)
			off = 0;
		dirty = vram_changed(v, off, (uint64_t)line * h);
		if (!force && !dirty && v->seen_gen == v->gen) {
			v->stats.skipped++;
			pthread_mutex_unlock(&v->lock);
			return 0;
		}
		if (!force)
			v->seen_gen = v->gen;
		for (unsigned int i = 0; bpp == 8 && i < 256; i++)
			pal[i] = dac_color(r, (uint8_t)i);
		v->stats.renders++;
		pthread_mutex_unlock(&v->lock);
		/* VRAM is guest RAM: read it unlocked, like a scan-out engine would. */
		e = ui_render_gfx(s, v->vram + off, VGA_VRAM_SIZE - off, w, h, bpp, line, pal);
		return e ? e : 1;
	}
	if (!force && v->seen_gen == v->gen) {
		v->stats.skipped++;
		pthread_mutex_unlock(&v->lock);
		return 0;
	}
	if (!force)
		v->seen_gen = v->gen;
	v->stats.renders++;
	e = render_legacy(v, s);
	pthread_mutex_unlock(&v->lock);
	return e ? e : 1;
}

/* ---- lifecycle ---- */

struct vga *vga_create(const struct vga_host *host, const struct ui_font *font)
{
	struct vga *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->vram = mmap(NULL, VGA_VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		       0);
	if (v->vram == MAP_FAILED) {
		free(v);
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	if (host)
		v->host = *host;
	if (font)
		v->font = *font;
	/* PCI identity of the Bochs/QEMU standard VGA: display controller, VGA compatible. */
	pci_device_init(&v->pci, "vga", 0x1234, 0x1111, 0x030000, 2, 0x1af4, 0x1100);
	pci_device_set_ram_bar(&v->pci, 0, VGA_VRAM_SIZE, PCI_BAR_PREFETCH, vram_bar_map, v);
	pci_device_set_bar(&v->pci, 2, MMIO_BAR_SIZE, 0, vga_mmio_io, v);
	v->pci.opaque = v;
	power_on(v);
	return v;
}

struct pci_device *vga_pci(struct vga *v)
{
	return &v->pci;
}

uint8_t *vga_vram(struct vga *v)
{
	return v->vram;
}

void vga_get_stats(struct vga *v, struct vga_stats *out)
{
	pthread_mutex_lock(&v->lock);
	*out = v->stats;
	pthread_mutex_unlock(&v->lock);
}

static void vga_reset(void *dev)
{
	struct vga *v = dev;

	pthread_mutex_lock(&v->lock);
	power_on(v);
	pthread_mutex_unlock(&v->lock);
}

static ssize_t vga_save(void *dev, void *buf, size_t cap)
{
	struct vga *v = dev;

	/* Registers and the legacy buffer; VRAM travels with guest memory. */
	if (cap < sizeof(v->r) + LOWMEM_SIZE)
		return -ENOSPC;
	pthread_mutex_lock(&v->lock);
	memcpy(buf, &v->r, sizeof(v->r));
	memcpy((uint8_t *)buf + sizeof(v->r), v->lowmem, LOWMEM_SIZE);
	pthread_mutex_unlock(&v->lock);
	return (ssize_t)(sizeof(v->r) + LOWMEM_SIZE);
}

static int vga_load(void *dev, const void *buf, size_t len)
{
	struct vga *v = dev;
	struct vga_regs r;

	if (len != sizeof(r) + LOWMEM_SIZE)
		return -EINVAL;
	memcpy(&r, buf, sizeof(r));
	if (r.magic != VGA_STATE_MAGIC || r.version != VGA_STATE_VERSION || r.dac_sub > 2 ||
	    r.dispi[VBE_DISPI_INDEX_BANK] >= (VGA_VRAM_SIZE >> 16) || r.dispi[VBE_DISPI_INDEX_XRES] > VBE_DISPI_MAX_XRES ||
	    r.dispi[VBE_DISPI_INDEX_YRES] > VBE_DISPI_MAX_YRES)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	v->r = r;
	memcpy(v->lowmem, (const uint8_t *)buf + sizeof(r), LOWMEM_SIZE);
	changed(v);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static void vga_destroy(void *dev)
{
	struct vga *v = dev;

	log_debug("vga: %llu renders, %llu skipped (unchanged), %llu mode changes",
		  (unsigned long long)v->stats.renders, (unsigned long long)v->stats.skipped,
		  (unsigned long long)v->stats.mode_changes);
	munmap(v->vram, VGA_VRAM_SIZE);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

const struct device_ops vga_ops = {
	.name = "vga",
	.reset = vga_reset,
	.save = vga_save,
	.load = vga_load,
	.destroy = vga_destroy,
};
