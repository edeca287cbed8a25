"""virtio-blk over virtio-mmio with the stock kernel's drivers (natively or in the rig).

The guest mounts an ext4 image built on the host, writes a file and syncs; a
second VM reads it back from the same image; a readonly disk refuses writes.
"""
import re

import pytest

BOOT = ("{vmkit} run --kernel {kernel} --initrd {initrd} --memory 256M --console stdio %s "
        "--cmdline 'console=ttyS0 quiet vmkit.check=%s'")
SCENARIOS = {
    "write": "cp {disk} /tmp/disk.img && " + BOOT % ("--disk /tmp/disk.img,serial=vmkit-disk0", "disk-write"),
    "read": BOOT % ("--disk /tmp/disk.img", "disk-read"),
    "readonly": BOOT % ("--disk /tmp/disk.img,readonly", "disk-ro"),
}


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=900)


def test_guest_mounts_and_writes(results):
    status, out = results["write"]
    assert status == 0, out[-3000:]
    assert "VMKIT-DISK hostname=vmkit rig disk" in out, out[-3000:]
    assert re.search(r"VMKIT-DISK wrote=written-by-l2-\d+", out), out[-3000:]
    assert "VMKIT-DISK serial=vmkit-disk0" in out, out[-3000:]


def test_data_survives_into_the_next_vm(results):
    wrote = re.search(r"VMKIT-DISK wrote=(\S+)", results["write"][1])
    status, out = results["read"]
    assert status == 0, out[-3000:]
    assert wrote and f"VMKIT-DISK read={wrote.group(1)}" in out, out[-3000:]


def test_readonly_disk_refuses_writes(results):
    status, out = results["readonly"]
    assert status == 0, out[-3000:]
    assert "VMKIT-DISK ro=1" in out, out[-3000:]
    assert "VMKIT-DISK hostname=vmkit rig disk" in out
    assert "VMKIT-DISK rawwrite=refused" in out, out[-3000:]
