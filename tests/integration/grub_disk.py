"""Build a BIOS-bootable raw disk image with GRUB (Debian grub-pc-bin), no loop devices, no root.

Layout: MBR (GRUB's boot.img + an msdos partition table written here), GRUB's
core.img from sector 1 (boot.img's default kernel_sector, and diskboot's
default blocklist start at sector 2, which grub-mkimage sizes), one ext4
partition from 1 MiB made with `mkfs.ext4 -d` from a directory holding /boot.
"""
import os
import shutil
import struct
import subprocess

GRUB_DIR = "/usr/lib/grub/i386-pc"
MODULES = ["biosdisk", "part_msdos", "ext2", "linux", "linux16", "normal", "serial", "terminal",
           "configfile", "echo", "test", "search", "sleep", "halt"]
PART_START = 2048  # sectors: 1 MiB, room for core.img


def available():
    return (os.path.exists(os.path.join(GRUB_DIR, "boot.img")) and shutil.which("grub-mkimage")
            and shutil.which("mkfs.ext4"))


def partition_entry(start, count, ptype=0x83, bootable=True):
    """One MBR partition entry (16 bytes); CHS fields say "use LBA" (0xfe/0xff/0xff)."""
    chs_lba = bytes([0xfe, 0xff, 0xff])
    return struct.pack("<B3sB3sII", 0x80 if bootable else 0, chs_lba, ptype, chs_lba, start, count)


def build(workdir, files, grub_cfg, part_mib=48):
    """files: {path inside the partition (e.g. 'boot/vmlinuz'): host path}. Returns the disk path."""
    root = os.path.join(workdir, "root")
    os.makedirs(os.path.join(root, "boot", "grub"), exist_ok=True)
    for dst, src in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, dst)), exist_ok=True)
        shutil.copyfile(src, os.path.join(root, dst))
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(grub_cfg)
    part = os.path.join(workdir, "part.ext4")
    if os.path.exists(part):
        os.unlink(part)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "vmkitboot", "-d", root, part, f"{part_mib}M"], check=True,
                   env=dict(os.environ, E2FSPROGS_FAKE_TIME="1700000000"))
    core = os.path.join(workdir, "core.img")
    subprocess.run(["grub-mkimage", "-O", "i386-pc", "-d", GRUB_DIR, "-o", core, "-p", "(hd0,msdos1)/boot/grub",
                    *MODULES], check=True)
    core_data = open(core, "rb").read()
    assert len(core_data) <= (PART_START - 1) * 512, "core.img does not fit before the partition"
    boot = open(os.path.join(GRUB_DIR, "boot.img"), "rb").read()
    assert len(boot) == 512
    nsect = part_mib * 2048
    mbr = bytearray(boot[:440]) + bytes(6)  # boot code, disk signature 0, reserved
    mbr += partition_entry(PART_START, nsect) + bytes(48) + b"\x55\xaa"
    assert len(mbr) == 512
    disk = os.path.join(workdir, "grub-disk.img")
    with open(disk, "wb") as f:
        f.write(mbr)
        f.write(core_data)
        f.seek(PART_START * 512)
        with open(part, "rb") as p:
            shutil.copyfileobj(p, f, 1 << 20)
    os.unlink(part)
    return disk
