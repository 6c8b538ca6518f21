"""Atomic file writes: a temporary file in the target's folder, moved onto the target on success.

Without ``replace`` the move is a hard link, which the file system refuses when the name exists, so two
processes writing one output cannot both succeed: the later one fails instead of replacing the earlier's file.
Temporaries carry a tag of this tool in their name, and only such names are ever swept away.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import EqdenoiseError
from .input_files import check_path_text

STALE_SECONDS = 60.0
TEMPORARY_TAG = "eqdenoise-partial"
RANDOM_CHARACTERS = 8
DEFAULT_NAME_MAX = 255
NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def name_limit(folder: Path) -> int:
    """Longest file name, in bytes, that the file system of ``folder`` takes (255 where it does not say)."""
    try:
        return int(os.pathconf(folder if folder.is_dir() else ".", "PC_NAME_MAX"))
    except (OSError, ValueError):
        return DEFAULT_NAME_MAX


def check_name_length(path: Path) -> None:
    """Refuse a file name longer than its file system allows, before anything is asked of that name."""
    path = Path(path)
    check_path_text(path)
    size, limit = len(os.fsencode(path.name)), name_limit(path.parent)
    if size > limit:
        raise EqdenoiseError(f"{path}: the file name is {size} bytes, over the {limit}-byte limit of the file system; "
                             "give a shorter output name")


def check_replaceable(path: Path) -> None:
    """Refuse a target that exists but is not a regular file (a folder, FIFO, device or socket): never replaced."""
    path = Path(path)
    check_name_length(path)
    if path.is_dir():
        raise EqdenoiseError(f"{path}: is a folder, not a file")
    if path.exists() and not path.is_file():
        raise EqdenoiseError(f"{path}: not a regular file (a device, FIFO or socket); refusing to replace it")


def remove_stale_temporaries(path: Path) -> None:
    """Delete temporaries of ``path`` left by a killed run (SIGKILL, power loss): this tool's tag in the name, owned
    by this user, untouched for STALE_SECONDS."""
    prefix, suffix = _temporary_affixes(path)
    pattern = re.compile(rf"{re.escape(prefix)}[a-z0-9_]{{{RANDOM_CHARACTERS}}}{re.escape(suffix)}")
    now = time.time()
    try:
        for entry in os.scandir(path.parent):
            if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
            if info.st_uid == os.getuid() and now - info.st_mtime > STALE_SECONDS:
                Path(entry.path).unlink(missing_ok=True)
    except OSError:
        return


def _temporary_affixes(path: Path) -> tuple[str, str]:
    """Prefix and suffix of ``path``'s temporaries: ``.STEM.eqdenoise-partial-`` and the target's own suffix (so
    writers that look at the extension still work), the stem cut so that the whole name fits the folder's limit."""
    suffix = path.suffix or ".tmp"
    fixed = len(os.fsencode(f"..{TEMPORARY_TAG}-{suffix}")) + RANDOM_CHARACTERS
    stem = os.fsencode(path.stem)[:max(0, name_limit(path.parent) - fixed)]
    return f".{stem.decode(errors='ignore')}.{TEMPORARY_TAG}-", suffix


@contextmanager
def atomic_path(path: Path, replace: bool = True) -> Iterator[str]:
    """Yield a temporary path to write; on success it gets the usual umask permissions and becomes ``path``.

    With ``replace`` False an existing ``path`` (another run's output that appeared meanwhile, or any link, dangling
    ones included) is never replaced: the move fails with one line and the temporary is removed.
    """
    path = Path(path)
    check_replaceable(path)
    remove_stale_temporaries(path)
    prefix, suffix = _temporary_affixes(path)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if replace:
            os.replace(tmp, path)
        else:
            _move_without_replacing(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _move_without_replacing(tmp: str, path: Path) -> None:
    """Give the finished temporary the name ``path`` only if no file of that name exists, in one atomic step (a hard
    link); on file systems without hard links, a check and a rename."""
    try:
        os.link(tmp, path, follow_symlinks=False)
        return
    except FileExistsError:
        raise _appeared(path) from None
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:
            raise
    if os.path.lexists(path):
        raise _appeared(path)
    os.replace(tmp, path)


def _appeared(path: Path) -> EqdenoiseError:
    """The error of an output that exists by the time the finished file would take its name."""
    return EqdenoiseError(f"{path}: output exists (written by another run while this one worked?); not replaced "
                          "(use --overwrite to replace it)")
