"""A documented PET-like simulator for CT slices: tissue activity from HU, scanner blur, low-count noise.

No real PET data installs offline, so the shipped CT → PET bridge learns from targets made here:
    activity  a = A(class(HU))                      (table ``TISSUES``)
    mean      m = G_post * (G_psf * a)              (Gaussian PSF of FWHM ``fwhm_px``, post-filter)
    target    p = G_post * (Poisson(k·(G_psf * a)) / k)   (k counts per unit activity)
Every filter is an isotropic Gaussian with mirror boundaries, so the simulator commutes with D4.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

TISSUES: tuple[tuple[str, float, float], ...] = (
    ("air", -900.0, 0.0),
    ("lung", -400.0, 0.1),
    ("fat", -20.0, 0.25),
    ("soft tissue", 120.0, 1.0),
    ("dense tissue or contrast", 300.0, 0.6),
    ("bone", math.inf, 0.3),
)
"""(class, upper HU bound, activity): a voxel belongs to the first class whose bound exceeds its HU."""


def _gaussian_filter(values: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(values, sigma=sigma, mode="mirror")


@dataclass(frozen=True)
class PetSimulator:
    """Scanner resolution (FWHM in pixels), counts per unit activity, and the reconstruction post-filter σ."""

    fwhm_px: float = 6.0
    counts_per_unit: float = 12.0
    post_filter_px: float = 1.0

    def activity(self, hu: np.ndarray) -> np.ndarray:
        """Piecewise-constant activity per tissue class of ``TISSUES``."""
        bounds = np.array([upper for _, upper, _ in TISSUES[:-1]])
        levels = np.array([level for _, _, level in TISSUES])
        return levels[np.searchsorted(bounds, hu, side="right")].astype(np.float64)

    def blurred(self, hu: np.ndarray) -> np.ndarray:
        """Activity seen through the scanner's Gaussian point-spread function."""
        return _gaussian_filter(self.activity(hu), self.fwhm_px / (2.0 * math.sqrt(2.0 * math.log(2.0))))

    def mean(self, hu: np.ndarray) -> np.ndarray:
        """The noiseless expectation of ``sample``: the blurred activity after the post-filter."""
        return _gaussian_filter(self.blurred(hu), self.post_filter_px).astype(np.float32)

    def sample(self, hu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One low-count acquisition: Poisson counts of the blurred activity, rescaled and post-filtered."""
        counts = rng.poisson(self.counts_per_unit * self.blurred(hu))
        return _gaussian_filter(counts / self.counts_per_unit, self.post_filter_px).astype(np.float32)

    def to_config(self) -> dict:
        """Parameters and tissue table, for model cards and checkpoint records."""
        return {**asdict(self), "tissues": [{"class": c, "below_hu": b if math.isfinite(b) else None, "activity": a}
                                       for c, b, a in TISSUES]}
