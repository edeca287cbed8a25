"""Tiny purpose-built guests (tests/guests) under `vmkit run` on this host's /dev/kvm.

Each guest asserts from inside the VM and reports on COM1 ("PASS <name>" or
"FAIL <name>: <why>") and through the debug-exit port: pass = status 33,
fail = 35. Expectations travel on the kernel command line (mem=, cpus=,
now=, ...). A failing test shows the guest's serial output.
"""
import os
import re
import select
import subprocess
import socket
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VMKIT = os.path.join(ROOT, "build", "vmkit")
GUESTS = os.path.join(ROOT, "tests", "guests", "build")
PASS, FAIL = 33, 35
EXIT_POWEROFF, EXIT_ERROR, EXIT_RESET, EXIT_CRASH = 0, 1, 4, 6  # include/vmkit/dev.h
TIMEOUT = 60

pytestmark = [
    pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="no usable /dev/kvm"),
    pytest.mark.skipif(not os.access(VMKIT, os.X_OK), reason="build/vmkit is missing: run make first"),
]


def host_has_hw_virt():
    """VT-x/AMD-V behind /dev/kvm (not PVM's instruction emulation, where the guest sees the host's CPUID)."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return bool(re.search(r"\b(vmx|svm)\b", flags)) and not os.path.exists("/sys/module/kvm_pvm")


@pytest.fixture(scope="session", autouse=True)
def guests_built():
    p = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "guests")], capture_output=True, text=True)
    assert p.returncode == 0, f"building tests/guests failed:\n{p.stdout}{p.stderr}"


def guest(name):
    return os.path.join(GUESTS, name + ".elf")


def check_not_killed(rc, out):
    assert rc >= 0, f"vmkit died of signal {-rc}:\n{out}"
    assert rc != 124, f"timed out after {TIMEOUT} s:\n{out}"


def run(name, *args, stdin=subprocess.DEVNULL):
    """Run a guest to completion under `timeout`; returns (status, serial output + vmkit's stderr)."""
    p = subprocess.run(["timeout", "-k", "5", str(TIMEOUT), VMKIT, "run", "--kernel", guest(name),
                        "--console", "stdio", *args], capture_output=True, text=True, stdin=stdin,
                       errors="replace")
    # timeout(1) reports a signal death of its child as 128 + signal
    rc = p.returncode - 256 if p.returncode > 128 and p.returncode != 124 else p.returncode
    out = p.stdout + p.stderr
    check_not_killed(rc, out)
    return rc, out


def expect_pass(name, rc, out):
    assert f"PASS {name}" in out and rc == PASS, f"{name}: status {rc}:\n{out}"


def test_boot_state():
    args = "hv=kvm" if host_has_hw_virt() else "boot"
    expect_pass("boot", *run("boot", "--cmdline", args))


def test_null_guest_exits_with_status_1():
    rc, out = run("null")
    assert rc == EXIT_ERROR, f"null guest (out 0 to 0xf4) should give status 1, got {rc}:\n{out}"


@pytest.mark.parametrize("mem", ["16M", "128M", "256M", "3G"])
def test_memory_map(mem):
    """3G: 2816 MiB below the ECAM at 0xb0000000, 256 MiB above 4 GiB."""
    expect_pass("memmap", *run("memmap", "--memory", mem, "--cmdline", f"mem={mem}"))


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def test_cmdline_and_initrd(tmp_path):
    data = os.urandom(123457)
    rd = tmp_path / "initrd"
    rd.write_bytes(data)
    tokens = ["token-one", "token-two", "path=/a/b.c,d=e", "x" * 300, "--dashes", "console=ttyS0,115200n8"]
    cmd = " ".join(tokens + [f"initrd_size={len(data)}", f"initrd_fnv={fnv1a(data):#x}"])
    cmd += f" ntok={len(tokens) + 3}"
    rc, out = run("cmdline", "--initrd", str(rd), "--cmdline", cmd)
    assert f"CMDLINE[{cmd}]" in out, out
    expect_pass("cmdline", rc, out)


def test_cmdline_without_initrd():
    cmd = "token-one   token-two ntok=3"
    rc, out = run("cmdline", "--cmdline", cmd)
    assert f"CMDLINE[{cmd}]" in out, out
    expect_pass("cmdline", rc, out)


def drive_serial(n, tx, first, second):
    p = subprocess.Popen(["timeout", "-k", "5", str(TIMEOUT), VMKIT, "run", "--kernel", guest("serial"),
                          "--console", "stdio", "--cmdline", f"n={n} tx={tx}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    sent1 = sent2 = False
    deadline = time.time() + TIMEOUT + 10
    while time.time() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
        if b"READY1" in out and not sent1:
            p.stdin.write(first)
            p.stdin.flush()
            sent1 = True
        if b"READY2" in out and not sent2:
            p.stdin.write(second)
            p.stdin.flush()
            sent2 = True
    try:
        rc = p.wait(timeout=max(1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    out += p.stdout.read()
    rc = rc - 256 if rc > 128 and rc != 124 else rc
    text = out.decode(errors="replace")
    check_not_killed(rc, text)
    return rc, text


def test_serial_transmit_and_receive():
    n, tx = 48, 1000
    first, second = os.urandom(n), os.urandom(n)
    rc, text = drive_serial(n, tx, first, second)
    line = "".join(chr(ord("!") + i % 94) for i in range(tx))
    assert f"TX[{line}]" in text, text
    assert f"ECHO1={first.hex()}" in text, text
    assert f"SUM1={sum(first)}" in text, text
    assert f"ECHO2={second.hex()}" in text, text
    assert f"SUM2={sum(second)}" in text, text
    expect_pass("serial", rc, text)


def test_pit_interrupts():
    # On PVM hosts KVM's port 0x61 reports PIT channel 2's OUT early (QEMU -accel kvm there too).
    args = [] if host_has_hw_virt() else ["--cmdline", "pit2_min_us=0"]
    expect_pass("pit", *run("pit", *args))


def test_lapic_timer_interrupts():
    expect_pass("lapic_timer", *run("lapic_timer"))


@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_smp_bringup(cpus):
    expect_pass("smp", *run("smp", "--cpus", str(cpus), "--cmdline", f"cpus={cpus}"))


@pytest.mark.parametrize("cpus", [1, 3])
def test_acpi_tables_and_poweroff(cpus):
    rc, out = run("acpi", "--cpus", str(cpus), "--cmdline", f"cpus={cpus}")
    assert "ACPI tables OK" in out, out
    assert "FAIL" not in out, out
    assert rc == EXIT_POWEROFF, f"ACPI S5 should end vmkit with status 0, got {rc}:\n{out}"


def test_pci_host_bridge():
    expect_pass("pci", *run("pci"))


def test_virtio_pci_msix_and_intx():
    """A minimal in-guest virtio-pci driver on virtio-rng: ioeventfd notify, MSI-X (irqfd), masking/PBA, INTx."""
    expect_pass("virtio_pci", *run("virtio_pci", "--rng"))


def test_cmos_time():
    expect_pass("rtc", *run("rtc", "--cmdline", f"now={int(time.time())}"))


@pytest.mark.parametrize("via", ["i8042", "cf9"])
def test_reset_request(via):
    rc, out = run("reset", "--cmdline", f"via={via}")
    assert "resetting" in out, out
    assert "FAIL" not in out, out
    assert rc == EXIT_RESET, f"reset should end vmkit with status 4, got {rc}:\n{out}"


def test_hostile_accesses():
    expect_pass("hostile", *run("hostile"))


def test_triple_fault_is_a_crash_with_registers():
    rc, out = run("crash")
    assert "crashing" in out
    assert rc == EXIT_CRASH, f"a triple fault should end vmkit with status 6, got {rc}:\n{out}"
    assert "triple fault" in out and "rip" in out and "cr0" in out


def test_raw_terminal_restored_and_ctrl_a_x_quits():
    import pty
    import termios
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([VMKIT, "run", "--kernel", guest("serial"), "--console", "stdio",
                          "--cmdline", "n=1000"], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    out = b""
    deadline = time.time() + TIMEOUT
    while b"READY1" not in out and time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            out += os.read(master, 4096)
    assert b"READY1" in out, out
    during = termios.tcgetattr(slave)
    assert not (during[3] & termios.ICANON), "the console should be in raw mode while the VM runs"
    os.write(master, b"\x01x")
    rc = p.wait(timeout=30)
    after = termios.tcgetattr(slave)
    os.close(master)
    os.close(slave)
    assert rc == 0
    assert after == before, "terminal settings were not restored"


def test_console_file(tmp_path):
    log = tmp_path / "console.log"
    p = subprocess.run([VMKIT, "run", "--kernel", guest("boot"), "--console", f"file:{log}"],
                       capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert p.returncode == PASS, p.stdout + p.stderr + log.read_text()
    assert "PASS boot" in log.read_text()
    assert "PASS boot" not in p.stdout


def test_console_pty():
    p = subprocess.Popen([VMKIT, "run", "--kernel", guest("serial"), "--console", "pty",
                          "--cmdline", "n=4"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    line = p.stderr.readline().decode()
    m = re.search(r"serial console on (/dev/pts/\d+)", line)
    assert m, line
    fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY)
    out = b""
    deadline = time.time() + TIMEOUT
    while b"READY1" not in out and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            out += os.read(fd, 4096)
    os.write(fd, b"abcd")
    while b"READY2" not in out and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            out += os.read(fd, 4096)
    os.write(fd, b"wxyz")
    rc = p.wait(timeout=TIMEOUT)
    os.close(fd)
    assert rc == PASS, out
    assert f"SUM1={sum(b'abcd')}".encode() in out


@pytest.mark.parametrize("flag,fmt", [("--monitor", "unix:{}"), ("--vnc", "unix:{}"), ("--vsock", "3,path={}")])
def test_socket_paths_never_replace_user_files(tmp_path, flag, fmt):
    """A host socket path that names a regular file is refused (exit 1, one
    line) and the file is left intact; a live listener is not taken over."""
    victim = tmp_path / "notes.txt"
    victim.write_text("precious\n")
    p = subprocess.run(["timeout", "-k", "5", str(TIMEOUT), VMKIT, "run", "--kernel", guest("null"), "--console",
                        "none", flag, fmt.format(victim)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert p.returncode == 1, p.stderr
    assert "not a socket" in p.stderr and p.stderr.strip().count("\n") == 0, p.stderr
    assert victim.read_text() == "precious\n"

    live = tmp_path / "live.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(live))
    srv.listen(1)
    try:
        p = subprocess.run(["timeout", "-k", "5", str(TIMEOUT), VMKIT, "run", "--kernel", guest("null"),
                            "--console", "none", flag, fmt.format(live)], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 1, p.stderr
        assert "in use by another program" in p.stderr, p.stderr
    finally:
        srv.close()
