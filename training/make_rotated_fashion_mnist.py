"""Rotated Fashion-MNIST (issue 20): each image turned by a random multiple of 90°, a C4-invariant distribution.

The images come from Debian's ``dataset-fashion-mnist`` package (``apt-get install dataset-fashion-mnist``;
Zalando Research, MIT licence): 60,000 training and 10,000 test images, 28×28 gray. Each image is turned
by k·90°, k drawn uniformly from a fixed seed per split, as the SPDM paper's rotated MNIST. The training
split is written as PNGs for ``eqdenoise train``; the test split is held out (benchmarks read it with
``load_split``), never trained on.

    python training/make_rotated_fashion_mnist.py data/rot-fmnist      # writes data/rot-fmnist/train/*.png
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SOURCE = Path("/usr/share/datasets/fashion-mnist")
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
SEEDS = {"train": 20, "test": 21}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format: big-endian magic, dimensions, then uint8 data) as an array."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images N×28×28 uint8 turned, labels N, quarter turns N) of ``train`` or ``test``."""
    images_file, labels_file = FILES[split]
    if not (SOURCE / images_file).is_file():
        raise SystemExit(f"{SOURCE / images_file} is missing: apt-get install dataset-fashion-mnist")
    images, labels = read_idx(SOURCE / images_file), read_idx(SOURCE / labels_file)
    turns = np.random.default_rng(SEEDS[split]).integers(0, 4, size=len(images))
    turned = np.stack([np.rot90(image, k) for image, k in zip(images, turns, strict=True)])
    return turned, labels, turns


def main(folder: str) -> None:
    out = Path(folder) / "train"
    out.mkdir(parents=True, exist_ok=True)
    images, _, _ = load_split("train")
    for index, image in enumerate(images):
        Image.fromarray(image).save(out / f"{index:05d}.png")


if __name__ == "__main__":
    main(sys.argv[1])
