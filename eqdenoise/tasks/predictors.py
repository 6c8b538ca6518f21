"""Turning a loaded network into the sampler contract, optionally averaged over a group (FA) or tiled.

Bridge networks see the state and the source stacked on the channel axis, so a group element, a
tile or a pad acts on both together, as ``f(κx, κy) = κ f(x, y)`` requires.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..devices import resolve_device
from ..diffusion.bridge_schedule import BrownianBridge
from ..diffusion.samplers import Denoiser, tweedie
from ..errors import EqdenoiseError
from ..frames.groups import Element, Group
from ..nets.checkpoint import Model
from ..nets.precision import run

TILE_OVERLAP = 48
NetworkPredictor = Callable[[torch.Tensor, float], torch.Tensor]


def _network_predictor(model: Model, condition, precision: str, device: str) -> NetworkPredictor:
    """The checkpoint's network at the condition ``condition(t)`` sees, one batch item per pass.

    Batched passes measured slower per image on CPU (fa at 256²: 4 copies per pass ran at a third of the
    single-copy rate; docs/benchmarks.md), and one item at a time bounds memory.
    """
    where = resolve_device(device)
    network = model.inference_network(where)

    def predict(x: torch.Tensor, t: float) -> torch.Tensor:
        value = condition(t).to(where)
        with torch.no_grad():
            out = [run(network, items.to(where), value, precision).cpu() for items in x.split(1)]
        return checked_prediction(torch.cat(out), model)

    return predict


def checked_prediction(out: torch.Tensor, model: Model) -> torch.Tensor:
    """Refuse a network output that is not finite: a damaged checkpoint would otherwise be clipped into an image."""
    if not torch.isfinite(out).all():
        raise EqdenoiseError(f"{model.path}: the model produced NaN or infinite values; its checkpoint is damaged")
    return out


def eps_predictor(model: Model, precision: str = "fp32", device: str = "cpu") -> NetworkPredictor:
    """ε prediction of a denoiser at schedule time t (the network is conditioned on σ_t)."""
    return _network_predictor(model, lambda t: torch.tensor([model.schedule.sigma(t)], dtype=torch.float32),
                              precision, device)


def x0_predictor(model: Model, precision: str = "fp32", device: str = "cpu") -> NetworkPredictor:
    """x0 prediction of a bridge network from the stacked (state, source) at bridge time t."""
    return _network_predictor(model, lambda t: BrownianBridge.condition(torch.tensor([t], dtype=torch.float32)),
                              precision, device)


def frame_averaged(predict: NetworkPredictor, group: Group) -> NetworkPredictor:
    """Per-step averaging over the whole group, mean of g·ε(g⁻¹·x): SPDM output combining, eq. 12–13.

    The turned copies of one shape (all of them for a square input, two sets otherwise) go to ``predict``
    as one batch: one call per shape, which a tiled predictor cuts into tiles once for all of them.
    """

    def averaged(x: torch.Tensor, t: float) -> torch.Tensor:
        moved = [g.inverse().apply(x) for g in group]
        terms: list[torch.Tensor | None] = [None] * len(moved)
        for shape in dict.fromkeys(m.shape for m in moved):
            members = [i for i, m in enumerate(moved) if m.shape == shape]
            outputs = predict(torch.cat([moved[i] for i in members]), t).split(x.shape[0])
            for i, output in zip(members, outputs, strict=True):
                terms[i] = group.elements[i].apply(output)
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total / len(group)

    return averaged


def in_orientation(predict: NetworkPredictor, element: Element) -> NetworkPredictor:
    """``element⁻¹·predict(element·x)``: a frame's array turned back to the input's orientation for the network."""
    inverse = element.inverse()
    return lambda x, t: inverse.apply(predict(element.apply(x), t))


def tile_spans(size: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Tiles along one axis as (start, end, keep_from, keep_to): overlapping windows and the part each owns.

    Starts step by ``tile − 2·overlap`` and stay multiples of whatever ``tile`` and ``overlap`` are
    multiples of; each output pixel is taken from exactly one tile, cut midway through the overlap.
    """
    if size <= tile:
        return [(0, size, 0, size)]
    step = tile - 2 * overlap
    starts = list(range(0, size - tile, step)) + [size - tile]
    cuts = [0] + [(b + a + tile) // 2 for a, b in zip(starts[:-1], starts[1:], strict=True)] + [size]
    return [(s, s + tile, cuts[i], cuts[i + 1]) for i, s in enumerate(starts)]


def tiled(predict: NetworkPredictor, tile: int, overlap: int) -> NetworkPredictor:
    """Evaluate ``predict`` on overlapping tiles to bound memory; the tiling is a fixed function of the array."""

    def run(x: torch.Tensor, t: float) -> torch.Tensor:
        rows, cols = tile_spans(x.shape[-2], tile, overlap), tile_spans(x.shape[-1], tile, overlap)
        if len(rows) == 1 and len(cols) == 1:
            return predict(x, t)
        out = None
        for r0, r1, keep_r0, keep_r1 in rows:
            for c0, c1, keep_c0, keep_c1 in cols:
                piece = predict(x[..., r0:r1, c0:c1].contiguous(), t)
                if out is None:
                    out = x.new_empty((*piece.shape[:-2], *x.shape[-2:]))
                out[..., keep_r0:keep_r1, keep_c0:keep_c1] = piece[..., keep_r0 - r0:keep_r1 - r0, keep_c0 - c0:keep_c1 - c0]
        return out

    return run


def wrapped(predict: NetworkPredictor, stride: int, tile: int, average_over: Group | None) -> NetworkPredictor:
    """A predictor tiled to ``tile`` pixels (0: whole image) and, if a group is given, averaged over it per step."""
    if tile:
        predict = tiled(predict, tile - tile % stride, tile_overlap(tile, stride))
    return frame_averaged(predict, average_over) if average_over is not None else predict


def tile_overlap(tile: int, stride: int) -> int:
    """Overlap between neighbouring tiles: 48 pixels, at most a quarter tile, a multiple of the stride."""
    return min(TILE_OVERLAP, tile // 4 // stride * stride)


def eps_denoiser(predict_eps: NetworkPredictor, schedule) -> Denoiser:
    """The sampler contract from an ε network: x̂0 = (x_t − s_t·ε̂) / a_t (Tweedie), like EDM's preconditioning."""
    return lambda x, t: tweedie(x, predict_eps(x, t), schedule, t)
