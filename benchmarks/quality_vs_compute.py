"""Quality of training snapshots against the compute spent on them (one network pass, `canon`).

Each checkpoint's own training record gives its steps, wall-clock seconds and threads; CPU hours are
seconds × threads / 3600 for that run (add the hours of the run it started from, if it used --init).

    python benchmarks/quality_vs_compute.py --set Set12 snapshots/gray-*.safetensors
    python benchmarks/quality_vs_compute.py --set color snapshots/rgb-*.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from denoise_quality import EqdenoiseRun, add_noise, load_set, psnr, to_uint8

from eqdenoise.nets.registry import resolve_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--set", default="Set12", help="Set12, BSD68 or color")
    parser.add_argument("--sigmas", nargs="+", type=float, default=[15, 25, 50])
    parser.add_argument("--precision", default="fp32", help="fp32, or bf16 for a quick look (see docs/method.md)")
    args = parser.parse_args()
    cleans = load_set(args.set)
    print(f"| checkpoint | steps | CPU hours of its run | {' | '.join(f'σ {s:g}' for s in args.sigmas)} |")
    print(f"| --- | --- | --- | {' | '.join('---' for _ in args.sigmas)} |")
    for path in args.checkpoints:
        model = resolve_model(str(path), task="denoise")
        record = model.config["training"]
        hours = record.get("wall_seconds", record.get("cpu_seconds", 0.0)) * record.get("threads", 1) / 3600
        run, scores = EqdenoiseRun(model, "canon", 1, precision=args.precision), []
        for sigma in args.sigmas:
            noisies = add_noise(cleans, sigma)
            scores.append(np.mean([psnr(to_uint8(c), to_uint8(run(n, sigma))) for c, n in zip(cleans, noisies, strict=True)]))
        print(f"| {path.name} | {record['steps_done']} | {hours:.2f} | {' | '.join(f'{s:.2f}' for s in scores)} |", flush=True)


if __name__ == "__main__":
    main()
