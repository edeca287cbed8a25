"""virtio-rng (--rng) with the stock kernel's virtio-rng driver: /dev/hwrng yields random bytes."""
import re

import pytest

SCENARIOS = {
    "rng": "{vmkit} run --kernel {kernel} --initrd {initrd} --memory 256M --console stdio --rng "
           "--cmdline 'console=ttyS0 quiet vmkit.check=rng'",
}


@pytest.fixture(scope="module")
def results(vmm):
    return vmm.run(SCENARIOS, timeout=600)


def test_hwrng_reads_from_virtio_rng(results):
    status, out = results["rng"]
    assert status == 0, out[-3000:]
    assert re.search(r"VMKIT-RNG current=virtio_rng\.\d+", out), out[-3000:]
    assert "VMKIT-RNG bytes=2048" in out, out[-3000:]
    distinct = int(re.search(r"VMKIT-RNG distinct=(\d+)", out).group(1))
    assert distinct > 100, f"256 random bytes should have >100 distinct values, got {distinct}"
