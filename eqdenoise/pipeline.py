"""What every task shares: the method (frame and predictor) in one place, the group, memory, tiling and padding.

A method is decided here and nowhere else: ``run_method`` runs a task's in-frame pipeline in the input's
canonical frame (``canon``, ``fa``, ``wt``) or as it is (``none``), and ``method_predictor`` turns the network
into the predictor that pipeline calls (tiled, averaged over the group for ``fa``, and for ``wt`` a
weight-tied network evaluated in the input's own orientation, so that only its construction makes it
equivariant while the sampler and its noise stay in the canonical frame: SPDM+WT with equivariant noise).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .canon import canonical_frame, run_in_frame
from .checkpoint import Model, network_width
from .devices import resolve_device
from .errors import EqdenoiseError, UsageError
from .groups import IDENTITY, Element, Group, get_group
from .names import MAX_SEED, METHODS, NOISE_FRAMES
from .precision import check_precision
from .predictors import NetworkPredictor, in_orientation, wrapped
from .samplers import Noise, gaussian
from .wt_unet import symmetrically_padded

BYTES_PER_PIXEL_PER_WIDTH = 45
AUTO_TILE, AUTO_TILE_ABOVE = 512, 1024 * 1024


@dataclass(frozen=True)
class SamplerOptions:
    """What every task's sampler takes: steps, η, seed, frame method, group (default: the model's), tile, precision,
    the network's device, and the frame the noise is drawn in (``input``, the ablation, breaks equivariance)."""

    steps: int = 1
    eta: float = 0.0
    seed: int = 0
    method: str = "canon"
    group: str | None = None
    tile: int | None = None
    precision: str = "fp32"
    noise_frame: str = "canonical"
    device: str = "auto"

    def check(self) -> None:
        """Reject values outside their ranges, and a device this machine does not have."""
        check_sampler_options(self.method, self.steps, self.eta, self.tile)
        check_seed(self.seed)
        check_precision(self.precision)
        resolve_device(self.device)
        if self.noise_frame not in NOISE_FRAMES:
            raise UsageError(f"unknown noise frame {self.noise_frame!r}; choose one of {', '.join(NOISE_FRAMES)}")


def check_sampler_options(method: str, steps: int, eta: float, tile: int | None) -> None:
    """Reject a method, step count, η or tile size outside what the samplers accept."""
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
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


def resolve_group(model: Model, name: str | None, method: str = "canon") -> Group:
    """The group to be equivariant to: the model's by default; only subgroups of what it was trained for.

    ``wt`` needs a network that is equivariant by construction, to a group that holds the chosen one.
    """
    trained = get_group(model.group)
    group = get_group(name) if name else trained
    if not group.is_subgroup_of(trained):
        raise EqdenoiseError(f"{model.path}: model was trained for group {trained.name!r}, "
                             f"not {group.name!r}; use --group {trained.name} or a subgroup of it")
    if method == "wt":
        built = model.equivariant_group
        if built is None:
            raise EqdenoiseError(f"{model.path}: --method wt needs a weight-tied checkpoint (equivariant by "
                                 "construction); this one is a plain network: use canon or fa")
        if not group.is_subgroup_of(get_group(built)):
            raise EqdenoiseError(f"{model.path}: the network is equivariant to {built!r} by construction, "
                                 f"not to {group.name!r}")
    return group


FLOAT_ROUNDING = 1e-5


def promise(model: Model, method: str, steps: int = 1, noise_frame: str = "canonical") -> tuple[float, str]:
    """What a method promises on this model: the largest orbit error as a fraction of the output range, and why.

    A weight-tied network's rounding (10⁻⁵ of the range per pass) can add up over the sampler's steps.
    """
    if method in ("canon", "fa"):
        return 0.0, f"bit-exact: {method} runs the network on the canonical frame, one array whatever the orientation"
    per_steps = f"10⁻⁵ of the range per sampler step, {steps} step(s)"
    if model.equivariant_group and method == "wt":
        return FLOAT_ROUNDING * steps, ("float rounding: a weight-tied network is equivariant by construction, up to "
                                        f"the summation order of float32 arithmetic ({per_steps})")
    if model.equivariant_group and noise_frame == "input":
        return FLOAT_ROUNDING * steps, ("float rounding for deterministic runs only (η = 0, no --strength): with "
                                        f"--noise-frame input the noise is laid out by the input's orientation ({per_steps})")
    if model.equivariant_group:
        return FLOAT_ROUNDING * steps, ("float rounding: a weight-tied network is equivariant by construction and the "
                                        "noise is drawn in the input's canonical frame, so it turns with the input "
                                        f"(inputs without a symmetry of their own; {per_steps})")
    return 0.0, "none: a plain network without a frame is not equivariant (this is expected to fail)"


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


def pad_for_method(x: torch.Tensor, model: Model, method: str) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad to the network's stride in the frame; not for a weight-tied network without a frame (it pads itself)."""
    if method == "none" and model.equivariant_group:
        return x, tuple(x.shape[-2:])
    return pad_to_multiple(x, model.network.stride)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad bottom/right by reflection (replication if too small) to a multiple of the network stride."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


ProgressFn = Callable[[int, int], None]
InFrame = Callable[[torch.Tensor, Callable[[], None], Element, Noise], torch.Tensor]


def run_method(batch: torch.Tensor, method: str, group: Group, steps: int, in_frame: InFrame,
               progress: ProgressFn | None = None, seed: int = 0, noise_frame: str = "canonical") -> torch.Tensor:
    """``in_frame(h⁻¹·x, on_step, h, noise)`` for h in the canonical frame of ``batch``, mean of h·result (canon,
    fa, wt); ``in_frame(x, on_step, identity, noise)`` for none. The mean is order-free, so the result is bit-exact.

    ``noise`` is the sampler's source, seeded by ``seed`` and laid out by ``noise_frame`` (see ``frame_noise``): with
    ``canonical`` it is drawn in the canonical frame of ``batch`` for every method, ``none`` included (SPDM §5.2).
    ``progress(done, total)`` counts the sampler steps over every element of the frame (usually one).
    """
    frame = canonical_frame(batch, group)
    total, done = steps * (len(frame) if method != "none" else 1), [0]

    def on_step() -> None:
        done[0] += 1
        if progress:
            progress(done[0], total)

    def noise_for(working: Element, canonical: Element) -> Noise:
        return frame_noise(seed, working, canonical if noise_frame == "canonical" else IDENTITY)

    if method == "none":
        return in_frame(batch, on_step, IDENTITY, noise_for(IDENTITY, frame[0]))
    return run_in_frame(lambda canonical, h: in_frame(canonical, on_step, h, noise_for(h, h)), batch, group, frame)


def frame_noise(seed: int, working: Element, drawn: Element) -> Noise:
    """The noise of a sampler whose array ``a`` shows the input as ``working·a``, drawn in the orientation ``drawn``.

    The numbers (seeded by ``seed``) are laid out in the orientation whose arrays ``b`` show the input as
    ``drawn·b``, then turned into the sampler's: ``working⁻¹·drawn·n``. ``drawn`` = the canonical element is
    SPDM §5.2's equivariant noise sequence (turning the input turns the noise); ``drawn`` = identity lays the
    numbers out by the input's own orientation, the ablation that shows why the noise must be equivariant.
    """
    generator = torch.Generator().manual_seed(seed)
    turn = working.inverse() * drawn
    if turn == IDENTITY:
        return gaussian(generator)

    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        return turn.apply(torch.randn((*shape[:-2], *turn.transformed_shape(*shape[-2:])), generator=generator))

    return draw


def method_predictor(predict: NetworkPredictor, model: Model, method: str, group: Group, tile: int,
                     element: Element = IDENTITY) -> NetworkPredictor:
    """The network predictor a method's sampler calls in the frame of ``element``: tiled to ``tile``, averaged
    over ``group`` for fa, and for wt the network run in the input's orientation (``element`` turns it there).

    A weight-tied network without a frame pads itself symmetrically; tiles would break its equivariance.
    """
    if method == "wt":
        predict = in_orientation(predict, element)
    elif method == "none" and model.equivariant_group:
        if tile:
            raise EqdenoiseError("tiles break a weight-tied network's equivariance without a frame; use "
                                 "--method wt (the same network, tiled in the canonical frame) or --tile 0")
        return symmetrically_padded(predict, model.network.stride)
    return wrapped(predict, model.network.stride, tile, group if method == "fa" else None)
