"""Seconds and peak memory per image for each method and image size, each run in a fresh process.

    python benchmarks/speed_memory.py --sizes 256 512 1024 --methods canon fa none --precisions fp32 bf16
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from datetime import date

import torch

RUN_ONE = """
import json, resource, sys, time
import numpy as np
from eqdenoise.tasks.restoration import DenoiseOptions, restore
from eqdenoise.nets.registry import resolve_model
model_name, method, precision = sys.argv[1], sys.argv[4], sys.argv[6]
size, channels, steps = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])
model = resolve_model(model_name, task="denoise")
pixels = np.random.default_rng(0).random((channels, size, size), dtype=np.float32)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
restore(model, pixels[:, :32, :32], DenoiseOptions(sigma=25.0, method=method, steps=steps, precision=precision))
start = time.perf_counter()
restore(model, pixels, DenoiseOptions(sigma=25.0, method=method, steps=steps, precision=precision))
seconds = time.perf_counter() - start
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gray-d4", help="model for gray images")
    parser.add_argument("--color-model", default="rgb-d4", help="model for RGB images (gray-d4 runs per channel)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512, 1024])
    parser.add_argument("--channels", nargs="+", type=int, default=[1, 3])
    parser.add_argument("--methods", nargs="+", default=["canon", "fa", "none"])
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--precisions", nargs="+", default=["fp32"], help="fp32 bf16")
    args = parser.parse_args()
    print(f"Measured {date.today()} on {platform.machine()} ({torch.get_num_threads()} threads), "
          f"torch {torch.__version__}, models {args.model} / {args.color_model}, {args.steps} step(s), σ = 25\n")
    print("| image | method | precision | seconds | extra peak memory (MiB) |")
    print("| --- | --- | --- | --- | --- |")
    for size in args.sizes:
        for channels in args.channels:
            for method in args.methods:
                for precision in args.precisions:
                    model = args.model if channels == 1 else args.color_model
                    cmd = [sys.executable, "-c", RUN_ONE, model, str(size), str(channels), method, str(args.steps),
                           precision]
                    result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                    kind = "gray" if channels == 1 else "RGB"
                    print(f"| {size}² {kind} | {method} | {precision} | {result['seconds']:.2f} | "
                          f"{result['peak_bytes'] / 2**20:.0f} |", flush=True)


if __name__ == "__main__":
    main()
