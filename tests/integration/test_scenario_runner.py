"""The scenario runner every rig test uses (conftest.scenario_script), run here
as plain shell without a VM: time limits end a scenario with everything it
started, a guest stall or crash is re-run while attempts remain, and the
output judged is the last attempt's."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import parse_scenarios, scenario_script

STALL_LINE = "[  243.03] INFO: task swapper/0:1 blocked for more than 120 seconds."


@pytest.fixture(scope="module")
def busybox_path(tmp_path_factory):
    """A PATH of busybox applets only: what the rig's L1 has (no pgrep, for one)."""
    bb = shutil.which("busybox")
    if not bb:
        pytest.skip("busybox not installed (scripts/install-deps installs busybox-static)")
    d = tmp_path_factory.mktemp("bb")
    subprocess.run([bb, "--install", "-s", str(d)], check=True)
    return str(d)


def run(scenarios, each=30, attempts=3, path=None):
    start = time.monotonic()
    env = dict(os.environ, PATH=path) if path else None
    shell = [os.path.join(path, "sh")] if path else ["sh"]
    p = subprocess.run([*shell, "-c", scenario_script(scenarios, each, attempts)], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL, env=env)
    return parse_scenarios(p.stdout + p.stderr, scenarios), time.monotonic() - start


def test_a_passing_scenario_keeps_its_output_and_status():
    results, _ = run({"ok": "echo hello; echo err >&2; exit 3"})
    status, out = results["ok"]
    assert status == 3
    assert "hello" in out and "err" in out
    assert "RIG-" not in out and "KILLED" not in out


@pytest.mark.parametrize("shell", ["sh", "busybox"])
def test_time_limit_kills_the_scenario_and_what_it_started(tmp_path, shell, request):
    pidfile = tmp_path / "child"
    path = request.getfixturevalue("busybox_path") if shell == "busybox" else None
    results, took = run({"slow": f"(sleep 300; true) & echo $! > {pidfile}; wait"}, each=4, attempts=1, path=path)
    status, out = results["slow"]
    assert status == 137, out
    assert "=== KILLED slow: time limit 4s" in out
    assert took < 60
    child = int(pidfile.read_text())
    time.sleep(0.5)
    assert not os.path.exists(f"/proc/{child}") or "Z" in open(f"/proc/{child}/stat").read().split()[2], \
        "the scenario's child outlived it"


def test_a_stall_is_killed_early_and_retried(tmp_path):
    tries = tmp_path / "tries"
    cmd = f"echo x >> {tries}; [ $(wc -l < {tries}) -ge 2 ] && {{ echo booted; exit 0; }}; echo '{STALL_LINE}'; sleep 300"
    results, took = run({"flaky": cmd}, each=100)
    status, out = results["flaky"]
    assert status == 0, out
    assert "=== RIG-STALL attempt 1" in out and "booted" in out
    assert STALL_LINE not in out  # the judged output is the last attempt's
    # ... and the retried attempt's last lines are kept, unmatchable
    assert "=== attempt 1 said: " + STALL_LINE.replace(" ", "~") in out, out
    assert len(tries.read_text().split()) == 2
    assert took < 60  # killed on the stall line, not at the 100 s limit


def test_a_stall_on_every_attempt_fails_with_the_reason(tmp_path):
    tries = tmp_path / "tries"
    results, _ = run({"stuck": f"echo x >> {tries}; echo 'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'; "
                               "sleep 300"}, each=100, attempts=2)
    status, out = results["stuck"]
    assert status == 137
    assert "=== KILLED stuck: stall" in out
    assert len(tries.read_text().split()) == 2


def test_a_crash_is_retried_but_other_failures_are_not(tmp_path):
    crash, fail = tmp_path / "crash", tmp_path / "fail"
    results, _ = run({"crash": f"echo x >> {crash}; exit 6", "fail": f"echo x >> {fail}; exit 1"})
    assert results["crash"][0] == 6 and "=== RIG-CRASH attempt 2" in results["crash"][1]
    assert len(crash.read_text().split()) == 3
    assert results["fail"][0] == 1
    assert len(fail.read_text().split()) == 1


def test_natively_nothing_is_retried(tmp_path):
    tries = tmp_path / "tries"
    results, _ = run({"once": f"echo x >> {tries}; exit 6"}, attempts=1)
    assert results["once"][0] == 6
    assert len(tries.read_text().split()) == 1


@pytest.mark.parametrize("shell", ["sh", "busybox"])
def test_a_kill_at_the_time_limit_is_retried_with_the_vmm_threads_noted(tmp_path, shell, request):
    fake_vmm = tmp_path / "vmkit"  # its threads are what the note shows
    fake_vmm.write_bytes(open("/bin/sleep", "rb").read())
    fake_vmm.chmod(0o755)
    tries = tmp_path / "tries"
    path = request.getfixturevalue("busybox_path") if shell == "busybox" else None
    # a grandchild, as when a scenario pipes vmkit's output: the note must find it
    results, _ = run({"hang": f"echo x >> {tries}; ({fake_vmm} 300; true) | cat"}, each=12, attempts=2, path=path)
    status, out = results["hang"]
    assert status == 137
    assert len(tries.read_text().split()) == 2
    assert "=== RIG-TIMEOUT attempt 1" in out and " vmkit:S(" in out, out
    assert "=== KILLED hang: time limit 12s" in out
    assert "=== VMM threads at the last look: vmkit:S(" in out, out
