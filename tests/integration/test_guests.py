"""Tiny purpose-built guests (tests/guests) under `vmkit run` on this host's /dev/kvm.

Each guest asserts from inside the VM and reports PASS/FAIL on COM1 and through
the debug-exit port (pass = status 33, fail = 35).
"""
import os
import select
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VMKIT = os.path.join(ROOT, "build", "vmkit")
GUESTS = os.path.join(ROOT, "tests", "guests", "build")
PASS, FAIL = 33, 35

pytestmark = pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="no usable /dev/kvm")


@pytest.fixture(scope="session", autouse=True)
def built():
    subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "guests")], check=True)
    assert os.path.exists(VMKIT), "build/vmkit missing: run make"


def run(guest, *args, stdin=subprocess.DEVNULL, timeout=120):
    p = subprocess.run([VMKIT, "run", "--kernel", os.path.join(GUESTS, guest + ".elf"), "--console", "stdio", *args],
                       capture_output=True, text=True, timeout=timeout, stdin=stdin)
    assert p.returncode >= 0, f"vmkit died of signal {-p.returncode}: {p.stderr}"
    return p.returncode, p.stdout + p.stderr


def expect_pass(name, rc, out):
    assert f"PASS {name}" in out and rc == PASS, f"status {rc}:\n{out}"


def test_boot_state():
    expect_pass("boot", *run("boot", "--cmdline", "loader=vmkit"))


@pytest.mark.parametrize("mem", ["16M", "128M", "256M", "3G"])
def test_memory_map(mem):
    expect_pass("memmap", *run("memmap", "--memory", mem, "--cmdline", f"mem={mem}"))


def test_cmdline_and_initrd(tmp_path):
    data = os.urandom(123457)
    rd = tmp_path / "initrd"
    rd.write_bytes(data)
    cmd = f"token-one token-two initrd_size={len(data)} initrd_sum={sum(data) & 0xffffffff}"
    rc, out = run("cmdline", "--initrd", str(rd), "--cmdline", cmd)
    assert f"CMDLINE[{cmd}]" in out
    expect_pass("cmdline", rc, out)


def test_serial_transmit_and_receive():
    n = 24
    p = subprocess.Popen([VMKIT, "run", "--kernel", os.path.join(GUESTS, "serial.elf"), "--console", "stdio",
                          "--cmdline", f"n={n}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b""
    first, second = os.urandom(n), os.urandom(n)
    deadline = time.time() + 120
    sent1 = sent2 = False
    while p.poll() is None and time.time() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            out += chunk
        if b"READY1" in out and not sent1:
            p.stdin.write(first)
            p.stdin.flush()
            sent1 = True
        if b"READY2" in out and not sent2:
            p.stdin.write(second)
            p.stdin.flush()
            sent2 = True
    if p.poll() is None:
        p.kill()
    out += p.stdout.read()
    text = out.decode(errors="replace")
    assert f"SUM1={sum(first)}" in text, text
    assert f"SUM2={sum(second)}" in text, text
    expect_pass("serial", p.wait(), text)


def test_pit_and_lapic_timer_interrupts():
    expect_pass("timers", *run("timers"))


@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_smp_bringup(cpus):
    expect_pass("smp", *run("smp", "--cpus", str(cpus), "--cmdline", f"cpus={cpus}"))


@pytest.mark.parametrize("cpus", [1, 3])
def test_acpi_tables_and_poweroff(cpus):
    rc, out = run("acpi", "--cpus", str(cpus), "--cmdline", f"cpus={cpus}")
    assert "ACPI tables OK" in out, out
    assert rc == 0, f"ACPI S5 should end vmkit with status 0, got {rc}:\n{out}"


def test_pci_host_bridge():
    expect_pass("pci", *run("pci"))


def test_cmos_time():
    expect_pass("rtc", *run("rtc", "--cmdline", f"now={int(time.time())}"))


@pytest.mark.parametrize("via", ["i8042", "cf9"])
def test_reset_request(via):
    rc, out = run("reset", "--cmdline", f"via={via}")
    assert "resetting" in out
    assert rc == 4, f"reset should end vmkit with status 4, got {rc}:\n{out}"


def test_hostile_accesses():
    expect_pass("hostile", *run("hostile"))


def test_triple_fault_is_a_crash_with_registers():
    rc, out = run("crash")
    assert "crashing" in out
    assert rc == 6, f"a triple fault should end vmkit with status 6, got {rc}:\n{out}"
    assert "triple fault" in out and "rip" in out and "cr0" in out


def test_raw_terminal_restored_and_ctrl_a_x_quits():
    import pty
    import termios
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([VMKIT, "run", "--kernel", os.path.join(GUESTS, "serial.elf"), "--console", "stdio",
                          "--cmdline", "n=1000"], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    out = b""
    deadline = time.time() + 60
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
    p = subprocess.run([VMKIT, "run", "--kernel", os.path.join(GUESTS, "boot.elf"), "--console", f"file:{log}"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == PASS
    assert "PASS boot" in log.read_text()
    assert "PASS boot" not in p.stdout


def test_console_pty():
    import re as _re
    p = subprocess.Popen([VMKIT, "run", "--kernel", os.path.join(GUESTS, "serial.elf"), "--console", "pty",
                          "--cmdline", "n=4"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    line = p.stderr.readline().decode()
    m = _re.search(r"serial console on (/dev/pts/\d+)", line)
    assert m, line
    fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY)
    out = b""
    deadline = time.time() + 60
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
    rc = p.wait(timeout=60)
    os.close(fd)
    assert rc == PASS, out
    assert f"SUM1={sum(b'abcd')}".encode() in out
