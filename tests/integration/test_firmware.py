"""Firmware boot: SeaBIOS (Debian's bios-256k.bin) boots disks under vmkit.

The boot-sector tests run on this host's /dev/kvm directly: SeaBIOS is small
enough for any KVM, including PVM's instruction emulator (~2 s). Linux through
GRUB needs the nested rig (see test_firmware_rig.py)."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VMKIT = os.path.join(ROOT, "build", "vmkit")
SEABIOS = "/usr/share/seabios/bios-256k.bin"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(VMKIT), reason="build/vmkit not built (run make)"),
    pytest.mark.skipif(not os.path.exists(SEABIOS), reason="seabios package not installed"),
]

needs_kvm = pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="no /dev/kvm")

# A boot sector: prints through int 10h teletype, reads LBA 1 through int 13h
# (CHS 0/0/2 into 0000:8000), prints what it read, waits a few timer ticks
# (SeaBIOS's serial console flushes on the timer) and writes 0x10 to the
# debug-exit port (vmkit exit status 33); 0x11 (status 35) if the read failed.
MBR_S = r"""
	.code16
	.text
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7c00, %sp
	sti
	mov %dl, bootdrv
	mov $hello, %si
	call puts
	mov $0x0201, %ax
	mov $0x0002, %cx
	xor %dh, %dh
	mov bootdrv, %dl
	mov $0x8000, %bx
	int $0x13
	jc fail
	mov $got, %si
	call puts
	mov $0x8000, %si
	call puts
	mov $nl, %si
	call puts
	/* After POST the BIOS area is read-only (PAM): a write to f000:0000 must not stick. */
	push %ds
	mov $0xf000, %ax
	mov %ax, %ds
	movb 0, %ah
	mov %ah, %al
	not %al
	movb %al, 0
	movb 0, %al
	pop %ds
	mov $romrw, %si
	cmp %al, %ah
	jne 4f
	mov $romro, %si
4:	call puts
	mov $0x10, %al
	jmp done
fail:
	mov $bad, %si
	call puts
	mov $0x11, %al
done:
	mov $6, %cx
1:	hlt
	loop 1b
	out %al, $0xf4
2:	hlt
	jmp 2b
puts:
	lodsb
	test %al, %al
	jz 3f
	mov $0x0e, %ah
	mov $0x0007, %bx
	int $0x10
	jmp puts
3:	ret
hello:	.asciz "VMKIT-MBR: hello from the boot sector\r\n"
got:	.asciz "VMKIT-MBR: sector 1 says: "
bad:	.asciz "VMKIT-MBR: int 13h read failed\r\n"
nl:	.asciz "\r\n"
romro:	.asciz "VMKIT-MBR: BIOS area read-only\r\n"
romrw:	.asciz "VMKIT-MBR: BIOS area writable\r\n"
bootdrv: .byte 0
	.org 510
	.byte 0x55, 0xaa
"""

PAYLOAD = b"SECTOR-ONE-PAYLOAD-7f3a"


def build_mbr(tmp_path):
    src = tmp_path / "mbr.S"
    src.write_text(MBR_S)
    subprocess.run(["as", "--32", "-o", str(tmp_path / "mbr.o"), str(src)], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary", "-o",
                    str(tmp_path / "mbr.bin"), str(tmp_path / "mbr.o")], check=True)
    mbr = (tmp_path / "mbr.bin").read_bytes()
    assert len(mbr) == 512 and mbr[510:] == b"\x55\xaa"
    disk = tmp_path / "disk.img"
    disk.write_bytes(mbr + PAYLOAD.ljust(512, b"\0") + bytes(1024 * 1024 - 1024))
    return disk


def run(*args, timeout=120):
    p = subprocess.run([VMKIT, "run", *args], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one error line, got: {stderr!r}"
    return lines[0]


@needs_kvm
def test_seabios_boots_mbr_int10_int13(tmp_path):
    disk = build_mbr(tmp_path)
    serial, log = tmp_path / "serial.txt", tmp_path / "fw.log"
    rc, _, err = run("--disk", str(disk), "--console", f"file:{serial}", "--firmware-log", str(log))
    out = serial.read_text(errors="replace")
    fwlog = log.read_text(errors="replace")
    assert rc == 33, f"status {rc}\nstderr: {err}\nserial: {out!r}\nfirmware log tail: {fwlog[-2000:]}"
    # SeaBIOS's own banner and the boot sector's int 10h text, mirrored to COM1 (sercon)
    assert "SeaBIOS (version" in out
    assert "VMKIT-MBR: hello from the boot sector" in out
    # int 13h read sector 1 from the virtio-blk disk
    assert "VMKIT-MBR: sector 1 says: " + PAYLOAD.decode() in out
    # SeaBIOS shadowed itself into RAM through the host bridge's PAM registers, then made
    # 0xf0000-0xfffff read-only again: the boot sector's write there does not stick
    assert "VMKIT-MBR: BIOS area read-only" in out
    # The debug log (port 0x402): fw_cfg with DMA, RAM from etc/e820, ACPI tables through the
    # table loader (FADT found via the XSDT, DSDT parsed), the disk first in bootorder.
    assert "Found QEMU fw_cfg" in fwlog
    assert "QEMU fw_cfg DMA interface supported" in fwlog
    assert "qemu/e820: addr 0x0000000000000000 len 0x0000000010000000 [RAM]" in fwlog
    assert "table(50434146)=" in fwlog and "(via xsdt)" in fwlog
    assert "ACPI: parse DSDT" in fwlog
    # virtio-pci is the default transport: the disk is the function in slot 1
    assert "1: /pci@i0cf8/scsi@1/disk@0,0" in fwlog
    assert "found virtio-blk at 00:01.0" in fwlog and "using modern (1.0) virtio mode" in fwlog
    assert "Booting from 0000:7c00" in fwlog


@needs_kvm
def test_seabios_ram_size_and_cpus(tmp_path):
    """512 MiB and 2 vCPUs reach the firmware through fw_cfg (and CMOS)."""
    disk = build_mbr(tmp_path)
    log = tmp_path / "fw.log"
    rc, _, err = run("--disk", str(disk), "--memory", "512M", "--cpus", "2", "--console", "none",
                     "--firmware-log", str(log))
    fwlog = log.read_text(errors="replace")
    assert rc == 33, err + fwlog[-2000:]
    assert "len 0x0000000020000000 [RAM]" in fwlog
    assert "Found 2 cpu(s) max supported 2 cpu(s)" in fwlog


@needs_kvm
def test_no_bootable_disk_reboots(tmp_path):
    """A blank disk: SeaBIOS says so, waits etc/boot-fail-wait (1 s) and reboots (status 4)."""
    disk = tmp_path / "blank.img"
    disk.write_bytes(bytes(1024 * 1024))
    serial = tmp_path / "serial.txt"
    rc, _, err = run("--disk", str(disk), "--console", f"file:{serial}")
    out = serial.read_text(errors="replace")
    assert rc == 4, err + out
    assert "Boot failed: not a bootable disk" in out
    assert "No bootable device." in out


@needs_kvm
def test_firmware_log_to_stderr(tmp_path):
    disk = build_mbr(tmp_path)
    rc, _, err = run("--disk", str(disk), "--console", "none", "--firmware-log", "-")
    assert rc == 33
    assert "SeaBIOS (version" in err


@pytest.mark.parametrize("size", [0, 1000, 64 * 1024 + 1, 512 * 1024])
def test_bad_firmware_size_exit_1(tmp_path, size):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\xf4" * size)
    disk = tmp_path / "d.img"
    disk.write_bytes(bytes(4096))
    rc, _, err = run("--disk", str(disk), "--firmware", str(fw))
    assert rc == 1
    line = one_line(err)
    assert str(fw) in line and "BIOS image" in line


def test_missing_firmware_exit_1(tmp_path):
    disk = tmp_path / "d.img"
    disk.write_bytes(bytes(4096))
    rc, _, err = run("--disk", str(disk), "--firmware", str(tmp_path / "nope.bin"))
    assert rc == 1
    assert "cannot read firmware" in one_line(err)


@pytest.mark.parametrize("args,needle", [
    (["--kernel", "k", "--firmware", SEABIOS], "--firmware conflicts with --kernel"),
    (["--kernel", "k", "--firmware-log", "x"], "--firmware-log conflicts with --kernel"),
    (["--disk", "d.img", "--initrd", "i"], "--initrd needs --kernel"),
    (["--firmware", SEABIOS], "--disk IMG"),
])
def test_firmware_usage_errors_exit_2(args, needle):
    rc, _, err = run(*args)
    assert rc == 2
    assert needle in one_line(err)


@needs_kvm
def test_firmware_that_halts_does_not_hang_vmkit(tmp_path):
    """A right-sized image of hlt instructions: the VM halts with interrupts off; SIGTERM ends it."""
    fw = tmp_path / "hlt.bin"
    fw.write_bytes(b"\xfa\xf4" * (32 * 1024))  # cli; hlt
    disk = tmp_path / "d.img"
    disk.write_bytes(bytes(4096))
    p = subprocess.Popen([VMKIT, "run", "--disk", str(disk), "--firmware", str(fw), "--console", "none"],
                         stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        p.wait(timeout=2)
        pytest.fail(f"vmkit exited early: {p.returncode} {p.stderr.read()}")
    except subprocess.TimeoutExpired:
        pass
    p.terminate()
    assert p.wait(timeout=10) == 128 + 15


@needs_kvm
def test_sanitizer_build_boots_through_firmware(tmp_path):
    """make asan's vmkit: SeaBIOS (fw_cfg DMA, table loader, PAM remaps, debugcon) then the
    boot sector, with a second blank disk and 2 vCPUs; no ASan/UBSan report."""
    subprocess.run(["make", "-s", "-C", ROOT, "asan"], check=True, capture_output=True)
    disk = build_mbr(tmp_path)
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(64 * 1024))
    serial, log = tmp_path / "serial.txt", tmp_path / "fw.log"
    p = subprocess.run([os.path.join(ROOT, "build", "asan", "vmkit"), "run", "--disk", str(disk), "--disk",
                        str(blank), "--cpus", "2", "--console", f"file:{serial}", "--firmware-log", str(log)],
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr[-4000:]
    assert p.returncode == 33, p.stderr[-2000:]
    assert "VMKIT-MBR: sector 1 says: " + PAYLOAD.decode() in serial.read_text(errors="replace")
