"""A gray denoiser as the ε-predictor of a colour image: it denoises each opponent channel, as CBM3D does.

The orthonormal opponent transform (luma (R+G+B)/√3 and the chroma (R−B)/√2 and (R−2G+B)/√6) keeps
white noise white, so on the colour forward process x_t = (x0 + σε)/√(1+σ²) each opponent channel is a
gray forward process with the same ε. The luma is fed as the mean of the channels, (R+G+B)/3, so that it
stays on the gray range [−1, 1]: its noise-to-signal ratio becomes σ/√3. The chroma are centred on 0
(mid-grey) and fed at σ. The gray network's ε of each channel, mapped back, is the colour ε.
"""

from __future__ import annotations

import math

import torch
from torch import nn

OPPONENT = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0], [1.0, -2.0, 1.0]])
OPPONENT = OPPONENT / OPPONENT.norm(dim=1, keepdim=True)
GAINS = torch.tensor([1.0 / math.sqrt(3.0), 1.0, 1.0])


def mix_channels(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``matrix`` applied to the channels of an (N, C, H, W) batch, elementwise (stays float32 under autocast)."""
    return (matrix.view(1, *matrix.shape, 1, 1) * x.unsqueeze(1)).sum(dim=2)


class OpponentDenoiser(nn.Module):
    """ε of a colour batch from a 1-channel ε-network run on its three opponent channels at once."""

    def __init__(self, gray: nn.Module) -> None:
        super().__init__()
        self.gray = gray
        self.stride = getattr(gray, "stride", 1)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Each opponent channel k scaled to gain g_k at noise g_k·σ, denoised in one batch, mapped back to RGB."""
        n, _, h, w = x.shape
        gains = GAINS.view(1, 3)
        channel_sigma = gains * sigma.view(n, 1)
        rescale = gains * torch.sqrt((1.0 + sigma.view(n, 1) ** 2) / (1.0 + channel_sigma**2))
        opponent = mix_channels(OPPONENT, x) * rescale.view(n, 3, 1, 1)
        gray_batch = opponent.transpose(0, 1).reshape(3 * n, 1, h, w)
        eps = self.gray(gray_batch.contiguous(memory_format=torch.channels_last), channel_sigma.t().reshape(3 * n))
        eps = eps.float().reshape(3, n, h, w).transpose(0, 1)
        return mix_channels(OPPONENT.t(), eps)
