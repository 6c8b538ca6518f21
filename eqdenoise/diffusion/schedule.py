"""Variance-preserving cosine noise schedule: x_t = a_t·x0 + s_t·ε with a_t² + s_t² = 1."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

SIGMA_MAX_RANGE = (1.0, 1e5)


@dataclass(frozen=True)
class CosineSchedule:
    """a_t = cos(πt/2), s_t = sin(πt/2), so the noise-to-signal ratio is σ_t = tan(πt/2).

    Time runs over [0, 1], where t = 1 is mapped to the largest noise level ``sigma_max``.
    """

    sigma_max: float = 160.0

    @property
    def t_max(self) -> float:
        """Angle-time at which σ_t reaches ``sigma_max``, as a fraction of π/2."""
        return 2.0 / math.pi * math.atan(self.sigma_max)

    def angle(self, t: float) -> float:
        """The angle θ with a_t = cos θ and s_t = sin θ, for t in [0, 1]."""
        return 0.5 * math.pi * t * self.t_max

    def alpha(self, t: float) -> float:
        """Signal scale a_t."""
        return math.cos(self.angle(t))

    def std(self, t: float) -> float:
        """Noise scale s_t."""
        return math.sin(self.angle(t))

    def sigma(self, t: float) -> float:
        """Noise-to-signal ratio σ_t = s_t / a_t."""
        return math.tan(self.angle(t))

    def t_of_sigma(self, sigma: float) -> float:
        """Inverse of ``sigma``: the time whose noise-to-signal ratio is σ (docs/method.md, "Diffusion"; start 1)."""
        if not 0.0 <= sigma <= self.sigma_max * (1 + 1e-9):
            raise ValueError(f"noise level {sigma} outside [0, {self.sigma_max}]")
        return min(1.0, 2.0 / math.pi * math.atan(sigma) / self.t_max)

    def add_noise(self, x0: torch.Tensor, eps: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Forward process at per-sample noise-to-signal ratios σ: a·x0 + s·ε."""
        alpha = torch.rsqrt(1.0 + sigma**2).view(-1, *([1] * (x0.dim() - 1)))
        return alpha * x0 + alpha * sigma.view_as(alpha) * eps

    def to_config(self) -> dict:
        """Serialisable description stored in checkpoints."""
        return {"kind": "cosine", "sigma_max": self.sigma_max}

    @classmethod
    def from_config(cls, config: dict) -> CosineSchedule:
        """Rebuild from ``to_config`` output."""
        if config.get("kind") != "cosine":
            raise ValueError(f"unsupported schedule kind {config.get('kind')!r}")
        sigma_max = float(config["sigma_max"])
        if not SIGMA_MAX_RANGE[0] <= sigma_max <= SIGMA_MAX_RANGE[1]:
            raise ValueError(f"schedule sigma_max {sigma_max} is outside [{SIGMA_MAX_RANGE[0]:g}, {SIGMA_MAX_RANGE[1]:g}]")
        return cls(sigma_max=sigma_max)
