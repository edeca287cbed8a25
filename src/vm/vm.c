// SPDX-License-Identifier: MIT
/*
 * Building, running and tearing down one VM. The build phases run in a fixed
 * order and vm_destroy() undoes whatever was built, in reverse.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vm_priv.h"
#include "vmkit/boot.h"
#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/virtio_balloon.h"
#include "vmkit/virtio_blk.h"
#include "vmkit/virtio_console.h"
#include "vmkit/virtio_mmio.h"
#include "vmkit/virtio_net.h"
#include "vmkit/virtio_pci.h"
#include "vmkit/virtio_rng.h"
#include "vmkit/virtio_vsock.h"
#include "vmkit/x86.h"
#include "vmkit/x86_vcpu.h"

/* KVM's private pages for VMX real mode, just below the BIOS ROM area. */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR 0xfffbd000ULL

#define MAX_KERNEL_SIZE (512ULL * MiB)
#define MAX_INITRD_SIZE (2ULL * GiB)

void vm_stop(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		vm->exit_status = status;
		atomic_store(&vm->stopping, true);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	vcpus_kick_all(vm);
	if (vm->loop_ready)
		event_loop_stop(&vm->loop);
}

static void machine_request_cb(void *ctx, enum machine_event ev, int status)
{
	struct vm *vm = ctx;

	switch (ev) {
	case MACHINE_POWEROFF:
		log_info("guest powered off");
		vm_stop(vm, VMKIT_EXIT_POWEROFF);
		break;
	case MACHINE_RESET:
		log_info("guest requested a reset");
		vm_stop(vm, VMKIT_EXIT_RESET);
		break;
	case MACHINE_DEBUG_EXIT:
		vm_stop(vm, status);
		break;
	}
}

static void irq_set_cb(void *ctx, uint32_t gsi, int level)
{
	struct vm *vm = ctx;
	int err = kvm_irq_line(&vm->kvm, gsi, level);

	if (err)
		log_ratelimited(LOG_WARN, "KVM_IRQ_LINE gsi %u: %s", gsi, strerror(-err));
}

static struct irq_line vm_irq(struct vm *vm, uint32_t gsi)
{
	return (struct irq_line){ .set = irq_set_cb, .ctx = vm, .gsi = gsi };
}

int vm_add_device(struct vm *vm, const struct device_ops *ops, void *impl)
{
	struct device *d = calloc(1, sizeof(*d)), **pp;

	if (!d) {
		ops->destroy(impl);
		return -ENOMEM;
	}
	d->ops = ops;
	d->impl = impl;
	/* Append: teardown walks the list in order, after the buses stop dispatching. */
	for (pp = &vm->devices; *pp; pp = &(*pp)->next)
		;
	*pp = d;
	return 0;
}

static void console_quit(void *opaque)
{
	struct vm *vm = opaque;

	fprintf(stderr, "\r\nvmkit: terminated by Ctrl-A x\r\n");
	vm_stop(vm, VMKIT_EXIT_POWEROFF);
}

/* Phase: legacy PC devices on the PIO bus. */
static int build_devices(struct vm *vm, char *err, size_t errlen)
{
	struct irq_line irq_com1 = vm_irq(vm, X86_COM1_IRQ), irq_rtc = vm_irq(vm, X86_RTC_IRQ),
			irq_kbd = vm_irq(vm, X86_KBD_IRQ), irq_mouse = vm_irq(vm, X86_MOUSE_IRQ),
			irq_sci = vm_irq(vm, X86_ACPI_SCI_IRQ);
	struct serial *com1;
	struct i8042 *kbc;
	struct debug_exit *dbg;
	struct acpi_pm *pm;
	int r;

	/* --console virtio: the terminal goes to hvc0 and COM1 is left unconnected. */
	vm->virtio_console = !strcmp(vm->cfg.console, "virtio");
	vm->console = chardev_open(vm->virtio_console ? "stdio" : vm->cfg.console, err, errlen);
	if (!vm->console)
		return -EINVAL;
	vm->serial_chr = vm->virtio_console ? chardev_open("none", err, errlen) : vm->console;
	if (!vm->serial_chr)
		return -ENOMEM;

	com1 = serial_create(&irq_com1, vm->serial_chr);
	vm->rtc = rtc_create(&irq_rtc);
	kbc = i8042_create(&irq_kbd, &irq_mouse, &vm->ctl);
	vm->kbc = kbc;
	dbg = debug_exit_create(&vm->ctl);
	pm = acpi_pm_create(&irq_sci, &vm->ctl);
	if (!com1 || !vm->rtc || !kbc || !dbg || !pm) {
		snprintf(err, errlen, "cannot create the legacy devices: out of memory");
		return -ENOMEM;
	}
	if ((r = vm_add_device(vm, &serial_ops, com1)) || (r = vm_add_device(vm, &rtc_ops, vm->rtc)) ||
	    (r = vm_add_device(vm, &i8042_ops, kbc)) || (r = vm_add_device(vm, &debug_exit_ops, dbg)) ||
	    (r = vm_add_device(vm, &acpi_pm_ops, pm)))
		goto fail;

	if ((r = bus_register(&vm->pio, X86_COM1_PORT, 8, serial_io, com1, "com1")) ||
	    (r = bus_register(&vm->pio, X86_RTC_PORT, 2, rtc_io, vm->rtc, "rtc")) ||
	    (r = bus_register(&vm->pio, X86_I8042_DATA, 1, i8042_data_io, kbc, "i8042-data")) ||
	    (r = bus_register(&vm->pio, X86_I8042_CMD, 1, i8042_cmd_io, kbc, "i8042-cmd")) ||
	    (r = bus_register(&vm->pio, X86_DEBUG_EXIT_PORT, 4, debug_exit_io, dbg, "debug-exit")) ||
	    (r = bus_register(&vm->pio, X86_ACPI_PM_BASE, X86_ACPI_PM_LEN, acpi_pm_io, pm, "acpi-pm")))
		goto fail;
	/* 0xcf9 shares the PCI CONFIG_ADDRESS dword: the host bridge forwards byte accesses. */
	pci_bus_set_cf9_handler(&vm->pci, acpi_pm_reset_io, pm);

	if (!vm->virtio_console) {
		struct chardev_frontend fe = { .receive = serial_receive, .opaque = com1 };
		r = chardev_attach(vm->console, &vm->loop, &fe, console_quit, vm);
		if (r)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot wire the legacy devices: %s", strerror(-r));
	return r;
}

/* virtio-mmio slot i: its register window and interrupt (above the ISA IRQs). */
static uint64_t virtio_mmio_base(unsigned int i)
{
	return X86_VIRTIO_MMIO_BASE + i * X86_VIRTIO_MMIO_STRIDE;
}

static uint32_t virtio_mmio_gsi(unsigned int i)
{
	return 16 + i;
}

static void virtio_mmio_device_destroy(void *dev)
{
	virtio_mmio_destroy(dev);
}

static ssize_t virtio_mmio_device_save(void *dev, void *buf, size_t cap)
{
	return virtio_mmio_save(dev, buf, cap);
}

static int virtio_mmio_device_load(void *dev, const void *buf, size_t len)
{
	return virtio_mmio_load(dev, buf, len);
}

static const struct device_ops virtio_mmio_device_ops = {
	.name = "virtio-mmio",
	.save = virtio_mmio_device_save,
	.load = virtio_mmio_device_load,
	.destroy = virtio_mmio_device_destroy,
};

/* Put a virtio device on the next virtio-mmio slot. Takes ownership of impl. */
static int attach_virtio_mmio(struct vm *vm, const struct virtio_device_ops *ops, void *impl, const char *what,
			      char *err, size_t errlen)
{
	unsigned int slot = vm->nr_mmio_slots;
	struct irq_line irq = vm_irq(vm, virtio_mmio_gsi(slot));
	struct virtio_mmio *m;
	int r;

	if (slot >= X86_VIRTIO_MMIO_MAX) {
		ops->destroy(impl);
		snprintf(err, errlen, "too many virtio-mmio devices (at most %d; use transport=pci)",
			 X86_VIRTIO_MMIO_MAX);
		return -ENOSPC;
	}
	m = virtio_mmio_create(ops, impl, &vm->mem, &irq);
	if (!m) {
		ops->destroy(impl);
		snprintf(err, errlen, "out of memory creating %s", what);
		return -ENOMEM;
	}
	r = vm_add_device(vm, &virtio_mmio_device_ops, m);
	if (!r)
		r = bus_register(&vm->mmio, virtio_mmio_base(slot), VIRTIO_MMIO_SIZE, virtio_mmio_io, m, ops->name);
	if (r) {
		snprintf(err, errlen, "cannot attach %s: %s", what, strerror(-r));
		return r;
	}
	vm->nr_mmio_slots++;
	r = virtio_mmio_attach_notify(m, &vm->io.loop, &vm->ioev_ctl, virtio_mmio_base(slot));
	if (r) {
		snprintf(err, errlen, "cannot set up notifications for %s: %s", what, strerror(-r));
		return r;
	}
	return 0;
}

static void virtio_pci_device_destroy(void *dev)
{
	virtio_pci_destroy(dev);
}

static ssize_t virtio_pci_device_save(void *dev, void *buf, size_t cap)
{
	return virtio_pci_save(dev, buf, cap);
}

static int virtio_pci_device_load(void *dev, const void *buf, size_t len)
{
	return virtio_pci_load(dev, buf, len);
}

static const struct device_ops virtio_pci_device_ops = {
	.name = "virtio-pci",
	.save = virtio_pci_device_save,
	.load = virtio_pci_device_load,
	.destroy = virtio_pci_device_destroy,
};

/* Put a virtio device on the next free slot of PCI bus 0. Takes ownership of impl. */
static int attach_virtio_pci(struct vm *vm, const struct virtio_device_ops *ops, void *impl, const char *what,
			     char *err, size_t errlen)
{
	struct virtio_pci_env env = {
		.mem = &vm->mem, .msi = &vm->msi_ctl, .ioev = &vm->ioev_ctl, .loop = &vm->io.loop,
	};
	struct virtio_pci *p = virtio_pci_create(ops, impl, &env);
	struct pci_device *d;
	struct irq_line line;
	int r;

	if (!p) {
		snprintf(err, errlen, "cannot create %s on virtio-pci: out of memory or file descriptors", what);
		return -ENOMEM;
	}
	r = vm_add_device(vm, &virtio_pci_device_ops, p);
	if (r) {
		snprintf(err, errlen, "cannot attach %s: %s", what, strerror(-r));
		return r;
	}
	d = virtio_pci_device(p);
	r = pci_bus_plug(&vm->pci, d, -1);
	if (r) {
		snprintf(err, errlen, "cannot attach %s: %s", what,
			 r == -ENOSPC ? "PCI bus 0 is full (32 slots)" : strerror(-r));
		return r;
	}
	line = vm_irq(vm, X86_PCI_INTX_GSI(d->devfn >> 3, 0));
	virtio_pci_set_intx(p, &line);
	return 0;
}

int attach_virtio(struct vm *vm, const struct virtio_device_ops *ops, void *impl, const char *what,
		  enum virtio_transport t, char *err, size_t errlen)
{
	switch (vm_config_transport(&vm->cfg, t)) {
	case VIRTIO_TRANSPORT_MMIO:
		return attach_virtio_mmio(vm, ops, impl, what, err, errlen);
	case VIRTIO_TRANSPORT_PCI:
	default:
		return attach_virtio_pci(vm, ops, impl, what, err, errlen);
	}
}

/* Phase: virtio devices (disks, console, entropy) on their transports */
static int build_virtio(struct vm *vm, char *err, size_t errlen)
{
	unsigned int auto_poll_us = 0; /* measured once, for the first disk that asks */
	int r;

	for (unsigned int i = 0; i < vm->cfg.nr_disks; i++) {
		const struct vm_disk_config *d = &vm->cfg.disks[i];

		if (!d->poll_set && !auto_poll_us) {
			uint64_t wake_ns = event_wake_cost_ns();

			auto_poll_us = event_auto_poll_us(wake_ns);
			log_debug("a thread wake-up costs %llu ns here: disks poll their queues for up to %u us",
				  (unsigned long long)wake_ns, auto_poll_us);
		}
		struct virtio_blk_config bc = {
			.path = d->path,
			.readonly = d->readonly,
			.serial = d->serial,
			/* One queue per vCPU by default, so each CPU's blk-mq context has its own. */
			.num_queues = d->queues ? d->queues : MIN(vm->cfg.nr_cpus, (unsigned int)VM_MAX_DISK_QUEUES),
			.direct = d->direct,
			.aio = d->aio == VM_DISK_AIO_IO_URING ? DISK_AIO_IO_URING
			       : d->aio == VM_DISK_AIO_THREADS ? DISK_AIO_THREADS
							  : DISK_AIO_AUTO,
			/* Both transports serve kicks on the I/O thread: completions are reaped there. */
			.loop = &vm->io.loop,
			.poll_us = d->poll_set ? d->poll_us : auto_poll_us,
		};
		struct virtio_blk *blk = virtio_blk_create(&bc, err, errlen);
		struct vm_dev_snapshot before;

		if (!blk)
			return -EINVAL;
		vm_dev_snapshot(vm, &before);
		r = attach_virtio(vm, virtio_blk_dev_ops(blk), blk, d->path, d->transport, err, errlen);
		if (r)
			return r;
		vm_firmware_note_disk(vm, &before);
	}
	if (vm->virtio_console) {
		struct virtio_console *con = virtio_console_create(vm->console);
		struct chardev_frontend fe = { .receive = virtio_console_receive, .opaque = con };

		if (!con) {
			snprintf(err, errlen, "out of memory creating virtio-console");
			return -ENOMEM;
		}
		r = attach_virtio(vm, &virtio_console_ops, con, "virtio-console", VIRTIO_TRANSPORT_DEFAULT, err, errlen);
		if (r)
			return r;
		r = chardev_attach(vm->console, &vm->loop, &fe, console_quit, vm);
		if (r) {
			snprintf(err, errlen, "cannot attach the console: %s", strerror(-r));
			return r;
		}
	}
	for (unsigned int i = 0; i < vm->cfg.nr_nics; i++) {
		const struct vm_net_config *nc = &vm->cfg.nics[i];
		struct net_backend *be = nc->tap ? net_tap_open(nc->ifname, nc->queues, err, errlen)
						 : net_slirp_open(&nc->user, err, errlen);
		struct virtio_net *net;

		if (!be)
			return -EINVAL;
		net = virtio_net_create(be, nc->mac); /* owns be from here on */
		if (!net) {
			r = -errno; /* be is gone with the device */
			snprintf(err, errlen, "cannot create virtio-net on %s: %s", nc->tap ? nc->ifname : "user networking",
				 strerror(-r));
			return r;
		}
		r = attach_virtio(vm, virtio_net_ops(net), net, "virtio-net", nc->transport, err, errlen);
		if (r)
			return r;
	}
	if (vm->cfg.balloon) {
		struct virtio_balloon_params bp = {
			.target = vm->cfg.balloon_target,
			.control = vm->cfg.balloon_control[0] ? vm->cfg.balloon_control : NULL,
			.deflate_on_oom = vm->cfg.balloon_deflate_on_oom,
			.reporting = vm->cfg.balloon_reporting,
		};
		struct virtio_balloon *b = virtio_balloon_create(&bp, vm->mem.total);

		if (!b) {
			snprintf(err, errlen, "out of memory creating virtio-balloon");
			return -ENOMEM;
		}
		r = attach_virtio(vm, &virtio_balloon_ops, b, "virtio-balloon", vm->cfg.balloon_transport, err,
				  errlen);
		if (r)
			return r;
		vm->balloon = b;
	}
	if (vm->cfg.vsock_cid) {
		struct virtio_vsock *vs = virtio_vsock_create(vm->cfg.vsock_cid, vm->cfg.vsock_path, err, errlen);

		if (!vs)
			return -EINVAL;
		r = attach_virtio(vm, &virtio_vsock_ops, vs, "virtio-vsock", vm->cfg.vsock_transport, err, errlen);
		if (r)
			return r;
		r = virtio_vsock_start(vs);
		if (r) {
			snprintf(err, errlen, "cannot start the virtio-vsock thread: %s", strerror(-r));
			return r;
		}
		vm->vsock = vs;
	}
	if (vm->cfg.rng) {
		struct virtio_rng *rng = virtio_rng_create();

		if (!rng) {
			snprintf(err, errlen, "out of memory creating virtio-rng");
			return -ENOMEM;
		}
		r = attach_virtio(vm, &virtio_rng_ops, rng, "virtio-rng", VIRTIO_TRANSPORT_DEFAULT, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/* Phase: PCI host bridge (config mechanism #1 + ECAM). */
static int build_pci(struct vm *vm, char *err, size_t errlen)
{
	int r = pci_bus_init(&vm->pci, &vm->pio, &vm->mmio);

	if (r)
		goto fail;
	vm->pci_ready = true;
	r = pci_bus_register_host(&vm->pci, X86_ECAM_BASE, X86_ECAM_SIZE >> 20);
	if (r)
		goto fail;
	r = pci_host_bridge_create(&vm->pci);
	if (r)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot create the PCI host bridge: %s", strerror(-r));
	return r;
}

/* CMOS memory-size and CPU-count registers, as PC firmware leaves them. */
static void fill_cmos(struct vm *vm)
{
	uint64_t low = x86_lowmem_size(vm->cfg.mem_size), high = x86_highmem_size(vm->cfg.mem_size);
	uint64_t ext_kb = low > MiB ? (low - MiB) / KiB : 0;
	uint64_t above16m = low > 16 * MiB ? (low - 16 * MiB) / (64 * KiB) : 0;
	uint64_t above4g = high / (64 * KiB);

	ext_kb = MIN(ext_kb, 0xffffULL);
	above16m = MIN(above16m, 0xffffULL);
	rtc_set_cmos(vm->rtc, 0x15, 640 & 0xff); /* base memory in KiB */
	rtc_set_cmos(vm->rtc, 0x16, 640 >> 8);
	rtc_set_cmos(vm->rtc, 0x17, ext_kb & 0xff); /* extended memory (1M-65M) in KiB */
	rtc_set_cmos(vm->rtc, 0x18, ext_kb >> 8);
	rtc_set_cmos(vm->rtc, 0x30, ext_kb & 0xff);
	rtc_set_cmos(vm->rtc, 0x31, ext_kb >> 8);
	rtc_set_cmos(vm->rtc, 0x34, above16m & 0xff); /* RAM above 16M in 64K units */
	rtc_set_cmos(vm->rtc, 0x35, above16m >> 8);
	rtc_set_cmos(vm->rtc, 0x5b, above4g & 0xff); /* RAM above 4G in 64K units */
	rtc_set_cmos(vm->rtc, 0x5c, (above4g >> 8) & 0xff);
	rtc_set_cmos(vm->rtc, 0x5d, (above4g >> 16) & 0xff);
	rtc_set_cmos(vm->rtc, 0x5f, (uint8_t)(vm->nr_vcpus - 1));
}

/* Phase: e820, ACPI, MP table, BIOS data area; then the kernel. */
static int build_tables_and_load(struct vm *vm, struct boot_result *br, char *err, size_t errlen)
{
	struct e820_entry e820[E820_MAX_ENTRIES];
	struct acpi_config acfg = {
		.nr_cpus = vm->nr_vcpus,
		.ram_size = vm->cfg.mem_size,
		.ecam_base = X86_ECAM_BASE,
		.ecam_buses = X86_ECAM_SIZE >> 20,
		.mmio32_base = X86_PCI_MMIO32_BASE,
		.mmio32_end = X86_PCI_MMIO32_END,
		.mmio64_base = x86_pci_mmio64_base(vm->cfg.mem_size),
		.mmio64_end = x86_pci_mmio64_base(vm->cfg.mem_size) + X86_PCI_MMIO64_SIZE,
		.pci_io_base = X86_PCI_IO_BASE,
		.pci_io_end = X86_PCI_IO_END,
	};
	uint64_t rsdp = 0;
	uint16_t bda[2];
	int n, r;

	for (unsigned int i = 0; i < vm->nr_mmio_slots && i < X86_VIRTIO_MMIO_MAX; i++)
		acfg.virtio_mmio[acfg.nr_virtio_mmio++] = (struct acpi_virtio_mmio){
			.base = virtio_mmio_base(i), .size = VIRTIO_MMIO_SIZE, .gsi = virtio_mmio_gsi(i)
		};
	if (vm->firmware) {
		/* The firmware builds e820, the MP table and the BDA; ACPI goes through fw_cfg. */
		fill_cmos(vm);
		return vm_firmware_tables(vm, &acfg, err, errlen);
	}

	n = x86_e820_build(vm->cfg.mem_size, e820, E820_MAX_ENTRIES);
	if (n < 0) {
		snprintf(err, errlen, "cannot build the e820 map: %s", strerror(-n));
		return n;
	}
	r = acpi_build(&vm->mem, X86_ACPI_BASE, X86_ACPI_SIZE, &acfg, &rsdp);
	if (r) {
		snprintf(err, errlen, "cannot build the ACPI tables: %s", strerror(-r));
		return r;
	}
	r = mptable_build(&vm->mem, X86_MPTABLE_BASE, X86_MPTABLE_SIZE, vm->nr_vcpus);
	if (r) {
		snprintf(err, errlen, "cannot build the MP table: %s", strerror(-r));
		return r;
	}
	/* BDA: EBDA segment at 0x40e, base memory size in KiB at 0x413. */
	bda[0] = X86_EBDA >> 4;
	guest_mem_write(&vm->mem, 0x40e, &bda[0], 2);
	bda[1] = X86_EBDA >> 10;
	guest_mem_write(&vm->mem, 0x413, &bda[1], 2);
	fill_cmos(vm);

	struct boot_images img = {
		.kernel = vm->kernel, .kernel_len = vm->kernel_len,
		.initrd = vm->initrd, .initrd_len = vm->initrd_len,
		.cmdline = vm->cfg.cmdline,
	};
	struct boot_env env = { .e820 = e820, .nr_e820 = (unsigned int)n, .rsdp_gpa = rsdp, .vga_text = vm->vga != NULL };
	char lerr[256] = "";
	r = boot_load(&vm->mem, &img, &env, br, lerr, sizeof(lerr));
	if (r)
		snprintf(err, errlen, "%s: %s", vm->cfg.kernel, lerr[0] ? lerr : strerror(-r));
	free(vm->kernel);
	free(vm->initrd);
	vm->kernel = vm->initrd = NULL;
	return r;
}

/* Phase 0: read the boot images, so bad input is reported before any work. */
static int read_images(struct vm *vm, char *err, size_t errlen)
{
	int r;

	if (vm->firmware)
		return vm_firmware_read(vm, err, errlen);
	r = read_file_all(vm->cfg.kernel, MAX_KERNEL_SIZE, &vm->kernel, &vm->kernel_len);
	if (r) {
		snprintf(err, errlen, "cannot read kernel %s: %s", vm->cfg.kernel,
			 r == -EFBIG ? "larger than 512 MiB" : strerror(-r));
		return r;
	}
	if (vm->kernel_len == 0) {
		snprintf(err, errlen, "kernel %s is empty", vm->cfg.kernel);
		return -ENOEXEC;
	}
	if (vm->cfg.initrd) {
		r = read_file_all(vm->cfg.initrd, MAX_INITRD_SIZE, &vm->initrd, &vm->initrd_len);
		if (r) {
			snprintf(err, errlen, "cannot read initrd %s: %s", vm->cfg.initrd,
				 r == -EFBIG ? "larger than 2 GiB" : strerror(-r));
			return r;
		}
		if (vm->initrd_len > vm->cfg.mem_size) {
			snprintf(err, errlen, "initrd %s (%zu MiB) is larger than guest memory (%llu MiB)",
				 vm->cfg.initrd, vm->initrd_len >> 20,
				 (unsigned long long)(vm->cfg.mem_size >> 20));
			return -EFBIG;
		}
	}
	if (vm->kernel_len > vm->cfg.mem_size) {
		snprintf(err, errlen, "kernel %s (%zu MiB) is larger than guest memory (%llu MiB)", vm->cfg.kernel,
			 vm->kernel_len >> 20, (unsigned long long)(vm->cfg.mem_size >> 20));
		return -EFBIG;
	}
	return 0;
}

static int build_vcpus(struct vm *vm, const struct boot_result *br, char *err, size_t errlen)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int max = kvm_check_extension(&vm->kvm, KVM_CAP_MAX_VCPUS);
	int r;

	if (max <= 0)
		max = kvm_check_extension(&vm->kvm, KVM_CAP_NR_VCPUS);
	if (max > 0 && vm->nr_vcpus > (unsigned int)max) {
		snprintf(err, errlen, "--cpus %u exceeds what this host's KVM supports (%d)", vm->nr_vcpus, max);
		return -EINVAL;
	}
	r = kvm_get_supported_cpuid(&vm->kvm, &cpuid);
	if (r) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		return r;
	}
	/* vmkit always uses KVM's in-kernel LAPIC, which is what the capability is about. */
	if (kvm_check_extension(&vm->kvm, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		x86_cpuid_add_tsc_deadline(cpuid);
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		c->vm = vm;
		c->kv.fd = -1;
		r = kvm_vcpu_create(&vm->kvm, i, &c->kv);
		if (r) {
			snprintf(err, errlen, "cannot create vCPU %u: %s", i, strerror(-r));
			goto out;
		}
		r = x86_cpuid_setup(&c->kv, cpuid, vm->nr_vcpus);
		if (!r)
			r = x86_vcpu_init(&c->kv);
		if (r) {
			snprintf(err, errlen, "cannot set up vCPU %u: %s", i, strerror(-r));
			goto out;
		}
	}
	/*
	 * APs stay in wait-for-SIPI (KVM's default for non-boot vCPUs with an
	 * in-kernel LAPIC). Firmware boot: the BSP stays in the reset state KVM
	 * gives it, fetching its first instruction at 0xfffffff0.
	 */
	if (!vm->firmware)
		r = x86_boot_cpu_setup(&vm->mem, &vm->vcpus[0].kv, br);
	if (r)
		snprintf(err, errlen, "cannot set the boot CPU state: %s", strerror(-r));
out:
	free(cpuid);
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory creating vCPUs");
	return r;
}

/* The host signals vm_run() reads through a signalfd on the loop thread. */
static void host_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR2);
}

int vm_create(struct vm **out, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct boot_result br;
	struct vm *vm = calloc(1, sizeof(*vm));
	int r;

	sigset_t set;

	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/*
	 * Block the host signals before any helper thread exists (disk backend
	 * workers start while the VM is built): a thread with SIGTERM unblocked
	 * would take it with the default action and kill vmkit instead of
	 * vm_run()'s signalfd turning it into exit status 143. A signal that
	 * arrives meanwhile stays pending and is read there.
	 */
	host_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	vm->cfg = *cfg;
	vm->firmware = !cfg->kernel;
	vm->nr_vcpus = cfg->nr_cpus;
	vm->signal_fd = -1;
	vm->monitor_fd = -1;
	vm->kvm.dev_fd = vm->kvm.vm_fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm->ctl = (struct machine_ctl){ .request = machine_request_cb, .ctx = vm };
	guest_mem_init(&vm->mem);

	r = read_images(vm, err, errlen);
	if (r)
		goto fail;
	/* Phase 1: KVM */
	r = kvm_open(&vm->kvm, cfg->kvm_path, err, errlen);
	if (r)
		goto fail;
	/* Phase 2: memory */
	r = x86_mem_layout(&vm->mem, cfg->mem_size);
	if (r) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest memory: %s",
			 (unsigned long long)(cfg->mem_size / MiB), strerror(-r));
		goto fail;
	}
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		const struct guest_mem_region *g = &vm->mem.regions[i];
		/* Firmware boot: the shadowed BIOS area 0xc0000-0xfffff gets its own slots (firmware.c). */
		if (vm->firmware && g->gpa == X86_VGA_WINDOW_END && g->size > X86_BIOS_END - g->gpa)
			r = kvm_add_memory(&vm->kvm, X86_BIOS_END, g->size - (X86_BIOS_END - g->gpa),
					   g->hva + (X86_BIOS_END - g->gpa));
		else
			r = kvm_add_memory(&vm->kvm, g->gpa, g->size, g->hva);
		if (r) {
			snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
			goto fail;
		}
	}
	if (vm->firmware) {
		r = vm_firmware_map(vm, err, errlen);
		if (r)
			goto fail;
	}
	/* Phase 3: interrupt controllers and PIT */
	r = kvm_create_irqchip_and_pit(&vm->kvm, KVM_TSS_ADDR, KVM_IDENTITY_MAP_ADDR);
	if (r) {
		snprintf(err, errlen, "cannot create the in-kernel irqchip/PIT: %s", strerror(-r));
		goto fail;
	}
	vm_irq_init(vm);
	vm->irq_ready = true;
	/* Phase 4: buses and the event loop */
	if ((r = bus_init(&vm->pio, "pio")) || (r = bus_init(&vm->mmio, "mmio"))) {
		snprintf(err, errlen, "cannot create buses: %s", strerror(-r));
		goto fail;
	}
	vm->buses_ready = true;
	r = event_loop_init(&vm->loop);
	if (r) {
		snprintf(err, errlen, "cannot create the event loop: %s", strerror(-r));
		goto fail;
	}
	vm->loop_ready = true;
	r = iothread_init(&vm->io);
	if (r) {
		snprintf(err, errlen, "cannot create the I/O thread's loop: %s", strerror(-r));
		goto fail;
	}
	vm->io_ready = true;
	r = build_pci(vm, err, errlen);
	if (r)
		goto fail;
	/* Phase 5: devices */
	r = build_devices(vm, err, errlen);
	if (r)
		goto fail;
	r = display_build(vm, err, errlen);
	if (r)
		goto fail;
	r = build_virtio(vm, err, errlen);
	if (r)
		goto fail;
	if (vm->firmware) {
		r = vm_firmware_devices(vm, err, errlen);
		if (r)
			goto fail;
	} else {
		/* Direct kernel boot: place PCI BARs as firmware would (the guest may move them). */
		r = pci_bus_assign_bars(&vm->pci, X86_PCI_MMIO32_BASE, X86_PCI_MMIO32_END,
					x86_pci_mmio64_base(cfg->mem_size),
					x86_pci_mmio64_base(cfg->mem_size) + X86_PCI_MMIO64_SIZE, X86_PCI_IO_BASE,
					X86_PCI_IO_END);
		if (r) {
			snprintf(err, errlen, "cannot place the PCI BARs: %s", strerror(-r));
			goto fail;
		}
	}
	/* Phase 6: firmware tables and the kernel */
	r = build_tables_and_load(vm, &br, err, errlen);
	if (r)
		goto fail;
	if (vm->firmware)
		log_info("firmware boot: %s (%zu KiB)", vm->cfg.firmware, vm->fw_len >> 10);
	else
		log_info("loaded %s kernel, entry 0x%llx", br.format, (unsigned long long)br.entry);
	/* Phase 7: vCPUs */
	r = build_vcpus(vm, &br, err, errlen);
	if (r)
		goto fail;
	*out = vm;
	return 0;
fail:
	vm_destroy(vm);
	return r;
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		/* The balloon's control file (see --help): a new target, fresh statistics. */
		int r = vm->balloon ? virtio_balloon_control(vm->balloon) : -ENODEV;
		if (r)
			log_warn("SIGUSR2: balloon control failed: %s", strerror(-r));
		return;
	}
	fprintf(stderr, "\r\nvmkit: stopping on signal %u\r\n", si.ssi_signo);
	vm_stop(vm, 128 + (int)si.ssi_signo);
}

int vm_run(struct vm *vm)
{
	sigset_t set;
	int r;

	/* Host signals are handled on the loop thread; vCPU threads inherit the mask. */
	host_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd >= 0)
		event_loop_add(&vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm);

	r = iothread_start(&vm->io, "vmkit-io");
	if (r) {
		fprintf(stderr, "vmkit: cannot start the I/O thread: %s\n", strerror(-r));
		return VMKIT_EXIT_ERROR;
	}
	r = vcpus_start(vm);
	if (r) {
		fprintf(stderr, "vmkit: cannot start vCPU threads: %s\n", strerror(-r));
		vm_stop(vm, VMKIT_EXIT_ERROR);
	}
	r = event_loop_run(&vm->loop);
	if (r) {
		fprintf(stderr, "vmkit: event loop failed: %s\n", strerror(-r));
		vm_stop(vm, VMKIT_EXIT_ERROR);
	}
	vm_stop(vm, VMKIT_EXIT_ERROR); /* no-op unless the loop ended by itself */
	vcpus_join(vm);
	iothread_stop(&vm->io);
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	vcpus_join(vm);
	if (vm->io_ready)
		iothread_stop(&vm->io); /* no queue is served past this point */
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].kv.fd >= 0 || vm->vcpus[i].kv.run)
				kvm_vcpu_destroy(&vm->kvm, &vm->vcpus[i].kv);
		free(vm->vcpus);
	}
	display_stop(vm);
	/* The console first: it restores the terminal and stops feeding the UART. */
	if (vm->serial_chr && vm->serial_chr != vm->console)
		chardev_close(vm->serial_chr);
	chardev_close(vm->console);
	while (vm->devices) {
		struct device *d = vm->devices;
		vm->devices = d->next;
		d->ops->destroy(d->impl);
		free(d);
	}
	display_free(vm);
	if (vm->pci_ready)
		pci_bus_destroy(&vm->pci);
	if (vm->io_ready)
		iothread_destroy(&vm->io);
	if (vm->irq_ready)
		vm_irq_destroy(vm);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	if (vm->loop_ready)
		event_loop_destroy(&vm->loop);
	if (vm->buses_ready) {
		bus_destroy(&vm->pio);
		bus_destroy(&vm->mmio);
	}
	kvm_close(&vm->kvm);
	guest_mem_free(&vm->mem);
	free(vm->kernel);
	free(vm->initrd);
	vm_firmware_free(vm);
	pthread_mutex_destroy(&vm->stop_lock);
	free(vm);
}
