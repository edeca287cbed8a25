"""virtio-balloon (--balloon) with the stock kernel's virtio_balloon driver.

The guest touches ~150 MiB (a tmpfs file) and frees it; the host side (a
script next to vmkit, in L1 when in the rig) then sets a 96 MiB balloon
through the control file + SIGUSR2 and watches vmkit's VmRSS drop and the
guest's statistics change; the guest sees MemTotal fall. Setting the target
back to 0 deflates: the guest's MemTotal comes back. The balloon sits on
virtio-mmio here (the vsock test covers virtio-pci, the default).
"""
import re

import pytest

# The host-side script. @X@ placeholders become the fixture's {x} ones; the
# script itself may then use braces freely.
HOST = r"""
d=/tmp/vmkit-balloon-test
rm -rf $d; mkdir -p $d
: >$d/ctl
@VMKIT@ run --kernel @KERNEL@ --initrd @INITRD@ --memory 256M --console file:$d/con \
    --balloon=control=$d/ctl,transport=mmio --cmdline 'console=ttyS0 quiet vmkit.check=balloon' 2>$d/err &
pid=$!
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
# wait_for CMD: up to 120 s
wait_for() {
    i=0
    while [ $i -lt 240 ]; do
        if eval "$1"; then return 0; fi
        kill -0 $pid 2>/dev/null || return 1
        sleep 0.5; i=$((i + 1))
    done
    return 1
}
status() { kill -USR2 $pid; sleep 1; kill -USR2 $pid; sleep 0.5; }
field() { sed -n "s/^$1=//p" $d/ctl.status; }
wait_for 'grep -q "VMKIT-BALLOON freed" $d/con 2>/dev/null' || echo "BALLOON-HOST error=no-freed-marker"
status
echo "BALLOON-HOST before rss_kb=$(rss) free=$(field stat_free_memory) updates=$(field stats_updates)"
echo 96M >$d/ctl
kill -USR2 $pid
wait_for '[ "$(field actual_pages)" = 24576 ] || { kill -USR2 $pid; false; }' || echo "BALLOON-HOST error=no-inflate"
sleep 1
status
echo "BALLOON-HOST inflated rss_kb=$(rss) free=$(field stat_free_memory) actual=$(field actual_pages) balloon=$(field balloon_pages) invalid=$(field invalid_pfns)"
echo 0 >$d/ctl
kill -USR2 $pid
wait_for '[ "$(field actual_pages)" = 0 ] || { kill -USR2 $pid; false; }' || echo "BALLOON-HOST error=no-deflate"
echo "BALLOON-HOST deflated rss_kb=$(rss) actual=$(field actual_pages) balloon=$(field balloon_pages) deflated=$(field deflated_pages)"
wait $pid
s=$?
cat $d/con
cat $d/err
exit $s
"""


# Free page reporting: after the guest frees memory, RSS falls by itself.
HOST_REPORT = r"""
d=/tmp/vmkit-balloon-report
rm -rf $d; mkdir -p $d
@VMKIT@ run --kernel @KERNEL@ --initrd @INITRD@ --memory 256M --console file:$d/con \
    --balloon=reporting,control=$d/ctl --cmdline 'console=ttyS0 quiet vmkit.check=balloon-report' 2>$d/err &
pid=$!
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
# the highest RSS while the guest fills and frees its memory
peak=0
i=0
while [ $i -lt 480 ] && ! grep -q "VMKIT-BALLOON freed" $d/con 2>/dev/null; do
    r=$(rss); [ -n "$r" ] && [ $r -gt $peak ] && peak=$r
    sleep 0.25; i=$((i + 1))
done
low=$(rss)
i=0
while [ $i -lt 60 ] && [ $((peak - low)) -lt 65536 ]; do
    sleep 0.5; i=$((i + 1))
    r=$(rss); [ -n "$r" ] && [ $r -lt $low ] && low=$r
done
kill -USR2 $pid; sleep 0.5
echo "BALLOON-REPORT peak_kb=$peak low_kb=$low $(grep -E '^(reported_bytes|actual_pages)=' $d/ctl.status | tr '\n' ' ')"
wait $pid
s=$?
cat $d/con
cat $d/err
exit $s
"""


def host_script(name, text=HOST):
    body = text.replace("{", "{{").replace("}", "}}")
    body = body.replace("@VMKIT@", "{vmkit}").replace("@KERNEL@", "{kernel}").replace("@INITRD@", "{initrd}")
    return f"sh -s <<'EOF_{name}'\n{body}\nEOF_{name}"


SCENARIOS = {"balloon": host_script("balloon"), "balloon_report": host_script("report", HOST_REPORT)}


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=900, each=400)


def marker(out, pattern):
    m = re.search(pattern, out)
    assert m, f"missing {pattern!r} in:\n{out[-4000:]}"
    return m


def test_inflate_lowers_rss_and_deflate_returns_memory(results):
    status, out = results["balloon"]
    assert status == 0, out[-4000:]
    assert "BALLOON-HOST error" not in out, out[-4000:]
    start = int(marker(out, r"VMKIT-BALLOON start memtotal_kb=(\d+) driver=1").group(1))
    before = marker(out, r"BALLOON-HOST before rss_kb=(\d+) free=(\d+)")
    infl = marker(out, r"BALLOON-HOST inflated rss_kb=(\d+) free=(\d+) actual=(\d+) balloon=(\d+) invalid=(\d+)")
    defl = marker(out, r"BALLOON-HOST deflated rss_kb=(\d+) actual=(\d+) balloon=(\d+) deflated=(\d+)")
    rss0, rss1 = int(before.group(1)), int(infl.group(1))
    print(f"balloon: VmRSS {rss0} kB -> {rss1} kB after inflating 96 MiB, {defl.group(1)} kB after deflating")
    # 96 MiB inflated, most of it pages the guest had touched: RSS falls by >= 64 MiB
    assert rss0 - rss1 >= 64 * 1024, f"VmRSS {rss0} kB -> {rss1} kB after inflating 96 MiB"
    assert int(infl.group(3)) == 24576 and int(infl.group(4)) == 24576
    assert int(infl.group(5)) == 0, "the Linux driver sent PFNs outside guest RAM?"
    # the guest's statistics (bytes) show the free memory gone into the balloon
    free0, free1 = int(before.group(2)), int(infl.group(2))
    assert free0 - free1 >= 64 << 20, f"guest free memory {free0} -> {free1} bytes"
    # the guest saw its memory shrink, then come back
    low = int(marker(out, r"VMKIT-BALLOON inflated memtotal_kb=(\d+)").group(1))
    assert start - low >= 64 * 1024
    back = int(marker(out, r"VMKIT-BALLOON deflated memtotal_kb=(\d+)").group(1))
    assert back >= start - 1024
    assert int(defl.group(2)) == 0 and int(defl.group(3)) == 0 and int(defl.group(4)) == 24576


def test_free_page_reporting_returns_freed_memory(results):
    status, out = results["balloon_report"]
    assert status == 0, out[-4000:]
    m = marker(out, r"BALLOON-REPORT peak_kb=(\d+) low_kb=(\d+) ")
    peak, low = int(m.group(1)), int(m.group(2))
    reported = int(marker(out, r"BALLOON-REPORT .*reported_bytes=(\d+)").group(1))
    actual = int(marker(out, r"BALLOON-REPORT .*actual_pages=(\d+)").group(1))
    print(f"free page reporting: VmRSS peak {peak} kB -> {low} kB, {reported} bytes reported")
    # ~150 MiB were touched and freed; reporting gives most of it back, without inflating
    assert peak - low >= 64 * 1024, f"VmRSS {peak} kB -> {low} kB with free page reporting"
    assert reported >= 64 << 20
    assert actual == 0
    start = int(marker(out, r"VMKIT-BALLOON start memtotal_kb=(\d+)").group(1))
    end = int(marker(out, r"VMKIT-BALLOON end memtotal_kb=(\d+)").group(1))
    assert end == start
