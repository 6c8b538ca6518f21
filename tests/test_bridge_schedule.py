"""The Brownian bridge's marginals pin both ends and have the bridge variance."""

from __future__ import annotations

import math

import pytest
import torch

from eqdenoise.diffusion.bridge_schedule import BrownianBridge

bridge = BrownianBridge(beta=1.0)


def test_marginal_pins_both_ends_and_has_bridge_variance():
    g = torch.Generator().manual_seed(0)
    x0, y = torch.full((1, 1, 200, 200), -0.5), torch.full((1, 1, 200, 200), 0.25)
    eps = torch.randn(x0.shape, generator=g)
    assert torch.equal(bridge.marginal(x0, y, torch.tensor([0.0]), eps), x0)
    assert torch.equal(bridge.marginal(x0, y, torch.tensor([1.0]), eps), y)
    x = bridge.marginal(x0, y, torch.tensor([0.3]), eps)
    assert float(x.mean()) == pytest.approx(0.7 * -0.5 + 0.3 * 0.25, abs=0.01)
    assert float(x.std()) == pytest.approx(math.sqrt(0.3 * 0.7), rel=0.02)
