"""Shared pytest fixtures.

`vmm` runs VMM scenarios (shell command lines using `vmkit run`) with a real
hardware-assisted /dev/kvm: natively when this host has VT-x/AMD-V, otherwise
inside the nested rig (tests/rig/run: QEMU TCG with an emulated SVM CPU). Many
scenarios share one rig boot to keep the suite fast.
"""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VMKIT = os.path.join(ROOT, "build", "vmkit")
RIG = os.path.join(ROOT, "tests", "rig")


def host_has_hw_virt():
    """True when /dev/kvm is backed by VT-x/AMD-V (not PVM emulation)."""
    try:
        cpuinfo = open("/proc/cpuinfo").read()
    except OSError:
        return False
    if not re.search(r"\b(vmx|svm)\b", cpuinfo):
        return False
    if os.path.exists("/sys/module/kvm_pvm"):
        return False
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


class Vmm:
    """Runs scenarios; placeholders {vmkit} {kernel} {vmlinux} {initrd} {disk} are filled in."""

    def __init__(self):
        self.native = host_has_hw_virt()
        self.images = None

    def _images(self):
        if self.images is None:
            out = subprocess.run([os.path.join(RIG, "build")], capture_output=True, text=True, timeout=900)
            if out.returncode != 0:
                pytest.fail(f"tests/rig/build failed: {out.stderr}")
            self.images = out.stdout.strip().splitlines()[-1]
        return self.images

    def where(self):
        return "native /dev/kvm" if self.native else "nested rig (QEMU TCG + SVM)"

    # In the rig, QEMU's TCG emulation of nested SVM occasionally makes an L2
    # guest triple-fault; QEMU itself as the L2 VMM shows the same (3 of 10
    # 4-vCPU boots measured here). A scenario that crashes (status 6) is
    # therefore re-run there, up to this many attempts; natively never.
    RIG_ATTEMPTS = 3
    RIG_BOOTS = 2
    RIG_BOOT_BUDGET = 300  # seconds for L1 to boot and start the batch

    def run(self, scenarios, timeout=900, each=180, vmkit=VMKIT, files=None, rig_args=()):
        """scenarios: {name: command}, each limited to `each` seconds (status 124/137
        when killed). Returns {name: (status, output)}. files: {name: host path}
        made available to the scenarios in the directory {files} (in the rig:
        /rig/files). rig_args: extra tests/rig/run options (e.g. --with-qemu)."""
        attempts = 1 if self.native else self.RIG_ATTEMPTS
        loop = "\n".join([
            f"for attempt in $(seq {attempts}); do",
            "  CMD",
            "  s=$?",
            "  [ $s -ne 6 ] && break",
            "  echo \"=== RIG-CRASH attempt $attempt (nested SVM flake?), retrying\"",
            "done",
            "(exit $s)",
        ])
        if not os.path.exists(vmkit):
            pytest.fail(f"{vmkit} is missing: run make")
        files = files or {}
        if self.native:
            import shutil
            import tempfile
            fdir = tempfile.mkdtemp(prefix="vmkit-files-")
            for name, src in files.items():
                shutil.copy(src, os.path.join(fdir, name))
            paths = dict(vmkit=vmkit, files=fdir, kernel=os.path.join(self._images(), "vmlinuz"),
                         vmlinux=os.path.join(self._images(), "vmlinux"),
                         initrd=os.path.join(self._images(), "l2-initrd.cpio.gz"),
                         disk=os.path.join(self._images(), "l2-disk.ext4"))
        else:
            self._images()
            paths = dict(vmkit="/rig/vmkit", files="/rig/files", kernel="/images/vmlinuz", vmlinux="/images/vmlinux",
                         initrd="/images/l2-initrd.cpio.gz",
                         disk="/images/l2-disk.ext4")
        script = []
        for name, cmd in scenarios.items():
            script.append(f"echo '=== SCENARIO {name}'; t0=$(date +%s)")
            script.append(loop.replace("CMD", f"timeout -s KILL {each} " + cmd.format(**paths)))
            script.append(f"s=$?; echo \"=== ELAPSED {name} $(( $(date +%s) - t0 ))s of {each}s\"")
            script.append(f"echo \"=== STATUS {name} $s\"")
        text = "\n".join(script)
        # The whole batch must outlive its scenarios: a slow machine (CI) may
        # use most of every scenario's budget, plus the rig's own boot.
        timeout = max(timeout, self.RIG_BOOT_BUDGET + each * len(scenarios))
        if self.native:
            p = subprocess.run(["sh", "-c", text], capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
            return parse_scenarios(p.stdout + p.stderr, scenarios)
        # Rarely a vCPU thread gets stuck inside L1's KVM under TCG (soft lockup):
        # L1 then panics and tests/rig/run exits 125 without a status. That is the
        # rig's failure, not vmkit's: boot a fresh L1 and run the whole batch again
        # (later scenarios may depend on earlier ones), once.
        notes = ""
        for boot in range(1, self.RIG_BOOTS + 1):
            fargs = [a for name, src in files.items() for a in ("--file", f"{src}:files/{name}")]
            p = subprocess.run([os.path.join(RIG, "run"), "--vmkit", vmkit, "--timeout", str(timeout),
                                *fargs, *rig_args, text],
                               capture_output=True, text=True, timeout=timeout + 60, stdin=subprocess.DEVNULL)
            results = parse_scenarios(p.stdout + p.stderr, scenarios)
            print("".join(l + "\n" for l in p.stdout.splitlines() if l.startswith("=== ELAPSED")), end="")
            if p.returncode != 125 or all(r[0] is not None for r in results.values()):
                break
            notes += f"=== RIG-FAILURE boot {boot}: {p.stderr.strip().splitlines()[-1:]}\n"
        return {k: (st, notes + out) for k, (st, out) in results.items()}


def parse_scenarios(output, scenarios):
    results = {}
    current, lines = None, []
    for raw in output.splitlines():
        line = raw.rstrip("\r")
        m = re.match(r"=== SCENARIO (\S+)", line)
        if m:
            current, lines = m.group(1), []
            continue
        m = re.match(r"=== STATUS (\S+) (\d+)", line)
        if m and current == m.group(1):
            results[current] = (int(m.group(2)), "\n".join(lines))
            current = None
            continue
        if current and line.startswith("=== RIG-CRASH"):
            lines = [line]  # judge the last attempt; keep the note
            continue
        if current:
            lines.append(line)
    for name in scenarios:
        if name not in results:
            results[name] = (None, "\n".join(lines) if current == name else output[-4000:])
    return results


@pytest.fixture(scope="session")
def vmm():
    return Vmm()
