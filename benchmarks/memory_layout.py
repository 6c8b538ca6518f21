"""Network pass and training step in the default (NCHW) and the channels-last memory layout, per model and size.

eqdenoise runs inference channels-last and float32 training in NCHW (``eqdenoise/nets/precision.py``); this
measures both choices on the machine at hand. Seconds are the best of three after one warm-up.

    OMP_NUM_THREADS=1 python benchmarks/memory_layout.py --models gray-d4 rgb-d4 --sizes 256 512
"""

from __future__ import annotations

import argparse
import copy
import platform
import time
from datetime import date

import torch

from eqdenoise.nets.precision import has_fast_bf16
from eqdenoise.nets.registry import resolve_model


def best_seconds(action, repeats: int = 3) -> float:
    """Best wall-clock time of ``action`` over ``repeats`` runs after one warm-up."""
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def laid_out(network: torch.nn.Module, shape: tuple[int, ...], channels_last: bool):
    """A copy of ``network`` and a random input of ``shape``, both in the chosen memory layout."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    return copy.deepcopy(network).to(memory_format=layout), torch.randn(shape).contiguous(memory_format=layout)


def inference_seconds(network: torch.nn.Module, channels: int, size: int, channels_last: bool) -> float:
    """One network pass on a ``channels``×``size``² input."""
    net, x = laid_out(network.eval(), (1, channels, size, size), channels_last)
    sigma = torch.tensor([0.3])

    def forward() -> None:
        with torch.no_grad():
            net(x, sigma)

    return best_seconds(forward)


def training_seconds(network: torch.nn.Module, channels: int, patch: int, batch: int, channels_last: bool) -> float:
    """One AdamW step on ``batch`` patches of ``patch``², as ``eqdenoise train`` takes them in float32."""
    net, x = laid_out(network.train(), (batch, channels, patch, patch), channels_last)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-6)
    sigma = torch.full((batch,), 0.3)

    def step() -> None:
        loss = torch.mean((net(x, sigma) - x) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return best_seconds(step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["gray-d4", "rgb-d4"], help="names or checkpoint paths")
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--patch", type=int, default=128, help="training patch side")
    parser.add_argument("--batch", type=int, default=4, help="training patches per step")
    args = parser.parse_args()
    print(f"Measured {date.today()} on {platform.machine()} ({torch.backends.cpu.get_cpu_capability()}), "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, bf16 instructions: {has_fast_bf16()}\n")
    print("| model | pass | NCHW (s) | channels-last (s) | NCHW / channels-last |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.models:
        network = resolve_model(name, task="denoise").network
        channels = network.state_dict()["conv_out.weight"].shape[0]
        for size in args.sizes:
            plain, last = (inference_seconds(network, channels, size, layout) for layout in (False, True))
            print(f"| {name} | inference {size}² | {plain:.2f} | {last:.2f} | {plain / last:.2f} |", flush=True)
        plain, last = (training_seconds(network, channels, args.patch, args.batch, layout) for layout in (False, True))
        print(f"| {name} | training step {args.batch}×{args.patch}² | {plain:.2f} | {last:.2f} | {plain / last:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
