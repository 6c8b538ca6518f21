"""Samplers: stateless functions over one contract, ``model(x_t, t) -> prediction`` (ε for DDIM, x0 for bridges)."""

from .bridge import X0Model, bridge_sample
from .ddim import EpsModel, ddim_sample, tweedie

__all__ = ["EpsModel", "X0Model", "bridge_sample", "ddim_sample", "tweedie"]
