"""What every sampler sees: a denoiser, the clean estimate x̂0(x_t, t) (EDM's D(x; σ)), and a noise source."""

from collections.abc import Callable

import torch

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]
Noise = Callable[[tuple[int, ...]], torch.Tensor]


def gaussian(generator: torch.Generator | None = None) -> Noise:
    """Standard normal draws of a given shape from ``generator`` (the global one if None)."""
    return lambda shape: torch.randn(shape, generator=generator)
