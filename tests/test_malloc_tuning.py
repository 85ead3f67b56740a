"""``lessonloop serve`` fixes glibc's memory-map threshold, so a large array it frees goes back
to the system (decision 73). Each case runs in a fresh interpreter: the setting is per process."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A search's pattern: a large array freed (glibc then raises its map threshold past it), a
# slightly smaller one, something small allocated after it (pinning the heap's top), then the
# smaller one freed. Prints how much of that array the process still holds.
PROBE = """
import sys
import numpy as np
from lessonloop import malloc_tuning

def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

if sys.argv[1] == "tuned":
    assert malloc_tuning.install()
first = np.ones(8 << 17)  # 8 MB
del first
second = np.ones(7 << 17)  # 7 MB
pin = bytearray(200_000)
held = rss_kb()
del second
print((held - rss_kb()) // 1024)  # MB given back
"""


def _given_back_mb(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_freed_large_array_goes_back_to_the_system_once_tuned() -> None:
    assert _given_back_mb("tuned") >= 6
    # without it, glibc kept the array's memory: what the tuning is for
    assert _given_back_mb("default") <= 1
