"""The stock Debian cloud kernel boots under vmkit (natively or in the nested rig).

All scenarios run in one rig boot (session fixture); each test asserts on its
own scenario's output and exit status.
"""
import re

import pytest

MEMORY_MB = 512
BOOT = ("{vmkit} run --kernel {kernel} --initrd {initrd} --memory %dM --cpus %d --console stdio "
        "--cmdline 'console=ttyS0 quiet vmkit.check=%s'")

SCENARIOS = {
    "boot1": BOOT % (MEMORY_MB, 1, "boot"),
    "boot2": BOOT % (MEMORY_MB, 2, "boot"),
    "boot4": BOOT % (MEMORY_MB, 4, "boot"),
    "reboot": BOOT % (MEMORY_MB, 1, "reboot"),
    # the same kernel as an ELF vmlinux, entered through its PVH note
    "pvh": "{vmkit} run --kernel {vmlinux} --initrd {initrd} --memory %dM --cpus 2 --console stdio "
           "--cmdline 'console=ttyS0 quiet vmkit.check=boot'" % MEMORY_MB,
}

VMKIT_EXIT_RESET = 4


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=1200)


def check_output(results, name):
    status, out = results[name]
    assert status is not None, f"scenario {name} did not finish:\n{out[-3000:]}"
    return status, out


@pytest.mark.parametrize("name,cpus", [("boot1", 1), ("boot2", 2), ("boot4", 4), ("pvh", 2)])
def test_boots_to_init_and_powers_off(results, name, cpus):
    status, out = check_output(results, name)
    assert "VMKIT-INIT" in out, f"/init never ran:\n{out[-3000:]}"
    m = re.search(r"VMKIT-CHECK nproc=(\d+) memtotal_kb=(\d+)", out)
    assert m, out[-3000:]
    assert int(m.group(1)) == cpus
    memtotal_mb = int(m.group(2)) / 1024
    assert 0.85 * MEMORY_MB <= memtotal_mb <= MEMORY_MB, f"MemTotal {memtotal_mb:.0f} MiB for --memory {MEMORY_MB}M"
    bad = [l for l in out.splitlines() if l.startswith("VMKIT-DMESG-BAD")]
    assert not bad, "\n".join(bad)
    assert "VMKIT-CHECK-END" in out
    # CPUID hypervisor leaves: the guest recognises KVM and uses kvmclock
    assert "Hypervisor detected: KVM" in out, out[-3000:]
    assert "Switched to clocksource kvm-clock" in out, out[-3000:]
    assert status == 0, f"poweroff should end vmkit with status 0, got {status}:\n{out[-2000:]}"


def test_reboot_ends_with_reset_status(results):
    status, out = check_output(results, "reboot")
    assert "VMKIT-CHECK rebooting" in out, out[-3000:]
    assert status == VMKIT_EXIT_RESET, f"got {status}:\n{out[-2000:]}"
