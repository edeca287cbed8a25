"""Linux on the standard VGA display (stock Debian cloud kernel, natively or in
the nested rig): with --vga std vmkit describes the VGA text mode in the zero
page's screen_info, the kernel's VGA console (vgacon) draws on it, and a
screenshot taken with `vmkit screenshot` shows the kernel log and a line the
guest wrote to /dev/tty0, read back by matching the console font's glyphs.
The --tablet virtio-input device shows up among the guest's input devices.

The cloud kernel has no DRM, so the bochs-drm scenario boots the full Debian
kernel (linux-image-amd64, fetched by tests/rig/build-drm) with an initramfs of
the bochs module and its DRM helpers: fbcon then draws the console in a DISPI
graphics mode (1024x768x32) on the framebuffer BAR."""
import base64
import io
import os
import re

import subprocess

import pytest

from test_vga import FONT, load_psf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SCENARIOS = {
    "vga": "sh {files}/vga_rig.sh {vmkit} {kernel} {initrd} "
           "'console=tty0 console=ttyS0 vmkit.check=vga' VMKIT-VGA-READY",
    "drm": "sh {files}/vga_rig.sh {vmkit} {files}/vmlinuz-drm {files}/initrd-drm.cpio.gz "
           "'console=tty1 console=ttyS0' VMKIT-DRM-READY",
}


@pytest.fixture(scope="module")
def results(vmm):
    p = subprocess.run([os.path.join(ROOT, "tests", "rig", "build-drm")], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        pytest.fail(f"tests/rig/build-drm failed: {p.stderr}")
    drm = p.stdout.strip().splitlines()[-1]
    files = {"vga_rig.sh": os.path.join(HERE, "vga_rig.sh"), "font.psf.gz": FONT,
             "vmlinuz-drm": os.path.join(drm, "vmlinuz-drm"), "initrd-drm.cpio.gz": os.path.join(drm, "initrd-drm.cpio.gz")}
    return vmm.run(SCENARIOS, timeout=1200, each=400, files=files)


def screenshot(out):
    from PIL import Image
    m = re.search(r"VMKIT-PNG-BEGIN\n(.*?)VMKIT-PNG-END", out, re.S)
    assert m, out[-4000:]
    return Image.open(io.BytesIO(base64.b64decode("".join(m.group(1).split())))).convert("RGB")


def ocr(im, h, font):
    by_bits = {}
    for u, bits in font.items():
        if 0x20 <= u < 0x7f:
            by_bits.setdefault(bits, chr(u))
    px = im.load()
    rows = []
    for row in range(im.size[1] // h):
        line = ""
        for col in range(im.size[0] // 8):
            bg = px[col * 8, row * h]
            bits = bytes(sum(0x80 >> x for x in range(8) if px[col * 8 + x, row * h + y] != bg) for y in range(h))
            line += by_bits.get(bits, "?")
        rows.append(line)
    return rows


def test_linux_vga_console_on_screenshot(results):
    from PIL import Image
    status, out = results["vga"]
    assert status == 0, out[-4000:]
    assert "VMKIT-SHOT status=0" in out, out[-4000:]
    im = screenshot(out)
    assert im.size == (640, 400), im.size
    h, font = load_psf(FONT)
    text = ocr(im, h, font)
    screen = "\n".join(text)
    assert any("VMKIT-VGA-TEXT hello from the guest console" in l for l in text), screen
    # the kernel log is on the screen too: the top rows are not blank
    assert sum(1 for l in text[:5] if l.strip(" ?")) >= 3, screen
    assert "VMKIT-VGA console=tty0 ttyS0" in out or "VMKIT-VGA console=ttyS0 tty0" in out, out[-4000:]


def test_linux_sees_the_virtio_tablet(results):
    status, out = results["vga"]
    assert 'VMKIT-INPUT N: Name="vmkit tablet"' in out, out[-4000:]


def test_linux_bochs_drm_framebuffer_console(results):
    """The full Debian kernel's bochs-drm drives the card (DISPI through BAR2's
    MMIO registers, the framebuffer in BAR0) and fbcon draws the console."""
    status, out = results["drm"]
    assert status == 0, out[-4000:]
    assert "VMKIT-SHOT status=0" in out, out[-4000:]
    m = re.search(r"VMKIT-DRM fb=(\S*) mode=(\d+),(\d+)", out)
    assert m and "bochs" in m.group(1), out[-4000:]
    im = screenshot(out)
    w, h = int(m.group(2)), int(m.group(3))
    assert im.size[0] == w and im.size[1] <= h, (im.size, w, h)
    # console text: lit pixels in the top rows (fbcon: light grey on black)
    px = im.load()
    lit = sum(1 for y in range(0, 64) for x in range(0, im.size[0]) if px[x, y] != (0, 0, 0))
    assert lit > 1000, f"only {lit} non-black pixels in the top 64 rows"
    # and readable: Linux's built-in VGA 8x16 font is (but for a few letters
    # such as f and v) the glyph set of the PSF font, so most text reads back
    fh, font = load_psf(FONT)
    text = ocr(im, fh, font)
    screen = "\n".join(text)
    assert any(l.startswith("VMKIT-DRM-TEXT line 8 ") for l in text), screen
    assert any("bochs-drm" in l for l in text), screen
