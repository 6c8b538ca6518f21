"""The denoise task: SDEdit-style restoration with a diffusion prior, run in the input's canonical frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..diffusion.samplers import Noise, ddim_sample
from ..errors import EqdenoiseError, UsageError
from ..frames.groups import Element, Group
from ..nets.checkpoint import Model
from ..nets.opponent import NOISE_GAIN, from_opponent, to_opponent
from .noise_level import estimate_sigma
from .pipeline import (
    SamplerOptions,
    check_memory,
    check_unit_range,
    resolve_group,
    tile_size,
)
from .predictors import eps_denoiser, eps_predictor

ProgressFn = Callable[[int, int], None]
MIN_STRENGTH = 1e-3


@dataclass(frozen=True)
class DenoiseOptions(SamplerOptions):
    """How to restore: known σ (0–255 scale), ``"auto"`` σ (the default unless a strength is given), or an SDEdit strength."""

    sigma: float | str | None = None
    strength: float | None = None

    def check(self) -> None:
        """Reject option combinations and values outside their ranges."""
        if self.strength is not None and self.sigma is not None:
            raise UsageError("give either --sigma or --strength, not both")
        if self.strength is not None and not MIN_STRENGTH <= self.strength <= 1.0:
            raise UsageError(f"--strength must be in [{MIN_STRENGTH:g}, 1] (below {MIN_STRENGTH:g} the added noise is "
                             f"under a fifth of an 8-bit level), got {self.strength}")
        if isinstance(self.sigma, str) and self.sigma != "auto":
            raise UsageError(f"--sigma must be a number or 'auto', got {self.sigma!r}")
        if isinstance(self.sigma, (int, float)) and not 0.0 < self.sigma <= 255.0:
            raise UsageError(f"--sigma must be in (0, 255] on the 0–255 scale, got {self.sigma}")
        super().check()


@dataclass
class Restoration:
    """A result in [0, 1] with what was used to get it."""

    pixels: np.ndarray
    sigma_255: float | None
    frame_size: int


def restore(model: Model, pixels: np.ndarray, options: DenoiseOptions,
            progress: ProgressFn | None = None, noise_in_luma: bool = False) -> Restoration:
    """Restore one image (C, H, W) in [0, 1]; exactly equivariant for methods ``canon`` and ``fa``.

    ``noise_in_luma``: a colour image whose chroma was smoothed away (a JPEG with subsampled chroma), so that
    ``sigma="auto"`` estimates the noise from the luma alone.
    """
    group = resolve_group(model, options.group, options.method)
    x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))
    channels = x.shape[0]
    if channels not in (1, 3):
        raise EqdenoiseError(f"images must have 1 or 3 colour channels, got {channels}")
    if not torch.isfinite(x).all():
        raise EqdenoiseError("image contains NaN or infinite values")
    check_unit_range(x, _largest_noise_std(options))
    x = x.mul(2.0).sub_(1.0)
    tile = tile_size(options.tile, *x.shape[-2:])
    check_memory(model, *x.shape[-2:], channels=channels, tile=tile)
    batch, noise_gain = _to_model_channels(x, model.channels)
    sigmas: list[float | None] = []

    def in_frame(canonical: torch.Tensor, on_step: Callable[[], None], element: Element, noise: Noise) -> torch.Tensor:
        result, sigma = _restore_canonical(model, canonical, options, group, tile, on_step, element, noise, noise_gain,
                                           noise_in_luma and channels == 3)
        sigmas.append(sigma)
        return result

    out = options.chosen_method.run(batch, group, options.steps, in_frame, progress, options.seed, options.noise_frame)
    out = _from_model_channels(out, channels)
    return Restoration(pixels=out.add_(1.0).div_(2.0).numpy(), sigma_255=sigmas[0], frame_size=len(sigmas))


def _largest_noise_std(options: DenoiseOptions) -> float:
    """The noise std (on [0, 1]) an input may carry: the given σ, any σ up to 255 for ``auto``, none for a strength."""
    if options.strength is not None:
        return 0.0
    return float(options.sigma) / 255.0 if isinstance(options.sigma, (int, float)) else 1.0


def _to_model_channels(x: torch.Tensor, model_channels: int) -> tuple[torch.Tensor, float]:
    """(C, H, W) → the model's batch and the factor its channels scale the noise by: gray models see the three
    opponent channels of colour (CBM3D's transform, ``opponent.py``; noise σ/√3); RGB models see gray ×3."""
    if model_channels == 1 and x.shape[0] == 3:
        return to_opponent(x[None])[0][:, None], NOISE_GAIN
    if model_channels == 1:
        return x[:, None], 1.0
    if x.shape[0] == 1:
        return x.expand(3, -1, -1)[None].contiguous(), 1.0
    return x[None], 1.0


def _from_model_channels(y: torch.Tensor, channels: int) -> torch.Tensor:
    """Inverse of ``_to_model_channels``; an RGB model's result for a gray input is its channel mean."""
    if y.shape[1] == 1:
        return from_opponent(y[:, 0][None])[0] if channels == 3 else y[:, 0]
    if channels == 1:
        return y[0].mean(dim=0, keepdim=True)
    return y[0]


def _restore_canonical(model: Model, x: torch.Tensor, options: DenoiseOptions, group: Group, tile: int,
                       on_step: Callable[[], None], element: Element, noise: Noise,
                       noise_gain: float = 1.0, noise_in_luma: bool = False) -> tuple[torch.Tensor, float | None]:
    """Everything that happens inside one frame: σ estimate, padding, start state, sampler, crop.

    ``noise_gain`` is the factor by which the model's channels scale the image's noise (1/√3 for opponent
    channels); the σ returned is the image's.
    """
    schedule = model.schedule
    sigma_255 = None
    if options.strength is not None:
        t_start = options.strength
    else:
        sigma_255 = (_estimated_sigma_255(x, noise_gain, noise_in_luma) if options.sigma in (None, "auto")
                     else float(options.sigma))
        if sigma_255 < 1e-3:
            for _ in range(options.steps):
                on_step()
            return x, sigma_255
        t_start = schedule.t_of_sigma(sigma_255 * noise_gain / 127.5)
    padded, (h, w) = options.chosen_method.pad(x, model)
    if options.strength is not None:
        state = schedule.alpha(t_start) * padded + schedule.std(t_start) * noise(tuple(padded.shape))
    else:
        state = schedule.alpha(t_start) * padded
    network = eps_predictor(model, options.precision, options.device)
    predict = options.chosen_method.predictor(network, model, group, tile, element)
    result = ddim_sample(eps_denoiser(predict, schedule), schedule, state, t_start, options.steps, options.eta,
                         noise, on_step)
    return result[..., :h, :w].contiguous(), sigma_255


LUMA = torch.tensor([0.299, 0.587, 0.114])


def _estimated_sigma_255(x: torch.Tensor, noise_gain: float, noise_in_luma: bool) -> float:
    """The image's noise σ (0–255 scale) estimated from the model's batch ``x`` in [-1, 1]: over all its channels,
    or from the luma (JPEG's Y = 0.299 R + 0.587 G + 0.114 B) where the chroma lost its noise, scaled to the per-channel
    σ of white RGB noise (Y carries σ·|w|)."""
    if not noise_in_luma:
        return estimate_sigma(x) * 127.5 / noise_gain
    rgb = from_opponent(x[:, 0][None])[0] if x.shape[1] == 1 else x[0]
    luma = (LUMA.view(3, 1, 1) * rgb).sum(dim=0, keepdim=True)
    return estimate_sigma(luma) * 127.5 / float(LUMA.norm())
