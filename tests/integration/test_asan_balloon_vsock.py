"""The sanitizer build (make asan) runs the balloon and vsock rig scenarios with
a real Linux guest (inflate/deflate, statistics, free page reporting; vsock
echo both ways with 1 MB transfers) and reports nothing."""
import os
import subprocess

import pytest

from conftest import ROOT
import test_virtio_balloon as balloon
import test_virtio_vsock as vsock

ASAN_VMKIT = os.path.join(ROOT, "build", "asan", "vmkit")
SCENARIOS = {
    "balloon": balloon.host_script("balloon"),
    "balloon_report": balloon.host_script("report", balloon.HOST_REPORT),
    "vsock": vsock.host_script("vsock"),
}


@pytest.fixture(scope="module")
def results(vmm):
    subprocess.run(["make", "-s", "-C", ROOT, "asan"], check=True, capture_output=True)
    return vmm.run(SCENARIOS, timeout=1200, each=400, vmkit=ASAN_VMKIT)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_no_sanitizer_reports(results, name):
    status, out = results[name]
    assert "Sanitizer" not in out and "runtime error" not in out, out[-4000:]
    assert status == 0, out[-4000:]


def test_scenarios_did_their_work(results):
    out = results["balloon"][1]
    assert "BALLOON-HOST error" not in out, out[-4000:]
    assert "VMKIT-BALLOON deflated" in out, out[-4000:]
    out = results["vsock"][1]
    assert "VMKIT-VSOCK-HOST reply bytes=1000000 match=1" in out, out[-4000:]
    assert "VMKIT-VSOCK-GUEST reply bytes=1000000 match=1" in out, out[-4000:]
