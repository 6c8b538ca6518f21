"""Atomic writes: the target appears whole with umask permissions, or not at all, and no temporary is left."""

import os
import stat

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
