"""The verify task: measure |f(g·x) − g·f(x)| for every group element on the user's own image."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..files.imageio import quantize
from .groups import Element, Group

Pipeline = Callable[[np.ndarray], np.ndarray]
ProgressFn = Callable[[int, int], None]


@dataclass
class ElementReport:
    """Orientation error of one group element, in the output's pixel units."""

    element: Element
    max_abs_diff: float
    differing_pixels: int

    def to_dict(self) -> dict:
        return {"element": self.element.label, "k": self.element.k, "mirror": self.element.mirror,
                "max_abs_diff": self.max_abs_diff, "differing_pixels": self.differing_pixels}


def check_equivariance(pipeline: Pipeline, pixels: np.ndarray, group: Group, peak: float,
                       progress: ProgressFn | None = None) -> list[ElementReport]:
    """Run ``pipeline`` on x and on each g·x; compare f(g·x) with g·f(x).

    ``max_abs_diff`` is taken on the unrounded result scaled by ``peak`` (e.g. 8-bit levels);
    ``differing_pixels`` counts values that differ after rounding to the file's bit depth.
    """
    reference = pipeline(pixels)
    if progress:
        progress(1, len(group) + 1)
    reports = []
    for i, element in enumerate(group, start=2):
        moved = pipeline(element.apply(pixels))
        expected = element.apply(reference)
        diff = np.abs(moved.astype(np.float64) - expected.astype(np.float64)) * peak
        rounded = np.count_nonzero(quantize(moved, peak) != quantize(expected, peak))
        reports.append(ElementReport(element, float(diff.max()), int(rounded)))
        if progress:
            progress(i, len(group) + 1)
    return reports
