"""SDEdit on a low-resolution input: PSNR of the 4× bicubic-upscaled sample before and after --strength S.

    python benchmarks/sdedit_lowres.py --strengths 0.1 0.2 0.3 --steps 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from eqdenoise.nets.registry import resolve_model
from eqdenoise.tasks.restoration import DenoiseOptions, restore

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "cat-gray.png"


def psnr(clean: np.ndarray, result: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((clean - result) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gray-d4")
    parser.add_argument("--strengths", nargs="+", type=float, default=[0.1, 0.2, 0.3])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--eta", type=float, default=0.0)
    args = parser.parse_args()
    model = resolve_model(args.model, task="denoise")
    clean_image = Image.open(SAMPLE)
    small = clean_image.resize((clean_image.width // 4, clean_image.height // 4), Image.BICUBIC)
    upscaled = np.asarray(small.resize(clean_image.size, Image.BICUBIC), dtype=np.float64)
    clean = np.asarray(clean_image, dtype=np.float64)
    print("| input | strength | steps | η | PSNR (dB) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| 4× bicubic upscale of {SAMPLE.name} | – | – | – | {psnr(clean, upscaled):.2f} |")
    for strength in args.strengths:
        options = DenoiseOptions(sigma=None, strength=strength, steps=args.steps, eta=args.eta)
        out = restore(model, (upscaled / 255)[None].astype(np.float32), options).pixels[0]
        result = np.clip(np.rint(out * 255), 0, 255)
        print(f"| same, SDEdit | {strength:g} | {args.steps} | {args.eta:g} | {psnr(clean, result):.2f} |", flush=True)


if __name__ == "__main__":
    main()
