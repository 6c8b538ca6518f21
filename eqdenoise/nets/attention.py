"""Self-attention within non-overlapping windows of a feature map: a learned non-local mean.

Each position attends to every position of its window (window × window positions; the last row and
column of windows are cut short by the map's edge, handled by masking the padding). The block is a
residual whose output projection starts at zero, so adding it to a trained network keeps its function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SCORES_PER_CHUNK = 2**24
"""Attention scores held at once (64 MiB of float32): windows are processed in chunks of at most this many."""


class WindowAttention(nn.Module):
    """x + proj(MHSA(LayerNorm(x))) within each window; any H×W."""

    def __init__(self, channels: int, window: int, heads: int = 4):
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels do not split into {heads} heads")
        self.window, self.heads = window, heads
        self.norm = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend within windows of a (N, C, H, W) map and add the result to it."""
        n, c, h, w = x.shape
        k = self.window
        pad_h, pad_w = -h % k, -w % k
        tokens = F.pad(x, (0, pad_w, 0, pad_h))
        valid = F.pad(torch.ones(n, 1, h, w, dtype=torch.bool, device=x.device), (0, pad_w, 0, pad_h))
        rows, cols = (h + pad_h) // k, (w + pad_w) // k
        tokens = _windows(tokens, k)
        mask = _windows(valid, k)[:, None, None, :, 0]
        q, kv = self.qkv(self.norm(tokens)).split([c, 2 * c], dim=-1)
        key, value = kv.chunk(2, dim=-1)
        heads = [t.unflatten(-1, (self.heads, c // self.heads)).transpose(1, 2) for t in (q, key, value)]
        chunk = max(1, SCORES_PER_CHUNK // (self.heads * (k * k) ** 2))
        mixed = torch.cat([F.scaled_dot_product_attention(*(t[i:i + chunk] for t in heads), attn_mask=mask[i:i + chunk])
                           for i in range(0, len(mask), chunk)]).transpose(1, 2).flatten(2)
        out = self.proj(mixed).reshape(n, rows, cols, k, k, c).permute(0, 5, 1, 3, 2, 4)
        return x + out.reshape(n, c, rows * k, cols * k)[:, :, :h, :w]


def _windows(x: torch.Tensor, k: int) -> torch.Tensor:
    """(N, C, H, W) with H, W multiples of k → (N · windows, k · k, C)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // k, k, w // k, k).permute(0, 2, 4, 3, 5, 1).reshape(-1, k * k, c)
