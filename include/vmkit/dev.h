/* SPDX-License-Identifier: MIT */
/*
 * dev: the contract every device implements, and the machine-level requests a
 * device may make (power off, reset, debug exit).
 *
 * Every device's state is saveable and restorable (snapshot and live migration
 * build on this): save() writes a versioned, self-describing blob; load()
 * validates it completely before touching the device.
 */
#ifndef VMKIT_DEV_H
#define VMKIT_DEV_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include "vmkit/chardev.h"
#include "vmkit/irq.h"

struct device_ops {
	const char *name;
	/* Return to power-on state (guest reset). */
	void (*reset)(void *dev);
	/* Write state into buf (cap bytes). Bytes written, or -ENOSPC. */
	ssize_t (*save)(void *dev, void *buf, size_t cap);
	/* Restore state; -EINVAL if the blob is malformed or of another version. */
	int (*load)(void *dev, const void *buf, size_t len);
	/* Free the device. */
	void (*destroy)(void *dev);
};

/* A device instance in the VM's device list (owned by the VM). */
struct device {
	const struct device_ops *ops;
	void *impl;
	struct device *next;
};

enum machine_event {
	MACHINE_POWEROFF,   /* ACPI S5 */
	MACHINE_RESET,      /* i8042 pulse, 0xcf9, ACPI reset register */
	MACHINE_DEBUG_EXIT, /* port 0xf4: status carries (v << 1) | 1 */
};

/* How a device asks the VM to stop. Thread-safe; callable from any thread. */
struct machine_ctl {
	void (*request)(void *ctx, enum machine_event ev, int status);
	void *ctx;
};

static inline void machine_request(const struct machine_ctl *mc, enum machine_event ev, int status)
{
	if (mc && mc->request)
		mc->request(mc->ctx, ev, status);
}

/*
 * Process exit statuses of `vmkit run` (documented in vmkit(1)). Debug-exit
 * statuses are odd, (v << 1) | 1; vmkit's own statuses are even except
 * VMKIT_EXIT_ERROR.
 */
#define VMKIT_EXIT_POWEROFF 0
#define VMKIT_EXIT_ERROR 1 /* host-side runtime error (also debug-exit v=0) */
#define VMKIT_EXIT_USAGE 2
#define VMKIT_EXIT_RESET 4 /* the guest asked for a reset/reboot */
#define VMKIT_EXIT_CRASH 6 /* triple fault, KVM internal/emulation error */

/*
 * Legacy PC devices. Each is one file in src/dev/. The VM wires them
 * explicitly: create, then bus_register(pio, PORT, LEN, <dev>_io, dev, name),
 * then add to its device list with <dev>_ops. All handlers are bus_io_fn
 * (vmkit/bus.h) and take offsets within their range.
 */

/* 8250/16550A UART (one COM port, 8 registers). serial.c */
struct serial;
struct serial *serial_create(const struct irq_line *irq, struct chardev *chr);
void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
/* Host input; matches chardev_frontend.receive. Returns bytes accepted. */
size_t serial_receive(void *opaque, const uint8_t *buf, size_t len);
extern const struct device_ops serial_ops;

/* MC146818 CMOS RTC + NVRAM, ports 0x70-0x71. rtc.c */
struct rtc;
struct rtc *rtc_create(const struct irq_line *irq);
void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
/* Set an NVRAM byte (memory size registers etc.); idx < 128. */
void rtc_set_cmos(struct rtc *r, uint8_t idx, uint8_t val);
extern const struct device_ops rtc_ops;

/* i8042 keyboard controller: data port 0x60 (len 1), command/status 0x64 (len 1). i8042.c */
struct i8042;
struct i8042 *i8042_create(const struct irq_line *kbd_irq, const struct irq_line *mouse_irq,
			   const struct machine_ctl *ctl);
void i8042_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
void i8042_cmd_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
/*
 * Host keyboard input (e.g. VNC): the scancode set 2 bytes of one key event
 * ("1c" make, "f0 1c" break, "e0 75" ...). Queued as the keyboard would send
 * them, translated to set 1 when the command byte asks for it. Dropped while
 * the keyboard is not scanning or its queue cannot take all n bytes.
 * Thread-safe; any thread.
 */
void i8042_key_event(struct i8042 *c, const uint8_t *set2_bytes, size_t n);
/*
 * Host mouse input: relative motion in screen coordinates (dy > 0 is down)
 * and the buttons held (bit 0 left, bit 1 right, bit 2 middle). Queues
 * 3-byte PS/2 packets while the guest has enabled stream reporting; large
 * moves become several packets. Thread-safe; any thread.
 */
void i8042_mouse_event(struct i8042 *c, int dx, int dy, int buttons);
/* The keyboard LEDs the guest set (command 0xed): bit 0 Scroll, 1 Num, 2 Caps Lock. Thread-safe. */
unsigned int i8042_leds(struct i8042 *c);
extern const struct device_ops i8042_ops;

/* isa-debug-exit at 0xf4 (len 4): a write of v requests exit status (v << 1) | 1. debug_exit.c */
struct debug_exit;
struct debug_exit *debug_exit_create(const struct machine_ctl *ctl);
void debug_exit_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
extern const struct device_ops debug_exit_ops;

/*
 * Firmware debug console at 0x402 (len 1): bytes written go to fd (line
 * buffered; -1 discards), reads return 0xe9. own_fd: closed on destroy.
 * debugcon.c
 */
#define X86_DEBUGCON_PORT 0x402
struct debugcon;
struct debugcon *debugcon_create(int fd, bool own_fd);
void debugcon_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
extern const struct device_ops debugcon_ops;

/*
 * ACPI fixed-hardware PM block at X86_ACPI_PM_BASE (len X86_ACPI_PM_LEN) and the
 * reset control register at 0xcf9 (len 1). acpi_pm.c
 */
struct acpi_pm;
struct acpi_pm *acpi_pm_create(const struct irq_line *sci, const struct machine_ctl *ctl);
void acpi_pm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
void acpi_pm_reset_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
/* Press the ACPI power button (PM1_STS.PWRBTN_STS, SCI if enabled). */
void acpi_pm_power_button(struct acpi_pm *pm);
extern const struct device_ops acpi_pm_ops;

#endif
