"""Tweedie and DDIM with an oracle denoiser, and DDIM's step count."""

import pytest
import torch

from eqdenoise.diffusion.samplers import ddim_sample, gaussian, tweedie
from eqdenoise.diffusion.schedule import CosineSchedule

schedule = CosineSchedule()


def test_tweedie_and_ddim_recover_x0_with_an_oracle():
    x0 = torch.rand(1, 1, 8, 8) * 1.8 - 0.9
    eps = torch.randn_like(x0)
    t = 0.6
    x_t = schedule.alpha(t) * x0 + schedule.std(t) * eps
    assert torch.allclose(tweedie(x_t, eps, schedule, t), x0, atol=1e-5)

    def oracle(x, time):
        return x0.clone()

    for eta in (0.0, 1.0):
        out = ddim_sample(oracle, schedule, x_t, t, steps=5, eta=eta, noise=gaussian(torch.Generator().manual_seed(0)))
        assert torch.allclose(out, x0, atol=1e-4)


def test_ddim_counts_steps_and_rejects_zero():
    calls = []
    ddim_sample(lambda x, t: torch.zeros_like(x), schedule, torch.zeros(1, 1, 4, 4), 0.5, 4,
                on_step=lambda: calls.append(1))
    assert len(calls) == 4
    with pytest.raises(ValueError):
        ddim_sample(lambda x, t: x, schedule, torch.zeros(1, 1, 4, 4), 0.5, 0)
