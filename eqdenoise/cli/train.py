"""The ``train`` commands: the options typed go to ``eqdenoise.api``'s training, which resolves the run once."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import EqdenoiseError
from ..training.train_options import BRIDGE_DEFAULTS as BRIDGE
from ..training.train_options import DENOISER_DEFAULTS as DENOISER
from . import train_app
from .options import (
    NOT_OPTIONS,
    AttentionOpt,
    BlocksOpt,
    ChromaWidthOpt,
    EmaOpt,
    FreezeLumaOpt,
    GroupName,
    InitOpt,
    LrOpt,
    LumaInitOpt,
    MinutesOpt,
    NetworkOpt,
    OverrideOpt,
    Precision,
    PrecisionOpt,
    RegOpt,
    ResumeOpt,
    SaveEveryOpt,
    StateOpt,
    StopAtOpt,
    TrainGroupOpt,
    TrainOutOpt,
    TrainOverwriteOpt,
    TrainSeedOpt,
    WidthOpt,
)
from .render import exit_with, out, progress_display, warn_if_slow


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
    from ..training.distributed import exit_worker_now

    settings = training.settings
    warn_if_slow(settings.precision)
    try:
        with progress_display() as bar:
            task = bar.add_task("training", total=settings.steps)
            record = training.run(lambda step, total, loss: bar.update(task, completed=step, total=total,
                                                                      description=f"training (loss {loss:.4f})"))
    except EqdenoiseError as exc:
        exit_with(exc)
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
    from ..api import denoiser_training

    try:
        training = denoiser_training(data, out_path, resume=resume, override=override, overwrite=overwrite, state=state,
                                     minutes=minutes, stop_at=stop_at, **_typed_options(ctx))
    except EqdenoiseError as exc:
        exit_with(exc)
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
    from ..api import bridge_training

    try:
        training = bridge_training(source, target, out_path, resume=resume, override=override, overwrite=overwrite,
                                   state=state, minutes=minutes, stop_at=stop_at, **_typed_options(ctx))
    except EqdenoiseError as exc:
        exit_with(exc)
    _train(training)
