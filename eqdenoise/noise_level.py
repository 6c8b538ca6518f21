"""Blind estimate of Gaussian noise level from fine-scale Haar wavelet coefficients (Donoho 1995)."""

from __future__ import annotations

import torch

MAD_TO_STD = 0.6744897501960817


def estimate_sigma(x: torch.Tensor) -> float:
    """Noise std of x (same units as x) as median(|HH|)/0.6745 over all channels' diagonal details.

    The Haar grid starts at pixel (0, 0), so callers run it in the canonical frame to make the
    estimate independent of the input's orientation.
    """
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    if h == 0 or w == 0:
        return 0.0
    y = x[..., :h, :w].double()
    diagonal = (y[..., 0::2, 0::2] - y[..., 0::2, 1::2] - y[..., 1::2, 0::2] + y[..., 1::2, 1::2]) / 2
    return float(diagonal.abs().flatten().median()) / MAD_TO_STD
