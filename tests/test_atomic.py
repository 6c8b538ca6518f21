"""Atomic writes: the target appears whole with umask permissions, or not at all, and no temporary is left."""

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eqdenoise.errors import EqdenoiseError
from eqdenoise.files.atomic import atomic_path


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
    stale, fresh = tmp_path / ".out.eqdenoise-partial-k2x_9qzp.png", tmp_path / ".out.eqdenoise-partial-abcdefgh.png"
    others = [tmp_path / ".out.b.eqdenoise-partial-abcdefgh.png", tmp_path / ".out.eqdenoise-partial-abcdefgh.tif",
              tmp_path / "out.eqdenoise-partial-abcdefgh.png", tmp_path / ".out.eqdenoise-partial-abcdefghi.png"]
    for path in (stale, fresh, *others):
        path.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    for path in (stale, *others):
        os.utime(path, (hour_ago, hour_ago))
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(b"new")
    assert not stale.exists() and fresh.exists() and all(path.exists() for path in others)


@pytest.mark.parametrize("name", [".out.original.png", ".out.k2x_9qzp.png", ".out.12345678.png", ".out.abcdefgh.png",
                                  ".out.eqdenoise.png", ".out.partial_.png"])
def test_a_users_hidden_file_that_looks_like_a_temporary_is_never_removed(tmp_path, name):
    """Only names with this tool's tag are swept: a user's `.out.original.png` (8 characters) stays."""
    mine = tmp_path / name
    mine.write_bytes(b"the user's")
    hour_ago = time.time() - 3600
    os.utime(mine, (hour_ago, hour_ago))
    with atomic_path(tmp_path / "out.png") as tmp:
        Path(tmp).write_bytes(b"new")
    assert mine.read_bytes() == b"the user's"


def test_without_replace_an_output_that_appeared_meanwhile_is_kept_and_the_write_fails(tmp_path):
    target = tmp_path / "out.png"
    with pytest.raises(EqdenoiseError, match="output exists .*not replaced"), atomic_path(target, replace=False) as tmp:
        Path(tmp).write_bytes(b"mine")
        target.write_bytes(b"the other run's")
    assert target.read_bytes() == b"the other run's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize("link", ["dangling", "loop"])
def test_without_replace_a_dangling_or_looping_link_is_not_replaced(tmp_path, link):
    target = tmp_path / "out.png"
    os.symlink(tmp_path / "nowhere.png" if link == "dangling" else target, target)
    with pytest.raises(EqdenoiseError, match="output exists"), atomic_path(target, replace=False) as tmp:
        Path(tmp).write_bytes(b"mine")
    assert target.is_symlink() and [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_two_processes_writing_one_output_without_replace_never_both_succeed(tmp_path):
    """Both start before either finishes; exactly one file wins and the other process reports that it exists."""
    target, start = tmp_path / "out.png", tmp_path / "go"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from eqdenoise.files.atomic import atomic_path\n"
        "from eqdenoise.errors import EqdenoiseError\n"
        "try:\n"
        f"    with atomic_path(Path({str(target)!r}), replace=False) as tmp:\n"
        "        Path(tmp).write_text(sys.argv[1])\n"
        f"        while not Path({str(start)!r}).exists():\n"
        "            time.sleep(0.01)\n"
        "except EqdenoiseError as exc:\n"
        "    print(exc); sys.exit(1)\n"
    )
    runs = [subprocess.Popen([sys.executable, "-c", script, name], stdout=subprocess.PIPE, text=True)
            for name in ("first", "second")]
    time.sleep(3)
    start.write_bytes(b"")
    codes = sorted(run.wait(timeout=120) for run in runs)
    assert codes == [0, 1]
    assert target.read_text() in ("first", "second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "out.png"]


def test_a_name_over_the_file_systems_limit_is_one_line_and_the_temporary_name_fits(tmp_path):
    with pytest.raises(EqdenoiseError, match="over the 255-byte limit"), atomic_path(tmp_path / ("x" * 256 + ".png")):
        pass
    longest = tmp_path / ("é" * 124 + "abc.png")
    assert len(os.fsencode(longest.name)) == 255
    with atomic_path(longest) as tmp:
        assert len(os.fsencode(Path(tmp).name)) <= 255
        Path(tmp).write_bytes(b"new")
    assert longest.read_bytes() == b"new"


def test_sigterm_unwinds_like_ctrl_c_and_removes_the_temporary(tmp_path):
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from eqdenoise.files.atomic import atomic_path\n"
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
