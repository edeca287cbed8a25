// SPDX-License-Identifier: MIT
/* `vmkit run` option parsing: defaults, valid forms, one clear error for bad input. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vmkit/util.h"
#include "vmkit/vm.h"

static int parse(struct vm_config *c, char *err, int argc, char **argv)
{
	vm_config_init(c);
	return run_options_parse(argc, argv, c, err, 256);
}

#define PARSE(c, err, ...)                                                           \
	({                                                                           \
		char *argv_[] = { "run", __VA_ARGS__, NULL };                        \
		parse((c), (err), (int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_); \
	})

static void test_defaults(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(PARSE(&c, err, "--kernel", "k"), 0);
	assert_string_equal(c.kernel, "k");
	assert_int_equal(c.mem_size, 256 * MiB);
	assert_int_equal(c.nr_cpus, 1);
	assert_string_equal(c.console, "stdio");
	assert_null(c.initrd);
	assert_null(c.cmdline);
}

static void test_all_options(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(PARSE(&c, err, "--kernel", "bz", "--initrd", "rd", "--cmdline", "console=ttyS0 quiet",
			       "--memory", "1G", "--cpus", "4", "--console", "file:/tmp/x"),
			 0);
	assert_string_equal(c.initrd, "rd");
	assert_string_equal(c.cmdline, "console=ttyS0 quiet");
	assert_int_equal(c.mem_size, GiB);
	assert_int_equal(c.nr_cpus, 4);
	assert_string_equal(c.console, "file:/tmp/x");
	assert_int_equal(PARSE(&c, err, "-k", "bz", "-m", "64M", "-c", "2", "--console=pty"), 0);
	assert_int_equal(c.mem_size, 64 * MiB);
	assert_string_equal(c.console, "pty");
}

static void test_help(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(PARSE(&c, err, "--help"), 1);
	assert_non_null(strstr(run_usage, "--console"));
	assert_non_null(strstr(run_usage, "Exit status"));
}

static void test_errors(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(PARSE(&c, err, "--memory", "1G"), -EINVAL);
	assert_non_null(strstr(err, "--kernel is required"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--memory", "lots"), -EINVAL);
	assert_non_null(strstr(err, "invalid --memory"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--memory", "1M"), -EINVAL);
	assert_non_null(strstr(err, "too small"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--memory", "100000T"), -EINVAL);
	assert_non_null(strstr(err, "exceeds this host"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--memory", "20000001"), -EINVAL);
	assert_non_null(strstr(err, "multiple of 1M"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--cpus", "0"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--cpus", "9999"), -EINVAL);
	assert_non_null(strstr(err, "invalid --cpus"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--cpus", "two"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--console", "tcp:1"), -EINVAL);
	assert_non_null(strstr(err, "invalid --console"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--console", "file:"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--bogus"), -EINVAL);
	assert_non_null(strstr(err, "unknown option '--bogus'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "extra"), -EINVAL);
	assert_non_null(strstr(err, "unexpected argument"));
	assert_int_equal(PARSE(&c, err, "-k"), -EINVAL);
	assert_non_null(strstr(err, "needs an argument"));
}

static void test_disks(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a.img", "--disk", "b.img,readonly,serial=SN1"), 0);
	assert_int_equal(c.nr_disks, 2);
	assert_string_equal(c.disks[0].path, "a.img");
	assert_false(c.disks[0].readonly);
	assert_string_equal(c.disks[1].path, "b.img");
	assert_true(c.disks[1].readonly);
	assert_string_equal(c.disks[1].serial, "SN1");
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a,bogus"), -EINVAL);
	assert_non_null(strstr(err, "invalid --disk option 'bogus'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", ",readonly"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a,serial=123456789012345678901"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "1", "--disk", "2", "--disk", "3", "--disk", "4", "--disk", "5"),
			 -EINVAL);
	assert_non_null(strstr(err, "too many --disk"));
	/* queues, cache, aio */
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a.img,queues=4,cache=none,aio=threads", "--disk",
			       "b.img,aio=io_uring,cache=writeback"),
			 0);
	assert_int_equal(c.disks[0].queues, 4);
	assert_true(c.disks[0].direct);
	assert_int_equal(c.disks[0].aio, VM_DISK_AIO_THREADS);
	assert_int_equal(c.disks[1].queues, 0);
	assert_false(c.disks[1].direct);
	assert_int_equal(c.disks[1].aio, VM_DISK_AIO_IO_URING);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a.img,queues=16"), 0);
	assert_int_equal(c.disks[0].queues, 16);
	assert_false(c.disks[0].poll_set); /* the default window */
	/* poll: microseconds, 0 turns it off */
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a.img,poll=0", "--disk", "b.img,poll=250"), 0);
	assert_true(c.disks[0].poll_set);
	assert_int_equal(c.disks[0].poll_us, 0);
	assert_int_equal(c.disks[1].poll_us, 250);
	/* auto: the default, also by name, and it overrides an earlier number */
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a.img,poll=300,poll=auto"), 0);
	assert_false(c.disks[0].poll_set);
	char *bad[] = { "a,queues=0", "a,queues=17", "a,queues=", "a,queues=2x", "a,queues=-1",
			      "a,queues=99999999999", "a,cache=unsafe", "a,aio=posix", "a,cache=",
			      "a,poll=", "a,poll=x", "a,poll=autox", "a,poll=Auto", "a,poll=-1", "a,poll=10001", "a,poll=99999999999" };
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", bad[i]), -EINVAL);
		assert_non_null(strstr(err, "--disk"));
	}
}

static void test_virtio_transport(void **state)
{
	struct vm_config c;
	char err[256];
	enum virtio_transport t = VIRTIO_TRANSPORT_DEFAULT;

	/* Default: pci for every device. */
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a"), 0);
	assert_int_equal(c.virtio_transport, VIRTIO_TRANSPORT_DEFAULT);
	assert_int_equal(vm_config_transport(&c, c.disks[0].transport), VIRTIO_TRANSPORT_PCI);
	/* Global switch, and a per-device override in either direction. */
	assert_int_equal(PARSE(&c, err, "-k", "x", "--virtio-transport", "mmio", "--disk", "a", "--disk",
			       "b,transport=pci,readonly"),
			 0);
	assert_int_equal(vm_config_transport(&c, c.disks[0].transport), VIRTIO_TRANSPORT_MMIO);
	assert_int_equal(vm_config_transport(&c, c.disks[1].transport), VIRTIO_TRANSPORT_PCI);
	assert_true(c.disks[1].readonly);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--virtio-transport=pci", "--disk", "a,transport=mmio"), 0);
	assert_int_equal(vm_config_transport(&c, c.disks[0].transport), VIRTIO_TRANSPORT_MMIO);
	assert_int_equal(vm_config_transport(&c, VIRTIO_TRANSPORT_DEFAULT), VIRTIO_TRANSPORT_PCI);
	/* Bad values. */
	assert_int_equal(PARSE(&c, err, "-k", "x", "--virtio-transport", "isa"), -EINVAL);
	assert_non_null(strstr(err, "invalid --virtio-transport 'isa'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--virtio-transport", ""), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a,transport=pcie"), -EINVAL);
	assert_non_null(strstr(err, "invalid --disk transport 'pcie'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--disk", "a,transport="), -EINVAL);
	/* The shared helper other device flags use. */
	assert_int_equal(run_option_transport("transport=mmio", 14, "--net", &t, err, sizeof(err)), 1);
	assert_int_equal(t, VIRTIO_TRANSPORT_MMIO);
	assert_int_equal(run_option_transport("transport=pci,x", 13, "--net", &t, err, sizeof(err)), 1);
	assert_int_equal(t, VIRTIO_TRANSPORT_PCI);
	assert_int_equal(run_option_transport("mac=1", 5, "--net", &t, err, sizeof(err)), 0);
	assert_int_equal(run_option_transport("transport", 9, "--net", &t, err, sizeof(err)), 0);
	assert_int_equal(run_option_transport("transport=usb", 13, "--net", &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid --net transport 'usb'"));
	assert_non_null(strstr(run_usage, "--virtio-transport"));
	assert_non_null(strstr(run_usage, "transport=pci|mmio"));
}

static void test_firmware(void **state)
{
	struct vm_config c;
	char err[256];

	/* No --kernel, a disk: firmware boot with the default BIOS. */
	assert_int_equal(PARSE(&c, err, "--disk", "a.img"), 0);
	assert_null(c.kernel);
	assert_string_equal(c.firmware, VM_DEFAULT_FIRMWARE);
	assert_null(c.firmware_log);
	assert_int_equal(PARSE(&c, err, "--disk", "a.img", "--firmware", "my.bin", "--firmware-log", "-"), 0);
	assert_string_equal(c.firmware, "my.bin");
	assert_string_equal(c.firmware_log, "-");
	/* Direct boot has no firmware. */
	assert_int_equal(PARSE(&c, err, "-k", "x"), 0);
	assert_null(c.firmware);
	/* Conflicts and bad values. */
	assert_int_equal(PARSE(&c, err, "-k", "x", "--firmware", "my.bin"), -EINVAL);
	assert_non_null(strstr(err, "--firmware conflicts with --kernel"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--firmware-log", "f"), -EINVAL);
	assert_non_null(strstr(err, "--firmware-log conflicts with --kernel"));
	assert_int_equal(PARSE(&c, err, "--disk", "a.img", "--initrd", "i"), -EINVAL);
	assert_non_null(strstr(err, "--initrd needs --kernel"));
	assert_int_equal(PARSE(&c, err, "--disk", "a.img", "--cmdline", "quiet"), -EINVAL);
	assert_non_null(strstr(err, "--cmdline needs --kernel"));
	assert_int_equal(PARSE(&c, err, "--firmware", "my.bin"), -EINVAL);
	assert_non_null(strstr(err, "--disk IMG"));
	assert_int_equal(PARSE(&c, err, "--disk", "a.img", "--firmware", ""), -EINVAL);
	assert_non_null(strstr(err, "invalid --firmware"));
	assert_int_equal(PARSE(&c, err, "--disk", "a.img", "--firmware-log", ""), -EINVAL);
	assert_non_null(strstr(err, "invalid --firmware-log"));
	assert_int_equal(PARSE(&c, err, "--disk", "a.img", "--firmware"), -EINVAL);
	assert_non_null(strstr(err, "needs an argument"));
	assert_non_null(strstr(run_usage, "--firmware PATH"));
	assert_non_null(strstr(run_usage, "--firmware-log PATH"));
}

static void test_net(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(PARSE(&c, err, "-k", "x", "--net", "user", "--net",
			       "user,hostfwd=tcp::8080-:80,hostfwd=tcp:0.0.0.0:2222-10.0.2.16:22,mac=02:00:00:aa:bb:CC",
			       "--net", "tap=tap7,queues=4,transport=mmio"),
			 0);
	assert_int_equal(c.nr_nics, 3);
	assert_false(c.nics[0].tap);
	assert_memory_equal(c.nics[0].mac, ((uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }), 6);
	assert_int_equal(c.nics[0].user.nr_fwd, 0);
	assert_int_equal(c.nics[1].user.nr_fwd, 2);
	assert_int_equal(c.nics[1].user.fwd[0].host_addr, htonl(0x7f000001)); /* 127.0.0.1 by default */
	assert_int_equal(c.nics[1].user.fwd[0].host_port, 8080);
	assert_int_equal(c.nics[1].user.fwd[0].guest_addr, 0);
	assert_int_equal(c.nics[1].user.fwd[0].guest_port, 80);
	assert_int_equal(c.nics[1].user.fwd[1].host_addr, 0);
	assert_int_equal(c.nics[1].user.fwd[1].host_port, 2222);
	assert_int_equal(c.nics[1].user.fwd[1].guest_addr, htonl(0x0a000210));
	assert_int_equal(c.nics[1].user.fwd[1].guest_port, 22);
	assert_memory_equal(c.nics[1].mac, ((uint8_t[]){ 0x02, 0, 0, 0xaa, 0xbb, 0xcc }), 6);
	assert_true(c.nics[2].tap);
	assert_string_equal(c.nics[2].ifname, "tap7");
	assert_int_equal(c.nics[2].queues, 4);
	assert_int_equal(c.nics[2].mac[5], 0x58); /* third NIC: ...:58 */
	assert_int_equal(c.nics[2].transport, VIRTIO_TRANSPORT_MMIO);
	assert_int_equal(c.nics[0].transport, VIRTIO_TRANSPORT_DEFAULT);

	static const char *const bad[][2] = {
		{ "", "invalid --net ''" },
		{ "slirp", "invalid --net 'slirp'" },
		{ "tap=", "invalid --net 'tap='" },
		{ "tap=abcdefghijklmnop", "invalid --net" },
		{ "user,queues=2", "invalid --net option 'queues=2'" },
		{ "tap=t0,hostfwd=tcp::1-:2", "invalid --net option" },
		{ "tap=t0,queues=0", "invalid --net queues '0'" },
		{ "tap=t0,queues=8", "invalid --net queues '8'" },
		{ "tap=t0,queues=x", "invalid --net queues" },
		{ "user,mac=01:00:00:00:00:01", "invalid --net mac" },
		{ "user,mac=52:54:00:12:34", "invalid --net mac" },
		{ "user,mac=52-54-00-12-34-56", "invalid --net mac" },
		{ "user,mac=52:54:00:12:34:5g", "invalid --net mac" },
		{ "user,hostfwd=udp::53-:53", "invalid --net hostfwd 'udp::53-:53'" },
		{ "user,hostfwd=tcp::0-:80", "invalid --net hostfwd" },
		{ "user,hostfwd=tcp::80-:65536", "invalid --net hostfwd" },
		{ "user,hostfwd=tcp::8080", "invalid --net hostfwd" },
		{ "user,hostfwd=tcp:1.2.3:8080-:80", "invalid --net hostfwd" },
		{ "user,hostfwd=tcp:8080-:80", "invalid --net hostfwd" },
		{ "user,bogus", "invalid --net option 'bogus'" },
		{ "user,transport=usb", "invalid --net transport 'usb'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(PARSE(&c, err, "-k", "x", "--net", (char *)bad[i][0]), -EINVAL);
		if (!strstr(err, bad[i][1]))
			fail_msg("--net '%s': got error '%s', wanted '%s'", bad[i][0], err, bad[i][1]);
	}
	assert_int_equal(PARSE(&c, err, "-k", "x", "--net", "user", "--net", "user", "--net", "user", "--net", "user",
			       "--net", "user"),
			 -EINVAL);
	assert_non_null(strstr(err, "too many --net"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--net"), -EINVAL);
}

static void test_display(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(PARSE(&c, err, "-k", "x"), 0);
	assert_null(c.vga);
	assert_null(c.vnc);
	assert_null(c.monitor);
	assert_false(c.tablet);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vga", "std", "--vnc", ":5901", "--monitor", "unix:/tmp/m",
			       "--tablet"),
			 0);
	assert_true(c.tablet);
	assert_string_equal(c.vga, "std");
	assert_string_equal(c.vnc, ":5901");
	assert_string_equal(c.monitor, "unix:/tmp/m");
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", "0.0.0.0:5900,password-file=/etc/pw"), 0);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", "unix:/run/vnc.sock"), 0);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", "[::1]:5900"), 0);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vga", "none"), 0);

	assert_int_equal(PARSE(&c, err, "-k", "x", "--vga", "cirrus"), -EINVAL);
	assert_non_null(strstr(err, "invalid --vga 'cirrus'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", "5900"), -EINVAL);
	assert_non_null(strstr(err, "invalid --vnc '5900'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", ":65536"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", "host:"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", "unix:"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", ":1,password=x"), -EINVAL);
	assert_non_null(strstr(err, "invalid --vnc option 'password=x'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vnc", ":1", "--vga", "none"), -EINVAL);
	assert_non_null(strstr(err, "--vnc needs a display"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--monitor", "/tmp/m"), -EINVAL);
	assert_non_null(strstr(err, "invalid --monitor"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--monitor", "unix:"), -EINVAL);
}

static void test_balloon_vsock(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(PARSE(&c, err, "-k", "x"), 0);
	assert_false(c.balloon);
	assert_int_equal(c.vsock_cid, 0);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--balloon"), 0);
	assert_true(c.balloon);
	assert_int_equal(c.balloon_target, 0);
	assert_string_equal(c.balloon_control, "");
	assert_false(c.balloon_reporting);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--balloon=target=64M,control=/tmp/b ctl,deflate-on-oom,reporting"), 0);
	assert_int_equal(c.balloon_target, 64 * MiB);
	assert_string_equal(c.balloon_control, "/tmp/b ctl");
	assert_true(c.balloon_deflate_on_oom);
	assert_true(c.balloon_reporting);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--balloon=target=lots"), -EINVAL);
	assert_non_null(strstr(err, "invalid --balloon target 'lots'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--balloon=bogus"), -EINVAL);
	assert_non_null(strstr(err, "invalid --balloon option 'bogus'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--balloon=control="), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "-m", "64M", "--balloon=target=128M"), -EINVAL);
	assert_non_null(strstr(err, "larger than the guest's memory"));

	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", "3"), 0);
	assert_int_equal(c.vsock_cid, 3);
	assert_string_equal(c.vsock_path, "");
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", "4294967294,path=/tmp/v.sock"), 0);
	assert_int_equal(c.vsock_cid, 4294967294ULL);
	assert_string_equal(c.vsock_path, "/tmp/v.sock");
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", "2"), -EINVAL);
	assert_non_null(strstr(err, "invalid --vsock CID '2'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", "4294967295"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", "abc"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", ",path=/x"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", "3,sock=/x"), -EINVAL);
	assert_non_null(strstr(err, "invalid --vsock option 'sock=/x'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", "3,path="), -EINVAL);
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "3,path=/", 8);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", longpath), -EINVAL);
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock"), -EINVAL);
	/* transports */
	assert_int_equal(PARSE(&c, err, "-k", "x", "--balloon=transport=mmio,target=1M", "--vsock", "5,transport=pci,path=/p"), 0);
	assert_int_equal(c.balloon_transport, VIRTIO_TRANSPORT_MMIO);
	assert_int_equal(c.balloon_target, MiB);
	assert_int_equal(c.vsock_transport, VIRTIO_TRANSPORT_PCI);
	assert_string_equal(c.vsock_path, "/p");
	assert_int_equal(PARSE(&c, err, "-k", "x", "--balloon=transport=usb"), -EINVAL);
	assert_non_null(strstr(err, "invalid --balloon transport 'usb'"));
	assert_int_equal(PARSE(&c, err, "-k", "x", "--vsock", "3,transport=isa"), -EINVAL);
	assert_non_null(strstr(err, "invalid --vsock transport 'isa'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_firmware),
		cmocka_unit_test(test_disks),
		cmocka_unit_test(test_virtio_transport),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_display),
		cmocka_unit_test(test_balloon_vsock),
	};
	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
