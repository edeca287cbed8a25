"""virtio-console (--console virtio): the stock kernel's hvc0 talks to the host terminal both ways."""
import pytest

SCENARIOS = {
    # type a line once the guest's shell is listening on hvc0, as a user would
    "hvc": "rm -f /tmp/hvc.out; (i=0; while ! grep -q 'VMKIT-HVC hello' /tmp/hvc.out 2>/dev/null && [ $i -lt 900 ]; "
           "do sleep 0.2; i=$((i+1)); done; sleep 1; echo ping-from-host) | "
           "{vmkit} run --kernel {kernel} --initrd {initrd} --memory 256M "
           "--console virtio --cmdline 'console=hvc0 quiet vmkit.check=hvc' > /tmp/hvc.out 2>&1; "
           "s=$?; cat /tmp/hvc.out; (exit $s)",
}


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=600)


def test_hvc0_output_and_input(results):
    status, out = results["hvc"]
    assert "VMKIT-HVC hello" in out, out[-3000:]
    assert "VMKIT-HVC got=ping-from-host" in out, out[-3000:]
    assert status == 0, out[-3000:]
