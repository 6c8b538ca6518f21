"""The denoise task: SDEdit-style restoration with a diffusion prior, run in the input's canonical frame."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .canon import canonical_frame, run_in_frame
from .checkpoint import Model
from .errors import EqdenoiseError
from .groups import Group, get_group
from .noise_level import estimate_sigma
from .predictors import eps_predictor, frame_averaged, tiled
from .samplers import ddim_sample

METHODS = ("canon", "fa", "none")
BYTES_PER_PIXEL_PER_WIDTH = 45
AUTO_TILE, AUTO_TILE_ABOVE, TILE_OVERLAP = 512, 1024 * 1024, 48
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class DenoiseOptions:
    """How to restore: known σ (0–255 scale), ``"auto"`` σ, or an SDEdit strength; sampler settings."""

    sigma: float | str | None = "auto"
    strength: float | None = None
    steps: int = 1
    eta: float = 0.0
    seed: int = 0
    method: str = "canon"
    group: str | None = None
    tile: int | None = None

    def check(self) -> None:
        """Reject option combinations and values outside their ranges."""
        if self.method not in METHODS:
            raise EqdenoiseError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.strength is not None and self.sigma is not None:
            raise EqdenoiseError("give either --sigma or --strength, not both")
        if self.strength is not None and not 0.0 < self.strength <= 1.0:
            raise EqdenoiseError(f"--strength must be in (0, 1], got {self.strength}")
        if isinstance(self.sigma, str) and self.sigma != "auto":
            raise EqdenoiseError(f"--sigma must be a number or 'auto', got {self.sigma!r}")
        if isinstance(self.sigma, (int, float)) and not 0.0 < self.sigma <= 255.0:
            raise EqdenoiseError(f"--sigma must be in (0, 255] on the 0–255 scale, got {self.sigma}")
        if self.steps < 1 or self.steps > 1000:
            raise EqdenoiseError(f"--steps must be between 1 and 1000, got {self.steps}")
        if not 0.0 <= self.eta <= 1.0:
            raise EqdenoiseError(f"--eta must be in [0, 1], got {self.eta}")
        if self.tile is not None and self.tile != 0 and self.tile < 64:
            raise EqdenoiseError(f"--tile must be 0 (never tile) or at least 64, got {self.tile}")


@dataclass
class Restoration:
    """A result in [0, 1] with what was used to get it."""

    pixels: np.ndarray
    sigma_255: float | None
    frame_size: int


def resolve_group(model: Model, name: str | None) -> Group:
    """The group to be equivariant to: the model's by default; only subgroups of what it was trained for."""
    trained = get_group(model.group)
    group = get_group(name) if name else trained
    if not group.is_subgroup_of(trained):
        raise EqdenoiseError(f"{model.path}: model was trained for group {trained.name!r}, "
                             f"not {group.name!r}; use --group {trained.name} or a subgroup of it")
    return group


def available_memory() -> int:
    """Bytes of memory the OS reports as available (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def tile_size(options: DenoiseOptions, height: int, width: int) -> int:
    """Tile side for the network: the user's ``tile``, or 512 above a megapixel when left to auto (0: none)."""
    if options.tile is None:
        return AUTO_TILE if height * width > AUTO_TILE_ABOVE else 0
    return options.tile


def check_memory(model: Model, height: int, width: int, channels: int, tile: int) -> None:
    """Refuse images that would not fit: about 45·base bytes per network pixel (measured) plus the full states."""
    stride = model.network.stride
    side_h, side_w = (min(height, tile), min(width, tile)) if tile else (height, width)
    network = (side_h + stride) * (side_w + stride) * BYTES_PER_PIXEL_PER_WIDTH * int(model.config["architecture"]["base"])
    needed = network + 64 * channels * (height + stride) * (width + stride)
    available = available_memory()
    if needed > available:
        raise EqdenoiseError(f"a {width}×{height} image needs about {needed / 2**30:.1f} GiB of memory, "
                             f"only {available / 2**30:.1f} GiB is available; crop or downscale it")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad bottom/right by reflection (replication if too small) to a multiple of the network stride."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def restore(model: Model, pixels: np.ndarray, options: DenoiseOptions,
            progress: ProgressFn | None = None) -> Restoration:
    """Restore one image (C, H, W) in [0, 1]; exactly equivariant for methods ``canon`` and ``fa``."""
    options.check()
    group = resolve_group(model, options.group)
    x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)) * 2.0 - 1.0
    channels = x.shape[0]
    if channels not in (1, 3):
        raise EqdenoiseError(f"images must have 1 or 3 colour channels, got {channels}")
    if not torch.isfinite(x).all():
        raise EqdenoiseError("image contains NaN or infinite values")
    tile = tile_size(options, *x.shape[-2:])
    check_memory(model, *x.shape[-2:], channels=channels, tile=tile)
    batch = _to_model_channels(x, model.channels)
    frame = canonical_frame(batch, group) if options.method != "none" else []
    total = options.steps * max(1, len(frame))
    done = [0]
    sigmas: list[float | None] = []

    def on_step() -> None:
        done[0] += 1
        if progress:
            progress(done[0], total)

    def pipeline(canonical: torch.Tensor) -> torch.Tensor:
        result, sigma = _restore_canonical(model, canonical, options, group, tile, on_step)
        sigmas.append(sigma)
        return result

    out = pipeline(batch) if options.method == "none" else run_in_frame(pipeline, batch, group, frame)
    out = _from_model_channels(out, channels)
    return Restoration(pixels=((out + 1.0) / 2.0).numpy(), sigma_255=sigmas[0], frame_size=len(frame) or 1)


def _to_model_channels(x: torch.Tensor, model_channels: int) -> torch.Tensor:
    """(C, H, W) → the model's batch: gray models see each colour channel alone; RGB models see gray ×3."""
    if model_channels == 1:
        return x[:, None]
    if x.shape[0] == 1:
        return x.expand(3, -1, -1)[None].contiguous()
    return x[None]


def _from_model_channels(y: torch.Tensor, channels: int) -> torch.Tensor:
    """Inverse of ``_to_model_channels``; an RGB model's result for a gray input is its channel mean."""
    if y.shape[1] == 1:
        return y[:, 0]
    if channels == 1:
        return y[0].mean(dim=0, keepdim=True)
    return y[0]


def _restore_canonical(model: Model, x: torch.Tensor, options: DenoiseOptions, group: Group, tile: int,
                       on_step: Callable[[], None]) -> tuple[torch.Tensor, float | None]:
    """Everything that happens inside one frame: σ estimate, padding, start state, sampler, crop."""
    schedule = model.schedule
    generator = torch.Generator().manual_seed(options.seed)
    sigma_255 = None
    if options.strength is not None:
        t_start = options.strength
    else:
        sigma_255 = (estimate_sigma(x) * 127.5 if options.sigma == "auto" else float(options.sigma))
        if sigma_255 < 1e-3:
            for _ in range(options.steps):
                on_step()
            return x, sigma_255
        t_start = schedule.t_of_sigma(sigma_255 / 127.5)
    padded, (h, w) = pad_to_multiple(x, model.network.stride)
    if options.strength is not None:
        noise = torch.randn(padded.shape, generator=generator)
        state = schedule.alpha(t_start) * padded + schedule.std(t_start) * noise
    else:
        state = schedule.alpha(t_start) * padded
    predict = eps_predictor(model)
    if tile:
        stride = model.network.stride
        overlap = min(TILE_OVERLAP, tile // 4 // stride * stride)
        predict = tiled(predict, tile - tile % stride, overlap)
    if options.method == "fa":
        predict = frame_averaged(predict, group)
    result = ddim_sample(predict, schedule, state, t_start, options.steps, options.eta, generator, on_step)
    return result[..., :h, :w].contiguous(), sigma_255
