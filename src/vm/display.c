// SPDX-License-Identifier: MIT
/*
 * The display build phase: the standard VGA device (--vga std) with its
 * framebuffer in a KVM memory slot, the VNC server (--vnc) with keyboard and
 * mouse routed to the i8042, and the screenshot monitor socket (--monitor).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm_priv.h"
#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/vga.h"
#include "vmkit/virtio_input.h"
#include "vmkit/vnc.h"
#include "vmkit/x86.h"

#define VGA_BIOS_PATH "/usr/share/seabios/vgabios-stdvga.bin"

/* ---- vga_host: the framebuffer slot ---- */

static int map_vram(void *ctx, uint64_t gpa, void *hva, uint64_t size, bool map)
{
	struct vm *vm = ctx;

	if (!map)
		return kvm_set_memory_slot(&vm->kvm, vm->vram_slot, 0, 0, NULL, 0);
	/* Log dirty pages so an unchanged screen is neither rendered nor sent. */
	if (!kvm_set_memory_slot(&vm->kvm, vm->vram_slot, gpa, size, hva, KVM_MEM_LOG_DIRTY_PAGES))
		return 0;
	return kvm_set_memory_slot(&vm->kvm, vm->vram_slot, gpa, size, hva, 0);
}

static int vram_dirty(void *ctx, uint64_t *bitmap)
{
	struct vm *vm = ctx;

	return kvm_get_dirty_log(&vm->kvm, vm->vram_slot, bitmap);
}

/* ---- ui_input: VNC keyboard and pointer -> i8042 ---- */

static void input_key(void *opaque, uint32_t keysym, bool down)
{
	struct vm *vm = opaque;
	uint8_t codes[8];
	size_t n = ui_keysym_to_set2(keysym, down, codes);

	if (n)
		i8042_key_event(vm->kbc, codes, n);
}

static void input_pointer(void *opaque, int x, int y, int buttons, int width, int height)
{
	struct vm *vm = opaque;
	/* RFB buttons: bit 0 left, 1 middle, 2 right; PS/2: bit 0 left, 1 right, 2 middle. */
	int ps2 = (buttons & 1) | ((buttons & 4) ? 2 : 0) | ((buttons & 2) ? 4 : 0);
	int dx = vm->ptr_valid ? x - vm->ptr_x : 0, dy = vm->ptr_valid ? y - vm->ptr_y : 0;
	/* RFB buttons 3 and 4 (masks 8, 16) are wheel up and down, one step per press. */
	int pressed = buttons & ~vm->ptr_raw;
	int wheel = (pressed & 8) ? 1 : (pressed & 16) ? -1 : 0;

	if (vm->tablet) {
		/* Absolute: scale the screen position to the tablet's 0..32767 axes. */
		uint32_t ax = width > 1 ? (uint32_t)((uint64_t)x * VIRTIO_INPUT_ABS_MAX / (uint32_t)(width - 1)) : 0;
		uint32_t ay = height > 1 ? (uint32_t)((uint64_t)y * VIRTIO_INPUT_ABS_MAX / (uint32_t)(height - 1)) : 0;
		virtio_input_tablet_event(vm->tablet, ax, ay, (unsigned int)ps2, wheel);
	} else if (dx || dy || ps2 != vm->ptr_buttons) {
		i8042_mouse_event(vm->kbc, dx, dy, ps2);
	}
	vm->ptr_raw = buttons;
	vm->ptr_x = x;
	vm->ptr_y = y;
	vm->ptr_buttons = ps2;
	vm->ptr_valid = true;
}

static unsigned int input_leds(void *opaque)
{
	struct vm *vm = opaque;
	unsigned int l = i8042_leds(vm->kbc);

	/* PS/2 LED bits are Scroll, Num, Caps from bit 0: the UI_LED_* order. */
	return l & (UI_LED_SCROLL | UI_LED_NUM | UI_LED_CAPS);
}

/* ---- the monitor socket: "screenshot PATH" ---- */

static void monitor_reply(int fd, const char *s)
{
	ssize_t r = write(fd, s, strlen(s));
	(void)r;
}

static void monitor_client(struct vm *vm, int fd)
{
	char line[4200], msg[4400];
	size_t len = 0;
	struct timeval tv = { .tv_sec = 2 };

	/* One command per connection, read with a timeout: a silent client cannot stall the loop for long. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < sizeof(line) - 1) {
		ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (!strncmp(line, "screenshot ", 11) && line[11] == '/') {
		struct ui_surface s = { 0 };
		int r = vm->vga ? vga_render(vm->vga, &s, true) : -ENODEV;

		if (r > 0)
			r = ui_surface_write_png(&s, line + 11);
		if (r >= 0)
			snprintf(msg, sizeof(msg), "ok %ux%u\n", s.width, s.height);
		else
			snprintf(msg, sizeof(msg), "error: %s\n", r == -ENODEV ? "no display (--vga none)" : strerror(-r));
		ui_surface_free(&s);
	} else {
		snprintf(msg, sizeof(msg), "error: unknown command (expected: screenshot /ABSOLUTE/PATH.png)\n");
	}
	monitor_reply(fd, msg);
}

static void on_monitor(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	int fd = accept4(vm->monitor_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	monitor_client(vm, fd);
	close(fd);
}

static int monitor_listen(struct vm *vm, const char *path, char *err, size_t errlen)
{
	int fd = unix_listen(path, 4, "--monitor", err, errlen), r;

	if (fd < 0)
		return fd;
	vm->monitor_fd = fd;
	r = event_loop_add(&vm->loop, fd, EPOLLIN, on_monitor, vm);
	if (r)
		snprintf(err, errlen, "--monitor: %s", strerror(-r));
	return r;
}

/* ---- the phase ---- */

int display_build(struct vm *vm, char *err, size_t errlen)
{
	struct vga_host host = { .map_vram = map_vram, .vram_dirty = vram_dirty, .ctx = vm };
	const char *font;
	int r;

	if (vm->cfg.monitor) {
		r = monitor_listen(vm, vm->cfg.monitor + 5, err, errlen);
		if (r)
			return r;
	}
	/* Default: a display when someone can look at it (--vnc), none otherwise. */
	if (vm->cfg.vga ? strcmp(vm->cfg.vga, "std") : !vm->cfg.vnc)
		return 0;
	font = getenv("VMKIT_FONT");
	if (!font || !*font)
		font = UI_DEFAULT_FONT;
	r = ui_font_load(&vm->font, font, err, errlen);
	if (r) {
		/* Text mode still works, as boxes: better than no VM. */
		log_warn("%s; VGA text is drawn as boxes", err);
		err[0] = '\0';
		r = ui_font_fallback(&vm->font);
		if (r) {
			snprintf(err, errlen, "out of memory for the fallback font");
			return r;
		}
	}
	vm->font_loaded = true;
	vm->vram_slot = kvm_reserve_slot(&vm->kvm);
	vm->vga = vga_create(&host, &vm->font);
	if (!vm->vga) {
		snprintf(err, errlen, "out of memory creating the VGA device");
		return -ENOMEM;
	}
	if ((r = vm_add_device(vm, &vga_ops, vm->vga)))
		goto fail;
	if (vm->firmware) {
		/* The firmware runs the card's option ROM (SeaBIOS's vgabios for this card) to set up int 10h. */
		const char *rom = getenv("VMKIT_VGA_BIOS");

		if (!rom || !*rom)
			rom = VGA_BIOS_PATH;
		r = read_file_all(rom, 1 << 20, &vm->vga_rom, &vm->vga_rom_len);
		if (r) {
			/* The machine still boots; only int 10h video is missing until a driver takes over. */
			log_warn("cannot read the VGA BIOS %s: %s (install seabios); the display has no option ROM",
				 rom, strerror(-r));
			vm->vga_rom = NULL;
		} else if ((r = pci_device_set_rom(vga_pci(vm->vga), vm->vga_rom, vm->vga_rom_len))) {
			goto fail;
		}
	}
	if ((r = bus_register(&vm->pio, VGA_PORT_BASE, VGA_PORT_LEN, vga_port_io, vm->vga, "vga")) ||
	    (r = bus_register(&vm->pio, VGA_DISPI_PORT, VGA_DISPI_PORT_LEN, vga_dispi_io, vm->vga, "vbe-dispi")) ||
	    (r = bus_register(&vm->mmio, VGA_WINDOW_BASE, VGA_WINDOW_LEN, vga_window_io, vm->vga, "vga-window")) ||
	    (r = pci_bus_plug(&vm->pci, vga_pci(vm->vga), -1)))
		goto fail;
	if (vm->cfg.tablet) {
		vm->tablet = virtio_input_tablet_create();
		if (!vm->tablet) {
			snprintf(err, errlen, "out of memory creating the virtio-input tablet");
			return -ENOMEM;
		}
		r = attach_virtio(vm, &virtio_input_ops, vm->tablet, "virtio-input tablet", VIRTIO_TRANSPORT_DEFAULT,
				  err, errlen);
		if (r) {
			vm->tablet = NULL;
			return r;
		}
	}
	if (vm->cfg.vnc) {
		struct vnc_spec spec;
		struct ui_display d = { .render = vga_render, .opaque = vm->vga };
		struct ui_input in = { .key = input_key, .pointer = input_pointer, .leds = input_leds, .opaque = vm };

		r = vnc_spec_parse(vm->cfg.vnc, &spec, err, errlen);
		if (r)
			return r;
		vm->vnc = vnc_start(&spec, &d, &in, err, errlen);
		if (!vm->vnc)
			return -EINVAL;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot wire the VGA device: %s", strerror(-r));
	return r;
}

void display_stop(struct vm *vm)
{
	vnc_stop(vm->vnc);
	vm->vnc = NULL;
	if (vm->monitor_fd >= 0) {
		close(vm->monitor_fd);
		vm->monitor_fd = -1;
		if (vm->cfg.monitor)
			unlink(vm->cfg.monitor + 5);
	}
}

void display_free(struct vm *vm)
{
	free(vm->vga_rom);
	vm->vga_rom = NULL;
	if (vm->font_loaded)
		ui_font_free(&vm->font);
	vm->font_loaded = false;
}
