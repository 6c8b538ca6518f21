"""Training options as the command line and the API name them, turned once into a run's settings.

``eqdenoise.train_denoiser`` / ``train_bridge`` and ``eqdenoise train denoiser|bridge`` take the same option names
with the same defaults (``DENOISER_DEFAULTS``, ``BRIDGE_DEFAULTS``; light to import, for the command's help). The
options a caller gives are also what a
resumed run compares with the settings saved in its state: ``--resume`` continues the saved run, and an option
given again must match it unless ``override``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from .train import TrainSettings

DENOISER_DEFAULTS: dict[str, object] = {
    "group": "d4", "channels": 1, "network": None, "width": None, "chroma_width": None, "luma_init": None,
    "freeze_luma": False, "blocks": None, "attention": None, "level": None, "unshuffle": None, "steps": 12000,
    "batch": 16, "patch": 48, "scale": None, "lr": 5e-4, "warmup": 500, "ema": 0.999, "sigma_range": (1.0, 100.0),
    "restoration_fraction": 0.8, "sigma_weight": 0.0, "init": None, "teacher": None, "teacher_weight": 0.5,
    "teacher_fa": False, "reg": 0.0, "seed": 0, "save_every": 250, "precision": "fp32",
}
BRIDGE_DEFAULTS: dict[str, object] = {
    "source_window": None, "target_window": None, "source_unit": "HU", "target_unit": "a.u.", "source_modality": "CT",
    "target_modality": "PET", "group": "d4", "network": None, "width": None, "blocks": None, "attention": None,
    "steps": 8000, "batch": 16, "patch": 64, "lr": 5e-4, "ema": 0.999, "beta": 1.0, "regression": False, "init": None,
    "reg": 0.0, "seed": 0, "save_every": 250, "precision": "fp32",
}
SETTINGS_OF_OPTIONS = {"width": ("base",), "chroma_width": ("chroma_base",), "level": ("mults",), "scale": ("scales",),
                       "sigma_range": ("sigma_min_255", "sigma_max_255"), "source_window": ("source_range",),
                       "source_unit": ("source_range",), "target_window": ("target_range",),
                       "target_unit": ("target_range",), "source_modality": ("modalities",),
                       "target_modality": ("modalities",)}
AS_GIVEN = ("teacher_weight", "teacher_fa")


def denoiser_settings(data: str | Path, out: str | Path, options: dict[str, object]) -> tuple[TrainSettings, dict]:
    """The settings of a denoiser run from the options given (the rest at ``DENOISER_DEFAULTS``), and the settings
    those options and the data folder set, by field, for a resumed run to compare."""
    from .train import TrainSettings

    o = _with_defaults(options, DENOISER_DEFAULTS)
    scales = tuple(o["scale"] or (1.0,))
    low, high = o["sigma_range"]
    if o["channels"] not in (1, 3) or o["patch"] % 4 or not 0 < low < high or min(scales) <= 0:
        raise UsageError("--channels must be 1 or 3, --patch a multiple of 4, --sigma-range two increasing positive "
                         "levels and every --scale positive")
    teacher = _text(o["teacher"])
    settings = TrainSettings(
        data=str(data), out=str(out), group=o["group"], channels=o["channels"], base=o["width"], steps=o["steps"],
        batch=o["batch"], patch=o["patch"], scales=scales, lr=o["lr"], warmup=o["warmup"], ema=o["ema"], seed=o["seed"],
        save_every=o["save_every"], sigma_min_255=low, sigma_max_255=high,
        restoration_fraction=o["restoration_fraction"], sigma_weight=o["sigma_weight"], blocks=o["blocks"],
        attention=o["attention"], init=_text(o["init"]), mults=tuple(o["level"]) if o["level"] else None,
        unshuffle=o["unshuffle"], teacher=teacher, teacher_weight=o["teacher_weight"] if teacher else 0.0,
        teacher_fa=bool(o["teacher_fa"]) and teacher is not None, precision=o["precision"], network=o["network"],
        reg=o["reg"], chroma_base=o["chroma_width"], luma_init=_text(o["luma_init"]), freeze_luma=o["freeze_luma"])
    return settings, {"data": settings.data, **given_settings(options, settings)}


def bridge_settings(source: str | Path, target: str | Path, out: str | Path,
                    options: dict[str, object]) -> tuple[TrainSettings, dict]:
    """The settings of a bridge run from the options given (the rest at ``BRIDGE_DEFAULTS``), and the settings those
    options set, by field."""
    from ..nets.checkpoint import IMAGE_RANGE
    from .train import TrainSettings

    o = _with_defaults(options, BRIDGE_DEFAULTS)
    if o["patch"] % 4:
        raise UsageError("--patch must be a multiple of 4")
    windows = []
    for side in ("source", "target"):
        window = o[f"{side}_window"]
        if window and not window[1] > window[0]:
            raise UsageError(f"--{side}-window: HIGH must be above LOW")
        windows.append({"unit": o[f"{side}_unit"], "low": window[0], "high": window[1]} if window else IMAGE_RANGE)
    settings = TrainSettings(
        data=str(source), target=str(target), out=str(out), task="bridge", group=o["group"], channels=1,
        base=o["width"], steps=o["steps"], batch=o["batch"], patch=o["patch"], lr=o["lr"], ema=o["ema"], seed=o["seed"],
        save_every=o["save_every"], blocks=o["blocks"], attention=o["attention"], source_range=windows[0],
        target_range=windows[1], beta=o["beta"], regression=o["regression"], init=_text(o["init"]),
        modalities={"source": o["source_modality"], "target": o["target_modality"]}, precision=o["precision"],
        network=o["network"], reg=o["reg"])
    return settings, {"data": settings.data, "target": settings.target, **given_settings(options, settings)}


def given_settings(options: dict[str, object], settings: TrainSettings) -> dict[str, object]:
    """The settings, by field, that the given options set (an option whose setting depends on another, such as
    ``teacher_weight`` without ``teacher``, as given)."""
    given: dict[str, object] = {}
    for name, value in options.items():
        for field_name in SETTINGS_OF_OPTIONS.get(name, (name,)):
            given[field_name] = value if name in AS_GIVEN else getattr(settings, field_name)
    return given


def _with_defaults(options: dict[str, object], defaults: dict[str, object]) -> dict[str, object]:
    """The options over the defaults; an unknown option name is a usage error naming the known ones."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise UsageError(f"unknown training option {unknown[0]!r}; the options are {', '.join(defaults)}")
    return {**defaults, **options}


def _text(path: object) -> str | None:
    """A path option as the text the settings record (None stays None)."""
    return None if path is None else str(path)
