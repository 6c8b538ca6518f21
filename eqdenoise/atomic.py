"""Atomic file writes: a temporary file in the target's folder, renamed over the target on success."""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import EqdenoiseError

STALE_SECONDS = 60.0


def check_replaceable(path: Path) -> None:
    """Refuse a target that exists but is not a regular file (a folder, FIFO, device or socket): never replaced."""
    path = Path(path)
    if path.is_dir():
        raise EqdenoiseError(f"{path}: is a folder, not a file")
    if path.exists() and not path.is_file():
        raise EqdenoiseError(f"{path}: not a regular file (a device, FIFO or socket); refusing to replace it")


def remove_stale_temporaries(path: Path) -> None:
    """Delete temporaries of ``path`` left by a killed run (SIGKILL, power loss): untouched for STALE_SECONDS."""
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.[a-z0-9_]{{8}}{re.escape(_temporary_suffix(path))}")
    now = time.time()
    try:
        for entry in os.scandir(path.parent):
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False) \
                    and now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS:
                Path(entry.path).unlink(missing_ok=True)
    except OSError:
        return


def _temporary_suffix(path: Path) -> str:
    """The suffix of ``path``'s temporaries (its own, so writers that look at the extension still work)."""
    return path.suffix or ".tmp"


@contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """Yield a temporary path to write; on success it gets the usual umask permissions and replaces ``path``."""
    path = Path(path)
    check_replaceable(path)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=_temporary_suffix(path), dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
