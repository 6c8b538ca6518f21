"""What every task shares: the group to be equivariant to, the memory check, tiling and padding."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from .checkpoint import Model
from .errors import EqdenoiseError
from .groups import Group, get_group

METHODS = ("canon", "fa", "none")
BYTES_PER_PIXEL_PER_WIDTH = 45
AUTO_TILE, AUTO_TILE_ABOVE, TILE_OVERLAP = 512, 1024 * 1024, 48


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


def tile_overlap(tile: int, stride: int) -> int:
    """Overlap between neighbouring tiles: 48 pixels, at most a quarter tile, a multiple of the stride."""
    return min(TILE_OVERLAP, tile // 4 // stride * stride)


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
