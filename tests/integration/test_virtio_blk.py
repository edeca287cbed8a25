"""virtio-blk over virtio-mmio with the stock kernel's drivers (natively or in the rig).

The guest mounts an ext4 image built on the host, writes a file and syncs; a
second VM reads it back from the same image; a readonly disk refuses writes;
fsynced data survives SIGKILL; two disks at once (one on the io_uring engine,
one on the thread pool); blkdiscard and fstrim shrink the host files; the
guest sees one blk-mq hardware queue per virtqueue.
"""
import fcntl
import os
import re
import subprocess

import pytest

from conftest import ROOT, VMKIT

BOOT = ("{vmkit} run --kernel {kernel} --initrd {initrd} --memory 256M --console stdio %s "
        "--cmdline 'console=ttyS0 quiet vmkit.check=%s'")
# The fixture's `timeout` covers a scenario's first command only: boots after a
# preparation step carry their own.
TBOOT = "timeout -s KILL 170 " + BOOT
SCENARIOS = {
    "write": "echo VMKIT-HOST host-file sha256=$(cat {disk}.sha256); cp {disk} /tmp/disk.img && " + BOOT % ("--disk /tmp/disk.img,serial=vmkit-disk0", "disk-write"),
    "read": BOOT % ("--disk /tmp/disk.img", "disk-read"),
    "readonly": BOOT % ("--disk /tmp/disk.img,readonly", "disk-ro"),
    # SIGKILL right after the guest's fsync completed; a new VM reads the data back
    "fsync-kill": "rm -f /tmp/big.img /tmp/fs.log; truncate -s 80M /tmp/big.img; "
                  "(" + BOOT % ("--disk /tmp/big.img", "disk-fsync") + " > /tmp/fs.log 2>&1 & echo $! > /tmp/vmkit.pid); "
                  "i=0; while ! grep -q VMKIT-FSYNC-DONE /tmp/fs.log && [ $i -lt 1500 ]; do sleep 0.2; i=$((i+1)); done; "
                  "kill -9 $(cat /tmp/vmkit.pid); sleep 1; grep VMKIT-FSYNC-DONE /tmp/fs.log; "
                  + BOOT % ("--disk /tmp/big.img", "disk-verify"),
    # two disks at once, the second on the thread-pool engine; a second VM checks both
    "two": "cp {disk} /tmp/a.img && cp {disk} /tmp/b.img && "
           + TBOOT % ("--cpus 2 --disk /tmp/a.img,serial=disk-a --disk /tmp/b.img,serial=disk-b,aio=threads",
                     "disk-two"),
    "two-verify": BOOT % ("--disk /tmp/b.img,readonly --disk /tmp/a.img,readonly", "disk-two-verify"),
    # fully allocated images; the guest discards; the host counts allocated blocks
    "trim": "dd if=/dev/zero of=/tmp/raw.img bs=1M count=64 2>/dev/null; cat {disk} >/tmp/fs.img; "
            "echo VMKIT-HOST before raw=$(stat -c %b /tmp/raw.img) fs=$(stat -c %b /tmp/fs.img); "
            + TBOOT % ("--disk /tmp/raw.img --disk /tmp/fs.img", "disk-trim")
            + "; s=$?; echo VMKIT-HOST after raw=$(stat -c %b /tmp/raw.img) fs=$(stat -c %b /tmp/fs.img); (exit $s)",
    "mq": "dd if=/dev/urandom of=/tmp/mq.img bs=1M count=32 2>/dev/null; "
          "echo VMKIT-HOST md5=$(dd if=/tmp/mq.img bs=1M count=8 2>/dev/null | md5sum | cut -d' ' -f1); "
          + TBOOT % ("--cpus 2 --disk /tmp/mq.img", "disk-mq"),
    "mq1": BOOT % ("--cpus 2 --disk /tmp/mq.img,queues=1", "disk-mq"),
}


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=900)


def test_guest_mounts_and_writes(results):
    status, out = results["write"]
    assert status == 0, out[-3000:]
    assert "VMKIT-DISK hostname=vmkit rig disk" in out, out[-3000:]
    # a file the host wrote into the image (tests/rig/build) reads back intact
    host = re.search(r"VMKIT-HOST host-file sha256=([0-9a-f]{64})", out)
    assert host and f"VMKIT-DISK host-file sha256={host.group(1)}" in out, out[-3000:]
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


def test_two_disks_at_once(results):
    status, out = results["two"]
    assert status == 0, out[-3000:]
    assert "VMKIT-TWO mounted" in out, out[-3000:]
    assert "VMKIT-TWO serials=disk-a,disk-b" in out, out[-3000:]
    wrote = re.search(r"VMKIT-TWO a=([0-9a-f]{32}) b=([0-9a-f]{32})", out)
    assert wrote and wrote.group(1) != wrote.group(2), out[-3000:]
    status, out = results["two-verify"]
    assert status == 0, out[-3000:]
    # the second VM has the disks the other way round: vda is b.img
    read = re.search(r"VMKIT-TWO-VERIFY a=([0-9a-f]{32}) b=([0-9a-f]{32})", out)
    assert read, out[-3000:]
    assert (read.group(1), read.group(2)) == (wrote.group(2), wrote.group(1))


def test_discard_shrinks_the_host_files(results):
    status, out = results["trim"]
    assert status == 0, out[-3000:]
    m = re.search(r"VMKIT-TRIM discard_max=(\d+) wz_max=(\d+)", out)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) > 0, out[-3000:]
    assert "VMKIT-TRIM blkdiscard=ok" in out, out[-3000:]
    assert "VMKIT-TRIM zeros=b6d81b360a5672d80c27430f39153e2c" in out, out[-3000:]  # 1 MiB of zeros
    assert re.search(r"VMKIT-TRIM fstrim=.*trimmed", out), out[-3000:]
    before = re.search(r"VMKIT-HOST before raw=(\d+) fs=(\d+)", out)
    after = re.search(r"VMKIT-HOST after raw=(\d+) fs=(\d+)", out)
    assert before and after, out[-3000:]
    raw0, fs0, raw1, fs1 = (int(x) for x in before.groups() + after.groups())
    assert raw0 >= 64 * 2048 * 0.99 and raw1 < raw0 // 8, (raw0, raw1)  # 512-byte blocks
    assert fs1 < fs0 // 2, (fs0, fs1)


def test_multiqueue_visible_in_guest(results):
    status, out = results["mq"]
    assert status == 0, out[-3000:]
    assert "VMKIT-MQ hw_queues=2 nproc=2" in out, out[-3000:]
    host = re.search(r"VMKIT-HOST md5=([0-9a-f]{32})", out)
    assert host and f"VMKIT-MQ md5={host.group(1)}" in out, out[-3000:]
    status, out = results["mq1"]
    assert status == 0, out[-3000:]
    assert "VMKIT-MQ hw_queues=1 nproc=2" in out, out[-3000:]


# Host-side checks (no guest kernel boots: errors come before the VM runs).
HOST_GUEST = os.path.join(ROOT, "tests", "guests", "build", "null.elf")


@pytest.fixture(scope="module")
def null_guest():
    p = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "guests")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return HOST_GUEST


def test_second_writer_is_refused(null_guest, tmp_path):
    img = tmp_path / "locked.img"
    img.write_bytes(b"\0" * 65536)
    with open(img, "r+b") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)  # what a running vmkit holds on its image
        p = subprocess.run([VMKIT, "run", "--kernel", null_guest, "--console", "none", "--disk", str(img)],
                           capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip().count("\n") == 0 and "in use by another process" in p.stderr, p.stderr


def test_auto_poll_window_is_sized_from_the_host(null_guest, tmp_path):
    """poll=auto (the default) measures a thread wake-up and polls for 16 of them (16-2000 us)."""
    img = tmp_path / "p.img"
    img.write_bytes(b"\0" * 65536)
    env = dict(os.environ, VMKIT_LOG="debug")
    for opts in ("", ",poll=auto"):
        p = subprocess.run([VMKIT, "run", "--kernel", null_guest, "--console", "none", "--disk", f"{img}{opts}"],
                           capture_output=True, text=True, timeout=60, env=env)
        m = re.search(r"a thread wake-up costs (\d+) ns here: disks poll their queues for up to (\d+) us", p.stderr)
        assert m, p.stderr[-2000:]
        wake_ns, window = int(m.group(1)), int(m.group(2))
        assert wake_ns > 0 and window == min(2000, max(16, wake_ns * 16 // 1000)), m.group(0)
    # a window given in microseconds is used as it is: nothing measured
    p = subprocess.run([VMKIT, "run", "--kernel", null_guest, "--console", "none", "--disk", f"{img},poll=300"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert "wake-up costs" not in p.stderr, p.stderr[-2000:]


@pytest.mark.parametrize("bad", ["x.img,queues=0", "x.img,queues=17", "x.img,cache=unsafe", "x.img,aio=posix",
                                 "x.img,poll=-1", "x.img,poll=100000", "x.img,poll=automatic"])
def test_bad_disk_options_are_usage_errors(bad):
    p = subprocess.run([VMKIT, "run", "--kernel", "k", "--disk", bad], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().count("\n") == 0 and "--disk" in p.stderr, p.stderr
