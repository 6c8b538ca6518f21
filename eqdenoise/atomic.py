"""Atomic file writes: a temporary file in the target's folder, renamed over the target on success."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import EqdenoiseError


def check_replaceable(path: Path) -> None:
    """Refuse a target that exists but is not a regular file (a folder, FIFO, device or socket): never replaced."""
    path = Path(path)
    if path.is_dir():
        raise EqdenoiseError(f"{path}: is a folder, not a file")
    if path.exists() and not path.is_file():
        raise EqdenoiseError(f"{path}: not a regular file (a device, FIFO or socket); refusing to replace it")


@contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """Yield a temporary path to write; on success it gets the usual umask permissions and replaces ``path``."""
    path = Path(path)
    check_replaceable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
