"""Brownian diffusion bridge from a target x0 (t = 0) to a source y (t = 1); I2SB with constant β.

Marginal (I2SB, Liu et al. 2023, eq. 11 with σ_t² = βt, σ̄_t² = β(1 − t)):
    x_t = (1 − t)·x0 + t·y + s_t·ε,    s_t² = β·t·(1 − t).
Posterior of an earlier time s < t given x0 and x_t (I2SB eq. 4 for a Brownian motion):
    x_s | x0, x_t ~ N(x0 + (s/t)(x_t − x0), β·s·(t − s)/t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

T_EMBED_MIN = 1e-3
BETA_MAX = 100.0


@dataclass(frozen=True)
class BrownianBridge:
    """Bridge noise scale β: the state's noise standard deviation peaks at √β/2 at t = ½."""

    beta: float = 1.0

    def std(self, t: float) -> float:
        """Noise scale s_t = √(β·t·(1 − t))."""
        return math.sqrt(max(0.0, self.beta * t * (1.0 - t)))

    def marginal(self, x0: torch.Tensor, y: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t = (1 − t)·x0 + t·y + √(β t (1 − t))·ε for per-sample times t (N,)."""
        t = t.view(-1, *([1] * (x0.dim() - 1)))
        return (1.0 - t) * x0 + t * y + torch.sqrt((self.beta * t * (1.0 - t)).clamp_min(0.0)) * eps

    @staticmethod
    def condition(t: torch.Tensor) -> torch.Tensor:
        """The positive value the network's log-embedding sees for time t (t clamped away from 0)."""
        return t.clamp_min(T_EMBED_MIN)

    def to_config(self) -> dict:
        """Serialisable description stored in checkpoints."""
        return {"kind": "brownian-bridge", "beta": self.beta}

    @classmethod
    def from_config(cls, config: dict) -> BrownianBridge:
        """Rebuild from ``to_config`` output."""
        if config.get("kind") != "brownian-bridge":
            raise ValueError(f"unsupported bridge schedule kind {config.get('kind')!r}")
        beta = float(config["beta"])
        if not 0.0 < beta <= BETA_MAX:
            raise ValueError(f"bridge beta {beta} is outside (0, {BETA_MAX:g}]")
        return cls(beta=beta)
