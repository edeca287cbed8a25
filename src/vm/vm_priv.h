/* SPDX-License-Identifier: MIT */
/* Private VM state shared by vm.c (build/teardown) and vcpu.c (run loop). */
#ifndef VMKIT_VM_PRIV_H
#define VMKIT_VM_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "vmkit/bus.h"
#include "vmkit/chardev.h"
#include "vmkit/dev.h"
#include "vmkit/event.h"
#include "vmkit/iothread.h"
#include "vmkit/irq.h"
#include "vmkit/kvm.h"
#include "vmkit/mem.h"
#include "vmkit/pci.h"
#include "vmkit/ui.h"
#include "vmkit/virtio.h"
#include "vmkit/vm.h"

#define VCPU_EXIT_SPOTS 8

struct vcpu {
	struct vm *vm;
	struct kvm_vcpu kv;
	pthread_t thread;
	bool thread_started;
	/*
	 * Exits to user space, by reason, and per address for the first VCPU_EXIT_SPOTS I/O addresses seen (for
	 * VMKIT_LOG=debug at exit): each one is a full round trip through
	 * the kernel, the first thing to look at when a device is slow.
	 */
	uint64_t exits, exits_io, exits_mmio, exits_intr;
	struct {
		uint64_t addr; /* port, or guest physical address | 1ULL << 63 for MMIO */
		uint64_t count;
	} spots[VCPU_EXIT_SPOTS];
};

/* One MSI vector handed to a transport (vm_irq.c). */
struct vm_msi {
	uint32_t gsi;
	int fd; /* irqfd on gsi; -1: inject with KVM_SIGNAL_MSI */
	bool routed;
	uint64_t addr;
	uint32_t data;
};

struct vm {
	struct vm_config cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio, mmio;
	bool buses_ready;
	struct pci_bus pci;
	bool pci_ready;
	struct event_loop loop;
	bool loop_ready;
	struct chardev *console;    /* the user's terminal/file/pty */
	struct chardev *serial_chr; /* COM1's backend: console, or "none" with --console virtio */
	bool virtio_console;
	struct virtio_balloon *balloon; /* owned by its transport; SIGUSR2 drives its control file */
	struct virtio_vsock *vsock;     /* owned by its transport; its I/O thread starts in vm_run */
	struct device *devices; /* reset/save/destroy in list order */
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct machine_ctl ctl;
	struct rtc *rtc;
	unsigned int nr_mmio_slots; /* virtio-mmio devices attached */
	/* Display (display.c): --vga std, --vnc, --monitor. */
	struct i8042 *kbc;
	struct vga *vga;
	struct vnc *vnc;
	struct virtio_input *tablet; /* --tablet (owned by its transport device) */
	struct ui_font font;
	bool font_loaded;
	unsigned int vram_slot;
	uint8_t *vga_rom; /* vgabios for firmware boot */
	size_t vga_rom_len;
	int monitor_fd;
	int ptr_x, ptr_y, ptr_buttons, ptr_raw; /* last VNC pointer state (VNC thread only) */
	bool ptr_valid;
	/* Virtio queue notifications are served here (vmkit-io thread). */
	struct iothread io;
	bool io_ready;
	/* MSI vectors (vm_irq.c); the array only grows during the build phase. */
	pthread_mutex_t msi_lock;
	bool irq_ready;
	struct vm_msi *msi;
	unsigned int nr_msi, cap_msi;
	struct msi_ctl msi_ctl;
	struct ioevent_ctl ioev_ctl;
	/* Boot images, read before anything else is built; freed once loaded. */
	uint8_t *kernel, *initrd;
	size_t kernel_len, initrd_len;
	/* Firmware boot (cfg.kernel == NULL): the BIOS image and its ROM mapping (firmware.c). */
	bool firmware;
	uint8_t *fw_image;
	void *fw_rom;
	size_t fw_len;
	struct fw_cfg *fw_cfg; /* owned by the device list */
	/*
	 * RAM shadowing of 0xc0000-0xfffff through the host bridge's PAM
	 * registers (firmware.c): one KVM slot per PAM segment, remapped when
	 * the firmware writes PAM0-6.
	 */
	struct {
		bool on;            /* false: the range is plain RAM (no read-only memory in KVM) */
		pthread_mutex_t lock;
		unsigned int slot[13]; /* KVM slot of each segment */
		uint8_t attr[13];   /* per segment: bit 0 read-enable, bit 1 write-enable */
		bool mapped[13];    /* the segment's slot currently exists */
		uint8_t *ram;       /* host address of guest RAM at 0xc0000 */
	} pam;
	/* Firmware device paths of the disks, in --disk order (fw_cfg bootorder). */
	char boot_paths[VM_MAX_DISKS][64];
	unsigned int nr_boot_paths;

	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	int exit_status;
	int signal_fd;
};

/* Request the VM to stop with this exit status (first request wins). Any thread. */
void vm_stop(struct vm *vm, int status);

/*
 * Attach a virtio device (ops + impl, e.g. virtio_blk_ops + a struct
 * virtio_blk) on transport t (VIRTIO_TRANSPORT_DEFAULT = --virtio-transport,
 * itself pci by default). Takes ownership of impl (destroyed on failure too).
 * what names the device in errors. Build phase only (vm.c build_virtio).
 * 0, or -errno with one line in err.
 */
int attach_virtio(struct vm *vm, const struct virtio_device_ops *ops, void *impl, const char *what,
		  enum virtio_transport t, char *err, size_t errlen);

/* Append a device to the VM's list (owns impl; destroys it on failure). vm.c */
int vm_add_device(struct vm *vm, const struct device_ops *ops, void *impl);

struct acpi_config;
/* Firmware boot phases (firmware.c): read the image; map it; fw_cfg + debugcon; fw_cfg items. */
int vm_firmware_read(struct vm *vm, char *err, size_t errlen);
int vm_firmware_map(struct vm *vm, char *err, size_t errlen);
int vm_firmware_devices(struct vm *vm, char *err, size_t errlen);
int vm_firmware_tables(struct vm *vm, const struct acpi_config *acfg, char *err, size_t errlen);
void vm_firmware_free(struct vm *vm);

/* Which transport slots are taken: taken before attaching a disk, compared after. */
struct vm_dev_snapshot {
	unsigned int nr_mmio_slots;
	bool pci[PCI_MAX_DEVFN];
};
void vm_dev_snapshot(const struct vm *vm, struct vm_dev_snapshot *s);
/* Record the firmware path of the disk attached since snapshot s (for bootorder). */
void vm_firmware_note_disk(struct vm *vm, const struct vm_dev_snapshot *s);

/* Display phase (display.c): VGA, VNC and the monitor socket per the config. */
int display_build(struct vm *vm, char *err, size_t errlen);
/* Stop VNC and the monitor (before devices are destroyed). */
void display_stop(struct vm *vm);
/* Free what display_build kept (the font), after the devices. */
void display_free(struct vm *vm);

/* MSI vectors and ioeventfds for transports (vm_irq.c); after the irqchip exists. */
void vm_irq_init(struct vm *vm);
void vm_irq_destroy(struct vm *vm);

/* Start/join the vCPU threads (vcpu.c). */
int vcpus_start(struct vm *vm);
void vcpus_kick_all(struct vm *vm);
void vcpus_join(struct vm *vm);

#endif
