"""The sample task: unconditional images from a denoiser prior, equivariant in the initial noise.

DDIM runs from pure noise at t = 1 to t = 0 in the noise's canonical frame (``canon``, ``fa``, ``wt``), with
every later draw in that frame too (SPDM §5.2's equivariant noise sequence), so turning the initial noise
turns the sample: ``sample(g·z) = g·sample(z)``, bit for bit for canon and fa.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..diffusion.samplers import Noise, ddim_sample
from ..errors import EqdenoiseError, UsageError
from ..files.imageio import MAX_PIXELS
from ..frames.groups import Element
from ..nets.checkpoint import Model
from .pipeline import SamplerOptions, check_memory, resolve_group, tile_size
from .predictors import eps_denoiser, eps_predictor

ProgressFn = Callable[[int, int], None]
DEFAULT_SAMPLE_STEPS = 50
INITIAL_STREAM = 1 << 32


@dataclass(frozen=True)
class SampleOptions(SamplerOptions):
    """Sampler settings for unconditional samples: 50 DDIM steps by default."""

    steps: int = DEFAULT_SAMPLE_STEPS


def check_sample_size(model: Model, height: int, width: int) -> None:
    """Refuse a sample size that is not whole multiples of the network's stride, or over the megapixel limit."""
    stride = model.network.stride
    sides = (height, width)
    if not all(isinstance(side, int) and not isinstance(side, bool) and side >= stride for side in sides) \
            or height % stride or width % stride:
        raise UsageError(f"--size {height} {width}: each side must be a multiple of the network's stride {stride}, "
                         f"at least {stride}")
    if height * width > MAX_PIXELS:
        raise UsageError(f"--size {height} {width}: {height * width:,} pixels is over the "
                         f"{MAX_PIXELS // 1_000_000} megapixel limit")


def initial_noise(model: Model, height: int, width: int, seed: int) -> np.ndarray:
    """The standard normal start z (C, H, W) of sample ``seed``, from its own stream (not the sampler's)."""
    generator = torch.Generator().manual_seed(seed + INITIAL_STREAM)
    return torch.randn((model.channels, height, width), generator=generator).numpy()


def sample(model: Model, noise: np.ndarray, options: SampleOptions, progress: ProgressFn | None = None) -> np.ndarray:
    """One sample (C, H, W) in [0, 1] from the initial noise ``noise`` (C, H, W), sides multiples of the stride."""
    if model.task != "denoise":
        raise EqdenoiseError(f"{model.path}: samples come from a denoiser prior, this is a {model.task!r} checkpoint")
    group = resolve_group(model, options.group, options.method)
    z = torch.from_numpy(np.ascontiguousarray(noise, dtype=np.float32))
    if z.ndim != 3 or z.shape[0] != model.channels:
        raise EqdenoiseError(f"initial noise must be ({model.channels}, H, W) for this model, got {tuple(z.shape)}")
    stride = model.network.stride
    if z.shape[1] % stride or z.shape[2] % stride:
        raise EqdenoiseError(f"sample size {z.shape[2]}×{z.shape[1]} must be a multiple of the network's "
                             f"stride {stride} on both sides")
    if not torch.isfinite(z).all():
        raise EqdenoiseError("initial noise contains NaN or infinite values")
    tile = tile_size(options.tile, *z.shape[-2:])
    check_memory(model, *z.shape[-2:], channels=model.channels, tile=tile)

    def in_frame(canonical: torch.Tensor, on_step: Callable[[], None], element: Element, noise: Noise) -> torch.Tensor:
        predict = options.chosen_method.predictor(eps_predictor(model, options.precision, options.device), model,
                                                  group, tile, element)
        return ddim_sample(eps_denoiser(predict, model.schedule), model.schedule, canonical, 1.0, options.steps,
                           options.eta, noise, on_step)

    out = options.chosen_method.run(z[None], group, options.steps, in_frame, progress, options.seed,
                     options.noise_frame)
    return out[0].add_(1.0).div_(2.0).numpy()
