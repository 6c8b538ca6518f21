"""Checks on an input file before it is opened: one clear line for a folder, a missing, special or unreadable file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import EqdenoiseError, UsageError


def check_path_text(path: str | Path) -> None:
    """Refuse a path holding a NUL byte, which no file system takes (the OS calls would raise ValueError)."""
    if "\0" in str(path):
        raise UsageError(f"{str(path)!r}: a file name cannot hold a NUL byte")


def check_input_file(path: Path, kind: str = "image") -> None:
    """Raise one line naming ``path`` unless it is an existing regular file this process may read."""
    check_path_text(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise EqdenoiseError(f"{path}: no such file") from None
    except OSError as exc:
        raise EqdenoiseError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise EqdenoiseError(f"{path}: is a folder, not {_article(kind)} {kind} file")
    if not stat.S_ISREG(mode):
        raise EqdenoiseError(f"{path}: not a regular file (a FIFO, device or socket); eqdenoise reads {kind} files only")
    if not os.access(path, os.R_OK):
        raise EqdenoiseError(f"{path}: cannot be read (permission denied)")


def _article(word: str) -> str:
    """'an' before a vowel sound (an image), else 'a' (a DICOM)."""
    return "an" if word[:1].lower() in "aeio" else "a"
