"""A small fully convolutional U-Net with noise-level conditioning that accepts any H×W.

The spatial size must be a multiple of ``UNet.stride``; the pipeline pads to it (in the canonical
frame, so padding cannot break equivariance).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import WindowAttention


def noise_embedding(sigma: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of c_noise = log(σ)/4, one row per batch item."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=sigma.device) * (-math.log(1e3) / half))
    angles = (torch.log(sigma.float()) / 4.0)[:, None] * freqs[None, :] * 100.0
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


def encode(levels: nn.ModuleList, h: torch.Tensor, emb: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The U-Net's way down: each level's blocks after a 2×2 average pooling (not before the first); its skips."""
    skips = []
    for i, level in enumerate(levels):
        if i > 0:
            h = F.avg_pool2d(h, 2)
        for block in level:
            h = block(h, emb)
        skips.append(h)
    return h, skips


def decode(levels: nn.ModuleList, h: torch.Tensor, emb: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
    """The way up: nearest upsampling (not before the first level), the level's skip concatenated, its blocks."""
    for i, level in enumerate(levels):
        if i > 0:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = torch.cat([h, skips.pop()], dim=1)
        for block in level:
            h = block(h, emb)
    return h


class ResBlock(nn.Module):
    """Two 3×3 convolutions with a residual path and a FiLM scale/shift from the noise embedding."""

    def __init__(self, ch_in: int, ch_out: int, emb_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch_in, ch_out, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * ch_out)
        self.conv2 = nn.Conv2d(ch_out, ch_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(ch_in, ch_out, 1) if ch_in != ch_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(x))
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.conv2(F.silu(h * (1 + scale) + shift))
        return self.skip(x) + h


class UNet(nn.Module):
    """Noise-conditional U-Net, (x_t[, source], σ_t or t) → ε or x0; 2×2 average pooling, nearest upsampling.

    ``attention`` > 0 puts windowed self-attention (windows of that many deepest-level positions a side)
    between the two middle blocks. ``unshuffle`` = r > 1 runs the whole U-Net on the r² sub-images of
    the input (pixel unshuffle, as FFDNet does) and shuffles its r²·C output channels back, which
    divides the arithmetic of every level by r² for the same widths.
    """

    def __init__(self, channels: int = 1, base: int = 32, mults: tuple[int, ...] = (1, 2, 4),
                 blocks: int = 1, emb_dim: int = 128, in_channels: int | None = None, attention: int = 0,
                 unshuffle: int = 1):
        super().__init__()
        self.channels = channels
        self.in_channels = in_channels or channels
        self.emb_dim = emb_dim
        self.unshuffle = unshuffle
        self.stride = unshuffle * 2 ** (len(mults) - 1)
        self.embed = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.conv_in = nn.Conv2d(self.in_channels * unshuffle**2, base * mults[0], 3, padding=1)
        widths = [base * m for m in mults]
        self.down = nn.ModuleList()
        ch = widths[0]
        skips = []
        for width in widths:
            level = nn.ModuleList()
            for _ in range(blocks):
                level.append(ResBlock(ch, width, emb_dim))
                ch = width
            self.down.append(level)
            skips.append(ch)
        self.mid = nn.ModuleList([ResBlock(ch, ch, emb_dim), ResBlock(ch, ch, emb_dim)])
        self.attention = WindowAttention(ch, attention) if attention else None
        self.up = nn.ModuleList()
        for width, skip in zip(reversed(widths), reversed(skips), strict=True):
            level = nn.ModuleList()
            for i in range(blocks):
                level.append(ResBlock(ch + (skip if i == 0 else 0), width, emb_dim))
                ch = width
            self.up.append(level)
        self.conv_out = nn.Conv2d(ch, channels * unshuffle**2, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Predict for a batch (N, in_channels, H, W) at per-sample positive noise conditions σ (N,)."""
        if x.shape[-2] % self.stride or x.shape[-1] % self.stride:
            raise ValueError(f"spatial size {tuple(x.shape[-2:])} is not a multiple of {self.stride}")
        emb = self.embed(noise_embedding(sigma.expand(x.shape[0]), self.emb_dim))
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        h, skips = encode(self.down, self.conv_in(x), emb)
        h = self.mid[0](h, emb)
        if self.attention is not None:
            h = self.attention(h)
        h = decode(self.up, self.mid[1](h, emb), emb, skips)
        out = self.conv_out(F.silu(h))
        return F.pixel_shuffle(out, self.unshuffle) if self.unshuffle > 1 else out
