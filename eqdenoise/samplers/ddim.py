"""DDIM sampling (Song et al. 2021, eq. 12) with η interpolating between deterministic and ancestral."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..schedule import CosineSchedule

EpsModel = Callable[[torch.Tensor, float], torch.Tensor]
StepCallback = Callable[[], None]


def tweedie(x_t: torch.Tensor, eps: torch.Tensor, schedule: CosineSchedule, t: float) -> torch.Tensor:
    """Posterior mean x0_hat = (x_t − s_t·ε_hat) / a_t (docs/method.md, "Diffusion"), clipped to the data range."""
    return torch.mul(eps, -schedule.std(t)).add_(x_t).div_(schedule.alpha(t)).clamp_(-1.0, 1.0)


def ddim_sample(model: EpsModel, schedule: CosineSchedule, x: torch.Tensor, t_start: float, steps: int,
                eta: float = 0.0, generator: torch.Generator | None = None,
                on_step: StepCallback | None = None) -> torch.Tensor:
    """Run DDIM from state ``x`` at time ``t_start`` to t = 0 in ``steps`` uniform time steps.

    With one step this is the Tweedie (MMSE) estimate. Fresh noise for η > 0 comes from
    ``generator``, so the caller controls (and can make equivariant) every random draw.
    """
    if steps < 1:
        raise ValueError("steps must be at least 1")
    times = [t_start * (steps - i) / steps for i in range(steps + 1)]
    for t, t_next in zip(times[:-1], times[1:], strict=True):
        eps = model(x, t)
        x0 = tweedie(x, eps, schedule, t)
        if t_next <= 0.0:
            x = x0
        else:
            a, s = schedule.alpha(t), schedule.std(t)
            a_next, s_next = schedule.alpha(t_next), schedule.std(t_next)
            c = eta * math.sqrt(max(0.0, (s_next**2 / s**2) * (1.0 - a**2 / a_next**2)))
            x = a_next * x0 + math.sqrt(max(0.0, s_next**2 - c**2)) * eps
            if c > 0.0:
                x = x + c * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        if on_step:
            on_step()
    return x
