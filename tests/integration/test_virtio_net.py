"""virtio-net (--net) with the stock kernel's virtio_net driver.

net user (libslirp): the guest gets a DHCP lease, resolves a name through
slirp's DNS forwarder (10.0.2.3 -> the host's resolver, a small DNS server on
the test host), fetches a file over HTTP from the host and checks its sha256;
the host reaches an HTTP server and a listener in the guest through hostfwd.
net tap: see the tap scenarios below.
"""
import hashlib
import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NET = os.path.join(HERE, "net")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("net")
    dnsstub = d / "dnsstub"
    subprocess.run(["gcc", "-static", "-O2", "-o", str(dnsstub), os.path.join(NET, "dnsstub.c")], check=True)
    blob = d / "blob"
    blob.write_bytes(os.urandom(3 * 1024 * 1024 + 123))
    root = d / "root"
    (root / "checks").mkdir(parents=True)
    for name in os.listdir(NET):
        src = os.path.join(NET, name)
        if name.startswith("l2-") or name == "udhcpc.script":
            dst = root / "checks" / (name[3:] if name.startswith("l2-") else name)
            dst.write_bytes(open(src, "rb").read())
            dst.chmod(0o755)
    cpio = d / "checks.cpio.gz"
    subprocess.run(f"cd {root} && find . | cpio -o -H newc --quiet | gzip -1 >{cpio}", shell=True, check=True)
    return {"dnsstub": str(dnsstub), "blob": str(blob), "checks.cpio.gz": str(cpio),
            "user.sh": os.path.join(NET, "user.sh"),
            "sha256": hashlib.sha256(blob.read_bytes()).hexdigest()}


SCENARIOS = {
    "user": "sh {files}/user.sh {vmkit} {kernel} {initrd} {files}",
}


@pytest.fixture(scope="module")
def results(vmm, files):
    shipped = {k: v for k, v in files.items() if k != "sha256"}
    return vmm.run(SCENARIOS, timeout=900, each=300, files=shipped)


def test_user_dhcp_lease(results):
    status, out = results["user"]
    assert status == 0, out[-4000:]
    assert re.search(r"VMKIT-NET lease ip=10\.0\.2\.15 router=10\.0\.2\.2 dns=10\.0\.2\.3", out), out[-4000:]
    assert "VMKIT-NET mac=52:54:00:12:34:56" in out, out[-4000:]


def test_user_dns_through_slirp(results):
    status, out = results["user"]
    assert "VMKIT-NET dns=10.0.2.2" in out, out[-4000:]
    # the query really reached the DNS server on the host
    assert re.search(r"dnsstub: files\.vmkit\.test type 1 -> 10\.0\.2\.2", out), out[-4000:]


def test_user_http_fetch_from_host(results, files):
    status, out = results["user"]
    assert f"VMKIT-NET fetched sha256={files['sha256']} bytes={3 * 1024 * 1024 + 123}" in out, out[-4000:]


def test_user_hostfwd_reaches_guest(results):
    status, out = results["user"]
    assert "VMKIT-L1 fwd=hello-from-l2-guest" in out, out[-4000:]
    assert "VMKIT-NET got=bye-from-l1" in out, out[-4000:]
