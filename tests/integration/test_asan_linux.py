"""The sanitizer build (make asan) runs a real Linux guest with every device in use
and reports nothing: memory errors in paths only a real guest exercises fail here."""
import os
import subprocess

import pytest

from conftest import ROOT

ASAN_VMKIT = os.path.join(ROOT, "build", "asan", "vmkit")
BOOT = ("{vmkit} run --kernel {kernel} --initrd {initrd} --memory 512M --cpus 2 --rng %s "
        "--cmdline 'console=%s quiet vmkit.check=%s'")
SCENARIOS = {
    "disk": "cp {disk} /tmp/asan-disk.img && " + BOOT % ("--disk /tmp/asan-disk.img --console stdio", "ttyS0",
                                                         "disk-write"),
    "hvc": "echo hi | " + BOOT % ("--console virtio", "hvc0", "hvc"),
    "reboot": BOOT % ("--console stdio", "ttyS0", "reboot"),
}


@pytest.fixture(scope="module")
def results(vmm):
    subprocess.run(["make", "-s", "-C", ROOT, "asan"], check=True, capture_output=True)
    return vmm.run(SCENARIOS, timeout=900, vmkit=ASAN_VMKIT)


@pytest.mark.parametrize("name,want", [("disk", 0), ("hvc", 0), ("reboot", 4)])
def test_no_sanitizer_reports(results, name, want):
    status, out = results[name]
    assert "Sanitizer" not in out and "runtime error" not in out, out[-4000:]
    assert status == want, out[-3000:]
