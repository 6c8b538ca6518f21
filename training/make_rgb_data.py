"""Write the rgb-d4 training images (scikit-image's bundled colour photos and IHC slide) as PNGs.

Held out, never written here: chelsea (the cat), coffee, and the right quarter of the
immunohistochemistry slide (columns 384–511). `benchmarks/denoise_quality.py --color` tests on them.

    python training/make_rgb_data.py /work/data/rgb-train
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

IHC_TRAIN_COLUMNS = 384


def training_images() -> dict[str, np.ndarray]:
    """Name → uint8 RGB array of every training image."""
    return {
        "astronaut": data.astronaut(),
        "rocket": data.rocket(),
        "hubble-deep-field": data.hubble_deep_field(),
        "retina": data.retina(),
        "ihc-left": data.immunohistochemistry()[:, :IHC_TRAIN_COLUMNS],
    }


def held_out_images() -> dict[str, np.ndarray]:
    """Name → uint8 RGB array of the held-out test crops (never trained on)."""
    return {
        "chelsea": data.chelsea(),
        "coffee": data.coffee(),
        "ihc-right": data.immunohistochemistry()[:, IHC_TRAIN_COLUMNS:],
    }


def write_pngs(images: dict[str, np.ndarray], folder: str) -> None:
    """Save each named uint8 array as NAME.png in ``folder`` (made if missing)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, pixels in images.items():
        Image.fromarray(pixels).save(out / f"{name}.png")


def main(folder: str) -> None:
    write_pngs(training_images(), folder)


if __name__ == "__main__":
    main(sys.argv[1])
