"""Where a training run writes (checkpoint, resumable state, loss log), and the checks that nothing else is lost."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import EqdenoiseError
from ..files.atomic import check_name_length
from ..files.input_files import check_path_text


def state_path(out: Path) -> Path:
    """Where the resumable training state of a checkpoint lives."""
    return out.with_name(out.name.removesuffix(".safetensors") + ".state.safetensors")


def log_path(state: Path) -> Path:
    """The loss log (JSON lines) beside a training state."""
    return state.with_name(state.name.removesuffix(".state.safetensors").removesuffix(".safetensors") + ".log.jsonl")


def check_training_outputs(out: Path, state: Path, data_folders: list[Path], resume: bool, overwrite: bool) -> None:
    """Refuse, before any work, a run that would overwrite what it should not.

    The checkpoint and the state must be two different regular files (or new), outside every training data folder;
    an existing checkpoint or state is replaced only on ``resume`` (its own run) or with ``overwrite``.
    """
    for path in (out, state, *data_folders):
        check_path_text(path)
    out, state = Path(out), Path(state)
    for path in (out, state, log_path(state)):
        check_name_length(path)
    if _same(out, state):
        raise EqdenoiseError(f"{out}: --state names the checkpoint itself; give the state its own file")
    for path, what in ((out, "checkpoint"), (state, "training state")):
        if path.is_dir():
            raise EqdenoiseError(f"{path}: the {what} path is a folder; give a file name, e.g. {path / 'model.safetensors'}")
        if path.exists() and not path.is_file():
            raise EqdenoiseError(f"{path}: not a regular file; refusing to replace it with the {what}")
        if not path.parent.is_dir():
            raise EqdenoiseError(f"{path}: folder {path.parent} does not exist")
        for folder in data_folders:
            if _inside(path, folder):
                raise EqdenoiseError(f"{path}: the {what} would be written into the training data folder {folder}")
    log = log_path(state)
    if log.exists() and not log.is_file():
        raise EqdenoiseError(f"{log}: not a regular file; refusing to write the loss log to it")
    if resume or overwrite:
        return
    for path, what in ((out, "checkpoint"), (state, "training state"), (log, "loss log")):
        if path.exists():
            raise EqdenoiseError(f"{path}: {what} exists; use --resume to continue its run or --overwrite to start over")


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name one file (existing or not)."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder`` or below it."""
    return path.resolve().parent.is_relative_to(folder.resolve())
