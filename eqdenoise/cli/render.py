"""What the commands show: progress bars, a line per file, the closing summary, one-line errors and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from ..errors import EqdenoiseError, UsageError

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..api import FileBatch, FileOutcome

out = Console(highlight=False, soft_wrap=True)


def warn_if_slow(precision: str) -> None:
    """One warning line when bf16 is asked for on a CPU that has no bfloat16 instructions."""
    from ..api import slow_precision

    if slow_precision(precision):
        sys.stderr.write("warning: this CPU has no bfloat16 instructions (AMX or AVX512-BF16), so --precision bf16 "
                         "runs several times slower than fp32 here\n")


def progress_display() -> Progress:
    """A transient progress display on the terminal (off when output is not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=out, transient=True, disable=not out.is_terminal)


def show_batch(batch: FileBatch, detail: Callable[[object], str] = lambda result: "") -> None:
    """Run a batch with a progress bar (files, and the steps of the file in work), a line per file and the closing
    summary; exit 1 if any failed."""
    with progress_display() as bar:
        files = bar.add_task("files", total=batch.size)
        step_bars: dict[Path, object] = {}

        def steps(source: Path, done: int, total: int) -> None:
            if source not in step_bars:
                step_bars[source] = bar.add_task(f"  {source.name}", total=None)
            bar.update(step_bars[source], completed=done, total=total)

        def render(outcome: FileOutcome) -> None:
            if outcome.source in step_bars:
                bar.remove_task(step_bars.pop(outcome.source))
            if outcome.status == "failed":
                fail(outcome.message)
            else:
                shown = " skipped (exists)" if outcome.status == "skipped" else detail(outcome.result)
                out.print(f"{outcome.source} → {outcome.target}{shown}")
            bar.advance(files)

        summary = batch.run(on_file=render, progress=steps)
    summarise(summary)


def summarise(summary) -> None:
    """The closing line of a batch or shard (done, skipped, failed, and which failed; none for a single file); exit
    1 if any failed."""
    if summary.total == 1 and summary.shard[1] == 1:
        if summary.failed:
            raise typer.Exit(1)
        return
    line = ((f"shard {summary.shard[0]}/{summary.shard[1]}: " if summary.shard[1] > 1 else "")
            + f"{summary.done} done, {summary.skipped} skipped, {len(summary.failed)} failed")
    if summary.failed:
        fail(f"{line}: {', '.join(str(path) for path in summary.failed)}")
        raise typer.Exit(1)
    out.print(line)


def exit_with(exc: EqdenoiseError, message: str | None = None) -> NoReturn:
    """One error line, then exit 2 for a usage error (a bad option value or combination), 1 for anything else."""
    fail(message or str(exc))
    raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None


def fail(message: str) -> None:
    """One error line on stderr (through sys.stderr, so it lands above a live progress display)."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def sigma_detail(sigmas: list[float | None]) -> str:
    """The noise level(s) used, for the line printed per file; the range over the pages of a stack."""
    if sigmas[0] is None:
        return ""
    pages = f"{len(sigmas)} pages, " if len(sigmas) > 1 else ""
    low, high = min(sigmas), max(sigmas)
    return f" ({pages}σ = {low:.1f})" if f"{low:.1f}" == f"{high:.1f}" else f" ({pages}σ = {low:.1f}–{high:.1f})"
