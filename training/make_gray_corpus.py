"""The gray training corpus of issue 18: Train400 plus luma tiles of the colour corpus's training photographs.

Train400 (the DnCNN training set, 400 gray 180×180 photos) is copied as it is. Each training image of
``make_color_corpus.py`` (corpus 1: 14 Debian wallpaper photographs at half size and 5 scikit-image images;
corpus 2 adds its 14 photographs of Ubuntu's wallpaper contests; never its 10 held-out images) is turned to
luma (ITU-R 601 weights, rounded to uint8) and cut into non-overlapping 180×180 tiles, so that the trainer's
one-image-one-draw sampling weighs both sources by their area; tiles that are nearly flat (standard deviation
under 4 gray levels: the black surround of the retina, empty sky of the deep field) are left out. Nothing of
Set12 or BSD68 is in either source.

    python training/make_gray_corpus.py data/gray-train      # Train400 and the tiles of colour corpus 1
    python training/make_gray_corpus.py data/gray-train2 2   # ... and of colour corpus 2
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_color_corpus import training_images  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAIN400 = ROOT.parent / "shared" / "data" / "dncnn-gray" / "Train400"
TILE = 180
FLAT = 4.0
LUMA = np.array([0.299, 0.587, 0.114])


def luma(rgb: np.ndarray) -> np.ndarray:
    """uint8 luma of a uint8 RGB array (H, W, 3)."""
    return np.clip(np.rint(rgb.astype(np.float64) @ LUMA), 0, 255).astype(np.uint8)


def tiles(gray: np.ndarray, side: int = TILE) -> list[np.ndarray]:
    """The non-overlapping side×side tiles of ``gray``, row by row (the remainder at the edges is dropped)."""
    rows, cols = gray.shape[0] // side, gray.shape[1] // side
    return [gray[r * side:(r + 1) * side, c * side:(c + 1) * side] for r in range(rows) for c in range(cols)]


def textured(tile: np.ndarray) -> bool:
    """Whether a uint8 tile has at least ``FLAT`` gray levels of standard deviation."""
    return float(tile.std()) >= FLAT


def main(folder: str, corpus: int = 1) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(TRAIN400.glob("*.png")):
        shutil.copyfile(path, out / f"train400-{path.name}")
    for name, rgb in training_images(corpus).items():
        for index, tile in enumerate(filter(textured, tiles(luma(rgb)))):
            Image.fromarray(tile).save(out / f"{name}-{index:03d}.png")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
