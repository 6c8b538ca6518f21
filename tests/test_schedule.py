"""The VP cosine schedule: variance preservation, σ ↔ t, and the forward process."""

import pytest
import torch

from eqdenoise.diffusion.schedule import CosineSchedule

schedule = CosineSchedule()


@pytest.mark.parametrize("t", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_schedule_is_variance_preserving_and_invertible(t):
    assert schedule.alpha(t) ** 2 + schedule.std(t) ** 2 == pytest.approx(1.0)
    assert schedule.sigma(t) == pytest.approx(schedule.std(t) / schedule.alpha(t))
    assert schedule.t_of_sigma(schedule.sigma(t)) == pytest.approx(t)
    assert schedule.sigma(1.0) == pytest.approx(schedule.sigma_max)


def test_add_noise_matches_forward_process():
    x0, eps = torch.rand(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    t = 0.3
    sigma = torch.full((2,), schedule.sigma(t))
    expected = schedule.alpha(t) * x0 + schedule.std(t) * eps
    assert torch.allclose(schedule.add_noise(x0, eps, sigma), expected, atol=1e-6)
