"""virtio-vsock (--vsock) with the stock kernel's vsock drivers, echo both ways.

Host -> guest: a host program connects to vmkit's UNIX socket, says
"CONNECT 5000", gets "OK <port>" and talks to the guest's echo server (a short
message, then 1 MB, which needs credit updates both ways). Guest -> host: the
guest connects to CID 2 port 6000, which vmkit relays to the UNIX socket
SOCK_6000 where a host echo server listens. Both ends are tests/rig/vsock-helper.c.
"""
import re

import pytest

HOST = r"""
d=/tmp/vmkit-vsock-test
rm -rf $d; mkdir -p $d
vsock-helper unix-listen $d/v.sock_6000 2 >$d/hostecho &
echo_pid=$!
@VMKIT@ run --kernel @KERNEL@ --initrd @INITRD@ --memory 256M --console file:$d/con \
    --vsock 3,path=$d/v.sock --cmdline 'console=ttyS0 quiet vmkit.check=vsock' 2>$d/err &
pid=$!
vsock-helper unix-connect $d/v.sock 5000 hello-from-host
vsock-helper unix-connect $d/v.sock 5000 @1000000
wait $pid
s=$?
kill $echo_pid 2>/dev/null
cat $d/hostecho
cat $d/con
cat $d/err
[ -S $d/v.sock ] && echo "VMKIT-VSOCK-HOST socket-left-behind"
exit $s
"""


def host_script(name):
    body = HOST.replace("{", "{{").replace("}", "}}")
    body = body.replace("@VMKIT@", "{vmkit}").replace("@KERNEL@", "{kernel}").replace("@INITRD@", "{initrd}")
    return f"sh -s <<'EOF_{name}'\n{body}\nEOF_{name}"


SCENARIOS = {"vsock": host_script("vsock")}


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=900, each=400)


def test_host_to_guest_echo(results):
    status, out = results["vsock"]
    assert status == 0, out[-4000:]
    assert re.search(r"VMKIT-VSOCK-HOST connected OK \d+", out), out[-4000:]
    assert "VMKIT-VSOCK-HOST reply=hello-from-host" in out, out[-4000:]
    assert "VMKIT-VSOCK-HOST reply bytes=1000000 match=1" in out, out[-4000:]
    assert "VMKIT-VSOCK-GUEST served bytes=1000000" in out, out[-4000:]


def test_guest_to_host_echo(results):
    status, out = results["vsock"]
    assert status == 0, out[-4000:]
    assert "VMKIT-VSOCK-GUEST reply=hello-from-guest" in out, out[-4000:]
    assert "VMKIT-VSOCK-GUEST reply bytes=1000000 match=1" in out, out[-4000:]
    assert "VMKIT-VSOCK-HOST served bytes=1000000" in out, out[-4000:]


def test_clean_exit(results):
    status, out = results["vsock"]
    assert status == 0, out[-4000:]
    assert "socket-left-behind" not in out
    assert "beyond its credit" not in out
    assert "needs reset" not in out
