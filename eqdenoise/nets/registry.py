"""Shipped checkpoints: the ``models/`` manifest, and resolving ``--model`` as a name or a path."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EqdenoiseError
from ..files.input_files import check_path_text

if TYPE_CHECKING:
    from .checkpoint import Model

MANIFEST = "manifest.json"
GRAY_DENOISER, COLOR_DENOISER = "gray-d4", "rgb-d4-split"


def models_dir() -> Path:
    """Folder of shipped models: $EQDENOISE_MODELS, the wheel's copy, or the source checkout's."""
    if os.environ.get("EQDENOISE_MODELS"):
        return Path(os.environ["EQDENOISE_MODELS"])
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_models"
    return packaged if packaged.is_dir() else package.parent / "models"


def manifest() -> list[dict]:
    """Entries of the shipped-model manifest (empty when none is installed)."""
    path = models_dir() / MANIFEST
    if not path.is_file():
        return []
    try:
        return list(json.loads(path.read_text())["models"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise EqdenoiseError(f"{path}: model manifest is damaged ({exc})") from None


def default_denoiser(channels: int) -> str:
    """Shipped denoiser for an image: the RGB prior for colour when it is installed, else the gray one."""
    if channels == 3 and any(entry["name"] == COLOR_DENOISER for entry in manifest()):
        return COLOR_DENOISER
    return GRAY_DENOISER


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model(name_or_path: str, task: str) -> Model:
    """Load a shipped model by name (checking its SHA-256) or any checkpoint by path."""
    from .checkpoint import load_model

    for entry in manifest():
        if entry["name"] == name_or_path:
            path = models_dir() / entry["file"]
            if not path.is_file():
                raise EqdenoiseError(f"{path}: shipped model {name_or_path!r} is missing")
            if sha256(path) != entry["sha256"]:
                raise EqdenoiseError(f"{path}: shipped model {name_or_path!r} is corrupted (SHA-256 mismatch)")
            return load_model(path, task=task)
    check_path_text(name_or_path)
    path = Path(name_or_path)
    if path.suffix != ".safetensors" and not path.exists():
        names = ", ".join(e["name"] for e in manifest()) or "none installed"
        raise EqdenoiseError(f"{name_or_path}: no shipped model of that name (shipped: {names}) "
                             "and no such checkpoint file")
    return load_model(path, task=task)
