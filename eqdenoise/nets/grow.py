"""Function-preserving growth of a U-Net: more residual blocks per level, wider levels, windowed attention.

A grown network starts as the exact function of the small one (up to float summation order):
every weight of the small network keeps its place, the weights from added channels into the old
ones are zero, and added blocks (residual or attention) start with a zero last layer, so they are the identity.
The added channels get fresh random weights from the old ones, so they carry signal and their
zero outgoing weights receive gradient from the first step.
"""

from __future__ import annotations

from itertools import pairwise

import torch

from .unet import UNet


def can_grow(small: dict, large: dict) -> bool:
    """Whether ``large`` is ``small`` with at least as many blocks and channels on every level, and maybe attention.

    A network that has attention keeps its width: its LayerNorm and heads would not keep their function.
    """
    fixed = ("name", "channels", "emb_dim", "in_channels")
    if any(small.get(key) != large.get(key) for key in fixed) or len(small["mults"]) != len(large["mults"]):
        return False
    if int(small.get("unshuffle", 1)) != int(large.get("unshuffle", 1)):
        return False
    small_widths, large_widths = _widths(small), _widths(large)
    wider = all(s <= g for s, g in zip(small_widths, large_widths, strict=True))
    same_skips = [a == b for a, b in pairwise(small_widths)] == [a == b for a, b in pairwise(large_widths)]
    had = int(small.get("attention", 0))
    attention = had == 0 or (had == int(large.get("attention", 0)) and small_widths == large_widths)
    return wider and same_skips and attention and int(small["blocks"]) <= int(large["blocks"])


def grown_weights(small: UNet, large: UNet) -> dict[str, torch.Tensor]:
    """The state dict of ``large`` holding ``small``'s function; ``large``'s own weights fill what is new.

    ``small``'s attention, if it has one, is copied as it is (``can_grow`` keeps such a network's width).
    """
    weights = {key: value.clone() for key, value in large.state_dict().items()}
    trained = small.state_dict()
    for prefix, (rows, cols) in _channel_maps(small, large).items():
        for kind in ("weight", "bias"):
            old = trained.get(f"{prefix}.{kind}")
            if old is None:
                continue
            new = weights[f"{prefix}.{kind}"]
            if kind == "bias":
                new[rows] = old
                continue
            new[rows] = 0.0
            new[rows[:, None], cols[None, :]] = old
    for key, value in trained.items():
        if key.startswith("attention."):
            weights[key] = value.clone()
    return weights


def _widths(architecture: dict) -> list[int]:
    return [int(architecture["base"]) * int(m) for m in architecture["mults"]]


def _span(n: int, start: int = 0) -> torch.Tensor:
    return torch.arange(start, start + n)


def _channel_maps(small: UNet, large: UNet) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """For each layer of ``small``: where its output rows and input columns sit in ``large``'s layer."""
    old_w = [block[0].conv1.out_channels for block in small.down]
    new_w = [block[0].conv1.out_channels for block in large.down]
    maps = {"conv_in": (_span(old_w[0]), _span(small.conv_in.in_channels))}
    for name in ("embed.0", "embed.2"):
        maps[name] = (_span(small.emb_dim), _span(small.emb_dim))

    def block(prefix: str, cols: torch.Tensor, out_old: int, out_new: int) -> None:
        rows = _span(out_old)
        maps[f"{prefix}.conv1"] = (rows, cols)
        maps[f"{prefix}.conv2"] = (rows, rows)
        maps[f"{prefix}.skip"] = (rows, cols)
        maps[f"{prefix}.film"] = (torch.cat([rows, _span(out_old, out_new)]), _span(small.emb_dim))

    old_ch, new_ch = old_w[0], new_w[0]
    for level, blocks in enumerate(small.down):
        for index in range(len(blocks)):
            block(f"down.{level}.{index}", _span(old_ch), old_w[level], new_w[level])
            old_ch, new_ch = old_w[level], new_w[level]
    for index in range(len(small.mid)):
        block(f"mid.{index}", _span(old_ch), old_ch, new_ch)
    for up, blocks in enumerate(small.up):
        level = len(old_w) - 1 - up
        for index in range(len(blocks)):
            cols = torch.cat([_span(old_ch), _span(old_w[level], new_ch)]) if index == 0 else _span(old_ch)
            block(f"up.{up}.{index}", cols, old_w[level], new_w[level])
            old_ch, new_ch = old_w[level], new_w[level]
    maps["conv_out"] = (_span(small.conv_out.out_channels), _span(old_ch))
    return maps
