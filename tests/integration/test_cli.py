"""vmkit run: bad input gets one clear line on stderr and exit status 2 (usage) or 1 (runtime)."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VMKIT = os.path.join(ROOT, "build", "vmkit")

pytestmark = pytest.mark.skipif(not os.path.exists(VMKIT), reason="build/vmkit not built (run make)")


def run(*args, env=None, timeout=30):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([VMKIT, *args], capture_output=True, text=True, timeout=timeout, env=e,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one error line, got: {stderr!r}"
    return lines[0]


@pytest.mark.parametrize("args,needle", [
    ([], "--kernel is required"),
    (["--kernel"], "needs an argument"),
    (["--kernel", "k", "--memory", "0"], "--memory"),
    (["--kernel", "k", "--memory", "12X"], "invalid --memory"),
    (["--kernel", "k", "--memory", "999999G"], "exceeds this host"),
    (["--kernel", "k", "--cpus", "0"], "invalid --cpus"),
    (["--kernel", "k", "--cpus", "100000"], "invalid --cpus"),
    (["--kernel", "k", "--console", "serial0"], "invalid --console"),
    (["--kernel", "k", "--frobnicate"], "unknown option"),
])
def test_usage_errors_exit_2(args, needle):
    rc, _, err = run("run", *args)
    assert rc == 2, err
    assert needle in one_line(err)


def test_unknown_command():
    rc, _, err = run("frobnicate")
    assert rc == 2
    assert "unknown command" in one_line(err)


def test_help_documents_options_and_exit_statuses():
    rc, out, _ = run("run", "--help")
    assert rc == 0
    for opt in ["--kernel", "--initrd", "--cmdline", "--memory", "--cpus", "--console", "--disk", "--rng", "--balloon", "--vsock", "Exit status", "Ctrl-A x"]:
        assert opt in out


def test_missing_kernel_exit_1(tmp_path):
    rc, _, err = run("run", "--kernel", str(tmp_path / "nope"))
    assert rc == 1
    assert "No such file" in one_line(err)


def test_unreadable_kernel_is_directory(tmp_path):
    rc, _, err = run("run", "--kernel", str(tmp_path))
    assert rc == 1
    assert "directory" in one_line(err)


def test_missing_kvm_device(tmp_path):
    rc, _, err = run("run", "--kernel", "/bin/true", env={"VMKIT_KVM_DEVICE": str(tmp_path / "kvm")})
    assert rc == 1
    assert "does not exist" in one_line(err)


def test_kvm_device_not_permitted(tmp_path):
    dev = tmp_path / "kvm"
    dev.write_text("")
    dev.chmod(0)
    if os.geteuid() == 0:
        # root ignores permissions: use a path that is not a KVM device at all
        rc, _, err = run("run", "--kernel", "/bin/true", env={"VMKIT_KVM_DEVICE": str(dev)})
        assert rc == 1
        assert "KVM" in one_line(err) or "kvm" in one_line(err)
    else:
        rc, _, err = run("run", "--kernel", "/bin/true", env={"VMKIT_KVM_DEVICE": str(dev)})
        assert rc == 1
        assert "permission denied" in one_line(err)


needs_kvm = pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="no /dev/kvm")


@needs_kvm
def test_unknown_image_format(tmp_path):
    img = tmp_path / "junk.img"
    img.write_bytes(os.urandom(64 * 1024))
    rc, _, err = run("run", "--kernel", str(img), "--console", "none")
    assert rc == 1
    assert "unknown kernel image format" in one_line(err)


@needs_kvm
def test_empty_kernel(tmp_path):
    img = tmp_path / "empty"
    img.write_bytes(b"")
    rc, _, err = run("run", "--kernel", str(img), "--console", "none")
    assert rc == 1
    one_line(err)


@needs_kvm
def test_initrd_larger_than_memory(tmp_path):
    guests = os.path.join(ROOT, "tests", "guests", "build", "boot.elf")
    if not os.path.exists(guests):
        pytest.skip("tests/guests not built")
    rd = tmp_path / "big.rd"
    with open(rd, "wb") as f:
        f.truncate(64 << 20)
    rc, _, err = run("run", "--kernel", guests, "--initrd", str(rd), "--memory", "32M", "--console", "none")
    assert rc == 1
    assert "memory" in one_line(err)
