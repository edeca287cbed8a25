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
    # SIGKILL right after the guest's fsync completed; a new VM reads the data back
    "fsync-kill": "rm -f /tmp/big.img /tmp/fs.log; truncate -s 80M /tmp/big.img; "
                  "(" + BOOT % ("--disk /tmp/big.img", "disk-fsync") + " > /tmp/fs.log 2>&1 & echo $! > /tmp/vmkit.pid); "
                  "i=0; while ! grep -q VMKIT-FSYNC-DONE /tmp/fs.log && [ $i -lt 1500 ]; do sleep 0.2; i=$((i+1)); done; "
                  "kill -9 $(cat /tmp/vmkit.pid); sleep 1; grep VMKIT-FSYNC-DONE /tmp/fs.log; "
                  + BOOT % ("--disk /tmp/big.img", "disk-verify"),
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


def test_fsynced_data_survives_sigkill(results):
    status, out = results["fsync-kill"]
    done = re.search(r"VMKIT-FSYNC-DONE md5=([0-9a-f]{32})", out)
    verify = re.search(r"VMKIT-VERIFY md5=([0-9a-f]{32})", out)
    assert done, f"the guest never finished its fsync:\n{out[-3000:]}"
    assert verify, out[-3000:]
    assert status == 0
    assert done.group(1) == verify.group(1), "data written and fsynced before SIGKILL was lost"


def test_readonly_disk_refuses_writes(results):
    status, out = results["readonly"]
    assert status == 0, out[-3000:]
    assert "VMKIT-DISK ro=1" in out, out[-3000:]
    assert "VMKIT-DISK hostname=vmkit rig disk" in out
    assert "VMKIT-DISK rawwrite=refused" in out, out[-3000:]
