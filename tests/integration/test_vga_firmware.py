"""The VGA display under firmware boot, checked on screenshots (natively or in
the nested rig): SeaBIOS runs vgabios-stdvga from the card's ROM BAR, GRUB
draws its menu on the VGA text screen (int 10h), GRUB boots the full Debian
kernel whose bochs-drm takes the card into a DISPI graphics mode for the
framebuffer console; and memtest86+ draws its screen on the VGA text mode."""
import base64
import io
import os
import re
import subprocess

import pytest

import grub_disk
from test_vga import FONT, load_psf
from test_vga_linux import ocr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEABIOS = "/usr/share/seabios/bios-256k.bin"
MEMTEST = "/boot/memtest86+x64.bin"

pytestmark = [
    pytest.mark.skipif(not grub_disk.available(), reason="grub-pc-bin / e2fsprogs not installed"),
    pytest.mark.skipif(not os.path.exists(SEABIOS), reason="seabios not installed"),
]

HEAD = """serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=10
"""
DRM_CFG = HEAD + """menuentry 'vmkit bochs-drm kernel' {
  linux /boot/vmlinuz console=tty1 console=ttyS0
  initrd /boot/initrd.img
}
"""
MEMTEST_CFG = HEAD.replace("set timeout=10", "set timeout=1") + """menuentry 'memtest86+' {
  linux16 /boot/memtest86+x64.bin console=ttyS0,115200
}
"""
RUN = "sh {files}/vga_fw_rig.sh {vmkit} {files}/%s {files}/bios-256k.bin %s %s"
SCENARIOS = {
    "grub-drm": RUN % ("drm.img", "512M", "'vmkit bochs-drm kernel' VMKIT-DRM-READY"),
    "memtest": RUN % ("memtest.img", "256M", "'Status: Testing'"),
}


@pytest.fixture(scope="module")
def results(vmm, tmp_path_factory):
    p = subprocess.run([os.path.join(ROOT, "tests", "rig", "build-drm")], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        pytest.fail(f"tests/rig/build-drm failed: {p.stderr}")
    drm = p.stdout.strip().splitlines()[-1]
    work = tmp_path_factory.mktemp("vgafw")
    os.makedirs(work / "drm")
    os.makedirs(work / "memtest")
    files = {"vga_fw_rig.sh": os.path.join(HERE, "vga_fw_rig.sh"), "font.psf.gz": FONT, "bios-256k.bin": SEABIOS,
             "vgabios-stdvga.bin": "/usr/share/seabios/vgabios-stdvga.bin"}
    files["drm.img"] = grub_disk.build(str(work / "drm"), {"boot/vmlinuz": os.path.join(drm, "vmlinuz-drm"),
                                                          "boot/initrd.img": os.path.join(drm, "initrd-drm.cpio.gz")},
                                       DRM_CFG, part_mib=32)
    if os.path.exists(MEMTEST):
        files["memtest.img"] = grub_disk.build(str(work / "memtest"), {"boot/memtest86+x64.bin": MEMTEST},
                                               MEMTEST_CFG, part_mib=8)
    scenarios = {k: v for k, v in SCENARIOS.items() if k != "memtest" or "memtest.img" in files}
    return vmm.run(scenarios, timeout=1500, each=400, files=files)


def shots(out):
    """{n: [images of marker n, in order]}"""
    from PIL import Image
    res = {}
    for n, _, b in re.findall(r"VMKIT-PNG-BEGIN (\d+)\.(\d+)\n(.*?)VMKIT-PNG-END", out, re.S):
        if b.strip():
            res.setdefault(int(n), []).append(Image.open(io.BytesIO(base64.b64decode("".join(b.split())))).convert("RGB"))
    return res


def first_screen(images, pred):
    """OCR each image; the first text for which pred holds, else the last text seen."""
    h, font = load_psf(FONT)
    text = []
    for im in images:
        text = ocr(im, h, font)
        if pred(im, text):
            return True, text
    return False, text


def test_grub_menu_on_vga_then_linux_bochs_drm(results):
    status, out = results["grub-drm"]
    assert status == 0, out[-4000:]
    s = shots(out)
    assert len(s.get(1, [])) >= 1 and len(s.get(2, [])) >= 1, out[-4000:]
    # 1: GRUB's menu in VGA text mode (80x25 through vgabios)
    ok, text = first_screen(s[1], lambda im, t: im.size == (640, 400) and any("GNU GRUB" in l for l in t)
                            and any("vmkit bochs-drm kernel" in l for l in t))
    assert ok, "\n".join(text)
    # 2: Linux's framebuffer console on bochs-drm, in a DISPI graphics mode
    assert "VMKIT-DRM-READY" in out, out[-4000:]
    m = re.search(r"VMKIT-DRM fb=(\S*) mode=(\d+),(\d+)", out)
    assert m and "bochs" in m.group(1), out[-4000:]
    w = int(m.group(2))
    ok, text = first_screen(s[2], lambda im, t: im.size[0] == w > 640
                            and any(l.startswith("VMKIT-DRM-TEXT line 8 ") for l in t))
    assert ok, "\n".join(text)


def test_memtest86_draws_on_vga(results):
    if "memtest" not in results:
        pytest.skip("memtest86+ not installed")
    status, out = results["memtest"]
    s = shots(out)
    assert s.get(1), out[-4000:]
    ok, text = first_screen(s[1], lambda im, t: any(re.search(r"Memtest86\+", l) for l in t))
    assert ok, "\n".join(text)
