"""Samplers: stateless functions over one denoiser contract, ``model(x_t, t) -> ε prediction``."""

from .ddim import EpsModel, ddim_sample, tweedie

__all__ = ["EpsModel", "ddim_sample", "tweedie"]
