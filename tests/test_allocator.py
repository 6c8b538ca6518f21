"""The allocator setting keeps a freed block mapped for reuse (glibc)."""

from pathlib import Path

import pytest

RSS_AFTER_FREE = """
import sys, numpy as np
from eqdenoise.allocator import keep_freed_memory
if sys.argv[1] == "keep" and not keep_freed_memory():
    print("unsupported"); raise SystemExit
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20
start = rss()
block = np.ones(64 << 20, dtype=np.float32)
del block
print(rss() - start)
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_keep_freed_memory_keeps_a_freed_block_mapped_for_reuse():
    import subprocess
    import sys

    def held(mode: str) -> str:
        return subprocess.run([sys.executable, "-c", RSS_AFTER_FREE, mode], capture_output=True, text=True,
                              check=True).stdout.strip()

    kept = held("keep")
    if kept == "unsupported":
        pytest.skip("not glibc: mallopt is unavailable")
    assert int(held("default")) < 64, "glibc returned the 256 MiB block by default"
    assert int(kept) >= 200, f"only {kept} MiB of a freed 256 MiB block stayed mapped"
