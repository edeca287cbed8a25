"""virtio-pci (the default transport) and virtio-mmio with the stock kernel's drivers.

One VM carries a disk on each transport plus a virtio-rng: Linux binds
virtio_pci to the PCI functions (1af4:1042/1044, revision 1), uses MSI-X
(per-queue and config vectors in /proc/interrupts) and virtio_mmio to the
ACPI device, and both disks mount. `--virtio-transport mmio` puts everything
back on virtio-mmio (disk, rng and the virtio console); `pci=nomsi` makes
the driver fall back to INTx through the DSDT's _PRT.
"""
import re

import pytest

BOOT = ("{vmkit} run --kernel {kernel} --initrd {initrd} --memory 256M %s "
        "--cmdline 'console=ttyS0 quiet %s vmkit.check=virtio-info'")
DISKS = "cp {disk} /tmp/p.img && cp {disk} /tmp/m.img && "
SCENARIOS = {
    "both": DISKS + "VMKIT_LOG=debug " + BOOT % ("--cpus 2 --rng --disk /tmp/p.img,serial=pci0 --disk /tmp/m.img,transport=mmio,serial=mmio0", ""),
    "mmio": DISKS + BOOT % ("--virtio-transport mmio --rng --disk /tmp/p.img,serial=mm1 "
                            "--disk /tmp/m.img,transport=pci,serial=pci1", ""),
    "intx": DISKS + BOOT % ("--disk /tmp/p.img,serial=intx0", "pci=nomsi"),
    # virtio-console over mmio: input from the main loop, output served on the I/O thread
    "hvc-mmio": "rm -f /tmp/hvc.out; (i=0; while ! grep -q 'VMKIT-HVC hello' /tmp/hvc.out 2>/dev/null && [ $i -lt 900 ]; "
                "do sleep 0.2; i=$((i+1)); done; sleep 1; echo ping-over-mmio) | "
                "{vmkit} run --kernel {kernel} --initrd {initrd} --memory 256M --virtio-transport mmio "
                "--console virtio --cmdline 'console=hvc0 quiet vmkit.check=hvc' > /tmp/hvc.out 2>&1; "
                "s=$?; cat /tmp/hvc.out; (exit $s)",
}


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=900)


def virtio_devices(out):
    """{virtioN: (device id, parent bus)}"""
    return {m.group(1): (int(m.group(2), 16), m.group(3))
            for m in re.finditer(r"VMKIT-VIRTIO (virtio\d+) id=(0x[0-9a-f]+) bus=(\S+)", out)}


def irq_count(line):
    """Total of the per-CPU counts of a /proc/interrupts line ("N: c0 c1 chip ...")."""
    total = 0
    for f in line.split(":", 1)[1].split():
        if not f.isdigit():
            break
        total += int(f)
    return total


def test_both_transports_in_one_vm_with_msix(results):
    status, out = results["both"]
    assert status == 0, out[-3000:]
    devs = virtio_devices(out)
    pci = {n: d for n, d in devs.items() if re.match(r"0000:00:[0-9a-f]{2}\.0", d[1])}
    mmio = {n: d for n, d in devs.items() if d[1].startswith("LNRO0005")}
    assert sorted(d[0] for d in pci.values()) == [2, 4], out[-3000:]  # blk and rng on PCI
    assert [d[0] for d in mmio.values()] == [2], out[-3000:]          # the other disk on mmio
    # modern ids, revision 1, bound to virtio-pci
    assert re.search(r"VMKIT-PCI \S+ 0x1af4:0x1042 rev=0x01 irq=\d+ driver=virtio-pci", out), out[-3000:]
    assert re.search(r"VMKIT-PCI \S+ 0x1af4:0x1044 rev=0x01 irq=\d+ driver=virtio-pci", out), out[-3000:]
    assert "VMKIT-BLK vda serial=pci0 hostname=vmkit rig disk" in out, out[-3000:]
    assert "VMKIT-BLK vdb serial=mmio0 hostname=vmkit rig disk" in out, out[-3000:]
    assert "VMKIT-RNG bytes=1024" in out, out[-3000:]
    # MSI-X: a config vector and a vector per request queue (one per vCPU) for
    # the PCI disk, and the queue vectors really fired (the disk was read
    # through them). Which queue a read takes is the reading CPU's: both the
    # probe's partition scan and the mount may run on CPU 1, leaving req.0 at 0.
    blk = next(n for n, d in pci.items() if d[0] == 2)
    assert re.search(rf"VMKIT-IRQ\s+\d+: .*PCI-MSI.* {blk}-config", out), out[-3000:]
    req = [l for l in out.splitlines() if l.startswith("VMKIT-IRQ-AFTER") and re.search(rf" {blk}-req\.\d+\s*$", l)]
    assert len(req) == 2 and all("PCI-MSI" in l for l in req), out[-3000:]
    assert sum(irq_count(l) for l in req) > 0, req
    # notifications arrive through ioeventfds and are served on the I/O thread:
    # none trapped to the register handlers (vmkit's teardown counters)
    for transport in ("virtio-pci", "virtio-mmio"):
        m = re.search(rf"{transport} virtio-blk: (\d+) notifications on the I/O thread, (\d+) trapped", out)
        assert m, out[-3000:]
        assert int(m.group(1)) > 0 and int(m.group(2)) == 0, m.group(0)
    # the mmio disk keeps its level IOAPIC line
    mm = next(iter(mmio))
    assert re.search(rf"VMKIT-IRQ-AFTER\s+\d+: .*IO-APIC.* {mm}$", out, re.M), out[-3000:]


def test_global_mmio_switch_and_per_device_override(results):
    status, out = results["mmio"]
    assert status == 0, out[-3000:]
    devs = virtio_devices(out)
    on_mmio = sorted(d[0] for d in devs.values() if d[1].startswith("LNRO0005"))
    on_pci = sorted(d[0] for d in devs.values() if d[1].startswith("0000:"))
    assert on_mmio == [2, 4], out[-3000:]  # disk + rng follow --virtio-transport
    assert on_pci == [2], out[-3000:]      # ,transport=pci wins for the second disk
    assert "VMKIT-BLK vda serial=" in out and "VMKIT-BLK vdb serial=" in out, out[-3000:]
    assert "VMKIT-RNG bytes=1024" in out, out[-3000:]


def test_intx_fallback_without_msi(results):
    status, out = results["intx"]
    assert status == 0, out[-3000:]
    assert "VMKIT-BLK vda serial=intx0 hostname=vmkit rig disk" in out, out[-3000:]
    assert "PCI-MSI" not in out, out[-3000:]
    # slot 1 INTA -> GSI 21 through _PRT, a level (fasteoi) IOAPIC line
    line = [l for l in out.splitlines() if l.startswith("VMKIT-IRQ-AFTER") and "virtio0" in l]
    assert line and re.search(r"IO-APIC\s+21-fasteoi", line[0]), out[-3000:]
    assert irq_count(line[0]) > 0, line


def test_virtio_console_over_mmio(results):
    status, out = results["hvc-mmio"]
    assert "VMKIT-HVC hello" in out, out[-3000:]
    assert "VMKIT-HVC got=ping-over-mmio" in out, out[-3000:]
    assert status == 0, out[-3000:]
