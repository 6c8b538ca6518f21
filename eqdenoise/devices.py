"""Where the network runs: ``auto`` (CUDA, else Apple MPS, else CPU), or a device named outright.

Only the network moves. Frames, canonicalization, noise and sampler arithmetic stay on the CPU, so ``canon``
stays bit-exact on any device whose kernels give the same output for the same input (the network sees one array
whatever the input's orientation; cuDNN is set deterministic for this), while the float-level agreement of a
weight-tied network without a frame depends on the device's kernels (docs/method.md, "Devices").
"""

from __future__ import annotations

import torch

from .errors import EqdenoiseError, UsageError
from .names import DEVICES


def resolve_device(name: str) -> torch.device:
    """The torch device for ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; one line if it is not available."""
    kind = name.split(":", 1)[0]
    if kind not in DEVICES:
        raise UsageError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)} (or cuda:N)")
    if kind == "auto":
        return resolve_device("cuda" if torch.cuda.is_available() else "mps" if _has_mps() else "cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise EqdenoiseError(f"device {name!r} asked for, but this PyTorch sees no CUDA GPU (use --device cpu)")
    if kind == "mps" and not _has_mps():
        raise EqdenoiseError("device 'mps' asked for, but this PyTorch has no Apple Metal (MPS) backend here")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UsageError(f"unknown device {name!r} ({exc})") from None
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise EqdenoiseError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return device


def device_note(name: str) -> str:
    """What the promise of ``verify`` rests on when the network runs off the CPU ("" on the CPU)."""
    device = resolve_device(name)
    if device.type == "cpu":
        return ""
    return (f"; the network ran on {device}: canon and fa stay bit-exact while its kernels give the same output for "
            "the same input (cuDNN is set deterministic), a weight-tied network's rounding is that device's")


def _has_mps() -> bool:
    """Whether Apple's Metal backend is usable."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
