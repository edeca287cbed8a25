"""Firmware boot of real software: GRUB (Debian grub-pc-bin) from a raw disk
built by the test boots the stock Debian kernel, and memtest86+ (Debian
package) starts, both through SeaBIOS and vmkit's virtio-blk. Needs a real
hardware-assisted /dev/kvm: natively, or in the nested rig."""
import os
import re

import pytest

import grub_disk

SEABIOS = "/usr/share/seabios/bios-256k.bin"
MEMTEST = "/boot/memtest86+x64.bin"
FONT = "/usr/share/consolefonts/Uni2-VGA16.psf.gz"

pytestmark = [
    pytest.mark.skipif(not grub_disk.available(), reason="grub-pc-bin / e2fsprogs not installed"),
    pytest.mark.skipif(not os.path.exists(SEABIOS), reason="seabios not installed"),
]

GRUB_HEAD = """serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=1
echo VMKIT-GRUB config loaded
"""

LINUX_CFG = GRUB_HEAD + """menuentry 'vmkit stock Debian kernel' {
  echo VMKIT-GRUB loading linux
  linux /boot/vmlinuz console=ttyS0 quiet vmkit.check=boot
  initrd /boot/initrd.img
}
"""

MEMTEST_CFG = GRUB_HEAD + """menuentry 'memtest86+' {
  linux16 /boot/memtest86+x64.bin console=ttyS0,115200
}
"""

RUN = "{vmkit} run --disk {files}/%s --firmware {files}/bios-256k.bin --console stdio --firmware-log /tmp/fw-%s.log %s"
SCENARIOS = {
    "grub-linux": RUN % ("linux.img", "linux", "--memory 512M --cpus 2")
    + "; s=$?; grep -E 'Booting from|boot order|^1: ' /tmp/fw-linux.log | sed 's/^/FWLOG /'; (exit $s)",
    # memtest86+ runs until stopped: give it 90 s to start and test
    "memtest": "timeout 90 " + RUN % ("memtest.img", "memtest", "--memory 256M"),
    # The same on the standard VGA card: once memtest reports on serial that it is testing,
    # a screenshot of its VGA text screen is taken and printed base64 for the host to read.
    "memtest-vga": "rm -f /tmp/mon.sock /tmp/mt.log /tmp/m.png; : > /tmp/mt.log; "
                   "VMKIT_FONT={files}/font.psf.gz {vmkit} run --disk {files}/memtest.img --firmware {files}/bios-256k.bin --memory 256M "
                   "--vga std --monitor unix:/tmp/mon.sock --console file:/tmp/mt.log & pid=$!; i=0; "
                   "while kill -0 $pid && ! grep -q 'Status: Testing' /tmp/mt.log && [ $i -lt 600 ]; do usleep 200000; i=$((i+1)); done; "
                   "sleep 3; {vmkit} screenshot --socket /tmp/mon.sock /tmp/m.png; echo SHOT=$?; "
                   "echo PNG-BEGIN; base64 /tmp/m.png; echo PNG-END; kill $pid; wait $pid; st=$?; "
                   # vmkit's own crash status (6: the rig's nested-SVM triple fault) lets the runner re-run it
                   "grep -c 'Status: Testing' /tmp/mt.log; [ $st -ne 6 ] || exit 6",
}


@pytest.fixture(scope="module")
def results(vmm, tmp_path_factory):
    images = vmm._images()
    work = tmp_path_factory.mktemp("grub")
    os.makedirs(work / "linux")
    os.makedirs(work / "memtest")
    linux = grub_disk.build(str(work / "linux"), {"boot/vmlinuz": os.path.join(images, "vmlinuz"),
                                                   "boot/initrd.img": os.path.join(images, "l2-initrd.cpio.gz")},
                            LINUX_CFG, part_mib=40)
    files = {"linux.img": linux, "bios-256k.bin": SEABIOS}
    if os.path.exists(MEMTEST):
        files["memtest.img"] = grub_disk.build(str(work / "memtest"), {"boot/memtest86+x64.bin": MEMTEST},
                                               MEMTEST_CFG, part_mib=8)
    scenarios = {k: v for k, v in SCENARIOS.items() if not k.startswith("memtest") or "memtest.img" in files}
    if os.path.exists(FONT):
        files["font.psf.gz"] = FONT
    # --with-qemu also brings /usr/share/seabios (the VGA BIOS vmkit loads for --vga std) into the rig
    return vmm.run(scenarios, timeout=1500, each=300, files=files, rig_args=("--with-qemu",))


def test_grub_menu_on_serial_boots_linux(results):
    status, out = results["grub-linux"]
    assert status == 0, out[-4000:]
    # SeaBIOS found the virtio-blk disk first in bootorder and ran its MBR (GRUB's boot.img)
    assert re.search(r"FWLOG 1: /(pci@i0cf8|virtio-mmio@)", out), out[-4000:]
    assert "GRUB loading" in out
    assert "GNU GRUB  version" in out, out[-4000:]
    assert "vmkit stock Debian kernel" in out  # the menu entry, drawn on the serial terminal
    assert "VMKIT-GRUB loading linux" in out
    # Linux, loaded by GRUB through int 13h, runs the rig's init checks
    m = re.search(r"VMKIT-CHECK nproc=(\d+) memtotal_kb=(\d+)", out)
    assert m, out[-4000:]
    assert m.group(1) == "2"  # both vCPUs, from the ACPI MADT the firmware installed
    assert 400 * 1024 < int(m.group(2)) <= 512 * 1024
    bad = [l for l in out.splitlines() if "VMKIT-DMESG-BAD" in l]
    assert not bad, "\n".join(bad)
    assert "VMKIT-CHECK-END" in out


def test_memtest86_starts(results):
    if "memtest" not in results:
        pytest.skip("memtest86+ not installed")
    status, out = results["memtest"]
    assert "GNU GRUB  version" in out, out[-4000:]
    # memtest86+ 6.x mirrors its screen on the serial console: its banner and test progress
    assert re.search(r"Memtest86\+ v\d", out), out[-4000:]
    assert "Status: Testing" in out and "[251MB of 255MB]" in out, out[-3000:]
    assert not re.search(r"Errors: +[1-9]", out), out[-3000:]
    # still running when stopped by timeout's SIGTERM (busybox timeout: 143, coreutils: 124)
    assert status in (124, 143), f"memtest86+ stopped by itself (status {status}):\n{out[-3000:]}"


class Shot:
    """A screenshot with the pixel() interface test_vga.screen_text reads."""

    def __init__(self, img):
        self.img = img.convert("RGB")
        self.width, self.height = self.img.size

    def pixel(self, x, y):
        return self.img.getpixel((x, y))


def test_memtest86_draws_its_screen_on_vga(results):
    if "memtest-vga" not in results:
        pytest.skip("memtest86+ not installed")
    import base64
    import io

    PIL = pytest.importorskip("PIL.Image")
    import test_vga
    status, out = results["memtest-vga"]
    assert "SHOT=0" in out, out[-3000:]
    b64 = out.split("PNG-BEGIN", 1)[1].split("PNG-END", 1)[0]
    shot = Shot(PIL.open(io.BytesIO(base64.b64decode("".join(b64.split())))))
    h, font = test_vga.load_psf(test_vga.FONT)
    assert shot.width % 8 == 0 and shot.height % h == 0, (shot.width, shot.height)
    text = test_vga.screen_text(shot, h, font)
    screen = "\n".join(text)
    # memtest86+'s own screen, drawn in VGA text mode through SeaBIOS's vgabios and read back
    # from vmkit's rendering of it glyph by glyph
    assert re.search(r"Memtest86\+ v\d", screen), screen
    assert "Status: Testing" in screen or "Testing" in screen, screen
