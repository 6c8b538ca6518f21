"""Atomic writes: the target appears whole with umask permissions, or not at all, and no temporary is left."""

import os
import stat
import subprocess
import sys
import time

import pytest

from eqdenoise.atomic import atomic_path


def test_success_replaces_the_target_with_umask_permissions(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    umask = os.umask(0o027)
    try:
        with atomic_path(target) as tmp:
            assert os.path.dirname(tmp) == str(tmp_path) and tmp.endswith(".png")
            assert target.read_bytes() == b"old"
            with open(tmp, "wb") as handle:
                handle.write(b"new")
    finally:
        os.umask(umask)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_failure_keeps_the_old_target_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.tif"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_a_failure_without_a_previous_target_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "new") as tmp:
        assert tmp.endswith(".tmp")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_killed_runs_stale_temporary_is_removed_by_the_next_write_and_nothing_else_is(tmp_path):
    target = tmp_path / "out.png"
    stale, fresh = tmp_path / ".out.k2x_9qzp.png", tmp_path / ".out.abcdefgh.png"
    others = [tmp_path / ".out.b.abcdefgh.png", tmp_path / ".out.abcdefgh.tif", tmp_path / "out.abcdefgh.png",
              tmp_path / ".out.abcdefghi.png"]
    for path in (stale, fresh, *others):
        path.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    for path in (stale, *others):
        os.utime(path, (hour_ago, hour_ago))
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(b"new")
    assert not stale.exists() and fresh.exists() and all(path.exists() for path in others)


def test_sigterm_unwinds_like_ctrl_c_and_removes_the_temporary(tmp_path):
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from eqdenoise.atomic import atomic_path\n"
        "from eqdenoise.cli import _terminated\n"
        "signal.signal(signal.SIGTERM, _terminated)\n"
        f"with atomic_path(Path({str(tmp_path / 'out.png')!r})) as tmp:\n"
        "    Path(tmp).write_bytes(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    Path(tmp).write_bytes(b'never')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 143, result.stderr
    assert result.stderr.startswith("error: terminated") and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
