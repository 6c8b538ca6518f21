"""The methods that make a network's answer independent of the input's orientation, each one definition.

A method decides everything in which methods differ: whether a task runs in the input's canonical frame
(``run``), how the input is padded there (``pad``), how the network is wrapped (``predictor``: tiles, averaging
over the group for SPDM+FA, the input's own orientation for SPDM+WT), which models and groups it takes
(``check``) and what it promises (``promise``). Nothing else in the package compares a method's name: a new
method is one new definition in ``METHODS``. The module imports only light things at the top, so the command
line can list the methods and their help without loading torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import EqdenoiseError, UsageError

if TYPE_CHECKING:
    import torch

    from ..diffusion.samplers import Noise
    from ..frames.groups import Element, Group
    from ..nets.checkpoint import Model
    from .predictors import NetworkPredictor

FLOAT_ROUNDING = 1e-5
ProgressFn = Callable[[int, int], None]
InFrame = Callable[["torch.Tensor", Callable[[], None], "Element", "Noise"], "torch.Tensor"]


@dataclass(frozen=True)
class Method:
    """``canon``: the task runs in the input's canonical frame with the network as it is (bit-exact, one pass per
    step); the base of every method that uses the frame."""

    name: str
    help: str

    def check(self, model: Model, group: Group) -> None:
        """Refuse a model or group this method cannot make equivariant (one line naming the checkpoint)."""

    def promise(self, model: Model, steps: int, noise_frame: str) -> tuple[float, str]:
        """The largest orbit error this method promises on ``model``, as a fraction of the output range, and why."""
        return 0.0, f"bit-exact: {self.name} runs the network on the canonical frame, one array whatever the orientation"

    def pad(self, x: torch.Tensor, model: Model) -> tuple[torch.Tensor, tuple[int, int]]:
        """Pad to the network's stride (in the frame); returns the padded array and the size to crop back to."""
        return pad_to_multiple(x, model.network.stride)

    def predictor(self, predict: NetworkPredictor, model: Model, group: Group, tile: int,
                  element: Element) -> NetworkPredictor:
        """The predictor the sampler calls in the frame of ``element``: here the network, tiled to ``tile``."""
        from .predictors import wrapped

        return wrapped(predict, model.network.stride, tile, None)

    def run(self, batch: torch.Tensor, group: Group, steps: int, in_frame: InFrame, progress: ProgressFn | None,
            seed: int, noise_frame: str) -> torch.Tensor:
        """``in_frame(h⁻¹·x, on_step, h, noise)`` for h in the canonical frame of ``batch``, mean of h·result: the
        mean is order-free, so the result is bit-exact. ``progress(done, total)`` counts the sampler steps over every
        element of the frame (usually one)."""
        from ..frames.canon import canonical_frame, run_in_frame

        frame = canonical_frame(batch, group)
        on_step = _step_counter(steps * len(frame), progress)
        return run_in_frame(lambda canonical, h: in_frame(canonical, on_step, h, _noise(seed, h, h, noise_frame)),
                            batch, group, frame)


@dataclass(frozen=True)
class FrameAveraging(Method):
    """``fa``: the canonical frame, and the network averaged over the group at every step (SPDM+FA)."""

    def predictor(self, predict: NetworkPredictor, model: Model, group: Group, tile: int,
                  element: Element) -> NetworkPredictor:
        from .predictors import wrapped

        return wrapped(predict, model.network.stride, tile, group)


@dataclass(frozen=True)
class WeightTied(Method):
    """``wt``: a network equivariant by construction, run in the input's own orientation while the sampler and its
    noise stay in the canonical frame (SPDM+WT with equivariant noise): equivariant to float rounding."""

    def check(self, model: Model, group: Group) -> None:
        from ..frames.groups import get_group

        built = model.equivariant_group
        if built is None:
            raise EqdenoiseError(f"{model.path}: --method wt needs a weight-tied checkpoint (equivariant by "
                                 "construction); this one is a plain network: use canon or fa")
        if not group.is_subgroup_of(get_group(built)):
            raise EqdenoiseError(f"{model.path}: the network is equivariant to {built!r} by construction, "
                                 f"not to {group.name!r}")

    def promise(self, model: Model, steps: int, noise_frame: str) -> tuple[float, str]:
        return FLOAT_ROUNDING * steps, ("float rounding: a weight-tied network is equivariant by construction, up to "
                                        f"the summation order of float32 arithmetic ({_per_steps(steps)})")

    def predictor(self, predict: NetworkPredictor, model: Model, group: Group, tile: int,
                  element: Element) -> NetworkPredictor:
        from .predictors import in_orientation, wrapped

        return wrapped(in_orientation(predict, element), model.network.stride, tile, None)


@dataclass(frozen=True)
class Plain(Method):
    """``none``: no frame, the network as it is on the input as it is (a plain network is not equivariant; a
    weight-tied one pads itself symmetrically and is, to float rounding)."""

    def promise(self, model: Model, steps: int, noise_frame: str) -> tuple[float, str]:
        if not model.equivariant_group:
            return 0.0, "none: a plain network without a frame is not equivariant (this is expected to fail)"
        if noise_frame == "input":
            return FLOAT_ROUNDING * steps, ("float rounding for deterministic runs only (η = 0, no --strength): with "
                                            "--noise-frame input the noise is laid out by the input's orientation "
                                            f"({_per_steps(steps)})")
        return FLOAT_ROUNDING * steps, ("float rounding: a weight-tied network is equivariant by construction and the "
                                        "noise is drawn in the input's canonical frame, so it turns with the input "
                                        f"(inputs without a symmetry of their own; {_per_steps(steps)})")

    def pad(self, x: torch.Tensor, model: Model) -> tuple[torch.Tensor, tuple[int, int]]:
        if model.equivariant_group:
            return x, tuple(x.shape[-2:])
        return pad_to_multiple(x, model.network.stride)

    def predictor(self, predict: NetworkPredictor, model: Model, group: Group, tile: int,
                  element: Element) -> NetworkPredictor:
        if not model.equivariant_group:
            return super().predictor(predict, model, group, tile, element)
        if tile:
            raise EqdenoiseError("tiles break a weight-tied network's equivariance without a frame; use "
                                 "--method wt (the same network, tiled in the canonical frame) or --tile 0")
        from ..nets.wt_unet import symmetrically_padded

        return symmetrically_padded(predict, model.network.stride)

    def run(self, batch: torch.Tensor, group: Group, steps: int, in_frame: InFrame, progress: ProgressFn | None,
            seed: int, noise_frame: str) -> torch.Tensor:
        """``in_frame(x, on_step, identity, noise)``, the noise still drawn in the canonical frame unless
        ``noise_frame`` is ``input`` (SPDM §5.2)."""
        from ..frames.canon import canonical_frame
        from ..frames.groups import IDENTITY

        drawn = canonical_frame(batch, group)[0] if noise_frame == "canonical" else IDENTITY
        return in_frame(batch, _step_counter(steps, progress), IDENTITY, frame_noise(seed, IDENTITY, drawn))


METHODS: dict[str, Method] = {method.name: method for method in (
    Method("canon", "run in the input's canonical frame (bit-exact, 1 pass per step)"),
    FrameAveraging("fa", "canonical frame plus averaging over the group at every step (SPDM+FA, bit-exact, |G| passes "
                         "per step)"),
    WeightTied("wt", "a weight-tied checkpoint run in the input's own orientation, noise drawn in the canonical frame "
                     "(SPDM+WT, equivariant to float rounding)"),
    Plain("none", "the network as it is (a plain one is not equivariant)"),
)}


DEFAULT_METHOD = "canon"


def get_method(name: str | Method) -> Method:
    """The method of this name (a method is returned as it is); a usage error naming the choices otherwise."""
    if isinstance(name, Method):
        return name
    if not isinstance(name, str) or name not in METHODS:
        raise UsageError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad bottom/right by reflection (replication if too small) to a multiple of the network stride."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def frame_noise(seed: int, working: Element, drawn: Element) -> Noise:
    """The noise of a sampler whose array ``a`` shows the input as ``working·a``, drawn in the orientation ``drawn``.

    The numbers (seeded by ``seed``) are laid out in the orientation whose arrays ``b`` show the input as
    ``drawn·b``, then turned into the sampler's: ``working⁻¹·drawn·n``. ``drawn`` = the canonical element is
    SPDM §5.2's equivariant noise sequence (turning the input turns the noise); ``drawn`` = identity lays the
    numbers out by the input's own orientation, the ablation that shows why the noise must be equivariant.
    """
    import torch

    from ..diffusion.samplers import gaussian
    from ..frames.groups import IDENTITY

    generator = torch.Generator().manual_seed(seed)
    turn = working.inverse() * drawn
    if turn == IDENTITY:
        return gaussian(generator)

    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        return turn.apply(torch.randn((*shape[:-2], *turn.transformed_shape(*shape[-2:])), generator=generator))

    return draw


def _noise(seed: int, working: Element, canonical: Element, noise_frame: str) -> Noise:
    """The sampler's noise in the frame of ``working``: drawn in the canonical frame, or in the input's (ablation)."""
    from ..frames.groups import IDENTITY

    return frame_noise(seed, working, canonical if noise_frame == "canonical" else IDENTITY)


def _step_counter(total: int, progress: ProgressFn | None) -> Callable[[], None]:
    """A callback for each sampler step that reports ``progress(done, total)``."""
    done = [0]

    def on_step() -> None:
        done[0] += 1
        if progress:
            progress(done[0], total)

    return on_step


def _per_steps(steps: int) -> str:
    return f"10⁻⁵ of the range per sampler step, {steps} step(s)"
