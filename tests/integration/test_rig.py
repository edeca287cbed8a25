"""The nested rig's own failure handling (tests/rig/run): an L1 that freezes
is reported as a rig failure (status 125) within the stall limit, not left to
run into the caller's timeout as though the command under test had hung."""
import os
import signal
import subprocess
import time
import uuid

import pytest

from conftest import RIG, host_has_hw_virt

pytestmark = pytest.mark.skipif(host_has_hw_virt(), reason="the rig is only used without VT-x/AMD-V")


def qemu_pids(marker):
    # QEMU itself (named by its path when tests/rig/qemu fetched it), not the
    # `timeout` that runs it: a stopped `timeout` would never pass the rig's TERM on
    out = subprocess.run(["pgrep", "-f", f"^[^ ]*qemu-system-x86_64 .*{marker}"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_frozen_l1_ends_the_rig_as_a_rig_failure():
    marker = f"vmkit.rigtest={uuid.uuid4().hex[:12]}"
    env = dict(os.environ, VMKIT_RIG_STALL="30")
    p = subprocess.Popen([os.path.join(RIG, "run"), "--timeout", "600", "--append", marker,
                          "echo RIG-TEST-READY; sleep 600"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         stdin=subprocess.DEVNULL)
    pids = []
    try:
        for line in p.stdout:
            if "RIG-TEST-READY" in line:
                break
        pids = qemu_pids(marker)
        assert pids, "the rig's QEMU was not found"
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)  # L1 freezes: no more heartbeats
        start = time.monotonic()
        _, err = p.communicate(timeout=300)
        waited = time.monotonic() - start
        assert p.returncode == 125, err
        assert "L1 stopped responding (no heartbeat for 30s)" in err, err
        assert waited < 300
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if p.poll() is None:
            p.kill()
            p.wait()
