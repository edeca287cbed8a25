// SPDX-License-Identifier: MIT
/* `vmkit run` option parsing. Kept out of main() so unit tests can drive it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmkit/util.h"
#include "vmkit/vm.h"
#include "vmkit/vnc.h"

const char run_usage[] =
	"Usage: vmkit run --kernel PATH [options]\n"
	"       vmkit run --disk IMG [--firmware PATH] [options]\n"
	"\n"
	"Boot a virtual machine on /dev/kvm from a kernel image, or (no --kernel)\n"
	"through PC firmware (SeaBIOS) from its first disk, as a PC boots.\n"
	"\n"
	"  -k, --kernel PATH     kernel image: Linux bzImage, ELF vmlinux (PVH entry if\n"
	"                        present) or multiboot v1 kernel, detected by content\n"
	"  -i, --initrd PATH     initial ramdisk (multiboot: passed as the first module)\n"
	"  -a, --cmdline STR     kernel command line\n"
	"  -m, --memory SIZE     guest RAM, e.g. 512M, 2G (default 256M, min 16M,\n"
	"                        a multiple of 1M; RAM above 2816M is placed above 4G)\n"
	"  -c, --cpus N          number of vCPUs, 1-255 (default 1)\n"
	"      --console BACKEND serial console (COM1): stdio (default), none,\n"
	"                        file:PATH (output only) or pty (prints the pty path);\n"
	"                        virtio puts the terminal on a virtio-console (Linux\n"
	"                        hvc0, console=hvc0) instead of COM1\n"
	"      --disk PATH[,readonly][,serial=ID][,transport=pci|mmio][,queues=N]\n"
	"            [,cache=MODE][,aio=ENGINE][,poll=US|auto]\n"
	"                        a raw disk image as a virtio-blk device (repeatable,\n"
	"                        up to 4); the image is locked against a second writer.\n"
	"                        queues: request queues, 1-16 (default: one per vCPU,\n"
	"                        up to 16); cache: writeback (default, host page\n"
	"                        cache) or none (O_DIRECT); aio: io_uring (default\n"
	"                        when available) or threads (a thread pool); poll:\n"
	"                        how long the I/O thread may keep polling the queues\n"
	"                        for new requests instead of waiting for the guest's\n"
	"                        kick, adaptive up to US microseconds; auto (the\n"
	"                        default) sizes it from what a thread wake-up costs\n"
	"                        this host (16 of them, 16-2000 us); 0 turns it off\n"
	"      --rng             a virtio-rng entropy device fed from getrandom(2)\n"
	"      --net user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-:GUESTPORT][,mac=MAC]\n"
	"            [,transport=pci|mmio]\n"
	"                        a virtio-net NIC on libslirp user networking (no root\n"
	"                        needed): guest 10.0.2.15 by DHCP, gateway 10.0.2.2,\n"
	"                        DNS 10.0.2.3; hostfwd (repeatable) forwards a host TCP\n"
	"                        port (on 127.0.0.1 unless HOSTADDR) to the guest\n"
	"      --net tap=IFNAME[,mac=MAC][,queues=N][,transport=pci|mmio]\n"
	"                        a virtio-net NIC on tap interface IFNAME (created if\n"
	"                        missing; needs CAP_NET_ADMIN) with checksum/TSO\n"
	"                        offloads and N queue pairs (1-7, default 1);\n"
	"                        --net is repeatable; MACs default to 52:54:00:12:34:56,\n"
	"                        :57, ...\n"
	"      --virtio-transport pci|mmio\n"
	"                        how virtio devices attach (default pci: virtio-pci\n"
	"                        modern with MSI-X on PCI bus 0; mmio: virtio-mmio\n"
	"                        windows found through ACPI, at most 4); a device's\n"
	"                        own ,transport= overrides it\n"
	"      --firmware PATH   BIOS image for firmware boot (default\n"
	"                        /usr/share/seabios/bios-256k.bin; a multiple of\n"
	"                        64K, at most 256K); not with --kernel\n"
	"      --firmware-log PATH\n"
	"                        write the firmware's debug log (port 0x402) to PATH\n"
	"                        (- for stderr)\n"
	"      --vga std|none    display: std is the standard VGA PCI card (1234:1111,\n"
	"                        Bochs VBE, 16 MiB framebuffer; Linux bochs-drm, VGA\n"
	"                        text console). Default: std with --vnc, else none\n"
	"      --vnc ADDR[,password-file=PATH]\n"
	"                        serve the display over VNC (RFB) on ADDR: HOST:PORT,\n"
	"                        :PORT (127.0.0.1) or unix:PATH; password-file holds\n"
	"                        the VNC password on its first line (8 chars count).\n"
	"                        Keys and pointer go to the PS/2 keyboard and mouse\n"
	"      --tablet          a virtio-input tablet (absolute pointer) that follows\n"
	"                        the VNC cursor, instead of PS/2 mouse motion\n"
	"      --monitor unix:PATH\n"
	"                        a control socket; `vmkit screenshot --socket PATH\n"
	"                        OUT.png` saves the screen as PNG\n"
	"      --balloon[=OPTS]  a virtio-balloon device; OPTS, comma-separated:\n"
	"                        target=SIZE initial balloon size (default 0),\n"
	"                        control=PATH on SIGUSR2 read a new target size\n"
	"                        from PATH, ask the guest for statistics and write\n"
	"                        the balloon state to PATH.status,\n"
	"                        deflate-on-oom (the guest may deflate under memory\n"
	"                        pressure), reporting (free page reporting: the\n"
	"                        guest's free memory is returned to the host),\n"
	"                        transport=pci|mmio\n"
	"      --vsock CID[,path=SOCKPATH][,transport=pci|mmio]\n"
	"                        a virtio-vsock device, guest CID >= 3. Host programs\n"
	"                        connect to the UNIX socket SOCKPATH and send\n"
	"                        \"CONNECT <port>\\n\" (answer \"OK <hostport>\\n\") to\n"
	"                        reach a guest listener; guest connections to host\n"
	"                        port P go to the UNIX socket SOCKPATH_P\n"
	"  -h, --help            show this help\n"
	"\n"
	"On a terminal, --console stdio switches it to raw mode (restored on exit);\n"
	"type Ctrl-A x to quit, Ctrl-A Ctrl-A to send Ctrl-A.\n"
	"\n"
	"Exit status:\n"
	"  0        the guest powered off (ACPI S5)\n"
	"  1        vmkit failed at run time (bad image, /dev/kvm unavailable, ...)\n"
	"  2        bad command line\n"
	"  4        the guest requested a reset/reboot\n"
	"  6        the guest crashed the VM (triple fault, KVM internal error);\n"
	"           registers are printed on stderr\n"
	"  (v<<1)|1 the guest wrote v to the debug-exit port 0xf4\n"
	"  128+N    vmkit was stopped by signal N (SIGINT, SIGTERM, SIGHUP)\n";

void vm_config_init(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mem_size = VM_DEFAULT_MEMORY;
	c->nr_cpus = 1;
	c->console = "stdio";
	c->kvm_path = getenv("VMKIT_KVM_DEVICE");
	if (!c->kvm_path || !*c->kvm_path)
		c->kvm_path = "/dev/kvm";
}

static uint64_t host_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

static int parse_memory(const char *s, uint64_t *out, char *err, size_t errlen)
{
	uint64_t v, host;

	if (parse_size(s, &v)) {
		snprintf(err, errlen, "invalid --memory '%s' (expected a size such as 512M or 2G)", s);
		return -EINVAL;
	}
	if (v < VM_MIN_MEMORY) {
		snprintf(err, errlen, "--memory %s is too small (minimum 16M)", s);
		return -EINVAL;
	}
	if (v % MiB) {
		snprintf(err, errlen, "--memory %s is not a multiple of 1M", s);
		return -EINVAL;
	}
	host = host_ram();
	if (host && v > host) {
		snprintf(err, errlen, "--memory %s exceeds this host's %llu MiB of RAM", s,
			 (unsigned long long)(host / MiB));
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int virtio_transport_parse(const char *s, size_t len, enum virtio_transport *out)
{
	if (len == 3 && !strncmp(s, "pci", 3))
		*out = VIRTIO_TRANSPORT_PCI;
	else if (len == 4 && !strncmp(s, "mmio", 4))
		*out = VIRTIO_TRANSPORT_MMIO;
	else
		return -EINVAL;
	return 0;
}

int run_option_transport(const char *opt, size_t len, const char *flag, enum virtio_transport *out, char *err,
			 size_t errlen)
{
	if (len < 10 || strncmp(opt, "transport=", 10))
		return 0;
	if (virtio_transport_parse(opt + 10, len - 10, out)) {
		snprintf(err, errlen, "invalid %s transport '%.*s' (expected pci or mmio)", flag, (int)(len - 10),
			 opt + 10);
		return -EINVAL;
	}
	return 1;
}

enum virtio_transport vm_config_transport(const struct vm_config *c, enum virtio_transport t)
{
	if (t != VIRTIO_TRANSPORT_DEFAULT)
		return t;
	return c->virtio_transport != VIRTIO_TRANSPORT_DEFAULT ? c->virtio_transport : VIRTIO_TRANSPORT_PCI;
}

/* PATH[,readonly][,serial=ID][,transport=pci|mmio][,queues=N][,cache=none|writeback][,aio=io_uring|threads][,poll=US|auto] */
static int parse_disk(const char *arg, struct vm_config *c, char *err, size_t errlen)
{
	struct vm_disk_config *d;
	const char *p = strchr(arg, ','), *opt;
	size_t n = p ? (size_t)(p - arg) : strlen(arg);

	if (c->nr_disks >= VM_MAX_DISKS) {
		snprintf(err, errlen, "too many --disk options (at most %d)", VM_MAX_DISKS);
		return -EINVAL;
	}
	d = &c->disks[c->nr_disks];
	memset(d, 0, sizeof(*d));
	if (n == 0 || n >= sizeof(d->path)) {
		snprintf(err, errlen, "invalid --disk '%s' (expected PATH[,readonly][,serial=ID][,...])", arg);
		return -EINVAL;
	}
	memcpy(d->path, arg, n);
	for (opt = p; opt; opt = strchr(opt + 1, ',')) {
		const char *o = opt + 1, *end = strchr(o, ',');
		size_t len = end ? (size_t)(end - o) : strlen(o);
		int t = run_option_transport(o, len, "--disk", &d->transport, err, errlen);

		if (t < 0)
			return -EINVAL;
		if (t > 0)
			continue;
		if (len == 8 && !strncmp(o, "readonly", 8)) {
			d->readonly = true;
		} else if (len > 7 && !strncmp(o, "serial=", 7) && len - 7 < sizeof(d->serial)) {
			memcpy(d->serial, o + 7, len - 7);
		} else if (len > 7 && !strncmp(o, "queues=", 7)) {
			char num[8] = { 0 }, *e;
			unsigned long q;

			memcpy(num, o + 7, MIN(len - 7, sizeof(num) - 1));
			q = strtoul(num, &e, 10);
			if (len - 7 >= sizeof(num) || *e || !num[0] || q < 1 || q > VM_MAX_DISK_QUEUES) {
				snprintf(err, errlen, "invalid --disk queues '%.*s' (expected 1-%d)", (int)(len - 7), o + 7,
					 VM_MAX_DISK_QUEUES);
				return -EINVAL;
			}
			d->queues = (unsigned int)q;
		} else if (len == 9 && !strncmp(o, "poll=auto", 9)) {
			d->poll_set = false;
		} else if (len > 5 && !strncmp(o, "poll=", 5)) {
			char num[8] = { 0 }, *e;
			unsigned long us;

			memcpy(num, o + 5, MIN(len - 5, sizeof(num) - 1));
			us = strtoul(num, &e, 10);
			if (len - 5 >= sizeof(num) || *e || !num[0] || us > VM_DISK_POLL_US_MAX) {
				snprintf(err, errlen, "invalid --disk poll '%.*s' (expected auto or microseconds, 0-%d)",
					 (int)(len - 5), o + 5, VM_DISK_POLL_US_MAX);
				return -EINVAL;
			}
			d->poll_us = (unsigned int)us;
			d->poll_set = true;
		} else if (len == 10 && !strncmp(o, "cache=none", 10)) {
			d->direct = true;
		} else if (len == 15 && !strncmp(o, "cache=writeback", 15)) {
			d->direct = false;
		} else if (len == 12 && !strncmp(o, "aio=io_uring", 12)) {
			d->aio = VM_DISK_AIO_IO_URING;
		} else if (len == 11 && !strncmp(o, "aio=threads", 11)) {
			d->aio = VM_DISK_AIO_THREADS;
		} else {
			snprintf(err, errlen,
				 "invalid --disk option '%.*s' (expected readonly, serial=ID (up to 20 bytes), "
				 "transport=pci|mmio, queues=N, cache=none|writeback, aio=io_uring|threads or poll=US|auto)",
				 (int)len, o);
			return -EINVAL;
		}
	}
	c->nr_disks++;
	return 0;
}

static int parse_port(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_uint(buf, 1, 65535, &v))
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* [ADDR]:PORT with an optional IPv4 address; addr left untouched when empty. */
static int parse_addr_port(const char *s, size_t len, uint32_t *addr, uint16_t *port)
{
	const char *colon = memrchr(s, ':', len);
	char buf[INET_ADDRSTRLEN];
	size_t alen;

	if (!colon)
		return -EINVAL;
	alen = (size_t)(colon - s);
	if (alen) {
		struct in_addr a;
		if (alen >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s, alen);
		buf[alen] = '\0';
		if (inet_pton(AF_INET, buf, &a) != 1)
			return -EINVAL;
		*addr = a.s_addr;
	}
	return parse_port(colon + 1, len - alen - 1, port);
}

/* tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
static int parse_hostfwd(const char *s, size_t len, struct net_hostfwd *f)
{
	const char *dash;

	if (len < 4 || strncmp(s, "tcp:", 4))
		return -EINVAL;
	s += 4;
	len -= 4;
	dash = memchr(s, '-', len);
	if (!dash)
		return -EINVAL;
	f->host_addr = htonl(INADDR_LOOPBACK);
	f->guest_addr = 0;
	if (parse_addr_port(s, (size_t)(dash - s), &f->host_addr, &f->host_port) ||
	    parse_addr_port(dash + 1, len - (size_t)(dash - s) - 1, &f->guest_addr, &f->guest_port))
		return -EINVAL;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* xx:xx:xx:xx:xx:xx, unicast */
static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi, lo;

		if (i < 5 && p[2] != ':')
			return -EINVAL;
		hi = hexval(p[0]);
		lo = hexval(p[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return (mac[0] & 1) ? -EINVAL : 0; /* a multicast address cannot be a NIC's */
}

/* user[,hostfwd=...][,mac=MAC] or tap=IFNAME[,mac=MAC][,queues=N] */
static int parse_net(const char *arg, struct vm_config *c, char *err, size_t errlen)
{
	struct vm_net_config *nc;
	const char *p = strchr(arg, ','), *opt;
	size_t n = p ? (size_t)(p - arg) : strlen(arg);

	if (c->nr_nics >= VM_MAX_NICS) {
		snprintf(err, errlen, "too many --net options (at most %d)", VM_MAX_NICS);
		return -EINVAL;
	}
	nc = &c->nics[c->nr_nics];
	memset(nc, 0, sizeof(*nc));
	nc->queues = 1;
	/* 52:54:00 is the conventional locally used prefix for virtual NICs. */
	memcpy(nc->mac, (const uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + c->nr_nics) }, 6);
	if (n == 4 && !strncmp(arg, "user", 4)) {
		nc->tap = false;
	} else if (n > 4 && !strncmp(arg, "tap=", 4) && n - 4 < sizeof(nc->ifname)) {
		nc->tap = true;
		memcpy(nc->ifname, arg + 4, n - 4);
	} else {
		snprintf(err, errlen, "invalid --net '%s' (expected user[,...] or tap=IFNAME[,...], IFNAME up to 15 bytes)",
			 arg);
		return -EINVAL;
	}
	for (opt = p; opt; opt = strchr(opt + 1, ',')) {
		const char *o = opt + 1, *end = strchr(o, ',');
		size_t len = end ? (size_t)(end - o) : strlen(o);
		uint64_t v;
		char num[8];
		int t = run_option_transport(o, len, "--net", &nc->transport, err, errlen);

		if (t < 0)
			return -EINVAL;
		if (t > 0)
			continue;
		if (len > 4 && !strncmp(o, "mac=", 4)) {
			if (parse_mac(o + 4, len - 4, nc->mac)) {
				snprintf(err, errlen, "invalid --net mac '%.*s' (expected a unicast xx:xx:xx:xx:xx:xx)",
					 (int)(len - 4), o + 4);
				return -EINVAL;
			}
		} else if (!nc->tap && len > 8 && !strncmp(o, "hostfwd=", 8)) {
			if (nc->user.nr_fwd >= NET_MAX_HOSTFWD) {
				snprintf(err, errlen, "too many hostfwd= in one --net (at most %d)", NET_MAX_HOSTFWD);
				return -EINVAL;
			}
			if (parse_hostfwd(o + 8, len - 8, &nc->user.fwd[nc->user.nr_fwd])) {
				snprintf(err, errlen,
					 "invalid --net hostfwd '%.*s' (expected tcp:[HOSTADDR]:HOSTPORT-:GUESTPORT, ports 1-65535)",
					 (int)(len - 8), o + 8);
				return -EINVAL;
			}
			nc->user.nr_fwd++;
		} else if (nc->tap && len > 7 && !strncmp(o, "queues=", 7) && len - 7 < sizeof(num)) {
			memcpy(num, o + 7, len - 7);
			num[len - 7] = '\0';
			if (parse_uint(num, 1, NET_MAX_QUEUES, &v)) {
				snprintf(err, errlen, "invalid --net queues '%s' (expected 1-%d)", num, NET_MAX_QUEUES);
				return -EINVAL;
			}
			nc->queues = (unsigned int)v;
		} else {
			snprintf(err, errlen, "invalid --net option '%.*s' (%s)", (int)len, o,
				 nc->tap ? "tap takes mac=MAC, queues=N and transport=pci|mmio"
					 : "user takes hostfwd=..., mac=MAC and transport=pci|mmio");
			return -EINVAL;
		}
	}
	c->nr_nics++;
	return 0;
}

/* [target=SIZE][,control=PATH][,deflate-on-oom][,reporting][,transport=pci|mmio] */
static int parse_balloon(const char *arg, struct vm_config *c, char *err, size_t errlen)
{
	const char *o = arg;

	c->balloon = true;
	for (; o && *o; o = strchr(o, ',') ? strchr(o, ',') + 1 : NULL) {
		const char *end = strchr(o, ',');
		size_t len = end ? (size_t)(end - o) : strlen(o);
		int t = run_option_transport(o, len, "--balloon", &c->balloon_transport, err, errlen);
		char val[4096];

		if (t < 0)
			return -EINVAL;
		if (t > 0)
			continue;
		if (len > 7 && !strncmp(o, "target=", 7) && len - 7 < 64) {
			memcpy(val, o + 7, len - 7);
			val[len - 7] = '\0';
			if (parse_size(val, &c->balloon_target)) {
				snprintf(err, errlen, "invalid --balloon target '%s' (expected a size such as 64M)", val);
				return -EINVAL;
			}
		} else if (len > 8 && !strncmp(o, "control=", 8) && len - 8 < sizeof(c->balloon_control)) {
			memcpy(c->balloon_control, o + 8, len - 8);
			c->balloon_control[len - 8] = '\0';
		} else if (len == 14 && !strncmp(o, "deflate-on-oom", 14)) {
			c->balloon_deflate_on_oom = true;
		} else if (len == 9 && !strncmp(o, "reporting", 9)) {
			c->balloon_reporting = true;
		} else {
			snprintf(err, errlen,
				 "invalid --balloon option '%.*s' (expected target=SIZE, control=PATH, deflate-on-oom, reporting or transport=pci|mmio)",
				 (int)len, o);
			return -EINVAL;
		}
	}
	return 0;
}

/* CID[,path=SOCKPATH] */
static int parse_vsock(const char *arg, struct vm_config *c, char *err, size_t errlen)
{
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);
	char cid[32];

	if (n == 0 || n >= sizeof(cid)) {
		snprintf(err, errlen, "invalid --vsock '%s' (expected CID[,path=SOCKPATH])", arg);
		return -EINVAL;
	}
	memcpy(cid, arg, n);
	cid[n] = '\0';
	/* CIDs 0-2 are reserved (hypervisor, local, host); 0xffffffff is VMADDR_CID_ANY (s5.10.4). */
	if (parse_uint(cid, 3, 0xfffffffeULL, &c->vsock_cid)) {
		snprintf(err, errlen, "invalid --vsock CID '%s' (expected 3-4294967294)", cid);
		return -EINVAL;
	}
	c->vsock_path[0] = '\0';
	for (const char *opt = comma; opt; opt = strchr(opt + 1, ',')) {
		const char *o = opt + 1, *end = strchr(o, ',');
		size_t len = end ? (size_t)(end - o) : strlen(o);
		int t = run_option_transport(o, len, "--vsock", &c->vsock_transport, err, errlen);

		if (t < 0)
			return -EINVAL;
		if (t > 0)
			continue;
		/* SOCKPATH_P must fit in sun_path too: keep room for "_4294967295". */
		if (len <= 5 || strncmp(o, "path=", 5) || len - 5 + 11 >= sizeof(c->vsock_path)) {
			snprintf(err, errlen,
				 "invalid --vsock option '%.*s' (expected path=SOCKPATH, at most %zu bytes, or transport=pci|mmio)",
				 (int)len, o, sizeof(c->vsock_path) - 12);
			return -EINVAL;
		}
		memcpy(c->vsock_path, o + 5, len - 5);
		c->vsock_path[len - 5] = '\0';
	}
	return 0;
}

int run_options_parse(int argc, char **argv, struct vm_config *c, char *err, size_t errlen)
{
	enum { OPT_CONSOLE = 256, OPT_DISK, OPT_RNG, OPT_VIRTIO_TRANSPORT, OPT_FIRMWARE, OPT_FIRMWARE_LOG, OPT_NET,
	       OPT_VGA, OPT_VNC, OPT_MONITOR, OPT_BALLOON, OPT_VSOCK, OPT_TABLET };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'a' }, { "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },    { "console", required_argument, NULL, OPT_CONSOLE },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "rng", no_argument, NULL, OPT_RNG },
		{ "virtio-transport", required_argument, NULL, OPT_VIRTIO_TRANSPORT },
		{ "firmware", required_argument, NULL, OPT_FIRMWARE },
		{ "firmware-log", required_argument, NULL, OPT_FIRMWARE_LOG },
		{ "net", required_argument, NULL, OPT_NET },
		{ "vga", required_argument, NULL, OPT_VGA },
		{ "vnc", required_argument, NULL, OPT_VNC },
		{ "monitor", required_argument, NULL, OPT_MONITOR },
		{ "balloon", optional_argument, NULL, OPT_BALLOON },
		{ "vsock", required_argument, NULL, OPT_VSOCK },
		{ "tablet", no_argument, NULL, OPT_TABLET },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int opt;

	err[0] = '\0';
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:i:a:m:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			c->kernel = optarg;
			break;
		case 'i':
			c->initrd = optarg;
			break;
		case 'a':
			c->cmdline = optarg;
			break;
		case 'm':
			if (parse_memory(optarg, &c->mem_size, err, errlen))
				return -EINVAL;
			break;
		case 'c':
			if (parse_uint(optarg, 1, VM_MAX_CPUS, &v)) {
				snprintf(err, errlen, "invalid --cpus '%s' (expected 1-%d)", optarg, VM_MAX_CPUS);
				return -EINVAL;
			}
			c->nr_cpus = (unsigned int)v;
			break;
		case OPT_CONSOLE:
			if (strcmp(optarg, "stdio") && strcmp(optarg, "none") && strcmp(optarg, "pty") &&
			    strcmp(optarg, "virtio") && (strncmp(optarg, "file:", 5) || !optarg[5])) {
				snprintf(err, errlen,
					 "invalid --console '%s' (expected stdio, none, file:PATH, pty or virtio)",
					 optarg);
				return -EINVAL;
			}
			c->console = optarg;
			break;
		case OPT_DISK:
			if (parse_disk(optarg, c, err, errlen))
				return -EINVAL;
			break;
		case OPT_FIRMWARE:
			if (!*optarg) {
				snprintf(err, errlen, "invalid --firmware '' (expected the path of a BIOS image)");
				return -EINVAL;
			}
			c->firmware = optarg;
			break;
		case OPT_FIRMWARE_LOG:
			if (!*optarg) {
				snprintf(err, errlen, "invalid --firmware-log '' (expected a file path or -)");
				return -EINVAL;
			}
			c->firmware_log = optarg;
			break;
		case OPT_RNG:
			c->rng = true;
			break;
		case OPT_VIRTIO_TRANSPORT:
			if (virtio_transport_parse(optarg, strlen(optarg), &c->virtio_transport)) {
				snprintf(err, errlen, "invalid --virtio-transport '%s' (expected pci or mmio)", optarg);
				return -EINVAL;
			}
			break;
		case OPT_NET:
			if (parse_net(optarg, c, err, errlen))
				return -EINVAL;
			break;
		case OPT_VGA:
			if (strcmp(optarg, "std") && strcmp(optarg, "none")) {
				snprintf(err, errlen, "invalid --vga '%s' (expected std or none)", optarg);
				return -EINVAL;
			}
			c->vga = optarg;
			break;
		case OPT_VNC: {
			struct vnc_spec spec;
			if (vnc_spec_parse(optarg, &spec, err, errlen))
				return -EINVAL;
			c->vnc = optarg;
			break;
		}
		case OPT_MONITOR:
			if (strncmp(optarg, "unix:", 5) || !optarg[5] || strlen(optarg + 5) >= 108) {
				snprintf(err, errlen, "invalid --monitor '%s' (expected unix:PATH, PATH up to 107 bytes)",
					 optarg);
				return -EINVAL;
			}
			c->monitor = optarg;
			break;
		case OPT_BALLOON:
			if (parse_balloon(optarg ? optarg : "", c, err, errlen))
				return -EINVAL;
			break;
		case OPT_VSOCK:
			if (parse_vsock(optarg, c, err, errlen))
				return -EINVAL;
			break;
		case OPT_TABLET:
			c->tablet = true;
			break;
		case 'h':
			return 1;
		case ':':
			snprintf(err, errlen, "option %s needs an argument", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown option '%s' (see vmkit run --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see vmkit run --help)", argv[optind]);
		return -EINVAL;
	}
	if (c->vnc && c->vga && !strcmp(c->vga, "none")) {
		snprintf(err, errlen, "--vnc needs a display: drop --vga none");
		return -EINVAL;
	}
	if (c->kernel && (c->firmware || c->firmware_log)) {
		snprintf(err, errlen, "--%s conflicts with --kernel (firmware boot loads the kernel from a disk)",
			 c->firmware ? "firmware" : "firmware-log");
		return -EINVAL;
	}
	if (!c->kernel && (c->initrd || c->cmdline)) {
		snprintf(err, errlen, "--%s needs --kernel (with firmware boot the disk's bootloader loads them)",
			 c->initrd ? "initrd" : "cmdline");
		return -EINVAL;
	}
	if (!c->kernel && !c->nr_disks) {
		snprintf(err, errlen,
			 "--kernel is required, or --disk IMG to boot through firmware (see vmkit run --help)");
		return -EINVAL;
	}
	if (!c->kernel && !c->firmware)
		c->firmware = VM_DEFAULT_FIRMWARE;
	if (c->balloon && c->balloon_target > c->mem_size) {
		snprintf(err, errlen, "--balloon target is larger than the guest's memory");
		return -EINVAL;
	}
	return 0;
}
