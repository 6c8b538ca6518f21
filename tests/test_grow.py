"""Growing a U-Net in depth and width keeps its function and lets the new weights learn."""

import pytest
import torch

from eqdenoise.nets.grow import can_grow, grown_weights
from eqdenoise.nets.unet import UNet


def randomised(network: UNet) -> UNet:
    """Every weight random, including the zero-initialised last convolutions, so no path is trivially zero."""
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.normal_(0.0, 0.2)
    return network


ARCH = {"name": "unet", "channels": 1, "base": 4, "mults": [1, 2, 4], "blocks": 1, "emb_dim": 16}


@pytest.mark.parametrize(("base", "blocks", "attention", "channels", "in_channels"),
                         [(4, 3, 0, 1, None), (6, 1, 0, 1, None), (8, 2, 0, 3, None), (6, 2, 0, 1, 2), (4, 1, 2, 1, None),
                          (8, 2, 2, 3, None)])
def test_grown_network_computes_the_same_function(base, blocks, attention, channels, in_channels):
    small = randomised(UNet(channels, 4, (1, 2, 4), 1, emb_dim=16, in_channels=in_channels)).eval()
    large = UNet(channels, base, (1, 2, 4), blocks, emb_dim=16, in_channels=in_channels, attention=attention).eval()
    large.load_state_dict(grown_weights(small, large))
    x = torch.randn(2, in_channels or channels, 12, 20)
    sigma = torch.tensor([0.05, 3.0])
    with torch.no_grad():
        expected, got = small(x, sigma), large(x, sigma)
    assert torch.allclose(expected, got, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))
    assert sum(p.numel() for p in large.parameters()) > sum(p.numel() for p in small.parameters())


def test_deepening_keeps_a_trained_attention():
    small = randomised(UNet(1, 4, (1, 2, 4), 1, emb_dim=16, attention=2)).eval()
    large = UNet(1, 4, (1, 2, 4), 3, emb_dim=16, attention=2).eval()
    large.load_state_dict(grown_weights(small, large))
    x, sigma = torch.randn(2, 1, 12, 20), torch.tensor([0.05, 3.0])
    with torch.no_grad():
        expected, got = small(x, sigma), large(x, sigma)
    assert torch.allclose(expected, got, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))


def test_added_channels_carry_signal_and_receive_gradient():
    small = randomised(UNet(1, 4, (1, 2), 1, emb_dim=16))
    large = UNet(1, 8, (1, 2), 1, emb_dim=16)
    large.load_state_dict(grown_weights(small, large))
    large(torch.randn(2, 1, 8, 8), torch.tensor([0.3, 1.0])).square().sum().backward()
    cross = large.down[0][0].conv1.weight.grad[:4, 4:]
    assert cross.abs().sum() > 0


def test_can_grow_only_upward_on_every_level():
    assert can_grow(ARCH, {**ARCH, "base": 6, "blocks": 2})
    assert not can_grow(ARCH, {**ARCH, "base": 2})
    assert not can_grow(ARCH, {**ARCH, "blocks": 0})
    assert not can_grow(ARCH, {**ARCH, "mults": [1, 2, 4, 8]})
    assert not can_grow(ARCH, {**ARCH, "channels": 3})
    assert can_grow(ARCH, {**ARCH, "attention": 8}) and can_grow({**ARCH, "attention": 8}, {**ARCH, "attention": 8})
    assert not can_grow({**ARCH, "attention": 8}, ARCH) and not can_grow({**ARCH, "attention": 8}, {**ARCH, "attention": 4})
    assert can_grow({**ARCH, "attention": 8}, {**ARCH, "attention": 8, "blocks": 2})
    assert not can_grow({**ARCH, "attention": 8}, {**ARCH, "attention": 8, "base": 8})
    assert not can_grow({**ARCH, "mults": [1, 1, 2]}, {**ARCH, "base": 4, "mults": [1, 2, 4]})
