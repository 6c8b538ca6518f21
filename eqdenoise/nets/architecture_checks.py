"""Bounds on a checkpoint's architecture config, checked before any layer is built, so that a hostile or damaged
config costs neither memory nor time (docs/reliability.md)."""

from __future__ import annotations

import math

INTEGER_BOUNDS = {"channels": (1, 3), "in_channels": (1, 6), "base": (1, 1024), "chroma_base": (1, 1024), "blocks": (1, 32),
                  "emb_dim": (2, 4096), "attention": (0, 64), "unshuffle": (1, 8)}
REQUIRED = ("name", "channels", "base", "mults", "blocks", "emb_dim")
MAX_LEVELS = 8
MAX_MULT = 64
MAX_WIDTH = 4096


def check_architecture(architecture: object) -> None:
    """Raise ValueError naming the first field of an architecture config that has a wrong type or size."""
    if not isinstance(architecture, dict):
        raise ValueError("the architecture is not a JSON object")
    missing = [key for key in REQUIRED if key not in architecture]
    if missing:
        raise ValueError(f"the architecture lacks {', '.join(missing)}")
    if not isinstance(architecture["name"], str):
        raise ValueError(f"architecture name {architecture['name']!r} is not a string")
    for key, (low, high) in INTEGER_BOUNDS.items():
        if key in architecture and not (key == "in_channels" and architecture[key] is None):
            _check_integer(key, architecture[key], low, high)
    mults = architecture["mults"]
    if not isinstance(mults, list) or not 1 <= len(mults) <= MAX_LEVELS:
        raise ValueError(f"mults {mults!r} must be a list of 1 to {MAX_LEVELS} level multipliers")
    for mult in mults:
        _check_integer("mults", mult, 1, MAX_MULT)
    for key in ("base", "chroma_base"):
        if architecture.get(key, 0) * max(mults) > MAX_WIDTH:
            raise ValueError(f"{key} × mults reaches {architecture[key] * max(mults)} channels, over {MAX_WIDTH}")
    if architecture["emb_dim"] % 2:
        raise ValueError(f"emb_dim {architecture['emb_dim']} must be even (sine and cosine halves)")


def _check_integer(key: str, value: object, low: int, high: int) -> None:
    """An integer (not a bool, not a fraction) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or not low <= value <= high:
        raise ValueError(f"{key} {value!r} must be a whole number from {low} to {high}")
