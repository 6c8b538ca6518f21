"""Where a colour denoiser's error lies: its squared error on ``color10`` split over the opponent channels.

The orthonormal opponent transform (``eqdenoise/nets/opponent.py``: luma (R+G+B)/√3, chroma (R−B)/√2 and
(R−2G+B)/√6) keeps squared error, so the three columns add up to the error of the RGB image (×3). Protocol of
``denoise_quality.py`` (clean + σ·N(0, 1), seed 0, rounded output); the MSE is on the 0–255 scale, averaged over
the set's pixels. Tells whether a model loses to a peer on the structure (luma) or on the colour (chroma).

    python benchmarks/opponent_error.py --models gray-d4-fast gray-d4 rgb-d4-fast --sigmas 15 25 50 --peers ffdnet
"""

from __future__ import annotations

import argparse
from datetime import date

import numpy as np
import torch
from denoise_quality import PEERS, EqdenoiseRun, add_noise, load_named_set, to_uint8

from eqdenoise.nets.opponent import OPPONENT
from eqdenoise.nets.registry import resolve_model

CHANNELS = ("luma", "chroma R−B", "chroma R−2G+B")


def opponent_mse(clean: np.ndarray, result: np.ndarray) -> np.ndarray:
    """Mean squared error of each orthonormal opponent channel between two (3, H, W) images."""
    error = np.einsum("kc,chw->khw", OPPONENT.double().numpy(), result - clean)
    return (error**2).mean(axis=(1, 2))


def set_errors(run, cleans: list[np.ndarray], sigma: float) -> np.ndarray:
    """Per-channel MSE of ``run`` over the set, pixel-weighted."""
    total, pixels = np.zeros(3), 0
    for clean, noisy in zip(cleans, add_noise(cleans, sigma), strict=True):
        size = clean.shape[1] * clean.shape[2]
        total += opponent_mse(clean, to_uint8(run(noisy, sigma)).astype(np.float64)) * size
        pixels += size
    return total / pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["gray-d4-fast", "rgb-d4-fast"])
    parser.add_argument("--sigmas", nargs="+", type=float, default=[25])
    parser.add_argument("--peers", nargs="*", default=["ffdnet"], help="ffdnet bm3d nlm")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = {name: EqdenoiseRun(resolve_model(name, task="denoise"), "canon", 1) for name in args.models}
    runs.update({PEERS[name][0]: PEERS[name][1]() for name in args.peers})
    cleans = list(load_named_set("color10").values())
    print(f"color10, {len(cleans)} images, {date.today()}, {args.threads} threads; MSE on the 0–255 scale")
    print("| run | σ | " + " | ".join(f"MSE {c}" for c in CHANNELS) + " | luma share | PSNR of the set's MSE |")
    print("| --- | --- | " + " | ".join("---" for _ in CHANNELS) + " | --- | --- |")
    for sigma in args.sigmas:
        for label, run in runs.items():
            mse = set_errors(run, cleans, sigma)
            psnr = 10 * np.log10(255.0**2 / (mse.sum() / 3))
            print(f"| {label} | {sigma:g} | " + " | ".join(f"{m:.2f}" for m in mse)
                  + f" | {mse[0] / mse.sum():.2f} | {psnr:.2f} |", flush=True)


if __name__ == "__main__":
    main()
