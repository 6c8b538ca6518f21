"""Turning a loaded network into the sampler contract, optionally averaged over a group (FA)."""

from __future__ import annotations

import torch

from .checkpoint import Model
from .groups import Group
from .samplers import EpsModel


def eps_predictor(model: Model) -> EpsModel:
    """ε prediction of a checkpoint's network at schedule time t, one batch item at a time to bound memory."""

    def predict(x: torch.Tensor, t: float) -> torch.Tensor:
        sigma = torch.tensor([model.schedule.sigma(t)], dtype=torch.float32)
        with torch.no_grad():
            return torch.cat([model.network(item, sigma) for item in x.split(1)])

    return predict


def frame_averaged(predict: EpsModel, group: Group) -> EpsModel:
    """Per-step frame averaging over the whole group: mean of g·ε(g⁻¹·x) (SPDM+FA, Puny et al. 2022)."""

    def averaged(x: torch.Tensor, t: float) -> torch.Tensor:
        total = torch.zeros_like(x)
        for g in group:
            total += g.apply(predict(g.inverse().apply(x), t))
        return total / len(group)

    return averaged
