"""Throughput of a batch across processes: images per second of `eqdenoise denoise FOLDER` as 1 process of 1 thread,
1 process of 2 threads, and 2 processes of 1 thread each (`--shard 1/2`, `--shard 2/2` at once), same folder, same run.

Wall time of the whole command (start-up and model loading included, as a user sees it), best of --repeats.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch
from speed import cpu_model

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "dncnn-gray" / "Set12"


def run_processes(folder: Path, processes: int, threads: int, extra: list[str]) -> float:
    """Seconds until all ``processes`` shards of the batch are written, each process with ``threads`` threads."""
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        started = time.perf_counter()
        jobs = [subprocess.Popen([sys.executable, "-m", "eqdenoise", "denoise", str(folder), "-o", out, *extra,
                                  *(["--shard", f"{k}/{processes}"] if processes > 1 else [])],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                for k in range(1, processes + 1)]
        for job in jobs:
            _, err = job.communicate()
            if job.returncode:
                raise SystemExit(f"eqdenoise failed: {err.strip()[-500:]}")
        seconds = time.perf_counter() - started
        if len(list(Path(out).iterdir())) != len(_images(folder)):
            raise SystemExit("not every image was written")
    return seconds


def _images(folder: Path) -> list[Path]:
    """The image files of the folder, as eqdenoise picks them."""
    return [p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif", ".tiff"}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help="images to denoise (default: Set12)")
    parser.add_argument("--model", default="gray-d4")
    parser.add_argument("--sigma", default="25")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    count = len(_images(args.folder))
    extra = ["-m", args.model, "--sigma", args.sigma]
    print(f"Measured {date.today()} on {platform.machine()} ({cpu_model()}), torch {torch.__version__}, {count} images "
          f"of {args.folder.name}, model {args.model}, σ {args.sigma}, best of {args.repeats}\n")
    print("| layout | s (wall) | images / s | vs 1 process × 1 thread |")
    print("| --- | --- | --- | --- |")
    base = None
    for processes, threads in ((1, 1), (1, 2), (2, 1)):
        seconds = min(run_processes(args.folder, processes, threads, extra) for _ in range(args.repeats))
        base = base or seconds
        print(f"| {processes} process{'es' if processes > 1 else ''} × {threads} thread{'s' if threads > 1 else ''} "
              f"| {seconds:.1f} | {count / seconds:.2f} | {base / seconds:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
