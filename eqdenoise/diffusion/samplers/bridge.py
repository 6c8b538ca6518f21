"""Bridge sampling from the source y (t = 1) to the target (t = 0); DBIM (Zheng et al. 2024, eq. 9).

With x̂0 = model(x_t, t) and ε̂ = (x_t − (1 − t)x̂0 − t·y)/s_t, a step from t to s < t is
    x_s = (1 − s)·x̂0 + s·y + √(s_s² − ρ²)·ε̂ + ρ·z,    ρ² = η²·β·s·(t − s)/t.
η = 1 draws from the exact Brownian-bridge posterior (I2SB's ancestral sampler); η = 0 is
deterministic after the first step, which starts from x_1 = y (s_1 = 0) and always draws ρ = s_s.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..bridge_schedule import BrownianBridge
from .contract import Denoiser, Noise, gaussian

StepCallback = Callable[[], None]


def bridge_sample(model: Denoiser, bridge: BrownianBridge, y: torch.Tensor, steps: int, eta: float = 0.0,
                  noise: Noise | None = None, on_step: StepCallback | None = None) -> torch.Tensor:
    """Translate source ``y`` in ``steps`` uniform time steps; one step gives the network's x̂0(y, t = 1).

    ``model(x_t, t)`` predicts x0 with the source bound in; every random draw comes from ``noise``.
    """
    if steps < 1:
        raise ValueError("steps must be at least 1")
    times = [(steps - i) / steps for i in range(steps + 1)]
    x = y
    for t, s in zip(times[:-1], times[1:], strict=True):
        x0 = model(x, t).clamp(-1.0, 1.0)
        if s <= 0.0:
            x = x0
        else:
            s_t, s_s = bridge.std(t), bridge.std(s)
            mean = (1.0 - s) * x0 + s * y
            if s_t == 0.0:
                rho = s_s
            else:
                rho = min(s_s, eta * math.sqrt(max(0.0, bridge.beta * s * (t - s) / t)))
                eps = (x - (1.0 - t) * x0 - t * y) / s_t
                mean = mean + math.sqrt(max(0.0, s_s**2 - rho**2)) * eps
            x = mean + rho * (noise or gaussian())(tuple(x.shape)) if rho > 0.0 else mean
        if on_step:
            on_step()
    return x
