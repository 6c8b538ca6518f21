"""Running a network in float32 or in bfloat16 (autocast), in the memory layout that is fastest for the job.

bfloat16 keeps float32's range with an 8-bit mantissa; on CPUs with AMX or AVX512-BF16 oneDNN runs
convolutions in it several times faster, and on CPUs without them several times slower. Weights stay
float32; outputs are returned as float32. Inference runs channels-last in both precisions (oneDNN's
float32 convolutions are faster on it); training runs channels-last only in bf16, since float32
backward passes are slower in it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..errors import UsageError
from ..names import PRECISIONS


def check_precision(precision: str) -> None:
    """Reject anything but the supported precisions."""
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")


def has_fast_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AMX or AVX512-BF16), which make ``bf16`` faster than float32."""
    cpu = getattr(torch, "cpu", None)
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(cpu, probe, lambda: False)() for probe in probes)


def channels_last(network: nn.Module) -> nn.Module:
    """The network with its 4-D convolution kernels channels-last, in place (group kernels are expanded per call)."""
    with torch.no_grad():
        for param in network.parameters():
            if param.dim() == 4:
                param.data = param.data.contiguous(memory_format=torch.channels_last)
    return network


def for_inference(network: nn.Module) -> nn.Module:
    """A channels-last copy of the network, the layout ``run`` feeds it when ``channels_last`` is True."""
    return channels_last(copy.deepcopy(network))


def for_training(network: nn.Module, precision: str) -> nn.Module:
    """The network itself, moved to channels-last for ``bf16`` (the layout ``training_layout`` reports)."""
    return channels_last(network) if training_layout(precision) else network


def training_layout(precision: str) -> bool:
    """Whether training in ``precision`` runs channels-last."""
    return precision == "bf16"


def run(network: nn.Module, x: torch.Tensor, condition: torch.Tensor, precision: str,
        channels_last: bool = True) -> torch.Tensor:
    """``network(x, condition)`` in float32 or under bfloat16 autocast, the input channels-last if asked."""
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    if precision != "bf16":
        return network(x, condition).contiguous()
    with torch.autocast(x.device.type, dtype=torch.bfloat16):
        return network(x, condition).float().contiguous()
