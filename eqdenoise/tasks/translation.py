"""The transfer task: translate a source image with a diffusion bridge, run in the source's canonical frame.

Frames act on the source and the bridge state together; the whole sampler (padding, tiling, the
start state, every noise draw) runs inside the frame, so the output is exactly equivariant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..diffusion.samplers import Noise, bridge_sample
from ..errors import EqdenoiseError
from ..frames.groups import Element, Group
from ..names import DEFAULT_TRANSFER_STEPS
from ..nets.checkpoint import Model
from .pipeline import (
    SamplerOptions,
    check_memory,
    resolve_group,
    tile_size,
)
from .predictors import x0_predictor

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class TransferOptions(SamplerOptions):
    """Sampler settings: steps from source to target, η (0 deterministic after the first step), seed, method."""

    steps: int = DEFAULT_TRANSFER_STEPS


def translate(model: Model, source: np.ndarray, options: TransferOptions,
              progress: ProgressFn | None = None) -> np.ndarray:
    """Translate one source (C, H, W) in the model's [0, 1] range; exactly equivariant for ``canon`` and ``fa``."""
    if model.task != "bridge":
        raise EqdenoiseError(f"{model.path}: this is a {model.task!r} checkpoint, not a bridge")
    group = resolve_group(model, options.group, options.method)
    y = torch.from_numpy(np.ascontiguousarray(source, dtype=np.float32)) * 2.0 - 1.0
    if y.shape[0] != model.channels:
        raise EqdenoiseError(f"the model translates {model.channels}-channel images, this one has {y.shape[0]}")
    if not torch.isfinite(y).all():
        raise EqdenoiseError("image contains NaN or infinite values")
    tile = tile_size(options.tile, *y.shape[-2:])
    check_memory(model, *y.shape[-2:], channels=2 * model.channels, tile=tile)
    out = options.chosen_method.run(y[None], group, options.steps,
                     lambda canonical, on_step, element, noise: _translate_canonical(model, canonical, options, group,
                                                                                      tile, on_step, element, noise),
                     progress, options.seed, options.noise_frame)
    return ((out[0] + 1.0) / 2.0).numpy()


def _translate_canonical(model: Model, y: torch.Tensor, options: TransferOptions, group: Group, tile: int,
                         on_step: Callable[[], None], element: Element, noise: Noise) -> torch.Tensor:
    """Everything that happens inside one frame: padding, tiling, FA, the bridge sampler, crop."""
    padded, (h, w) = options.chosen_method.pad(y, model)
    network = x0_predictor(model, options.precision, options.device)
    predict = options.chosen_method.predictor(network, model, group, tile, element)
    result = bridge_sample(lambda x, t: predict(torch.cat([x, padded], dim=1), t), model.schedule, padded,
                           options.steps, options.eta, noise, on_step)
    return result[..., :h, :w].contiguous()
