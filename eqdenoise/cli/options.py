"""The command line's options: choices (from the library's names) and option types shared by the commands."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ..names import DEVICES, GROUP_NAMES, MAX_SEED, NOISE_FRAMES, PRECISIONS
from ..tasks.methods import METHODS
from .render import warn_if_slow

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


def denoise_keywords(sigma: Optional[str], strength: Optional[float], steps: int, eta: float, seed: int,
             method: Method, group: Optional[GroupName], tile: Optional[int],
             precision: Precision = Precision.fp32, noise_frame: NoiseFrame = NoiseFrame.canonical,
             device: Device = Device.auto):
    """Parse CLI values into the API's denoise options, checked once (a ``DenoiseOptions``)."""
    from ..api import denoise_options

    if sigma is None or sigma == "auto":
        parsed: float | str | None = sigma
    else:
        try:
            parsed = float(sigma)
        except ValueError:
            raise UsageError(f"--sigma must be a number or 'auto', got {sigma!r}") from None
    options = denoise_options(sigma=parsed, strength=strength, steps=steps, eta=eta, seed=seed, method=method.value,
                              group=group.value if group else None, tile=tile, precision=precision.value,
                              noise_frame=noise_frame.value, device=device.value)
    warn_if_slow(precision.value)
    return options


def transfer_keywords(steps: int, eta: float, seed: int, method: Method, group: Optional[GroupName],
                      tile: Optional[int], precision: Precision = Precision.fp32,
                      noise_frame: NoiseFrame = NoiseFrame.canonical, device: Device = Device.auto):
    """Parse CLI values into the API's transfer options, checked once (a ``TransferOptions``)."""
    from ..api import transfer_options

    options = transfer_options(steps=steps, eta=eta, seed=seed, method=method.value,
                               group=group.value if group else None, tile=tile, precision=precision.value,
                               noise_frame=noise_frame.value, device=device.value)
    warn_if_slow(precision.value)
    return options


OverwriteOpt = Annotated[bool, typer.Option(help="Replace outputs that already exist (never an input).")]
ShardOpt = Annotated[Optional[str], typer.Option(metavar="K/N", help="Process only shard K of N (1-based): file i of "
                                                "the batch goes to shard i mod N, so N processes (e.g. a Slurm array) "
                                                "share a batch without overlap. Under torchrun: RANK+1/WORLD_SIZE.")]
SkipExistingOpt = Annotated[bool, typer.Option(help="Leave outputs that already exist as they are and count them as "
                                               "skipped: a rerun after an interruption does only the rest.")]


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
