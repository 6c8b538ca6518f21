"""DDIM sampling (Song et al. 2021, eq. 12) with η interpolating between deterministic and ancestral.

Samplers see one kind of model, a ``Denoiser``: the clean estimate x̂0(x_t, t), whatever the checkpoint
predicts (EDM's D(x; σ); an ε network is wrapped by ``tweedie``, see ``predictors.eps_denoiser``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..schedule import CosineSchedule
from .contract import Denoiser, Noise, gaussian

StepCallback = Callable[[], None]


def tweedie(x_t: torch.Tensor, eps: torch.Tensor, schedule: CosineSchedule, t: float) -> torch.Tensor:
    """Posterior mean x0_hat = (x_t − s_t·ε_hat) / a_t (docs/method.md, "Diffusion"); the sampler clips it."""
    return torch.mul(eps, -schedule.std(t)).add_(x_t).div_(schedule.alpha(t))


def ddim_sample(denoise: Denoiser, schedule: CosineSchedule, x: torch.Tensor, t_start: float, steps: int,
                eta: float = 0.0, noise: Noise | None = None, on_step: StepCallback | None = None) -> torch.Tensor:
    """Run DDIM from state ``x`` at time ``t_start`` to t = 0 in ``steps`` uniform time steps.

    With one step this is the Tweedie (MMSE) estimate, clipped to [−1, 1]; later steps reuse the ε that
    x̂0 implies, ε̂ = (x_t − a_t·x̂0) / s_t (before clipping). Fresh noise for η > 0 comes from
    ``noise`` (default: the global generator), so the caller controls, and can make equivariant, every draw.
    """
    if steps < 1:
        raise ValueError("steps must be at least 1")
    times = [t_start * (steps - i) / steps for i in range(steps + 1)]
    for t, t_next in zip(times[:-1], times[1:], strict=True):
        x0 = denoise(x, t)
        if t_next <= 0.0:
            x = x0.clamp_(-1.0, 1.0)
        else:
            a, s = schedule.alpha(t), schedule.std(t)
            eps = (x - a * x0) / s
            x0 = x0.clamp_(-1.0, 1.0)
            a_next, s_next = schedule.alpha(t_next), schedule.std(t_next)
            c = eta * math.sqrt(max(0.0, (s_next**2 / s**2) * (1.0 - a**2 / a_next**2)))
            x = a_next * x0 + math.sqrt(max(0.0, s_next**2 - c**2)) * eps
            if c > 0.0:
                x = x + c * (noise or gaussian())(tuple(x.shape))
        if on_step:
            on_step()
    return x
