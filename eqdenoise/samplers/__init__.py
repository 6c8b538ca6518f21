"""Samplers: stateless functions over one contract, a ``Denoiser`` x̂0(x_t, t), whatever the checkpoint predicts."""

from .bridge import bridge_sample
from .contract import Denoiser
from .ddim import ddim_sample, tweedie

__all__ = ["Denoiser", "bridge_sample", "ddim_sample", "tweedie"]
