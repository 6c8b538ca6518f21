"""Bounds on every size and number a training run takes, checked before any image is read or layer built."""

from __future__ import annotations

import math
from dataclasses import fields

from ..errors import EqdenoiseError, UsageError
from ..nets.architecture_checks import check_architecture
from ..tasks.pipeline import check_seed

MAX_BATCH_PIXELS = 2**22
MAX_TRAINING_VALUES = 2**29
SCALE_RANGE = (0.05, 4.0)
MAX_PATCH = 2048


def check_settings(settings) -> None:
    """One line naming the first option whose value is not a finite number or is out of its range."""
    for item in fields(settings):
        value = getattr(settings, item.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"--{item.name.replace('_', '-')} {value} is not a finite number")
    if not 0.0 <= settings.lr <= 1.0:
        raise UsageError(f"--lr {settings.lr:g} must be in [0, 1]")
    if not 0.0 < settings.sigma_min_255 < settings.sigma_max_255 <= 255.0:
        raise UsageError(f"--sigma-range {settings.sigma_min_255:g} {settings.sigma_max_255:g} must have "
                             "0 < LOW < HIGH ≤ 255")
    if not 8 <= settings.patch <= MAX_PATCH:
        raise UsageError(f"--patch {settings.patch} must be from 8 to {MAX_PATCH} pixels")
    pixels = settings.batch * settings.patch**2 * settings.channels
    if pixels > MAX_BATCH_PIXELS:
        raise UsageError(f"--batch {settings.batch} of {settings.patch}² patches is {pixels:,} values a step, over "
                             f"the {MAX_BATCH_PIXELS:,} limit (about 10 GB of activations); use a smaller batch")
    for scale in settings.scales:
        if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
            raise UsageError(f"--scale {scale:g} must be from {SCALE_RANGE[0]:g} to {SCALE_RANGE[1]:g}")
    check_seed(settings.seed)
    if settings.reg > 1e3 or settings.beta > 100.0:
        raise UsageError("--reg must be at most 1000 and --beta at most 100")
    try:
        check_architecture(settings.architecture())
    except ValueError as exc:
        raise UsageError(f"network shape: {exc}") from None


def check_training_values(total: int, path: object, scale: float) -> None:
    """Refuse a data set that would hold more than MAX_TRAINING_VALUES values in memory once scaled."""
    if total > MAX_TRAINING_VALUES:
        raise EqdenoiseError(f"{path}: at scale {scale:g} the training images reach {total:,} values, over the "
                             f"{MAX_TRAINING_VALUES:,} limit (2 GiB); use fewer or smaller images or scales")
