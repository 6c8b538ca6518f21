"""What every task shares: the method (frame and predictor) in one place, the group, memory, tiling and padding.

A method is decided here and nowhere else: ``run_method`` runs a task's in-frame pipeline in the input's
canonical frame (``canon``, ``fa``) or as it is (``none``), and ``method_predictor`` turns the network into
the predictor that pipeline calls (tiled, and averaged over the group for ``fa``). A network that is
equivariant by construction would be a fourth method: run as it is, exact without a frame.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .canon import canonical_frame, run_in_frame
from .checkpoint import Model
from .errors import EqdenoiseError
from .groups import Group, get_group
from .names import METHODS
from .precision import check_precision
from .predictors import NetworkPredictor, wrapped

BYTES_PER_PIXEL_PER_WIDTH = 45
AUTO_TILE, AUTO_TILE_ABOVE = 512, 1024 * 1024


@dataclass(frozen=True)
class SamplerOptions:
    """What every task's sampler takes: steps, η, seed, frame method, group (default: the model's), tile, precision."""

    steps: int = 1
    eta: float = 0.0
    seed: int = 0
    method: str = "canon"
    group: str | None = None
    tile: int | None = None
    precision: str = "fp32"

    def check(self) -> None:
        """Reject values outside their ranges."""
        check_sampler_options(self.method, self.steps, self.eta, self.tile)
        check_precision(self.precision)


def check_sampler_options(method: str, steps: int, eta: float, tile: int | None) -> None:
    """Reject a method, step count, η or tile size outside what the samplers accept."""
    if method not in METHODS:
        raise EqdenoiseError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if steps < 1 or steps > 1000:
        raise EqdenoiseError(f"--steps must be between 1 and 1000, got {steps}")
    if not 0.0 <= eta <= 1.0:
        raise EqdenoiseError(f"--eta must be in [0, 1], got {eta}")
    if tile is not None and tile != 0 and tile < 64:
        raise EqdenoiseError(f"--tile must be 0 (never tile) or at least 64, got {tile}")


def resolve_group(model: Model, name: str | None) -> Group:
    """The group to be equivariant to: the model's by default; only subgroups of what it was trained for."""
    trained = get_group(model.group)
    group = get_group(name) if name else trained
    if not group.is_subgroup_of(trained):
        raise EqdenoiseError(f"{model.path}: model was trained for group {trained.name!r}, "
                             f"not {group.name!r}; use --group {trained.name} or a subgroup of it")
    return group


def available_memory() -> int:
    """Bytes of memory the OS reports as available (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def tile_size(tile: int | None, height: int, width: int) -> int:
    """Tile side for the network: the user's ``tile``, or 512 above a megapixel when left to auto (0: none)."""
    if tile is None:
        return AUTO_TILE if height * width > AUTO_TILE_ABOVE else 0
    return tile


def check_memory(model: Model, height: int, width: int, channels: int, tile: int) -> None:
    """Refuse images that would not fit: about 45·base bytes per network pixel (measured) plus the full states."""
    stride = model.network.stride
    side_h, side_w = (min(height, tile), min(width, tile)) if tile else (height, width)
    network = (side_h + stride) * (side_w + stride) * BYTES_PER_PIXEL_PER_WIDTH * int(model.config["architecture"]["base"])
    needed = network + 64 * channels * (height + stride) * (width + stride)
    available = available_memory()
    if needed > available:
        raise EqdenoiseError(f"a {width}×{height} image needs about {needed / 2**30:.1f} GiB of memory, "
                             f"only {available / 2**30:.1f} GiB is available; crop or downscale it")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad bottom/right by reflection (replication if too small) to a multiple of the network stride."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


ProgressFn = Callable[[int, int], None]
InFrame = Callable[[torch.Tensor, Callable[[], None]], torch.Tensor]


def run_method(batch: torch.Tensor, method: str, group: Group, steps: int, in_frame: InFrame,
               progress: ProgressFn | None = None) -> torch.Tensor:
    """``in_frame(x, on_step)`` in the canonical frame of ``batch`` (methods canon, fa) or as it is (none).

    ``progress(done, total)`` counts the sampler steps over every element of the frame (usually one).
    """
    frame = canonical_frame(batch, group) if method != "none" else []
    total, done = steps * max(1, len(frame)), [0]

    def on_step() -> None:
        done[0] += 1
        if progress:
            progress(done[0], total)

    if method == "none":
        return in_frame(batch, on_step)
    return run_in_frame(lambda canonical: in_frame(canonical, on_step), batch, group, frame)


def method_predictor(predict: NetworkPredictor, model: Model, method: str, group: Group, tile: int) -> NetworkPredictor:
    """The network predictor a method's sampler calls: tiled to ``tile``, and averaged over ``group`` for fa."""
    return wrapped(predict, model.network.stride, tile, group if method == "fa" else None)
