"""Training a denoiser on a folder of images, or a bridge on paired folders, with group augmentation and EMA.

Recipe: random square patches, a random element of the training group applied to each (to both
images of a pair alike), AdamW with warm-up and cosine decay, EMA weights saved as the shippable
checkpoint. Denoisers: noise level drawn mostly from the restoration range and otherwise from the
whole schedule, ε-prediction MSE. Bridges: t uniform in [0, 1] (or t = 1 only for the one-pass
regression baseline), x0-prediction MSE. A resumable training state (weights, EMA, optimizer
moments, RNG) is saved beside the checkpoint; nothing is pickled.
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open

from .. import __version__
from ..diffusion.bridge_schedule import BrownianBridge
from ..diffusion.schedule import CosineSchedule
from ..errors import EqdenoiseError, UsageError, first_line
from ..files.imageio import image_files, read_image
from ..files.scans import ValueRange, paired_files, read_scan, to_unit
from ..frames.groups import get_group
from ..nets.checkpoint import (
    OPPONENT_NAMES,
    SPLIT_NAME,
    WT_NAME,
    atomic_save,
    build_network,
    load_model,
    make_config,
    read_config,
    save_model,
)
from ..nets.grow import can_grow, grown_weights
from ..nets.opponent import OpponentDenoiser, luma_weights, opponent_weights
from ..nets.precision import check_precision, for_inference, for_training, run, training_layout
from ..nets.unet import UNet
from ..tasks.pipeline import check_unit_range
from .distributed import any_rank, data_parallel, is_writer, mean_over_ranks, my_rows, process_group, rank_and_world
from .train_bounds import check_settings, check_training_values
from .train_files import check_training_outputs, log_path, state_path

ProgressFn = Callable[[int, int, float], None]
NETWORK_NAMES = {name.removesuffix("-unet"): name for name in OPPONENT_NAMES}


@dataclass
class TrainSettings:
    """Everything that defines a training run; stored in the checkpoint's training record."""

    data: str
    out: str
    group: str = "d4"
    channels: int = 1
    base: int | None = None
    mults: tuple[int, ...] | None = None
    blocks: int | None = None
    attention: int | None = None
    unshuffle: int | None = None
    network: str | None = None
    chroma_base: int | None = None
    luma_init: str | None = None
    freeze_luma: bool = False
    steps: int = 20000
    batch: int = 16
    patch: int = 48
    scales: tuple[float, ...] = (1.0,)
    lr: float = 5e-4
    warmup: int = 500
    ema: float = 0.999
    seed: int = 0
    save_every: int = 500
    sigma_min_255: float = 1.0
    sigma_max_255: float = 100.0
    restoration_fraction: float = 0.8
    sigma_weight: float = 0.0
    task: str = "denoise"
    target: str | None = None
    source_range: dict | None = None
    target_range: dict | None = None
    modalities: dict | None = None
    beta: float = 1.0
    regression: bool = False
    init: str | None = None
    teacher: str | None = None
    teacher_weight: float = 0.0
    teacher_fa: bool = False
    reg: float = 0.0
    precision: str = "fp32"
    extra: dict = field(default_factory=dict)

    def architecture(self) -> dict:
        """The network's architecture config: a plain U-Net, a weight-tied one for ``network == "wt"``, or a gray
        U-Net on the opponent channels for ``opponent`` and ``opponent-guided`` (two for ``opponent-split``)."""
        architecture = {"name": "unet", "channels": self.channels, "base": self.base, "mults": list(self.mults),
                        "blocks": self.blocks, "emb_dim": 128}
        if self.task == "bridge":
            architecture["in_channels"] = 2 * self.channels
        if self.network == "wt":
            return {**architecture, "name": WT_NAME, "group": self.group}
        if self.attention:
            architecture["attention"] = self.attention
        if self.unshuffle and self.unshuffle > 1:
            architecture["unshuffle"] = self.unshuffle
        if self.network in NETWORK_NAMES:
            architecture["name"] = NETWORK_NAMES[self.network]
        if self.network == "opponent-split":
            architecture["chroma_base"] = self.chroma_base
        return architecture


def load_training_images(folder: Path, channels: int, patch: int,
                         scales: tuple[float, ...] = (1.0,)) -> list[torch.Tensor]:
    """All images of a folder, one copy per scale factor, as [-1, 1] tensors (C, H, W); colour becomes luma for gray."""
    files = image_files(folder) if Path(folder).is_dir() else []
    if not files:
        raise EqdenoiseError(f"{folder}: no PNG, JPEG or TIFF images found to train on")
    images, total = [], 0
    for path in files:
        pixels = read_image(path).pixels
        check_unit_range(torch.from_numpy(pixels), 0.0, path)
        if channels == 1 and pixels.shape[0] == 3:
            pixels = np.tensordot(np.array([0.299, 0.587, 0.114], dtype=np.float32), pixels, axes=1)[None]
        elif channels == 3 and pixels.shape[0] == 1:
            pixels = np.repeat(pixels, 3, axis=0)
        for scale in scales:
            total += channels * round(pixels.shape[1] * scale) * round(pixels.shape[2] * scale)
            check_training_values(total, path, scale)
            copy = rescaled(pixels, scale)
            if min(copy.shape[1:]) < patch:
                raise EqdenoiseError(f"{path}: {copy.shape[2]}×{copy.shape[1]} at scale {scale:g} is smaller than "
                                     f"the {patch}-pixel training patch")
            images.append(torch.from_numpy(copy * 2.0 - 1.0))
    return images


def rescaled(pixels: np.ndarray, scale: float) -> np.ndarray:
    """``pixels`` (C, H, W) resized by ``scale`` (Pillow's antialiased bicubic, clipped to [0, 1]), as DnCNN's protocol."""
    if scale == 1.0:
        return pixels
    height, width = pixels.shape[1:]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    planes = [np.asarray(Image.fromarray(plane).resize(size, Image.Resampling.BICUBIC)) for plane in pixels]
    return np.clip(np.stack(planes), 0.0, 1.0).astype(np.float32)


def load_training_pairs(settings: TrainSettings) -> list[torch.Tensor]:
    """Matched source/target files as [-1, 1] tensors (2C, H, W): source channels first, then target."""
    if settings.channels != 1:
        raise EqdenoiseError("bridges are trained on gray (single-channel) pairs")
    source_window, target_window = (ValueRange.from_config(r) for r in (settings.source_range, settings.target_range))
    pairs, total = [], 0
    for source_path, target_path in paired_files(Path(settings.data), Path(settings.target)):
        source, target = read_scan(source_path), read_scan(target_path)
        total += source.values.size + target.values.size
        check_training_values(total, source_path, 1.0)
        for scan, window, option in ((source, source_window, "--source-window"), (target, target_window, "--target-window")):
            if scan.values.shape[0] != 1:
                raise EqdenoiseError(f"{scan.path}: bridges are trained on gray images; this one has colour")
            if scan.physical and window.unit == "image":
                raise EqdenoiseError(f"{scan.path}: {scan.kind} values are in physical units; "
                                     f"give their window with {option} LOW HIGH")
        if source.values.shape != target.values.shape:
            raise EqdenoiseError(f"{source_path} and {target_path}: sizes differ "
                                 f"({source.values.shape[2]}×{source.values.shape[1]} vs "
                                 f"{target.values.shape[2]}×{target.values.shape[1]})")
        if min(source.values.shape[1:]) < settings.patch:
            raise EqdenoiseError(f"{source_path}: smaller than the {settings.patch}-pixel training patch")
        unit = np.concatenate([to_unit(source, source_window), to_unit(target, target_window)])
        pairs.append(torch.from_numpy(unit * 2.0 - 1.0))
    return pairs


def random_element(elements, generator: torch.Generator):
    """One element of ``elements`` drawn uniformly with ``generator``."""
    return elements[int(torch.randint(len(elements), (1,), generator=generator))]


def sample_batch(images: list[torch.Tensor], settings: TrainSettings, elements, generator: torch.Generator):
    """Random patches, each under a random group element."""
    patches = []
    for _ in range(settings.batch):
        image = images[int(torch.randint(len(images), (1,), generator=generator))]
        top = int(torch.randint(image.shape[1] - settings.patch + 1, (1,), generator=generator))
        left = int(torch.randint(image.shape[2] - settings.patch + 1, (1,), generator=generator))
        crop = image[:, top:top + settings.patch, left:left + settings.patch]
        element = random_element(elements, generator)
        patches.append(element.apply(crop))
    return torch.stack(patches)


def restoration_range(settings: TrainSettings) -> tuple[float, float]:
    """The restoration range of noise levels in model units ([-1, 1] images)."""
    return 2 * settings.sigma_min_255 / 255, 2 * settings.sigma_max_255 / 255


def sample_sigma(settings: TrainSettings, schedule: CosineSchedule, generator: torch.Generator) -> torch.Tensor:
    """Noise-to-signal ratios: log-uniform over the restoration range, else uniform in schedule time."""
    n = settings.batch
    lo, hi = (math.log(level) for level in restoration_range(settings))
    restoration = torch.exp(lo + (hi - lo) * torch.rand(n, generator=generator))
    t = torch.rand(n, generator=generator).clamp_min(1e-3) * schedule.t_max
    anywhere = torch.tan(0.5 * math.pi * t)
    pick = torch.rand(n, generator=generator) < settings.restoration_fraction
    return torch.where(pick, restoration, anywhere)


def learning_rate(step: int, settings: TrainSettings) -> float:
    """Linear warm-up, then cosine decay to zero at ``settings.steps``."""
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    progress = min(1.0, (step - settings.warmup) / max(1, settings.steps - settings.warmup))
    return settings.lr * 0.5 * (1 + math.cos(math.pi * progress))


def sigma_weights(sigma: torch.Tensor, settings: TrainSettings) -> torch.Tensor:
    """Per-sample loss weights (σ / σ_mid)^p, σ clamped to the restoration range, σ_mid its geometric middle.

    The ε-loss of a sample at σ is its x0 error divided by σ², so with p = 0 high noise levels count for
    little; p ≈ 1 gives every level of the range about the same weight in dB.
    """
    lo, hi = restoration_range(settings)
    return (sigma.clamp(lo, hi) / math.sqrt(lo * hi)) ** settings.sigma_weight


def _loss(settings: TrainSettings, network, batch: torch.Tensor, schedule, generator: torch.Generator,
          teacher=None, ema=None, elements=(), rows: slice = slice(None)) -> torch.Tensor:
    """ε-prediction MSE weighted by ``sigma_weights`` for denoisers; x0-prediction MSE on the bridge marginal.

    With a ``teacher`` network the denoiser's target is (1 − w)·ε + w·ε_teacher(x_t), w = ``teacher_weight``:
    the same loss as w·|ε̂ − ε_teacher|² + (1 − w)·|ε̂ − ε|² up to a constant (distillation). The teacher runs
    in the training precision (bf16 rounds its ε by about 2⁻⁸, far below the loss). With ``settings.reg`` = λ
    > 0, λ·``equivariance_penalty`` against the ``ema`` network is added (SPDM+Reg, eq. 15–17). Every random
    draw is made for the whole batch; the network sees only ``rows`` (one process's share under torchrun).
    """
    if settings.task == "bridge":
        y, x0 = batch[:, :settings.channels], batch[:, settings.channels:]
        n = batch.shape[0]
        t = torch.ones(n) if settings.regression else torch.rand(n, generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        x_t = schedule.marginal(x0, y, t, eps)
        inputs, condition, x0 = torch.cat([x_t, y], dim=1)[rows], schedule.condition(t)[rows], x0[rows]
        predicted = run(network, inputs, condition, settings.precision, training_layout(settings.precision))
        loss = torch.mean((predicted - x0) ** 2)
        weights = torch.ones(n)[rows]
    else:
        sigma = sample_sigma(settings, schedule, generator)
        eps = torch.randn(batch.shape, generator=generator)
        inputs, condition = schedule.add_noise(batch, eps, sigma)[rows], sigma[rows]
        predicted = run(network, inputs, condition, settings.precision, training_layout(settings.precision))
        target = eps[rows]
        if teacher is not None:
            guess = _teacher_guess(settings, teacher, inputs, condition, elements, generator)
            target = torch.lerp(target, guess, settings.teacher_weight)
        weights = sigma_weights(sigma[rows], settings)
        loss = torch.mean(weights * torch.mean((predicted - target) ** 2, dim=(1, 2, 3)))
    if settings.reg > 0.0 and ema is not None:
        element = random_element(elements, generator)
        loss = loss + settings.reg * equivariance_penalty(predicted, ema, inputs, condition, element, weights,
                                                          settings.precision)
    return loss


def _teacher_guess(settings: TrainSettings, teacher, inputs: torch.Tensor, condition: torch.Tensor, elements,
                   generator: torch.Generator) -> torch.Tensor:
    """The teacher's ε on the batch; with ``teacher_fa`` g⁻¹·ε_teacher(g·x_t), one random g: on average FA's (SPDM eq. 12–13)."""
    with torch.no_grad():
        if not settings.teacher_fa:
            return run(teacher, inputs, condition, settings.precision)
        element = random_element(elements, generator)
        return element.inverse().apply(run(teacher, element.apply(inputs), condition, settings.precision))


def equivariance_penalty(predicted: torch.Tensor, ema, inputs: torch.Tensor, condition: torch.Tensor, element,
                         weights: torch.Tensor, precision: str) -> torch.Tensor:
    """Weighted mean of |f_θ(x) − g⁻¹·f_θ̄(g·x)|² for one group element g, θ̄ the EMA weights (SPDM eq. 15–17)."""
    with torch.no_grad():
        turned = element.inverse().apply(run(ema, element.apply(inputs), condition, precision, False))
    return torch.mean(weights * torch.mean((predicted - turned) ** 2, dim=(1, 2, 3)))


def _checkpoint_config(settings: TrainSettings, schedule, record: dict) -> dict:
    """The config saved with the EMA weights."""
    if settings.task == "bridge":
        return make_config(task="bridge", architecture=settings.architecture(), group=settings.group,
                           schedule=schedule, training=record, source_range=settings.source_range,
                           target_range=settings.target_range, modalities=settings.modalities)
    return make_config(task="denoise", architecture=settings.architecture(), group=settings.group,
                       schedule=schedule, training=record)


def run_training(settings: TrainSettings, resume: bool = False, minutes: float | None = None,
                   progress: ProgressFn | None = None, pause_at: int | None = None,
                   state: Path | None = None, overwrite: bool = False) -> dict:
    """Train (or resume) a denoiser or, with ``settings.task == "bridge"``, a bridge; returns the training record.

    Checkpoints are written as it goes.

    ``minutes`` or ``pause_at`` (a step count) end this run early after saving, to be resumed later;
    the resumable state goes to ``state`` (default: beside the checkpoint). An existing checkpoint, state or log is
    replaced only on ``resume`` or with ``overwrite`` (then the run starts over with a fresh log).

    Under ``torchrun`` the processes share each step's batch (``--batch`` is the whole step's) and only rank 0
    writes; see ``distributed.py``.
    """
    if minutes is not None and not (math.isfinite(minutes) and minutes > 0):
        raise UsageError(f"--minutes must be a positive number, got {minutes}")
    with process_group():
        return _train(settings, resume, minutes, progress if is_writer() else None, pause_at, state, overwrite)


def _train(settings: TrainSettings, resume: bool, minutes: float | None, progress: ProgressFn | None,
           pause_at: int | None, state: Path | None, overwrite: bool) -> dict:
    """``run_training`` inside the process group (if any)."""
    check_precision(settings.precision)
    out = Path(settings.out)
    state = Path(state) if state else state_path(out)
    data_folders = [Path(settings.data)] + ([Path(settings.target)] if settings.target else [])
    check_training_outputs(out, state, data_folders, resume, overwrite)
    settings = with_init_shape(settings)
    check_settings(settings)
    rows = my_rows(settings.batch)
    group = get_group(settings.group)
    if settings.task == "bridge":
        schedule = BrownianBridge(beta=settings.beta)
        images = load_training_pairs(settings)
    else:
        schedule = CosineSchedule()
        images = load_training_images(Path(settings.data), settings.channels, settings.patch, settings.scales)
    torch.manual_seed(settings.seed)
    network = build_network(settings.architecture())
    if settings.init or settings.luma_init:
        network.load_state_dict(_initial_weights(settings, network))
    _check_patch(settings, network.stride)
    teacher = _teacher(settings)
    network = for_training(network, settings.precision)
    if settings.freeze_luma:
        network.gray.requires_grad_(False)
    initial = {key: value.clone() for key, value in network.state_dict().items()}
    ema = build_network(settings.architecture())
    ema.load_state_dict(network.state_dict())
    optimizer = torch.optim.AdamW(network.parameters(), lr=settings.lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(settings.seed)
    step, seconds = 0, 0.0
    if resume:
        step, seconds = _load_state(state, network, ema, optimizer, generator, settings)
    model = data_parallel(network)
    log = log_path(state)
    if not resume and is_writer():
        log.unlink(missing_ok=True)
    started, running, count, worst = time.time(), 0.0, 0, 0.0
    if step >= settings.steps and is_writer():
        _save_checkpoint(settings, schedule, network, ema, initial, _record(settings, step, seconds, len(images)))
    network.train()
    while step < settings.steps:
        lr = learning_rate(step, settings)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        batch = sample_batch(images, settings, group.elements, generator)
        loss = _loss(settings, model, batch, schedule, generator, teacher, ema, group.elements, rows)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), network.parameters(), strict=True):
                e.lerp_(p, 1 - settings.ema)
        step += 1
        loss_value = mean_over_ranks(loss.item())
        running, count, worst = running + loss_value, count + 1, max(worst, loss_value)
        if progress:
            progress(step, settings.steps, loss_value)
        elapsed = seconds + time.time() - started
        out_of_time = any_rank(minutes is not None and time.time() - started > 60 * minutes) or step == pause_at
        if (step % settings.save_every == 0 or step == settings.steps or out_of_time) and is_writer():
            record = _record(settings, step, elapsed, len(images))
            _save_checkpoint(settings, schedule, network, ema, initial, record)
            _save_state(state, network, ema, optimizer, generator, step, elapsed, settings)
            _append_log(log, {"step": step, "loss": running / count, "max_loss": worst, "lr": lr,
                              "seconds": round(elapsed, 1)})
            running, count, worst = 0.0, 0, 0.0
        if out_of_time:
            break
    return _record(settings, step, seconds + time.time() - started, len(images))


def with_init_shape(settings: TrainSettings) -> TrainSettings:
    """``settings`` with unset shape fields filled in: the ``init`` checkpoint's, else width 32, levels 1/2/4, 1 block."""
    source = settings.init or settings.luma_init
    have = read_config(Path(source))["architecture"] if source else {"base": 32, "blocks": 1, "mults": [1, 2, 4]}
    base = int(have["base"]) if settings.base is None else settings.base
    blocks = int(have["blocks"]) if settings.blocks is None else settings.blocks
    mults = tuple(int(m) for m in have["mults"]) if settings.mults is None else tuple(settings.mults)
    attention = int(have.get("attention", 0)) if settings.attention is None else settings.attention
    unshuffle = int(have.get("unshuffle", 1)) if settings.unshuffle is None else settings.unshuffle
    network = _network_kind(have) if settings.network is None else settings.network
    if network == "wt" and (attention or unshuffle > 1 or settings.group not in ("c4", "d4")):
        raise EqdenoiseError("a weight-tied network (--network wt) is built for --group c4 or d4, "
                             "without --attention or --unshuffle")
    if network not in ("unet", "wt", *NETWORK_NAMES):
        raise EqdenoiseError(f"unknown network {network!r}; choose unet, wt, {' or '.join(NETWORK_NAMES)}")
    if network in NETWORK_NAMES and (settings.channels != 3 or settings.task != "denoise"):
        raise EqdenoiseError(f"--network {network} is a colour denoiser: it needs --channels 3")
    split = network == "opponent-split"
    if not split and (settings.chroma_base or settings.luma_init or settings.freeze_luma):
        raise EqdenoiseError("--chroma-width, --luma-init and --freeze-luma belong to --network opponent-split")
    from_init = int(have.get("chroma_base", have["base"])) if settings.init and have.get("name") in OPPONENT_NAMES else base
    chroma_base = (settings.chroma_base or from_init) if split else None
    return replace(settings, base=base, blocks=blocks, mults=mults, attention=attention, unshuffle=unshuffle,
                   network=network, chroma_base=chroma_base)


def _network_kind(architecture: dict) -> str:
    """The --network value that builds an architecture like this one."""
    kinds = {WT_NAME: "wt", **{name: kind for kind, name in NETWORK_NAMES.items()}}
    return kinds.get(architecture.get("name"), "unet")


def _check_patch(settings: TrainSettings, stride: int) -> None:
    """Refuse a patch side the network (and the teacher) cannot take whole."""
    if settings.patch % stride:
        raise EqdenoiseError(f"--patch {settings.patch} is not a multiple of the network's stride {stride}")


def _teacher(settings: TrainSettings):
    """The distillation teacher (channels-last, frozen) or None: a denoiser of the same channels, or gray for colour.

    A gray teacher of a colour model denoises the three opponent channels (``opponent.OpponentDenoiser``).
    """
    if not settings.teacher or settings.teacher_weight <= 0:
        return None
    if settings.task != "denoise":
        raise EqdenoiseError("--teacher distils denoisers only")
    model = load_model(Path(settings.teacher), task="denoise")
    opponent = model.channels == 1 and settings.channels == 3
    if model.channels != settings.channels and not opponent:
        raise EqdenoiseError(f"{settings.teacher}: a {model.channels}-channel teacher for a {settings.channels}-channel "
                             "model (a teacher has the model's channels, or is gray for a colour model)")
    _check_patch(settings, model.network.stride)
    network = for_inference(model.network)
    network.requires_grad_(False)
    return OpponentDenoiser(network) if opponent else network


def _initial_weights(settings: TrainSettings, network: UNet) -> dict:
    """Weights of the ``init`` checkpoint, grown (``grow.py``) if ``settings`` asks for more blocks or channels; a gray
    U-Net of the same shape starts an opponent network from its weights (``opponent.opponent_weights``)."""
    want = settings.architecture()
    if want["name"] == SPLIT_NAME:
        return _split_weights(settings, network)
    model = load_model(Path(settings.init))
    have = model.config["architecture"]
    if model.task == settings.task and have == want:
        return model.network.state_dict()
    gray_like = (have.get("name"), have.get("channels"), have.get("in_channels")) in (("unet", 1, None),
                                                                                      ("opponent-unet", 3, None))
    if model.task == settings.task and want["name"] in OPPONENT_NAMES and gray_like and _shape(have) == _shape(want):
        gray = model.network.gray if isinstance(model.network, OpponentDenoiser) else model.network
        return opponent_weights(gray.state_dict(), OPPONENT_NAMES[want["name"]], int(want.get("unshuffle", 1)))
    if model.task != settings.task or have.get("name") in (WT_NAME, *OPPONENT_NAMES) or not can_grow(have, want):
        raise EqdenoiseError(f"{settings.init}: a {model.task} model with architecture {have}, not the requested "
                             f"{want} (a plain U-Net's blocks per level and base width may grow, and attention be "
                             "added; a weight-tied or opponent one continues as it is, and an opponent one may "
                             "start from a gray U-Net of its shape)")
    return grown_weights(model.network, network)


def _shape(architecture: dict) -> tuple:
    """Widths, depth and layout of a U-Net architecture, whatever it is wrapped in."""
    keys = ("base", "mults", "blocks", "emb_dim", "unshuffle", "attention")
    return tuple(architecture.get(key) for key in keys)


def _split_weights(settings: TrainSettings, network: OpponentDenoiser) -> dict:
    """A split opponent network's first weights: the mean network from ``luma_init`` (else ``init``) as a gray U-Net
    (``opponent.luma_weights``), grown to the width asked; the colour-difference network from ``init`` if that holds
    a guided one of its shape, else the fresh random one."""
    weights = network.state_dict()
    init = load_model(Path(settings.init), task="denoise") if settings.init else None
    chroma_shape = _shape({**settings.architecture(), "base": settings.chroma_base})
    if init is not None and isinstance(init.network, OpponentDenoiser) and init.network.guide:
        own = init.network.gray if init.network.chroma is None else init.network.chroma
        have = init.config["architecture"]
        if _shape({**have, "base": have.get("chroma_base", have["base"])}) == chroma_shape:
            weights.update({f"chroma.{key}": value.clone() for key, value in own.state_dict().items()})
    source = load_model(Path(settings.luma_init), task="denoise") if settings.luma_init else init
    if source is None:
        return weights
    gray_source = source.channels == 1 and source.config["architecture"].get("in_channels") in (None, 1)
    if not (gray_source or isinstance(source.network, OpponentDenoiser)) or source.equivariant_group:
        raise EqdenoiseError(f"{source.path}: the mean-channel network starts from a gray U-Net or an opponent "
                             "network, not this one")
    small_architecture = {**source.config["architecture"], "name": "unet", "channels": 1, "in_channels": None}
    small_architecture.pop("chroma_base", None)
    want = {**settings.architecture(), "name": "unet", "channels": 1, "in_channels": None}
    want.pop("chroma_base")
    if not can_grow(small_architecture, want):
        raise EqdenoiseError(f"{source.path}: its network {_shape(small_architecture)} cannot grow to the mean "
                             f"network {_shape(want)} (widths and blocks may grow, levels stay)")
    small = build_network(small_architecture)
    small.load_state_dict(luma_weights(source.network))
    weights.update({f"gray.{key}": value for key, value in grown_weights(small, network.gray).items()})
    return weights


def _save_checkpoint(settings: TrainSettings, schedule, network, ema, initial: dict, record: dict) -> None:
    """Write the shippable weights: the EMA with its start-up bias removed, or the raw weights if ``ema`` is 0.

    The EMA after n steps still holds ``ema**n`` of the initial weights; dividing that share out
    (as Adam does for its moments) leaves a proper weighted average of the trained weights.
    """
    weights = network.state_dict()
    if settings.ema > 0:
        share = settings.ema ** record["steps_done"]
        weights = {key: (value - share * initial[key]) / (1.0 - share) for key, value in ema.state_dict().items()}
    export = build_network(settings.architecture())
    export.load_state_dict(weights)
    save_model(export, _checkpoint_config(settings, schedule, record), Path(settings.out))


def _append_log(log: Path, entry: dict) -> None:
    """One JSON line in the loss log; a failed write (a full disk) is one line, the checkpoint already written."""
    try:
        with open(log, "a") as log_file:
            log_file.write(json.dumps(entry) + "\n")
    except OSError as exc:
        raise EqdenoiseError(f"{log}: could not append to the training log ({exc.strerror or exc})") from None


def _record(settings: TrainSettings, step: int, seconds: float, n_images: int) -> dict:
    """The training record stored in the checkpoint config."""
    return {"settings": _settings_record(settings), "steps_done": step,
            "wall_seconds": round(seconds, 1), "images": n_images, "eqdenoise": __version__,
            "torch": torch.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "processes": rank_and_world()[1]}


def _settings_record(settings: TrainSettings) -> dict:
    """Settings as JSON-ready values."""
    return {**asdict(settings), "mults": list(settings.mults)}


def _save_state(path: Path, network, ema, optimizer, generator, step, seconds, settings) -> None:
    """Everything needed to resume, as tensors plus JSON metadata."""
    tensors = {f"model.{k}": v for k, v in network.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            tensors[f"optim.{index}.{key}"] = torch.as_tensor(value)
    tensors["rng"] = generator.get_state()
    tensors["torch_rng"] = torch.get_rng_state()
    meta = {"step": step, "seconds": seconds, "settings": _settings_record(settings)}
    atomic_save(tensors, path, {"eqdenoise_train_state": json.dumps(meta)})


NOT_SETTINGS = ("out", "extra")


def saved_settings(state: Path) -> tuple[TrainSettings, int]:
    """The settings a training state was written with, and its step."""
    meta = _state_meta(state)
    known = {f.name for f in fields(TrainSettings)}
    try:
        stored = {key: value for key, value in meta["settings"].items() if key in known}
        for key in ("scales", "mults"):
            if stored.get(key) is not None:
                stored[key] = tuple(stored[key])
        return TrainSettings(**stored), int(meta["step"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EqdenoiseError(f"{state}: training state's settings are incomplete ({type(exc).__name__}: {exc})") from None


def resume_settings(state: Path, given: dict[str, object], out: str, override: bool = False) -> TrainSettings:
    """The saved run's settings for ``--resume``; a ``given`` value that differs is an error naming both.

    With ``override`` the given values replace the saved ones, and each replacement is recorded (step,
    setting, saved and given value) in the settings' ``extra["overrides"]``, which goes into the checkpoint.
    """
    settings, step = saved_settings(state)
    changed = {key: value for key, value in given.items()
               if key not in NOT_SETTINGS and _comparable(value) != _comparable(getattr(settings, key))}
    if changed and not override:
        listed = ", ".join(f"{key} {_comparable(value)} (saved {_comparable(getattr(settings, key))})"
                           for key, value in changed.items())
        raise EqdenoiseError(f"{state}: resuming with settings that differ from the saved run: {listed}; "
                             "leave them out to continue the saved run, or add --override to change them")
    overrides = list(settings.extra.get("overrides", []))
    overrides += [{"step": step, "setting": key, "saved": _comparable(getattr(settings, key)),
                   "given": _comparable(value)} for key, value in changed.items()]
    extra = {**settings.extra, "overrides": overrides} if overrides else settings.extra
    return replace(settings, **changed, out=out, extra=extra)


def _comparable(value: object) -> object:
    """A setting as its JSON value (tuples as lists), so saved and given values compare alike."""
    return json.loads(json.dumps(value, default=str))


def _state_meta(path: Path) -> dict:
    """The JSON metadata of a training state, with a clear error when there is none or it is unreadable."""
    if not path.is_file():
        raise EqdenoiseError(f"{path}: no training state to resume from")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads((handle.metadata() or {})["eqdenoise_train_state"])
    except Exception as exc:
        raise EqdenoiseError(f"{path}: unreadable training state ({exc})") from None


def _load_state(path: Path, network, ema, optimizer, generator, settings) -> tuple[int, float]:
    """Restore a training state written by ``_save_state``; returns (step, seconds so far)."""
    if not path.is_file():
        raise EqdenoiseError(f"{path}: no training state to resume from")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})["eqdenoise_train_state"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:
        raise EqdenoiseError(f"{path}: unreadable training state ({exc})") from None
    try:
        return _restore_state(meta, tensors, network, ema, optimizer, generator, settings, path)
    except EqdenoiseError:
        raise
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise EqdenoiseError(f"{path}: training state is incomplete or does not fit this network "
                             f"({type(exc).__name__} {first_line(exc, 160)})") from None


def _restore_state(meta: dict, tensors: dict, network, ema, optimizer, generator, settings, path: Path) -> tuple[int, float]:
    """Put a read state's tensors back into the network, EMA, optimizer and random streams."""
    saved = meta["settings"]
    if saved["mults"] != list(settings.mults) or any(
            saved.get(k, default) != getattr(settings, k)
            for k, default in (("channels", None), ("base", None), ("blocks", None), ("task", "denoise"))) or (
            (saved.get("unshuffle") or 1) != (settings.unshuffle or 1)):
        raise EqdenoiseError(f"{path}: saved architecture differs from the requested one")
    network.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    state = optimizer.state_dict()
    by_index: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            by_index.setdefault(int(index), {})[name] = value
    state["state"] = by_index
    optimizer.load_state_dict(state)
    generator.set_state(tensors["rng"])
    torch.set_rng_state(tensors["torch_rng"])
    return int(meta["step"]), float(meta["seconds"])
