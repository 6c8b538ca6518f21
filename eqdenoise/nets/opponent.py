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
    """ε of a colour batch from a 1-channel ε-network run on its three opponent channels.

    With ``guide`` the network sees two channels: the opponent channel and the mean (luma) channel of the same
    state, so the colour channels can follow the edges of the mean (CBM3D matches blocks on it for the same reason).
    With a ``chroma`` network (split) ``gray`` denoises the mean channel alone and ``chroma``, guided by the mean,
    the two colour differences, so each can have its own width.
    """

    def __init__(self, gray: nn.Module, guide: bool = False, chroma: nn.Module | None = None) -> None:
        super().__init__()
        self.gray = gray
        self.guide = guide or chroma is not None
        self.chroma = chroma
        self.channels = self.in_channels = 3
        self.stride = gray.stride if chroma is None else max(gray.stride, chroma.stride)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The scaled opponent channels at noise σ/√3 (re-normalised to that forward process), denoised, mapped back."""
        n, _, h, w = x.shape
        sigma = sigma.expand(n)
        channel_sigma = sigma * NOISE_GAIN
        rescale = torch.sqrt((1.0 + sigma**2) / (1.0 + channel_sigma**2)).view(n, 1, 1, 1)
        planes = to_opponent(x) * rescale
        if self.chroma is None:
            eps = _planes_through(self.gray, planes, planes[:, :1] if self.guide else None, channel_sigma)
        else:
            luma = _planes_through(self.gray, planes[:, :1], None, channel_sigma)
            eps = torch.cat([luma, _planes_through(self.chroma, planes[:, 1:], planes[:, :1], channel_sigma)], dim=1)
        return mix_channels(OPPONENT.t(), eps.float())


def _planes_through(network: nn.Module, planes: torch.Tensor, guide: torch.Tensor | None,
                    sigma: torch.Tensor) -> torch.Tensor:
    """ε of each plane of an (N, K, H, W) batch at noise ``sigma`` (N,), each beside ``guide`` (N, 1, H, W) if given.

    One image's planes go through the network one at a time (as the predictor runs one image a pass, which measured
    faster on CPU than a batch); a training batch goes through at once.
    """
    n, k, h, w = planes.shape
    if guide is None:
        inputs = planes.reshape(k * n, 1, h, w)
    else:
        inputs = torch.stack([planes, guide.expand(n, k, h, w)], dim=2).reshape(k * n, 2, h, w)
    inputs = inputs.contiguous(memory_format=torch.channels_last)
    sigmas = sigma.repeat_interleave(k)
    if n == 1:
        eps = torch.cat([network(inputs[i:i + 1], sigmas[i:i + 1]) for i in range(k)])
    else:
        eps = network(inputs, sigmas)
    return eps.float().reshape(n, k, h, w)


GUIDE_SCALE = 0.03


def opponent_weights(gray: dict[str, torch.Tensor], guide: bool, unshuffle: int) -> dict[str, torch.Tensor]:
    """An ``OpponentDenoiser``'s weights from a gray network's: its weights, and with ``guide`` random weights from the
    guide channel (whose r² sub-images follow the channel's own in the pixel-unshuffled input) at ``GUIDE_SCALE`` of
    the spread of the first layer's. Zero would keep the gray function, but the mean channel tells little that is
    linear about a colour difference's noise, so at zero their gradient is weak (docs/method.md)."""
    weights = {f"gray.{key}": value.clone() for key, value in gray.items()}
    if guide:
        first = weights["gray.conv_in.weight"]
        if first.shape[1] != unshuffle**2:
            raise ValueError(f"the gray network's first layer takes {first.shape[1]} channels, not {unshuffle**2}")
        weights["gray.conv_in.weight"] = torch.cat([first, torch.randn_like(first) * first.std() * GUIDE_SCALE], dim=1)
    return weights


def luma_weights(network: nn.Module) -> dict[str, torch.Tensor]:
    """Weights of a 1-channel gray U-Net that is ``network`` on the mean channel: a gray U-Net's own, a split
    opponent network's mean network, or a guided one's with each guide weight of the first layer added to its
    channel's own (on the mean channel the guide is the channel itself, so the function is kept)."""
    if not isinstance(network, OpponentDenoiser):
        return {key: value.clone() for key, value in network.state_dict().items()}
    weights = {key: value.clone() for key, value in network.gray.state_dict().items()}
    if network.guide and network.chroma is None:
        first = weights["conv_in.weight"]
        half = first.shape[1] // 2
        weights["conv_in.weight"] = first[:, :half] + first[:, half:]
    return weights
