"""Which files a command processes and where each result goes: files and folders in, files or a folder out."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EqdenoiseError, first_line
from .input_files import check_path_text
from .shards import shard_indices


@dataclass(frozen=True)
class BatchInput:
    """One file to process, and the folder it was found in when a folder was given."""

    path: Path
    folder: Path | None = None


def expand_inputs(inputs: list[Path], files_in: Callable[[Path], list[Path]], kind: str) -> list[BatchInput]:
    """Files as given, and each given folder replaced by the ``kind`` files directly inside it (hidden ones skipped)."""
    items: list[BatchInput] = []
    for given in inputs:
        check_path_text(given)
        if not given.is_dir():
            items.append(BatchInput(given))
            continue
        try:
            found = [p for p in files_in(given) if not p.name.startswith(".")]
        except OSError as exc:
            raise EqdenoiseError(f"{given}: cannot list this folder ({exc.strerror or exc})") from None
        if not found:
            raise EqdenoiseError(f"{given}: no {kind} files in this folder")
        items.extend(BatchInput(p, given) for p in found)
    return items


def output_paths(items: list[BatchInput], output: str | Path | None, tag: str) -> list[Path]:
    """Where each result goes.

    Without ``-o``: ``NAME-TAG.EXT`` beside a file given by name, and ``FOLDER-TAG/NAME.EXT`` for a file
    found in a given folder (so results never land among the inputs a rerun would pick up). With ``-o``:
    that file for a single file, else that folder (made if missing); a name ending in a slash is always a folder.
    """
    if output is None:
        return [_beside(item, tag) for item in items]
    check_path_text(output)
    as_folder = str(output).endswith(("/", os.sep))
    output = Path(output)
    if not (as_folder or len(items) > 1 or any(item.folder for item in items)):
        return [output / items[0].path.name] if output.is_dir() else [output]
    names = [item.path.name for item in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EqdenoiseError(f"several inputs are named {', '.join(duplicates)}; they would share one output")
    if output.exists() and not output.is_dir():
        raise EqdenoiseError(f"{output}: with several inputs or a folder, -o must be a folder (a new one is made "
                             f"if its name has no extension or ends in /)")
    if not output.exists() and output.suffix and not as_folder:
        raise EqdenoiseError(f"{output}: with several inputs or a folder, -o must be a folder (a new one is made "
                             f"if its name has no extension or ends in /)")
    _make_folder(output)
    return [output / name for name in names]


def input_clashes(sources: list[Path], targets: list[Path]) -> list[str | None]:
    """For each target, why it must not be written (it is one of the batch's inputs, under any name), else None."""
    identities = {_identity(path) for path in sources} - {None}
    return [f"{target}: is an input of this batch; refusing to overwrite it" if _identity(target) in identities
            else None for target in targets]


def _identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of an existing file, which hard links and symbolic links share; None if there is none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _beside(item: BatchInput, tag: str) -> Path:
    """The default output: next to the file, or in a sibling of its folder named after the folder."""
    if item.folder is None:
        return item.path.with_name(f"{item.path.stem}-{tag}{item.path.suffix}")
    folder = Path(os.path.normpath(item.folder))
    if folder.name in ("", ".", ".."):
        folder = folder.resolve()
    target = folder.with_name(f"{folder.name}-{tag}")
    _make_folder(target)
    return target / item.path.name


def _make_folder(path: Path) -> None:
    """Create a missing output folder (and its parents); another shard making it at the same time is fine."""
    if path.exists():
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EqdenoiseError(f"{path}: cannot create the output folder ({exc.strerror})") from None


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file of a batch: ``done`` (with what the process returned: ``result``, and as ``message``
    when it is text), ``skipped`` or ``failed`` (with its one-line ``message``)."""

    source: Path
    target: Path
    status: str
    message: str = ""
    result: object = None


@dataclass
class BatchSummary:
    """Counts of a batch (or of this process's shard of it), and the files that failed."""

    done: int = 0
    skipped: int = 0
    failed: list[Path] = field(default_factory=list)
    shard: tuple[int, int] = (1, 1)

    @property
    def total(self) -> int:
        """Files this process was given."""
        return self.done + self.skipped + len(self.failed)


def run_batch(inputs: list[Path], targets: list[Path], process: Callable[[Path, Path], object], *,
              skip_existing: bool = False, shard: tuple[int, int] = (1, 1),
              on_file: Callable[[FileOutcome], None] | None = None) -> BatchSummary:
    """Process each input of this shard into its target; a failure is one outcome, and the others go on.

    A target that is one of the batch's inputs (in any shard) fails; with ``skip_existing`` a target that
    exists is left alone. ``process`` returns what a done file's outcome carries; ``on_file`` sees each outcome.
    """
    summary = BatchSummary(shard=shard)
    clashes = input_clashes(inputs, targets)
    for index in shard_indices(len(inputs), shard):
        source, target = inputs[index], targets[index]
        try:
            if clashes[index]:
                raise EqdenoiseError(clashes[index])
            if skip_existing and target.is_file():
                outcome = FileOutcome(source, target, "skipped", "exists")
                summary.skipped += 1
            else:
                result = process(source, target)
                outcome = FileOutcome(source, target, "done", result if isinstance(result, str) else "", result)
                summary.done += 1
        except EqdenoiseError as exc:
            text = str(exc)
            named = text.startswith(str(source)) or text.startswith(str(target))
            outcome = FileOutcome(source, target, "failed", text if named else f"{source}: {text}")
            summary.failed.append(source)
        except MemoryError:
            outcome = FileOutcome(source, target, "failed", f"{source}: not enough memory to process this image")
            summary.failed.append(source)
        except OSError as exc:
            outcome = FileOutcome(source, target, "failed", f"{exc.filename or source}: {exc.strerror or first_line(exc)}")
            summary.failed.append(source)
        if on_file:
            on_file(outcome)
    return summary
