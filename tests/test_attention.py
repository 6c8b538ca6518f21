"""Windowed self-attention: each window attends only within itself, edge windows are cut short, not padded."""

import pytest
import torch

from eqdenoise.nets import attention
from eqdenoise.nets.attention import WindowAttention


def plain_attention(block: WindowAttention, x: torch.Tensor) -> torch.Tensor:
    """The block's residual on one whole (N, C, h, w) window, written out without windows or masks."""
    n, c, h, w = x.shape
    tokens = block.norm(x.flatten(2).transpose(1, 2))
    q, k, v = block.qkv(tokens).chunk(3, dim=-1)
    split = [t.unflatten(-1, (block.heads, c // block.heads)).transpose(1, 2) for t in (q, k, v)]
    weights = torch.softmax(split[0] @ split[1].transpose(-1, -2) / (c // block.heads) ** 0.5, dim=-1)
    mixed = (weights @ split[2]).transpose(1, 2).flatten(2)
    return x + block.proj(mixed).transpose(1, 2).reshape(n, c, h, w)


@pytest.mark.parametrize("scores_per_chunk", [2**24, 64])
def test_each_window_attends_within_itself_on_any_size(monkeypatch, scores_per_chunk):
    monkeypatch.setattr(attention, "SCORES_PER_CHUNK", scores_per_chunk)
    torch.manual_seed(0)
    block = WindowAttention(8, window=4, heads=2)
    torch.nn.init.normal_(block.proj.weight)
    x = torch.randn(2, 8, 10, 7)
    with torch.no_grad():
        got = block(x)
        for top in range(0, 10, 4):
            for left in range(0, 7, 4):
                window = x[:, :, top:top + 4, left:left + 4]
                assert torch.allclose(got[:, :, top:top + 4, left:left + 4], plain_attention(block, window), atol=1e-5)


def test_a_new_block_is_the_identity():
    x = torch.randn(1, 8, 5, 6)
    assert torch.equal(WindowAttention(8, window=4, heads=2)(x), x)
