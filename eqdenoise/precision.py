"""Running a network in float32 or in bfloat16 (autocast, channels-last), for training and for inference.

bfloat16 keeps float32's range with an 8-bit mantissa; on CPUs with AMX or AVX512-BF16 oneDNN runs
convolutions in it several times faster. Weights stay float32; outputs are returned as float32.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .errors import EqdenoiseError

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> None:
    """Reject anything but the supported precisions."""
    if precision not in PRECISIONS:
        raise EqdenoiseError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")


def prepared(network: nn.Module, precision: str, copy_first: bool = True) -> nn.Module:
    """The network laid out for ``precision``: channels-last for bf16 (a copy unless ``copy_first`` is False)."""
    if precision != "bf16":
        return network
    return (copy.deepcopy(network) if copy_first else network).to(memory_format=torch.channels_last)


def run(network: nn.Module, x: torch.Tensor, condition: torch.Tensor, precision: str) -> torch.Tensor:
    """``network(x, condition)`` in float32, or under bfloat16 autocast on channels-last input for ``bf16``."""
    if precision != "bf16":
        return network(x, condition)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return network(x.contiguous(memory_format=torch.channels_last), condition).float()
