"""The orbit check: per element, the largest difference and the pixels that differ after rounding."""

import numpy as np

from conftest import random_image
from eqdenoise.frames.equivariance_check import check_equivariance
from eqdenoise.frames.groups import GROUPS


def test_an_equivariant_function_scores_zero_on_every_element():
    pixels = random_image(1, 9, 14, seed=3)
    reports = check_equivariance(lambda x: np.clip(x * 0.5 + 0.25, 0, 1), pixels, GROUPS["d4"], peak=255)
    assert [r.element.label for r in reports] == [g.label for g in GROUPS["d4"]]
    assert all(r.max_abs_diff == 0 and r.differing_pixels == 0 for r in reports)


def test_a_function_that_sees_orientation_is_caught_in_output_units():
    pixels = random_image(1, 8, 8, seed=4)

    def leaks_orientation(x):
        out = x.copy()
        out[..., 0, 0] = 1.0
        return out

    reports = {r.element.label: r for r in check_equivariance(leaks_orientation, pixels, GROUPS["c4"], peak=255)}
    identity = next(g.label for g in GROUPS["c4"] if g.k == 0 and not g.mirror)
    assert reports[identity].max_abs_diff == 0
    others = [r for label, r in reports.items() if label != identity]
    assert all(r.differing_pixels >= 1 and r.max_abs_diff > 0 for r in others)
    assert max(r.max_abs_diff for r in others) <= 255
    assert reports[others[0].element.label].to_dict()["k"] == others[0].element.k


def test_sub_level_differences_count_as_pixels_only_when_they_change_the_rounded_value():
    pixels = np.full((1, 4, 6), 0.4, np.float32)

    def tiny_tilt(x):
        return x + 1e-4 * np.arange(x.shape[-1], dtype=np.float32)

    reports = check_equivariance(tiny_tilt, pixels, GROUPS["flip"], peak=255)
    mirror = reports[1]
    assert 0 < mirror.max_abs_diff < 0.5 and mirror.differing_pixels == 0


def test_progress_counts_the_reference_and_every_element():
    calls = []
    check_equivariance(lambda x: x, random_image(3, 5, 7, seed=5), GROUPS["d4"], peak=1.0,
                       progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 9) for i in range(1, 10)]
