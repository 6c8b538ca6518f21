"""Samplers: stateless functions over one contract, a ``Denoiser`` x̂0(x_t, t), and a ``Noise`` source."""

from .bridge import bridge_sample
from .contract import Denoiser, Noise, gaussian
from .ddim import ddim_sample, tweedie

__all__ = ["Denoiser", "Noise", "bridge_sample", "ddim_sample", "gaussian", "tweedie"]
