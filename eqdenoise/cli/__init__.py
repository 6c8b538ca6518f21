"""Command-line interface: thin Typer commands over the public API that render what it returns.

``options.py`` declares the options, ``render.py`` shows progress, results and errors, ``train.py`` holds the
``train`` commands; the commands here parse, call ``eqdenoise.api`` and render.
"""

from __future__ import annotations

import json
import signal
import sys
from enum import Enum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .. import __version__
from ..allocator import keep_freed_memory
from ..errors import EqdenoiseError, UsageError
from ..names import DEFAULT_TRANSFER_STEPS
from ..tasks.methods import DEFAULT_METHOD
from .options import (
    DenoiserOpt,
    Device,
    DeviceOpt,
    EtaOpt,
    GroupOpt,
    Method,
    MethodOpt,
    NoiseFrame,
    NoiseFrameOpt,
    OverwriteOpt,
    Precision,
    RunPrecisionOpt,
    SeedOpt,
    ShardOpt,
    SigmaOpt,
    SkipExistingOpt,
    StepsOpt,
    StrengthOpt,
    TileOpt,
    denoise_keywords,
    transfer_keywords,
)
from .render import exit_with, fail, out, progress_display, show_batch, sigma_detail, warn_if_slow

if TYPE_CHECKING:
    from rich.progress import Progress

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Exactly rotation- and mirror-equivariant image restoration with diffusion priors.")
train_app = typer.Typer(no_args_is_help=True, help="Train checkpoints on your own images.")
app.add_typer(train_app, name="train")


@app.command()
def denoise(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="INPUT", readable=False, help="Image files (PNG, JPEG or TIFF; gray or RGB, 8/16-bit or float; a TIFF "
                              "stack page by page), or folders: each folder's image files are processed.")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Output file (one input) or folder "
                                                   "(any number; made if missing). Default: NAME-denoised.EXT beside "
                                                   "each input file, FOLDER-denoised/NAME.EXT for a folder's "
                                                   "files.")] = None,
    model: DenoiserOpt = None,
    group: GroupOpt = None,
    method: MethodOpt = Method(DEFAULT_METHOD),
    sigma: SigmaOpt = None,
    strength: StrengthOpt = None,
    steps: StepsOpt = 1,
    eta: EtaOpt = 0.0,
    seed: SeedOpt = 0,
    tile: TileOpt = None,
    precision: RunPrecisionOpt = Precision.fp32,
    noise_frame: NoiseFrameOpt = NoiseFrame.canonical,
    device: DeviceOpt = Device.auto,
    overwrite: OverwriteOpt = False,
    skip_existing: SkipExistingOpt = False,
    shard: ShardOpt = None,
) -> None:
    """Denoise or restore images; rotating or mirroring an input rotates or mirrors its output exactly."""
    from ..api import denoise_batch

    try:
        options = denoise_keywords(sigma, strength, steps, eta, seed, method, group, tile, precision, noise_frame, device)
        batch = denoise_batch(inputs, output, model=model, overwrite=overwrite, skip_existing=skip_existing,
                              shard=shard, options=options)
    except EqdenoiseError as exc:
        exit_with(exc)
    show_batch(batch, sigma_detail)


@app.command()
def transfer(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="INPUT", readable=False, help="Source images: DICOM slices (needs the dicom extra), float TIFF in the source's "
                              "physical unit, or 8/16-bit PNG/TIFF already windowed as the model's source range; "
                              "or folders of them (.dcm files and images).")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Output file (one input) or folder "
                                                   "(any number; made if missing). Default: NAME-TARGET.EXT beside each "
                                                   "input file, e.g. slice-pet.dcm; FOLDER-TARGET/NAME.EXT for a "
                                                   "folder's files.")] = None,
    model: Annotated[str, typer.Option("--model", "-m", metavar="NAME|PATH", help="Shipped bridge name (see "
                                       "'eqdenoise models') or path to a bridge checkpoint.")] = "ct2pet-d4",
    group: GroupOpt = None,
    method: MethodOpt = Method(DEFAULT_METHOD),
    steps: Annotated[int, typer.Option(min=1, max=1000, help="Bridge sampler steps, 1–1000. 1 (the default) gives the "
                                       "network's one-pass estimate, the most faithful on average; more steps draw a "
                                       "sample with the target's noise texture.")] = DEFAULT_TRANSFER_STEPS,
    eta: Annotated[float, typer.Option(min=0.0, max=1.0, help="η in [0, 1]: 0 deterministic after the first "
                                       "step, 1 the bridge's ancestral sampler.")] = 0.0,
    seed: SeedOpt = 0,
    tile: TileOpt = None,
    precision: RunPrecisionOpt = Precision.fp32,
    noise_frame: NoiseFrameOpt = NoiseFrame.canonical,
    device: DeviceOpt = Device.auto,
    overwrite: OverwriteOpt = False,
    skip_existing: SkipExistingOpt = False,
    shard: ShardOpt = None,
) -> None:
    """Translate images between modalities (e.g. CT → PET); rotating or mirroring an input does the same to its output."""
    from ..api import transfer_batch

    try:
        options = transfer_keywords(steps, eta, seed, method, group, tile, precision, noise_frame, device)
        batch = transfer_batch(inputs, output, model=model, overwrite=overwrite, skip_existing=skip_existing,
                               shard=shard, options=options)
    except EqdenoiseError as exc:
        exit_with(exc)
    show_batch(batch)


class Task(str, Enum):
    denoise = "denoise"
    transfer = "transfer"


@app.command()
def verify(
    image_path: Annotated[Path, typer.Argument(metavar="INPUT", readable=False, help="The image to check on.")],
    task: Annotated[Task, typer.Option(help="Pipeline to check: denoise, or transfer (a bridge model).")] = Task.denoise,
    model: Annotated[Optional[str], typer.Option("--model", "-m", metavar="NAME|PATH", help="Shipped model name or "
                                                 "checkpoint path. Default: gray-d4 (rgb-d4-split for colour) for "
                                                 "denoise, ct2pet-d4 for transfer.")] = None,
    group: GroupOpt = None,
    method: MethodOpt = Method(DEFAULT_METHOD),
    sigma: SigmaOpt = None,
    strength: StrengthOpt = None,
    steps: Annotated[Optional[int], typer.Option(min=1, max=1000, help="Sampler steps, 1–1000. Default: 1 for "
                                                 f"denoise, {DEFAULT_TRANSFER_STEPS} for transfer.")] = None,
    eta: EtaOpt = 0.0,
    seed: SeedOpt = 0,
    tile: TileOpt = None,
    precision: RunPrecisionOpt = Precision.fp32,
    noise_frame: NoiseFrameOpt = NoiseFrame.canonical,
    device: DeviceOpt = Device.auto,
    tolerance: Annotated[Optional[float], typer.Option(
        min=0.0, help="Largest allowed |f(g·x) − g·f(x)| in the image's pixel levels (e.g. 0–255 for 8-bit). Default: "
        "what the method promises: 0 (bit-exact) for canon and fa, float rounding (10⁻⁵ of the range per "
        "sampler step) for a weight-tied network.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON instead of a table.")] = False,
) -> None:
    """Run the pipeline on every rotation/mirror of INPUT and show how far f(g·x) is from g·f(x)."""
    from rich.table import Table

    from ..api import verify as verify_image

    try:
        if task is Task.denoise:
            options = denoise_keywords(sigma, strength, steps or 1, eta, seed, method, group, tile, precision, noise_frame,
                               device)
        else:
            if sigma is not None or strength is not None:
                raise UsageError("--sigma and --strength apply to denoise, not to transfer")
            options = transfer_keywords(steps or DEFAULT_TRANSFER_STEPS, eta, seed, method, group, tile, precision,
                                        noise_frame, device)
        with progress_display() as bar:
            bar_task = bar.add_task("orientations", total=None)
            report = verify_image(image_path, task=task.value, model=model, tolerance=tolerance,
                                  progress=partial(_verify_progress, bar, bar_task), options=options)
    except EqdenoiseError as exc:
        named = isinstance(exc, UsageError) or str(exc).startswith(str(image_path))
        exit_with(exc, str(exc) if named else f"{image_path}: {exc}")
    if as_json:
        out.print_json(json.dumps({"input": str(image_path), **report.to_dict()}))
    else:
        table = Table(title=f"{image_path}: {report.method} on {report.group}, tolerance {report.tolerance:g}",
                      caption=f"tolerance: {report.reason}")
        table.add_column("g")
        table.add_column(f"max |f(g·x) − g·f(x)| ({report.unit})", justify="right")
        table.add_column("pixels differing after rounding", justify="right")
        table.add_column("")
        for r in report.elements:
            ok = r.max_abs_diff <= report.tolerance
            table.add_row(r.element.label, f"{r.max_abs_diff:.6g}", str(r.differing_pixels),
                          "[green]ok[/]" if ok else "[red]FAIL[/]")
        out.print(table)
        out.print("[green]equivariant within tolerance[/]" if report.passed else
                  "[bold red]NOT equivariant within tolerance[/]")
    if not report.passed:
        raise typer.Exit(1)


def _verify_progress(bar: Progress, task_id, done: int, total: int) -> None:
    """Advance verify's bar on a terminal; elsewhere one line per finished run on stderr."""
    bar.update(task_id, completed=done, total=total)
    if not out.is_terminal:
        sys.stderr.write(f"verify: {done} of {total} runs done\n")
        sys.stderr.flush()


@app.command()
def sample(
    model: Annotated[str, typer.Option("--model", "-m", metavar="NAME|PATH", help="Denoiser prior: shipped model "
                                       "name or checkpoint path.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the samples (made if missing): "
                                          "sample-SEED.png, 8-bit.")],
    n: Annotated[int, typer.Option("-n", min=1, max=100000, help="Number of samples; sample i uses seed SEED + i.")] = 1,
    size: Annotated[Optional[tuple[int, int]], typer.Option(
        metavar="H W", help="Sample size, multiples of the network's stride. Default: the model's training patch.")] = None,
    method: MethodOpt = Method(DEFAULT_METHOD),
    group: GroupOpt = None,
    steps: Annotated[int, typer.Option(min=1, max=1000, help="DDIM steps from pure noise, 1–1000.")] = 50,
    eta: EtaOpt = 0.0,
    seed: SeedOpt = 0,
    tile: TileOpt = None,
    precision: RunPrecisionOpt = Precision.fp32,
    noise_frame: NoiseFrameOpt = NoiseFrame.canonical,
    device: DeviceOpt = Device.auto,
    overwrite: Annotated[bool, typer.Option(help="Replace samples that already exist.")] = False,
) -> None:
    """Draw unconditional samples from a denoiser prior; turning the initial noise turns the sample."""
    from ..api import sample_files

    try:
        options = dict(method=method.value, group=group.value if group else None, steps=steps, eta=eta, seed=seed,
                       tile=tile, precision=precision.value, noise_frame=noise_frame.value, device=device.value)
        warn_if_slow(precision.value)
        with progress_display() as bar:
            task = bar.add_task("samples", total=n * steps)
            written = sample_files(model, out_dir, n=n, size=size, overwrite=overwrite,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total),
                                   **options)
    except EqdenoiseError as exc:
        exit_with(exc)
    out.print(f"wrote {len(written)} sample(s) to {out_dir}")


@app.command("models")
def list_models() -> None:
    """List the shipped models."""
    from rich.table import Table

    from ..api import shipped_models

    folder, entries = shipped_models()
    if not entries:
        out.print(f"no shipped models found in {folder}")
        return
    table = Table(title=f"shipped models ({folder})")
    table.add_column("name", no_wrap=True, min_width=max(len(e["name"]) for e in entries))
    for column in ("task", "group", "channels", "trained on", "quality"):
        table.add_column(column)
    for e in entries:
        table.add_row(e["name"], e["task"], e["group"], str(e["channels"]), e["trained_on"], e["quality"])
    out.print(table)


def _version(value: bool) -> None:
    if value:
        out.print(f"eqdenoise {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Show the version and exit.")] = False) -> None:
    """Exactly rotation- and mirror-equivariant image restoration with diffusion priors."""
    keep_freed_memory()
    signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (timeout, kill, systemd, Slurm) unwinds like Ctrl-C: temporary files are removed, exit 143."""
    fail("terminated; the file being written was not written, finished ones are kept")
    raise SystemExit(128 + signum)

from . import train  # noqa: E402,F401 - registers the train commands on train_app
