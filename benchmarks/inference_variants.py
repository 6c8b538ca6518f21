"""One-pass inference variants of a gray model, scored on held-out images that are neither training nor test data.

The gray models train on Train400 and are tested on Set12 and BSD68, so choosing between inference
variants on those test sets would tune on them. This script scores variants instead on centre crops
(at most 256²) of scikit-image's bundled pictures turned gray, none of which is in Train400, Set12 or
BSD68 (``camera`` is left out: it is Set12's cameraman). Variants, all `canon` with one Tweedie pass:

- ``scale k``: the network is told σ·k instead of the true σ (a calibration of its noise input);
- ``margin m``: the noisy image is mirrored by m pixels on every side before restoring, and cropped after.

    python benchmarks/inference_variants.py gray-d4 gray-d4-large --sigmas 25 50 --scales 0.97 1.01 1.03 --margins 16
"""

from __future__ import annotations

import argparse

import numpy as np
from denoise_quality import add_noise, psnr, to_uint8
from skimage import color, data

from eqdenoise.nets.registry import resolve_model
from eqdenoise.tasks.restoration import DenoiseOptions, restore

HELD_OUT = ("astronaut", "brick", "cell", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
            "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket")
CROP = 256


def held_out_gray() -> list[np.ndarray]:
    """Centre crops of the held-out pictures as float64 (1, H, W) arrays on the 0–255 scale."""
    crops = []
    for name in HELD_OUT:
        pixels = getattr(data, name)()
        if pixels.ndim == 3:
            pixels = np.rint(color.rgb2gray(pixels[..., :3]) * 255)
        h, w = pixels.shape
        top, left = max(h - CROP, 0) // 2, max(w - CROP, 0) // 2
        crops.append(pixels[top:top + CROP, left:left + CROP].astype(np.float64)[None])
    return crops


def restore_variant(model, noisy: np.ndarray, sigma: float, scale: float, margin: int) -> np.ndarray:
    """`canon`, one pass, with the network's σ scaled by ``scale`` and a mirrored border of ``margin`` pixels."""
    padded = np.pad(noisy, ((0, 0), (margin, margin), (margin, margin)), mode="reflect")
    options = DenoiseOptions(sigma=sigma * scale, method="canon", steps=1)
    result = restore(model, (padded / 255.0).astype(np.float32), options).pixels * 255.0
    return result[..., margin:margin + noisy.shape[1], margin:margin + noisy.shape[2]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="shipped model names or checkpoint paths")
    parser.add_argument("--sigmas", nargs="+", type=float, default=[25, 50])
    parser.add_argument("--scales", nargs="*", type=float, default=[0.97, 1.01, 1.03])
    parser.add_argument("--margins", nargs="*", type=int, default=[16])
    args = parser.parse_args()
    cleans = held_out_gray()
    noisy_sets = {sigma: add_noise(cleans, sigma) for sigma in args.sigmas}
    variants = [(1.0, 0)] + [(k, 0) for k in args.scales] + [(1.0, m) for m in args.margins]
    print(f"Held-out gray crops: {len(cleans)} ({', '.join(HELD_OUT)}); mean PSNR (dB), `canon`, one pass.\n")
    print(f"| model | variant | {' | '.join(f'σ {s:g}' for s in args.sigmas)} |")
    print(f"| --- | --- | {' | '.join('---' for _ in args.sigmas)} |")
    for name in args.models:
        model = resolve_model(name, task="denoise")
        for scale, margin in variants:
            label = "as shipped" if (scale, margin) == (1.0, 0) else f"margin {margin}" if margin else f"scale {scale:g}"
            scores = [np.mean([psnr(to_uint8(c), to_uint8(restore_variant(model, n, sigma, scale, margin)))
                               for c, n in zip(cleans, noisy_sets[sigma], strict=True)]) for sigma in args.sigmas]
            print(f"| {name} | {label} | {' | '.join(f'{s:.3f}' for s in scores)} |", flush=True)


if __name__ == "__main__":
    main()
