"""The one model contract every sampler sees: a denoiser, the clean estimate x̂0(x_t, t) (EDM's D(x; σ))."""

from collections.abc import Callable

import torch

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]
