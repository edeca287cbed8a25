/* SPDX-License-Identifier: MIT */
/*
 * pci: a PCI bus with a host bridge. Configuration space through mechanism #1
 * (ports 0xcf8/0xcfc, PCI Local Bus 3.0 s3.2.2.3.2) and ECAM (PCIe 4.0
 * s7.2.2). Devices own a 4 KiB config space with write masks; BARs are mapped
 * onto the PIO/MMIO buses when the guest (or vmkit, for direct kernel boot)
 * programs them and enables decoding in the command register.
 */
#ifndef VMKIT_PCI_H
#define VMKIT_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmkit/bus.h"

#define PCI_CFG_SIZE 4096
#define PCI_MAX_DEVFN 256

/* Standard header offsets (PCI 3.0 s6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_ROM_ADDRESS 0x30
#define PCI_ROM_ADDRESS_ENABLE 0x1
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS_CAP_LIST 0x10

#define PCI_BAR_IO 0x1
#define PCI_BAR_MEM64 0x4
#define PCI_BAR_PREFETCH 0x8

struct pci_bus;

/*
 * A RAM BAR (a framebuffer the guest writes at full speed) is not dispatched
 * through the MMIO bus: the PCI layer tells its owner where the guest placed
 * it (mapped) or that decoding stopped (!mapped), and the owner maps guest RAM
 * there (a KVM memory slot). Called with the bus lock held, on the thread that
 * wrote the config space; must not call back into the PCI bus.
 */
typedef void pci_bar_map_fn(void *opaque, int idx, uint64_t addr, bool mapped);

struct pci_bar {
	uint64_t size;   /* power of two; 0 = unused */
	unsigned int flags; /* PCI_BAR_* */
	uint64_t addr;   /* currently mapped address (if mapped) */
	bool mapped;
	bus_io_fn *io;
	pci_bar_map_fn *map; /* RAM BAR: set instead of io */
	void *opaque;
};

struct pci_device {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* write-1-to-clear bits */
	struct pci_bar bars[6];
	/* Expansion ROM (PCI 3.0 s6.2.5.2): read-only, not owned by the device struct. */
	const uint8_t *rom;
	size_t rom_len;    /* bytes of ROM image; reads past it return 0xff */
	uint64_t rom_size; /* BAR size: power of two >= 2 KiB; 0 = no ROM */
	uint64_t rom_addr; /* currently mapped address (if rom_mapped) */
	bool rom_mapped;
	uint8_t devfn;
	uint8_t next_cap; /* where pci_device_add_cap() places the next one */
	const char *name;
	struct pci_bus *bus;
	/* Optional: called after a config write was applied (off, size). */
	void (*cfg_written)(struct pci_device *d, uint32_t off, uint32_t size);
	/* Optional: called before a config read is served, to refresh cfg[off, off+size). */
	void (*cfg_read)(struct pci_device *d, uint32_t off, uint32_t size);
	void *opaque;
};

struct pci_bus {
	struct pci_device *devs[PCI_MAX_DEVFN];
	struct bus *pio, *mmio;
	pthread_mutex_t lock; /* config space and BAR mapping */
	uint32_t cf8;          /* CONFIG_ADDRESS latch */
	uint64_t ecam_base;
	uint64_t ecam_size;
	struct pci_device *host_bridge; /* owned by the bus */
	/* Byte accesses to 0xcf9 (inside CONFIG_ADDRESS) go to the reset control register. */
	bus_io_fn *cf9_io;
	void *cf9_opaque;
	uint64_t bad_accesses;
};

/* Header type 0 device with the given identity; class_code is 24-bit. */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id);

/*
 * Declare BAR idx (size a power of two >= 16 for memory, >= 4 for I/O).
 * A 64-bit BAR uses idx and idx+1. -EINVAL on bad arguments.
 */
int pci_device_set_bar(struct pci_device *d, int idx, uint64_t size, unsigned int flags, bus_io_fn *io,
		       void *opaque);

/* Declare BAR idx as a RAM BAR (see pci_bar_map_fn): memory only. -EINVAL on bad arguments. */
int pci_device_set_ram_bar(struct pci_device *d, int idx, uint64_t size, unsigned int flags, pci_bar_map_fn *map,
			   void *opaque);

/*
 * Give the device an expansion ROM (PCI 3.0 s6.2.5.2): config offset 0x30 is
 * sized like a 32-bit memory BAR (the BAR size is len rounded up to a power of
 * two, at least 2 KiB) and the image is mapped read-only on the MMIO bus while
 * both the ROM enable bit and COMMAND.memory are set. data is not copied: it
 * must stay valid (and unchanged) until the device is unplugged or its bus is
 * destroyed; the caller frees it. Call before pci_bus_plug(). Firmware
 * (SeaBIOS) copies the ROM to 0xc0000+ and runs it. 0 or -EINVAL (len 0 or
 * over 16 MiB).
 */
int pci_device_set_rom(struct pci_device *d, const void *data, size_t len);

/*
 * Append a capability (id + body; body excludes the 2-byte id/next header)
 * in standard config space. Returns its offset, or -ENOSPC.
 */
int pci_device_add_cap(struct pci_device *d, uint8_t cap_id, const void *body, uint32_t body_len);

int pci_bus_init(struct pci_bus *pb, struct bus *pio, struct bus *mmio);
void pci_bus_destroy(struct pci_bus *pb);

/* Plug a device at slot (function 0); slot < 0 picks the first free. -EBUSY/-ENOSPC. */
int pci_bus_plug(struct pci_bus *pb, struct pci_device *d, int slot);

/* Register 0xcf8-0xcff on the PIO bus and ECAM (bus 0..nr_buses-1) on the MMIO bus. */
int pci_bus_register_host(struct pci_bus *pb, uint64_t ecam_base, unsigned int nr_buses);

/*
 * Route byte accesses at port 0xcf9 (the chipset's reset control register,
 * which shares the CONFIG_ADDRESS dword) to fn.
 */
void pci_bus_set_cf9_handler(struct pci_bus *pb, bus_io_fn *fn, void *opaque);

/* Create the host bridge (Intel Q35 MCH identity, 8086:29c0) at 00:00.0. */
int pci_host_bridge_create(struct pci_bus *pb);

/*
 * Config access for bus 0 (other bus numbers read as all-ones). off < 4096,
 * size 1/2/4, naturally aligned; anything else is ignored/all-ones.
 */
void pci_config_access(struct pci_bus *pb, uint8_t bus, uint8_t devfn, uint32_t off, uint8_t *data,
		       uint32_t size, bool is_write);

/*
 * Assign every unassigned BAR as firmware would (direct kernel boot), enable
 * decoding. Windows are [base, end). Each device's cfg_written hook then runs
 * for PCI_COMMAND (its mappings changed). Returns 0 or -ENOSPC.
 */
int pci_bus_assign_bars(struct pci_bus *pb, uint64_t mmio32_base, uint64_t mmio32_end, uint64_t mmio64_base,
			uint64_t mmio64_end, uint32_t io_base, uint32_t io_end);

#endif
