"""Canonical frames: an integer-exact score picks the orientation(s) an input is run in.

The construction is docs/method.md, "Exact equivariance: the canonical frame".

score_g(x) = <g⁻¹·x, w>, with w a centred linear ramp whose orbit under D4 has 8 distinct members.
The frame of x is the argmax set of the scores; it satisfies Fr(k·x) = k·Fr(x) exactly because the
scores are computed in integers on a fixed quantization grid, so no rounding can flip a choice.
"""

from __future__ import annotations

import torch

from .groups import Element, Group

QUANT_STEPS = 1 << 16
RAMP = (1, 3)
SCORE_ROWS = 256


def quantize_for_scores(x: torch.Tensor) -> torch.Tensor:
    """Map [-1, 1] values elementwise to integers on a fixed grid (int64), so scores are exact."""
    return torch.round((x.double().clamp(-1.0, 1.0) + 1.0) * (QUANT_STEPS // 2)).to(torch.int64)


def centred_coordinates(size: int) -> torch.Tensor:
    """Odd centred coordinates 2i − (size − 1) of one axis (int64)."""
    return 2 * torch.arange(size, dtype=torch.int64) - (size - 1)


def ramp_template(height: int, width: int) -> torch.Tensor:
    """Integer ramp a·u + b·v on centred odd coordinates u = 2i-(H-1), v = 2j-(W-1)."""
    return RAMP[0] * centred_coordinates(height)[:, None] + RAMP[1] * centred_coordinates(width)[None, :]


def ramp_moments(x: torch.Tensor) -> tuple[int, int]:
    """Exact Σ u·q(x) and Σ v·q(x) over all axes, quantizing a block of rows at a time to bound memory."""
    height, width = x.shape[-2:]
    rows = torch.zeros(height, dtype=torch.int64)
    cols = torch.zeros(width, dtype=torch.int64)
    for start in range(0, height, SCORE_ROWS):
        q = quantize_for_scores(x[..., start:start + SCORE_ROWS, :]).reshape(-1, min(SCORE_ROWS, height - start), width)
        rows[start:start + q.shape[1]] = q.sum(dim=(0, 2))
        cols += q.sum(dim=(0, 1))
    return int(rows @ centred_coordinates(height)), int(cols @ centred_coordinates(width))


def moved_ramp_coefficients(element: Element) -> tuple[int, int]:
    """(α, β) with g·w = α·u + β·v: the ramp moved by g is again a ramp, with the same coefficients at any size."""
    proxy = element.apply(ramp_template(*element.inverse().transformed_shape(3, 5)))
    return int(proxy[1, 0] - proxy[0, 0]) // 2, int(proxy[0, 1] - proxy[0, 0]) // 2


def frame_scores(x: torch.Tensor, group: Group) -> list[int]:
    """Exact integer score <g⁻¹·x, w> = <x, g·w> for each group element, summed over leading axes."""
    along_rows, along_cols = ramp_moments(x)
    scores = []
    for element in group:
        alpha, beta = moved_ramp_coefficients(element)
        scores.append(alpha * along_rows + beta * along_cols)
    return scores


def canonical_frame(x: torch.Tensor, group: Group) -> list[Element]:
    """The elements with maximal score (usually one; several when x is symmetric or flat)."""
    scores = frame_scores(x, group)
    best = max(scores)
    return [element for element, score in zip(group, scores, strict=True) if score == best]


def order_free_mean(terms: list[torch.Tensor]) -> torch.Tensor:
    """Mean of equally shaped tensors that is bit-identical whatever order they come in.

    Values are sorted per pixel before summation, so the floating-point sum does not depend on the
    order of the frame's elements (which changes when the input is rotated).
    """
    if len(terms) == 1:
        return terms[0]
    stacked, _ = torch.sort(torch.stack(terms), dim=0)
    total = stacked[0].clone()
    for term in stacked[1:]:
        total += term
    return total / len(terms)


def run_in_frame(fn, x: torch.Tensor, group: Group, frame: list[Element] | None = None) -> torch.Tensor:
    """Exactly equivariant wrapper, mean over h in Fr(x) of h·fn(h⁻¹·x, h); gives SPDM §5.2 equivariant noise.

    ``fn`` is told the frame element h too, for what must happen in the input's own orientation.
    """
    frame = canonical_frame(x, group) if frame is None else frame
    terms = [h.apply(fn(h.inverse().apply(x), h)) for h in frame]
    return order_free_mean(terms)
