"""The bridge sampler with an oracle: marginals, determinism after the first step, one-step prediction."""

from __future__ import annotations

import pytest
import torch

from eqdenoise.diffusion.bridge_schedule import BrownianBridge
from eqdenoise.diffusion.samplers import bridge_sample, gaussian

bridge = BrownianBridge(beta=1.0)


def _recording_oracle(x0: torch.Tensor, seen: dict):
    def model(x, t):
        seen[round(t, 6)] = x.clone()
        return x0

    return model


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_sampler_with_an_oracle_keeps_the_bridge_marginals_and_ends_on_x0(eta):
    x0 = torch.full((1, 1, 160, 160), -0.4)
    y = torch.full((1, 1, 160, 160), 0.6)
    seen: dict = {}
    out = bridge_sample(_recording_oracle(x0, seen), bridge, y, steps=4, eta=eta,
                        noise=gaussian(torch.Generator().manual_seed(1)))
    assert torch.equal(out, x0)
    assert torch.equal(seen[1.0], y)
    for t in (0.75, 0.5, 0.25):
        state = seen[t]
        assert float(state.mean()) == pytest.approx((1 - t) * -0.4 + t * 0.6, abs=0.01)
        assert float(state.std()) == pytest.approx(bridge.std(t), rel=0.03)


def test_deterministic_after_the_first_step_and_seeded():
    x0 = torch.zeros((1, 1, 16, 16))

    def model(x, t):
        return torch.tanh(x) * 0.5 + x0

    y = torch.rand((1, 1, 16, 16)) * 2 - 1
    a = bridge_sample(model, bridge, y, steps=5, eta=0.0, noise=gaussian(torch.Generator().manual_seed(3)))
    b = bridge_sample(model, bridge, y, steps=5, eta=0.0, noise=gaussian(torch.Generator().manual_seed(3)))
    c = bridge_sample(model, bridge, y, steps=5, eta=0.0, noise=gaussian(torch.Generator().manual_seed(4)))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_one_step_is_the_networks_prediction_at_the_source():
    y = torch.rand((1, 1, 8, 8)) * 2 - 1
    out = bridge_sample(lambda x, t: (x * 0.5) if t == 1.0 else None, bridge, y, steps=1)
    assert torch.equal(out, y * 0.5)
