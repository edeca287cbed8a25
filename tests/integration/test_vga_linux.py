"""Linux on the standard VGA display (stock Debian cloud kernel, natively or in
the nested rig): with --vga std vmkit describes the VGA text mode in the zero
page's screen_info, the kernel's VGA console (vgacon) draws on it, and a
screenshot taken with `vmkit screenshot` shows the kernel log and a line the
guest wrote to /dev/tty0, read back by matching the console font's glyphs.
The --tablet virtio-input device shows up among the guest's input devices.

(The cloud kernel has no DRM, so bochs-drm cannot be tried here; the DISPI
graphics path is covered by test_vga.py's tiny guest.)"""
import base64
import io
import os
import re

import pytest

from test_vga import FONT, load_psf

HERE = os.path.dirname(os.path.abspath(__file__))

SCENARIOS = {"vga": "sh {files}/vga_rig.sh {vmkit} {kernel} {initrd}"}


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=900, each=300, files={"vga_rig.sh": os.path.join(HERE, "vga_rig.sh"), "font.psf.gz": FONT})


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
    m = re.search(r"VMKIT-PNG-BEGIN\n(.*?)VMKIT-PNG-END", out, re.S)
    assert m, out[-4000:]
    im = Image.open(io.BytesIO(base64.b64decode("".join(m.group(1).split())))).convert("RGB")
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
