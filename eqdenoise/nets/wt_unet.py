"""A noise-conditional U-Net of weight-tied group convolutions, equivariant by construction (SPDM+WT).

The same shape as ``unet.UNet`` with every convolution replaced by its group version: a lifting convolution,
residual blocks of group convolutions whose FiLM scale and shift are one per field (shared along the group
axis), 2×2 average pooling and nearest upsampling (they commute with the group on sizes that are multiples
of the stride), and the mean over the group at the end. ``f(g·x) = g·f(x)`` holds up to float rounding
for every g of ``group`` on any input whose sides are multiples of ``stride``; ``symmetric_call`` extends
that to any size.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..frames.groups import Group, get_group
from .gconv import GroupConv, LiftingConv, pool_over_group
from .unet import decode, encode, noise_embedding


class GroupResBlock(nn.Module):
    """Two 3×3 group convolutions with a residual path and a per-field FiLM from the noise embedding."""

    def __init__(self, group: Group, fields_in: int, fields_out: int, emb_dim: int):
        super().__init__()
        self.order = len(group)
        self.conv1 = GroupConv(group, fields_in, fields_out)
        self.film = nn.Linear(emb_dim, 2 * fields_out)
        self.conv2 = GroupConv(group, fields_out, fields_out)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = GroupConv(group, fields_in, fields_out, kernel=1) if fields_in != fields_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(x))
        scale, shift = self.film(emb).repeat_interleave(self.order, dim=1)[:, :, None, None].chunk(2, dim=1)
        h = self.conv2(F.silu(h * (1 + scale) + shift))
        return self.skip(x) + h


class WTUNet(nn.Module):
    """Noise-conditional group-equivariant U-Net, (x_t[, source], σ_t or t) → ε or x0; widths count fields."""

    def __init__(self, group: str = "d4", channels: int = 1, base: int = 4, mults: tuple[int, ...] = (1, 2, 4),
                 blocks: int = 1, emb_dim: int = 128, in_channels: int | None = None):
        super().__init__()
        self.group = get_group(group)
        self.channels = channels
        self.in_channels = in_channels or channels
        self.emb_dim = emb_dim
        self.unshuffle = 1
        self.stride = 2 ** (len(mults) - 1)
        self.embed = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        widths = [base * m for m in mults]
        self.conv_in = LiftingConv(self.group, self.in_channels, widths[0])
        self.down = nn.ModuleList()
        fields, skips = widths[0], []
        for width in widths:
            level = nn.ModuleList()
            for _ in range(blocks):
                level.append(GroupResBlock(self.group, fields, width, emb_dim))
                fields = width
            self.down.append(level)
            skips.append(fields)
        self.mid = nn.ModuleList([GroupResBlock(self.group, fields, fields, emb_dim) for _ in range(2)])
        self.up = nn.ModuleList()
        for width, skip in zip(reversed(widths), reversed(skips), strict=True):
            level = nn.ModuleList()
            for i in range(blocks):
                level.append(GroupResBlock(self.group, fields + (skip if i == 0 else 0), width, emb_dim))
                fields = width
            self.up.append(level)
        self.conv_out = GroupConv(self.group, fields, channels)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Predict for a batch (N, in_channels, H, W), H and W multiples of ``stride``, at noise conditions σ (N,)."""
        if x.shape[-2] % self.stride or x.shape[-1] % self.stride:
            raise ValueError(f"spatial size {tuple(x.shape[-2:])} is not a multiple of {self.stride}")
        emb = self.embed(noise_embedding(sigma.expand(x.shape[0]), self.emb_dim))
        h, skips = encode(self.down, self.conv_in(x), emb)
        for block in self.mid:
            h = block(h, emb)
        h = decode(self.up, h, emb, skips)
        return pool_over_group(self.conv_out(F.silu(h)), self.group)


def symmetrically_padded(fn: Callable[..., torch.Tensor], stride: int) -> Callable[..., torch.Tensor]:
    """``fn(x, ...)`` on any H×W for a network that needs multiples of ``stride``, keeping its equivariance.

    An even side is reflection-padded by the same amount at both ends to a multiple of the stride and the
    output cropped back. An odd side cannot be (an even total split evenly leaves it odd), so it is first
    doubled by nearest upsampling and the output averaged back over pixel pairs; both commute with the group.
    """

    def call(x: torch.Tensor, *args) -> torch.Tensor:
        height, width = x.shape[-2:]
        doubled = (height % 2 == 1 and stride > 1, width % 2 == 1 and stride > 1)
        x = x.repeat_interleave(1 + doubled[0], dim=-2).repeat_interleave(1 + doubled[1], dim=-1)
        pads = [(-size) % stride // 2 for size in x.shape[-2:]]
        mode = "reflect" if pads[0] < x.shape[-2] and pads[1] < x.shape[-1] else "replicate"
        padded = F.pad(x, (pads[1], pads[1], pads[0], pads[0]), mode=mode) if any(pads) else x
        out = fn(padded, *args)
        out = out[..., pads[0]:out.shape[-2] - pads[0], pads[1]:out.shape[-1] - pads[1]]
        return F.avg_pool2d(out, (1 + doubled[0], 1 + doubled[1])) if any(doubled) else out

    return call


def symmetric_call(network: WTUNet, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``network(x, σ)`` on any H×W, equivariant as the network is (see ``symmetrically_padded``)."""
    return symmetrically_padded(network, network.stride)(x, sigma)
