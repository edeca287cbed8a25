"""virtio-net (--net) with the stock kernel's virtio_net driver.

net user (libslirp): the guest gets a DHCP lease, resolves a name through
slirp's DNS forwarder (10.0.2.3 -> the host's resolver, a small DNS server on
the test host), fetches a file over HTTP from the host and checks its sha256;
the host reaches an HTTP server and a listener in the guest through hostfwd.
net tap: vmkit's tap is bridged to a veth pair whose other end sits in a
network namespace (the peer, 192.168.77.1); the guest pings it and moves
16 MiB each way over TCP, checked by sha256 on both ends; with queues=2 and
two vCPUs the driver runs two queue pairs (VQ_PAIRS_SET), 4 MiB each way.
"""
import hashlib
import os
import re
import subprocess

import pytest

from conftest import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
ASAN_VMKIT = os.path.join(ROOT, "build", "asan", "vmkit")
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
    shipped = {}
    # iproute2's ip (veth pairs, netns moves; busybox ip cannot) and its libraries
    ip = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "/sbin/ip"
    shipped["ip"] = ip
    ldd = subprocess.run(["ldd", ip], capture_output=True, text=True).stdout
    for m in re.finditer(r"=> (/\S+)", ldd):
        shipped[os.path.basename(m.group(1))] = m.group(1)
    return {**shipped, "dnsstub": str(dnsstub), "blob": str(blob), "checks.cpio.gz": str(cpio),
            "user.sh": os.path.join(NET, "user.sh"), "tap.sh": os.path.join(NET, "tap.sh"),
            "sha256": hashlib.sha256(blob.read_bytes()).hexdigest()}


SCENARIOS = {
    "user": "sh {files}/user.sh {vmkit} {kernel} {initrd} {files}",
    "user-mmio": "sh {files}/user.sh {vmkit} {kernel} {initrd} {files} ,transport=mmio,mac=02:00:00:00:00:01",
    "tap": "sh {files}/tap.sh {vmkit} {kernel} {initrd} {files} 1 1 16",
    "tap-mq": "sh {files}/tap.sh {vmkit} {kernel} {initrd} {files} 2 2 4",
}


ASAN_SCENARIOS = {
    "asan-user": SCENARIOS["user"],
    "asan-tap-mq": "sh {files}/tap.sh {vmkit} {kernel} {initrd} {files} 2 2 4",
}


def shipped(files):
    return {k: v for k, v in files.items() if k != "sha256"}


@pytest.fixture(scope="module")
def results(vmm, files):
    return vmm.run(SCENARIOS, timeout=900, each=300, files=shipped(files))


@pytest.fixture(scope="module")
def asan_results(vmm, files):
    """The same scenarios under the ASan/UBSan build (make asan)."""
    subprocess.run(["make", "-s", "-C", ROOT, "asan"], check=True, capture_output=True)
    return vmm.run(ASAN_SCENARIOS, timeout=900, each=400, files=shipped(files), vmkit=ASAN_VMKIT)


def test_user_dhcp_lease(results):
    status, out = results["user"]
    assert status == 0, out[-4000:]
    assert re.search(r"VMKIT-NET lease ip=10\.0\.2\.15 router=10\.0\.2\.2 dns=10\.0\.2\.3", out), out[-4000:]
    assert "VMKIT-NET mac=52:54:00:12:34:56" in out, out[-4000:]


def features(out):
    bits = re.search(r"VMKIT-NET features=([01]+)", out).group(1)
    return {i for i, b in enumerate(bits) if b == "1"}


def test_user_features_and_transports(results, files):
    # virtio-pci by default: mergeable buffers on a packed ring, no offloads for slirp
    status, out = results["user"]
    f = features(out)
    assert {15, 16, 17, 32, 34} <= f, sorted(f)  # MRG_RXBUF STATUS CTRL_VQ VERSION_1 RING_PACKED
    assert not {0, 1, 7, 11} & f, sorted(f)      # no CSUM/GUEST_CSUM/TSO with slirp
    assert re.search(r"VMKIT-NET transport=0000:", out), out[-4000:]
    # the same through virtio-mmio, with a chosen MAC
    status, out = results["user-mmio"]
    assert status == 0, out[-4000:]
    assert "VMKIT-NET transport=LNRO0005:" in out, out[-4000:]  # the ACPI-described virtio-mmio device
    assert {15, 32, 34} <= features(out), sorted(features(out))
    assert "VMKIT-NET mac=02:00:00:00:00:01" in out, out[-4000:]
    assert f"VMKIT-NET fetched sha256={files['sha256']}" in out, out[-4000:]
    assert "VMKIT-NET got=bye-from-l1" in out, out[-4000:]


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


def check_tap(results, name, mib):
    status, out = results[name]
    assert status == 0, out[-4000:]
    assert "VMKIT-NET ping=ok" in out, out[-4000:]
    up = re.search(r"VMKIT-NET up sha256=(\w+)", out).group(1)
    assert f"VMKIT-L1 up sha256={up} bytes={mib << 20}" in out, out[-4000:]
    down = re.search(r"VMKIT-L1 down sha256=(\w+)", out).group(1)
    assert f"VMKIT-NET down sha256={down} bytes={mib << 20}" in out, out[-4000:]
    assert "rx_errors=0 rx_length_errors=0" in out, out[-4000:]
    return out


def test_tap_ping_and_transfer_to_netns_peer(results):
    out = check_tap(results, "tap", 16)
    assert "VMKIT-NET queues=rx-0 tx-0" in out, out[-4000:]


def test_tap_multiqueue(results):
    out = check_tap(results, "tap-mq", 4)
    assert "VMKIT-NET queues=rx-0 rx-1 tx-0 tx-1" in out, out[-4000:]


@pytest.mark.parametrize("name", ["asan-user", "asan-tap-mq"])
def test_no_sanitizer_reports(asan_results, files, name):
    status, out = asan_results[name]
    assert "Sanitizer" not in out and "runtime error" not in out, out[-4000:]
    assert status == 0, out[-4000:]
    if name == "asan-user":
        assert f"VMKIT-NET fetched sha256={files['sha256']}" in out, out[-4000:]
        assert "VMKIT-NET got=bye-from-l1" in out, out[-4000:]
    else:
        check_tap(asan_results, name, 4)
