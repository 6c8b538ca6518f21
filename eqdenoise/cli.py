"""Command-line interface: thin Typer commands that render what the library returns."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from enum import Enum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer
from rich.console import Console

from . import __version__
from .allocator import keep_freed_memory
from .errors import EqdenoiseError, UsageError
from .methods import METHODS
from .names import DEFAULT_TRANSFER_STEPS, DEVICES, GROUP_NAMES, MAX_SEED, NOISE_FRAMES, PRECISIONS
from .train_options import BRIDGE_DEFAULTS as BRIDGE
from .train_options import DENOISER_DEFAULTS as DENOISER

if TYPE_CHECKING:
    from rich.progress import Progress

    from .api import FileBatch
    from .batch import FileOutcome

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Exactly rotation- and mirror-equivariant image restoration with diffusion priors.")
train_app = typer.Typer(no_args_is_help=True, help="Train checkpoints on your own images.")
app.add_typer(train_app, name="train")
out = Console(highlight=False, soft_wrap=True)


Method = Enum("Method", {name: name for name in METHODS}, type=str)
NoiseFrame = Enum("NoiseFrame", {name: name for name in NOISE_FRAMES}, type=str)
GroupName = Enum("GroupName", {name: name for name in GROUP_NAMES}, type=str)
Precision = Enum("Precision", {name: name for name in PRECISIONS}, type=str)
Device = Enum("Device", {name: name for name in DEVICES}, type=str)


ModelOpt = Annotated[str, typer.Option("--model", "-m", metavar="NAME|PATH", help="Shipped model name (see 'eqdenoise models') "
                                       "or path to a .safetensors checkpoint.")]
DenoiserOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", metavar="NAME|PATH", help="Shipped model name (see 'eqdenoise models') or path to a .safetensors "
    "checkpoint. Default: gray-d4 for gray images, rgb-d4-split for colour ones (rgb-d4-opponent: about 1.3 times "
    "its time, 0.02 dB higher). A gray model denoises a colour image through its opponent channels (gray-d4: "
    "FFDNet colour's quality at 9 times its time).")]
GroupOpt = Annotated[Optional[GroupName], typer.Option(
    help="Symmetry group to be equivariant to: trivial, flip (mirror), c4 (rotations), d4 (rotations "
         "and mirrors). Default: the group the model was trained for; only its subgroups are allowed.")]
MethodOpt = Annotated[Method, typer.Option(help="; ".join(f"{m.name}: {m.help}" for m in METHODS.values()) + ".")]
NoiseFrameOpt = Annotated[NoiseFrame, typer.Option(
    help="Where the sampler's noise is drawn: canonical (SPDM's equivariant noise sequence: turning the input turns "
         "the noise, for every method, none included) or input (the input's own orientation, an ablation: not "
         "equivariant once noise is drawn, i.e. with --eta > 0, --strength or a bridge of more than one step).")]
SigmaOpt = Annotated[Optional[str], typer.Option(
    metavar="N|auto", help="Gaussian noise level of the input on the 0–255 scale, in (0, 255], or 'auto' to estimate it. "
         "Default: auto, unless --strength is given.")]
StrengthOpt = Annotated[Optional[float], typer.Option(
    help="SDEdit strength in (0, 1] for corruptions other than Gaussian noise (blur, low resolution): "
         "how far into the diffusion to noise the input before restoring. Excludes --sigma.")]
StepsOpt = Annotated[int, typer.Option(min=1, max=1000, help="Sampler steps, 1–1000. 1 gives the "
                                       "MMSE (Tweedie) estimate; more give sharper, more sampled detail.")]
EtaOpt = Annotated[float, typer.Option(min=0.0, max=1.0, help="DDIM η in [0, 1]: 0 deterministic, 1 ancestral.")]
TileOpt = Annotated[Optional[int], typer.Option(
    min=0, help="Run the network on overlapping tiles of this side (≥ 64) to bound memory; 0 never tiles. "
                "Default: 512-pixel tiles for images above one megapixel. Tiling happens in the canonical "
                "frame, so results stay exactly equivariant.")]
SeedOpt = Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed of every random draw, 0 to 2⁶³ − 1; the same seed "
                                       "gives the same output bit for bit.")]
RunPrecisionOpt = Annotated[Precision, typer.Option(
    help="Arithmetic of the network. bf16: bfloat16, about 3x faster on CPUs with AMX or AVX512-BF16 and several "
    "times slower elsewhere (a warning says so), within a few thousandths of a dB; canon and fa stay exactly "
    "equivariant.")]

DeviceOpt = Annotated[Device, typer.Option(
    help="Where the network runs: auto (a CUDA GPU, else Apple MPS, else the CPU), cpu, cuda or mps. Frames and "
    "sampler arithmetic stay on the CPU, so canon is bit-exact on any device.")]


def _options(sigma: Optional[str], strength: Optional[float], steps: int, eta: float, seed: int,
             method: Method, group: Optional[GroupName], tile: Optional[int],
             precision: Precision = Precision.fp32, noise_frame: NoiseFrame = NoiseFrame.canonical,
             device: Device = Device.auto) -> dict:
    """Parse CLI values into the API's checked denoise options (a keyword dict)."""
    from .api import denoise_options

    if sigma is None or sigma == "auto":
        parsed: float | str | None = sigma
    else:
        try:
            parsed = float(sigma)
        except ValueError:
            raise UsageError(f"--sigma must be a number or 'auto', got {sigma!r}") from None
    options = dict(sigma=parsed, strength=strength, steps=steps, eta=eta, seed=seed, method=method.value,
                   group=group.value if group else None, tile=tile, precision=precision.value,
                   noise_frame=noise_frame.value, device=device.value)
    denoise_options(**options)
    _warn_if_slow(precision.value)
    return options


def _transfer_options(steps: int, eta: float, seed: int, method: Method, group: Optional[GroupName],
                      tile: Optional[int], precision: Precision = Precision.fp32,
                      noise_frame: NoiseFrame = NoiseFrame.canonical, device: Device = Device.auto) -> dict:
    """Parse CLI values into the API's checked transfer options (a keyword dict)."""
    from .api import transfer_options

    options = dict(steps=steps, eta=eta, seed=seed, method=method.value, group=group.value if group else None,
                   tile=tile, precision=precision.value, noise_frame=noise_frame.value, device=device.value)
    transfer_options(**options)
    _warn_if_slow(precision.value)
    return options


def _warn_if_slow(precision: str) -> None:
    """One warning line when bf16 is asked for on a CPU that has no bfloat16 instructions."""
    from .api import slow_precision

    if slow_precision(precision):
        sys.stderr.write("warning: this CPU has no bfloat16 instructions (AMX or AVX512-BF16), so --precision bf16 "
                         "runs several times slower than fp32 here\n")


def _progress() -> Progress:
    """A transient progress display on the terminal (off when output is not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=out, transient=True, disable=not out.is_terminal)


OverwriteOpt = Annotated[bool, typer.Option(help="Replace outputs that already exist (never an input).")]
ShardOpt = Annotated[Optional[str], typer.Option(metavar="K/N", help="Process only shard K of N (1-based): file i of "
                                                "the batch goes to shard i mod N, so N processes (e.g. a Slurm array) "
                                                "share a batch without overlap. Under torchrun: RANK+1/WORLD_SIZE.")]
SkipExistingOpt = Annotated[bool, typer.Option(help="Leave outputs that already exist as they are and count them as "
                                               "skipped: a rerun after an interruption does only the rest.")]


def _run_batch(batch: FileBatch, detail: Callable[[object], str] = lambda result: "") -> None:
    """Run a batch with a progress bar (files, and the steps of the file in work), a line per file and the closing
    summary; exit 1 if any failed."""
    with _progress() as bar:
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
                _fail(outcome.message)
            else:
                shown = " skipped (exists)" if outcome.status == "skipped" else detail(outcome.result)
                out.print(f"{outcome.source} → {outcome.target}{shown}")
            bar.advance(files)

        summary = batch.run(on_file=render, progress=steps)
    _summarise(summary)


def _summarise(summary) -> None:
    """The closing line of a batch or shard (done, skipped, failed, and which failed; none for a single file); exit
    1 if any failed."""
    if summary.total == 1 and summary.shard[1] == 1:
        if summary.failed:
            raise typer.Exit(1)
        return
    line = ((f"shard {summary.shard[0]}/{summary.shard[1]}: " if summary.shard[1] > 1 else "")
            + f"{summary.done} done, {summary.skipped} skipped, {len(summary.failed)} failed")
    if summary.failed:
        _fail(f"{line}: {', '.join(str(path) for path in summary.failed)}")
        raise typer.Exit(1)
    out.print(line)


def _exit_with(exc: EqdenoiseError, message: str | None = None) -> NoReturn:
    """One error line, then exit 2 for a usage error (a bad option value or combination), 1 for anything else."""
    _fail(message or str(exc))
    raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None


def _fail(message: str) -> None:
    """One error line on stderr (through sys.stderr, so it lands above a live progress display)."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def _sigma_detail(sigmas: list[float | None]) -> str:
    """The noise level(s) used, for the line printed per file; the range over the pages of a stack."""
    if sigmas[0] is None:
        return ""
    pages = f"{len(sigmas)} pages, " if len(sigmas) > 1 else ""
    low, high = min(sigmas), max(sigmas)
    return f" ({pages}σ = {low:.1f})" if f"{low:.1f}" == f"{high:.1f}" else f" ({pages}σ = {low:.1f}–{high:.1f})"


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
    method: MethodOpt = Method.canon,
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
    from .api import denoise_batch

    try:
        options = _options(sigma, strength, steps, eta, seed, method, group, tile, precision, noise_frame, device)
        batch = denoise_batch(inputs, output, model=model, overwrite=overwrite, skip_existing=skip_existing,
                              shard=shard, **options)
    except EqdenoiseError as exc:
        _exit_with(exc)
    _run_batch(batch, _sigma_detail)


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
    method: MethodOpt = Method.canon,
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
    from .api import transfer_batch

    try:
        options = _transfer_options(steps, eta, seed, method, group, tile, precision, noise_frame, device)
        batch = transfer_batch(inputs, output, model=model, overwrite=overwrite, skip_existing=skip_existing,
                               shard=shard, **options)
    except EqdenoiseError as exc:
        _exit_with(exc)
    _run_batch(batch)


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
    method: MethodOpt = Method.canon,
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

    from .api import verify as verify_image

    try:
        if task is Task.denoise:
            options = _options(sigma, strength, steps or 1, eta, seed, method, group, tile, precision, noise_frame,
                               device)
        else:
            if sigma is not None or strength is not None:
                raise UsageError("--sigma and --strength apply to denoise, not to transfer")
            options = _transfer_options(steps or DEFAULT_TRANSFER_STEPS, eta, seed, method, group, tile, precision,
                                        noise_frame, device)
        with _progress() as bar:
            bar_task = bar.add_task("orientations", total=None)
            report = verify_image(image_path, task=task.value, model=model, tolerance=tolerance,
                                  progress=partial(_verify_progress, bar, bar_task), **options)
    except EqdenoiseError as exc:
        named = isinstance(exc, UsageError) or str(exc).startswith(str(image_path))
        _exit_with(exc, str(exc) if named else f"{image_path}: {exc}")
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
    method: MethodOpt = Method.canon,
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
    from .api import sample_files

    try:
        options = dict(method=method.value, group=group.value if group else None, steps=steps, eta=eta, seed=seed,
                       tile=tile, precision=precision.value, noise_frame=noise_frame.value, device=device.value)
        _warn_if_slow(precision.value)
        with _progress() as bar:
            task = bar.add_task("samples", total=n * steps)
            written = sample_files(model, out_dir, n=n, size=size, overwrite=overwrite,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total),
                                   **options)
    except EqdenoiseError as exc:
        _exit_with(exc)
    out.print(f"wrote {len(written)} sample(s) to {out_dir}")


@app.command("models")
def list_models() -> None:
    """List the shipped models."""
    from rich.table import Table

    from .api import shipped_models

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


TrainOutOpt = Annotated[Path, typer.Option("--out", "-o", help="Checkpoint to write (EMA weights); the "
                                           "resumable state goes beside it as NAME.state.safetensors.")]
TrainGroupOpt = Annotated[GroupName, typer.Option(help="Group used for augmentation and recorded in the checkpoint.")]
WidthOpt = Annotated[Optional[int], typer.Option(
    min=1, help="Base channel width of the U-Net (fields of |G| channels each for --network wt); default: the --init "
    "checkpoint's, else 32. With --init, may exceed the checkpoint's: every level widens by the same factor and the "
    "added channels start cut off from the old ones, so training goes on from the same function.")]
BlocksOpt = Annotated[Optional[int], typer.Option(min=1, max=8, help="Residual blocks per U-Net level; default: the "
                                                  "--init checkpoint's, else 1. With --init, may exceed the checkpoint's: "
                                                  "the added blocks start as the identity, so training goes on from the "
                                                  "same function with a deeper network.")]
AttentionOpt = Annotated[Optional[int], typer.Option(
    min=0, metavar="WINDOW", help="Self-attention within windows of WINDOW×WINDOW positions of the deepest level "
    "(4·WINDOW pixels a side) between the middle blocks; 0 for none. Default: the --init checkpoint's, else none. "
    "With --init, a network without it gains it as the identity, so training goes on from the same function.")]
LrOpt = Annotated[float, typer.Option(help="Peak learning rate of AdamW.")]
TrainSeedOpt = Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed of all random draws.")]
SaveEveryOpt = Annotated[int, typer.Option(min=1, help="Write checkpoint and state every N steps.")]
MinutesOpt = Annotated[Optional[float], typer.Option(help="Stop (after saving) once this many minutes have passed.")]
StopAtOpt = Annotated[Optional[int], typer.Option(min=1, help="Stop (after saving) at this step, before the end of "
                                                 "the cosine schedule; --resume continues it.")]
PrecisionOpt = Annotated[Precision, typer.Option(
    help="Arithmetic of the training passes. bf16: bfloat16 autocast with channels-last tensors, about 3x faster on "
    "CPUs with AMX or AVX512-BF16 and several times slower elsewhere (a warning says so); weights, optimizer, EMA "
    "and the checkpoint stay fp32.")]
ResumeOpt = Annotated[bool, typer.Option(help="Continue from the saved training state with the saved run's settings; "
                                         "options typed again must match them (see --override).")]
StateOpt = Annotated[Optional[Path], typer.Option(help="Resumable training state file. "
                                                  "Default: NAME.state.safetensors beside --out.")]


RegOpt = Annotated[float, typer.Option(
    min=0.0, metavar="LAMBDA", help="SPDM+Reg: add LAMBDA·|f(x) − g⁻¹·f_EMA(g·x)|² for one random element g of --group "
    "per batch (the paper's eq. 15–17), which pulls any network towards equivariance; costs one more forward pass "
    "of the EMA network per step. 0: off.")]
NetworkOpt = Annotated[Optional[str], typer.Option(
    metavar="unet|wt|opponent|opponent-guided|opponent-split", help="unet: a plain U-Net (made equivariant at run "
    "time by canon or fa); wt: a U-Net of weight-tied group convolutions, equivariant by construction to --group (c4 "
    "or d4; SPDM+WT), whose --width counts fields of |G| channels each; opponent (--channels 3): one gray U-Net run on "
    "the three opponent channels of a colour image (mean and two colour differences); opponent-guided: the same, each "
    "channel also seeing the mean. --init with a gray model of the same shape starts either from that model (the "
    "guided one with small random weights from the mean). opponent-split: a gray U-Net of --width for the mean and "
    "one of --chroma-width, seeing the mean, for the two colour differences. "
    "Default: the --init checkpoint's, else unet.")]
ChromaWidthOpt = Annotated[Optional[int], typer.Option(
    min=1, help="--network opponent-split: base width of the colour-difference network. Default: that of an "
    "opponent --init checkpoint (its colour-difference network's, or its one network's), else --width. It starts from "
    "--init's when that holds a guided network of this shape, else fresh.")]
LumaInitOpt = Annotated[Optional[Path], typer.Option(
    help="--network opponent-split: start the mean-channel network from this gray model (or opponent model's mean "
    "network), grown to --width if that is wider. Default: from --init.")]
FreezeLumaOpt = Annotated[bool, typer.Option(
    "--freeze-luma", help="--network opponent-split: train the colour-difference network only; the mean-channel "
    "network keeps its starting weights (and costs no backward pass).")]
InitOpt = Annotated[Optional[Path], typer.Option(
    help="Start from this checkpoint's weights (same task and architecture, or a smaller --width or --blocks) with a "
    "fresh optimizer, e.g. to train a shipped model further.")]
EmaOpt = Annotated[float, typer.Option(min=0.0, max=0.99999, help="EMA decay of the shipped weights (bias-corrected); "
                                       "0 ships the raw weights at the end of the cosine decay. Resuming a finished "
                                       "run with another value rewrites the checkpoint.")]


OverrideOpt = Annotated[bool, typer.Option(help="With --resume: let the settings given replace the saved run's "
                                           "(each replacement is recorded in the checkpoint). Without it, a setting "
                                           "that differs from the saved one is an error.")]
NOT_OPTIONS = ("data", "source", "target", "out_path", "minutes", "stop_at", "resume", "state", "override", "overwrite")
TrainOverwriteOpt = Annotated[bool, typer.Option(
    help="Start over even if the checkpoint, its state or its log exists (they are replaced). Without it, an existing "
    "one is an error unless --resume continues its run.")]


def _typed_options(ctx: typer.Context) -> dict[str, object]:
    """The training options typed on the command line, as the API takes them; the others stay at its defaults."""
    typed = {}
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        if name not in NOT_OPTIONS and source is not None and source.name == "COMMANDLINE":
            typed[name] = value.value if isinstance(value, Enum) else value
    return typed


def _train(training) -> None:
    """Run a resolved training with a progress bar; report where the checkpoint went."""
    from .distributed import exit_worker_now

    settings = training.settings
    _warn_if_slow(settings.precision)
    try:
        with _progress() as bar:
            task = bar.add_task("training", total=settings.steps)
            record = training.run(lambda step, total, loss: bar.update(task, completed=step, total=total,
                                                                      description=f"training (loss {loss:.4f})"))
    except EqdenoiseError as exc:
        _exit_with(exc)
    if os.environ.get("RANK", "0") == "0":
        out.print(f"wrote {settings.out} after {record['steps_done']} steps ({record['wall_seconds'] / 60:.1f} min)")
    exit_worker_now()


@train_app.command("denoiser")
def train_denoiser_command(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(metavar="FOLDER", help="Folder of training images (PNG, JPEG, TIFF).")],
    out_path: TrainOutOpt,
    group: TrainGroupOpt = GroupName(DENOISER["group"]),
    channels: Annotated[int, typer.Option(min=1, max=3, help="1 for gray models, 3 for RGB.")] = DENOISER["channels"],
    network: NetworkOpt = DENOISER["network"],
    width: WidthOpt = DENOISER["width"],
    chroma_width: ChromaWidthOpt = DENOISER["chroma_width"],
    luma_init: LumaInitOpt = DENOISER["luma_init"],
    freeze_luma: FreezeLumaOpt = DENOISER["freeze_luma"],
    blocks: BlocksOpt = DENOISER["blocks"],
    attention: AttentionOpt = DENOISER["attention"],
    level: Annotated[Optional[list[int]], typer.Option(
        min=1, max=16, help="Width multiplier of one U-Net level, from the top; repeat it per level, e.g. --level 1 "
        "--level 2 --level 4 (the default, or the --init checkpoint's). Each level halves the resolution.")] = DENOISER["level"],
    unshuffle: Annotated[Optional[int], typer.Option(
        min=1, max=4, help="Run the U-Net on the R×R sub-images of the input (pixel unshuffle, as FFDNet does): "
        "R² times less arithmetic per level for the same widths. Default: the --init checkpoint's, else 1.")] = (
        DENOISER["unshuffle"]),
    steps: Annotated[int, typer.Option(min=1, help="Total optimizer steps (the cosine schedule spans them).")] = (
        DENOISER["steps"]),
    batch: Annotated[int, typer.Option(min=1, help="Patches per step.")] = DENOISER["batch"],
    patch: Annotated[int, typer.Option(min=8, help="Patch side in pixels (a multiple of 4).")] = DENOISER["patch"],
    scale: Annotated[Optional[list[float]], typer.Option(
        help="Train on the images resized by this factor (antialiased bicubic); repeat it for several copies, "
        "e.g. DnCNN's Train400 protocol --scale 1 --scale 0.9 --scale 0.8 --scale 0.7. Default: 1 only.")] = DENOISER["scale"],
    lr: LrOpt = DENOISER["lr"],
    warmup: Annotated[int, typer.Option(min=0, help="Linear warm-up steps before the cosine decay.")] = DENOISER["warmup"],
    ema: EmaOpt = DENOISER["ema"],
    sigma_range: Annotated[tuple[float, float], typer.Option(
        metavar="LOW HIGH", help="Restoration noise levels (0–255 scale), drawn log-uniformly.")] = DENOISER["sigma_range"],
    restoration_fraction: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of samples drawn from --sigma-range; the rest span the whole schedule "
        "(needed for --strength and few-step sampling).")] = DENOISER["restoration_fraction"],
    sigma_weight: Annotated[float, typer.Option(
        min=0.0, max=3.0, help="Weight each sample's ε-loss by (σ / σ_mid)^P, σ clamped to --sigma-range and "
        "σ_mid its geometric middle: 0 is plain ε-prediction, 1 weights the levels of the range about "
        "equally in dB (more weight on high noise).")] = DENOISER["sigma_weight"],
    init: InitOpt = DENOISER["init"],
    teacher: Annotated[Optional[Path], typer.Option(
        help="Distil from this denoiser checkpoint (same channels, or gray for a colour model: it then denoises the "
        "three opponent channels, as CBM3D does): its ε prediction on each fresh noise draw becomes part of the "
        "target, see --teacher-weight. Costs one forward pass of the teacher per step (three for a gray teacher of "
        "a colour model, in one batch).")] = DENOISER["teacher"],
    teacher_weight: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of the teacher's prediction in the target, (1 − W)·ε + W·ε_teacher; "
        "1 is pure distillation.")] = DENOISER["teacher_weight"],
    teacher_fa: Annotated[bool, typer.Option(
        "--teacher-fa", help="Turn each batch by a random element of --group before the teacher sees it and turn its "
        "prediction back: the target's mean is the teacher averaged over the group (its --method fa), at the cost "
        "of one teacher pass.")] = DENOISER["teacher_fa"],
    reg: RegOpt = DENOISER["reg"],
    seed: TrainSeedOpt = DENOISER["seed"],
    save_every: SaveEveryOpt = DENOISER["save_every"],
    minutes: MinutesOpt = None,
    stop_at: StopAtOpt = None,
    precision: PrecisionOpt = Precision(DENOISER["precision"]),
    resume: ResumeOpt = False,
    override: OverrideOpt = False,
    overwrite: TrainOverwriteOpt = False,
    state: StateOpt = None,
) -> None:
    """Train a noise-conditional denoiser with group augmentation, EMA and resumable checkpoints."""
    from .api import denoiser_training

    try:
        training = denoiser_training(data, out_path, resume=resume, override=override, overwrite=overwrite, state=state,
                                     minutes=minutes, stop_at=stop_at, **_typed_options(ctx))
    except EqdenoiseError as exc:
        _exit_with(exc)
    _train(training)


@train_app.command("bridge")
def train_bridge_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Option(help="Folder of source images (e.g. CT): DICOM, PNG, TIFF.")],
    target: Annotated[Path, typer.Option(help="Folder of target images (e.g. PET), matched to the sources "
                                         "by file name without extension.")],
    out_path: TrainOutOpt,
    source_window: Annotated[Optional[tuple[float, float]], typer.Option(
        metavar="LOW HIGH", help="Physical range of the sources mapped onto the model's range, e.g. -1000 1000 "
        "for CT in HU. Needed for DICOM and float TIFF; 8/16-bit images are taken as already windowed.")] = (
        BRIDGE["source_window"]),
    target_window: Annotated[Optional[tuple[float, float]], typer.Option(
        metavar="LOW HIGH", help="Physical range of the targets, as for --source-window.")] = BRIDGE["target_window"],
    source_unit: Annotated[str, typer.Option(help="Name of the sources' unit, stored in the checkpoint.")] = (
        BRIDGE["source_unit"]),
    target_unit: Annotated[str, typer.Option(help="Name of the targets' unit, stored in the checkpoint.")] = (
        BRIDGE["target_unit"]),
    source_modality: Annotated[str, typer.Option(help="Source modality name, e.g. CT.")] = BRIDGE["source_modality"],
    target_modality: Annotated[str, typer.Option(help="Target modality name, e.g. PET; names the outputs.")] = (
        BRIDGE["target_modality"]),
    group: TrainGroupOpt = GroupName(BRIDGE["group"]),
    network: NetworkOpt = BRIDGE["network"],
    width: WidthOpt = BRIDGE["width"],
    blocks: BlocksOpt = BRIDGE["blocks"],
    attention: AttentionOpt = BRIDGE["attention"],
    steps: Annotated[int, typer.Option(min=1, help="Total optimizer steps (the cosine schedule spans them).")] = BRIDGE["steps"],
    batch: Annotated[int, typer.Option(min=1, help="Patch pairs per step.")] = BRIDGE["batch"],
    patch: Annotated[int, typer.Option(min=8, help="Patch side in pixels (a multiple of 4).")] = BRIDGE["patch"],
    lr: LrOpt = BRIDGE["lr"],
    ema: EmaOpt = BRIDGE["ema"],
    beta: Annotated[float, typer.Option(min=0.0, help="Bridge noise β: the state's noise std peaks at √β/2 at t = ½.")] = (
        BRIDGE["beta"]),
    regression: Annotated[bool, typer.Option(help="Train only at t = 1: a one-pass regression network "
                                             "(the baseline the bridge is compared against).")] = BRIDGE["regression"],
    init: InitOpt = BRIDGE["init"],
    reg: RegOpt = BRIDGE["reg"],
    seed: TrainSeedOpt = BRIDGE["seed"],
    save_every: SaveEveryOpt = BRIDGE["save_every"],
    minutes: MinutesOpt = None,
    stop_at: StopAtOpt = None,
    precision: PrecisionOpt = Precision(BRIDGE["precision"]),
    resume: ResumeOpt = False,
    override: OverrideOpt = False,
    overwrite: TrainOverwriteOpt = False,
    state: StateOpt = None,
) -> None:
    """Train a diffusion bridge from source to target images on pairs matched by file name."""
    from .api import bridge_training

    try:
        training = bridge_training(source, target, out_path, resume=resume, override=override, overwrite=overwrite,
                                   state=state, minutes=minutes, stop_at=stop_at, **_typed_options(ctx))
    except EqdenoiseError as exc:
        _exit_with(exc)
    _train(training)


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
    _fail("terminated; the file being written was not written, finished ones are kept")
    raise SystemExit(128 + signum)
