"""Gray denoisers on colour images through the opponent channels, as CBM3D does.

The orthonormal opponent transform (luma (R+G+B)/√3 and the chroma (R−B)/√2 and (R−2G+B)/√6) keeps
white noise white. Scaled by 1/√3 its luma is the mean of the channels, which stays on the gray range
[−1, 1], and the chroma are centred on 0 (mid-grey): three gray images, each with noise σ/√3 when the
colour image has noise σ. A gray network denoises them as one batch and the inverse maps the result back.
On the forward process x_t = (x0 + σε)/√(1+σ²) each scaled channel is a gray forward process at σ/√3
with the same ε, so the gray network's ε, mapped back, is the colour ε (``OpponentDenoiser``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

OPPONENT = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0], [1.0, -2.0, 1.0]])
OPPONENT = OPPONENT / OPPONENT.norm(dim=1, keepdim=True)
NOISE_GAIN = 1.0 / math.sqrt(3.0)


def mix_channels(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``matrix`` applied to the channels of an (N, C, H, W) batch, elementwise (stays float32 under autocast)."""
    return (matrix.view(1, *matrix.shape, 1, 1) * x.unsqueeze(1)).sum(dim=2)


def to_opponent(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) colour → (N, 3, H, W) scaled opponent channels: mean, (R−B)/√6, (R−2G+B)/(3√2)."""
    return mix_channels(OPPONENT * NOISE_GAIN, x)


def from_opponent(y: torch.Tensor) -> torch.Tensor:
    """Inverse of ``to_opponent``."""
    return mix_channels(OPPONENT.t() / NOISE_GAIN, y)


class OpponentDenoiser(nn.Module):
    """ε of a colour batch from a 1-channel ε-network run on its three opponent channels at once."""

    def __init__(self, gray: nn.Module) -> None:
        super().__init__()
        self.gray = gray

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The scaled opponent channels at noise σ/√3 (re-normalised to that forward process), denoised, mapped back."""
        n, _, h, w = x.shape
        channel_sigma = sigma * NOISE_GAIN
        rescale = torch.sqrt((1.0 + sigma**2) / (1.0 + channel_sigma**2)).view(n, 1, 1, 1)
        gray_batch = (to_opponent(x) * rescale).reshape(3 * n, 1, h, w)
        eps = self.gray(gray_batch.contiguous(memory_format=torch.channels_last), channel_sigma.repeat_interleave(3))
        return mix_channels(OPPONENT.t(), eps.float().reshape(n, 3, h, w))
