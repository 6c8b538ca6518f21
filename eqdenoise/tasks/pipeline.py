"""What every task shares: its sampler options, the group, memory and tiling (the methods are in ``methods.py``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..devices import resolve_device
from ..errors import EqdenoiseError, UsageError
from ..frames.groups import Group, get_group
from ..names import MAX_SEED, NOISE_FRAMES
from ..nets.checkpoint import Model, network_width
from ..nets.precision import check_precision
from .methods import DEFAULT_METHOD, Method, get_method

BYTES_PER_PIXEL_PER_WIDTH = 45
AUTO_TILE, AUTO_TILE_ABOVE = 512, 1024 * 1024


@dataclass(frozen=True)
class SamplerOptions:
    """What every task's sampler takes: steps, η, seed, frame method, group (default: the model's), tile, precision,
    the network's device, and the frame the noise is drawn in (``input``, the ablation, breaks equivariance)."""

    steps: int = 1
    eta: float = 0.0
    seed: int = 0
    method: str | Method = DEFAULT_METHOD
    group: str | None = None
    tile: int | None = None
    precision: str = "fp32"
    noise_frame: str = "canonical"
    device: str = "auto"

    def __post_init__(self) -> None:
        """Options are checked once, when made: an options object that exists is a valid one."""
        self.check()

    @property
    def chosen_method(self) -> Method:
        """The method object of ``method`` (a name or a method)."""
        return get_method(self.method)

    def check(self) -> None:
        """Reject values outside their ranges, and a device this machine does not have."""
        check_sampler_options(self.method, self.steps, self.eta, self.tile)
        check_seed(self.seed)
        check_precision(self.precision)
        resolve_device(self.device)
        if self.noise_frame not in NOISE_FRAMES:
            raise UsageError(f"unknown noise frame {self.noise_frame!r}; choose one of {', '.join(NOISE_FRAMES)}")


def check_sampler_options(method: str | Method, steps: int, eta: float, tile: int | None) -> None:
    """Reject a method, step count, η or tile size outside what the samplers accept."""
    get_method(method)
    if not isinstance(steps, int) or steps < 1 or steps > 1000:
        raise UsageError(f"--steps must be between 1 and 1000, got {steps}")
    if not 0.0 <= eta <= 1.0:
        raise UsageError(f"--eta must be in [0, 1], got {eta}")
    if tile is not None and (not isinstance(tile, int) or tile < 0 or 0 < tile < 64):
        raise UsageError(f"--tile must be 0 (never tile) or at least 64, got {tile}")



def check_seed(seed: int, count: int = 1) -> None:
    """Refuse a seed outside 0 … 2⁶³ − 1 (what a torch generator takes), counting the ``count`` seeds from it."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED - (count - 1):
        raise UsageError(f"--seed must be a whole number from 0 to {MAX_SEED - (count - 1)}, got {seed}")


def resolve_group(model: Model, name: str | None, method: str | Method = DEFAULT_METHOD) -> Group:
    """The group to be equivariant to: the model's by default; only subgroups of what it was trained for, and what
    the method takes on this model (``wt``: a network equivariant by construction to a group holding it)."""
    trained = get_group(model.group)
    group = get_group(name) if name else trained
    if not group.is_subgroup_of(trained):
        raise EqdenoiseError(f"{model.path}: model was trained for group {trained.name!r}, "
                             f"not {group.name!r}; use --group {trained.name} or a subgroup of it")
    get_method(method).check(model, group)
    return group


def check_unit_range(x: torch.Tensor, noise_std: float, path: object = None) -> None:
    """Refuse values that no [0, 1] image with noise of this std reaches (beyond 6 std, at least ±1): a float image
    in another unit (e.g. 935…3125 in a float TIFF) would otherwise be clipped to nonsense without a word. Denoising
    and training (clean images, std 0) share this rule."""
    margin = max(1.0, 6.0 * noise_std)
    low, high = float(x.min()), float(x.max())
    if low < -margin or high > 1.0 + margin:
        raise EqdenoiseError(f"{f'{path}: ' if path else ''}pixel values span {low:.6g}…{high:.6g}, beyond "
                             f"{-margin:g}…{1 + margin:g} that a [0, 1] "
                             "image with this noise reaches; denoise and train take float images scaled to [0, 1] "
                             "(scale it first; integer images are scaled by their bit depth)")


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
    network = (side_h + stride) * (side_w + stride) * BYTES_PER_PIXEL_PER_WIDTH * network_width(model.config["architecture"])
    needed = network + 64 * channels * (height + stride) * (width + stride)
    available = available_memory()
    if needed > available:
        raise EqdenoiseError(f"a {width}×{height} image needs about {needed / 2**30:.1f} GiB of memory, "
                             f"only {available / 2**30:.1f} GiB is available; crop or downscale it")
