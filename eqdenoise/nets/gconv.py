"""Group convolutions with tied weights (SPDM+WT, docs/method.md "Weight-tied networks"): lifting and group layers.

A feature map of C fields over a group G of |G| elements is a tensor (N, C·|G|, H, W), field-major: channel
``c·|G| + i`` is field c at the group's i-th element (``GROUPS[name].elements`` order). Under an input
transform g it transforms as ``F'(h) = g·F(g⁻¹h)``: turned in space, permuted along the group axis.

Weights are stored as GrouPy / Group-Diffusion's ``SplitGConv2D`` stores them, (C_out, C_in, |G_in|, k, k)
with one bias per output field, and expanded to an ordinary convolution kernel on every call:
for output element h the kernel is h·W[:, :, index(h⁻¹s)], turned in space and permuted along s.
So ``conv(g·x) = g·conv(x)`` up to float summation order, for every g in the group.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..frames.groups import Group


def inverse_products(group: Group) -> list[list[int]]:
    """``table[r][s]`` is the index of h_r⁻¹·h_s: where output element r reads input element s's weights."""
    elements = list(group)
    index = {element: i for i, element in enumerate(elements)}
    return [[index[h.inverse() * s] for s in elements] for h in elements]


def _uniform_(tensor: torch.Tensor, fan_in: int) -> None:
    """PyTorch's default convolution initialisation, U(−1/√fan_in, 1/√fan_in)."""
    bound = 1.0 / math.sqrt(fan_in)
    nn.init.uniform_(tensor, -bound, bound)


class LiftingConv(nn.Module):
    """Image (N, C_in, H, W) → fields (N, C_out·|G|, H, W): one kernel turned by every element of the group."""

    def __init__(self, group: Group, in_channels: int, out_fields: int, kernel: int = 3):
        super().__init__()
        self.group = group
        self.weight = nn.Parameter(torch.empty(out_fields, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(out_fields))
        _uniform_(self.weight, in_channels * kernel * kernel)
        _uniform_(self.bias, in_channels * kernel * kernel)

    def expanded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The ordinary kernel (C_out·|G|, C_in, k, k) and bias (C_out·|G|)."""
        turned = torch.stack([h.apply(self.weight) for h in self.group], dim=1)
        return turned.flatten(0, 1), self.bias.repeat_interleave(len(self.group))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.expanded()
        return F.conv2d(x, weight, bias, padding=weight.shape[-1] // 2)


class GroupConv(nn.Module):
    """Fields (N, C_in·|G|, H, W) → fields (N, C_out·|G|, H, W), weights tied across the group (SPDM §4.2)."""

    def __init__(self, group: Group, in_fields: int, out_fields: int, kernel: int = 3):
        super().__init__()
        self.group = group
        self.register_buffer("reads", torch.tensor(inverse_products(group)), persistent=False)
        self.weight = nn.Parameter(torch.empty(out_fields, in_fields, len(group), kernel, kernel))
        self.bias = nn.Parameter(torch.empty(out_fields))
        fan_in = in_fields * len(group) * kernel * kernel
        _uniform_(self.weight, fan_in)
        _uniform_(self.bias, fan_in)

    def expanded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The ordinary kernel (C_out·|G|, C_in·|G|, k, k) and bias (C_out·|G|)."""
        turned = torch.stack([h.apply(self.weight[:, :, self.reads[r]]) for r, h in enumerate(self.group)], dim=1)
        return turned.flatten(0, 1).flatten(1, 2), self.bias.repeat_interleave(len(self.group))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.expanded()
        return F.conv2d(x, weight, bias, padding=weight.shape[-1] // 2)


def pool_over_group(x: torch.Tensor, group: Group) -> torch.Tensor:
    """Fields (N, C·|G|, H, W) → image (N, C, H, W), the mean over the group axis: turns as the input turns."""
    n, channels, height, width = x.shape
    return x.view(n, channels // len(group), len(group), height, width).mean(dim=2)
