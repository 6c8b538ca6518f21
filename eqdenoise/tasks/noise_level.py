"""Blind estimate of the Gaussian noise level from the patch covariance of weakly textured patches.

Patches whose gradient energy is below what noise alone would reach (Liu, Tanaka & Okutomi 2013)
are kept while there are enough of them for a stable covariance; the noise variance is the mean of
the trailing covariance eigenvalues from where their mean no longer exceeds their median (Chen,
Zhu & Heng 2015), iterated until the selection is stable.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from scipy.stats import gamma

PATCH = 7
MAX_PATCH_VALUES = 65536 * PATCH * PATCH
CONFIDENCE = 0.99
MAX_ITERATIONS = 10
MIN_PATCHES_PER_DIMENSION = 50


def estimate_sigma(x: torch.Tensor) -> float:
    """Noise std of x (same units as x); leading axes are channels of one image (…, H, W).

    The patch grid is subsampled from pixel (0, 0), so callers run it in the canonical frame to make
    the estimate independent of the input's orientation.
    """
    image = x.detach().reshape(-1, *x.shape[-2:]).numpy()
    if min(image.shape[1:]) < PATCH:
        return _flat_sigma(image.astype(np.float64))
    patches = _patches(image)
    texture, unit_threshold = _texture(patches, image.shape[0])
    selected, variance = patches, None
    for _ in range(MAX_ITERATIONS):
        estimate = _tail_eigen_mean(selected)
        if variance is not None and estimate == variance:
            break
        variance = estimate
        keep = texture < variance * unit_threshold
        if keep.sum() < MIN_PATCHES_PER_DIMENSION * patches.shape[1]:
            break
        selected = patches[keep]
    return float(np.sqrt(max(variance, 0.0)))


def _flat_sigma(image: np.ndarray) -> float:
    """Std of horizontal pixel differences / √2: the fallback for images smaller than one patch."""
    if image.shape[-1] < 2:
        return 0.0
    return float(np.std(np.diff(image, axis=-1)) / np.sqrt(2.0))


def _patches(image: np.ndarray) -> np.ndarray:
    """All overlapping PATCH×PATCH patches (channels stacked, float64), on a grid thinned to at most MAX_PATCH_VALUES values."""
    windows = sliding_window_view(image, (PATCH, PATCH), axis=(1, 2))
    most = MAX_PATCH_VALUES // (image.shape[0] * PATCH * PATCH)
    stride = max(1, int(np.ceil(np.sqrt(windows.shape[1] * windows.shape[2] / most))))
    windows = windows[:, ::stride, ::stride]
    return np.ascontiguousarray(windows.transpose(1, 2, 0, 3, 4), dtype=np.float64).reshape(-1, image.shape[0] * PATCH * PATCH)


def _texture(patches: np.ndarray, channels: int) -> tuple[np.ndarray, float]:
    """Gradient energy of each patch, and its 99% quantile per unit noise variance for a flat patch."""
    derivative = np.zeros((PATCH - 2, PATCH))
    derivative[np.arange(PATCH - 2), np.arange(PATCH - 2)] = -0.5
    derivative[np.arange(PATCH - 2), np.arange(2, PATCH)] = 0.5
    identity = np.eye(PATCH)
    operators = [np.kron(np.eye(channels), np.kron(identity, derivative)),
                 np.kron(np.eye(channels), np.kron(derivative, identity))]
    texture = sum(((patches @ d.T) ** 2).sum(axis=1) for d in operators)
    trace = sum(float(np.trace(d.T @ d)) for d in operators)
    dimension = patches.shape[1]
    return texture, float(gamma.ppf(CONFIDENCE, dimension / 2, scale=2 * trace / dimension))


def _tail_eigen_mean(patches: np.ndarray) -> float:
    """Mean of the trailing covariance eigenvalues from where their mean stops exceeding their median."""
    centred = patches - patches.mean(axis=0)
    eigenvalues = np.sort(np.linalg.eigvalsh(centred.T @ centred / len(centred)))[::-1]
    for start in range(len(eigenvalues)):
        tail = eigenvalues[start:]
        mean = tail.mean()
        if np.count_nonzero(tail > mean) >= np.count_nonzero(tail < mean):
            return float(mean)
    return float(eigenvalues[-1])
