"""CT → simulated-PET translation on the held-out patients, the bridge and its baselines measured in one run.

Metrics on the target window mapped to [0, 1] (activity 0–2 → 0–1), whole slice: L1, PSNR (peak 1)
and SSIM (scikit-image, data range 1) against the simulated acquisition, plus PSNR against the
simulator's noiseless mean. Baselines: the regression U-Net of the same size trained on the same
pairs (one pass), and the noiseless mean itself (the best any method can do against a noisy target
in expectation). Orientation error: max over d4 of |f(g·x) − g·f(x)| in 16-bit output levels, on
the 128² held-out slice. Needs `pip install -e ".[bench]"`.

    python benchmarks/transfer_quality.py
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage.metrics import structural_similarity

from eqdenoise.files.scans import model_ranges, read_scan, to_unit
from eqdenoise.frames.groups import GROUPS
from eqdenoise.nets.checkpoint import load_model
from eqdenoise.nets.registry import resolve_model
from eqdenoise.tasks.translation import TransferOptions, translate

ROOT = Path(__file__).resolve().parents[1]
TARGET_HIGH = 2.0


def metrics(result: np.ndarray, target: np.ndarray, mean: np.ndarray) -> dict:
    """L1, PSNR and SSIM against the simulated target, PSNR against the noiseless mean; all on [0, 1]."""
    diff = result.astype(np.float64) - target
    to_mean = np.mean((result.astype(np.float64) - mean) ** 2)
    return {"l1": float(np.abs(diff).mean()), "psnr": float(-10 * np.log10(np.mean(diff**2))),
            "ssim": float(structural_similarity(target, result.astype(np.float64), data_range=1.0)),
            "psnr_mean": float(-10 * np.log10(to_mean)) if to_mean > 0 else float("nan")}


def orientation_error(run, source: np.ndarray) -> float:
    """Max over d4 of |f(g·x) − g·f(x)| in 16-bit levels of the output."""
    reference = np.rint(run(source) * 65535)
    return max(float(np.abs(np.rint(run(g.apply(source)) * 65535) - g.apply(reference)).max()) for g in GROUPS["d4"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "ct2pet")
    parser.add_argument("--model", default="ct2pet-d4")
    parser.add_argument("--baseline", type=Path, default=ROOT / "training" / "ct2pet-regression.safetensors")
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 5, 10, 20, 40])
    parser.add_argument("--fa-steps", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--none-steps", type=int, nargs="+", default=[10])
    args = parser.parse_args()
    if not (args.data / "holdout").is_dir():
        subprocess.run([sys.executable, str(ROOT / "training" / "make_ct2pet_pairs.py"), str(args.data)], check=True)
    bridge = resolve_model(args.model, task="bridge")
    baseline = load_model(args.baseline, task="bridge")
    window, _ = model_ranges(bridge.config)
    names = sorted(p.stem for p in (args.data / "holdout" / "ct").glob("*.dcm"))
    sources = {n: to_unit(read_scan(args.data / "holdout" / "ct" / f"{n}.dcm"), window) for n in names}
    targets = {n: np.asarray(Image.open(args.data / "holdout" / "pet" / f"{n}.tiff"), np.float64) / TARGET_HIGH for n in names}
    means = {n: np.asarray(Image.open(args.data / "holdout" / "pet-mean" / f"{n}.tiff"), np.float64) / TARGET_HIGH
             for n in names}
    small = min(names, key=lambda n: sources[n].size)

    rows = []
    configs = ([("bridge", bridge, "canon", s) for s in args.steps] + [("bridge", bridge, "fa", s) for s in args.fa_steps]
               + [("bridge", bridge, "none", s) for s in args.none_steps]
               + [("regression U-Net", baseline, "canon", 1), ("regression U-Net", baseline, "none", 1)])
    for label, model, method, steps in configs:
        options = TransferOptions(method=method, steps=steps)
        per_slice, seconds = {}, []
        for n in names:
            start = time.perf_counter()
            result = translate(model, sources[n], options)[0]
            seconds.append(time.perf_counter() - start)
            per_slice[n] = metrics(result, targets[n], means[n])
        error = orientation_error(lambda x, m=model, o=options: translate(m, x, o)[0], sources[small])
        rows.append((label, method, steps, per_slice, float(np.mean(seconds)), error))
        print(f"done {label} {method} {steps}", file=sys.stderr, flush=True)
    rows.append(("noiseless mean (upper bound)", "—", 0,
                 {n: metrics(means[n], targets[n], means[n]) for n in names}, 0.0, 0.0))

    print(f"CT → PET (simulated targets), held-out slices {', '.join(names)}; {date.today()}, "
          f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}\n")
    print("| method | frame | steps | L1 | PSNR (dB) | SSIM | PSNR vs noiseless mean (dB) | "
          + " | ".join(f"SSIM {n}" for n in names) + " | s / slice | orientation error (16-bit levels) |")
    print("|" + " --- |" * (9 + len(names)))
    for label, method, steps, per_slice, seconds, error in rows:
        avg = {k: np.mean([m[k] for m in per_slice.values()]) for k in ("l1", "psnr", "ssim", "psnr_mean")}
        cells = [label, method, str(steps or "—"), f"{avg['l1']:.4f}", f"{avg['psnr']:.2f}", f"{avg['ssim']:.4f}",
                 f"{avg['psnr_mean']:.2f}" if np.isfinite(avg["psnr_mean"]) else "—",
                 *(f"{per_slice[n]['ssim']:.4f}" for n in names),
                 f"{seconds:.1f}" if seconds else "—", f"{error:g}" if label != rows[-1][0] else "—"]
        print("| " + " | ".join(cells) + " |")
    print("\nSPDM paper (real CT-PET, other data and resolution; not comparable): L1 0.008, SSIM 0.984.")


if __name__ == "__main__":
    main()
