"""σ auto on JPEG: the estimate and the result on the same noisy pixels saved as PNG and as JPEG of each chroma
subsampling, with the estimate over all channels (what eqdenoise did before it read subsampled JPEG's luma) beside it.

A shipped colour sample (clean) gets white noise of σ on the 0–255 scale (seed 1), rounded to 8 bits, and is saved
as PNG and as JPEG (quality 95) at 4:4:4, 4:2:2 and 4:2:0; each file is denoised with ``--sigma auto`` by the default
colour model, and the same decoded pixels saved as PNG show what the estimate over all channels gives (the old
behaviour). PSNR is against the clean sample: of the noisy file, of the output (in the file's format) and of the old
path's output (PNG).

    python benchmarks/jpeg_sigma.py --sample coffee-rgb.png --sigma 20
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

from eqdenoise.api import denoise_file

ROOT = Path(__file__).resolve().parents[1]
FORMATS = [("PNG", ".png", {}), ("JPEG 4:4:4", ".jpg", {"subsampling": 0}), ("JPEG 4:2:2", ".jpg", {"subsampling": 1}),
           ("JPEG 4:2:0", ".jpg", {"subsampling": 2})]


def psnr(clean: np.ndarray, other: np.ndarray) -> float:
    """PSNR in dB on the 0–255 scale."""
    return float(10 * np.log10(255.0**2 / np.mean((other.astype(np.float64) - clean) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="coffee-rgb.png")
    parser.add_argument("--sigma", type=float, default=20.0)
    args = parser.parse_args()
    clean = np.asarray(Image.open(ROOT / "samples" / args.sample).convert("RGB"), dtype=np.float64)
    noisy = np.clip(np.rint(clean + np.random.default_rng(1).normal(0, args.sigma, clean.shape)), 0, 255)
    folder = Path(tempfile.mkdtemp())
    print(f"{args.sample} + σ {args.sigma:g} noise, default colour model, {date.today()}")
    print("| file | σ auto | PSNR out | σ over all channels (before) | PSNR out (before) | PSNR in |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, suffix, save in FORMATS:
        path = folder / f"noisy{save.get('subsampling', '')}{suffix}"
        Image.fromarray(noisy.astype(np.uint8)).save(path, quality=95, **save)
        (sigma,) = denoise_file(path, folder / f"out-{path.name}")
        plain = folder / f"plain{save.get('subsampling', '')}.png"
        Image.open(path).save(plain)
        (before,) = denoise_file(plain, folder / f"out-{plain.name}")
        read = np.asarray(Image.open(path), dtype=np.float64)
        out = np.asarray(Image.open(folder / f"out-{path.name}"), dtype=np.float64)
        old = np.asarray(Image.open(folder / f"out-{plain.name}"), dtype=np.float64)
        print(f"| {label} | {sigma:.2f} | {psnr(clean, out):.2f} | {before:.2f} | {psnr(clean, old):.2f} | "
              f"{psnr(clean, read):.2f} |")


if __name__ == "__main__":
    main()
