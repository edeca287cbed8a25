/* SPDX-License-Identifier: MIT */
/*
 * vga: the standard VGA PCI display (1234:1111, as QEMU's -vga std, what
 * Linux's bochs-drm and SeaBIOS's vgabios-stdvga drive). src/dev/vga.c
 *
 *   BAR0  16 MiB prefetchable linear framebuffer: host RAM the VM maps with a
 *         KVM memory slot (vga_host.map_vram) when the guest places the BAR;
 *         writes are tracked with the slot's dirty log (vga_host.vram_dirty)
 *   BAR2  4 KiB MMIO: VGA ports 0x3c0-0x3df at 0x400, Bochs VBE DISPI
 *         registers at 0x500 (16-bit, index * 2), QEMU extended regs at 0x600
 *   ports 0x3b0-0x3df (VGA registers), 0x1ce/0x1cf (DISPI index/data)
 *   0xa0000-0xbffff legacy window (text buffer at 0xb8000), MMIO
 *
 * Rendering (vga_render): DISPI graphics modes from the framebuffer, VGA text
 * mode with a PSF font and the cursor, and chain-4 256-colour mode (13h).
 */
#ifndef VMKIT_VGA_H
#define VMKIT_VGA_H

#include <stdbool.h>
#include <stdint.h>

#include "vmkit/bus.h"
#include "vmkit/dev.h"
#include "vmkit/pci.h"
#include "vmkit/ui.h"

#define VGA_VRAM_SIZE (16u << 20)
#define VGA_PORT_BASE 0x3b0
#define VGA_PORT_LEN 0x30
#define VGA_DISPI_PORT 0x1ce
#define VGA_DISPI_PORT_LEN 3 /* 0x1ce index, 0x1cf (and 0x1d0) data */
#define VGA_WINDOW_BASE 0xa0000
#define VGA_WINDOW_LEN 0x20000

/* Bochs VBE DISPI register indices and ENABLE bits (Bochs vbe.h). */
#define VBE_DISPI_INDEX_ID 0x0
#define VBE_DISPI_INDEX_XRES 0x1
#define VBE_DISPI_INDEX_YRES 0x2
#define VBE_DISPI_INDEX_BPP 0x3
#define VBE_DISPI_INDEX_ENABLE 0x4
#define VBE_DISPI_INDEX_BANK 0x5
#define VBE_DISPI_INDEX_VIRT_WIDTH 0x6
#define VBE_DISPI_INDEX_VIRT_HEIGHT 0x7
#define VBE_DISPI_INDEX_X_OFFSET 0x8
#define VBE_DISPI_INDEX_Y_OFFSET 0x9
#define VBE_DISPI_INDEX_VIDEO_MEMORY_64K 0xa
#define VBE_DISPI_INDEX_NB 0xb
#define VBE_DISPI_ID0 0xb0c0
#define VBE_DISPI_ID5 0xb0c5
#define VBE_DISPI_ENABLED 0x01
#define VBE_DISPI_GETCAPS 0x02
#define VBE_DISPI_8BIT_DAC 0x20
#define VBE_DISPI_LFB_ENABLED 0x40
#define VBE_DISPI_NOCLEARMEM 0x80
#define VBE_DISPI_MAX_XRES 2560
#define VBE_DISPI_MAX_YRES 1600

/* What the device needs from the VM (only kvm/ issues ioctls). */
struct vga_host {
	/* Map (map = true) or unmap the framebuffer RAM hva[0, size) at gpa. 0 or -errno. */
	int (*map_vram)(void *ctx, uint64_t gpa, void *hva, uint64_t size, bool map);
	/*
	 * Copy and clear the dirty-page bitmap (bit n = page n of VRAM written)
	 * of the mapped framebuffer; -errno when unknown (every page counts as dirty).
	 */
	int (*vram_dirty)(void *ctx, uint64_t *bitmap);
	void *ctx;
};

struct vga;

/*
 * Create the device. host may be NULL (unit tests: no RAM mapping, no dirty
 * log). font is copied (glyphs shared: keep it alive until vga_destroy). NULL on ENOMEM.
 */
struct vga *vga_create(const struct vga_host *host, const struct ui_font *font);
/* Its PCI function (plug it on the bus; BARs are declared). */
struct pci_device *vga_pci(struct vga *v);
/* Host pointer to VRAM (VGA_VRAM_SIZE bytes): what the guest sees through BAR0. */
uint8_t *vga_vram(struct vga *v);

void vga_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);  /* 0x3b0 */
void vga_dispi_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write); /* 0x1ce */
void vga_window_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write); /* 0xa0000 */
void vga_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);   /* BAR2 */

/* ui_display.render: see vmkit/ui.h. Any thread. */
int vga_render(void *opaque, struct ui_surface *s, bool force);

/* Counters. */
struct vga_stats {
	uint64_t renders, skipped, bad_accesses, mode_changes;
};
void vga_get_stats(struct vga *v, struct vga_stats *out);

extern const struct device_ops vga_ops;

#endif
