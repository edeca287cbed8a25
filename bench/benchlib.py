# SPDX-License-Identifier: MIT
"""Shared helpers for vmkit's benchmarks (bench/startup, bench/vm-rate, bench/exit-cost).

Every figure is measured side by side in one run: the KVM floor (bench/kvm_floor.c),
vmkit and QEMU, alternating, and reported as medians and ratios. Processes are run
through bench/measure.c, which times fork..wait4 and reads the child's rusage
(see measure.c for why not Python's subprocess: ru_maxrss would include the
interpreter's own ~10 MiB copied at fork).

Environment:
  BUILD         vmkit build dir (default: build); vmkit is $BUILD/vmkit
  VMKIT         path of the vmkit binary (overrides $BUILD/vmkit)
  BENCH_OUT     where bench/Makefile put kvm_floor, measure, guests/ (default: $BUILD/bench)
  QEMU          QEMU binary (default: qemu-system-x86_64)
  QEMU_MACHINE  QEMU machine (default: microvm; `pc` also works but boots SeaBIOS, ~3 s here)
"""
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD") or "build"
OUT = os.environ.get("BENCH_OUT") or os.path.join(BUILD, "bench")
VMKIT = os.environ.get("VMKIT") or os.path.join(BUILD, "vmkit")
QEMU = os.environ.get("QEMU") or "qemu-system-x86_64"
QEMU_MACHINE = os.environ.get("QEMU_MACHINE") or "microvm"
MEASURE = os.path.join(OUT, "measure")
FLOOR = os.path.join(OUT, "kvm_floor")
GUESTS = os.path.join(OUT, "guests")
NULL_GUEST = os.path.join(GUESTS, "null.elf")
# What the guests write to port 0xf4 (0x10) comes back as exit status (0x10 << 1) | 1
# from both QEMU's isa-debug-exit and vmkit.
GUEST_STATUS = 33


def guest(name):
    return os.path.join(GUESTS, name)


class Contender:
    """One program being measured: builds its command line and knows its expected status."""

    def __init__(self, name, label, expect):
        self.name = name
        self.label = label
        self.expect = expect
        self.problem = None  # why it cannot be measured, or None

    def cmd(self, kernel, mem, cmdline=None):
        raise NotImplementedError


class Floor(Contender):
    def __init__(self):
        super().__init__("floor", "KVM floor", 0)

    def cmd(self, kernel, mem, cmdline=None):
        return [FLOOR, mem]


class Vmkit(Contender):
    def __init__(self):
        super().__init__("vmkit", "vmkit", GUEST_STATUS)

    def cmd(self, kernel, mem, cmdline=None):
        c = [VMKIT, "run", "--kernel", kernel, "--memory", mem, "--console", "none"]
        if cmdline:
            c += ["--cmdline", cmdline]
        return c


class Qemu(Contender):
    def __init__(self):
        super().__init__("qemu", "QEMU " + QEMU_MACHINE, GUEST_STATUS)

    def cmd(self, kernel, mem, cmdline=None):
        c = [QEMU, "-M", QEMU_MACHINE, "-enable-kvm", "-m", mem, "-nodefaults",
             "-no-user-config", "-nographic", "-kernel", kernel,
             "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
        if cmdline:
            c += ["-append", cmdline]
        return c


def parse_kv(line):
    out = {}
    for tok in line.split():
        k, _, v = tok.partition("=")
        out[k] = int(v)
    return out


ERRFILE = "/tmp/vmkit-bench-stderr.%d" % os.getpid()


def measure(cmd):
    """Run cmd once via measure; return dict status, wall_us, user_us, sys_us, maxrss_kb."""
    r = subprocess.run([MEASURE, "-e", ERRFILE, "--"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("measure failed: " + r.stderr.strip())
    d = parse_kv(r.stdout)
    d["cpu_us"] = d["user_us"] + d["sys_us"]
    return d


def measure_rate(cmd, seconds, expect):
    r = subprocess.run([MEASURE, "-t", str(seconds), "-x", str(expect), "-e", ERRFILE, "--"] + cmd,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("measure failed: " + r.stderr.strip())
    return parse_kv(r.stdout)


def last_stderr(limit=400):
    try:
        with open(ERRFILE, errors="replace") as f:
            s = f.read().strip()
    except OSError:
        return ""
    return s[:limit]


def cleanup():
    try:
        os.unlink(ERRFILE)
    except OSError:
        pass


def check_tools():
    """Return a list of problems that stop every benchmark (missing helpers, no /dev/kvm)."""
    probs = []
    for p in (MEASURE, FLOOR, NULL_GUEST):
        if not os.access(p, os.X_OK if p != NULL_GUEST else os.R_OK):
            probs.append("%s is missing: run `make -C bench O=%s` (bench/run-all does)" %
                         (p, os.path.abspath(OUT)))
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        probs.append("/dev/kvm is not accessible")
    return probs


def smoke(contender, kernel=None, mem="128M", cmdline=None):
    """Run a contender once; set contender.problem if it cannot run the guest."""
    kernel = kernel or NULL_GUEST
    if isinstance(contender, Vmkit) and not os.access(VMKIT, os.X_OK):
        contender.problem = "%s not found (build it with make, or set VMKIT=PATH)" % VMKIT
        return False
    if isinstance(contender, Qemu) and not shutil.which(QEMU):
        contender.problem = "%s not found (apt-get install qemu-system-x86)" % QEMU
        return False
    try:
        d = measure(contender.cmd(kernel, mem, cmdline))
    except RuntimeError as e:
        contender.problem = str(e)
        return False
    if d["status"] != contender.expect:
        err = last_stderr()
        contender.problem = "exit status %d, expected %d%s" % (
            d["status"], contender.expect, (": " + err.replace("\n", " | ")) if err else "")
        return False
    return True


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def ratio(a, b):
    if b is None or a is None or b == 0 or a != a or b != b:
        return float("nan")
    return a / b


def fmt(v, spec, suffix=""):
    """Format v with spec and suffix; "n/a" for a missing (None or NaN) value."""
    if v is None or v != v:
        return "n/a"
    return format(v, spec) + suffix


def verdict(ok):
    if ok is None:
        return ""
    return "ok" if ok else "MISSED"


def say(*a):
    print(*a)
    sys.stdout.flush()
