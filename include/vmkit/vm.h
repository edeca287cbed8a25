/* SPDX-License-Identifier: MIT */
/*
 * vm: one virtual machine. vm_create() runs the build phases in a fixed order
 * (kvm, memory, irqchip, buses, devices, firmware tables, kernel, vCPUs);
 * vm_run() runs it to completion; vm_destroy() tears down in reverse.
 */
#ifndef VMKIT_VM_H
#define VMKIT_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmkit/net.h"

#define VM_DEFAULT_MEMORY (256ULL << 20)
#define VM_MIN_MEMORY (16ULL << 20)
#define VM_MAX_CPUS 255 /* xAPIC IDs in MADT/MP table */

#define VM_MAX_DISKS 4
#define VM_MAX_NICS 4

/*
 * How a virtio device reaches the guest. DEFAULT means "whatever
 * --virtio-transport says", which itself defaults to PCI.
 */
enum virtio_transport {
	VIRTIO_TRANSPORT_DEFAULT = 0,
	VIRTIO_TRANSPORT_PCI,
	VIRTIO_TRANSPORT_MMIO,
};
#define VM_MAX_DISK_QUEUES 16

enum vm_disk_aio { VM_DISK_AIO_DEFAULT, VM_DISK_AIO_IO_URING, VM_DISK_AIO_THREADS };

struct vm_disk_config {
	char path[4096];
	char serial[21]; /* virtio-blk GET_ID is 20 bytes */
	bool readonly;
	enum virtio_transport transport; /* ,transport=pci|mmio */
	bool direct;         /* cache=none: O_DIRECT */
	unsigned int queues; /* 0: one per vCPU, up to VM_MAX_DISK_QUEUES */
	enum vm_disk_aio aio;
	bool poll_set;        /* ,poll=US given; otherwise (or ,poll=auto) sized from the host: event_auto_poll_us() */
	unsigned int poll_us; /* 0: no polling */
};

#define VM_DISK_POLL_US_MAX 10000

/* --net user[,hostfwd=...][,mac=MAC] | tap=IFNAME[,mac=MAC][,queues=N] */
struct vm_net_config {
	bool tap;
	char ifname[16];      /* IFNAMSIZ */
	unsigned int queues;  /* tap queue pairs, 1..NET_MAX_QUEUES */
	uint8_t mac[6];
	struct net_user_config user;
	enum virtio_transport transport; /* ,transport=pci|mmio */
};

struct vm_config {
	const char *kernel;  /* direct boot; NULL: firmware boot from the disks */
	const char *initrd;  /* optional */
	const char *cmdline; /* optional */
	uint64_t mem_size;
	unsigned int nr_cpus;
	const char *console; /* stdio|none|file:PATH|pty */
	const char *kvm_path;
	struct vm_disk_config disks[VM_MAX_DISKS];
	unsigned int nr_disks;
	bool rng; /* virtio-rng */
	enum virtio_transport virtio_transport; /* --virtio-transport (DEFAULT = pci) */
	const char *firmware;     /* firmware boot: BIOS image (VM_DEFAULT_FIRMWARE) */
	const char *firmware_log; /* port 0x402 output: a file, "-" for stderr, NULL: dropped */
	struct vm_net_config nics[VM_MAX_NICS];
	unsigned int nr_nics;
	const char *vga;     /* "std", "none"; NULL: std with --vnc, else none */
	const char *vnc;     /* --vnc HOST:PORT|unix:PATH[,password-file=PATH] */
	const char *monitor; /* --monitor unix:PATH (screenshot socket) */
	/* --balloon[=target=SIZE,control=PATH,deflate-on-oom,reporting] */
	bool balloon;
	uint64_t balloon_target; /* bytes */
	char balloon_control[4096]; /* empty: none */
	bool balloon_deflate_on_oom;
	bool balloon_reporting;
	enum virtio_transport balloon_transport; /* ,transport=pci|mmio */
	/* --vsock CID[,path=SOCKPATH] */
	uint64_t vsock_cid; /* 0: no vsock device */
	char vsock_path[108]; /* sun_path; empty: no host socket */
	enum virtio_transport vsock_transport; /* ,transport=pci|mmio */
	bool tablet;         /* --tablet: virtio-input absolute pointer */
};

#define VM_DEFAULT_FIRMWARE "/usr/share/seabios/bios-256k.bin"


/* Fill defaults. */
void vm_config_init(struct vm_config *c);

/*
 * Parse `vmkit run` arguments (argv[0] is "run"). Returns 0, 1 when --help
 * was asked for, or -EINVAL with one line in err (exit status 2).
 */
int run_options_parse(int argc, char **argv, struct vm_config *c, char *err, size_t errlen);

/* "pci" or "mmio" (len bytes of s) to a transport. 0 or -EINVAL. */
int virtio_transport_parse(const char *s, size_t len, enum virtio_transport *out);

/*
 * Shared helper for per-device option lists (--disk PATH,transport=mmio,...):
 * opt is one comma-separated item of len bytes. If it is "transport=pci" or
 * "transport=mmio", stores the transport in *out and returns 1. Returns 0 if
 * opt is some other option (the caller parses it), or -EINVAL with one line in
 * err naming flag (e.g. "--disk") if the transport value is bad.
 */
int run_option_transport(const char *opt, size_t len, const char *flag, enum virtio_transport *out, char *err,
			 size_t errlen);

/* The transport a device with per-device choice t ends up on (resolves DEFAULT). */
enum virtio_transport vm_config_transport(const struct vm_config *c, enum virtio_transport t);

/* The text of `vmkit run --help`. */
extern const char run_usage[];

struct vm;

/* Build the VM. -errno with one line in err (exit status 1). */
int vm_create(struct vm **out, const struct vm_config *cfg, char *err, size_t errlen);

/*
 * Run until the guest powers off, resets, exits through the debug port, or
 * fails; returns the process exit status (VMKIT_EXIT_* or debug-exit code).
 * Handles SIGINT/SIGTERM/SIGHUP (status 128 + signal).
 */
int vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

#endif
